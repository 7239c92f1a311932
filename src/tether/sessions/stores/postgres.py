"""`PostgresStore`: sessions in PostgreSQL, for fleets of workers on many machines (`tether[postgres]`).

The data model is SQLiteStore's (see `tether.sessions.stores._core`): `tether_sessions` holds one
row per transcript, keyed by scope, project, session id and subpath, with `(parent, cutoff)` for
copy-on-write forks, and its leaf, summary and listing position; `tether_entries` holds one row
per entry keyed `(session, position in the view)`. An append reads the session row, checks
`expected_leaf` and folds the summary, then one statement updates the row only if its `length`
is unchanged (every append changes it) and inserts the entries: concurrent writers on any number
of machines never interleave, and the loser of a race reads again (and, with `expected_leaf`,
gets `SessionConflictError`). No row lock is held across a round trip. `mtime` comes from the
server's clock, so every worker agrees. `tether_leases` holds one row per session with a turn
lease (see `swap_lease`), set by one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` statement.
Every append notifies (`pg_notify`, in its one statement, so delivered when it commits) the
transcript's channel, which `watch` LISTENs to on a connection of its own: followers in any
process wake at once (`tether.sessions.follow`).

The schema is versioned in `tether_schema` and migrated on first use inside a transaction that
holds an advisory lock: any number of processes may start at once against an empty database
(`tether.sessions.stores._postgres_connection`, with the pool and libpq's bounds).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import operator
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

try:
    import psycopg
    import psycopg.conninfo
    import psycopg.errors
    import psycopg.sql
    from psycopg_pool import AsyncConnectionPool
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the extra
    raise ImportError(
        f"PostgresStore needs psycopg 3 and psycopg_pool ({exc}): pip install 'tether[postgres]'"
    ) from exc


from tether._vocabulary.store import SessionKey, SessionListSubkeysKey, SessionStoreEntry
from tether.errors import ConfigurationError, SessionExistsError, SessionNotFoundError, StoreError
from tether.sessions.keys import validate_session_id
from tether.sessions.store import StoredSession, StoredTexts
from tether.sessions.stores import StoreUrl
from tether.sessions.stores._blobs import PostgresBlobs
from tether.sessions.stores._core import (
    DamageLog,
    KeyParts,
    Node,
    check_leaf,
    decode_summary,
    encode_entries,
    fork_point,
    gc_keep,
    guarded,
    key_parts,
    leaf_from_end,
    log,
    message_count_of,
    plan_append,
    redact_url,
    shortcut_parent,
    to_json,
    uuid_hash,
    uuid_of,
    walk_chain,
)
from tether.sessions.stores._postgres_connection import SCHEMA_VERSION, SharedPool, bounded_conninfo, open_pool
from tether.sessions.stores._retry import LostRace, Retry, until_won
from tether.sessions.stores._sql import POSTGRES, RowListing, listing_query
from tether.sessions.summary import fork_summary

__all__ = ["SCHEMA_VERSION", "PostgresStore", "from_url"]

_NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
_NODE = "id, parent, cutoff, length, leaf, mtime, summary, project_key, session_id"
_BY_KEY = (
    f"SELECT {_NODE} FROM tether_sessions"
    " WHERE scope = %s AND session_id = %s AND subpath = %s AND project_key = %s AND NOT deleted"
)
_FIND = (
    f"SELECT {_NODE} FROM tether_sessions WHERE scope = %s AND session_id = %s AND subpath = '' AND NOT deleted"
    " ORDER BY project_key IS NOT DISTINCT FROM %s DESC, seq DESC LIMIT 1"
)
_FORK_READ = """WITH RECURSIVE chain AS (
    SELECT id, parent, cutoff, length, leaf, summary, ARRAY[id] AS path FROM tether_sessions
    WHERE scope = %s AND session_id = %s AND subpath = %s AND project_key = %s AND NOT deleted
    UNION ALL
    SELECT s.id, s.parent, s.cutoff, s.length, NULL, NULL, chain.path || s.id
    FROM tether_sessions AS s JOIN chain ON s.id = chain.parent
    WHERE s.id <> ALL(chain.path)
) SELECT id, parent, cutoff, length, leaf, summary FROM chain ORDER BY cardinality(path)"""
# `path` stops a chain written with a cycle (a node its own ancestor) instead of recursing forever.
# The fork row is inserted only while the source is still live; FOR SHARE holds off its deletion.
_FORK = (
    "INSERT INTO tether_sessions (scope, project_key, session_id, subpath, parent, cutoff, length, leaf, mtime,"
    f" seq, summary) SELECT %s, %s, %s, %s, %s, %s, %s, %s, {_NOW_MS}, nextval('tether_seq'), %s"
    " FROM tether_sessions WHERE id = %s AND NOT deleted FOR SHARE RETURNING id"
)
_ENTRY_ROWS = (
    "unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::text[]) AS t(pos, uh, n, data)"  # binary: no escaping
)
# Update the row only if no other append happened since it was read, and add the entries: one statement.
_UPDATE = f"""WITH s AS (
    UPDATE tether_sessions SET length = %s, leaf = %s, summary = %s, mtime = GREATEST(mtime, {_NOW_MS}),
        seq = nextval('tether_seq')
    WHERE id = %s AND length = %s AND NOT deleted RETURNING id
), e AS (
    INSERT INTO tether_entries (session, pos, uh, n, data) SELECT s.id, t.pos, t.uh, t.n, t.data FROM s, {_ENTRY_ROWS}
) SELECT id, pg_notify(%s, '') FROM s"""
_CREATE = f"""WITH s AS (
    INSERT INTO tether_sessions (scope, session_id, subpath, project_key, parent, cutoff, length, leaf, mtime, seq,
        summary)
    VALUES (%s, %s, %s, %s, NULL, 0, %s, %s, {_NOW_MS}, nextval('tether_seq'), %s)
    ON CONFLICT DO NOTHING RETURNING id
), e AS (
    INSERT INTO tether_entries (session, pos, uh, n, data) SELECT s.id, t.pos, t.uh, t.n, t.data FROM s, {_ENTRY_ROWS}
) SELECT id, pg_notify(%s, '') FROM s"""
_CANDIDATES = "SELECT session, pos, n, data FROM tether_entries WHERE uh = %s"
_VIEW = """WITH RECURSIVE chain AS (
    SELECT id, parent, cutoff, length AS high, GREATEST(0, length - %(tail)s) AS start, ARRAY[id] AS path,
        leaf FROM tether_sessions
    WHERE scope = %(scope)s AND session_id = %(sid)s AND subpath = %(sub)s AND project_key = %(project)s AND NOT deleted
    UNION ALL
    SELECT s.id, s.parent, s.cutoff, LEAST(chain.high, chain.cutoff), chain.start, chain.path || s.id, NULL
    FROM tether_sessions AS s JOIN chain ON s.id = chain.parent
    WHERE LEAST(chain.high, chain.cutoff) > chain.start AND s.id <> ALL(chain.path)
) SELECT -1, json_build_array(id, high, leaf)::text FROM chain WHERE cardinality(path) = 1
UNION ALL SELECT e.pos, e.data FROM chain CROSS JOIN LATERAL (
    SELECT pos, data FROM tether_entries
    WHERE session = chain.id AND pos >= GREATEST(chain.cutoff, chain.start) AND pos < chain.high OFFSET 0
) AS e"""  # LATERAL + OFFSET 0: one index range scan per node, never a hash join over the whole table
_EVERYTHING = 1 << 62
_APPEND_RETRY = Retry(attempts=1000, step=0.0005)
_FORK_RETRY = Retry(attempts=100, step=0.001)
_SWAP_RETRY = Retry(attempts=100, step=0)  # the lease changed hands between two statements: swap again at once
_DEADLOCK_RETRY = Retry(attempts=5, step=0.01)
# Take the lease unless another owner holds it live: a row comes back only if it was written.
_SWAP_LEASE = """INSERT INTO tether_leases AS l (scope, project_key, session_id, owner, expires_at)
    VALUES (%(scope)s, %(project)s, %(sid)s, %(owner)s, %(expires)s)
    ON CONFLICT (scope, project_key, session_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE l.expires_at <= %(now)s OR l.owner = EXCLUDED.owner OR l.owner = %(take_from)s
    RETURNING 1"""
_LEASE_HOLDER = (
    "SELECT owner, expires_at FROM tether_leases WHERE scope = %(scope)s AND project_key = %(project)s"
    " AND session_id = %(sid)s"
)
# The leaf set by a load, unless an append came in since the read.
_REPAIR_LEAF = "UPDATE tether_sessions SET leaf = %s WHERE id = %s AND length = %s AND leaf IS NOT DISTINCT FROM %s"


class PostgresStore(PostgresBlobs, RowListing):
    """Sessions in PostgreSQL: copy-on-write forks, leaf checks in the write transaction, scopes.

    `conninfo` is a `postgresql://` URL or a libpq connection string; the pool (psycopg_pool,
    `min_size`..`max_size` connections) opens on first use, when the schema is created or
    migrated. Pass `pool=` to use a pool of your own (it must be created with `autocommit=True`
    connections; the store will not close it). `scope` limits every call to one tenant.
    Database and connection errors raise `StoreError`.
    """

    driver_errors = (psycopg.Error,)

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        scope: str | None = None,
        pool: AsyncConnectionPool[Any] | None = None,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5,
    ) -> None:
        if conninfo is None and pool is None:
            raise ConfigurationError("PostgresStore needs a connection URL or a pool")
        shown = redact_url(conninfo) if conninfo else "<pool>"
        if conninfo is not None:
            conninfo = bounded_conninfo(conninfo, shown, connect_timeout)
        self.scope = scope or ""
        self._shared = SharedPool(conninfo or "", shown, min_size, max_size, pool=pool, owns_pool=pool is None)
        self._damage = DamageLog()

    def __repr__(self) -> str:
        return f"PostgresStore({self._shared.shown!r}, scope={self.scope!r})"

    def with_scope(self, scope: str | None) -> PostgresStore:
        """A store over the same database and pool, limited to `scope`."""
        other = PostgresStore.__new__(PostgresStore)
        other.scope, other._shared, other._damage = scope or "", self._shared, self._damage
        return other

    async def _pool(self) -> AsyncConnectionPool[Any]:
        return await open_pool(self._shared)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        pool = await self._pool()
        async with pool.connection() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        pool = await self._pool()
        async with pool.connection() as conn:
            yield conn

    async def ensure_ready(self) -> None:
        """Connect and apply migrations now (otherwise done on first use)."""
        await self._pool()

    # -- writes ---------------------------------------------------------------------------------

    @guarded("append")
    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append entries in order, creating the session; `expected_leaf` is checked atomically with the write.

        The session row is read, the summary folded, and one statement updates the row only if
        its `length` is still the one read (every append changes it) and inserts the entries.
        A writer that lost the race reads again: with `expected_leaf` it then conflicts.
        """
        parts = key_parts(self.scope, key)
        texts = encode_entries(entries)
        if not entries and expected_leaf is None:
            return
        async with self._connection() as conn:
            append = functools.partial(_append_once, conn, parts, entries, texts, expected_leaf)
            await until_won(self, "append", parts.session_id, append, _APPEND_RETRY)

    @guarded("fork")
    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Branch `new_key` off `source_key` (cut after `at_uuid` if given) in O(1): nothing is copied."""
        source = key_parts(self.scope, source_key)
        target = key_parts(self.scope, new_key)
        async with self._connection() as conn:
            fork = functools.partial(_fork_once, conn, source, target, at_uuid)
            await until_won(self, "fork", source.session_id, fork, _FORK_RETRY)

    @guarded("delete")
    async def delete(self, key: SessionKey) -> None:
        """Delete a transcript (a main key also deletes its subpaths); forks of it stay whole.

        The rows are tombstoned (the id is free again at once) and their entries removed, except
        the prefix live forks still read, which goes when the last of them does.
        """
        parts = key_parts(self.scope, key)
        await _DEADLOCK_RETRY.run(functools.partial(self._delete_once, parts), _deadlocked)

    async def _delete_once(self, parts: KeyParts) -> None:
        """One try of `delete`, in one transaction (a deadlock with another deleter is tried again)."""
        async with self._transaction() as conn:
            if parts.is_main:
                rows = await _fetchall(
                    conn,
                    "SELECT id FROM tether_sessions WHERE scope = %s AND session_id = %s AND project_key = %s"
                    " AND NOT deleted ORDER BY id FOR UPDATE",
                    (parts.scope, parts.session_id, parts.project_key),
                )
            else:
                rows = await _fetchall(conn, _BY_KEY + " FOR UPDATE", _key_params(parts))
            for node_id, *_ in rows:
                await conn.execute(
                    "UPDATE tether_sessions SET deleted = true, leaf = NULL, summary = '{}' WHERE id = %s",
                    (node_id,),
                )
                await _collect(conn, node_id)
            if parts.is_main:
                await conn.execute(
                    "DELETE FROM tether_leases WHERE scope = %s AND project_key = %s AND session_id = %s",
                    (parts.scope, parts.project_key, parts.session_id),
                )

    @guarded("swap_lease")
    async def swap_lease(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> tuple[str, int] | None:
        """Set the session's turn lease to `(owner, expires_at_ms)` unless another owner holds it live
        (see `StoreAccess.swap_lease`), in one statement; returns that holder, else None."""
        parts = key_parts(self.scope, key)
        params = {
            "scope": parts.scope,
            "project": parts.project_key,
            "sid": parts.session_id,
            "owner": owner,
            "expires": int(expires_at_ms),
            "now": int(now_ms),
            "take_from": take_from,
        }
        async with self._connection() as conn:
            swap = functools.partial(_swap_lease_once, conn, params, owner, now_ms, take_from)
            return await until_won(self, "swap_lease", parts.session_id, swap, _SWAP_RETRY)

    @guarded("read_lease")
    async def read_lease(self, key: SessionKey) -> tuple[str, int] | None:
        """The session's turn lease as stored (live or not), without writing."""
        parts = key_parts(self.scope, key)
        params = {"scope": parts.scope, "project": parts.project_key, "sid": parts.session_id}
        async with self._connection() as conn:
            row = await _fetchone(conn, _LEASE_HOLDER, params)
        return None if row is None else (str(row[0]), int(row[1]))

    # -- reads ----------------------------------------------------------------------------------

    @guarded("load")
    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The session's view in append order (inherited history first), or None.

        Entries that cannot be read are skipped and logged (`find` counts them); a stored leaf
        that disagrees with the entries is set to theirs, so later writes do not conflict forever.
        """
        return await self._view(key_parts(self.scope, key), _EVERYTHING)

    @guarded("load_tail")
    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view, reading only those."""
        parts = key_parts(self.scope, key)
        limit = max(0, int(limit))
        if limit:
            return await self._view(parts, limit)
        async with self._connection() as conn:
            return None if await _fetchone(conn, _BY_KEY, _key_params(parts)) is None else []

    @guarded("load_texts")
    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        """The view as `load` reads it, undecoded: each entry's stored JSON text, and the stored leaf."""
        read = await self._view_texts(key_parts(self.scope, key), _EVERYTHING)
        return None if read is None else StoredTexts(read[1], read[0][2])

    async def _view(self, parts: KeyParts, tail: int) -> list[SessionStoreEntry] | None:
        read = await self._view_texts(parts, tail)
        if read is None:
            return None
        (node_id, length, leaf), texts = read
        entries = self._damage.entries(self, parts, texts)
        if tail == _EVERYTHING and leaf != leaf_from_end(entries):
            log.warning(
                "%r: session %r had the stored leaf %r, not its entries' %r: repaired",
                self,
                parts.session_id,
                leaf,
                leaf_from_end(entries),
            )
            async with self._connection() as conn:
                await conn.execute(
                    _REPAIR_LEAF,
                    (leaf_from_end(entries), node_id, length, leaf),
                )
        return entries

    async def _view_texts(self, parts: KeyParts, tail: int) -> tuple[tuple[Any, Any, Any], list[str]] | None:
        """`((node id, length, stored leaf), texts)` of the view (or of its last `tail` entries), or None."""
        params = {
            "scope": parts.scope,
            "sid": parts.session_id,
            "sub": parts.subpath,
            "project": parts.project_key,
            "tail": tail,
        }
        async with self._connection() as conn:
            rows = await _fetchall(conn, _VIEW, params)
        if not rows:
            return None
        rows.sort(key=operator.itemgetter(0))
        node_id, length, leaf = json.loads(rows[0][1])  # the session's own row comes first, at position -1
        return (node_id, length, leaf), [text for _, text in rows[1:]]

    @guarded("find")
    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """Where `session_id` lives (in `project_key` if it holds one, else the newest match), its leaf and summary."""
        session_id = validate_session_id(session_id)
        async with self._connection() as conn:
            row = await _fetchone(conn, _FIND, (self.scope, session_id, project_key))
        if row is None:
            return None
        key = SessionKey(project_key=row[7], session_id=row[8])
        skipped = self._damage.skipped(self.scope, row[7], session_id)
        return StoredSession(
            key=key, leaf=row[4], mtime=row[5], summary=decode_summary(row[6], session_id), skipped_entries=skipped
        )

    async def _listing(self, project_key: str | None, after: int | None, limit: int | None, columns: str) -> list[Any]:
        sql, params = listing_query(POSTGRES, columns, self.scope, project_key, after, limit)
        async with self._connection() as conn:
            return await _fetchall(conn, sql, params)

    @guarded("list_subkeys")
    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths stored under a session."""
        parts = key_parts(self.scope, SessionKey(project_key=key["project_key"], session_id=key["session_id"]))
        async with self._connection() as conn:
            rows = await _fetchall(
                conn,
                "SELECT subpath FROM tether_sessions WHERE scope = %s AND session_id = %s AND project_key = %s"
                " AND subpath <> '' AND NOT deleted ORDER BY subpath",
                (parts.scope, parts.session_id, parts.project_key),
            )
        return [r[0] for r in rows]

    @asynccontextmanager
    async def watch(self, key: SessionKey) -> AsyncIterator[_Notifications]:
        """The change notifications of `key`'s transcript: LISTEN on a connection of its own (one
        of the pool's when the store was given a pool), from now until the context ends."""
        parts = key_parts(self.scope, key)
        listen = psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel_of(parts)))
        async with contextlib.AsyncExitStack() as stack:
            try:
                if self._shared.conninfo:
                    conn = await psycopg.AsyncConnection.connect(self._shared.conninfo, autocommit=True)
                    stack.push_async_callback(conn.close)
                else:
                    conn = await stack.enter_async_context((await self._pool()).connection())
                    stack.push_async_callback(conn.execute, "UNLISTEN *")
                await conn.execute(listen)
            except psycopg.Error as exc:
                raise StoreError(repr(self), "watch", f"{type(exc).__name__}: {exc}") from exc
            yield _Notifications(self, conn)

    async def close(self) -> None:
        """Close the pool (shared with `with_scope` stores; reopened on next use). A pool passed in stays open."""
        shared = self._shared
        if shared.owns_pool and shared.pool is not None:
            pool, shared.pool = shared.pool, None
            if shared.finalizer is not None:
                shared.finalizer.detach()
            await pool.close()


class _Notifications:
    """The NOTIFYs one LISTENing connection receives (`PostgresStore.watch`)."""

    def __init__(self, store: PostgresStore, conn: psycopg.AsyncConnection[Any]) -> None:
        self._store, self._conn = store, conn

    async def wait(self, timeout: float) -> bool:
        """True once a notification came (at once if one came since the last call), else False after `timeout` s."""
        try:
            async with contextlib.aclosing(self._conn.notifies(timeout=max(0.0, timeout), stop_after=1)) as received:
                async for _ in received:
                    return True
        except psycopg.Error as exc:
            raise StoreError(repr(self._store), "watch", f"{type(exc).__name__}: {exc}") from exc
        return False


def channel_of(parts: KeyParts) -> str:
    """The NOTIFY channel of a transcript: a hash of its key (a channel name has at most 63 bytes)."""
    key = "\0".join((parts.scope, parts.project_key, parts.session_id, parts.subpath))
    return "tether_" + hashlib.sha256(key.encode()).hexdigest()[:40]


async def _fetchone(conn: psycopg.AsyncConnection[Any], sql: str, params: Any) -> Any:
    cursor = await conn.execute(sql, params)
    return await cursor.fetchone()


async def _fetchall(conn: psycopg.AsyncConnection[Any], sql: str, params: Any) -> list[Any]:
    cursor = await conn.execute(sql, params)
    return await cursor.fetchall()


def _key_params(parts: KeyParts) -> tuple[str, str, str, str]:
    return (parts.scope, parts.session_id, parts.subpath, parts.project_key)


async def _append_once(
    conn: psycopg.AsyncConnection[Any],
    parts: KeyParts,
    entries: list[SessionStoreEntry],
    texts: list[str],
    expected_leaf: str | None,
) -> None:
    """One try of `PostgresStore.append`: `LostRace` if another writer changed the session since it was read."""
    row = await _fetchone(conn, _BY_KEY, _key_params(parts))
    check_leaf(parts.session_id, expected_leaf, row[4] if row else None)
    if not entries:
        return
    if row is None:
        plan = plan_append(entries, texts, length=0, leaf=None, summary=None)
        rows = _columns(plan.rows)
        params = (*_key_params(parts), plan.length, plan.leaf, plan.summary_json, *rows, channel_of(parts))
        done = await _fetchone(conn, _CREATE, params)
    else:
        plan = plan_append(entries, texts, length=row[3], leaf=row[4], summary=decode_summary(row[6], row[8]))
        params = (plan.length, plan.leaf, plan.summary_json, row[0], row[3], *_columns(plan.rows), channel_of(parts))
        done = await _fetchone(conn, _UPDATE, params)
    if done is None:
        raise LostRace


async def _fork_once(
    conn: psycopg.AsyncConnection[Any], source: KeyParts, target: KeyParts, at_uuid: str | None
) -> None:
    """One try of `PostgresStore.fork`: `LostRace` if the source was deleted or replaced since it was read."""
    rows = await _fetchall(conn, _FORK_READ, _key_params(source))
    if not rows:
        raise SessionNotFoundError(source.session_id)
    chain = walk_chain(rows[0][0], [r[:4] for r in rows])
    summary = decode_summary(rows[0][5], source.session_id)
    if at_uuid is None:
        cut, leaf, count = chain[0].length, rows[0][4], message_count_of(summary)
    else:
        candidates = []
        if isinstance(at_uuid, str) and at_uuid:
            candidates = await _fetchall(conn, _CANDIDATES, (uuid_hash(at_uuid),))
        cut, count = _locate(candidates, chain, source.session_id, at_uuid)
        leaf = at_uuid
    parent = shortcut_parent(chain, cut)
    origin = {"sessionId": source.session_id, "messageUuid": leaf}
    params = (
        target.scope,
        target.project_key,
        target.session_id,
        target.subpath,
        parent.id,
        cut,
        cut,
        leaf,
        to_json(fork_summary(summary, forked_from=origin, message_count=count)),
        chain[0].id,
    )
    try:
        done = await _fetchone(conn, _FORK, params)
    except psycopg.errors.UniqueViolation:
        raise SessionExistsError(target.session_id) from None
    if done is None:
        raise LostRace


async def _swap_lease_once(
    conn: psycopg.AsyncConnection[Any], params: dict[str, Any], owner: str, now_ms: int, take_from: str | None
) -> tuple[str, int] | None:
    """One try of `PostgresStore.swap_lease`: `LostRace` if the holder gave it up between the two statements."""
    if await _fetchone(conn, _SWAP_LEASE, params) is not None:
        return None
    row = await _fetchone(conn, _LEASE_HOLDER, params)
    if row is not None and row[1] > now_ms and row[0] not in (owner, take_from):
        return str(row[0]), int(row[1])
    raise LostRace


def _deadlocked(error: Exception) -> bool:
    return isinstance(error, psycopg.errors.DeadlockDetected)


def _columns(rows: list[tuple[int, int | None, int | None, str]]) -> tuple[list[Any], ...]:
    """The rows of an append plan as four arrays (position, uuid hash, count, json) for `unnest`."""
    positions, hashes, counts, texts = (list(column) for column in zip(*rows, strict=True))
    return positions, hashes, counts, texts


def _locate(candidates: list[Any], chain: list[Node], session_id: str, at_uuid: str) -> tuple[int, int]:
    """The fork point of `at_uuid` (see `fork_point`), from the entries indexed under its hash."""
    exact = ((node_id, pos, count) for node_id, pos, count, text in candidates if uuid_of(text) == at_uuid)
    return fork_point(chain, exact, session_id, at_uuid)


async def _collect(conn: psycopg.AsyncConnection[Any], node_id: int | None) -> None:
    """Drop what deleted nodes no longer need, from `node_id` up its ancestry (locking each row; a cycle stops it)."""
    seen: set[int] = set()
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        row = await _fetchone(
            conn, "SELECT parent, cutoff, length, deleted FROM tether_sessions WHERE id = %s FOR UPDATE", (node_id,)
        )
        if row is None or not row[3]:
            return
        parent, cutoff, length, _ = row
        children = await _fetchall(
            conn, "SELECT deleted, length, cutoff FROM tether_sessions WHERE parent = %s", (node_id,)
        )
        if not children:
            await conn.execute("DELETE FROM tether_entries WHERE session = %s", (node_id,))
            await conn.execute("DELETE FROM tether_sessions WHERE id = %s", (node_id,))
        else:
            keep = gc_keep((bool(d), n, c) for d, n, c in children)
            if keep >= length:
                return
            await conn.execute(
                "DELETE FROM tether_entries WHERE session = %s AND pos >= %s", (node_id, max(keep, cutoff))
            )
            await conn.execute("UPDATE tether_sessions SET length = %s WHERE id = %s", (keep, node_id))
        node_id = parent


def from_url(url: StoreUrl) -> PostgresStore:
    """`postgresql://user:pass@host:5432/db` (`postgres://`), `?scope=NAME`; other parameters go to libpq."""
    return PostgresStore(url.without("scope"), scope=url.options.get("scope"))
