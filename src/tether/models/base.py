"""The `Model` protocol: the one seam between the agent loop and a model provider.

A provider receives a `ModelRequest` (the conversation as Anthropic Messages API dicts, the
system prompt and the tool schemas) and streams back `ModelEvent`s: any number of
`RawStreamEvent`s (Anthropic-shaped SSE events, surfaced as `StreamEvent` messages when the user
asks for partial messages), then exactly one `ModelResponse`, always last.

Providers raise `tether.errors.ModelError` when the call fails after their own retries. A request
is read-only: its messages are the session's own history, so a provider that needs to change
them (cache marks, conversions) works on copies.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Model",
    "ModelEvent",
    "ModelRequest",
    "ModelResponse",
    "RawStreamEvent",
    "ToolSpec",
    "add_usage",
    "empty_usage",
    "keep_connected",
    "response_stream_events",
]

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: name, description and JSON schema of its input."""

    name: str
    description: str
    input_schema: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The Anthropic `tools` entry of this tool."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


@dataclass
class ModelRequest:
    """Everything a provider needs for one model call."""

    messages: list[dict[str, Any]]
    """The conversation, Anthropic Messages API shape: `{"role", "content"}` dicts, user first."""
    system: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 8192
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelResponse:
    """One complete model response."""

    content: list[dict[str, Any]]
    """Anthropic content blocks: text, thinking, tool_use."""
    model: str
    stop_reason: str | None = "end_turn"
    usage: dict[str, int] = field(default_factory=dict)
    """`input_tokens`, `output_tokens`, `cache_creation_input_tokens`, `cache_read_input_tokens`."""
    id: str | None = None
    cost_usd: float | None = 0.0
    """Cost of this call in USD; None when the price of the model is unknown."""


@dataclass
class RawStreamEvent:
    """One raw streaming event of the provider, in Anthropic SSE shape (`{"type": ...}`)."""

    event: dict[str, Any]


ModelEvent = RawStreamEvent | ModelResponse


@runtime_checkable
class Model(Protocol):
    """A model provider. Implement `stream`; it must yield a `ModelResponse` last."""

    @property
    def model_name(self) -> str:
        """The name reported in messages and usage (e.g. `claude-sonnet-4-5`)."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Run one model call, yielding raw events and finally the complete response."""
        ...


def keep_connected(model: Model) -> AbstractAsyncContextManager[None]:
    """Keep `model`'s connections open until the context exits, for models that hold any.

    A provider may offer `keep_connected()`; the agent enters it for a whole run, so the run's
    model calls share one connection. Models without it get a context that does nothing.
    """
    method = getattr(model, "keep_connected", None)
    return method() if method is not None else nullcontext()


def empty_usage() -> dict[str, int]:
    """A usage dict with every counter at zero."""
    return dict.fromkeys(USAGE_KEYS, 0)


def add_usage(total: dict[str, int], usage: dict[str, Any]) -> None:
    """Add the integer counters of `usage` into `total`, in place."""
    for key, value in usage.items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value


def response_stream_events(response: ModelResponse) -> list[RawStreamEvent]:
    """The Anthropic SSE events that would have streamed `response` (for non-streaming models)."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": response.id,
                "type": "message",
                "role": "assistant",
                "model": response.model,
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": response.usage.get("input_tokens", 0), "output_tokens": 0},
            },
        }
    ]
    for index, block in enumerate(response.content):
        kind = block.get("type")
        if kind == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            delta: dict[str, Any] = {"type": "text_delta", "text": block.get("text", "")}
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            delta = {"type": "thinking_delta", "thinking": block.get("thinking", "")}
        elif kind == "tool_use":
            start = {"type": "tool_use", "id": block.get("id"), "name": block.get("name"), "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block.get("input", {}))}
        else:
            continue
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": response.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": response.usage.get("output_tokens", 0)},
        }
    )
    events.append({"type": "message_stop"})
    return [RawStreamEvent(event) for event in events]
