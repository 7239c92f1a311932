"""Deterministic models for tests: `ScriptedModel` replays replies, `FunctionModel` computes them.

Both record every request (`model.requests`), so a test can assert exactly which history the
model was sent. A reply may be a string (a text answer), a `ModelResponse`, a list of content
blocks (dicts or tether content blocks), or an exception to raise (e.g. a `ModelError`).
"""

from __future__ import annotations

import copy
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from tether._vocabulary.store import SessionStore
from tether.agent.overrides import model_override
from tether.errors import ModelError
from tether.messages import ContentBlock, block_to_dict
from tether.models.base import Model, ModelEvent, ModelRequest, ModelResponse, response_stream_events
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.urls import store_override

__all__ = ["FunctionModel", "Reply", "ScriptedModel", "override_model", "text_reply", "tool_use_reply"]

Reply = str | ModelResponse | Sequence[dict[str, Any] | ContentBlock] | BaseException


def text_reply(text: str) -> ModelResponse:
    """A reply that answers with `text` and ends the turn."""
    return ModelResponse(content=[{"type": "text", "text": text}], model="", stop_reason="end_turn")


_call_counter = 0


def tool_use_reply(
    name: str, input: dict[str, Any], *, text: str | None = None, id: str | None = None
) -> ModelResponse:
    """A reply that calls tool `name` with `input` (optionally after some text)."""
    global _call_counter
    _call_counter += 1
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content.append({"type": "tool_use", "id": id or f"toolu_{_call_counter:06d}", "name": name, "input": input})
    return ModelResponse(content=content, model="", stop_reason="tool_use")


def _estimate_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, ensure_ascii=False)) // 4)


class _RecordingModel:
    """Shared behaviour: request recording, reply normalisation, optional stream events."""

    __test__ = False

    def __init__(self, model_name: str, *, stream_events: bool, cost_per_reply: float | None) -> None:
        self._model_name = model_name
        self.stream_events = stream_events
        self.cost_per_reply = cost_per_reply
        self.requests: list[ModelRequest] = []

    @property
    def model_name(self) -> str:
        return self._model_name

    def _record(self, request: ModelRequest) -> None:
        self.requests.append(copy.deepcopy(request))

    def _response(self, reply: Reply, request: ModelRequest) -> ModelResponse:
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            response = text_reply(reply)
        elif isinstance(reply, ModelResponse):
            response = copy.deepcopy(reply)
        else:
            blocks = [b if isinstance(b, dict) else block_to_dict(b) for b in reply]
            has_calls = any(b.get("type") == "tool_use" for b in blocks)
            response = ModelResponse(content=blocks, model="", stop_reason="tool_use" if has_calls else "end_turn")
        response.model = response.model or self._model_name
        if not response.usage:
            response.usage = {
                "input_tokens": _estimate_tokens(request.messages),
                "output_tokens": _estimate_tokens(response.content),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            }
        if response.cost_usd == 0.0:
            response.cost_usd = self.cost_per_reply
        response.id = response.id or f"msg_{uuid.uuid4().hex[:24]}"
        return response

    async def _events(self, response: ModelResponse) -> AsyncIterator[ModelEvent]:
        if self.stream_events:
            for event in response_stream_events(response):
                yield event
        yield response

    @property
    def last_request(self) -> ModelRequest:
        """The most recent request (fails if there was none)."""
        if not self.requests:
            raise AssertionError("the model has not received any request")
        return self.requests[-1]


class ScriptedModel(_RecordingModel):
    """Replays `replies` in order, one per model call; runs out -> `ModelError`."""

    def __init__(
        self,
        replies: Iterable[Reply],
        *,
        model_name: str = "scripted-model",
        stream_events: bool = True,
        cost_per_reply: float | None = 0.0,
    ) -> None:
        super().__init__(model_name, stream_events=stream_events, cost_per_reply=cost_per_reply)
        self.replies = list(replies)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Record the request and stream the next scripted reply."""
        self._record(request)
        index = len(self.requests) - 1
        if index >= len(self.replies):
            raise ModelError(f"ScriptedModel has no reply left for request #{index + 1} ({len(self.replies)} scripted)")
        async for event in self._events(self._response(self.replies[index], request)):
            yield event


class FunctionModel(_RecordingModel):
    """Computes each reply with `function(request)` (sync or async)."""

    def __init__(
        self,
        function: Callable[[ModelRequest], Reply | Awaitable[Reply]],
        *,
        model_name: str = "function-model",
        stream_events: bool = True,
        cost_per_reply: float | None = 0.0,
    ) -> None:
        super().__init__(model_name, stream_events=stream_events, cost_per_reply=cost_per_reply)
        self.function = function

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Record the request and stream the function's reply."""
        self._record(request)
        reply = self.function(copy.deepcopy(request))
        if inspect.isawaitable(reply):
            reply = await reply
        async for event in self._events(self._response(reply, request)):
            yield event


_M = TypeVar("_M", bound=Model)


@contextmanager
def override_model(model: _M, *, session_store: SessionStore | str | None = None) -> Iterator[_M]:
    """Within this block, every agent uses `model` whatever its options name (code stays unchanged).

    Code that names no session store (no `session_store=`, no `--store`) uses `session_store`
    instead of `$TETHER_STORE_URL` or `~/.tether`: by default one new `MemoryStore` for the block,
    so a test never writes into a real store. Pass a store object or URL to keep the sessions.

    ```python
    with override_model(ScriptedModel(["Hi"])) as model:
        await my_app()            # calls query(options=AgentOptions(model="claude-sonnet-4-5"))
    assert model.requests
    ```
    """
    model_token = model_override.set(model)
    store_token = store_override.set(MemoryStore() if session_store is None else session_store)
    try:
        yield model
    finally:
        store_override.reset(store_token)
        model_override.reset(model_token)
