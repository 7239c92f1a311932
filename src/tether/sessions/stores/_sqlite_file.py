"""The SQLite store's file: its schema and migrations, connections and transactions.

The store itself is `tether.sessions.stores.sqlite`."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tether.errors import ConfigurationError
from tether.sessions.stores._core import (
    DamageLog,
    private_dir,
)
from tether.sessions.stores._retry import Retry

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Backend",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "default_sqlite_path",
    "file_id",
    "locked",
    "migrate",
    "read_txn",
    "retry_locked",
    "set_wal",
    "write_txn",
]

MIGRATIONS: list[tuple[str, ...]] = [
    (  # 1: sessions as nodes with copy-on-write parents, entries keyed by (node, position)
        """CREATE TABLE tether_sessions (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            scope       TEXT    NOT NULL,
            project_key TEXT    NOT NULL,
            session_id  TEXT    NOT NULL,
            subpath     TEXT    NOT NULL,
            parent      INTEGER,
            cutoff      INTEGER NOT NULL,
            length      INTEGER NOT NULL,
            leaf        TEXT,
            mtime       INTEGER NOT NULL,
            seq         INTEGER NOT NULL,
            deleted     INTEGER NOT NULL DEFAULT 0,
            summary     TEXT    NOT NULL
        )""",
        "CREATE UNIQUE INDEX tether_sessions_key ON tether_sessions (scope, session_id, subpath, project_key)"
        " WHERE deleted = 0",
        "CREATE UNIQUE INDEX tether_sessions_main ON tether_sessions (scope, session_id)"
        " WHERE deleted = 0 AND subpath = ''",
        "CREATE INDEX tether_sessions_recent ON tether_sessions (scope, project_key, seq)"
        " WHERE deleted = 0 AND subpath = ''",
        "CREATE INDEX tether_sessions_recent_all ON tether_sessions (scope, seq) WHERE deleted = 0 AND subpath = ''",
        "CREATE INDEX tether_sessions_parent ON tether_sessions (parent) WHERE parent IS NOT NULL",
        "CREATE TABLE tether_entries (id INTEGER PRIMARY KEY, uh INTEGER, n INTEGER, data TEXT NOT NULL)",
        "CREATE INDEX tether_entries_uuid ON tether_entries (uh) WHERE uh IS NOT NULL",
    ),
    (  # 2: a session is keyed by (project, id): one id may live in several projects
        "DROP INDEX tether_sessions_main",
        "CREATE INDEX tether_sessions_main ON tether_sessions (scope, session_id, seq)"
        " WHERE deleted = 0 AND subpath = ''",
    ),
    (  # 3: each session's turn lease, one row rewritten in place
        """CREATE TABLE tether_leases (
            scope       TEXT    NOT NULL,
            project_key TEXT    NOT NULL,
            session_id  TEXT    NOT NULL,
            owner       TEXT    NOT NULL,
            expires_at  INTEGER NOT NULL,
            PRIMARY KEY (scope, project_key, session_id)
        ) WITHOUT ROWID""",
        # the lease records older code kept under each session's subpath `tether/lease` (never forked)
        "DELETE FROM tether_entries WHERE id IN (SELECT e.id FROM tether_sessions AS s JOIN tether_entries AS e"
        " ON e.id >= s.id << 32 AND e.id < (s.id + 1) << 32 WHERE s.subpath = 'tether/lease')",
        "DELETE FROM tether_sessions WHERE subpath = 'tether/lease'",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes; older files are migrated on first use, newer ones refused."""

BUSY_TIMEOUT_MS = 30_000


def default_sqlite_path(env: Mapping[str, str] | None = None) -> Path:
    """`$TETHER_HOME/sessions.db`, else `~/.tether/sessions.db`."""
    environ = os.environ if env is None else env
    home = environ.get("TETHER_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".tether") / "sessions.db"


class Backend:
    """One database file: a writer connection used inline, and pooled reader connections for threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._generation = 0
        self._file_id: tuple[int, int] | None = None
        self.damage = DamageLog()

    def _open(self) -> sqlite3.Connection:
        try:
            if not self.path.exists():
                private_dir(self.path.parent)
                # transcripts are private; SQLite creates the -wal and -shm files with the same mode
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot open the SQLite session store {str(self.path)!r}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            retry_locked(lambda: set_wal(conn))
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ConfigurationError(f"cannot use {str(self.path)!r} as a SQLite session store: {exc}") from exc
        return conn

    def writer(self) -> sqlite3.Connection:
        """The shared connection (call with `lock` held); opened and migrated on first use."""
        if self._conn is None:
            conn = self._open()
            try:
                migrate(conn, self.path)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._file_id = file_id(self.path)
        return self._conn

    def file_replaced(self) -> bool:
        """Whether the file was deleted or replaced since the connections were opened on it."""
        with self.lock:
            return self._conn is not None and file_id(self.path) != self._file_id

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A connection of the read pool, for use in one worker thread."""
        with self.lock:
            self.writer()  # the schema exists before anyone reads
            generation = self._generation
        with self._readers_lock:
            conn = self._readers.pop() if self._readers else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            with self._readers_lock:
                if generation == self._generation and len(self._readers) < 8:
                    self._readers.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def close(self) -> None:
        with self.lock, self._readers_lock:
            self._generation += 1
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def file_id(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def set_wal(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def retry_locked(action: Any, attempts: int = 50) -> None:
    """Run `action`, retrying while another process holds a lock SQLite does not wait for."""
    Retry(attempts, step=0.01, cap=0.5).run_blocking(action, locked)


def locked(error: Exception) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to `SCHEMA_VERSION` in one transaction (safe with concurrent openers)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the session store {str(path)!r} has schema version {version}, newer than this tether "
            f"understands ({SCHEMA_VERSION}); upgrade tether"
        )
    with write_txn(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def write_txn(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # the body failed, or the COMMIT did: the connection is left clean
            conn.execute("ROLLBACK")
        raise


@contextmanager
def read_txn(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")
