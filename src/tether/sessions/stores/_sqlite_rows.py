"""The SQLite store's rows: the statements that read them, and the helpers over node rows.

The store itself is `tether.sessions.stores.sqlite` (its module doc describes the schema)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tether._vocabulary.store import SessionKey
from tether.sessions.store import StoredSession
from tether.sessions.stores._core import Node, as_int, decode_summary, gc_keep, walk_chain

__all__ = [
    "BY_KEY",
    "CHAIN",
    "FOR_APPEND",
    "LEASE_HOLDER",
    "MAX_POSITION",
    "NEWEST",
    "NEWEST_SEQ",
    "NODE_COLUMNS",
    "RANGE",
    "SET_LEASE",
    "SHIFT",
    "collect_deleted",
    "next_seq",
    "node_chain",
    "read_texts",
    "stored_session",
]

SHIFT = 32
MAX_POSITION = (1 << SHIFT) - 1

NODE_COLUMNS = "id, parent, cutoff, length, leaf, mtime, summary, project_key, session_id"
_KEY_MATCH = "scope = ? AND session_id = ? AND subpath = (? || '') AND project_key = ? AND deleted = 0"
"""A live row by key. `subpath` is compared with an expression, not the bare parameter: SQLite checks
a bare `subpath = ?` against the partial indexes' `subpath = ''` with the bound value, and so
prepares the statement again whenever the value is bound anew (10-15 us of every read and append)."""
BY_KEY = f"SELECT {NODE_COLUMNS} FROM tether_sessions WHERE {_KEY_MATCH}"
NEWEST_SEQ = "SELECT max(seq) FROM tether_sessions WHERE scope = ? AND deleted = 0 AND subpath = ''"
FOR_APPEND = f"SELECT {NODE_COLUMNS}, seq, ({NEWEST_SEQ}) FROM tether_sessions WHERE {_KEY_MATCH}"
"""`BY_KEY` with the row's listing position `seq` and the scope's newest: parameters `(scope, *BY_KEY's)`."""
NEWEST = (
    f"SELECT {NODE_COLUMNS} FROM tether_sessions WHERE scope = ? AND session_id = ? AND subpath = '' AND deleted = 0"
    " ORDER BY seq DESC LIMIT 1"
)
CHAIN = """WITH RECURSIVE chain(id, parent, cutoff, length, path) AS (
    SELECT id, parent, cutoff, length, ',' || id || ',' FROM tether_sessions WHERE id = ?
    UNION ALL
    SELECT s.id, s.parent, s.cutoff, s.length, chain.path || s.id || ','
    FROM tether_sessions AS s JOIN chain ON s.id = chain.parent
    WHERE instr(chain.path, ',' || s.id || ',') = 0
) SELECT id, parent, cutoff, length FROM chain"""
"""A node and its ancestors; the path stops a chain written with a cycle (`walk_chain` orders it)."""
RANGE = "SELECT CAST(data AS BLOB) FROM tether_entries WHERE id >= ? AND id < ? ORDER BY id"
"""Entry texts as their UTF-8 bytes, which msgspec reads as they are: a `str` costs a decode of the
UTF-8 to make and, unless it is ASCII, an encode back to read (a third of a non-ASCII load)."""
LEASE_HOLDER = "SELECT owner, expires_at FROM tether_leases WHERE scope = ? AND project_key = ? AND session_id = ?"
SET_LEASE = (
    "INSERT INTO tether_leases (scope, project_key, session_id, owner, expires_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (scope, project_key, session_id)"
    " DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
)


def next_seq(conn: sqlite3.Connection, scope: str) -> int:
    """The next listing position of the scope (writes are serialised, so this is race-free)."""
    row = conn.execute(NEWEST_SEQ, (scope,)).fetchone()
    return int(row[0] or 0) + 1


def node_chain(conn: sqlite3.Connection, row: Sequence[Any]) -> list[Node]:
    """The node of `row` and its ancestors, nearest first (a cycle is cut: see `walk_chain`)."""
    if row[1] is None:
        return [Node(row[0], None, as_int(row[2], "a cutoff"), as_int(row[3], "a length"))]
    return walk_chain(row[0], conn.execute(CHAIN, (row[0],)).fetchall())


def read_texts(conn: sqlite3.Connection, segments: list[tuple[int, int, int]]) -> list[bytes]:
    """The stored texts of the view's `segments` (see `view_segments`), in order."""
    texts: list[bytes] = []
    for node_id, low, high in segments:
        base = node_id << SHIFT
        texts.extend(text for (text,) in conn.execute(RANGE, (base + low, base + high)))
    return texts


def stored_session(row: Sequence[Any], skipped: int) -> StoredSession:
    key = SessionKey(project_key=row[7], session_id=row[8])
    return StoredSession(
        key=key,
        leaf=row[4] if isinstance(row[4], str) else None,
        mtime=as_int(row[5], f"the mtime of session {row[8]!r}"),
        summary=decode_summary(row[6], row[8]),
        skipped_entries=skipped,
    )


def collect_deleted(conn: sqlite3.Connection, node_id: int | None) -> None:
    """Drop what deleted nodes no longer need, from `node_id` up its ancestry (a cycle stops it)."""
    seen: set[int] = set()
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        row = conn.execute(
            "SELECT parent, cutoff, length, deleted FROM tether_sessions WHERE id = ?", (node_id,)
        ).fetchone()
        if row is None or not row[3]:
            return
        parent, cutoff, length, _ = row
        children = conn.execute(
            "SELECT deleted, length, cutoff FROM tether_sessions WHERE parent = ?", (node_id,)
        ).fetchall()
        base = node_id << SHIFT
        if not children:
            conn.execute("DELETE FROM tether_entries WHERE id >= ? AND id < ?", (base, base + MAX_POSITION + 1))
            conn.execute("DELETE FROM tether_sessions WHERE id = ?", (node_id,))
        else:
            keep = gc_keep((bool(d), n, c) for d, n, c in children)
            if keep >= length:
                return
            conn.execute(
                "DELETE FROM tether_entries WHERE id >= ? AND id < ?", (base + max(keep, cutoff), base + length)
            )
            conn.execute("UPDATE tether_sessions SET length = ? WHERE id = ?", (keep, node_id))
        node_id = parent
