"""Messages streamed by `query()` and their content blocks.

Names and fields follow the Claude Agent SDK, so code written for it reads these unchanged.
Content blocks convert to and from Anthropic Messages API dicts (`block_to_dict`,
`block_from_dict`); that dict form is what the session store keeps, inside transcript entries of
the Claude Code shape (see `tether.sessions.entries`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AssistantMessage",
    "ContentBlock",
    "Message",
    "ResultMessage",
    "StreamEvent",
    "SystemMessage",
    "TextBlock",
    "ThinkingBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "UserMessage",
    "block_from_dict",
    "block_to_dict",
    "blocks_from_content",
]


@dataclass
class TextBlock:
    """Text produced by the model (or written by the user)."""

    text: str


@dataclass
class ThinkingBlock:
    """The model's extended thinking, with the signature the provider needs to accept it back."""

    thinking: str
    signature: str = ""


@dataclass
class ToolUseBlock:
    """A call of tool `name` with `input`; `id` pairs it with its `ToolResultBlock`."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass
class ToolResultBlock:
    """The result of the tool call `tool_use_id`; `is_error` marks a failed call."""

    tool_use_id: str
    content: str | list[dict[str, Any]] | None = None
    is_error: bool | None = None


ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock | ToolResultBlock


@dataclass
class UserMessage:
    """A user turn: the prompt, or the results of the tools the model called."""

    content: str | list[ContentBlock]
    uuid: str | None = None
    parent_tool_use_id: str | None = None
    tool_use_result: dict[str, Any] | None = None


AssistantMessageError = Literal[
    "authentication_failed", "billing_error", "rate_limit", "invalid_request", "server_error", "unknown"
]


@dataclass
class AssistantMessage:
    """One response of the model: text, thinking and tool calls."""

    content: list[ContentBlock]
    model: str
    parent_tool_use_id: str | None = None
    error: AssistantMessageError | None = None
    usage: dict[str, Any] | None = None
    message_id: str | None = None
    stop_reason: str | None = None
    session_id: str | None = None
    uuid: str | None = None


@dataclass
class SystemMessage:
    """A system event. The first message of every run has `subtype == "init"`."""

    subtype: str
    data: dict[str, Any]


@dataclass
class ResultMessage:
    """The last message of a run: outcome, counts, usage and cost (cumulative over the session)."""

    subtype: str
    duration_ms: int
    duration_api_ms: int
    is_error: bool
    num_turns: int
    session_id: str
    stop_reason: str | None = None
    total_cost_usd: float | None = None
    usage: dict[str, Any] | None = None
    result: str | None = None
    structured_output: Any = None
    model_usage: dict[str, Any] | None = None
    permission_denials: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    api_error_status: int | None = None
    uuid: str | None = None


@dataclass
class StreamEvent:
    """A raw streaming event of the model (`include_partial_messages=True`)."""

    uuid: str
    session_id: str
    event: dict[str, Any]
    parent_tool_use_id: str | None = None


Message = UserMessage | AssistantMessage | SystemMessage | ResultMessage | StreamEvent


def block_to_dict(block: ContentBlock) -> dict[str, Any]:
    """The Anthropic Messages API form of a content block."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.tool_use_id}
    if block.content is not None:
        result["content"] = block.content
    if block.is_error:
        result["is_error"] = True
    return result


def block_from_dict(data: dict[str, Any]) -> ContentBlock | None:
    """A content block from its API form; None for block kinds tether does not model."""
    kind = data.get("type")
    if kind == "text":
        return TextBlock(text=str(data.get("text", "")))
    if kind == "thinking":
        return ThinkingBlock(thinking=str(data.get("thinking", "")), signature=str(data.get("signature", "")))
    if kind == "tool_use":
        return ToolUseBlock(id=str(data["id"]), name=str(data["name"]), input=dict(data.get("input") or {}))
    if kind == "tool_result":
        return ToolResultBlock(
            tool_use_id=str(data["tool_use_id"]),
            content=data.get("content"),
            is_error=data.get("is_error"),
        )
    return None


def blocks_from_content(content: str | list[dict[str, Any]]) -> str | list[ContentBlock]:
    """Message content from its API form (a string stays a string)."""
    if isinstance(content, str):
        return content
    blocks = (block_from_dict(item) for item in content if isinstance(item, dict))
    return [block for block in blocks if block is not None]
