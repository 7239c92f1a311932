"""Every file and directory a store creates is its owner's only (0600 files, 0700 directories).

Transcripts hold prompts, tool output and file contents; under the usual umask (022) anything
created with default modes would be readable by every user of the machine.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether._vocabulary.store import SessionKey
from tether.sessions.stores.jsonl import FORK_SIDECAR, JsonlStore
from tether.sessions.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

ENTRY = {"type": "user", "uuid": "u1", "message": {"role": "user", "content": "my secret plan"}}


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def created_under(root: Path) -> list[Path]:
    return [root, *sorted(root.rglob("*"))]


async def test_sqlite_file_its_wal_and_the_directories_made_for_it_are_private(tmp_path: Path) -> None:
    path = tmp_path / "made" / "for" / "it" / "sessions.db"
    store = SQLiteStore(path)
    try:
        await store.append(SessionKey(project_key="-p", session_id="s1"), [ENTRY])
        files = [path, path.with_name("sessions.db-wal"), path.with_name("sessions.db-shm")]
        assert all(file.exists() for file in files)
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
        directories = [tmp_path / "made", tmp_path / "made" / "for", path.parent]
        assert {str(d): mode(d) for d in directories} == {str(d): 0o700 for d in directories}
    finally:
        await store.close()


async def test_the_default_tether_directory_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TETHER_HOME", raising=False)
    store = SQLiteStore()
    try:
        await store.append(SessionKey(project_key="-p", session_id="s1"), [ENTRY])
        assert store.path == tmp_path / ".tether" / "sessions.db"
        assert (mode(tmp_path / ".tether"), mode(store.path)) == (0o700, 0o600)
    finally:
        await store.close()


async def test_jsonl_directories_transcripts_and_fork_records_are_private(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    store = JsonlStore(root)
    main = SessionKey(project_key="-home-me-project", session_id="s1")
    await store.append(main, [ENTRY])
    await store.append(SessionKey(**main, subpath="subagents/agent-1"), [ENTRY])
    fork = SessionKey(project_key="-home-me-other", session_id="s2")
    await store.fork(main, fork)
    made = created_under(root)
    assert any(path.name == FORK_SIDECAR for path in made)
    assert {str(p): mode(p) for p in made} == {str(p): 0o700 if p.is_dir() else 0o600 for p in made}
