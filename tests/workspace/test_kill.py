"""kill -9 mid-snapshot: the session stays resumable, no snapshot names a missing blob, and the
last complete snapshot comes back whole (blobs are written first, the entry last)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tether import AgentClient, AgentOptions, ResultMessage
from tether.sessions.capabilities import store_access
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.workspace.snapshots import WORKSPACE_SNAPSHOT, referenced_blobs
from tether.sessions.workspace.travel import free_unreferenced_blobs, materialise
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("snapshot_worker.py")


def worker(url: str, project: Path, session_id: str, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), *sys.path])}
    key = project_key_for_directory(str(project))
    args = [sys.executable, str(WORKER), url, key, session_id, str(project), mode]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)


def kill(process: subprocess.Popen[str]) -> None:
    """kill -9, then reap it and close its pipe."""
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


async def new_session(project: Path, store: SQLiteStore) -> str:
    async with AgentClient(AgentOptions(model=ScriptedModel(["hello"]), cwd=project, session_store=store)) as client:
        await client.query("start")
        async for _ in client.receive_response():
            pass
        session_id = client.session_id
    assert session_id
    return session_id


async def check_whole(project: Path, store: SQLiteStore, session_id: str, tmp_path: Path) -> int:
    """The session resumes; every snapshot's blobs are there; the latest one materialises whole.
    Returns the round the latest snapshot holds."""
    access = store_access(store)
    key = {"project_key": project_key_for_directory(str(project)), "session_id": session_id}
    entries = await access.load(key) or []  # type: ignore[arg-type]
    named = referenced_blobs(entries)
    assert named and set(await access.get_blobs(named)) == named
    target = tmp_path / f"restored-{random.random()}"
    assert await materialise(access, entries, None, target) is not None
    rounds = {p.read_text().split()[1] for p in target.iterdir()}
    assert len(rounds) == 1 and len(list(target.iterdir())) == 40  # one round, every file
    options = AgentOptions(model=ScriptedModel(["resumed"]), cwd=project, session_store=store, resume=session_id)
    async with AgentClient(options) as client:
        await client.query("still there?")
        messages = [m async for m in client.receive_response()]
    assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error
    return int(rounds.pop())


async def test_kill_9_at_random_moments_of_a_snapshot_loop(project: Path, tmp_path: Path) -> None:
    database = tmp_path / "sessions.db"
    store = SQLiteStore(database)
    session_id = await new_session(project, store)
    url = f"sqlite:///{database}"
    last_round = 0
    for attempt in range(3):
        process = worker(url, project, session_id, "loop")
        assert process.stdout is not None
        for _ in range(2 + attempt):  # a few acknowledged snapshots, then a kill somewhere in the next one
            line = process.stdout.readline()
            assert line.startswith("ack"), line
        kill(process)
        restored = await check_whole(project, store, session_id, tmp_path)
        assert restored >= 2 + attempt
        last_round = restored
    assert last_round
    await store.close()


async def test_a_kill_between_the_blobs_and_the_entry_leaves_the_last_snapshot(project: Path, tmp_path: Path) -> None:
    database = tmp_path / "sessions.db"
    store = SQLiteStore(database)
    session_id = await new_session(project, store)
    url = f"sqlite:///{database}"
    process = worker(url, project, session_id, "loop")
    assert process.stdout is not None and process.stdout.readline().startswith("ack")
    kill(process)
    complete = await check_whole(project, store, session_id, tmp_path)
    dying = worker(url, project, session_id, "die-before-manifest")
    assert dying.wait() == -signal.SIGKILL
    kill(dying)
    access = store_access(store)
    entries = (
        await access.load({"project_key": project_key_for_directory(str(project)), "session_id": session_id}) or []
    )
    assert await check_whole(project, store, session_id, tmp_path) == complete  # the dead one's entry never landed
    orphans = set(await access.list_blobs()) - referenced_blobs(entries)
    assert orphans  # its blobs did
    assert set(await free_unreferenced_blobs(access)) == orphans
    assert [e for e in entries if e.get("type") == WORKSPACE_SNAPSHOT]
    await store.close()
