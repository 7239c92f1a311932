"""What the persistent stores (SQLite, PostgreSQL, Redis) share: the data model and its pure logic.

Every persistent store keeps one *node* per transcript (session or subpath) and one row per
entry. A node records `(parent, cutoff)`: its view is the first `cutoff` entries of the parent's
view followed by its own entries. Entry positions are positions in the view, so a node's own
entries sit at `cutoff .. length - 1` and a fork copies nothing. Loading walks the ancestry and
reads one contiguous range per node (`view_segments`).

Deleting tombstones a node (its key is free again at once) and trims what no live descendant
needs (`gc_keep`); a node nobody needs any more disappears with its entries.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import msgspec

from tether.errors import ConfigurationError, EntryNotFoundError, SessionConflictError
from tether.sessions.keys import validate_session_id
from tether.sessions.store import (
    NO_LEAF,
    SessionKey,
    SessionPage,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.sessions.summary import add_sdk_keys, fold_summary

__all__ = [
    "AppendPlan",
    "KeyParts",
    "Node",
    "check_leaf",
    "decode_cursor",
    "decode_entries",
    "encode_cursor",
    "encode_entries",
    "fork_point",
    "gc_keep",
    "key_parts",
    "now_ms",
    "page_after",
    "plan_append",
    "quote_part",
    "redact_url",
    "row_summary",
    "shortcut_parent",
    "to_json",
    "uuid_hash",
    "view_segments",
]

_DECODER = msgspec.json.Decoder()
"""Decodes stored entries about twice as fast as `json.loads`, to the same values."""


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (the `mtime` of listings)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class KeyParts:
    """A validated key: scope, project, session id and subpath (`""` for the main transcript)."""

    scope: str
    project_key: str
    session_id: str
    subpath: str

    @property
    def is_main(self) -> bool:
        """True for a session's main transcript."""
        return not self.subpath


def key_parts(scope: str, key: SessionKey) -> KeyParts:
    """Validate `key` (session id, project key and subpath types) and split it."""
    project_key = key["project_key"]
    subpath = key.get("subpath") or ""
    if not isinstance(project_key, str):
        raise TypeError(f"project_key must be a string, not {type(project_key).__name__}")
    if not isinstance(subpath, str):
        raise TypeError(f"subpath must be a string, not {type(subpath).__name__}")
    return KeyParts(scope, project_key, validate_session_id(key["session_id"]), subpath)


def encode_entries(entries: Sequence[SessionStoreEntry]) -> list[str]:
    """Compact JSON text of each entry; raises TypeError for anything that is not a JSON object."""
    if not isinstance(entries, (list, tuple)):
        raise TypeError(f"entries must be a list of dicts, not {type(entries).__name__}")
    texts: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise TypeError(f"entry {index} is a {type(entry).__name__}; session entries must be dicts")
        uuid = entry.get("uuid")
        if uuid is not None and not isinstance(uuid, str):
            raise TypeError(f"entry {index} has a non-string uuid {uuid!r}")
        try:
            texts.append(to_json(entry))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"entry {index} cannot be stored as JSON: {exc}") from exc
    return texts


def to_json(value: Any) -> str:
    """Compact JSON text that encodes to UTF-8 (lone surrogates stay `\\u` escapes)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text


def decode_entries(texts: Sequence[str] | Sequence[bytes]) -> list[SessionStoreEntry]:
    """The entries of stored JSON texts, in order.

    msgspec decodes standard JSON exactly as `json.loads` does (integers of any size included); the
    few texts it refuses, which `to_json` can write (NaN and infinities, lone surrogate escapes),
    go to `json.loads`.
    """
    decode = _DECODER.decode
    out: list[SessionStoreEntry] = []
    for text in texts:
        try:
            out.append(decode(text))
        except msgspec.DecodeError:
            out.append(json.loads(text))
    return out


def uuid_hash(uuid: str) -> int:
    """A stable signed 64-bit hash of an entry uuid (indexed to find fork points)."""
    return int.from_bytes(
        hashlib.blake2b(uuid.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big", signed=True
    )


def check_leaf(session_id: str, expected_leaf: str | None, actual_leaf: str | None) -> None:
    """Raise `SessionConflictError` unless the session's leaf is `expected_leaf` (None: no check)."""
    if expected_leaf is not None and (actual_leaf or NO_LEAF) != expected_leaf:
        raise SessionConflictError(session_id, expected_leaf or None, actual_leaf)


@dataclass
class AppendPlan:
    """The rows and node state an append writes."""

    rows: list[tuple[int, int | None, int | None, str]]
    """`(position, uuid hash, running uuid count, json)` per entry."""
    leaf: str | None
    length: int
    summary: dict[str, Any]

    @property
    def summary_json(self) -> str:
        """The summary as stored."""
        return to_json(self.summary)


def plan_append(
    entries: Sequence[SessionStoreEntry],
    texts: Sequence[str],
    *,
    length: int,
    leaf: str | None,
    summary: dict[str, Any] | None,
) -> AppendPlan:
    """What appending `entries` (encoded as `texts`) to a node of `length` entries writes."""
    count = int((summary or {}).get("message_count", 0))
    rows: list[tuple[int, int | None, int | None, str]] = []
    for offset, (entry, text) in enumerate(zip(entries, texts, strict=True)):
        uuid = entry.get("uuid")
        if uuid:
            count += 1
            rows.append((length + offset, uuid_hash(uuid), count, text))
            if not entry.get("isSidechain"):
                leaf = uuid
        else:
            rows.append((length + offset, None, None, text))
    return AppendPlan(rows, leaf, length + len(rows), fold_summary(summary, list(entries)))


@dataclass(frozen=True)
class Node:
    """A stored transcript as the view logic needs it."""

    id: int
    parent: int | None
    cutoff: int
    length: int


def view_segments(chain: Sequence[Node], start: int = 0) -> list[tuple[int, int, int]]:
    """`(node id, low, high)` position ranges that make up the view, root first.

    `chain` is the node followed by its ancestors (nearest first); only positions `>= start` are
    returned (for tail loading).
    """
    segments: list[tuple[int, int, int]] = []
    high = chain[0].length if chain else 0
    for node in chain:
        low = max(node.cutoff, start)
        if high > low:
            segments.append((node.id, low, high))
        high = min(high, node.cutoff)
        if high <= start:
            break
    segments.reverse()
    return segments


def shortcut_parent(chain: Sequence[Node], cut: int) -> Node:
    """The nearest node of `chain` whose own entries reach position `cut - 1` (the fork's parent).

    A fork cut inside inherited history hangs from the ancestor that holds it, which keeps chains
    short and lets a deleted source be collected.
    """
    for node in chain:
        if cut > node.cutoff or node.parent is None:
            return node
    return chain[-1]


def fork_point(
    chain: Sequence[Node], candidates: Iterable[tuple[int, int, int]], session_id: str, at_uuid: str
) -> tuple[int, int]:
    """`(position + 1, running uuid count)` of the last entry `at_uuid` in the view of `chain`.

    `candidates` are `(node id, position, running count)` of the stored entries whose uuid is
    `at_uuid` (in any node); those outside the view are ignored. `EntryNotFoundError` if none is in it.
    """
    segments = view_segments(chain)
    best: tuple[int, int] | None = None
    for node_id, position, count in candidates:
        inside = any(node_id == node and low <= position < high for node, low, high in segments)
        if inside and (best is None or position >= best[0]):
            best = (position + 1, count)
    if best is None:
        raise EntryNotFoundError(session_id, str(at_uuid))
    return best


def gc_keep(children: Iterable[tuple[bool, int, int]]) -> int:
    """How many view positions a deleted node must keep for its children `(deleted, length, cutoff)`."""
    keep = 0
    for deleted, length, cutoff in children:
        keep = max(keep, min(length, cutoff) if deleted else cutoff)
    return keep


def encode_cursor(position: int) -> str:
    """An opaque `list_page` cursor: the listing position of the last item returned."""
    return f"p{position}"


def decode_cursor(cursor: str) -> int:
    """The listing position a cursor stands for; ConfigurationError for a string this store never gave."""
    if not isinstance(cursor, str) or not cursor.startswith("p") or not cursor[1:].isdigit():
        raise ConfigurationError(f"invalid list_page cursor {cursor!r}: pass back a next_cursor this store returned")
    return int(cursor[1:])


_T = TypeVar("_T")
Position = tuple[int, str, str]
"""Where a session sits in a listing newest first: `(mtime, session id, project key)`."""


def page_after(
    rows: Sequence[_T], position: Callable[[_T], Position], limit: int, cursor: str | None
) -> tuple[list[_T], str | None]:
    """One page of `rows` (sorted newest first by `position`) after `cursor`, and the next page's cursor.

    For stores that list in memory; the cursor is the position of the last row returned.
    """
    start = 0
    if cursor:
        after = _decode_position(cursor)
        start = next((i for i, row in enumerate(rows) if position(row) < after), len(rows))
    page = list(rows[start : start + max(1, int(limit))])
    if not page or start + len(page) >= len(rows):
        return page, None
    mtime, session_id, project_key = position(page[-1])
    return page, f"{mtime}:{session_id}:{quote_part(project_key)}"


def _decode_position(cursor: str) -> Position:
    mtime, _, rest = cursor.partition(":")
    session_id, _, project_key = rest.partition(":")
    if not mtime.isdigit() or not session_id:
        raise ConfigurationError(f"invalid list_page cursor {cursor!r}: pass back a next_cursor this store returned")
    return int(mtime), session_id, unquote(project_key)


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***` (in the authority and in a `password=` query)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, hostinfo = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:***@{hostinfo}"
        query = "&".join(
            f"{name}=***" if name.lower() == "password" else f"{name}{sep}{value}"
            for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return url.split("://", 1)[0] + "://***"


def quote_part(text: str) -> str:
    """`text` percent-encoded so it can sit between `:` separators of a key name."""
    return quote(text, safe="")


class RowListing:
    """Listing for stores that keep sessions as rows: subclasses implement `_listing` only.

    `_listing(project_key, after, limit, columns)` returns the rows of live main sessions of the
    store's scope (of `project_key` unless None), newest first, with `seq < after` when `after`
    is set, at most `limit`, selecting `columns` from `session_id, mtime, summary, project_key, seq`.
    """

    async def _listing(self, project_key: str | None, after: int | None, limit: int | None, columns: str) -> list[Any]:
        raise NotImplementedError

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """Every session of the project, newest first."""
        rows = await self._listing(project_key, None, None, "session_id, mtime")
        return [SessionStoreListEntry(session_id=r[0], mtime=r[1]) for r in rows]

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """Every session's summary in the project, newest first."""
        rows = await self._listing(project_key, None, None, "session_id, mtime, summary, project_key")
        return [row_summary(r, sdk=True) for r in rows]

    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first (all projects when `project_key` is None), `limit` at a time."""
        limit = max(1, int(limit))
        after = decode_cursor(cursor) if cursor else None
        rows = await self._listing(project_key, after, limit + 1, "session_id, mtime, summary, project_key, seq")
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1][4]) if len(rows) > limit else None
        return SessionPage(items=[row_summary(r) for r in page], next_cursor=next_cursor)


def row_summary(row: Sequence[Any], *, sdk: bool = False) -> SessionSummaryEntry:
    """A listing row `(session_id, mtime, summary JSON, project_key, ...)` as a summary entry (SDK keys if `sdk`)."""
    data = json.loads(row[2])
    return SessionSummaryEntry(
        session_id=row[0], mtime=int(row[1]), data=add_sdk_keys(data) if sdk else data, project_key=row[3]
    )
