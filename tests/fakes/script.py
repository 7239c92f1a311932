"""What a fake provider server answers: scripted replies shared by the Anthropic and OpenAI fakes.

A server replays a queue of these, one per request:

- `Reply([...blocks...])` (or `Reply("text")`): a complete message streamed as SSE (or returned as
  JSON when the request does not ask for a stream), with usage. `cut_after=N` cuts the stream off
  after N SSE events, mid-message, by dropping the connection.
- `ErrorReply(status)`: the provider's error JSON with that HTTP status (and optional headers).
- `StreamErrorReply()`: a 200 stream that starts a message then sends an `error` event (Anthropic
  overloaded errors arrive like this too).
- `Disconnect()`: the connection is closed before any response.
- a callable `f(body) -> reply`: decides from the request body (for example, echo the history).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Text:
    """A text block."""

    text: str


@dataclass
class Thinking:
    """A thinking block (Anthropic `thinking` with signature; OpenAI `reasoning_content`)."""

    thinking: str
    signature: str = "fake-signature"


@dataclass
class ToolUse:
    """A tool call; the id is generated when not given."""

    name: str
    input: dict[str, Any]
    id: str | None = None


@dataclass
class ServerToolUse:
    """An Anthropic server tool call (`server_tool_use`, e.g. `web_search`); its input streams as JSON."""

    name: str
    input: dict[str, Any]
    id: str = "srvtoolu_fake01"


@dataclass
class ServerToolResult:
    """An Anthropic server tool's result block, sent whole (e.g. `web_search_tool_result`)."""

    tool_use_id: str
    content: Any
    type: str = "web_search_tool_result"


Block = Text | Thinking | ToolUse | ServerToolUse | ServerToolResult


@dataclass
class Reply:
    """A complete assistant message."""

    content: list[Block] | str
    stop_reason: str | None = None
    """Default: `tool_use` when the reply calls a tool, else `end_turn`."""
    input_tokens: int = 12
    output_tokens: int = 7
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    server_tool_use: dict[str, int] | None = None
    """Anthropic's usage of server tools, e.g. `{"web_search_requests": 1}`."""
    model: str | None = None
    """The model named in the reply; default the one the request asked for."""
    cut_after: int | None = None
    """Drop the connection after this many SSE events (a stream cut off mid-message)."""
    chunk_size: int = 8
    """Text and tool-input JSON are streamed in deltas of this many characters."""

    @property
    def blocks(self) -> list[Block]:
        return [Text(self.content)] if isinstance(self.content, str) else list(self.content)

    @property
    def final_stop_reason(self) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


@dataclass
class ErrorReply:
    """An HTTP error in the provider's JSON error shape."""

    status: int
    message: str | None = None
    error_type: str | None = None
    """Default: the provider's type for the status (e.g. `overloaded_error` for 529)."""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamErrorReply:
    """HTTP 200, the message starts, then an SSE `error` event (e.g. overloaded mid-stream)."""

    error_type: str = "overloaded_error"
    message: str = "Overloaded"


@dataclass
class Disconnect:
    """Close the connection without sending any response (a dropped connection)."""


class ProtocolFault:
    """Base of the replies that break the wire protocol; only the faulty servers (`tests.fakes.faults`) play them."""


ScriptItem = Reply | ErrorReply | StreamErrorReply | Disconnect | ProtocolFault
Scripted = ScriptItem | str | Callable[[dict[str, Any]], Any]
"""What may be queued: a script item, a plain string (a text reply) or a callable of the body."""


def split(text: str, size: int) -> list[str]:
    """`text` in pieces of `size` characters (at least one piece)."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
