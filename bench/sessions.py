"""SQLiteStore beside plain sqlite3, on the same JSON rows, measured in the same run.

    .venv/bin/python bench/sessions.py [--sizes 1000 10000] [--repeat 15]

One session of N transcript entries in the Claude Code shape, written as turns of 4 entries
(user prompt, assistant tool call, tool result, assistant text; about 550 bytes each). For each
N, every operation is timed on SQLiteStore and on a baseline that does the same job with plain
sqlite3 on one `items(id, session_id, data)` table (WAL, synchronous=NORMAL, like the store):

- append: one turn (4 entries) added to a session of N entries (store: with `expected_leaf`);
- load: every entry, decoded; load last 50: the newest 50, decoded;
- fork: a new session with the whole history (baseline: copy the rows, the only way it can);
- resume: what `query(resume=...)` does before its first model call: find the session, load it,
  take the active chain and turn it into API messages (baseline: the same on its rows).

Figures are medians of `--repeat` runs, in milliseconds; ratio = store / baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from tether._vocabulary.store import SessionKey
from tether.sessions.entries import active_chain, make_entry
from tether.sessions.history import chain_to_api_messages
from tether.sessions.stores.sqlite import SQLiteStore

TURN = 4


def make_turn(session_id: str, parent: str | None, index: int) -> list[dict[str, Any]]:
    """One turn of 4 entries, each hanging from the previous one."""
    cwd = "/home/user/projects/web-application"
    prompt = make_entry(
        "user",
        {"role": "user", "content": f"Turn {index}: please look at the request handler and explain it. " * 3},
        session_id=session_id,
        parent_uuid=parent,
        cwd=cwd,
    )
    call = make_entry(
        "assistant",
        {
            "id": f"msg_{index:06d}a",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "tool_use", "id": f"toolu_{index:06d}", "name": "Read", "input": {"file_path": "/src/app.py"}}
            ],
        },
        session_id=session_id,
        parent_uuid=prompt["uuid"],
        cwd=cwd,
    )
    result = make_entry(
        "user",
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": f"toolu_{index:06d}",
                    "content": "def handler(request):\n    return respond(request)\n" * 4,
                }
            ],
        },
        session_id=session_id,
        parent_uuid=call["uuid"],
        cwd=cwd,
    )
    answer = make_entry(
        "assistant",
        {
            "id": f"msg_{index:06d}b",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "text", "text": "The handler receives the request and passes it on to respond(). " * 3}
            ],
        },
        session_id=session_id,
        parent_uuid=result["uuid"],
        cwd=cwd,
    )
    return [prompt, call, result, answer]


def make_history(session_id: str, entries: int) -> list[list[dict[str, Any]]]:
    """`entries // 4` turns forming one chain."""
    turns: list[list[dict[str, Any]]] = []
    parent = None
    for index in range(entries // TURN):
        turn = make_turn(session_id, parent, index)
        parent = turn[-1]["uuid"]
        turns.append(turn)
    return turns


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def time_async(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def time_sync(call: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


class Baseline:
    """The same rows in plain sqlite3, written and read the obvious way."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, data TEXT NOT NULL)")
        self.db.execute("CREATE INDEX items_session ON items (session_id, id)")

    def append(self, session_id: str, entries: list[dict[str, Any]]) -> None:
        rows = [(session_id, json.dumps(e, ensure_ascii=False, separators=(",", ":"))) for e in entries]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT INTO items (session_id, data) VALUES (?, ?)", rows)
        self.db.execute("COMMIT")

    def load(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT data FROM items WHERE session_id = ? ORDER BY id", (session_id,))
        return [json.loads(data) for (data,) in rows]

    def load_tail(self, session_id: str, limit: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT data FROM items WHERE session_id = ? ORDER BY id DESC LIMIT ?", (session_id, limit)
        ).fetchall()
        return [json.loads(data) for (data,) in reversed(rows)]

    def fork(self, session_id: str, new_id: str) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT INTO items (session_id, data) SELECT ?, data FROM items WHERE session_id = ? ORDER BY id",
            (new_id, session_id),
        )
        self.db.execute("COMMIT")

    def resume(self, session_id: str) -> list[dict[str, Any]]:
        return chain_to_api_messages(active_chain(self.load(session_id)))


def file_bytes(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())


async def bench_size(entries: int, repeat: int, directory: Path) -> list[tuple[str, float, float, str]]:
    store_path, base_path = directory / f"store-{entries}.db", directory / f"base-{entries}.db"
    store = SQLiteStore(store_path)
    base = Baseline(base_path)
    sid = f"bench-{entries}"
    key = SessionKey(project_key="-bench", session_id=sid)
    turns = make_history(sid, entries + TURN * repeat)
    history, extra = turns[: entries // TURN], turns[entries // TURN :]
    json_bytes = 0
    for turn in history:
        await store.append(key, turn)
        base.append(sid, turn)
        json_bytes += sum(len(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode()) for e in turn)
    checkpoint(store_path)
    base.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sizes = (file_bytes(store_path) / json_bytes, file_bytes(base_path) / json_bytes)
    rows: list[tuple[str, float, float, str]] = []

    # Append: `repeat` more turns on top of the N entries (N grows by under 2% meanwhile).
    leaf = history[-1][-1]["uuid"]
    store_samples, base_samples = [], []
    for turn in extra:
        start = time.perf_counter()
        await store.append(key, turn, expected_leaf=leaf)
        store_samples.append(time.perf_counter() - start)
        start = time.perf_counter()
        base.append(sid, turn)
        base_samples.append(time.perf_counter() - start)
        leaf = turn[-1]["uuid"]
    rows.append(("append 1 turn (4 entries)", median_ms(store_samples), median_ms(base_samples), "<= 0.3"))

    rows.append(
        (
            "load all",
            await time_async(lambda: store.load(key), repeat),
            time_sync(lambda: base.load(sid), repeat),
            "<= 15" if entries >= 10_000 else "",
        )
    )
    rows.append(
        (
            "load last 50",
            await time_async(lambda: store.load_tail(key, 50), repeat),
            time_sync(lambda: base.load_tail(sid, 50), repeat),
            "",
        )
    )

    counter = iter(range(10**9))
    store_fork = await time_async(
        lambda: store.fork(key, SessionKey(project_key="-bench", session_id=f"fork-{next(counter)}")), repeat
    )
    mid = history[len(history) // 2][-1]["uuid"]
    store_fork_mid = await time_async(
        lambda: store.fork(key, SessionKey(project_key="-bench", session_id=f"fork-{next(counter)}"), mid), repeat
    )
    base_repeat = max(3, repeat // 3)
    base_fork = time_sync(lambda: base.fork(sid, f"fork-{next(counter)}"), base_repeat)
    rows.append(("fork (at the leaf)", store_fork, base_fork, "<= 1, flat"))
    rows.append(("fork (at the middle)", store_fork_mid, base_fork, "<= 1, flat"))

    async def resume() -> list[dict[str, Any]]:
        found = await store.find(sid)
        assert found is not None
        loaded = await store.load(found.key)
        assert loaded is not None
        return chain_to_api_messages(active_chain(loaded))

    rows.append(
        ("resume (find+load+chain)", await time_async(resume, repeat), time_sync(lambda: base.resume(sid), repeat), "")
    )
    await store.close()
    base.db.close()
    rows.append(("bytes on disk / JSON bytes", sizes[0], sizes[1], "<= 1.3"))
    return rows


def checkpoint(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def print_table(results: dict[int, list[tuple[str, float, float, str]]]) -> None:
    print(f"{'operation':<28} {'N':>6} {'SQLiteStore':>12} {'baseline':>10} {'ratio':>7}  goal (ms)")
    print("-" * 80)
    for entries, rows in results.items():
        for name, mine, theirs, goal in rows:
            unit = "x" if name.startswith("bytes") else ""
            ratio = mine / theirs if theirs else float("nan")
            print(
                f"{name:<28} {entries:>6} {mine:>11.3f}{unit or ' '} {theirs:>9.3f}{unit or ' '} {ratio:>6.2f}x  {goal}"
            )
        print()


async def main(sizes: list[int], repeat: int) -> None:
    python = sys.version.split()[0]
    print(f"SQLite {sqlite3.sqlite_version}, Python {python}, {os.cpu_count()} CPUs; medians of {repeat} runs, ms")
    results: dict[int, list[tuple[str, float, float, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as directory:
        for entries in sizes:
            results[entries] = await bench_size(entries, repeat, Path(directory))
    print_table(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=15)
    arguments = parser.parse_args()
    anyio.run(main, arguments.sizes, arguments.repeat)
