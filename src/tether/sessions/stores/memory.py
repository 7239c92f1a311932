"""`MemoryStore`: sessions in a Python dict, for tests and throwaway agents."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.errors import EntryNotFoundError, SessionConflictError, SessionExistsError, SessionNotFoundError
from tether.sessions.keys import validate_session_id
from tether.sessions.store import NO_LEAF, SessionPage, StoredSession, StoredTexts
from tether.sessions.stores import StoreUrl
from tether.sessions.stores._blobs import MemoryBlobs
from tether.sessions.stores._core import decode_entries, encode_entries, log, page_after
from tether.sessions.summary import fold_summary, fork_summary

__all__ = ["MemoryStore", "from_url"]


@dataclass
class _Record:
    project_key: str
    session_id: str
    subpath: str
    entries: list[tuple[str | None, str]] = field(default_factory=list)
    """`(uuid, JSON text)` of each entry: kept as persistent stores keep them, so nothing is shared with callers."""
    parent: _Record | None = None
    parent_length: int = 0
    leaf: str | None = None
    summary: dict[str, Any] = field(default_factory=lambda: fold_summary(None, []))
    mtime: int = 0

    def view(self) -> list[tuple[str | None, str]]:
        prefix = self.parent.view()[: self.parent_length] if self.parent else []
        return prefix + self.entries

    def view_length(self) -> int:
        return self.parent_length + len(self.entries)


_Ident = tuple[str, str, str, str]
"""`(scope, project key, session id, subpath)`."""


class _Records(dict[_Ident, _Record]):
    """The transcripts, and an index of main transcripts by `(scope, session id)` (for `find`)."""

    def __init__(self) -> None:
        super().__init__()
        self.mains: dict[tuple[str, str], dict[str, _Record]] = {}
        self.leases: dict[tuple[str, str, str], tuple[str, int]] = {}
        """`(scope, project key, session id)` -> `(owner, expires_at_ms)` of the session's turn lease."""

    def put(self, ident: _Ident, record: _Record) -> None:
        self[ident] = record
        if not ident[3]:
            self.mains.setdefault((ident[0], ident[2]), {})[ident[1]] = record

    def remove(self, ident: _Ident) -> None:
        if self.pop(ident, None) is not None and not ident[3]:
            projects = self.mains.get((ident[0], ident[2]), {})
            projects.pop(ident[1], None)
            if not projects:
                self.mains.pop((ident[0], ident[2]), None)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _decoded(rows: list[tuple[str | None, str]]) -> list[SessionStoreEntry]:
    entries, skipped = decode_entries([text for _, text in rows])
    if skipped:  # only code that writes into the records directly can cause this
        log.warning("MemoryStore: skipped %d unreadable entries: %s", len(skipped), "; ".join(skipped[:5]))
    return entries


class MemoryStore(MemoryBlobs):
    """A complete in-memory `SessionStore`: forks, leaf checks, listing, scopes.

    Stores made with `with_scope` share the data but see only their own scope's sessions.
    """

    def __init__(self, *, scope: str | None = None) -> None:
        self.scope = scope or ""
        self._data = _Records()
        self._clock = 0

    def with_scope(self, scope: str | None) -> MemoryStore:
        """A store over the same data, limited to `scope`."""
        other = MemoryStore(scope=scope)
        other._data = self._data
        self.share_blobs(other)
        return other

    def _id(self, key: SessionKey) -> _Ident:
        return (self.scope, key["project_key"], validate_session_id(key["session_id"]), key.get("subpath", ""))

    def _tick(self) -> int:
        # Strictly increasing mtimes keep "newest first" stable within one millisecond.
        self._clock = max(self._clock + 1, _now_ms())
        return self._clock

    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append entries, creating the session; checks `expected_leaf` first."""
        ident = self._id(key)
        record = self._data.get(ident)
        if expected_leaf is not None:
            actual = record.leaf if record else None
            if (actual or NO_LEAF) != expected_leaf:
                raise SessionConflictError(key["session_id"], expected_leaf or None, actual)
        if not entries:
            return
        texts = encode_entries(entries)  # all or nothing: a bad entry writes none
        if record is None:
            record = _Record(ident[1], ident[2], ident[3])
            self._data.put(ident, record)
        record.entries.extend((entry.get("uuid"), text) for entry, text in zip(entries, texts, strict=True))
        for entry in entries:
            if entry.get("uuid") and not entry.get("isSidechain"):
                record.leaf = entry["uuid"]
        record.summary = fold_summary(record.summary, entries)
        record.mtime = self._tick()

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """The session's view, or None."""
        record = self._data.get(self._id(key))
        return _decoded(record.view()) if record else None

    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        """The session's view undecoded, and its leaf."""
        record = self._data.get(self._id(key))
        return StoredTexts([text for _, text in record.view()], record.leaf) if record else None

    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view."""
        record = self._data.get(self._id(key))
        if record is None:
            return None
        return _decoded(record.view()[-limit:]) if limit > 0 else []

    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Branch `new_key` off `source_key`, sharing its entries."""
        source = self._data.get(self._id(source_key))
        if source is None:
            raise SessionNotFoundError(source_key["session_id"])
        new_ident = self._id(new_key)
        if new_ident in self._data:
            raise SessionExistsError(new_ident[2])
        view = source.view()
        if at_uuid is None:
            length, leaf = len(view), source.leaf
        else:
            positions = [i for i, (uuid, _) in enumerate(view) if uuid == at_uuid]
            if not positions:
                raise EntryNotFoundError(source.session_id, at_uuid)
            length, leaf = positions[-1] + 1, at_uuid
        count = sum(1 for uuid, _ in view[:length] if uuid)
        origin = {"sessionId": source.session_id, "messageUuid": leaf}
        self._data.put(
            new_ident,
            _Record(
                new_ident[1],
                new_ident[2],
                new_ident[3],
                parent=source,
                parent_length=length,
                leaf=leaf,
                summary=fork_summary(source.summary, forked_from=origin, message_count=count),
                mtime=self._tick(),
            ),
        )

    def _find_record(self, session_id: str, project_key: str | None) -> _Record | None:
        projects = self._data.mains.get((self.scope, session_id), {})
        preferred = projects.get(project_key) if project_key is not None else None
        return preferred or max(projects.values(), key=lambda record: record.mtime, default=None)

    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """Where `session_id` lives (in `project_key` if it holds one, else the newest match), without loading it."""
        record = self._find_record(validate_session_id(session_id), project_key)
        if record is None:
            return None
        key = SessionKey(project_key=record.project_key, session_id=record.session_id)
        return StoredSession(key=key, leaf=record.leaf, mtime=record.mtime, summary=dict(record.summary))

    def _main_records(self, project_key: str | None) -> list[_Record]:
        records = [
            record
            for (scope, project, _, subpath), record in self._data.items()
            if scope == self.scope and not subpath and (project_key is None or project == project_key)
        ]
        records.sort(key=_position, reverse=True)
        return records

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """Every session of the project, newest first."""
        return [SessionStoreListEntry(session_id=r.session_id, mtime=r.mtime) for r in self._main_records(project_key)]

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """Every session's summary in the project, newest first."""
        return [_summary_entry(r) for r in self._main_records(project_key)]

    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first, `limit` at a time."""
        page, next_cursor = page_after(self._main_records(project_key), _position, limit, cursor)
        return SessionPage(items=[_summary_entry(r) for r in page], next_cursor=next_cursor)

    async def delete(self, key: SessionKey) -> None:
        """Delete the transcript (and its subkeys and lease for a main key); forks keep their history."""
        ident = self._id(key)
        if ident[3]:
            self._data.remove(ident)
            return
        for other in [k for k in self._data if k[:3] == ident[:3]]:
            self._data.remove(other)
        self._data.leases.pop(ident[:3], None)

    async def swap_lease(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> tuple[str, int] | None:
        """Set the session's turn lease to `(owner, expires_at_ms)` unless another owner holds it live
        (see `StoreAccess.swap_lease`); returns that holder, else None."""
        ident = self._id(key)[:3]
        held = self._data.leases.get(ident)
        if held is not None and held[1] > now_ms and held[0] not in (owner, take_from):
            return held
        self._data.leases[ident] = (owner, expires_at_ms)
        return None

    async def read_lease(self, key: SessionKey) -> tuple[str, int] | None:
        """The session's turn lease as stored (live or not)."""
        return self._data.leases.get(self._id(key)[:3])

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths stored under a session."""
        ident = self._id(SessionKey(project_key=key["project_key"], session_id=key["session_id"]))
        return sorted(k[3] for k in self._data if k[:3] == ident[:3] and k[3])

    async def close(self) -> None:
        """Nothing to release."""

    def get_entries(self, key: SessionKey) -> list[SessionStoreEntry]:
        """Every entry stored under `key` (its full view), `[]` when there is none (as the SDK's)."""
        record = self._data.get(self._id(key))
        return _decoded(record.view()) if record else []

    @property
    def size(self) -> int:
        """How many sessions (main transcripts, not subpaths) this scope holds."""
        return len(self._main_records(None))

    def clear(self) -> None:
        """Forget every session of this scope."""
        for ident in [ident for ident in self._data if ident[0] == self.scope]:
            self._data.remove(ident)
        for lease in [lease for lease in self._data.leases if lease[0] == self.scope]:
            del self._data.leases[lease]


_position: Callable[[_Record], tuple[int, str, str]] = operator.attrgetter("mtime", "session_id", "project_key")


def _summary_entry(record: _Record) -> SessionSummaryEntry:
    return SessionSummaryEntry(
        session_id=record.session_id, mtime=record.mtime, data=dict(record.summary), project_key=record.project_key
    )


def from_url(url: StoreUrl) -> MemoryStore:
    """`memory://[?scope=NAME]`: a new, empty store."""
    url.only("scope")
    return MemoryStore(scope=url.options.get("scope"))
