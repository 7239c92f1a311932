"""The `Tool` protocol and the `@tool` decorator.

A tool has a name, a description, a JSON schema for its input, and one async method, `call`.
`@tool(name, description, input_schema)` turns an async function into a tool, exactly as in the
Claude Agent SDK: the function receives the input dict and returns
`{"content": [{"type": "text", "text": ...}], "is_error": bool}`.
`create_sdk_mcp_server` (`tether.tools.sdk_server`) serves such tools from an in-process MCP server.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    Union,
    get_args,
    get_origin,
    runtime_checkable,
)

import typing_extensions
from typing_extensions import TypedDict, get_type_hints, is_typeddict

if TYPE_CHECKING:
    from mcp.server import Server as McpServer
    from mcp.types import ToolAnnotations
else:  # resolvable at runtime too (typing.get_type_hints on the types below)
    McpServer = Any
    ToolAnnotations = Any

__all__ = [
    "McpSdkServerConfig",
    "SdkMcpTool",
    "Tool",
    "ToolContext",
    "ToolResult",
    "MAX_OUTPUT_CHARS",
    "RESULT_SIZE_META_KEY",
    "annotation_of",
    "cut_content",
    "cut_output",
    "is_read_only",
    "result_limit",
    "schema_from_annotation",
    "tool",
]

T = TypeVar("T")


@dataclass
class ToolContext:
    """What a running tool may know about its surroundings."""

    cwd: Path
    session_id: str
    tool_use_id: str
    session_state: dict[str, Any] = field(default_factory=dict)
    """State that lives as long as the session is open in this process (shared by all tools)."""


@dataclass
class ToolResult:
    """What a tool returns: text or content blocks, and whether the call failed."""

    content: str | list[dict[str, Any]]
    is_error: bool = False
    structured: dict[str, Any] | None = None
    """Optional machine-readable form of the result, kept in the transcript (`toolUseResult`) and
    given to PostToolUse hooks as `tool_response`; the model sees only `content`."""


@runtime_checkable
class Tool(Protocol):
    """A tool the model can call."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, Any]: ...

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Run the tool. Raise (any exception) to report an error result to the model."""
        ...


def annotation_of(tool: object, name: str, snake_name: str) -> Any:
    """One hint of a tool's `annotations` (a dict, or an object such as `mcp.types.ToolAnnotations`),
    spelt `name` (MCP's camelCase) or `snake_name`; None when the tool does not give it."""
    annotations = getattr(tool, "annotations", None)
    if annotations is None:
        return None
    if isinstance(annotations, Mapping):
        value = annotations.get(name)
        return value if value is not None else annotations.get(snake_name)
    value = getattr(annotations, name, None)
    return value if value is not None else getattr(annotations, snake_name, None)


def is_read_only(tool: object) -> bool:
    """Whether a tool only reads: `readOnlyHint` in its annotations (the built-in Read, Glob and Grep
    set it, as MCP and `@tool` tools may)."""
    return bool(annotation_of(tool, "readOnlyHint", "read_only_hint"))


def is_idempotent(tool: object) -> bool:
    """Whether running a call of the tool twice does what running it once does: it only reads, or
    it says `idempotentHint` (`@tool(..., idempotent=True)`). Durable turns run such a call again
    when its process died mid-call (`tether.durable.steps`)."""
    return is_read_only(tool) or bool(annotation_of(tool, "idempotentHint", "idempotent_hint"))


MAX_OUTPUT_CHARS = 30_000
"""The most characters of a tool's result the model is sent (unless the tool says `maxResultSizeChars`);
beyond, the result is cut, with a note saying how much was left out."""
RESULT_SIZE_META_KEY = "anthropic/maxResultSizeChars"
"""Where an MCP tool's `maxResultSizeChars` travels in its `_meta` (MCP clients drop unknown annotations)."""


def result_limit(tool: object) -> int:
    """How many characters of `tool`'s results the model is sent: its `maxResultSizeChars` (in its
    annotations, or its MCP `_meta`), else `MAX_OUTPUT_CHARS`."""
    limit = annotation_of(tool, "maxResultSizeChars", "max_result_size_chars")
    meta = getattr(tool, "meta", None)
    if limit is None and isinstance(meta, Mapping):
        limit = meta.get(RESULT_SIZE_META_KEY)
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else MAX_OUTPUT_CHARS


def _truncation_note(hidden: int) -> str:
    return f"\n\n... [output truncated: {hidden} more characters not shown] ..."


def cut_output(text: str, limit: int = MAX_OUTPUT_CHARS, *, not_kept: int = 0) -> str:
    """`text`, cut to `limit` characters with a note saying how many were left out (`not_kept`:
    output beyond `text` that was never captured, counted too)."""
    if len(text) <= limit and not not_kept:
        return text
    return text[:limit] + _truncation_note(max(0, len(text) - limit) + not_kept)


def cut_content(content: str | list[dict[str, Any]], limit: int) -> str | list[dict[str, Any]]:
    """A tool result's content with its text cut to `limit` characters in all (`cut_output`'s note
    where it was cut; text blocks after that point are left out, other blocks kept)."""
    if isinstance(content, str):
        return cut_output(content, limit)
    texts = [block for block in content if block.get("type") == "text" and isinstance(block.get("text"), str)]
    hidden = sum(len(block["text"]) for block in texts) - limit
    if hidden <= 0:
        return content
    text_ids = {id(block) for block in texts}
    kept: list[dict[str, Any]] = []
    room, noted = limit, False
    for block in content:
        if id(block) not in text_ids:
            kept.append(block)
        elif len(block["text"]) <= room:
            kept.append(block)
            room -= len(block["text"])
        elif not noted:
            kept.append({**block, "text": block["text"][:room] + _truncation_note(hidden)})
            room, noted = 0, True
    return kept


ToolHandler = Callable[[T], Awaitable[dict[str, Any]]]


@dataclass
class SdkMcpTool(Generic[T]):
    """A tool made with `@tool`, as in the Claude Agent SDK: served by `create_sdk_mcp_server`.

    `input_schema` is kept as given (a JSON schema, `{"param": type}` or a TypedDict);
    `schema_from_annotation` gives the JSON schema the model sees.
    """

    name: str
    description: str
    input_schema: type[T] | dict[str, Any]
    handler: ToolHandler[T]
    annotations: ToolAnnotations | Mapping[str, Any] | None = None


_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}
_WRAPPERS = (typing_extensions.NotRequired, typing_extensions.Required, typing_extensions.ReadOnly)


def schema_from_annotation(input_schema: Any) -> dict[str, Any]:
    """The JSON schema of what `@tool` accepts: a JSON schema, `{"param": type}`, or a TypedDict.

    Types map to JSON types: `str`, `int`, `float`, `bool`, `list[X]`, `dict`, `Literal[...]`,
    unions and `Optional`, nested TypedDicts; `Annotated[type, "text"]` adds a description.
    """
    if isinstance(input_schema, Mapping):
        if isinstance(input_schema.get("type"), str) or "properties" in input_schema:
            return dict(input_schema)
        properties = {str(name): _type_schema(kind) for name, kind in input_schema.items()}
        return {"type": "object", "properties": properties, "required": list(properties)}
    if is_typeddict(input_schema):
        return _typeddict_schema(input_schema)
    if inspect.isclass(input_schema) and getattr(input_schema, "__annotations__", None):
        hints = get_type_hints(input_schema, include_extras=True)
        properties = {name: _type_schema(kind) for name, kind in hints.items()}
        return {"type": "object", "properties": properties, "required": list(properties)}
    return {"type": "object", "properties": {}}


def _typeddict_schema(typed_dict: Any) -> dict[str, Any]:
    hints = get_type_hints(typed_dict, include_extras=True)
    schema: dict[str, Any] = {"type": "object", "properties": {name: _type_schema(k) for name, k in hints.items()}}
    required = [name for name, kind in hints.items() if _is_required(typed_dict, name, kind)]
    if required:
        schema["required"] = required
    return schema


def _is_required(typed_dict: Any, name: str, kind: Any) -> bool:
    # The resolved hint decides: with postponed annotations `__required_keys__` misses NotRequired.
    origin = get_origin(kind)
    if origin is typing_extensions.NotRequired:
        return False
    return origin is typing_extensions.Required or name in typed_dict.__required_keys__


def _type_schema(kind: Any) -> dict[str, Any]:
    """The JSON schema of one Python type annotation."""
    if isinstance(kind, Mapping):  # already a JSON schema fragment
        return dict(kind)
    origin, args = get_origin(kind), get_args(kind)
    if origin in _WRAPPERS:
        return _type_schema(args[0])
    if origin is Annotated:
        schema = _type_schema(args[0])
        description = next((meta for meta in args[1:] if isinstance(meta, str)), None)
        return {**schema, "description": description} if description is not None else schema
    if kind is Any:
        return {}
    if kind in _JSON_TYPES:
        return {"type": _JSON_TYPES[kind]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin is Union or isinstance(kind, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        if len(options) == 1:
            return _type_schema(options[0])
        return {"anyOf": [_type_schema(arg) for arg in options]}
    if origin in (list, tuple, set, frozenset):
        return {"type": "array", "items": _type_schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object"}
    if is_typeddict(kind):
        return _typeddict_schema(kind)
    return {"type": "string"}


def tool(
    name: str,
    description: str,
    input_schema: Any,
    annotations: ToolAnnotations | Mapping[str, Any] | None = None,
    *,
    idempotent: bool = False,
) -> Callable[[ToolHandler[Any]], SdkMcpTool[Any]]:
    """Make a tool of an async function `handler(args: dict) -> {"content": [...]}`.

    `idempotent=True` (tether's own) says that running a call twice does what running it once
    does (`idempotentHint`): a durable turn runs such a call again when its process died mid-call.
    """
    if idempotent:
        annotations = _with_idempotent_hint(annotations)

    def decorate(handler: ToolHandler[Any]) -> SdkMcpTool[Any]:
        return SdkMcpTool(
            name=name,
            description=description,
            input_schema=input_schema,
            handler=handler,
            annotations=annotations,
        )

    return decorate


def _with_idempotent_hint(annotations: ToolAnnotations | Mapping[str, Any] | None) -> Any:
    if annotations is None or isinstance(annotations, Mapping):
        return {**(annotations or {}), "idempotentHint": True}
    return annotations.model_copy(update={"idempotentHint": True})


class McpSdkServerConfig(TypedDict):
    """An in-process MCP server: `{"type": "sdk", "name", "instance"}`.

    `instance` is an `mcp.server.Server`: the one `create_sdk_mcp_server` builds, or your own.
    """

    type: Literal["sdk"]
    name: str
    instance: McpServer
