"""Store micro-benchmarks of tether's stores (run in tether's `.venv`).

    .venv/bin/python -m bench.store_tether '{"phase": "grow", "kind": "sqlite", "dir": "...", ...}'

Phases:
- `grow`: one session grown through the sizes (see `bench.store_driver`): `append` with
  `expected_leaf` (as the runtime writes), `load`, `load_tail(50)`, copy-on-write `fork` at the
  middle entry and at the leaf, bytes on disk.
- `list`: `sessions` sessions of one turn each in one project, then `list_page(limit=50)`.

`kind` is `sqlite` (a file under `dir`), or `postgres` / `redis` with the server's `url`: the run
gets a fresh database (PostgreSQL) or key prefix (Redis), dropped at the end; its bytes are what
the server holds for it (tables with indexes and TOAST, or Redis `MEMORY USAGE` of its keys).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.store_driver import drive
from bench.workload import checkpoint_sqlite, claude_turn, emit, json_size, summary, worker_args
from tether._vocabulary.store import SessionKey
from tether.sessions.keys import project_key_for_directory
from tether.sessions.store import NO_LEAF

CWD = "/bench/project"


class ServerSpace:
    """A fresh PostgreSQL database or Redis key prefix for one run, measured and dropped afterwards."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.admin_url = url
        self.name = f"tether_bench_{uuid.uuid4().hex[:12]}"
        if kind == "postgres":
            import psycopg

            with psycopg.connect(url, autocommit=True, connect_timeout=5) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            parts = urlsplit(url)
            self.url = urlunsplit((parts.scheme, parts.netloc, "/" + self.name, parts.query, parts.fragment))
        else:
            separator = "&" if "?" in url else "?"
            self.url = f"{url}{separator}prefix={self.name}"

    def stored_bytes(self) -> int:
        """Bytes the server holds for this run: tables with indexes and TOAST, or Redis key memory."""
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                ).fetchone()
            return int(row[0]) if row else 0
        import redis

        client = redis.Redis.from_url(self.admin_url)
        try:
            return sum(client.memory_usage(key) or 0 for key in client.scan_iter(match=f"*{self.name}*", count=1000))
        finally:
            client.close()

    def drop(self) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            return
        import redis

        client = redis.Redis.from_url(self.admin_url)
        try:
            keys = list(client.scan_iter(match=f"*{self.name}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        finally:
            client.close()


def open_tether_store(kind: str, args: dict[str, Any], space: ServerSpace | None) -> Any:
    """The store under test, empty: a fresh SQLite file, or a fresh database / key prefix on a server."""
    if kind == "sqlite":
        from tether.sessions.stores.sqlite import SQLiteStore

        return SQLiteStore(Path(args["dir"]) / "tether.db")
    from tether.sessions.urls import open_store

    assert space is not None
    return open_store(space.url)


class TetherAdapter:
    """tether's store doing the bench's work on one session."""

    def __init__(self, store: Any, kind: str, directory: Path | None, space: ServerSpace | None) -> None:
        self.store = store
        self.kind = kind
        self.directory = directory
        self.space = space
        self.session_id = str(uuid.uuid4())
        self.key = SessionKey(project_key=project_key_for_directory(CWD), session_id=self.session_id)
        self.leaf = NO_LEAF
        self.uuids: list[str] = []
        self.json_total = 0

    async def append_turn(self, index: int) -> None:
        entries = claude_turn(index, session_id=self.session_id, parent_uuid=self.leaf or None, cwd=CWD)
        await self.store.append(self.key, entries, expected_leaf=self.leaf)
        self.leaf = entries[-1]["uuid"]
        self.uuids.extend(entry["uuid"] for entry in entries)
        self.json_total += json_size(entries)

    async def load_all(self) -> int:
        return len(await self.store.load(self.key) or [])

    async def load_tail(self, count: int) -> int:
        return len(await self.store.load_tail(self.key, count) or [])

    def _fork_key(self) -> SessionKey:
        return SessionKey(project_key=self.key["project_key"], session_id=str(uuid.uuid4()))

    async def fork_mid(self, rep: int) -> None:
        await self.store.fork(self.key, self._fork_key(), self.uuids[len(self.uuids) // 2 - 1])

    async def fork_end(self, rep: int) -> None:
        await self.store.fork(self.key, self._fork_key())

    def bytes_on_disk(self) -> int | None:
        if self.kind == "sqlite" and self.directory is not None:
            return checkpoint_sqlite(self.directory / "tether.db")
        return self.space.stored_bytes() if self.space is not None else None

    def json_bytes(self) -> int:
        return self.json_total


async def grow(args: dict[str, Any]) -> dict[str, Any]:
    kind = args["kind"]
    space = ServerSpace(kind, args["url"]) if kind != "sqlite" else None
    store = open_tether_store(kind, args, space)
    try:
        adapter = TetherAdapter(store, kind, Path(args["dir"]) if kind == "sqlite" else None, space)
        return await drive(adapter, sizes=args["sizes"], full_at=args["full_at"], **args.get("drive", {}))
    finally:
        await store.close()
        if space is not None:
            space.drop()


async def listing(args: dict[str, Any]) -> dict[str, Any]:
    kind = args["kind"]
    space = ServerSpace(kind, args["url"]) if kind != "sqlite" else None
    store = open_tether_store(kind, args, space)
    try:
        project_key = project_key_for_directory(CWD)
        start = time.perf_counter()
        for index in range(args["sessions"]):
            session_id = str(uuid.uuid4())
            entries = claude_turn(index, session_id=session_id, parent_uuid=None, cwd=CWD)
            await store.append(SessionKey(project_key=project_key, session_id=session_id), entries)
        created = time.perf_counter() - start
        project_page = []
        all_page = []
        for _ in range(args["reps"]):
            started = time.perf_counter()
            page = await store.list_page(project_key, limit=50)
            project_page.append(time.perf_counter() - started)
            started = time.perf_counter()
            await store.list_page(None, limit=50)
            all_page.append(time.perf_counter() - started)
        if len(page.items) != 50:
            raise RuntimeError(f"list_page returned {len(page.items)} sessions, not 50")
        return {
            "sessions": args["sessions"],
            "create_seconds": created,
            "first_page": summary(project_page),
            "first_page_all_projects": summary(all_page),
        }
    finally:
        await store.close()
        if space is not None:
            space.drop()


PHASES = {"grow": grow, "list": listing}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
