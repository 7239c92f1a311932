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
- `load_texts(key)`: the view undecoded (`StoredTexts`): each entry's stored JSON text, in `load`'s
  order, and the leaf the store holds, so a resume decodes only what it needs.
- `list_page(project_key, limit, cursor)`: sessions newest first with cursor pagination.
- `watch(key)`: change notifications, an async context manager giving a feed whose
  `wait(timeout)` returns True once an append to the transcript was notified (PostgreSQL
  LISTEN/NOTIFY, Redis pub/sub); followers of a store without it poll (`tether.sessions.follow`).

A session's *view* (what `load` returns) is, in append order, the inherited prefix of its fork
source (recursively) followed by its own entries.

The contract every store keeps (`tether.testing.run_store_conformance` checks it):

- `load` returns the entries of every `append` of a key in call order, as values (a later change
  to a dict the caller passed does not show); an unknown key gives None; keys differing only in
  project or subpath are different transcripts.
- `append(key, [])` is a no-op: it creates no transcript and changes none.
- A session id that is not a safe name (empty, over 128 characters, with a path separator, `..`,
  a control character or a leading space, or not a string) raises `InvalidSessionIdError` from
  every method that takes a key, and writes nothing.
- An entry that is not a JSON object, or holds a value JSON cannot encode, is refused with
  `TypeError`, `ValueError` or `StoreError`, and nothing of that append is written.
- `StoreError` is how a store reports that its database, server or files failed (a driver's own
  exception is turned into one by the capability layer for stores of the caller's own); a call
  that raised it may or may not have taken effect, but never partly.
- Listings are newest first by the last write, in epoch milliseconds, and writes within one
  millisecond keep their order: the session written last comes first.
"""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

from dataclasses import dataclass, field
from typing import Any

from tether._vocabulary.store import (
    SessionKey,
    SessionSummaryEntry,
)

__all__ = ["NO_LEAF", "SessionPage", "StoredSession", "StoredTexts"]

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


@dataclass
class StoredTexts:
    """What `load_texts` reads: the JSON text of each entry of the view as stored (in `load`'s order,
    damaged ones included: `load` skips and logs those), and the leaf the store holds for it."""

    texts: list[str] | list[bytes]
    leaf: str | None
