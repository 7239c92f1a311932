"""The blob capability of tether's stores: content-addressed bytes (sha256 hex), stored once per
store (per scope), for workspace snapshots (`tether.sessions.workspace`).

Each store class mixes in one class here, so the store modules change by one base class:
`put_blobs({hash: bytes})` stores what is missing (writing a hash twice is a no-op),
`get_blobs(hashes)` returns those it holds, `list_blobs()` every hash, `delete_blobs(hashes)`
removes them. A blob is written whole or not at all (a transaction, an atomic rename, one
command), so a process killed mid-write leaves no partial blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, cast

import anyio.to_thread

from tether.errors import ConfigurationError
from tether.sessions.stores._core import GuardedStore, guarded
from tether.sessions.stores._sqlite_file import Backend, write_txn

__all__ = [
    "JsonlBlobs",
    "MemoryBlobs",
    "PostgresBlobs",
    "RedisBlobs",
    "SqliteBlobs",
    "blob_hash",
    "check_blob_hash",
    "verified_blobs",
]

_HASH = re.compile(r"[0-9a-f]{64}")


def blob_hash(data: bytes) -> str:
    """The address of `data`: its sha256, in lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def check_blob_hash(value: object) -> str:
    """`value` if it is a blob address (64 lowercase hex digits), else `ConfigurationError`."""
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise ConfigurationError(f"{value!r} is not a blob address (a sha256 in lowercase hex)")
    return value


def verified_blobs(blobs: Mapping[str, bytes]) -> dict[str, bytes]:
    """The blobs, each verified against its address (a wrong pairing is refused before any write)."""
    for address, data in blobs.items():
        if blob_hash(data) != check_blob_hash(address):
            raise ConfigurationError(f"blob {address[:12]}... does not hold the bytes of that sha256")
    return dict(blobs)


class MemoryBlobs:
    """Blobs in a dict shared by `with_scope` copies (`MemoryStore`)."""

    scope: str
    _blob_data: dict[tuple[str, str], bytes]

    def _blobs(self) -> dict[tuple[str, str], bytes]:
        data = self.__dict__.get("_blob_data")
        if data is None:
            data = self.__dict__["_blob_data"] = {}
        return data

    def share_blobs(self, other: MemoryBlobs) -> None:
        """Make `other` (a `with_scope` copy) use the same blob dict."""
        other.__dict__["_blob_data"] = self._blobs()

    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store the blobs the store does not hold yet."""
        for address, data in verified_blobs(blobs).items():
            self._blobs().setdefault((self.scope, address), bytes(data))

    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The blobs of `hashes` the store holds."""
        held = self._blobs()
        return {h: held[(self.scope, h)] for h in hashes if (self.scope, h) in held}

    async def list_blobs(self) -> list[str]:
        """Every blob address of this scope."""
        return sorted(h for scope, h in self._blobs() if scope == self.scope)

    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove the blobs (unknown addresses are ignored)."""
        for address in hashes:
            self._blobs().pop((self.scope, address), None)


_SQLITE_TABLE = (
    "CREATE TABLE IF NOT EXISTS tether_blobs (scope TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY (scope, hash))"
)


def _backend(store: object) -> Backend:
    """The SQLite file of a `SQLiteStore` (its `_backend`)."""
    return cast("Backend", cast("Any", store)._backend)


class SqliteBlobs(GuardedStore):
    """Blobs in the `tether_blobs` table of the store's file (created on first use)."""

    scope: str

    def _blob_conn(self) -> sqlite3.Connection:
        """The writer connection, with the blob table (call with the backend's lock held)."""
        conn: sqlite3.Connection = _backend(self).writer()
        conn.execute(_SQLITE_TABLE)
        return conn

    def _in_thread(self, sql: str, rows: list[tuple[Any, ...]], *, many: bool) -> list[Any]:
        with _backend(self).lock:
            conn = self._blob_conn()
            if many:
                with write_txn(conn):
                    conn.executemany(sql, rows)
                return []
            return conn.execute(sql, rows[0] if rows else ()).fetchall()

    async def _run(self, sql: str, rows: list[tuple[Any, ...]], *, many: bool = False) -> list[Any]:
        return await anyio.to_thread.run_sync(lambda: self._in_thread(sql, rows, many=many))

    @guarded("put_blobs")
    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store the blobs the store does not hold yet, in one transaction."""
        rows = [(self.scope, h, len(d), sqlite3.Binary(d)) for h, d in verified_blobs(blobs).items()]
        if rows:
            sql = "INSERT OR IGNORE INTO tether_blobs (scope, hash, size, data) VALUES (?, ?, ?, ?)"
            await self._run(sql, rows, many=True)

    @guarded("get_blobs")
    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The blobs of `hashes` the store holds."""
        found: dict[str, bytes] = {}
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 500):
            batch = wanted[start : start + 500]
            marks = ", ".join("?" * len(batch))
            sql = f"SELECT hash, data FROM tether_blobs WHERE scope = ? AND hash IN ({marks})"
            found.update((h, bytes(d)) for h, d in await self._run(sql, [(self.scope, *batch)]))
        return found

    @guarded("list_blobs")
    async def list_blobs(self) -> list[str]:
        """Every blob address of this scope."""
        rows = await self._run("SELECT hash FROM tether_blobs WHERE scope = ? ORDER BY hash", [(self.scope,)])
        return [row[0] for row in rows]

    @guarded("delete_blobs")
    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove the blobs (unknown addresses are ignored)."""
        rows = [(self.scope, h) for h in hashes]
        if rows:
            await self._run("DELETE FROM tether_blobs WHERE scope = ? AND hash = ?", rows, many=True)


_PG_TABLE = (
    "CREATE TABLE IF NOT EXISTS tether_blobs (scope text NOT NULL, hash text NOT NULL, size bigint NOT NULL,"
    " data bytea NOT NULL, PRIMARY KEY (scope, hash))"
)
_PG_TABLE_LOCK = 0x7E7B10B5
"""The advisory lock that serialises the blob table's creation (concurrent CREATE IF NOT EXISTS can fail)."""


class PostgresBlobs(GuardedStore):
    """Blobs in the `tether_blobs` table of the store's database (created on first use)."""

    scope: str

    def _transaction(self) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError  # PostgresStore's

    def _connection(self) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError  # PostgresStore's

    async def _blob_table(self) -> None:
        shared = cast("Any", self)._shared
        if getattr(shared, "blob_table", False):
            return
        async with self._transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_TABLE_LOCK,))
            await conn.execute(_PG_TABLE)
        shared.blob_table = True

    @guarded("put_blobs")
    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store the blobs the store does not hold yet, in one transaction."""
        rows = [(self.scope, h, len(d), d) for h, d in verified_blobs(blobs).items()]
        if not rows:
            return
        await self._blob_table()
        async with self._transaction() as conn, conn.cursor() as cursor:
            sql = "INSERT INTO tether_blobs (scope, hash, size, data) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
            await cursor.executemany(sql, rows)

    @guarded("get_blobs")
    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The blobs of `hashes` the store holds."""
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return {}
        await self._blob_table()
        async with self._connection() as conn:
            sql = "SELECT hash, data FROM tether_blobs WHERE scope = %s AND hash = ANY(%s)"
            rows = await (await conn.execute(sql, (self.scope, wanted))).fetchall()
        return {h: bytes(d) for h, d in rows}

    @guarded("list_blobs")
    async def list_blobs(self) -> list[str]:
        """Every blob address of this scope."""
        await self._blob_table()
        async with self._connection() as conn:
            sql = "SELECT hash FROM tether_blobs WHERE scope = %s ORDER BY hash"
            rows = await (await conn.execute(sql, (self.scope,))).fetchall()
        return [row[0] for row in rows]

    @guarded("delete_blobs")
    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove the blobs (unknown addresses are ignored)."""
        doomed = list(hashes)
        if doomed:
            await self._blob_table()
            async with self._connection() as conn:
                await conn.execute("DELETE FROM tether_blobs WHERE scope = %s AND hash = ANY(%s)", (self.scope, doomed))


class RedisBlobs(GuardedStore):
    """Blobs in one Redis hash per scope (`{prefix}:blobs:<scope>`, field = address)."""

    _q: str

    async def _scripts(self) -> Any:
        raise NotImplementedError  # RedisStore's

    async def _blob_client(self) -> tuple[Any, str]:
        await self._scripts()  # connects and checks the layout
        shared = cast("Any", self)._shared
        return shared.client, f"{shared.base}:blobs:{self._q}"

    @guarded("put_blobs")
    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store the blobs the store does not hold yet (each HSETNX is atomic)."""
        checked = verified_blobs(blobs)
        if not checked:
            return
        client, key = await self._blob_client()
        async with client.pipeline(transaction=False) as pipe:
            for address, data in checked.items():
                pipe.hsetnx(key, address, data)
            await pipe.execute()

    @guarded("get_blobs")
    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The blobs of `hashes` the store holds."""
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return {}
        client, key = await self._blob_client()
        values = await client.hmget(key, wanted)
        return {h: bytes(v) for h, v in zip(wanted, values, strict=True) if v is not None}

    @guarded("list_blobs")
    async def list_blobs(self) -> list[str]:
        """Every blob address of this scope."""
        client, key = await self._blob_client()
        return sorted(k.decode() if isinstance(k, bytes) else str(k) for k in await client.hkeys(key))

    @guarded("delete_blobs")
    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove the blobs (unknown addresses are ignored)."""
        doomed = list(hashes)
        if doomed:
            client, key = await self._blob_client()
            await client.hdel(key, *doomed)


class JsonlBlobs(GuardedStore):
    """Blobs as files beside the transcripts: `<root>/tether-blobs/<hash[:2]>/<hash>`, each written
    to a temporary file and renamed into place (owner-only, like the transcripts)."""

    root: Path

    def _blob_path(self, address: str) -> Path:
        return self.root / "tether-blobs" / address[:2] / address

    def _write_blob(self, address: str, data: bytes) -> None:
        path = self._blob_path(address)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".blob.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @guarded("put_blobs")
    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store the blobs the store does not hold yet."""
        checked = verified_blobs(blobs)

        def write() -> None:
            for address, data in checked.items():
                self._write_blob(address, data)

        await anyio.to_thread.run_sync(write)

    @guarded("get_blobs")
    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The blobs of `hashes` the store holds."""
        wanted = [check_blob_hash(h) for h in dict.fromkeys(hashes)]

        def read() -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            for address in wanted:
                try:
                    found[address] = self._blob_path(address).read_bytes()
                except FileNotFoundError:
                    continue
            return found

        return await anyio.to_thread.run_sync(read)

    @guarded("list_blobs")
    async def list_blobs(self) -> list[str]:
        """Every blob address stored under the root."""
        base = self.root / "tether-blobs"

        def listing() -> list[str]:
            if not base.is_dir():
                return []
            return sorted(p.name for p in base.glob("*/*") if _HASH.fullmatch(p.name))

        return await anyio.to_thread.run_sync(listing)

    @guarded("delete_blobs")
    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove the blobs (unknown addresses are ignored)."""
        doomed = [self._blob_path(check_blob_hash(address)) for address in hashes]

        def unlink() -> None:
            for path in doomed:
                path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(unlink)
