"""The one guard between the agent loop and any `Model`: typed errors, a valid response, a time limit.

`guarded_stream(model, request)` is `model.stream(request)` held to the `Model` protocol, so the
loop meets only what it expects, whatever the model (tether's providers, `ScriptedModel`, yours):

- anything a model raises that is not a `TetherError` becomes a `ModelError` naming the model and
  the exception (tether's HTTP providers retry what is safe to retry before that, see
  `tether.models.retry`);
- events must be `RawStreamEvent` (holding a dict), `RateLimited` or one `ModelResponse`, last;
- the response is checked before the loop stores it: its content blocks must be well-formed (a
  `tool_use` has an id, a name and an object `input`, see `tether.messages.block_problem`), its
  `usage` a dict, its `model` a string; a malformed one is a `ModelError`, and nothing is stored;
- the call ends with a `ModelError` once it runs past `request_timeout`, or past the run's
  deadline (`run_timeout`), whichever comes first.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio

from tether.errors import ModelError, TetherError
from tether.messages import block_problem, json_type_name
from tether.models.base import (
    Model,
    ModelEvent,
    ModelRequest,
    ModelResponse,
    RateLimited,
    RawStreamEvent,
    Timeouts,
    closing,
)

__all__ = ["guarded_stream", "response_problem"]


@dataclass(frozen=True)
class _Limit:
    """When the call must end, and what to say then."""

    at: float
    message: str


async def guarded_stream(model: Model, request: ModelRequest) -> AsyncIterator[ModelEvent]:
    """Stream one call of `model`, held to the protocol and to `request.timeouts` (see the module doc).

    Events are passed on as they come; the `ModelResponse` is checked and yielded last.
    """
    name = _name_of(model)
    limit = _limit(request.timeouts, name, anyio.current_time())
    response: ModelResponse | None = None
    stream = model.stream(request)
    async with closing(stream):
        while (event := await _next(stream, name, limit)) is not None:
            if response is not None:
                raise ModelError(f"the model {name!r} sent {type(event).__name__} after its response")
            if isinstance(event, ModelResponse):
                response = event
                continue
            _check_event(event, name)
            yield event
    if response is None:
        raise ModelError(f"the model {name!r} ended its stream without a response")
    problem = response_problem(response)
    if problem is not None:
        raise ModelError(f"the model {name!r} sent a malformed response: {problem}; nothing was kept")
    yield response


def response_problem(response: ModelResponse) -> str | None:
    """What is wrong with a response, or None when the loop can store and use it."""
    content: Any = response.content
    if not isinstance(content, list):
        return f"its content is {json_type_name(content)}, not a list of blocks"
    for index, block in enumerate(content):
        problem = block_problem(block)
        if problem is not None:
            return f"content block {index}: {problem}"
    if not isinstance(response.usage, dict):
        return f"its usage is {json_type_name(response.usage)}, not an object"
    if not isinstance(response.model, str):
        return f"its model is {json_type_name(response.model)}, not a string"
    if response.stop_reason is not None and not isinstance(response.stop_reason, str):
        return f"its stop_reason is {json_type_name(response.stop_reason)}, not a string"
    cost: Any = response.cost_usd
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int | float)):
        return f"its cost_usd is {json_type_name(cost)}, not a number"
    return None


def _check_event(event: object, name: str) -> None:
    if isinstance(event, RateLimited):
        return
    if not isinstance(event, RawStreamEvent):
        raise ModelError(f"the model {name!r} sent {type(event).__name__}, which is not a model event")
    if not isinstance(event.event, dict):
        raise ModelError(f"the model {name!r} sent a stream event that is {json_type_name(event.event)}")


async def _next(stream: AsyncIterator[ModelEvent], name: str, limit: _Limit | None) -> ModelEvent | None:
    """The next event (None at the end), within `limit`; any failure as a typed error."""
    with anyio.CancelScope(deadline=limit.at if limit is not None else math.inf):
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None
        except TetherError:
            raise
        except Exception as error:
            raise ModelError(f"the model {name!r} failed: {type(error).__name__}: {error}") from error
    assert limit is not None  # only a deadline cancels this scope; an outer cancel propagates
    raise ModelError(limit.message)


def _limit(timeouts: Timeouts, name: str, now: float) -> _Limit | None:
    """The earlier of the call's `request_timeout` and the run's deadline, if any."""
    limits: list[_Limit] = []
    if timeouts.request is not None:
        message = f"the call to the model {name!r} took longer than request_timeout ({timeouts.request:g} s)"
        limits.append(_Limit(now + timeouts.request, f"{message}; nothing was kept"))
    if timeouts.run_deadline is not None:
        message = f"{timeouts.run_expired_message()} while the model {name!r} was answering"
        limits.append(_Limit(timeouts.run_deadline, f"{message}; nothing was kept"))
    return min(limits, key=lambda limit: limit.at) if limits else None


def _name_of(model: Model) -> str:
    try:
        return str(model.model_name)
    except Exception:  # a model whose name fails is still guarded
        return type(model).__name__
