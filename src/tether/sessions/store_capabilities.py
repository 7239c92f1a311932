"""What a session store can do: one typed optional callable per capability (`StoreCapabilities`, built
once per store), and how long each call may take (`StoreDeadline`). `tether.sessions.capabilities`
builds every store operation, with its fallback, on top of them."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, Literal, ParamSpec, Protocol, TypeVar, cast, get_args

import anyio
import anyio.lowlevel
import anyio.to_thread

from tether._copying import shallow_copy
from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.errors import (
    ConfigurationError,
    StoreError,
    TetherError,
)
from tether.sessions.store import SessionPage, StoredSession, StoredTexts

__all__ = [
    "CAPABILITIES",
    "DEFAULT_STORE_TIMEOUT",
    "AppendIfLeaf",
    "Capability",
    "ChangeFeed",
    "Find",
    "Fork",
    "ListPage",
    "StoreCapabilities",
    "StoreDeadline",
    "SwapLease",
    "Watch",
    "bounded_capabilities",
    "capabilities_of",
]

Capability = Literal[
    "expected_leaf",
    "fork",
    "find",
    "load_tail",
    "load_texts",
    "list_page",
    "list_sessions",
    "list_session_summaries",
    "delete",
    "list_subkeys",
    "close",
    "swap_lease",
    "read_lease",
    "transcript_path",
    "shared",
    "watch",
    "put_blobs",
    "get_blobs",
    "list_blobs",
    "delete_blobs",
]
"""The optional capabilities of a store: each a method, except `expected_leaf` (a parameter of
`append`) and `shared` (a true `is_shared` property: the process's shared store, which a caller
that opened it must not close). `watch(key)` is the store's change notifications (PostgreSQL
LISTEN/NOTIFY, Redis pub/sub): an async context manager giving a `ChangeFeed`. The four `*_blobs`
methods hold content-addressed bytes (sha256 hex addresses), stored once per store, for workspace
snapshots."""

CAPABILITIES: tuple[Capability, ...] = get_args(Capability)
"""Every capability, in the order above."""

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Entries = list[SessionStoreEntry]


class AppendIfLeaf(Protocol):
    """`append(key, entries, expected_leaf=...)`: a compare-and-set append."""

    def __call__(self, key: SessionKey, entries: _Entries, *, expected_leaf: str | None = None) -> Awaitable[None]: ...


class Fork(Protocol):
    """`fork(source_key, new_key, at_uuid=None)`: a copy-on-write branch."""

    def __call__(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> Awaitable[None]: ...


class Find(Protocol):
    """`find(session_id, project_key=None)`: where a session lives."""

    def __call__(self, session_id: str, project_key: str | None = None) -> Awaitable[StoredSession | None]: ...


class ListPage(Protocol):
    """`list_page(project_key=None, *, limit, cursor)`: sessions newest first, a page at a time."""

    def __call__(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> Awaitable[SessionPage]: ...


class SwapLease(Protocol):
    """`swap_lease(key, owner, expires_at_ms, *, now_ms, take_from=None)`: the atomic lease swap."""

    def __call__(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> Awaitable[tuple[str, int] | None]: ...


class ChangeFeed(Protocol):
    """The change notifications of one transcript, subscribed while its `watch` context is open."""

    async def wait(self, timeout: float) -> bool:
        """Return True when an append to the transcript was notified since the last call (at once if
        one was already), False after `timeout` seconds without one."""
        ...


class Watch(Protocol):
    """`watch(key)`: the change notifications of `key`'s transcript, from when the context is entered."""

    def __call__(self, key: SessionKey) -> AbstractAsyncContextManager[ChangeFeed]: ...


def _implementation(store: object, name: str) -> Callable[..., Any] | None:
    """The store's own method `name`, or None when it has none (or only a Protocol's default body)."""
    for cls in type(store).__mro__:
        if name in cls.__dict__:
            if cls.__dict__.get("_is_protocol", False):
                return None
            break
    method = getattr(store, name, None)
    return cast("Callable[..., Any]", method) if callable(method) else None


def _takes(method: Callable[..., Any] | None, parameter: str) -> bool:
    if method is None:
        return False
    try:
        return parameter in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _read_only(store: object) -> Callable[[SessionKey, _Entries], Awaitable[None]]:
    """The `append` of a store that has none (a read-only store may still be listed and read)."""

    async def append(key: SessionKey, entries: _Entries) -> None:
        raise ConfigurationError(f"{store!r} does not implement append: it is read-only, nothing can be written to it")

    return append


def _guarded(store: object, operation: str, method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """`method`, raising `StoreError` (naming the store and `operation`) for anything but a
    `TetherError` it raises: a store of the caller's own may raise whatever its driver does."""

    @functools.wraps(method)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except TetherError:
            raise
        except Exception as error:
            raise StoreError(repr(store), operation, f"{type(error).__name__}: {error}") from error

    return call


@dataclass(frozen=True)
class StoreCapabilities:
    """What one store can do: its two required methods and one typed callable per optional
    capability (None when the store lacks it), each raising `StoreError` for its driver's errors.

    Built once per store by `StoreCapabilities.of`; a store's methods are taken at the signatures
    `tether.sessions.store` documents.
    """

    append: Callable[[SessionKey, _Entries], Awaitable[None]]
    load: Callable[[SessionKey], Awaitable[_Entries | None]]
    expected_leaf: AppendIfLeaf | None = None
    fork: Fork | None = None
    find: Find | None = None
    load_tail: Callable[[SessionKey, int], Awaitable[_Entries | None]] | None = None
    load_texts: Callable[[SessionKey], Awaitable[StoredTexts | None]] | None = None
    list_page: ListPage | None = None
    list_sessions: Callable[[str], Awaitable[list[SessionStoreListEntry]]] | None = None
    list_session_summaries: Callable[[str], Awaitable[list[SessionSummaryEntry]]] | None = None
    delete: Callable[[SessionKey], Awaitable[None]] | None = None
    list_subkeys: Callable[[SessionListSubkeysKey], Awaitable[list[str]]] | None = None
    close: Callable[[], Awaitable[None]] | None = None
    swap_lease: SwapLease | None = None
    read_lease: Callable[[SessionKey], Awaitable[tuple[str, int] | None]] | None = None
    """The session's turn lease as stored, `(owner, expires_at_ms)`, live or not; reads, never writes."""
    transcript_path: Callable[[SessionKey], str] | None = None
    """The file holding a transcript, for stores that keep one per session (`JsonlStore`)."""
    shared: bool = False
    """The process's shared store (`SQLiteStore.shared`): a caller that opened it must not close it."""
    watch: Watch | None = None
    """Change notifications (a store without them is polled: `tether.sessions.follow`)."""
    put_blobs: Callable[[Mapping[str, bytes]], Awaitable[None]] | None = None
    """Store `{sha256 hex: bytes}`, each once per store (a blob already held is not written again)."""
    get_blobs: Callable[[Iterable[str]], Awaitable[dict[str, bytes]]] | None = None
    """The blobs of the given addresses that the store holds."""
    list_blobs: Callable[[], Awaitable[list[str]]] | None = None
    delete_blobs: Callable[[Iterable[str]], Awaitable[None]] | None = None

    @classmethod
    def of(cls, store: SessionStore) -> StoreCapabilities:
        """What `store` implements itself (a method inherited from a `Protocol` class, such as the
        SDK's `SessionStore` whose optional methods raise `NotImplementedError`, does not count)."""

        def own(name: str) -> Any:
            method = _implementation(store, name)
            return None if method is None else _guarded(store, name, method)

        append = _implementation(store, "append")
        find = _implementation(store, "find")
        path = _implementation(store, "transcript_path")
        return cls(
            append=_guarded(store, "append", store.append)
            if callable(getattr(store, "append", None))
            else _read_only(store),
            load=_guarded(store, "load", store.load),
            expected_leaf=own("append") if _takes(append, "expected_leaf") else None,
            fork=own("fork"),
            find=own("find") if _takes(find, "project_key") else None,
            load_tail=own("load_tail"),
            load_texts=own("load_texts"),
            list_page=own("list_page"),
            list_sessions=own("list_sessions"),
            list_session_summaries=own("list_session_summaries"),
            delete=own("delete"),
            list_subkeys=own("list_subkeys"),
            close=own("close"),
            swap_lease=own("swap_lease"),
            read_lease=own("read_lease"),
            transcript_path=cast("Callable[[SessionKey], str] | None", path),
            shared=getattr(store, "is_shared", False) is True,
            watch=cast("Watch | None", _implementation(store, "watch")),
            put_blobs=own("put_blobs"),
            get_blobs=own("get_blobs"),
            list_blobs=own("list_blobs"),
            delete_blobs=own("delete_blobs"),
        )

    def names(self) -> frozenset[Capability]:
        """The optional capabilities the store has."""
        return frozenset(name for name in CAPABILITIES if getattr(self, name) not in (None, False))


DEFAULT_STORE_TIMEOUT = 30.0
"""Seconds one store call may take by default (`AgentOptions.store_timeout`)."""


class StoreDeadline:
    """How long store calls may take: each at most `timeout` seconds (None: no limit), and none
    past the deadline of the run in progress (`start_run`), so a store that stops answering ends
    a run with `StoreError` instead of holding it."""

    def __init__(self, timeout: float | None = DEFAULT_STORE_TIMEOUT, run_timeout: float | None = None) -> None:
        self.timeout = timeout
        self.run_timeout = run_timeout
        self.run_deadline: float | None = None
        """When the run in progress must end (`anyio.current_time()` clock), else None."""

    def start_run(self) -> None:
        """A run starts now: no store call of it may go on past `run_timeout` from now."""
        self.run_deadline = None if self.run_timeout is None else anyio.current_time() + self.run_timeout

    def end_run(self) -> None:
        """The run is over: calls are held to `timeout` alone again."""
        self.run_deadline = None

    def _limit(self) -> tuple[float, bool]:
        """The deadline of a call starting now, and whether it is the run's (see `_describe`)."""
        deadline = math.inf if self.timeout is None else anyio.current_time() + self.timeout
        run_deadline = self.run_deadline
        if run_deadline is not None and run_deadline <= deadline:
            return run_deadline, True
        return deadline, False

    def _describe(self, of_run: bool) -> str:
        """The limit `_limit` chose, for the message of a call it cut."""
        if of_run or self.timeout is None:
            return f"run_timeout ({self.run_timeout or 0:g} s)"
        return f"store_timeout ({self.timeout:g} s)"

    def bound(self, store: object, operation: str, method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
        """`method`, cut at this deadline with `StoreError` naming `operation` (a write cut this way is
        the store's whole transaction or nothing of it); as it is when there is no limit at all."""
        if self.timeout is None and self.run_timeout is None:
            return method
        return _BoundCall(self, store, operation, method)


class _BoundCall(Generic[_P, _T]):
    """A store call held to a `StoreDeadline` (a plain object: a run binds every capability anew)."""

    __slots__ = ("_deadline", "_method", "_operation", "_store")

    def __init__(
        self, deadline: StoreDeadline, store: object, operation: str, method: Callable[_P, Awaitable[_T]]
    ) -> None:
        self._deadline, self._store, self._operation, self._method = deadline, store, operation, method

    async def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        deadline, of_run = self._deadline._limit()
        with anyio.CancelScope(deadline=deadline) as scope:
            return await self._method(*args, **kwargs)
        assert scope.cancelled_caught
        what = self._deadline._describe(of_run)
        raise StoreError(repr(self._store), self._operation, f"the store did not answer within {what}")


_BOUNDED = tuple(
    name for name in ("append", "load", *CAPABILITIES) if name not in ("shared", "transcript_path", "watch")
)
"""The fields of `StoreCapabilities` that call the store (`transcript_path` reads no store; `watch`
waits as long as its caller says)."""


def bounded_capabilities(store: object, caps: StoreCapabilities, deadline: StoreDeadline) -> StoreCapabilities:
    """`caps` with every store call held to `deadline` (made for each run: its fields copied, not
    built and checked again as `dataclasses.replace` would)."""
    if deadline.timeout is None and deadline.run_timeout is None:
        return caps
    bound = {
        name: _BoundCall(deadline, store, "append" if name == "expected_leaf" else name, method)
        for name in _BOUNDED
        if (method := getattr(caps, name)) is not None
    }
    return shallow_copy(caps, **bound)


def capabilities_of(store: object) -> frozenset[Capability]:
    """The optional capabilities `store` (any object with the SDK's `append` and `load`) implements."""
    return StoreCapabilities.of(cast("SessionStore", store)).names()
