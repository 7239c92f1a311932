"""`Write{file_path, content}`: create or overwrite a file."""

from __future__ import annotations

from typing import Any, ClassVar

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, check_fresh_read, record_read, resolve_path
from tether.tools.base import ToolContext, ToolResult

__all__ = ["WriteTool"]


class WriteTool(BuiltinTool):
    """Claude Code's Write tool."""

    name: ClassVar[str] = "Write"
    description: ClassVar[str] = (
        "Writes a file to the local filesystem, replacing it if it exists.\n\n"
        "- file_path should be an absolute path (a relative path is taken from the working directory).\n"
        "- Missing parent directories are created.\n"
        "- An existing file must have been Read in this session first, and not changed since; otherwise the "
        "write is refused.\n"
        "- To change part of an existing file, prefer Edit: it sends only the change."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": {
                "type": "string",
                "description": "The absolute path to the file to write (must be absolute, not relative)",
            },
            "content": {"type": "string", "description": "The content to write to the file"},
        },
        "required": ["file_path", "content"],
        "additionalProperties": False,
    }

    def run_sync(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        path = resolve_path(context.cwd, input["file_path"])
        content: str = input["content"]
        if path.is_dir():
            raise ToolError(f"{path} is a directory; Write needs a file path.")
        existed = path.exists()
        if existed:
            check_fresh_read(context, path, "overwrite")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        record_read(context, path)
        structured = {"type": "update" if existed else "create", "filePath": str(path), "content": content}
        lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
        if existed:
            return ToolResult(f"The file {path} has been overwritten ({lines} lines).", structured=structured)
        return ToolResult(f"File created successfully at: {path} ({lines} lines)", structured=structured)
