"""The `SessionStore` protocol.

The method names and the key shape are the Claude Agent SDK's, so stores move between the two:
`append(key, entries)` and `load(key)` are required; `list_sessions`, `list_session_summaries`,
`delete` and `list_subkeys` are optional there. A session is identified by its key
`(project_key, session_id)` (plus `subpath` for its side transcripts): one id may live in several
projects, as in Claude Code. tether's stores also implement these capabilities, which the
runtime uses when a store has them (`tether.sessions.capabilities` says which a store has and
falls back when it lacks one):

- `append(key, entries, expected_leaf=...)`: optimistic concurrency. The *leaf* of a session is
  the `uuid` of the last entry carrying a `uuid` in its view (see `load`). With `expected_leaf`
  set, the store checks, atomically with the write, that the leaf is still that uuid (the
  constant `NO_LEAF` asks that the session hold no uuid entry yet) and raises
  `SessionConflictError` otherwise, having written nothing.
- `fork(source_key, new_key, at_uuid=None)`: copy-on-write branch. The new session's view is the
  source's view at fork time, cut after the entry `at_uuid` (inclusive) when given. Nothing is
  copied; later appends to either side do not show in the other.
- `find(session_id, project_key=None)`: where a session lives (its key), its leaf, its lineage
  and summary, so a session resumes by id from any working directory: the session of
  `project_key` when that project holds one, else the most recently updated one.
- `load_tail(key, limit)`: the last `limit` entries of the view, without reading the rest.
- `list_page(project_key, limit, cursor)`: sessions newest first with cursor pagination.

A session's *view* (what `load` returns) is, in append order, the inherited prefix of its fork
source (recursively) followed by its own entries.
"""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

from dataclasses import dataclass, field
from typing import Any, Protocol

from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)

__all__ = ["NO_LEAF", "SessionPage", "StoredSession"]

NO_LEAF = ""
"""`expected_leaf=NO_LEAF`: the append must be the first uuid-bearing write of the session."""


@dataclass
class SessionPage:
    """One page of `list_page`: summaries newest first, and the cursor of the next page."""

    items: list[SessionSummaryEntry]
    next_cursor: str | None = None


@dataclass
class StoredSession:
    """What `find` knows of a session without loading its entries."""

    key: SessionKey
    leaf: str | None
    mtime: int
    summary: dict[str, Any] = field(default_factory=dict)
    skipped_entries: int = 0
    """Entries of the session that reads in this process found unreadable and skipped (see the log)."""

    @property
    def forked_from(self) -> dict[str, Any] | None:
        """`{"sessionId", "messageUuid"}` of the fork point, or None for an original session."""
        origin = self.summary.get("forked_from")
        return origin if isinstance(origin, dict) else None


class FullSessionStore(SessionStore, Protocol):
    """A store with every capability the tether runtime and the session helpers use."""

    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append `entries` in order (creating the session); see the module doc for `expected_leaf`."""
        ...

    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view (in append order), or None if no such session."""
        ...

    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> None:
        """Branch `new_key` off `source_key` without copying (see the module doc)."""
        ...

    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """The main transcript of `session_id`: `project_key`'s if it has one, else the newest of any project."""
        ...

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """Every session of the project (main transcripts only)."""
        ...

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """The summary of every session of the project."""
        ...

    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first (all projects when `project_key` is None), one page at a time."""
        ...

    async def delete(self, key: SessionKey) -> None:
        """Delete a transcript (the main key also deletes its subkeys). Forks stay whole."""
        ...

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        """The subpaths stored under a session."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...
