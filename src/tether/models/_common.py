"""What the HTTP providers share: assembling a message from Anthropic-shaped stream events, the
retry policy, the retrying stream driver, and `HTTPModel`, the base of both HTTP providers.

Every provider turns its wire stream into Anthropic SSE event dicts; `MessageAccumulator` builds
the final `ModelResponse` from them, so a response looks the same whatever the provider, and
`retrying_stream` gives every provider the same retry and partial-output rules:

- a failed attempt is retried (with backoff) only while nothing has been yielded for it: events
  are held back until the first content event, so an overload reported right after
  `message_start` is retried too;
- once content has been yielded a failure is final (the caller already saw partial output);
- a stream that ends before `message_stop` is an error, never a partial response;
- a 429 is reported once per call as a `RateLimited` event, before the wait or the failure.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import functools
import json
import random
import re
import ssl
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import anyio
import httpx2

from tether.errors import ModelError, TetherError
from tether.messages import json_type_name
from tether.models.base import (
    DEFAULT_TIMEOUTS,
    JSON_INPUT_BLOCKS,
    USAGE_KEYS,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    RateLimited,
    RawStreamEvent,
    Timeouts,
)
from tether.models.settings import ModelSettings

__all__ = [
    "Attempts",
    "Failure",
    "HTTPModel",
    "after_retries",
    "IdleTimeoutError",
    "MalformedStreamError",
    "SharedClient",
    "closing",
    "describe",
    "MessageAccumulator",
    "RetryPolicy",
    "StreamIncompleteError",
    "http_error_message",
    "http_timeout",
    "retry_after_seconds",
    "retrying_stream",
    "status_failure",
    "stream_object",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
_PREAMBLE = frozenset({"message_start", "ping"})


T = TypeVar("T")


@asynccontextmanager
async def closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Use `stream` and close it on exit, even when its consumer stops early.

    `async for` does not close an async generator it leaves early; without this, the generator's
    cleanup (closing an HTTP response, stopping a generation thread) waits for the garbage collector.
    """
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class StreamIncompleteError(Exception):
    """The stream ended, or broke the protocol, before the message was complete."""


class MalformedStreamError(Exception):
    """The provider sent what its protocol does not allow: a data line that is not JSON, an event
    field of the wrong type... Retried like a dropped connection while nothing was yielded."""


class IdleTimeoutError(Exception):
    """No content arrived within the idle timeout (`Timeouts.idle`); never retried."""

    def __init__(self, idle: float) -> None:
        super().__init__(f"no content for {idle:g} s (stream_idle_timeout)")
        self.earlier: str | None = None
        """How the attempt before failed, when the call was retried."""


def _index(event: Mapping[str, Any]) -> int:
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise MalformedStreamError(f"a {event.get('type')} event has index {index!r}, not a whole number")
    return index


def stream_object(value: Any, what: str, *, required: bool = False) -> Mapping[str, Any]:
    """`value` if it is a JSON object (None reads as an empty one unless `required`); else
    `MalformedStreamError` saying `the WHAT is ...`."""
    if isinstance(value, Mapping):
        return value
    if value is None and not required:
        return {}
    raise MalformedStreamError(f"the {what} is {json_type_name(value)}, not an object")


def _mapping(event: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any]:
    value = event.get(key)
    if isinstance(value, Mapping):  # the common case: no message to build
        return value
    return stream_object(value, f"{key} of a {event.get('type')} event", required=required)


def _text(where: Mapping[str, Any], key: str, what: str, *, optional: bool = False) -> str | None:
    """The string field `key` of `what`, a part of an event (None when absent and `optional`)."""
    value = where.get(key)
    if isinstance(value, str) or (value is None and optional):
        return value
    raise MalformedStreamError(f"the {key} of {what} is {json_type_name(value)}, not a string")


_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
    "signature_delta": "signature",
}
"""Delta type -> its string field."""
_TEXT_FIELDS = ("text", "thinking")
"""The block fields whose deltas are appended (joined when the block ends)."""


class MessageAccumulator:
    """Builds one `ModelResponse` from Anthropic SSE event dicts, fed in order with `add`.

    An event that breaks the protocol (a field of the wrong type, a delta for a block never
    started) raises `MalformedStreamError` or `StreamIncompleteError`; unknown event and delta
    types are skipped, as the API may add some.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.id: str | None = None
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        """The raw usage, merged over the stream (may hold nested details such as `cache_creation`)."""
        self.complete = False
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, list[str]] = {}
        self._texts: dict[tuple[int, str], list[str]] = {}
        """The text pieces of each block's text field (`text`, `thinking`), joined once at the end."""

    def add(self, event: Mapping[str, Any]) -> None:
        if not isinstance(event, Mapping):
            raise MalformedStreamError(f"a stream event is {json_type_name(event)}, not an object")
        kind = event.get("type")
        if kind == "message_start":
            self._start(_mapping(event, "message"))
        elif kind == "content_block_start":
            self._start_block(_index(event), _mapping(event, "content_block", required=True))
        elif kind == "content_block_delta":
            self._delta(_index(event), _mapping(event, "delta", required=True))
        elif kind == "content_block_stop":
            self._finish_block(_index(event))
        elif kind == "message_delta":
            delta = _mapping(event, "delta")
            self.stop_reason = _text(delta, "stop_reason", "a message_delta", optional=True) or self.stop_reason
            self._merge_usage(event.get("usage"))
        elif kind == "message_stop":
            self.complete = True

    def _start(self, message: Mapping[str, Any]) -> None:
        self.id = _text(message, "id", "the message of message_start", optional=True) or self.id
        self.model = _text(message, "model", "the message of message_start", optional=True) or self.model
        self._merge_usage(message.get("usage"))

    def _start_block(self, index: int, block: Mapping[str, Any]) -> None:
        _text(block, "type", f"content block {index}")
        self._blocks[index] = dict(block)
        if block.get("type") in JSON_INPUT_BLOCKS:
            self._json[index] = []

    def _merge_usage(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            self.usage.update({key: value for key, value in usage.items() if value is not None})

    def _delta(self, index: int, delta: Mapping[str, Any]) -> None:
        block = self._blocks.get(index)
        if block is None:
            raise StreamIncompleteError(f"a delta arrived for content block {index}, which was never started")
        kind = delta.get("type")
        if kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))
        key = _DELTA_FIELDS.get(str(kind))
        if key is None:
            return
        piece = _text(delta, key, f"a {kind} of block {index}") or ""
        if kind == "input_json_delta":
            self._json.setdefault(index, []).append(piece)
        elif kind == "signature_delta":
            block["signature"] = piece
        else:
            self._texts.setdefault((index, key), [str(block.get(key) or "")]).append(piece)

    def _finish_block(self, index: int) -> None:
        block = self._blocks.get(index)
        if block is not None:
            for key in _TEXT_FIELDS:
                texts = self._texts.pop((index, key), None)
                if texts is not None:
                    block[key] = "".join(texts)
        pieces = self._json.pop(index, None)
        if block is None or pieces is None:
            return
        text = "".join(pieces)
        if not text.strip():
            block.setdefault("input", {})
            return
        try:
            block["input"] = json.loads(text)
        except json.JSONDecodeError:
            block["input"] = None  # cut off by max_tokens; dropped (or reported) in `response`
            block["_partial_json"] = text

    def response(self, cost: Callable[[str, Mapping[str, Any]], float | None]) -> ModelResponse:
        """The complete response; raises `StreamIncompleteError` if the stream was cut short."""
        if not self.complete:
            raise StreamIncompleteError("the response stream ended before the message was complete")
        content: list[dict[str, Any]] = []
        for index in sorted(self._blocks):
            block = self._blocks[index]
            self._finish_block(index)
            if block.get("type") in JSON_INPUT_BLOCKS and "_partial_json" in block:
                if self.stop_reason == "max_tokens":
                    continue  # an unfinished call cut off by max_tokens cannot be run
                raise StreamIncompleteError(f"the input of tool call {block.get('name')!r} is not valid JSON")
            content.append(block)
        usage: dict[str, Any] = {key: _int(self.usage.get(key)) for key in USAGE_KEYS}
        if isinstance(self.usage.get("server_tool_use"), Mapping):
            usage["server_tool_use"] = dict(self.usage["server_tool_use"])
        return ModelResponse(
            content=content,
            model=self.model,
            stop_reason=self.stop_reason,
            usage=usage,
            id=self.id,
            cost_usd=cost(self.model, self.usage),
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff with jitter, or the server's Retry-After.

    `initial_delay` doubles per retry up to `max_delay`; tests pass a tiny `initial_delay`.
    A Retry-After longer than `max_retry_after` is not waited for (the error is raised).
    """

    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retries_done: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retries_done + 1`."""
        if retry_after is not None and retry_after >= 0:
            return retry_after
        backoff = min(self.initial_delay * 2.0**retries_done, self.max_delay)
        return backoff * (1 - 0.25 * random.random())

    def retryable_status(self, status: int | None, headers: Mapping[str, str] | None) -> bool:
        """Whether an HTTP error status is worth retrying (429, 408, 409, 5xx incl. 529)."""
        should = (headers or {}).get("x-should-retry")
        if should in ("true", "false"):
            return should == "true"
        if status is None:
            return False
        if status not in RETRYABLE_STATUSES and status < 500:
            return False
        after = retry_after_seconds(headers)
        return after is None or after <= self.max_retry_after


@dataclass
class Attempts:
    """Retries made by one model call (for error messages)."""

    retries: int = 0


@dataclass(frozen=True)
class Failure:
    """What to do about a failed attempt: retry it (after `wait` seconds, or the backoff) or not."""

    retry: bool
    wait: float | None = None
    rate_limit_headers: Mapping[str, str] | None = None
    """The response headers when the provider rate-limited the call (HTTP 429)."""


def status_failure(policy: RetryPolicy, status: int | None, headers: Mapping[str, str] | None) -> Failure:
    """The `Failure` of an HTTP error status with these response headers."""
    limited = dict(headers or {}) if status == 429 else None  # 429 in a 200 stream: no headers
    if not policy.retryable_status(status, headers):
        return Failure(False, rate_limit_headers=limited)
    return Failure(True, retry_after_seconds(headers), rate_limit_headers=limited)


_RATE_LIMIT_HEADER = re.compile(r"^(retry-after(-ms)?|anthropic-ratelimit-.*|x-ratelimit-.*)$")
_ANTHROPIC_REMAINING = re.compile(r"^anthropic-ratelimit-(.+)-remaining$")


def rate_limited(failure: Failure, wait: float | None) -> RateLimited:
    """The `RateLimited` event of a 429 `failure`; `wait` is the delay before the retry (None: no retry).

    It resets when the exhausted Anthropic limit (`anthropic-ratelimit-<limit>-remaining: 0`) does,
    else after the Retry-After.
    """
    headers = {k.lower(): v for k, v in (failure.rate_limit_headers or {}).items()}
    kept = {name: value for name, value in headers.items() if _RATE_LIMIT_HEADER.match(name)}
    resets = [
        _unix_time(headers.get(f"anthropic-ratelimit-{match.group(1)}-reset", ""))
        for name, value in kept.items()
        if (match := _ANTHROPIC_REMAINING.match(name)) and value.strip() == "0"
    ]
    known = [reset for reset in resets if reset is not None]
    after = retry_after_seconds(headers)
    if not known and after is not None:
        known.append(int(time.time() + after))
    return RateLimited(retry_after=wait, resets_at=max(known) if known else None, headers=kept)


def _unix_time(value: str) -> int | None:
    try:
        return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's `retry-after-ms` / `retry-after` (seconds or HTTP date), in seconds."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


class _IdleClock:
    """The idle deadline of one call: `idle` seconds after its start, then after each content event."""

    def __init__(self, idle: float) -> None:
        self.idle = idle
        self.deadline = anyio.current_time() + idle

    def touch(self) -> None:
        self.deadline = anyio.current_time() + self.idle

    def allows(self, wait: float) -> bool:
        """Whether a retry after `wait` seconds still starts within the idle window."""
        return anyio.current_time() + wait < self.deadline


class _Held:
    """The events of one attempt, held back until the first content event commits it."""

    def __init__(self) -> None:
        self.committed = False
        self.events: list[dict[str, Any]] = []

    def add(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The events to pass on now that `event` arrived (none while only the preamble came)."""
        if self.committed:
            return [event]
        self.events.append(event)
        if event.get("type") in _PREAMBLE:
            return []
        self.committed = True
        ready, self.events = self.events, []
        return ready


_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError)
"""What a client's stream decoding raises on data that breaks the protocol (JSONDecodeError is a ValueError)."""


async def _next_event(events: AsyncIterator[dict[str, Any]], clock: _IdleClock) -> dict[str, Any] | None:
    """The attempt's next event (None at its end) before the idle deadline.

    Data the client could not decode is raised as `MalformedStreamError`.
    """
    with anyio.CancelScope(deadline=clock.deadline):
        try:
            return await events.__anext__()
        except StopAsyncIteration:
            return None
        except TetherError:
            raise
        except json.JSONDecodeError as error:
            raise MalformedStreamError(f"a data line of the stream is not JSON ({error})") from error
        except _UNREADABLE as error:
            raise MalformedStreamError(f"{type(error).__name__}: {error}") from error
    raise IdleTimeoutError(clock.idle)


async def retrying_stream(
    attempt: Callable[[], AsyncGenerator[dict[str, Any], None]],
    *,
    model: str,
    policy: RetryPolicy,
    classify: Callable[[BaseException], Failure],
    attempts: Attempts,
    cost: Callable[[str, Mapping[str, Any]], float | None],
    idle: float = DEFAULT_TIMEOUTS.idle,
) -> AsyncIterator[ModelEvent]:
    """Run `attempt()` (one call streaming Anthropic event dicts) with retries; yield events, then the response.

    `classify(error)` says whether a failed attempt may be retried, and whether it was a rate limit.
    No content for `idle` seconds (from the start, across retries, then between content events)
    raises `IdleTimeoutError`; a retry that would start after that is not made.
    """
    clock = _IdleClock(idle)
    reported_rate_limit = False
    earlier: Exception | None = None
    while True:
        accumulator = MessageAccumulator(model)
        held = _Held()
        events = attempt()
        try:
            try:
                while (event := await _next_event(events, clock)) is not None:
                    accumulator.add(event)
                    for ready in held.add(event):
                        yield RawStreamEvent(ready)
                    if event.get("type") not in _PREAMBLE:
                        clock.touch()
                response = accumulator.response(cost)
            finally:
                await events.aclose()
        except Exception as error:
            if isinstance(error, IdleTimeoutError) and earlier is not None:
                error.earlier = describe(earlier)
            earlier = error
            failure = classify(error)
            retry = not held.committed and failure.retry and attempts.retries < policy.max_retries
            wait = policy.delay(attempts.retries, failure.wait) if retry else None
            if wait is not None and not clock.allows(wait):
                wait = None  # the idle window is over: the call fails now
            if failure.rate_limit_headers is not None and not reported_rate_limit:
                reported_rate_limit = True
                yield rate_limited(failure, wait)
            if wait is None:
                raise
            await anyio.sleep(wait)
            attempts.retries += 1
            continue
        yield response  # a complete message ended with message_stop, which committed every held event
        return


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
    after = _after(retries)
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


class _Closable(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)


class SharedClient(Generic[ClientT]):
    """An SDK client, and so its connections, shared by whoever holds it on one event loop.

    A model call holds it with `use()`, and an agent run holds it with `hold()` from start to end,
    so the calls of a run (each turn of the tool loop, each prompt of an `AgentClient`) reuse one
    connection instead of opening one (with its TLS handshake) per call. The client is made on
    first use and closed when the last holder lets go: nothing outlives its users. Clients
    belong to the event loop they were made on, so each running loop gets its own.
    """

    def __init__(self, factory: Callable[[], ClientT]) -> None:
        self._factory = factory
        self._held: dict[object, list[Any]] = {}  # loop -> [client or None, holders]

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Keep the client (once made) open until this exits."""
        loop = self._enter()
        try:
            yield
        finally:
            await self._exit(loop)

    @asynccontextmanager
    async def use(self) -> AsyncIterator[ClientT]:
        """The client of the running loop, made if needed, held while in use."""
        loop = self._enter()
        try:
            slot = self._held[loop]
            if slot[0] is None:
                slot[0] = self._factory()
            yield slot[0]
        finally:
            await self._exit(loop)

    def _enter(self) -> object:
        try:
            loop: object = asyncio.get_running_loop()
        except RuntimeError:  # another event loop (trio): one runs per thread at a time
            loop = threading.get_ident()
        self._held.setdefault(loop, [None, 0])[1] += 1
        return loop

    async def _exit(self, loop: object) -> None:
        slot = self._held[loop]
        slot[1] -= 1
        if slot[1] == 0:
            del self._held[loop]
            if slot[0] is not None:
                await slot[0].close()


class HTTPModel:
    """The base of the HTTP providers: settings, connection sharing, the retrying stream and headers.

    A subclass names itself (`provider`, the options it `honours`) and implements `request_params`
    (the body of one call), `_new_client`, `_attempt` (one streamed call as Anthropic event
    dicts), `_classify` (retry or not) and `_map_errors` (provider errors -> `ModelError`).
    Each call honours the request's `Timeouts`: `connect` for opening a connection, `idle` for the
    wait for content (see `retrying_stream`).
    """

    provider: ClassVar[str]
    """How error messages name the provider, e.g. `the Anthropic API`."""
    provider_id: ClassVar[str]
    """`ModelError.provider` of its errors, e.g. `anthropic`."""
    honours: ClassVar[frozenset[str]]
    """The `ModelSettings` options (by option name) this provider honours."""

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
        self._client: SharedClient[Any] = SharedClient(self._new_client)

    @property
    def model_name(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._model!r}, base_url={self.base_url!r})"

    def check_settings(self, settings: ModelSettings) -> None:
        """`UnsupportedOptionError` for a requested option this provider cannot honour."""
        settings.reject_unsupported(f"{self.provider} (model {self._model!r})", self.honours)

    def keep_connected(self) -> AbstractAsyncContextManager[None]:
        """Keep the HTTP connection open for every call until the context exits (an agent run does)."""
        return self._client.hold()

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream one call: Anthropic-shaped events, then the complete `ModelResponse`."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
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

    # -- what a provider implements --------------------------------------------------------------

    def request_params(self, request: ModelRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _new_client(self) -> Any:
        raise NotImplementedError

    def _attempt(
        self, client: Any, params: dict[str, Any], headers: dict[str, str], timeout: httpx2.Timeout
    ) -> AsyncGenerator[dict[str, Any], None]:
        raise NotImplementedError

    def _classify(self, error: BaseException) -> Failure:
        raise NotImplementedError

    def _map_errors(self, attempts: Attempts) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _cost(self, model: str, usage: Mapping[str, Any]) -> float | None:
        raise NotImplementedError


def describe(error: BaseException) -> str:
    """An error's message, or its type when the message is empty (a bare connection reset)."""
    return str(error) or type(error).__name__


def after_retries(attempts: Attempts) -> str:
    """` after N retries` (or ` after 1 retry`) when the call was retried, else nothing."""
    return _after(attempts.retries)


def _after(retries: int) -> str:
    return f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""


IDLE_MARGIN = 5.0
"""Seconds the HTTP read timeout allows beyond the idle timeout, so the idle clock (which pings do
not reset) always ends a silent stream first, with its clearer message."""


def http_timeout(timeouts: Timeouts) -> httpx2.Timeout:
    """The HTTP timeouts of one call: `connect` to connect (and to wait for a pooled connection);
    reads and writes are bounded by the idle clock, with `IDLE_MARGIN` as a backstop."""
    return httpx2.Timeout(timeouts.idle + IDLE_MARGIN, connect=timeouts.connect, pool=timeouts.connect)
