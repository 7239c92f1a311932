"""Every session store on the same workload, SQLite's figures beside each, in one run.

    .venv/bin/python bench/stores.py [--stores sqlite memory postgres redis] [--sizes 1000 10000]
                                     [--sessions 10000] [--repeat 9]

The session workload is `bench/sessions.py`'s (turns of 4 Claude Code-shaped entries, ~550 B
each). Per store and size N: append of one turn on a session of N entries (with
`expected_leaf`, as the runtime writes), full load, load of the last 50, fork at the leaf and at
the middle. Listing: `--sessions` sessions in one project, then the first page of 50
(`list_page`), a page deep in the listing (cursor after half of them), every session
(`list_sessions`), every summary (`list_session_summaries`) and `find`.

PostgreSQL runs in a fresh database (created and dropped), Redis under a fresh key prefix
(deleted afterwards); `TETHER_TEST_POSTGRES_URL` / `TETHER_TEST_REDIS_URL` point elsewhere
(defaults: postgres@127.0.0.1:5432, 127.0.0.1:6379). A server that does not answer is left out.
Figures are medians of `--repeat` runs, in milliseconds; `x` columns are store / SQLite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

sys.path.insert(0, str(Path(__file__).parent))
from sessions import TURN, make_history, median_ms

from tether._vocabulary.store import SessionKey

POSTGRES_URL = os.environ.get("TETHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PROJECT = "-bench-project"
Row = dict[str, float]


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


@asynccontextmanager
async def open_bench_store(kind: str, directory: Path) -> AsyncIterator[Any]:
    """A fresh, empty store of `kind`, removed afterwards."""
    if kind == "memory":
        from tether.sessions.stores.memory import MemoryStore

        yield MemoryStore()
    elif kind == "sqlite":
        from tether.sessions.stores.sqlite import SQLiteStore

        store = SQLiteStore(directory / f"{uuid.uuid4().hex}.db")
        yield store
        await store.close()
    elif kind == "postgres":
        import psycopg

        from tether.sessions.stores.postgres import PostgresStore

        name = f"tether_bench_{uuid.uuid4().hex[:10]}"
        async with await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True) as admin:
            await admin.execute(f'CREATE DATABASE "{name}"')
            parts = urlsplit(POSTGRES_URL)
            pg_store = PostgresStore(urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, "")))
            try:
                yield pg_store
            finally:
                await pg_store.close()
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    elif kind == "redis":
        import redis.asyncio

        from tether.sessions.stores.redis import RedisStore

        prefix = f"tether-bench-{uuid.uuid4().hex[:10]}"
        redis_store = RedisStore(REDIS_URL, prefix=prefix)
        try:
            yield redis_store
        finally:
            await redis_store.close()
            client = redis.asyncio.Redis.from_url(REDIS_URL)
            keys = [k async for k in client.scan_iter(match=f"{{{prefix}}}*", count=1000)]
            for start in range(0, len(keys), 1000):
                await client.delete(*keys[start : start + 1000])
            await client.aclose()
    else:
        raise SystemExit(f"unknown store {kind!r}")


async def available(kind: str) -> str | None:
    """None if the store can run here, else why not."""
    try:
        if kind == "postgres":
            import psycopg

            conn = await psycopg.AsyncConnection.connect(POSTGRES_URL, connect_timeout=3)
            await conn.close()
        elif kind == "redis":
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
            await client.ping()
            await client.aclose()
    except Exception as exc:  # an absent server or extra: leave the store out
        return f"{type(exc).__name__}: {exc}"
    return None


async def bench_session(store: Any, entries: int, repeat: int) -> Row:
    sid = f"bench-{entries}-{uuid.uuid4().hex[:8]}"
    key = SessionKey(project_key=PROJECT, session_id=sid)
    turns = make_history(sid, entries + TURN * repeat)
    history, extra = turns[: entries // TURN], turns[entries // TURN :]
    for turn in history:
        await store.append(key, turn)
    leaf = history[-1][-1]["uuid"]
    samples = []
    for turn in extra:
        start = time.perf_counter()
        await store.append(key, turn, expected_leaf=leaf)
        samples.append(time.perf_counter() - start)
        leaf = turn[-1]["uuid"]
    row: Row = {"append 1 turn": median_ms(samples)}
    row["load all"] = await timed(lambda: store.load(key), repeat)
    row["load last 50"] = await timed(lambda: store.load_tail(key, 50), repeat)
    counter = iter(range(10**9))

    def fresh() -> SessionKey:
        return SessionKey(project_key=PROJECT, session_id=f"{sid}-fork-{next(counter)}")

    mid = history[len(history) // 2][-1]["uuid"]
    row["fork at leaf"] = await timed(lambda: store.fork(key, fresh()), repeat)
    row["fork at middle"] = await timed(lambda: store.fork(key, fresh(), mid), repeat)
    return row


async def bench_listing(store: Any, sessions: int, repeat: int) -> Row:
    project = f"{PROJECT}-listing"
    for index in range(sessions):
        sid = f"list-{index:06d}"
        entry = {
            "type": "user",
            "uuid": str(uuid.uuid4()),
            "sessionId": sid,
            "message": {"role": "user", "content": f"prompt {index}"},
        }
        await store.append(SessionKey(project_key=project, session_id=sid), [entry])
    cursor = None
    for _ in range(sessions // 2 // 50):
        cursor = (await store.list_page(project, limit=50, cursor=cursor)).next_cursor
    return {
        "list_page first 50": await timed(lambda: store.list_page(project, limit=50), repeat),
        "list_page deep 50": await timed(lambda: store.list_page(project, limit=50, cursor=cursor), repeat),
        "list_sessions all": await timed(lambda: store.list_sessions(project), max(3, repeat // 3)),
        "list summaries all": await timed(lambda: store.list_session_summaries(project), max(3, repeat // 3)),
        "find": await timed(lambda: store.find(f"list-{sessions // 3:06d}"), repeat),
    }


async def main(kinds: list[str], sizes: list[int], sessions: int, repeat: int) -> None:
    if "sqlite" not in kinds:
        kinds = ["sqlite", *kinds]
    runnable = []
    for kind in kinds:
        reason = await available(kind)
        if reason:
            print(f"leaving out {kind}: {reason}")
        else:
            runnable.append(kind)
    results: dict[str, dict[str, Row]] = {kind: {} for kind in runnable}
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as directory:
        for kind in runnable:
            for entries in sizes:
                async with open_bench_store(kind, Path(directory)) as store:
                    results[kind][f"N={entries}"] = await bench_session(store, entries, repeat)
            async with open_bench_store(kind, Path(directory)) as store:
                results[kind][f"{sessions} sessions"] = await bench_listing(store, sessions, repeat)
            print(f"measured {kind}", file=sys.stderr)
    print_table(results, runnable, repeat)


def print_table(results: dict[str, dict[str, Row]], kinds: list[str], repeat: int) -> None:
    others = [k for k in kinds if k != "sqlite"]
    header = f"{'operation':<20} {'size':>15} {'sqlite':>9}" + "".join(f" {k:>9} {'x':>6}" for k in others)
    print(f"medians of {repeat} runs, ms; x = store / sqlite")
    print(header)
    print("-" * len(header))
    for size, rows in results["sqlite"].items():
        for operation, base in rows.items():
            line = f"{operation:<20} {size:>15} {base:>9.3f}"
            for kind in others:
                value = results[kind][size][operation]
                line += f" {value:>9.3f} {value / base:>5.1f}x"
            print(line)
        print()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "memory", "postgres", "redis"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    arguments = parser.parse_args()
    anyio.run(main, arguments.stores, arguments.sizes, arguments.sessions, arguments.repeat)
