"""Follow a session from any process that reaches its store: its entries as they are stored.

A running turn is watched through the store alone: `follow_entries` yields a transcript's
entries, each once and in store order, as they land, waking on the store's change notifications
(`StoreCapabilities.watch`: PostgreSQL LISTEN/NOTIFY, Redis pub/sub) or polling a store that has
none (SQLite, JSONL, memory, a store of the caller's own). `follow` gives them as the SDK's
messages, up to the turn's `ResultMessage`.

Where a turn ends: the agent stores, with the `cost-state` entry it writes as every run ends, a
`tether-result` entry holding the run's `ResultMessage` (`result_entry`). It is a metadata entry
(no `uuid`, outside the conversation chain), which Claude Code and the SDK's session helpers skip,
as they skip `cost-state`. The last message of a turn cut by a dying process is whatever was
stored; a follower then ends at its `timeout`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from tether._vocabulary.store import SessionKey, SessionStore, SessionStoreEntry
from tether.errors import ConfigurationError, EntryNotFoundError, FollowTimeoutError, SessionNotFoundError
from tether.messages import (
    AssistantMessage,
    DeferredToolUse,
    Message,
    ResultMessage,
    SystemMessage,
    UserMessage,
    blocks_from_content,
)
from tether.options import AgentOptions
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.entries import make_meta_entry
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores._core import decode_entries
from tether.sessions.urls import open_store, opened_for_caller

__all__ = [
    "RESULT_ENTRY_TYPE",
    "follow",
    "follow_entries",
    "is_turn_end",
    "message_of_entry",
    "result_entry",
]

log = logging.getLogger(__name__)

RESULT_ENTRY_TYPE = "tether-result"
"""The metadata entry that ends a turn in the store: `{"type", "resultMessage", "sessionId", "timestamp"}`."""
RECHECK_SECONDS = 5.0
"""How often a follower woken by notifications reads the store anyway (a notification lost with
a dropped connection then costs at most this long)."""
_TAIL_WINDOW = 16
"""How many entries a follower's wake reads first from the end of the view (see `_Reader`)."""


def result_entry(result: ResultMessage) -> SessionStoreEntry:
    """The entry that records `result` as the end of its turn (see the module doc)."""
    fields = dict(vars(result))  # shallow: the store encodes the values as they are now
    if result.deferred_tool_use is not None:
        fields["deferred_tool_use"] = dataclasses.asdict(result.deferred_tool_use)
    return make_meta_entry(RESULT_ENTRY_TYPE, session_id=result.session_id, resultMessage=fields)


def is_turn_end(entry: SessionStoreEntry) -> bool:
    """Whether `entry` ends a turn (it holds the turn's `ResultMessage`)."""
    return entry.get("type") == RESULT_ENTRY_TYPE


async def follow_entries(
    store: SessionStore | StoreAccess,
    key: SessionKey,
    *,
    after_uuid: str | None = None,
    until_result: bool = True,
    poll_interval: float = 0.25,
    timeout: float | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The entries of `key`'s transcript as they are stored, each once, in store order.

    Starts after the stored entry `after_uuid` (`EntryNotFoundError` if the transcript holds none)
    or, by default, at its first entry; with `until_result`, ends after the entry that ends a turn
    (`is_turn_end`) once a message (an entry with a uuid) was yielded: the end of the turn before
    `after_uuid`, stored after it, is yielded but does not stop it. Wakes on the store's change
    notifications, else reads it every `poll_interval` seconds. `SessionNotFoundError` when there
    is no such transcript (or it is deleted meanwhile); `FollowTimeoutError` when nothing new is
    stored for `timeout` seconds.
    """
    async for entry in _follow(store, key, _after(after_uuid), until_result, poll_interval, timeout):
        yield entry


_Start = Callable[[list[SessionStoreEntry], str], int]
"""Where following starts in the first view read (of the session id given)."""


def _after(uuid: str | None) -> _Start:
    def start(entries: list[SessionStoreEntry], session_id: str) -> int:
        if uuid is None:
            return 0
        for index, entry in enumerate(entries):
            if entry.get("uuid") == uuid:
                return index + 1
        raise EntryNotFoundError(session_id, uuid)

    return start


async def _follow(
    store: SessionStore | StoreAccess,
    key: SessionKey,
    start: _Start,
    until_result: bool,
    poll_interval: float,
    timeout: float | None,
) -> AsyncIterator[dict[str, Any]]:
    if poll_interval <= 0:
        raise ConfigurationError(f"poll_interval must be a positive number of seconds, not {poll_interval!r}")
    if timeout is not None and timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds or None, not {timeout!r}")
    access = store_access(store)
    interval = RECHECK_SECONDS if access.can("watch") else poll_interval
    session_id = key["session_id"]
    async with access.watch(key) as feed:  # subscribed before the first read: no append falls between
        reader = _Reader(access, key)
        pending = await reader.first()
        pending = pending[start(pending, session_id) :]
        last_news = anyio.current_time()
        moved = False  # a message was yielded: a turn end from now on is this turn's, not the one before
        while True:
            for entry in pending:
                yield entry
                moved = moved or bool(entry.get("uuid"))
                if until_result and moved and is_turn_end(entry):
                    return
            wait = interval
            if timeout is not None:
                left = last_news + timeout - anyio.current_time()
                if left <= 0:
                    raise FollowTimeoutError(session_id, timeout)
                wait = min(wait, left)
            await feed.wait(wait)
            pending = await reader.read()
            if pending:
                last_news = anyio.current_time()


class _Reader:
    """Reads a followed transcript's entries stored since its last read.

    The first read takes the whole view (decoding the store's texts, `load_texts`, where it has
    them). Each later one reads the view's tail (`load_tail`), a small window first, widened until
    it holds the last uuid entry read (the anchor): what follows that entry and the metadata
    entries already read after it is new. So a wake costs about the new entries, not the session's
    length. A view with no uuid entry yet, or one that no window finds the anchor in, is read
    whole and cut after the count of entries read (a view that shrank is read from its new end).
    """

    def __init__(self, access: StoreAccess, key: SessionKey) -> None:
        self.access = access
        self.key = key
        self.count = 0
        """Entries of the view read so far."""
        self.anchor: str | None = None
        """The uuid of the last entry read that has one."""
        self.after_anchor = 0
        """Entries read after the anchor (metadata entries, without a uuid)."""

    async def first(self) -> list[SessionStoreEntry]:
        """The whole view."""
        stored = await self.access.load_texts(self.key)
        if stored is None:  # no texts from this store (or no transcript: `load` says which)
            return self._took(await self._whole())
        entries, skipped = decode_entries(stored.texts)
        for reason in skipped:
            log.warning("session %r: skipped an unreadable entry (%s)", self.key["session_id"], reason)
        return self._took(entries)

    async def read(self) -> list[SessionStoreEntry]:
        """The entries stored since the last read."""
        window = _TAIL_WINDOW
        while self.anchor is not None:
            tail = await self.access.load_tail(self.key, window)
            if tail is None:
                raise SessionNotFoundError(self.key["session_id"], "while following it")
            new = self._after_anchor(tail)
            if new is not None:
                return self._took(new)
            if len(tail) < window:  # the whole view, and no anchor in it
                return self._by_count(tail)
            window *= 4
        return self._by_count(await self._whole())

    async def _whole(self) -> list[SessionStoreEntry]:
        entries = await self.access.load(self.key)
        if entries is None:
            raise SessionNotFoundError(self.key["session_id"], "while following it")
        return entries

    def _after_anchor(self, tail: list[SessionStoreEntry]) -> list[SessionStoreEntry] | None:
        for index in range(len(tail) - 1, -1, -1):
            if tail[index].get("uuid") == self.anchor:
                start = index + 1 + self.after_anchor
                return tail[start:] if start <= len(tail) else None
        return None

    def _by_count(self, view: list[SessionStoreEntry]) -> list[SessionStoreEntry]:
        if len(view) < self.count:
            log.warning(
                "session %r: its stored view shrank from %d to %d entries",
                self.key["session_id"],
                self.count,
                len(view),
            )
            self.count = len(view)
        return self._took(view[self.count :])

    def _took(self, entries: list[SessionStoreEntry]) -> list[SessionStoreEntry]:
        self.count += len(entries)
        for entry in entries:
            uuid = entry.get("uuid")
            if isinstance(uuid, str) and uuid:
                self.anchor, self.after_anchor = uuid, 0
            else:
                self.after_anchor += 1
        return entries


def message_of_entry(entry: SessionStoreEntry) -> Message | None:
    """The SDK message a stored entry holds (as `query()` yielded it), or None for a metadata entry."""
    kind = entry.get("type")
    if kind == RESULT_ENTRY_TYPE:
        return _result_of(entry.get("resultMessage"))
    message = entry.get("message")
    uuid = entry.get("uuid")
    if not isinstance(uuid, str) or entry.get("isSidechain"):
        return None
    if kind == "system":
        return SystemMessage(subtype=str(entry.get("subtype") or ""), data=dict(entry))
    if not isinstance(message, dict):
        return None
    content = message.get("content", "")
    if kind == "user":
        used = entry.get("toolUseResult")
        return UserMessage(
            content=blocks_from_content(content), uuid=uuid, tool_use_result=used if isinstance(used, dict) else None
        )
    if kind == "assistant":
        blocks = blocks_from_content(content)
        usage = message.get("usage")
        return AssistantMessage(
            content=blocks if isinstance(blocks, list) else [],
            model=str(message.get("model") or ""),
            usage=dict(usage) if isinstance(usage, dict) else None,
            message_id=message.get("id"),
            stop_reason=message.get("stop_reason"),
            session_id=entry.get("sessionId"),
            uuid=uuid,
        )
    return None


_RESULT_FIELDS = frozenset(field.name for field in dataclasses.fields(ResultMessage))


def _result_of(data: Any) -> ResultMessage | None:
    if not isinstance(data, dict):
        return None
    fields = {name: value for name, value in data.items() if name in _RESULT_FIELDS}
    deferred = fields.get("deferred_tool_use")
    fields["deferred_tool_use"] = DeferredToolUse(**deferred) if isinstance(deferred, dict) else None
    try:
        return ResultMessage(**fields)
    except TypeError:  # a damaged entry lacks a required field: it still ends the turn
        session_id = str(fields.get("session_id") or "")
        return ResultMessage("error_during_execution", 0, 0, is_error=True, num_turns=0, session_id=session_id)


def _latest_turn(entries: list[SessionStoreEntry], session_id: str) -> int:
    """Where the session's latest turn starts: after the last turn end that a message follows
    (so a turn already ended is replayed, one still running is read from its prompt)."""
    ends = [index for index, entry in enumerate(entries) if is_turn_end(entry)]
    if ends and not any(entry.get("uuid") for entry in entries[ends[-1] + 1 :]):
        ends.pop()  # the latest turn has ended: replay it
    return ends[-1] + 1 if ends else 0


async def follow(
    session_id: str,
    *,
    options: AgentOptions | None = None,
    session_store: SessionStore | str | None = None,
    from_start: bool = False,
    timeout: float | None = None,
) -> AsyncIterator[Message]:
    """The messages of the session's running turn as they are stored, up to its `ResultMessage`.

    Works from any process that reaches the session's store (`session_store`, else the options',
    else the default store; the session is looked up as `resume=` does, from `options.cwd`).
    By default only what is stored from now on (the next turn if none is running); with
    `from_start`, the latest turn from its prompt (replayed if it has ended). Partial token
    streams are not stored, so not followed. `SessionNotFoundError` for an unknown id,
    `FollowTimeoutError` when nothing new is stored for `timeout` seconds.
    """
    options = options or AgentOptions()
    spec = session_store if session_store is not None else options.session_store
    store = open_store(spec, shared=True)
    access = store_access(store)
    try:
        found = await access.locate(session_id, project_key_for_directory(options.cwd))
        start = _latest_turn if from_start else _now
        async for entry in _follow(access, found.key, start, True, 0.25, timeout):
            message = message_of_entry(entry)
            if message is not None:
                yield message
    finally:
        if opened_for_caller(store, spec):
            await access.close()


def _now(entries: list[SessionStoreEntry], session_id: str) -> int:
    return len(entries)
