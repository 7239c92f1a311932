"""The command line: `-p --workspace-snapshots`, `sessions checkout`, `sessions fork --workspace`
and `--fork-session --fork-workspace`."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import anyio
from tests.cli.clirun import Tether
from tests.cli.conftest import tether as tether  # the CLI tests' fixture

from tether.testing import MemoryStore, tool_use_reply


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(tether: Tether, store: Any, cwd: Path, command: str, *more: str) -> str:
    replies = [tool_use_reply("Bash", {"command": command}), "done"]
    flags = ("--cwd", str(cwd), "--permission-mode", "bypassPermissions", "--workspace-snapshots")
    result = tether("-p", "work", "--output-format", "json", *flags, *more, replies=replies, store=store)
    assert result.code == 0, result.err
    return str(result.json()["session_id"])


def test_checkout_and_forks_with_their_files(tether: Tether, project: Path, tmp_path: Path) -> None:
    store = MemoryStore()
    session_id = run(tether, store, project, "echo one > a.txt && mkdir d && echo two > d/b.txt")
    expected = files(project)
    checkout = tether("sessions", "checkout", session_id[:8], str(tmp_path / "copy"), store=store)
    assert checkout.code == 0, checkout.err
    assert files(tmp_path / "copy") == expected
    forked = tether("sessions", "fork", session_id, "--workspace", str(tmp_path / "branch"), store=store)
    assert forked.code == 0, forked.err
    fork_id = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", forked.out)[-1]
    assert files(tmp_path / "branch") == expected
    run(tether, store, tmp_path / "branch", "echo branch > a.txt", "--resume", fork_id)
    assert files(project) == expected and files(tmp_path / "branch")["a.txt"] == b"branch\n"
    third = tmp_path / "third"
    run(
        tether,
        store,
        project,
        "echo third > c.txt",
        "--resume",
        session_id,
        "--fork-session",
        "--fork-workspace",
        str(third),
    )
    assert files(third) == {**expected, "c.txt": b"third\n"} and files(project) == expected
    refused = tether("sessions", "checkout", session_id, str(tmp_path / "copy"), store=store)
    assert refused.code == 1 and "not empty" in refused.err


def test_gc_frees_only_blobs_no_session_names(tether: Tether, project: Path) -> None:
    store = MemoryStore()
    run(tether, store, project, "echo kept > kept.txt")
    anyio.run(store.put_blobs, {hashlib.sha256(b"orphan").hexdigest(): b"orphan"})
    before = anyio.run(store.list_blobs)
    dry = tether("sessions", "gc", "--dry-run", store=store)
    assert dry.code == 0 and "Would free 1 " in dry.out and anyio.run(store.list_blobs) == before
    done = tether("sessions", "gc", store=store)
    assert done.code == 0 and "Freed 1 " in done.out
    assert set(anyio.run(store.list_blobs)) == set(before) - {hashlib.sha256(b"orphan").hexdigest()}
