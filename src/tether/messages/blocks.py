"""Content blocks, the parts of a message's content, and their Anthropic Messages API form.

Names, fields and defaults follow the Claude Agent SDK (re-exported by `tether.messages`). The dict
form (`block_to_dict`, `block_from_dict`) is what the session store keeps; `block_problem` says
what is wrong with one a model or a store gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "SERVER_TOOL_RESULT_TYPES",
    "ContentBlock",
    "ServerToolName",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "TextBlock",
    "ThinkingBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "block_from_dict",
    "block_problem",
    "block_to_dict",
    "blocks_from_content",
    "json_type_name",
]

# --- content blocks ---------------------------------------------------------------------------


@dataclass
class TextBlock:
    """Text produced by the model (or written by the user)."""

    text: str


@dataclass
class ThinkingBlock:
    """The model's extended thinking, with the signature the provider needs to accept it back.

    Providers that sign nothing (OpenAI-compatible, local models) give an empty `signature`.
    """

    thinking: str
    signature: str


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


ServerToolName = Literal[
    "advisor",
    "web_search",
    "web_fetch",
    "code_execution",
    "bash_code_execution",
    "text_editor_code_execution",
    "tool_search_tool_regex",
    "tool_search_tool_bm25",
]
"""The tools a provider runs on its own side (Anthropic's server tools)."""

SERVER_TOOL_RESULT_TYPES = frozenset(
    {
        "advisor_tool_result",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
    }
)
"""The Anthropic API block types that are results of server tools (`ServerToolResultBlock`)."""


@dataclass
class ServerToolUseBlock:
    """A call of a tool the provider runs itself (web search, code execution...); nothing to answer."""

    id: str
    name: ServerToolName
    input: dict[str, Any]


@dataclass
class ServerToolResultBlock:
    """The provider's result of the server tool call `tool_use_id`.

    `content` is the API's `content` as sent (a dict; for web search, the list of results).
    `result_type` (a tether addition) is the API block type, such as `"web_search_tool_result"`,
    so the block goes back to the provider unchanged on the next turn and after a resume.
    """

    tool_use_id: str
    content: dict[str, Any]
    result_type: str = "advisor_tool_result"


ContentBlock = TextBlock | ThinkingBlock | ToolUseBlock | ToolResultBlock | ServerToolUseBlock | ServerToolResultBlock


# --- the API form of blocks ---------------------------------------------------------------------


def block_to_dict(block: ContentBlock) -> dict[str, Any]:
    """The Anthropic Messages API form of a content block."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, ServerToolUseBlock):
        return {"type": "server_tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, ServerToolResultBlock):
        return {"type": block.result_type, "tool_use_id": block.tool_use_id, "content": block.content}
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.tool_use_id}
    if block.content is not None:
        result["content"] = block.content
    if block.is_error:
        result["is_error"] = True
    return result


def block_from_dict(data: dict[str, Any]) -> ContentBlock | None:
    """A content block from its API form; None for block kinds tether does not model.

    A malformed block of a kind tether models (a `tool_use` without `id`, an `input` that is not
    an object...) raises `ValueError` saying what is wrong (see `block_problem`).
    """
    problem = block_problem(data)
    if problem is not None:
        raise ValueError(problem)
    kind = data.get("type")
    if kind == "text":
        return TextBlock(text=data["text"])
    if kind == "thinking":
        return ThinkingBlock(thinking=data["thinking"], signature=str(data.get("signature") or ""))
    if kind == "tool_use":
        return ToolUseBlock(id=data["id"], name=data["name"], input=dict(data.get("input") or {}))
    if kind == "tool_result":
        return ToolResultBlock(
            tool_use_id=data["tool_use_id"],
            content=data.get("content"),
            is_error=data.get("is_error"),
        )
    if kind == "server_tool_use":
        return ServerToolUseBlock(id=data["id"], name=data["name"], input=dict(data.get("input") or {}))
    if kind in SERVER_TOOL_RESULT_TYPES:
        return ServerToolResultBlock(tool_use_id=data["tool_use_id"], content=data["content"], result_type=str(kind))
    return None


_CALL_KINDS = frozenset({"tool_use", "server_tool_use"})
_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (str, "a string"),
    (int, "a number"),
    (float, "a number"),
    (list, "an array"),
    (dict, "an object"),
)


def json_type_name(value: Any) -> str:
    """How a JSON value's type reads in a message: `an array`, `a string`, `null`..."""
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


def block_problem(data: Any) -> str | None:
    """What is wrong with a content block in its API form, or None when tether can use it.

    Blocks of kinds tether does not model (images, documents...) are not checked.
    """
    if not isinstance(data, dict):
        return f"a content block must be an object, not {json_type_name(data)}"
    kind = data.get("type")
    if not isinstance(kind, str):
        return f"a content block has no type (it is {_short(data)})"
    if kind in ("text", "thinking") and not isinstance(data.get(kind), str):
        return f"a {kind} block has no {kind} string (it has {json_type_name(data.get(kind))})"
    if kind == "thinking" and not isinstance(data.get("signature") or "", str):
        return f"the signature of a thinking block is {json_type_name(data.get('signature'))}, not a string"
    if kind in _CALL_KINDS:
        return _call_problem(kind, data)
    if (kind == "tool_result" or kind in SERVER_TOOL_RESULT_TYPES) and not _is_id(data.get("tool_use_id")):
        return f"a {kind} block has no tool_use_id"
    if kind in SERVER_TOOL_RESULT_TYPES and "content" not in data:
        return f"a {kind} block has no content"
    return None


def _call_problem(kind: str, data: dict[str, Any]) -> str | None:
    name = data.get("name")
    if not _is_id(name):
        return f"a {kind} block has no name (it is {_short(data)})"
    if not _is_id(data.get("id")):
        return f"the {kind} block calling {name!r} has no id"
    tool_input = data.get("input")
    if tool_input is not None and not isinstance(tool_input, dict):
        return f"the input of the {name!r} call is {json_type_name(tool_input)}, not an object"
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def blocks_from_content(content: str | list[dict[str, Any]]) -> str | list[ContentBlock]:
    """Message content from its API form (a string stays a string)."""
    if isinstance(content, str):
        return content
    blocks = (block_from_dict(item) for item in content if isinstance(item, dict))
    return [block for block in blocks if block is not None]
