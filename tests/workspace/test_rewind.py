"""`rewind_files` with workspace snapshots: every change of a turn undone byte for byte, Bash's
included (edited in place, moved, removed, generated, a new directory, a mode), from the client
that made them or from another one that has only the store."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from tests.workspace.support import ask, options_for

from tether import AgentClient
from tether._vocabulary.store import SessionStore
from tether.models.base import ModelResponse
from tether.sessions.capabilities import store_access
from tether.sessions.keys import project_key_for_directory
from tether.sessions.workspace.snapshots import WORKSPACE_SNAPSHOT
from tether.testing import MemoryStore, tool_use_reply

pytestmark = pytest.mark.anyio

BINARY = bytes(range(256)) * 64 + b"\r\n\x00 no final newline"


def tree_of(root: Path) -> dict[str, tuple[bytes | str, int]]:
    """Every path under `root` (but .git): file bytes or "dir", and the mode."""
    found: dict[str, tuple[bytes | str, int]] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if relative.split("/")[0] == ".git":
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        found[relative] = ("dir", mode) if path.is_dir() else (path.read_bytes(), mode)
    return found


def without(tree: dict[str, Any], paths: set[str]) -> dict[str, Any]:
    return {path: value for path, value in tree.items() if path not in paths}


def seed(project: Path) -> None:
    (project / "notes.txt").write_text("alpha\nbeta\n")
    (project / "data.bin").write_bytes(BINARY)
    (project / "old_name.txt").write_text("moved by mv\n")
    (project / "doomed.txt").write_text("removed by rm\n")
    (project / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (project / "src").mkdir()
    (project / "src" / "keep.py").write_text("print('kept')\n")
    (project / ".gitignore").write_text("build/\n*.log\n")
    (project / "build").mkdir()
    (project / "build" / "out.o").write_bytes(b"object v1")
    (project / "app.log").write_text("log line 1\n")


def turn_replies(project: Path) -> list[ModelResponse | str]:
    """One turn that changes files with Write, Edit and Bash."""
    bash = (
        "sed -i 's/beta/BETA/' notes.txt && mv old_name.txt new_name.txt && rm doomed.txt"
        " && mkdir -p gen/deep && seq 1 500 > gen/deep/numbers.txt && chmod +x run.sh"
        " && printf 'x' >> data.bin && echo 'log line 2' >> app.log && echo v2 > build/out.o"
    )
    return [
        tool_use_reply("Write", {"file_path": str(project / "written.txt"), "content": "by Write\n"}),
        tool_use_reply("Read", {"file_path": str(project / "src" / "keep.py")}),
        tool_use_reply(
            "Edit", {"file_path": str(project / "src" / "keep.py"), "old_string": "kept", "new_string": "edited"}
        ),
        tool_use_reply("Bash", {"command": bash}),
        "changed everything",
    ]


async def test_write_edit_and_bash_are_rewound_byte_for_byte(project: Path, any_store: SessionStore) -> None:
    seed(project)
    before = tree_of(project)
    async with AgentClient(options_for(project, any_store, turn_replies(project))) as client:
        prompt = await ask(client, "change things")
        after = tree_of(project)
        assert after["notes.txt"][0] == b"alpha\nBETA\n" and "new_name.txt" in after and "doomed.txt" not in after
        assert after["run.sh"][1] & stat.S_IXUSR and "gen/deep/numbers.txt" in after
        assert after["src/keep.py"][0] == b"print('edited')\n" and after["written.txt"][0] == b"by Write\n"
        await client.rewind_files(prompt)
    restored = tree_of(project)
    ignored = {"build/out.o", "app.log"}  # .gitignore'd: never recorded, never touched
    assert {k: v for k, v in restored.items() if k not in ignored} == {
        k: v for k, v in before.items() if k not in ignored
    }
    assert restored["build/out.o"][0] == b"v2\n" and restored["app.log"][0] == b"log line 1\nlog line 2\n"


async def test_a_resumed_client_rewinds_from_the_store_alone(project: Path, any_store: SessionStore) -> None:
    seed(project)
    before = tree_of(project)
    async with AgentClient(options_for(project, any_store, turn_replies(project))) as client:
        prompt = await ask(client, "change things")
        session_id = client.session_id
    options = options_for(project, any_store, ["nothing to do"], resume=session_id)
    async with AgentClient(options) as client:
        await client.rewind_files(prompt)
    assert tree_of(project) == {
        **before,
        "build/out.o": tree_of(project)["build/out.o"],
        "app.log": tree_of(project)["app.log"],
    }
    entries = await store_access(any_store).load(
        {"project_key": project_key_for_directory(str(project)), "session_id": str(session_id)}
    )
    snapshots = [e for e in entries or [] if e.get("type") == WORKSPACE_SNAPSHOT]
    assert [s["phase"] for s in snapshots] == ["before", "after", "after", "after"], [
        (s["phase"], sorted(s["changed"]), s["removed"]) for s in snapshots
    ]
    assert all(s["messageId"] == prompt for s in snapshots)
    assert "build/" in snapshots[0]["skipped"] and "app.log" in snapshots[0]["skipped"]


async def test_rewinding_to_a_later_prompt_keeps_the_earlier_turn(project: Path) -> None:
    store = MemoryStore()
    seed(project)
    second = [
        tool_use_reply("Bash", {"command": "rm -r src && echo third > third.txt"}),
        "second done",
    ]
    async with AgentClient(options_for(project, store, [*turn_replies(project), *second])) as client:
        await ask(client, "change things")
        after_first = tree_of(project)
        prompt = await ask(client, "more")
        assert "src/keep.py" not in tree_of(project)
        await client.rewind_files(prompt)
    assert tree_of(project) == after_first


async def test_oversized_files_are_left_out_and_untouched(project: Path) -> None:
    store = MemoryStore()
    (project / "big.bin").write_bytes(b"0" * 5000)
    (project / "small.txt").write_text("small\n")
    replies = [tool_use_reply("Bash", {"command": "echo grown >> big.bin && echo changed > small.txt"}), "done"]
    async with AgentClient(options_for(project, store, replies, workspace_max_file_bytes=1000)) as client:
        prompt = await ask(client, "grow")
        await client.rewind_files(prompt)
    assert (project / "small.txt").read_text() == "small\n"
    assert (project / "big.bin").read_bytes() == b"0" * 5000 + b"grown\n"
    blobs = await store_access(store).get_blobs(await store_access(store).list_blobs())
    assert blobs and all(len(data) < 1000 for data in blobs.values())


async def test_symlinks_are_recorded_as_links_and_never_followed(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("outside\n")
    os.symlink(outside, project / "link")
    replies = [tool_use_reply("Bash", {"command": "rm link && ln -s elsewhere link && echo x > made.txt"}), "done"]
    async with AgentClient(options_for(project, MemoryStore(), replies)) as client:
        prompt = await ask(client, "relink")
        await client.rewind_files(prompt)
    assert os.readlink(project / "link") == str(outside) and not (project / "made.txt").exists()
    assert outside.read_text() == "outside\n"


async def test_a_write_into_an_ignored_path_is_not_recorded_nor_rewound(project: Path) -> None:
    store = MemoryStore()
    (project / ".gitignore").write_text("out/\n")
    (project / "sub").mkdir()
    (project / "sub" / ".gitignore").write_text("*.cache\n")
    replies = [
        tool_use_reply("Write", {"file_path": str(project / "out" / "gen.txt"), "content": "generated\n"}),
        tool_use_reply("Write", {"file_path": str(project / "sub" / "x.cache"), "content": "cache\n"}),
        tool_use_reply("Write", {"file_path": str(project / "sub" / "kept.txt"), "content": "kept\n"}),
        "done",
    ]
    async with AgentClient(options_for(project, store, replies, workspace_ignore=["*.bak"])) as client:
        prompt = await ask(client, "write")
        (project / "notes.bak").write_text("outside the agent, ignored\n")
        session_id = client.session_id
        await client.rewind_files(prompt)
    entries = await store_access(store).load(
        {"project_key": project_key_for_directory(str(project)), "session_id": str(session_id)}
    )
    recorded = {p for e in entries or [] if e.get("type") == WORKSPACE_SNAPSHOT for p in e["changed"]}
    assert recorded == {".gitignore", "sub/.gitignore", "sub/kept.txt"}
    assert not (project / "sub" / "kept.txt").exists()  # rewound
    assert (project / "out" / "gen.txt").exists() and (project / "sub" / "x.cache").exists()  # ignored: kept
    assert (project / "notes.bak").exists()


async def test_a_new_process_reads_only_what_changed_thanks_to_the_saved_index(project: Path, tmp_path: Path) -> None:
    from tether.sessions.workspace.tree import Scanner, index_file_for

    for index in range(100):
        path = project / f"m{index}.py"
        path.write_text(f"x = {index}\n")
        os.utime(path, (1_000_000_000, 1_000_000_000))  # long ago: safe to index
    index_file = index_file_for(project, tmp_path / "home")
    first = Scanner(project, index_file=index_file).scan()
    assert len(first.contents) == 100 and index_file.exists()
    assert stat.S_IMODE(index_file.stat().st_mode) == 0o600
    (project / "m7.py").write_text("x = 'changed'\n")
    again = Scanner(project, index_file=index_file).scan()  # as a new process would
    assert list(again.contents.values()) == [b"x = 'changed'\n"]
    assert again.tree == {**first.tree, "m7.py": again.tree["m7.py"]} and again.tree["m7.py"] != first.tree["m7.py"]
    index_file.write_text("{damaged")
    assert len(Scanner(project, index_file=index_file).scan().contents) == 100  # read again, nothing lost


async def test_a_session_not_persisted_rewinds_bash_from_memory(project: Path) -> None:
    seed(project)
    before = tree_of(project)
    options = options_for(project, MemoryStore(), turn_replies(project), persist_session=False)
    async with AgentClient(options) as client:
        prompt = await ask(client, "change things")
        assert tree_of(project) != before
        await client.rewind_files(prompt)
    ignored = {"build/out.o", "app.log"}
    assert without(tree_of(project), ignored) == without(before, ignored)


async def test_without_workspace_snapshots_rewind_is_the_sdks_write_and_edit_only(project: Path) -> None:
    store = MemoryStore()
    (project / "a.txt").write_text("a\n")
    replies = [
        tool_use_reply("Write", {"file_path": str(project / "w.txt"), "content": "w\n"}),
        tool_use_reply("Bash", {"command": "echo changed > a.txt"}),
        "done",
    ]
    async with AgentClient(options_for(project, store, replies, workspace_snapshots=False)) as client:
        prompt = await ask(client, "go")
        await client.rewind_files(prompt)
    assert not (project / "w.txt").exists() and (project / "a.txt").read_text() == "changed\n"
    assert await store_access(store).list_blobs() == []
