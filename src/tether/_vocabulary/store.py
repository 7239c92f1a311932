"""The Claude Agent SDK's session store vocabulary: the key of a transcript, its entries, the
listing shapes and the `SessionStore` protocol (the SDK's two required methods). tether's own
additions and the capabilities of its stores are in `tether.sessions.store` and
`tether.sessions.capabilities`."""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

from typing import Any, Literal, NotRequired, Protocol, TypedDict, get_args, runtime_checkable

__all__ = [
    "SESSION_STORE_FLUSH_MODES",
    "SessionKey",
    "SessionListSubkeysKey",
    "SessionStore",
    "SessionStoreEntry",
    "SessionStoreFlushMode",
    "SessionStoreListEntry",
    "SessionSummaryEntry",
]

SessionStoreEntry = dict[str, Any]
"""One transcript entry (a JSON object of the Claude Code transcript shape: `type`, usually `uuid`
and `timestamp`, and any other keys, which stores keep as they are)."""

SessionStoreFlushMode = Literal["batched", "eager"]
"""The values of `AgentOptions.session_store_flush` (the Claude Agent SDK's names)."""
SESSION_STORE_FLUSH_MODES: tuple[SessionStoreFlushMode, ...] = get_args(SessionStoreFlushMode)


class SessionKey(TypedDict):
    """Where a transcript lives: project (encoded cwd), session id, optional sub-transcript."""

    project_key: str
    session_id: str
    subpath: NotRequired[str]


class SessionListSubkeysKey(TypedDict):
    """The main key of a session, for `list_subkeys`."""

    project_key: str
    session_id: str


class SessionStoreListEntry(TypedDict):
    """A session of a project and its last modification time (epoch milliseconds)."""

    session_id: str
    mtime: int


class SessionSummaryEntry(TypedDict):
    """A session's summary (see `tether.sessions.summary`) with its modification time."""

    session_id: str
    mtime: int
    data: dict[str, Any]
    project_key: NotRequired[str]


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live: the Claude Agent SDK's two required methods (the rest are capabilities)."""

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        """Append `entries` in order, creating the transcript."""
        ...

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """Every entry of the session's view in append order, or None if there is no such session."""
        ...
