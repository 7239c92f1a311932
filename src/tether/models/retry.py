"""The retry policy of the HTTP providers and `retrying_stream`, the driver of one model call.

`retrying_stream` gives every provider the same retry and partial-output rules:

- a failed attempt is retried (with backoff) only while nothing has been yielded for it: events
  are held back until the first content event, so an overload reported right after
  `message_start` is retried too;
- once content has been yielded a failure is final (the caller already saw partial output);
- a stream that ends before `message_stop` is an error, never a partial response;
- a 429 is reported once per call as a `RateLimited` event, before the wait or the failure;
- no content within the idle timeout ends the call (`IdleTimeoutError`).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from tether.errors import TetherError
from tether.models.accumulator import MalformedStreamError, MessageAccumulator
from tether.models.base import DEFAULT_TIMEOUTS, ModelEvent, RateLimited, RawStreamEvent

__all__ = [
    "Attempts",
    "Failure",
    "IdleTimeoutError",
    "RetryPolicy",
    "after_retries",
    "describe",
    "rate_limited",
    "retries_note",
    "retry_after_seconds",
    "retrying_stream",
    "status_failure",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
_PREAMBLE = frozenset({"message_start", "ping"})


class IdleTimeoutError(Exception):
    """No content arrived within the idle timeout (`Timeouts.idle`); never retried."""

    def __init__(self, idle: float) -> None:
        super().__init__(f"no content for {idle:g} s (stream_idle_timeout)")
        self.earlier: str | None = None
        """How the attempt before failed, when the call was retried."""


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


def describe(error: BaseException) -> str:
    """An error's message, or its type when the message is empty (a bare connection reset)."""
    return str(error) or type(error).__name__


def after_retries(attempts: Attempts) -> str:
    """` after N retries` (or ` after 1 retry`) when the call was retried, else nothing."""
    return retries_note(attempts.retries)


def retries_note(retries: int) -> str:
    """` after N retries` (or ` after 1 retry`) when `retries` > 0, else nothing."""
    return f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""
