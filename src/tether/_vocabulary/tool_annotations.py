"""`ToolAnnotations`: hints about a tool for `@tool(annotations=...)`, as in the Claude Agent SDK.

Imported by `tether.ToolAnnotations` on first use only, since it needs `mcp` and `pydantic`, which
are slow to import and which nothing else needs before a tool is served.
"""

from __future__ import annotations

from typing import Any

from mcp.types import ToolAnnotations as McpToolAnnotations
from pydantic import ConfigDict

__all__ = ["ToolAnnotations"]

_WIRE_NAMES = {
    "read_only_hint": "readOnlyHint",
    "destructive_hint": "destructiveHint",
    "idempotent_hint": "idempotentHint",
    "open_world_hint": "openWorldHint",
    "max_result_size_chars": "maxResultSizeChars",
}
"""Each hint's snake_case spelling and its wire name."""


class ToolAnnotations(McpToolAnnotations):
    """An `mcp.types.ToolAnnotations` that also takes `maxResultSizeChars` and any other key.

    Each hint may be given in either spelling (`readOnlyHint=True` or `read_only_hint=True`;
    given both, the camelCase one wins and the other is dropped). `maxResultSizeChars` (or
    `max_result_size_chars`) is Claude Code's hint of how large a result may be before it is cut.
    """

    model_config = ConfigDict(extra="allow")

    maxResultSizeChars: int | None = None

    def __init__(self, **data: Any) -> None:
        for snake, wire in _WIRE_NAMES.items():
            if snake in data:
                value = data.pop(snake)
                data.setdefault(wire, value)
        super().__init__(**data)
