"""Connecting `PostgresStore` to its database: libpq's bounds on every connection, the pool its
`with_scope` stores share (opened on first use, closed if dropped unclosed), and the schema, versioned
in `tether_schema` and migrated on first use under an advisory lock."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import psycopg
import psycopg.conninfo
import psycopg.errors
from psycopg_pool import AsyncConnectionPool

from tether.errors import ConfigurationError

__all__ = ["SCHEMA_VERSION", "SharedPool", "bounded_conninfo", "open_pool", "scrub"]

_MIGRATIONS: list[tuple[str, ...]] = [
    (  # 1: sessions as nodes with copy-on-write parents, entries keyed by (node, position)
        """CREATE TABLE tether_sessions (
            id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            scope       TEXT    NOT NULL,
            project_key TEXT    NOT NULL,
            session_id  TEXT    NOT NULL,
            subpath     TEXT    NOT NULL,
            parent      BIGINT,
            cutoff      BIGINT  NOT NULL,
            length      BIGINT  NOT NULL,
            leaf        TEXT,
            mtime       BIGINT  NOT NULL,
            seq         BIGINT  NOT NULL,
            deleted     BOOLEAN NOT NULL DEFAULT false,
            summary     TEXT    NOT NULL
        )""",
        "CREATE UNIQUE INDEX tether_sessions_key ON tether_sessions (scope, session_id, subpath, project_key)"
        " WHERE NOT deleted",
        "CREATE UNIQUE INDEX tether_sessions_main ON tether_sessions (scope, session_id)"
        " WHERE NOT deleted AND subpath = ''",
        "CREATE INDEX tether_sessions_recent ON tether_sessions (scope, project_key, seq)"
        " WHERE NOT deleted AND subpath = ''",
        "CREATE INDEX tether_sessions_recent_all ON tether_sessions (scope, seq) WHERE NOT deleted AND subpath = ''",
        "CREATE INDEX tether_sessions_parent ON tether_sessions (parent) WHERE parent IS NOT NULL",
        "CREATE SEQUENCE tether_seq",
        """CREATE TABLE tether_entries (
            session BIGINT NOT NULL,
            pos     BIGINT NOT NULL,
            uh      BIGINT,
            n       BIGINT,
            data    TEXT   NOT NULL,
            PRIMARY KEY (session, pos)
        )""",
        "CREATE INDEX tether_entries_uuid ON tether_entries (uh) WHERE uh IS NOT NULL",
    ),
    (  # 2: a session is keyed by (project, id): one id may live in several projects
        "DROP INDEX tether_sessions_main",
        "CREATE INDEX tether_sessions_main ON tether_sessions (scope, session_id, seq)"
        " WHERE NOT deleted AND subpath = ''",
    ),
    (  # 3: each session's turn lease, one row rewritten in place
        """CREATE TABLE tether_leases (
            scope       TEXT   NOT NULL,
            project_key TEXT   NOT NULL,
            session_id  TEXT   NOT NULL,
            owner       TEXT   NOT NULL,
            expires_at  BIGINT NOT NULL,
            PRIMARY KEY (scope, project_key, session_id)
        )""",
        # the lease records older code kept under each session's subpath `tether/lease` (never forked)
        "DELETE FROM tether_entries WHERE session IN (SELECT id FROM tether_sessions WHERE subpath = 'tether/lease')",
        "DELETE FROM tether_sessions WHERE subpath = 'tether/lease'",
    ),
]
SCHEMA_VERSION = len(_MIGRATIONS)
"""The schema version this code writes; older databases are migrated on first use, newer ones refused."""

_LOCK_KEY = 0x7E7E_5E55_1095  # pg_advisory_xact_lock key of tether's schema migrations

_BOUNDS: dict[str, Any] = {
    # the server ends a statement or a lock wait that takes too long (the connection stays usable)
    "options": "-c statement_timeout=30000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=60000",
    # a server that stops answering (a partition, a proxy that hangs) is found by the socket too
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30000,
}
"""libpq settings of every connection, unless the URL sets them (tether's own deadline around
each call, `AgentOptions.store_timeout`, is usually the first to act)."""


@dataclass
class SharedPool:
    """What `with_scope` stores share: the connection string and the pool."""

    conninfo: str
    shown: str
    min_size: int
    max_size: int
    pool: AsyncConnectionPool[Any] | None = None
    owns_pool: bool = True
    ready: bool = False
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    finalizer: weakref.finalize[Any, Any] | None = None
    """Closes the pool once no store holds it, if nobody closed it (see `_close_abandoned`).."""


def bounded_conninfo(conninfo: str, shown: str, connect_timeout: float) -> str:
    """`conninfo` (a URL or a libpq string) checked, with `_BOUNDS` and `connect_timeout` added
    where it sets none; `ConfigurationError` naming the `shown` (redacted) URL if it is invalid."""
    try:
        if "://" in conninfo:
            urlsplit(conninfo).port  # noqa: B018 - libpq checks the port only when connecting
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except (psycopg.Error, ValueError) as exc:
        raise ConfigurationError(f"invalid PostgreSQL URL {shown!r}: {scrub(exc, conninfo)}") from None
    bounds = {**_BOUNDS, "connect_timeout": max(1, round(connect_timeout))}
    return psycopg.conninfo.make_conninfo(conninfo, **{k: v for k, v in bounds.items() if k not in params})


async def open_pool(shared: SharedPool) -> AsyncConnectionPool[Any]:
    """The pool of `shared`, opened (and the schema migrated) on first use."""
    if shared.ready and shared.pool is not None:
        return shared.pool
    async with shared.lock:
        if shared.ready and shared.pool is not None:
            return shared.pool
        if shared.pool is None:
            try:
                conn = await psycopg.AsyncConnection.connect(shared.conninfo, autocommit=True)
            except psycopg.Error as exc:
                raise ConfigurationError(
                    f"cannot connect to the session store {shared.shown!r}: {scrub(exc, shared.conninfo)}"
                ) from None
            async with conn:
                await _migrate(conn, shared.shown)
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                shared.conninfo,
                min_size=shared.min_size,
                max_size=shared.max_size,
                kwargs={"autocommit": True},
                open=False,
            )
            try:
                await pool.open(wait=True, timeout=30)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await pool.close()
                raise
            shared.pool = pool
            shared.finalizer = weakref.finalize(shared, _close_abandoned, pool)
        else:  # a pool of the caller's
            async with shared.pool.connection() as conn:
                await _migrate(conn, shared.shown)
        shared.ready = True
        return shared.pool


_CLOSING: set[asyncio.Task[None]] = set()


def _close_abandoned(pool: AsyncConnectionPool[Any]) -> None:
    """Close the pool of stores that were dropped unclosed (the SDK's conformance suite makes a
    store per contract and closes none): left to the garbage collector, its worker tasks would be
    destroyed pending and its connections kept until exit."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop runs here any more: the pool's own finaliser stops its workers
        return

    async def close() -> None:
        with contextlib.suppress(Exception):
            await pool.close()

    task = loop.create_task(close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


async def _migrate(conn: psycopg.AsyncConnection[Any], shown: str) -> None:
    """Bring the schema to `SCHEMA_VERSION` in one transaction, under an advisory lock."""
    try:
        row = await (await conn.execute("SELECT version FROM tether_schema")).fetchone()
        if row is not None and row[0] == SCHEMA_VERSION:
            return
    except psycopg.errors.UndefinedTable:
        pass
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute("CREATE TABLE IF NOT EXISTS tether_schema (version INTEGER NOT NULL)")
        row = await (await conn.execute("SELECT version FROM tether_schema")).fetchone()
        version = row[0] if row else 0
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the session store {shown!r} has schema version {version}, newer than this tether understands "
                f"({SCHEMA_VERSION}); upgrade tether"
            )
        for statements in _MIGRATIONS[version:]:
            for statement in statements:
                await conn.execute(statement)
        if row is None:
            await conn.execute("INSERT INTO tether_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
        else:
            await conn.execute("UPDATE tether_schema SET version = %s", (SCHEMA_VERSION,))


def scrub(error: BaseException, conninfo: str) -> str:
    """An error message with any password of `conninfo` removed."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    try:
        password = psycopg.conninfo.conninfo_to_dict(conninfo).get("password")
    except psycopg.Error:
        password = None
    if isinstance(password, str) and password:
        message = message.replace(password, "***")
    return message
