"""`SQLiteStore`: the embedded default store, one SQLite file shared by every process of a machine.

Schema (version 3, recorded in `PRAGMA user_version`; older files are migrated on first use):

- `tether_sessions`: one row per transcript (a session's main transcript or a subpath), keyed by
  scope, project, session id and subpath (one id may live in several projects). A fork
  is a row with `parent` and `cutoff` (how many entries of the parent's view it inherits);
  nothing is copied. `length` is the view length, `leaf`/`summary`/`mtime` are kept up to date
  by every append, so listing and `find` never read entries.
- `tether_entries`: one row per entry, `id = node id << 32 | position in the view`, so a node's
  entries are one contiguous range of the table's B-tree (a full or tail load is a range scan),
  plus a 64-bit hash of the entry's uuid (indexed, to find fork points) and the running count of
  uuid entries (a fork's `message_count` without counting).
- `tether_leases`: one row per session with a turn lease (owner, expiry; see `swap_lease`), keyed
  by scope, project and session id; it goes with the session.

Writes run in `BEGIN IMMEDIATE` transactions, so the `expected_leaf` check and the insert are one
step across processes. The file is in WAL mode with `synchronous=NORMAL`: a committed append
survives the writing process being killed at any point (not a power cut; use PostgreSQL for that).
Small operations run inline on the event loop (they take microseconds); reads of more than a few
hundred entries run (and are decoded) in a worker thread on a pooled read connection.
"""

from __future__ import annotations

import atexit
import functools
import os
import sqlite3
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from tether._vocabulary.store import SessionKey, SessionListSubkeysKey, SessionStoreEntry
from tether.errors import ConfigurationError, SessionExistsError, SessionNotFoundError
from tether.sessions.keys import validate_session_id
from tether.sessions.store import StoredSession, StoredTexts
from tether.sessions.stores import StoreUrl
from tether.sessions.stores._blobs import SqliteBlobs
from tether.sessions.stores._core import (
    AppendPlan,
    KeyParts,
    Node,
    as_int,
    check_leaf,
    decode_summary,
    encode_entries,
    fork_point,
    guarded,
    key_parts,
    leaf_from_end,
    log,
    message_count_of,
    now_ms,
    plan_append,
    shortcut_parent,
    to_json,
    uuid_hash,
    uuid_of,
    view_segments,
)
from tether.sessions.stores._sql import SQLITE, RowListing, listing_query
from tether.sessions.stores._sqlite_file import (
    SCHEMA_VERSION,
    Backend,
    default_sqlite_path,
    read_txn,
    write_txn,
)
from tether.sessions.stores._sqlite_rows import (
    BY_KEY,
    FOR_APPEND,
    LEASE_HOLDER,
    MAX_POSITION,
    NEWEST,
    NEWEST_SEQ,
    SET_LEASE,
    SHIFT,
    collect_deleted,
    next_seq,
    node_chain,
    read_texts,
    stored_session,
)
from tether.sessions.summary import fork_summary

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "default_sqlite_path", "from_url"]


_INLINE_ENTRIES = 256
"""Reads of more entries than this run in a worker thread instead of on the event loop."""
_INLINE_TEXTS = 1024
"""The same for `load_texts`, which does not decode: about the event loop's time of `load`'s 256
(a read of 880 texts measured 1.1 ms; the handoff to a thread costs more CPU than it saves)."""


class SQLiteStore(SqliteBlobs, RowListing):
    """Sessions in one SQLite file: copy-on-write forks, atomic leaf checks, listing, scopes.

    `path` defaults to `$TETHER_HOME/sessions.db`, else `~/.tether/sessions.db` (the directory is
    created, owner-only, and so is the file). `scope` (a tenant or user) limits every call to that
    scope's sessions; `with_scope` gives another scope over the same file and connections.
    SQLite errors after the file is open (a damaged page...) raise `StoreError`.
    """

    driver_errors = (sqlite3.Error,)

    def __init__(self, path: str | os.PathLike[str] | None = None, *, scope: str | None = None) -> None:
        if path is not None and str(path) == ":memory:":
            raise ConfigurationError("SQLiteStore needs a file; use MemoryStore for sessions kept in memory")
        self.path = Path(path).expanduser() if path is not None else default_sqlite_path()
        self.scope = scope or ""
        self._backend = Backend(self.path)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}, scope={self.scope!r})"

    @classmethod
    def shared(cls, path: str | os.PathLike[str] | None = None, *, scope: str | None = None) -> SQLiteStore:
        """The process's shared store on `path` (default: the default file): open between uses.

        `query()` and the session helpers use it for `sqlite://` URLs and the default store, so
        a short query does not pay for opening the file and checkpointing its WAL on close. Its
        connections are closed at exit; `close()` only drops them until the next use. A child
        process (`os.fork`) gets its own, and so does a file deleted or replaced meanwhile.
        """
        return cls.shared_on((Path(path).expanduser() if path is not None else default_sqlite_path()).absolute(), scope)

    @classmethod
    def shared_on(cls, resolved: Path, scope: str | None) -> SQLiteStore:
        """`shared` on `resolved`, an absolute path already."""
        key = (os.getpid(), str(resolved), scope or "")
        with _SHARED_LOCK:
            store = _SHARED.get(key)
            if store is None:
                store = _SHARED[key] = cls(resolved, scope=scope)
        if store._backend.file_replaced():
            store._backend.close()
        return store

    @property
    def is_shared(self) -> bool:
        """Whether this is a process's shared store (see `shared`)."""
        return _SHARED.get((os.getpid(), str(self.path), self.scope)) is self

    def with_scope(self, scope: str | None) -> SQLiteStore:
        """A store over the same file and connections, limited to `scope`."""
        other = SQLiteStore.__new__(SQLiteStore)
        other.path, other.scope, other._backend = self.path, scope or "", self._backend
        return other

    def ensure_ready(self) -> None:
        """Open the file and apply migrations now (otherwise done on first use)."""
        with self._backend.lock:
            self._backend.writer()

    # -- writes ---------------------------------------------------------------------------------

    @guarded("append")
    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append entries in order, creating the session; `expected_leaf` is checked in the same transaction."""
        parts = key_parts(self.scope, key)
        texts = encode_entries(entries)
        if not entries and expected_leaf is None:
            return
        with self._backend.lock:
            conn = self._backend.writer()
            with write_txn(conn):
                self._append(conn, parts, entries, texts, expected_leaf)

    def _append(
        self,
        conn: sqlite3.Connection,
        parts: KeyParts,
        entries: list[SessionStoreEntry],
        texts: list[str],
        expected_leaf: str | None,
    ) -> None:
        key = (parts.scope, parts.scope, parts.session_id, parts.subpath, parts.project_key)
        row = conn.execute(FOR_APPEND, key).fetchone()
        check_leaf(parts.session_id, expected_leaf, row[4] if row else None)
        if not entries:
            return
        if row is None:
            plan = plan_append(entries, texts, length=0, leaf=None, summary=None)
        else:
            length = as_int(row[3], f"the length of session {parts.session_id!r}")
            plan = plan_append(entries, texts, length=length, leaf=row[4], summary=decode_summary(row[6], row[8]))
        if plan.length > MAX_POSITION:
            raise ValueError(f"session {parts.session_id!r} would exceed {MAX_POSITION} entries")
        node_id = self._create_node(conn, parts, plan) if row is None else self._update_node(conn, parts, row, plan)
        base = node_id << SHIFT
        conn.executemany(
            "INSERT INTO tether_entries (id, uh, n, data) VALUES (?, ?, ?, ?)",
            [(base + pos, uh, n, text) for pos, uh, n, text in plan.rows],
        )

    @staticmethod
    def _create_node(conn: sqlite3.Connection, parts: KeyParts, plan: AppendPlan) -> int:
        """Insert the row of a transcript's first append, the newest of its scope; returns its id."""
        node_id = conn.execute(
            "INSERT INTO tether_sessions (scope, project_key, session_id, subpath, parent, cutoff, length, leaf,"
            f" mtime, seq, summary) VALUES (?, ?, ?, ?, NULL, 0, ?, ?, ?, coalesce(({NEWEST_SEQ}), 0) + 1, ?)",
            (
                parts.scope,
                parts.project_key,
                parts.session_id,
                parts.subpath,
                plan.length,
                plan.leaf,
                now_ms(),
                parts.scope,  # `next_seq`, in the same statement
                plan.summary_json,
            ),
        ).lastrowid
        assert node_id is not None
        return node_id

    @staticmethod
    def _update_node(conn: sqlite3.Connection, parts: KeyParts, row: Sequence[Any], plan: AppendPlan) -> int:
        """Update a `FOR_APPEND` row after an append; returns its id.

        The row becomes the newest of its scope: a row that already is keeps its `seq`, so the
        statement leaves the listing indexes alone (three index pages fewer to write per append).
        """
        node_id: int = row[0]
        mtime = max(now_ms(), as_int(row[5], f"the mtime of session {parts.session_id!r}"))
        newest = row[10] if isinstance(row[10], int) else 0
        if isinstance(row[9], int) and row[9] >= newest:
            conn.execute(
                "UPDATE tether_sessions SET length = ?, leaf = ?, mtime = ?, summary = ? WHERE id = ?",
                (plan.length, plan.leaf, mtime, plan.summary_json, node_id),
            )
        else:
            conn.execute(
                "UPDATE tether_sessions SET length = ?, leaf = ?, mtime = ?, seq = ?, summary = ? WHERE id = ?",
                (plan.length, plan.leaf, mtime, newest + 1, plan.summary_json, node_id),
            )
        return node_id

    @guarded("fork")
    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Branch `new_key` off `source_key` (cut after `at_uuid` if given) in O(1): nothing is copied."""
        source = key_parts(self.scope, source_key)
        target = key_parts(self.scope, new_key)
        with self._backend.lock:
            conn = self._backend.writer()
            with write_txn(conn):
                self._fork(conn, source, target, at_uuid)

    def _fork(self, conn: sqlite3.Connection, source: KeyParts, target: KeyParts, at_uuid: str | None) -> None:
        row = conn.execute(BY_KEY, (source.scope, source.session_id, source.subpath, source.project_key)).fetchone()
        if row is None:
            raise SessionNotFoundError(source.session_id)
        if conn.execute(BY_KEY, (target.scope, target.session_id, target.subpath, target.project_key)).fetchone():
            raise SessionExistsError(target.session_id)
        chain = node_chain(conn, row)
        summary = decode_summary(row[6], row[8])
        if at_uuid is None:
            cut, leaf, count = chain[0].length, row[4], message_count_of(summary)
        else:
            cut, count = self._locate(conn, chain, source.session_id, at_uuid)
            leaf = at_uuid
        parent = shortcut_parent(chain, cut)
        origin = {"sessionId": source.session_id, "messageUuid": leaf}
        conn.execute(
            "INSERT INTO tether_sessions (scope, project_key, session_id, subpath, parent, cutoff, length, leaf,"
            " mtime, seq, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                target.scope,
                target.project_key,
                target.session_id,
                target.subpath,
                parent.id,
                cut,
                cut,
                leaf,
                now_ms(),
                next_seq(conn, target.scope),
                to_json(fork_summary(summary, forked_from=origin, message_count=count)),
            ),
        )

    @staticmethod
    def _locate(conn: sqlite3.Connection, chain: list[Node], session_id: str, at_uuid: str) -> tuple[int, int]:
        """The fork point of `at_uuid` (see `fork_point`), from the entries indexed under its hash."""
        rows = (
            conn.execute("SELECT id, n, data FROM tether_entries WHERE uh = ?", (uuid_hash(at_uuid),))
            if isinstance(at_uuid, str) and at_uuid
            else []
        )
        candidates = (
            (row_id >> SHIFT, row_id & MAX_POSITION, count)
            for row_id, count, text in rows
            if uuid_of(text) == at_uuid  # not another uuid with the same hash
        )
        return fork_point(chain, candidates, session_id, at_uuid)

    @guarded("delete")
    async def delete(self, key: SessionKey) -> None:
        """Delete a transcript (a main key also deletes its subpaths); forks of it stay whole.

        The rows are tombstoned (the id is free again at once) and their entries are removed,
        except the prefix that live forks still read, which goes when the last of them does.
        """
        parts = key_parts(self.scope, key)
        with self._backend.lock:
            conn = self._backend.writer()
            with write_txn(conn):
                if parts.is_main:
                    rows = conn.execute(
                        "SELECT id FROM tether_sessions WHERE scope = ? AND session_id = ? AND project_key = ?"
                        " AND deleted = 0",
                        (parts.scope, parts.session_id, parts.project_key),
                    ).fetchall()
                else:
                    rows = conn.execute(
                        BY_KEY, (parts.scope, parts.session_id, parts.subpath, parts.project_key)
                    ).fetchall()
                for node_id, *_ in rows:
                    conn.execute(
                        "UPDATE tether_sessions SET deleted = 1, leaf = NULL, summary = '{}' WHERE id = ?", (node_id,)
                    )
                    collect_deleted(conn, node_id)
                if parts.is_main:
                    conn.execute(
                        "DELETE FROM tether_leases WHERE scope = ? AND project_key = ? AND session_id = ?",
                        (parts.scope, parts.project_key, parts.session_id),
                    )

    @guarded("swap_lease")
    async def swap_lease(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> tuple[str, int] | None:
        """Set the session's turn lease to `(owner, expires_at_ms)` unless another owner holds it live
        (see `StoreAccess.swap_lease`), in one transaction; returns that holder, else None."""
        parts = key_parts(self.scope, key)
        ident = (parts.scope, parts.project_key, parts.session_id)
        with self._backend.lock:
            conn = self._backend.writer()
            with write_txn(conn):
                row = conn.execute(LEASE_HOLDER, ident).fetchone()
                if row is not None:
                    held = (str(row[0]), as_int(row[1], f"the lease expiry of session {parts.session_id!r}"))
                    if held[1] > now_ms and held[0] not in (owner, take_from):
                        return held
                conn.execute(SET_LEASE, (*ident, owner, int(expires_at_ms)))
        return None

    @guarded("read_lease")
    async def read_lease(self, key: SessionKey) -> tuple[str, int] | None:
        """The session's turn lease as stored (live or not), without writing."""
        parts = key_parts(self.scope, key)
        with self._backend.lock:
            row = self._backend.writer().execute(LEASE_HOLDER, (parts.scope, parts.project_key, parts.session_id))
            held = row.fetchone()
        if held is None:
            return None
        return str(held[0]), as_int(held[1], f"the lease expiry of session {parts.session_id!r}")

    # -- reads ----------------------------------------------------------------------------------

    @guarded("load")
    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The session's view in append order (inherited history first), or None.

        Entries that cannot be read are skipped and logged (`find` counts them); a stored leaf
        that disagrees with the entries is set to theirs, so later writes do not conflict forever.
        """
        return await self._view(key_parts(self.scope, key), None)

    @guarded("load_tail")
    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view, reading only those."""
        return await self._view(key_parts(self.scope, key), max(0, int(limit)))

    @guarded("load_texts")
    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        """The view as `load` reads it, undecoded: each entry's stored JSON text, and the stored leaf."""
        parts = key_parts(self.scope, key)
        with self._backend.lock:
            read = self._view_texts(self._backend.writer(), parts, None, _INLINE_TEXTS)
        if isinstance(read, _TooBig):
            read = await anyio.to_thread.run_sync(self._texts_in_thread, parts)
        return None if read is None else StoredTexts(read[1], read[0][4])

    def _texts_in_thread(self, parts: KeyParts) -> tuple[Sequence[Any], list[bytes]] | None:
        with self._backend.reader() as conn:
            read = self._view_texts(conn, parts, None, None)
        assert not isinstance(read, _TooBig)
        return read

    async def _view(self, parts: KeyParts, tail: int | None) -> list[SessionStoreEntry] | None:
        with self._backend.lock:
            read = self._view_texts(self._backend.writer(), parts, tail, _INLINE_ENTRIES)
        if isinstance(read, _TooBig):
            found = await anyio.to_thread.run_sync(self._view_in_thread, parts, tail)
        else:
            found = None if read is None else (read[0], self._backend.damage.entries(self, parts, read[1]))
        if found is None:
            return None
        row, entries = found
        if tail is None and row[4] != leaf_from_end(entries):
            self._repair_leaf(parts, row, leaf_from_end(entries))
        return entries

    def _view_in_thread(
        self, parts: KeyParts, tail: int | None
    ) -> tuple[Sequence[Any], list[SessionStoreEntry]] | None:
        """A large read, decoded in the worker thread too (the event loop gets the GIL between slices)."""
        with self._backend.reader() as conn:
            read = self._view_texts(conn, parts, tail, None)
        assert not isinstance(read, _TooBig)
        return None if read is None else (read[0], self._backend.damage.entries(self, parts, read[1]))

    @staticmethod
    def _view_texts(
        conn: sqlite3.Connection, parts: KeyParts, tail: int | None, inline_limit: int | None
    ) -> tuple[Sequence[Any], list[bytes]] | _TooBig | None:
        """The session's row and the texts of its view (or of its last `tail` entries), read in one transaction."""
        with read_txn(conn):
            row = conn.execute(BY_KEY, (parts.scope, parts.session_id, parts.subpath, parts.project_key)).fetchone()
            if row is None:
                return None
            length = as_int(row[3], f"the length of session {parts.session_id!r}")
            start = 0 if tail is None else max(0, length - tail)
            if inline_limit is not None and length - start > inline_limit:
                return _TooBig()
            return row, read_texts(conn, view_segments(node_chain(conn, row), start))

    def _repair_leaf(self, parts: KeyParts, row: Sequence[Any], leaf: str | None) -> None:
        """Set the stored leaf to `leaf` (the loaded entries'), unless the session changed since `row` was read."""
        log.warning(
            "%r: session %r had the stored leaf %r, not its entries' %r: repaired", self, parts.session_id, row[4], leaf
        )
        with self._backend.lock:
            conn = self._backend.writer()
            with write_txn(conn):
                conn.execute(
                    "UPDATE tether_sessions SET leaf = ? WHERE id = ? AND length = ? AND leaf IS ?",
                    (leaf, row[0], row[3], row[4]),
                )

    @guarded("find")
    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """Where `session_id` lives (in `project_key` if it holds one, else the newest match), its leaf and summary."""
        session_id = validate_session_id(session_id)
        with self._backend.lock:
            conn = self._backend.writer()
            row = conn.execute(BY_KEY, (self.scope, session_id, "", project_key)).fetchone() if project_key else None
            row = row or conn.execute(NEWEST, (self.scope, session_id)).fetchone()
        return stored_session(row, self._backend.damage.skipped(self.scope, row[7], session_id)) if row else None

    async def _listing(self, project_key: str | None, after: int | None, limit: int | None, columns: str) -> list[Any]:
        sql, params = listing_query(SQLITE, columns, self.scope, project_key, after, limit)
        if limit is not None and limit <= _INLINE_ENTRIES:
            with self._backend.lock:
                return self._backend.writer().execute(sql, params).fetchall()
        return await anyio.to_thread.run_sync(self._query_in_thread, sql, params)

    def _query_in_thread(self, sql: str, params: list[Any]) -> list[Any]:
        with self._backend.reader() as conn:
            return conn.execute(sql, params).fetchall()

    @guarded("list_subkeys")
    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths stored under a session."""
        parts = key_parts(self.scope, SessionKey(project_key=key["project_key"], session_id=key["session_id"]))
        with self._backend.lock:
            rows = (
                self._backend.writer()
                .execute(
                    "SELECT subpath FROM tether_sessions WHERE scope = ? AND session_id = ? AND project_key = ?"
                    " AND subpath != '' AND deleted = 0 ORDER BY subpath",
                    (parts.scope, parts.session_id, parts.project_key),
                )
                .fetchall()
            )
        return [r[0] for r in rows if isinstance(r[0], str)]

    async def close(self) -> None:
        """Close the file's connections (shared with `with_scope` stores; reopened on next use)."""
        self._backend.close()


_SHARED: dict[tuple[int, str, str], SQLiteStore] = {}
_SHARED_LOCK = threading.Lock()


@atexit.register
def _close_shared() -> None:
    with _SHARED_LOCK:
        for (pid, _, _), store in _SHARED.items():
            if pid == os.getpid():
                store._backend.close()


class _TooBig:
    """The read is too large to run on the event loop."""


def from_url(url: StoreUrl) -> SQLiteStore:
    """`sqlite://` (the default file), or a file read as SQLAlchemy reads it, with `?scope=NAME`.

    `sqlite:///sessions.db` is relative to the current directory, `sqlite:////abs/sessions.db`
    absolute, `sqlite:///~/sessions.db` under the home directory. The file's directory must exist
    (only the default one is created) and, with the file, be writable: `ConfigurationError` says
    which is not. With `url.shared`, the process's shared store on that file (`SQLiteStore.shared`).
    """
    url.only("scope")
    if url.netloc:
        raise url.invalid("it names a host; use sqlite:///relative/sessions.db or sqlite:////absolute/sessions.db")
    name = url.path[1:]  # the slash after the (empty) host ends the authority
    if name.endswith("/"):
        raise url.invalid("the path is a directory, name the file")
    file = _store_file(name, url.env.get("TETHER_HOME"), os.environ.get("HOME"), os.getcwd())
    text = str(file)
    directory = os.path.dirname(text)
    directory_exists = os.path.isdir(directory)
    if name and not directory_exists:
        raise ConfigurationError(
            f"the directory {directory!r} of the session store URL {url.shown!r} does not exist;"
            " create it, or correct the URL"
        )
    problem = _unwritable(text, directory if directory_exists else None)
    if problem:
        raise ConfigurationError(f"cannot use the session store {url.shown!r}: {problem}")
    scope = url.options.get("scope")
    return SQLiteStore.shared_on(file, scope) if url.shared else SQLiteStore(file, scope=scope)


@functools.lru_cache(maxsize=64)
def _store_file(name: str, tether_home: str | None, home: str | None, cwd: str) -> Path:
    """The absolute file a `sqlite://` URL's path names (the default file for ""), worked out once
    per path and what it depends on: `$TETHER_HOME`, `$HOME` and the current directory."""
    if name:
        return Path(name).expanduser().absolute()
    return default_sqlite_path({"TETHER_HOME": tether_home} if tether_home else {}).absolute()


def _unwritable(file: str, directory: str | None) -> str | None:
    """Why this process cannot use `file` as a SQLite store (it must write it, or create it), or None.

    SQLite writes its `-wal` and `-shm` files next to the database, so `directory` (None: it does
    not exist yet) must be writable too. A missing directory is not a problem here (the default one is created).
    """
    try:
        mode: int | None = os.stat(file).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        return f"{file!r} is a directory, name a file in it"
    if mode is not None and not os.access(file, os.R_OK | os.W_OK):
        return f"the file {file!r} is read-only for this user"
    if directory is not None and not os.access(directory, os.W_OK | os.X_OK):
        return (
            f"its directory {directory!r} is read-only for this user"
            " (SQLite writes its -wal and -shm files next to the database)"
        )
    return None
