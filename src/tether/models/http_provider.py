"""`HTTPModel`, the base of the HTTP providers, and what it shares among them: the client of an
event loop (`SharedClient`), the SSL context, the HTTP timeouts and the error messages of statuses.

A provider subclasses `HTTPModel` and implements its abstract hooks; a missing one fails when the
class is instantiated (and under mypy).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import anyio
import httpx2

from tether.errors import ModelError, TetherError
from tether.models.accumulator import MalformedStreamError
from tether.models.base import ModelEvent, ModelRequest, Timeouts, closing
from tether.models.retry import (
    Attempts,
    Failure,
    IdleTimeoutError,
    RetryPolicy,
    after_retries,
    retries_note,
    retrying_stream,
)
from tether.models.settings import ModelSettings

__all__ = [
    "IDLE_MARGIN",
    "KEEP_IDLE",
    "HTTPModel",
    "SharedClient",
    "http_error_message",
    "http_timeout",
    "load_client_module",
    "shared_ssl_context",
]


def http_error_message(
    provider: str,
    status: int,
    detail: str | None,
    *,
    retries: int,
    credential_hint: str,
    model: str,
) -> str:
    """A full-sentence message for an HTTP error status of a provider."""
    said = f": {detail}" if detail else ""
    after = retries_note(retries)
    if status == 401:
        return (
            f"{provider} rejected the credentials (HTTP 401{said}): the API key is wrong, expired or missing; "
            f"check {credential_hint}"
        )
    if status == 403:
        return f"{provider} refused the request (HTTP 403{said}): the credentials lack permission for {model!r}"
    if status == 404:
        return f"{provider} answered HTTP 404{said}; is the model name {model!r} right?"
    if status == 429:
        return f"{provider} rate-limited the request (HTTP 429{said}){after}"
    if status == 529:
        return f"{provider} is overloaded (HTTP 529{said}){after}"
    if status >= 500:
        return f"{provider} failed with HTTP {status}{said}{after}"
    return f"{provider} rejected the request (HTTP {status}{said})"


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One SSL context for every provider client of the process.

    Building a context loads the whole CA bundle (tens of milliseconds); every SDK client the
    process makes (one per event loop and run, see `SharedClient`) shares this one.
    """
    return httpx2.create_ssl_context()


_LOADED: set[str | None] = set()
"""The client modules `load_client_module` has imported (with the SSL context built)."""


async def load_client_module(name: str | None) -> None:
    """Import the SDK module `name` (`openai`; None for a provider that needs none) and build the
    shared SSL context, in a worker thread, once per process.

    Importing an SDK takes about a second, and many more on a loaded machine (seven processes
    starting together took 18 s). Done here, on a model call's first step, it neither blocks the
    event loop nor escapes the call's limits: the caller's cancel scope (the guard's
    `request_timeout` and run deadline, or the caller's own cancel) stops the wait at once, and the
    import finishes in the background for the next call.
    """
    if name not in _LOADED:
        await anyio.to_thread.run_sync(_load, name, abandon_on_cancel=True)


def _load(name: str | None) -> None:
    if name is not None:
        importlib.import_module(name)
    shared_ssl_context()
    _LOADED.add(name)


class _Closable(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)

KEEP_IDLE = 10.0
"""Seconds an unused client (and its pooled connections) stays open on its event loop for the next call."""


class _Slot:
    """The client of one configuration on one event loop, and who holds it."""

    __slots__ = ("client", "closer", "holders", "idle")

    def __init__(self) -> None:
        self.client: Any = None
        self.holders = 0
        self.idle: asyncio.TimerHandle | None = None
        self.closer: AsyncGenerator[None, None] | None = None
        """An async generator the loop closes when it ends (`shutdown_asyncgens`), closing the client."""


_Place = tuple[object, Hashable]
"""(event loop or thread, client key)."""
_SLOTS: dict[_Place, _Slot] = {}
_CLOSING: set[asyncio.Task[None]] = set()


class SharedClient(Generic[ClientT]):
    """An SDK client, and so its connections, shared on one event loop by every model of the same
    client configuration (`key`), across calls, runs and queries.

    A model call holds it with `use()`, and an agent run holds it with `hold()` from start to end,
    so the calls of a run reuse one connection instead of opening one (with its TLS handshake) per
    call; a later query on the same loop reuses it too. Under asyncio, a client no one holds stays
    open `KEEP_IDLE` seconds, then is closed; it is closed anyway when its loop ends
    (`asyncio.run` and `asyncio.Runner` close the loop's async generators, and one of them closes
    the client). Under another event loop (trio) it is closed when the last holder lets go.
    Clients belong to the event loop they were made on, so each running loop gets its own. Models
    whose `key` is equal share one client: the key must name everything the client is made from.
    """

    def __init__(self, factory: Callable[[], ClientT], key: Callable[[], Hashable] | None = None) -> None:
        self._factory = factory
        self._key = key or self._own_key

    def _own_key(self) -> Hashable:
        return self

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Keep the client (once made) open until this exits."""
        place, slot = self._enter()
        try:
            yield
        finally:
            await _let_go(place, slot)

    @asynccontextmanager
    async def use(self) -> AsyncIterator[ClientT]:
        """The client of the running loop, made if needed, held while in use."""
        place, slot = self._enter()
        try:
            if slot.client is None:
                slot.client = self._factory()
                if isinstance(place[0], asyncio.AbstractEventLoop):
                    slot.closer = _close_at_loop_end(place, slot)
                    await slot.closer.asend(None)  # registered with the loop, which closes it at its end
            client: ClientT = slot.client
            yield client
        finally:
            await _let_go(place, slot)

    def _enter(self) -> tuple[_Place, _Slot]:
        try:
            loop: object = asyncio.get_running_loop()
        except RuntimeError:  # another event loop (trio): one runs per thread at a time
            loop = threading.get_ident()
        place = (loop, self._key())
        slot = _SLOTS.get(place)
        if slot is None:
            slot = _SLOTS[place] = _Slot()
        slot.holders += 1
        if slot.idle is not None:
            slot.idle.cancel()
            slot.idle = None
        return place, slot


async def _let_go(place: _Place, slot: _Slot) -> None:
    """One holder less; with none left, the client is closed now (no asyncio loop to keep it on) or
    after `KEEP_IDLE` seconds."""
    slot.holders -= 1
    if slot.holders:
        return
    loop = place[0]
    if slot.closer is not None and isinstance(loop, asyncio.AbstractEventLoop):
        slot.idle = loop.call_later(KEEP_IDLE, _close_idle, place, slot)
        return
    _forget(place, slot)
    client, slot.client = slot.client, None
    if client is not None:
        await client.close()


def _forget(place: _Place, slot: _Slot) -> None:
    if _SLOTS.get(place) is slot:
        del _SLOTS[place]


def _close_idle(place: _Place, slot: _Slot) -> None:
    """`KEEP_IDLE` seconds without a holder: close the client (its loop-end closer does); the next
    call makes a new one."""
    slot.idle = None
    if slot.holders or slot.closer is None:
        return
    _forget(place, slot)
    loop = place[0]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    task = loop.create_task(slot.closer.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


async def _close_at_loop_end(place: _Place, slot: _Slot) -> AsyncGenerator[None, None]:
    """Suspended until closed: by `_close_idle`, or by the loop as it ends; then closes the client."""
    try:
        yield
    finally:
        _forget(place, slot)
        if slot.idle is not None:
            slot.idle.cancel()
            slot.idle = None
        slot.closer = None
        client, slot.client = slot.client, None
        if client is not None:
            await client.close()


class HTTPModel(ABC):
    """The base of the HTTP providers: settings, connection sharing, the retrying stream and headers.

    A subclass names itself (`provider`, `provider_id`, the options it `honours`) and implements
    the abstract hooks: `request_params` (the body of one call), `_new_client`, `_attempt` (one
    streamed call as Anthropic event dicts), `_classify` (retry or not), `_map_errors` (provider
    errors -> `ModelError`) and `_cost`.
    Each call honours the request's `Timeouts`: `connect` for opening a connection, `idle` for the
    wait for content (see `retrying_stream`).
    """

    provider: ClassVar[str]
    """How error messages name the provider, e.g. `the Anthropic API`."""
    provider_id: ClassVar[str]
    """`ModelError.provider` of its errors, e.g. `anthropic`."""
    honours: ClassVar[frozenset[str]]
    """The `ModelSettings` options (by option name) this provider honours."""
    client_module: ClassVar[str | None]
    """The SDK module its client comes from (None: no SDK), imported off the event loop by a call's
    first step (`load_client_module`); the hooks may then import it at no cost."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        max_retries: int,
        retry_delay: float,
        max_retry_delay: float,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        self._model = model
        self.base_url = base_url
        self.retry_policy = RetryPolicy(max_retries=max_retries, initial_delay=retry_delay, max_delay=max_retry_delay)
        self._headers = dict(default_headers or {})
        self._client: SharedClient[Any] = SharedClient(self._new_client, self._client_key)

    @property
    def model_name(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._model!r}, base_url={self.base_url!r})"

    def check_settings(self, settings: ModelSettings) -> None:
        """`UnsupportedOptionError` for a requested option this provider cannot honour."""
        settings.reject_unsupported(f"{self.provider} (model {self._model!r})", self.honours)

    def keep_connected(self) -> AbstractAsyncContextManager[None]:
        """Keep the HTTP connection open for every call until the context exits (an agent run does);
        then it stays open `KEEP_IDLE` seconds more for the loop's next call (see `SharedClient`)."""
        return self._client.hold()

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream one call: Anthropic-shaped events, then the complete `ModelResponse`."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        await load_client_module(self.client_module)  # before any hook imports it on the event loop
        params = self.request_params(request)
        attempts = Attempts()
        timeout = http_timeout(request.timeouts)
        async with self._client.use() as client:
            headers = self.request_headers(str(client.user_agent), request.settings)
            events = retrying_stream(
                lambda: self._attempt(client, params, headers, timeout),
                model=self._model,
                policy=self.retry_policy,
                classify=self._failure,
                attempts=attempts,
                cost=self._cost,
                idle=request.timeouts.idle,
            )
            with self._stream_errors(attempts), self._map_errors(attempts):
                async with closing(events):
                    async for event in events:
                        yield event

    def request_headers(self, user_agent: str, settings: ModelSettings) -> dict[str, str]:
        """The headers one call adds to the client's: the User-Agent with the app label, if any."""
        return {"User-Agent": f"{user_agent} {settings.client_app}"} if settings.client_app else {}

    def _failure(self, error: BaseException) -> Failure:
        if isinstance(error, MalformedStreamError):
            return Failure(True)
        if isinstance(error, IdleTimeoutError):
            return Failure(False)
        return self._classify(error)

    @contextmanager
    def _stream_errors(self, attempts: Attempts) -> Iterator[None]:
        """What the provider's `_map_errors` leaves: tether's own stream errors, and anything unexpected."""
        try:
            yield
        except TetherError:
            raise
        except MalformedStreamError as error:
            message = f"{self.provider} sent a malformed stream{after_retries(attempts)}: {error}; nothing was kept"
            raise ModelError(message, provider=self.provider_id) from error
        except IdleTimeoutError as error:
            before = f" (the attempt before failed: {error.earlier})" if error.earlier else ""
            message = f"{self.provider} sent {error}{after_retries(attempts)}{before}; nothing was kept"
            raise ModelError(message, provider=self.provider_id) from error
        except Exception as error:
            what = f"{type(error).__name__}: {error}"
            message = f"the call to {self.provider} failed unexpectedly ({what}); nothing was kept"
            raise ModelError(message, provider=self.provider_id) from error

    def _client_key(self) -> Hashable:
        """What `_new_client` makes its client from: models with equal keys share one client per event
        loop (see `SharedClient`). By default each model has its own."""
        return self

    # -- what a provider implements --------------------------------------------------------------

    @abstractmethod
    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        """The body of one call for `request` (the request itself is not modified)."""

    @abstractmethod
    def _new_client(self) -> Any:
        """A new SDK client (with `close()` and `user_agent`); made once per event loop, see `SharedClient`."""

    @abstractmethod
    def _attempt(
        self, client: Any, params: dict[str, Any], headers: dict[str, str], timeout: httpx2.Timeout
    ) -> AsyncGenerator[dict[str, Any], None]:
        """One streamed call, as Anthropic SSE event dicts; a connection lost once the response has
        begun is raised as `StreamIncompleteError`."""

    @abstractmethod
    def _classify(self, error: BaseException) -> Failure:
        """Whether a failed attempt may be retried (and whether it was a rate limit), by the error's type
        and status, never by its message."""

    @abstractmethod
    def _map_errors(self, attempts: Attempts) -> AbstractContextManager[None]:
        """A context turning the provider's errors into `ModelError`s with a clear message."""

    @abstractmethod
    def _cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        """The cost in USD of a call's `usage` on `model`; None when its price is unknown."""


IDLE_MARGIN = 5.0
"""Seconds the HTTP read timeout allows beyond the idle timeout, so the idle clock (which pings do
not reset) always ends a silent stream first, with its clearer message."""


def http_timeout(timeouts: Timeouts) -> httpx2.Timeout:
    """The HTTP timeouts of one call: `connect` to connect (and to wait for a pooled connection);
    reads and writes are bounded by the idle clock, with `IDLE_MARGIN` as a backstop."""
    return httpx2.Timeout(timeouts.idle + IDLE_MARGIN, connect=timeouts.connect, pool=timeouts.connect)
