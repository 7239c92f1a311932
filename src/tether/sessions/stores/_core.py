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

import contextlib
import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import msgspec

from tether._vocabulary.store import SessionKey, SessionStoreEntry
from tether.errors import ConfigurationError, EntryNotFoundError, SessionConflictError, StoreError
from tether.sessions.keys import validate_session_id
from tether.sessions.store import NO_LEAF
from tether.sessions.summary import current_summary, fold_summary

__all__ = [
    "AppendPlan",
    "DamageLog",
    "DamagedData",
    "GuardedStore",
    "KeyParts",
    "Node",
    "as_int",
    "check_leaf",
    "decode_entries",
    "decode_json",
    "decode_position",
    "decode_summary",
    "encode_entries",
    "fork_point",
    "gc_keep",
    "guarded",
    "key_parts",
    "leaf_from_end",
    "message_count_of",
    "now_ms",
    "page_after",
    "plan_append",
    "private_dir",
    "quote_part",
    "redact_url",
    "shortcut_parent",
    "to_json",
    "uuid_hash",
    "uuid_of",
    "view_segments",
    "walk_chain",
]

log = logging.getLogger("tether.sessions.stores")
"""Where stores report damaged data they skipped (a warning per read that met some)."""

_DECODER = msgspec.json.Decoder()
"""Decodes stored entries and summaries two to four times as fast as `json.loads`, to the same values."""
_ENCODER = msgspec.json.Encoder()


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
    """Compact JSON text that encodes to UTF-8 (lone surrogates stay `\\u` escapes).

    msgspec writes it when the text decodes back equal to `value` (under half of `json.dumps`'s time,
    the check included); anything it writes otherwise (NaN as null, a datetime as a string, a tuple
    or a set as a list...) and anything it refuses goes to `json.dumps`, which decides as before.
    The two texts differ only in how some floats are spelled (`1e16` for `1e+16`), never in value.
    """
    try:
        data = _ENCODER.encode(value)
        if _DECODER.decode(data) == value:
            return data.decode()
    except Exception:  # whatever msgspec refuses, json.dumps judges
        pass
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text


def decode_entries(texts: Sequence[str | bytes]) -> tuple[list[SessionStoreEntry], list[str]]:
    """The entries of stored JSON texts, in order, and why each text that is not one was skipped.

    msgspec decodes standard JSON exactly as `json.loads` does (integers of any size included); the
    few texts it refuses, which `to_json` can write (NaN and infinities, lone surrogate escapes),
    go to `json.loads`. A text that is not JSON, nests too deeply, is not an object or has a uuid
    that is not a string (written by something else) is skipped, and the reason given, so one bad
    row hides nothing else. A text reads the same as a `str` and as its UTF-8 bytes (bytes that are
    not UTF-8 are skipped too).
    """
    decode = _DECODER.decode
    out: list[SessionStoreEntry] = []
    skipped: list[str] = []
    for text in texts:
        try:
            value = decode(text)
        except (msgspec.DecodeError, RecursionError):
            value = _decode_or_reason(text)
        if type(value) is dict and type(value.get("uuid")) in _UUID_TYPES:
            out.append(value)
        else:
            skipped.append(f"entry {len(out) + len(skipped)}: {_why_unusable(value)}")
    return out, skipped


_UUID_TYPES = (str, type(None))
"""An entry's uuid is a string, or absent (metadata entries)."""


class _Unreadable(str):
    """Why a stored text could not be decoded."""


def _decode_or_reason(text: str | bytes) -> Any:
    try:
        return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)  # no BOM sniffing for bytes
    except (ValueError, TypeError, RecursionError) as exc:
        return _Unreadable(f"not readable as JSON ({type(exc).__name__}: {str(exc)[:80]})")


def _why_unusable(value: Any) -> str:
    if isinstance(value, _Unreadable):
        return value
    if isinstance(value, dict):
        return f"its uuid is {value.get('uuid')!r}, not a string"
    return f"a JSON {type(value).__name__}, not an object"


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
    count = message_count_of(summary)
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
        after = decode_position(cursor)
        start = next((i for i, row in enumerate(rows) if position(row) < after), len(rows))
    page = list(rows[start : start + max(1, int(limit))])
    if not page or start + len(page) >= len(rows):
        return page, None
    mtime, session_id, project_key = position(page[-1])
    return page, f"{mtime}:{session_id}:{quote_part(project_key)}"


def decode_position(cursor: str) -> Position:
    """The listing position a `page_after` cursor stands for; ConfigurationError for any other string."""
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
        if netloc == parts.netloc and query == parts.query:
            return url  # nothing to hide (and urlunsplit would drop the empty authority of sqlite:///x)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return url.split("://", 1)[0] + "://***"


def quote_part(text: str) -> str:
    """`text` percent-encoded so it can sit between `:` separators of a key name."""
    return quote(text, safe="")


class GuardedStore:
    """A store whose driver errors become `StoreError`s: subclasses name the driver's exception classes."""

    driver_errors: tuple[type[BaseException], ...] = ()


_S = TypeVar("_S", bound=GuardedStore)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def guarded(
    operation: str,
) -> Callable[
    [Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]], Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]
]:
    """Make a store method raise `StoreError` (naming the store and `operation`) for a driver
    error or damaged data, instead of the driver's own exception."""

    def wrap(
        method: Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]],
    ) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]:
        @functools.wraps(method)
        async def run(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return await method(self, *args, **kwargs)
            except DamagedData as exc:
                raise StoreError(repr(self), operation, f"damaged data: {exc}") from exc
            except self.driver_errors as exc:
                raise StoreError(repr(self), operation, f"{type(exc).__name__}: {_first_line(exc)}") from exc

        return run

    return wrap


def decode_json(text: str | bytes) -> Any:
    """The value of a JSON text this package stored (msgspec, else `json.loads`: see `decode_entries`)."""
    try:
        return _DECODER.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(text)


def decode_summary(text: str | bytes | None, session_id: str = "?") -> dict[str, Any]:
    """A stored summary JSON text as a dict in the current form (see `tether.sessions.summary`).

    A summary that cannot be read (not JSON, not an object, nested too deeply) is logged and read
    as an empty one: the session still lists, loads and takes appends.
    """
    try:
        value = decode_json(text) if text is not None else None
    except (ValueError, TypeError, RecursionError) as exc:
        value = _Unreadable(f"{type(exc).__name__}: {str(exc)[:80]}")
    if isinstance(value, dict):
        return current_summary(value)
    log.warning("the stored summary of session %r is unreadable (%s); read as empty", session_id, value)
    return fold_summary(None, [])


def message_count_of(summary: dict[str, Any] | None) -> int:
    """The summary's `message_count`, 0 if it has none (or a damaged one)."""
    count = (summary or {}).get("message_count")
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def leaf_from_end(entries: Sequence[SessionStoreEntry]) -> str | None:
    """`tether.sessions.entries.leaf_of`, read from the end (a loaded view's leaf in O(1) mostly)."""
    for entry in reversed(entries):
        uuid = entry.get("uuid")
        if uuid and isinstance(uuid, str) and not entry.get("isSidechain"):
            return uuid
    return None


def as_int(value: Any, what: str) -> int:
    """`value` as an int; `DamagedData` naming `what` if the stored value is not a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DamagedData(f"{what} is {value!r}, not a number") from None


def private_dir(path: Path) -> Path:
    """Create directory `path` and its missing parents owner-only (0700); returns it."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # whatever the umask
    return path


def uuid_of(text: str | bytes) -> str | None:
    """The `uuid` of a stored entry text, or None (also when the text is damaged)."""
    entries, _ = decode_entries([text])
    uuid = entries[0].get("uuid") if entries else None
    return uuid if isinstance(uuid, str) else None


class DamagedData(Exception):
    """Stored data a store cannot use (a node row of the wrong types...): becomes a `StoreError`."""


def walk_chain(start: int, rows: Iterable[Sequence[Any]]) -> list[Node]:
    """The node `start` and its ancestors, nearest first, from rows `(id, parent, cutoff, length)`.

    The walk stops (and logs) at a node seen before: a chain written with a cycle (a node its
    own ancestor) reads as the part before the cycle instead of looping forever. A row of the
    wrong types raises `DamagedData`.
    """
    by_id: dict[int, Node] = {}
    for row in rows:
        try:
            node = Node(int(row[0]), None if row[1] is None else int(row[1]), int(row[2]), int(row[3]))
        except (TypeError, ValueError) as exc:
            raise DamagedData(f"a session row holds {list(row)!r}: {exc}") from None
        by_id[node.id] = node
    chain: list[Node] = []
    seen: set[int] = set()
    current: int | None = start
    while current is not None and current in by_id:
        if current in seen:
            log.warning("the fork chain of session node %s loops back to node %s; read up to the loop", start, current)
            break
        seen.add(current)
        chain.append(by_id[current])
        current = by_id[current].parent
    return chain


class DamageLog:
    """The damaged entries one store skipped, per transcript (in this process), and the warnings.

    A read that skips entries logs one warning naming the store, the session and why; `find`
    reports the count (`StoredSession.skipped_entries`), so `get_session_info` shows it.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, str], int] = {}
        self._lock = threading.Lock()

    def entries(
        self, store: object, parts: KeyParts, texts: Sequence[str] | Sequence[bytes]
    ) -> list[SessionStoreEntry]:
        """The readable entries of `texts`; the others are counted against `parts` and logged."""
        entries, skipped = decode_entries(texts)
        if skipped:
            self.record(store, parts, skipped)
        return entries

    def record(self, store: object, parts: KeyParts, skipped: list[str]) -> None:
        """Count and log entries of `parts` a read skipped (the count is the most any read met)."""
        ident = (parts.scope, parts.project_key, parts.session_id, parts.subpath)
        with self._lock:
            self._counts[ident] = max(self._counts.get(ident, 0), len(skipped))
        where = f"{parts.session_id!r}" + (f" ({parts.subpath})" if parts.subpath else "")
        log.warning(
            "%r: skipped %d unreadable entries of session %s: %s", store, len(skipped), where, "; ".join(skipped[:5])
        )

    def skipped(self, scope: str, project_key: str, session_id: str) -> int:
        """How many entries of the session's main transcript reads in this process skipped."""
        return self._counts.get((scope, project_key, session_id, ""), 0)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else "(no message)"
