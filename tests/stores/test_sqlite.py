"""SQLiteStore beyond the conformance suite: files, schema, forks without copies, processes, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError
from tether.sessions.stores.sqlite import SCHEMA_VERSION, SQLiteStore, default_sqlite_path

pytestmark = pytest.mark.anyio

WORKERS = str(Path(__file__).with_name("workers.py"))
PROJECT = "-fleet"  # the project key the worker script writes under


def chain(session_id: str, count: int, parent: str | None = None, label: str = "e") -> list[dict[str, Any]]:
    entries = []
    for index in range(count):
        entry: dict[str, Any] = {
            "type": "user" if index % 2 == 0 else "assistant",
            "uuid": str(uuid.uuid4()),
            "parentUuid": parent,
            "sessionId": session_id,
            "message": {"role": "user", "content": f"{label} {index}"},
        }
        parent = entry["uuid"]
        entries.append(entry)
    return entries


def key(session_id: str, project: str = "-p") -> SessionKey:
    return SessionKey(project_key=project, session_id=session_id)


def count_rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


async def test_default_file_is_private_and_under_tether_home(isolated_environment: Path) -> None:
    store = SQLiteStore()
    assert store.path == isolated_environment / "sessions.db"
    await store.append(key("s1"), chain("s1", 1))
    await store.close()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_default_path_without_tether_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_sqlite_path({}) == tmp_path / ".tether" / "sessions.db"
    assert default_sqlite_path({"TETHER_HOME": str(tmp_path / "h")}) == tmp_path / "h" / "sessions.db"


async def test_missing_directories_are_created(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a" / "b" / "sessions.db")
    await store.append(key("s1"), chain("s1", 1))
    assert await store.load(key("s1")) is not None
    await store.close()


async def test_schema_version_is_recorded_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    entries = chain("s1", 2)
    await store.append(key("s1"), entries)
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer = SQLiteStore(path)
    with pytest.raises(ConfigurationError, match="upgrade tether"):
        await newer.load(key("s1"))
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    assert await SQLiteStore(path).load(key("s1")) == entries


async def test_a_file_that_is_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the sessions you are looking for\n" * 100)
    with pytest.raises(ConfigurationError, match=r"notes\.txt"):
        await SQLiteStore(path).load(key("s1"))
    assert path.read_text().startswith("these are not")


async def test_fork_copies_no_entries_and_reads_through_parents(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    history = chain("src", 1000)  # more than the inline limit: loads run in a worker thread
    await store.append(key("src"), history)
    rows = count_rows(path, "tether_entries")
    await store.fork(key("src"), key("fork-end"))
    await store.fork(key("src"), key("fork-mid"), history[499]["uuid"])
    await store.fork(key("fork-mid"), key("fork-early"), history[9]["uuid"])
    assert count_rows(path, "tether_entries") == rows
    assert await store.load(key("fork-end")) == history
    assert await store.load(key("fork-mid")) == history[:500]
    assert await store.load(key("fork-early")) == history[:10]
    assert await store.load_tail(key("fork-mid"), 300) == history[200:500]
    more = chain("fork-mid", 3, history[499]["uuid"])
    await store.append(key("fork-mid"), more)
    results = []

    async def load(session_id: str) -> None:
        results.append((session_id, await store.load(key(session_id))))

    async with anyio.create_task_group() as group:  # concurrent big loads share the reader pool
        for session_id in ("src", "fork-end", "fork-mid", "src", "fork-mid"):
            group.start_soon(load, session_id)
    expected = {"src": history, "fork-end": history, "fork-mid": history[:500] + more}
    assert all(loaded == expected[sid] for sid, loaded in results)
    await store.close()


async def test_a_fork_inside_inherited_history_hangs_from_the_ancestor(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    history = chain("a", 10)
    await store.append(key("a"), history)
    await store.fork(key("a"), key("b"))
    await store.fork(key("b"), key("c"), history[3]["uuid"])
    with sqlite3.connect(path) as db:
        parents = dict(db.execute("SELECT session_id, parent FROM tether_sessions").fetchall())
        ids = dict(db.execute("SELECT session_id, id FROM tether_sessions").fetchall())
    assert parents["c"] == ids["a"]  # not b: c reads nothing of b's own
    await store.close()


async def test_delete_frees_what_no_fork_needs(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    history = chain("a", 100)
    await store.append(key("a"), history)
    await store.append(SessionKey(project_key="-p", session_id="a", subpath="subagents/x"), chain("a", 5))
    await store.fork(key("a"), key("b"), history[39]["uuid"])
    b_more = chain("b", 10, history[39]["uuid"])
    await store.append(key("b"), b_more)
    await store.fork(key("b"), key("c"), b_more[4]["uuid"])
    await store.delete(key("a"))
    assert count_rows(path, "tether_entries") == 40 + 10  # a's first 40 stay for b and c; b's own 10
    await store.delete(key("b"))
    assert count_rows(path, "tether_entries") == 40 + 5  # c needs b's first 5
    assert await store.load(key("c")) == history[:40] + b_more[:5]
    await store.delete(key("c"))
    assert count_rows(path, "tether_entries") == 0
    assert count_rows(path, "tether_sessions") == 0
    await store.close()


async def test_listing_order_follows_appends_in_each_scope_and_ignores_subpaths(tmp_path: Path) -> None:
    root = SQLiteStore(tmp_path / "sessions.db")
    tenant = root.with_scope("tenant")

    async def listed(store: SQLiteStore) -> list[str]:
        return [item["session_id"] for item in (await store.list_page("-p", limit=2)).items] + [
            item["session_id"] for item in await store.list_sessions("-p")
        ]

    for name in ("a", "b", "c"):
        await root.append(key(name), chain(name, 1))
    await tenant.append(key("t"), chain("t", 1))
    for _ in range(3):  # the newest stays the newest
        await root.append(key("c"), chain("c", 1))
    assert await listed(root) == ["c", "b", "c", "b", "a"]
    await root.append(key("a"), chain("a", 1))
    await root.append(SessionKey(project_key="-p", session_id="b", subpath="subagents/x"), chain("b", 2))
    assert await listed(root) == ["a", "c", "a", "c", "b"]
    await tenant.append(key("u"), chain("u", 1))
    await tenant.append(key("t"), chain("t", 1))
    assert await listed(tenant) == ["t", "u", "t", "u"]
    assert await listed(root) == ["a", "c", "a", "c", "b"]
    await root.close()


async def test_scoped_views_share_one_connection_and_reopen_after_close(tmp_path: Path) -> None:
    root = SQLiteStore(tmp_path / "sessions.db")
    tenant = root.with_scope("tenant")
    await tenant.append(key("s1"), chain("s1", 1))
    await root.close()
    assert await tenant.load(key("s1")) is not None  # reopened on use
    assert await root.load(key("s1")) is None
    await tenant.close()


def test_two_threads_with_their_own_event_loops(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    errors: list[BaseException] = []

    def work(name: str) -> None:
        async def run() -> None:
            parent = None
            for index in range(50):
                entries = chain(name, 2, parent, label=str(index))
                await store.append(key(name), entries, expected_leaf=parent or "")
                parent = entries[-1]["uuid"]

        try:
            anyio.run(run)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

    async def check() -> None:
        for index in range(3):
            loaded = await store.load(key(f"t{index}"))
            assert loaded is not None and len(loaded) == 100
        await store.close()

    anyio.run(check)


def run_worker(*args: str, interactive: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKERS, *args],
        stdin=subprocess.PIPE if interactive else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def test_many_processes_open_an_empty_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    workers = [run_worker("open", url, f"s{i}") for i in range(6)]
    outputs = [w.communicate(timeout=60)[0].strip() for w in workers]
    assert outputs == ["ok"] * 6, outputs

    async def check() -> None:
        store = SQLiteStore(tmp_path / "sessions.db")
        assert len(await store.list_sessions(PROJECT)) == 6
        await store.close()

    anyio.run(check)


def test_two_processes_with_expected_leaf_exactly_one_wins_each_round(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    workers = [run_worker("race", url, "contended", interactive=True) for _ in range(2)]
    winners = []
    try:
        for round_ in range(15):
            reads = []
            for worker in workers:  # both read the leaf before either writes
                assert worker.stdin and worker.stdout
                worker.stdin.write("read\n")
                reads.append(worker.stdout.readline().strip())
            assert reads[0] == reads[1]
            answers = []
            for index, worker in enumerate(workers):
                assert worker.stdin
                worker.stdin.write(f"write w{index}-r{round_}\n")
            for worker in workers:
                assert worker.stdout
                answers.append(worker.stdout.readline().strip())
            won = [a for a in answers if a.startswith("won")]
            assert len(won) == 1 and answers.count("conflict") == 1, answers
            winners.append(won[0].split()[1])
    finally:
        for worker in workers:
            assert worker.stdin and worker.stdout
            worker.stdin.close()
            worker.wait(timeout=30)
            worker.stdout.close()

    async def check() -> None:
        store = SQLiteStore(tmp_path / "sessions.db")
        loaded = await store.load(SessionKey(project_key=PROJECT, session_id="contended"))
        assert loaded is not None
        assert [e["uuid"] for e in loaded] == winners
        assert all(e["parentUuid"] == p for e, p in zip(loaded, [None, *winners], strict=False))
        await store.close()

    anyio.run(check)


def test_sigkill_during_a_burst_of_appends_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    acknowledged: list[str] = []
    for attempt in range(3):  # three kills at different moments of the same growing session
        worker = run_worker("burst", f"sqlite:///{path}", "crashy")
        assert worker.stdout
        goal = len(acknowledged) + 40 + 37 * attempt
        while len(acknowledged) < goal:
            line = worker.stdout.readline()
            assert line, "the worker died on its own"
            acknowledged.append(line.strip())
        time.sleep(0.002 * attempt)  # let it be mid-append
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        acknowledged.extend(line.strip() for line in worker.stdout)  # acknowledged before the kill
        worker.stdout.close()

        async def check() -> None:
            store = SQLiteStore(path)
            loaded = await store.load(SessionKey(project_key=PROJECT, session_id="crashy"))
            assert loaded is not None
            uuids = [e["uuid"] for e in loaded]
            assert set(acknowledged) <= set(uuids)
            assert len(uuids) % 4 == 0  # whole turns only: an append is all or nothing
            await store.close()

        anyio.run(check)
