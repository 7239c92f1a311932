"""Store micro-benchmarks of tether's stores (run in tether's `.venv`).

    .venv/bin/python -m bench.store_tether '{"phase": "grow", "kind": "sqlite", "dir": "...", ...}'

Phases:
- `grow`: one session grown through the sizes (see `bench.store_driver`): `append` with
  `expected_leaf` (as the runtime writes), `load`, `load_tail(50)`, copy-on-write `fork` at the
  middle entry and at the leaf, bytes on disk.
- `list`: `sessions` sessions of one turn each in one project, then `list_page(limit=50)`.

`kind` is `sqlite` (a file under `dir`), or `postgres` / `redis` with `url`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from bench.store_driver import drive
from bench.workload import checkpoint_sqlite, claude_turn, emit, json_size, summary, worker_args
from tether.sessions.keys import project_key_for_directory
from tether.sessions.store import NO_LEAF, SessionKey

CWD = "/bench/project"


def open_tether_store(kind: str, args: dict[str, Any]) -> Any:
    """The store under test, empty: a fresh SQLite file, or a fresh scope on a server."""
    if kind == "sqlite":
        from tether.sessions.sqlite import SQLiteStore

        return SQLiteStore(Path(args["dir"]) / "tether.db")
    from tether.sessions.urls import open_store

    store = open_store(args["url"])
    with_scope = getattr(store, "with_scope", None)
    return with_scope(f"bench-{uuid.uuid4()}") if with_scope is not None else store


class TetherAdapter:
    """tether's store doing the bench's work on one session."""

    def __init__(self, store: Any, kind: str, directory: Path | None) -> None:
        self.store = store
        self.kind = kind
        self.directory = directory
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
        return None

    def json_bytes(self) -> int:
        return self.json_total


async def grow(args: dict[str, Any]) -> dict[str, Any]:
    kind = args["kind"]
    store = open_tether_store(kind, args)
    try:
        adapter = TetherAdapter(store, kind, Path(args["dir"]) if kind == "sqlite" else None)
        return await drive(adapter, sizes=args["sizes"], full_at=args["full_at"], **args.get("drive", {}))
    finally:
        await store.close()


async def listing(args: dict[str, Any]) -> dict[str, Any]:
    kind = args["kind"]
    store = open_tether_store(kind, args)
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


PHASES = {"grow": grow, "list": listing}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
