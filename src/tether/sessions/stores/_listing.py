"""Listing sessions kept as rows `(session_id, mtime, summary, project_key, seq)` (the SQL stores and
Redis): the `list_page` cursor of a listing position, and the listing entries of rows, damaged
rows logged and left out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tether._vocabulary.store import SessionStoreListEntry, SessionSummaryEntry
from tether.errors import ConfigurationError
from tether.sessions.stores._core import decode_summary, log

__all__ = ["decode_cursor", "encode_cursor", "listed", "listed_sessions", "readable_rows", "row_summary"]

_T = TypeVar("_T")


def encode_cursor(position: int) -> str:
    """An opaque `list_page` cursor: the listing position of the last item returned."""
    return f"p{position}"


def decode_cursor(cursor: str) -> int:
    """The listing position a cursor stands for; ConfigurationError for a string this store never gave."""
    if not isinstance(cursor, str) or not cursor.startswith("p") or not cursor[1:].isdigit():
        raise ConfigurationError(f"invalid list_page cursor {cursor!r}: pass back a next_cursor this store returned")
    return int(cursor[1:])


def listed(store: object, rows: Sequence[Any], build: Callable[[Any], _T]) -> list[_T]:
    """`build(row)` for each listing row `(session_id, mtime, ...)`; see `readable_rows` for damaged ones."""
    try:  # `build` reads the mtime with int(): it may be its text (Redis)
        out = [build(row) for row in rows if type(row[0]) is str]
        if len(out) == len(rows):
            return out
    except (TypeError, ValueError):
        pass
    return [build(row) for row in readable_rows(store, rows)]


def listed_sessions(store: object, rows: Sequence[Any]) -> list[SessionStoreListEntry]:
    """The `list_sessions` entries of listing rows `(session_id, mtime, ...)`, `mtime` an int or its
    text (Redis); see `readable_rows` for damaged rows."""
    try:
        out: list[SessionStoreListEntry] = [
            {"session_id": row[0], "mtime": int(row[1])} for row in rows if type(row[0]) is str
        ]
        if len(out) == len(rows):
            return out
    except (TypeError, ValueError):
        pass
    return [{"session_id": row[0], "mtime": row[1]} for row in readable_rows(store, rows)]


def readable_rows(store: object, rows: Sequence[Any]) -> list[Any]:
    """Listing rows `(session_id, mtime, ...)` with `mtime` an int; a row that cannot be is logged and left out."""
    out: list[Any] = []
    for row in rows:
        mtime = row[1]
        if not isinstance(mtime, int) or isinstance(mtime, bool):
            try:
                mtime = int(mtime)
            except (TypeError, ValueError):
                log.warning("%r: left out session %r of a listing: its mtime %r is not a number", store, row[0], mtime)
                continue
            row = (row[0], mtime, *row[2:])
        if not isinstance(row[0], str):
            log.warning("%r: left out a listing row whose session id is %r", store, row[0])
            continue
        out.append(row)
    return out


def row_summary(row: Sequence[Any]) -> SessionSummaryEntry:
    """A listing row `(session_id, mtime, summary JSON, project_key, ...)` as a summary entry."""
    return SessionSummaryEntry(
        session_id=row[0], mtime=int(row[1]), data=decode_summary(row[2], row[0]), project_key=row[3]
    )
