"""The `Model` protocol: the one seam between the agent loop and a model provider.

A provider receives a `ModelRequest` (the conversation as Anthropic Messages API dicts, the
system prompt and the tool schemas) and streams back `ModelEvent`s: any number of
`RawStreamEvent`s (Anthropic-shaped SSE events, surfaced as `StreamEvent` messages when the user
asks for partial messages), then exactly one `ModelResponse`, always last.

A provider may also yield `RateLimited` when the provider rate-limits the call (before it waits
and retries, or fails); it is not content, so it does not commit the call.

Providers raise `tether.errors.ModelError` when the call fails after their own retries. A request
is read-only: its messages are the session's own history, so a provider that needs to change
them (cache marks, conversions) works on copies. The agent reads every model through
`tether.models.guard.guarded_stream`, which holds any model to this protocol and to the run's
`Timeouts`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

import anyio

from tether._vocabulary.options import seconds_option
from tether.errors import ConfigurationError
from tether.models.settings import ModelSettings

if TYPE_CHECKING:
    from tether.options import AgentOptions

__all__ = [
    "DEFAULT_TIMEOUTS",
    "Model",
    "ModelSettings",
    "ModelEvent",
    "ModelRequest",
    "ModelResponse",
    "RateLimited",
    "RawStreamEvent",
    "SettingsChecker",
    "Timeouts",
    "ToolSpec",
    "add_usage",
    "check_settings",
    "closing",
    "empty_usage",
    "keep_connected",
    "response_stream_events",
]

JSON_INPUT_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
"""Blocks whose `input` streams as `input_json_delta` pieces."""
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


@dataclass(frozen=True)
class Timeouts:
    """How long a model call may take, from `AgentOptions` (seconds; see the README on timeouts).

    `connect` and `idle` are honoured by the HTTP providers; `request` and `run_deadline` by the
    agent for every model (`tether.models.guard`). The defaults are those of `AgentOptions`.
    """

    connect: float = 10.0
    """Opening a connection to the provider (`connect_timeout`)."""
    idle: float = 60.0
    """The longest wait for content (`stream_idle_timeout`): from the start of a call, its retries
    included, to the first content event, then between content events. Keep-alive `ping`s and
    `message_start` are not content."""
    request: float | None = 600.0
    """The most one model call may take, retries included (`request_timeout`); None: no limit."""
    run: float | None = None
    """The run's own limit (`run_timeout`), for messages; None: no limit."""
    run_deadline: float | None = None
    """When the run must end (`anyio.current_time()` clock), set by `for_run`."""

    @classmethod
    def from_options(cls, options: AgentOptions) -> Timeouts:
        """The timeouts of `options`; `ConfigurationError` naming an option that is not a positive number."""
        return cls(
            connect=seconds_option("connect_timeout", options.connect_timeout),
            idle=seconds_option("stream_idle_timeout", options.stream_idle_timeout),
            request=_optional_seconds("request_timeout", options.request_timeout),
            run=_optional_seconds("run_timeout", options.run_timeout),
        )

    def for_run(self) -> Timeouts:
        """These timeouts for a run starting now (in a running event loop): its deadline set from `run`."""
        now = anyio.current_time()
        return dataclasses.replace(self, run_deadline=None if self.run is None else now + self.run)

    def run_expired(self) -> bool:
        """Whether the run's deadline has passed."""
        return self.run_deadline is not None and anyio.current_time() >= self.run_deadline

    def run_expired_message(self) -> str:
        """The error of a run ended by its deadline."""
        return f"the run took longer than run_timeout ({self.run or 0:g} s)"


def _optional_seconds(name: str, value: object) -> float | None:
    return None if value is None else seconds_option(name, value)


DEFAULT_TIMEOUTS = Timeouts()
"""The timeouts of default `AgentOptions`: the default of `ModelRequest.timeouts`."""


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
    settings: ModelSettings = field(default_factory=ModelSettings)
    """Structured output, thinking, effort, betas and app label of the run (see `tether.models.settings`)."""
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    """How long the call may take (the run's `AgentOptions` timeouts)."""


@dataclass
class ModelResponse:
    """One complete model response."""

    content: list[dict[str, Any]]
    """Anthropic content blocks: text, thinking, tool_use, and server tool blocks (`server_tool_use`, ...)."""
    model: str
    stop_reason: str | None = "end_turn"
    usage: dict[str, Any] = field(default_factory=dict)
    """`input_tokens`, `output_tokens`, `cache_creation_input_tokens`, `cache_read_input_tokens` (ints),
    and `server_tool_use` (`{"web_search_requests": n, ...}`) when server tools ran."""
    id: str | None = None
    cost_usd: float | None = 0.0
    """Cost of this call in USD; None when the price of the model is unknown."""


@dataclass
class RawStreamEvent:
    """One raw streaming event of the provider, in Anthropic SSE shape (`{"type": ...}`)."""

    event: dict[str, Any]


@dataclass
class RateLimited:
    """The provider rate-limited the call (HTTP 429). Yielded once per call, before it waits or fails."""

    retry_after: float | None
    """Seconds until the retry (the server's Retry-After, or the backoff), None when not retried."""
    resets_at: int | None = None
    """Unix time the limit resets, when the provider said (rate-limit reset headers or Retry-After)."""
    headers: dict[str, str] = field(default_factory=dict)
    """The rate-limit headers of the response (`retry-after`, `anthropic-ratelimit-*`, `x-ratelimit-*`)."""


ModelEvent = RawStreamEvent | RateLimited | ModelResponse


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


@runtime_checkable
class SettingsChecker(Protocol):
    """A model that says, at run start, which of the run's `ModelSettings` it cannot honour."""

    def check_settings(self, settings: ModelSettings) -> None:
        """Raise `UnsupportedOptionError` (naming the option) or `ConfigurationError` if it cannot."""
        ...


def check_settings(model: Model, settings: ModelSettings) -> None:
    """Fail at run start when `model` cannot honour `settings` (or cannot say its name).

    tether's providers check; any other model (e.g. `tether.testing.ScriptedModel`, your own)
    receives every setting in `ModelRequest.settings` and is responsible for it.
    """
    try:
        name = model.model_name
    except Exception as error:
        raise ConfigurationError(f"the model {type(model).__name__} cannot say its model_name: {error!r}") from error
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"the model {type(model).__name__} has model_name {name!r}, not a non-empty string")
    if _implements(type(model), SettingsChecker):
        cast("SettingsChecker", model).check_settings(settings)


@runtime_checkable
class HoldsConnections(Protocol):
    """A model with connections worth keeping open across the calls of a run."""

    def keep_connected(self) -> AbstractAsyncContextManager[None]:
        """A context that keeps the model's connections open until it exits."""
        ...


def keep_connected(model: Model) -> AbstractAsyncContextManager[None]:
    """Keep `model`'s connections open until the context exits, for models that hold any.

    The agent enters it for a whole run, so the run's model calls share one connection. Models
    without connections get a context that does nothing.
    """
    if _implements(type(model), HoldsConnections):
        return cast("HoldsConnections", model).keep_connected()
    return nullcontext()


@functools.lru_cache(maxsize=256)
def _implements(model_type: type, protocol: type) -> bool:
    """Whether a model class has a protocol's methods, checked once per class (an `isinstance` of a
    runtime-checkable protocol takes about 5 µs)."""
    return issubclass(model_type, protocol)


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
        start, deltas = _block_events(block)
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events.extend({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas)
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


def _block_events(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `content_block_start` block and the deltas that stream `block`."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": ""}, [{"type": "text_delta", "text": block.get("text", "")}]
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}, [
            {"type": "thinking_delta", "thinking": block.get("thinking", "")},
            {"type": "signature_delta", "signature": block.get("signature", "")},
        ]
    if kind in JSON_INPUT_BLOCKS:
        start = {**block, "input": {}}
        return start, [{"type": "input_json_delta", "partial_json": json.dumps(block.get("input", {}))}]
    return dict(block), []  # blocks that arrive whole (server tool results, redacted thinking...)
