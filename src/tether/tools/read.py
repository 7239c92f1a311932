"""`Read{file_path, offset?, limit?}`: a file's lines, numbered like `cat -n`."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, record_read, resolve_path
from tether.tools.base import ToolContext, ToolResult

__all__ = ["ReadTool"]

DEFAULT_LIMIT = 2000
"""Lines returned when no `limit` is given."""
MAX_LINE_CHARS = 2000
"""Longer lines are cut to this many characters."""
MAX_RESULT_CHARS = 100_000
"""A read whose numbered text is longer than this is refused: the model should page with offset/limit."""
MAX_IMAGE_BYTES = 5 * 1024 * 1024
BINARY_PROBE_BYTES = 8192
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


class ReadTool(BuiltinTool):
    """Claude Code's Read tool."""

    name: ClassVar[str] = "Read"
    annotations: ClassVar[Mapping[str, Any]] = {"readOnlyHint": True, "maxResultSizeChars": MAX_RESULT_CHARS}
    description: ClassVar[str] = (
        "Reads a file from the local filesystem.\n\n"
        "- file_path should be an absolute path (a relative path is taken from the working directory).\n"
        f"- By default it reads up to {DEFAULT_LIMIT} lines from the start of the file; for long files pass "
        "offset (the 1-based line to start at) and limit (how many lines).\n"
        f"- Lines longer than {MAX_LINE_CHARS} characters are cut.\n"
        "- The result is numbered like `cat -n`: the line number, a tab, then the line. The numbers are not "
        "part of the file; leave them out of Edit's old_string and new_string.\n"
        "- PNG, JPEG, GIF and WebP images are returned as images. Other binary files cannot be read.\n"
        "- It reads files, not directories: list a directory with Glob or with `ls` through Bash.\n"
        "- Read a file before you Edit it or overwrite it with Write."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "The absolute path to the file to read"},
            "offset": {
                "type": "number",
                "description": "The line number to start reading from. Only provide if the file is too large "
                "to read at once",
            },
            "limit": {
                "type": "number",
                "description": "The number of lines to read. Only provide if the file is too large to read at once.",
            },
        },
        "required": ["file_path"],
        "additionalProperties": False,
    }

    def run_sync(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        path = resolve_path(context.cwd, input["file_path"])
        offset = max(int(input.get("offset") or 1), 1)
        limit = int(input["limit"]) if input.get("limit") is not None else DEFAULT_LIMIT
        if limit < 1:
            raise ToolError(f"limit must be a positive number of lines, not {input['limit']!r}")
        if not path.exists():
            raise ToolError(_missing_file_message(path, context))
        if path.is_dir():
            raise ToolError(
                f"{path} is a directory, not a file. Use Glob to find files in it, or run `ls` with Bash to list it."
            )
        media_type = IMAGE_TYPES.get(path.suffix.lower())
        if media_type is not None:
            return _read_image(path, media_type, context)
        with path.open("rb") as handle:
            probe = handle.read(BINARY_PROBE_BYTES)
        if b"\x00" in probe:
            raise ToolError(
                f"{path} is a binary file ({path.stat().st_size} bytes), which Read cannot show as text. "
                "Inspect it with a suitable command through Bash (for example `file` or `xxd | head`)."
            )
        lines, total = _numbered_lines(path, offset, limit)
        record_read(context, path)
        if total == 0:
            return ToolResult(f"(the file {path} exists but is empty)", structured=_info(path, "", 0, 0, 0))
        if not lines:
            return ToolResult(
                f"(the file {path} has {total} lines, fewer than the offset {offset}; nothing to show)",
                structured=_info(path, "", offset, 0, total),
            )
        text = "\n".join(lines)
        if len(text) > MAX_RESULT_CHARS:
            raise ToolError(
                f"The requested part of {path} is {len(text)} characters, more than the {MAX_RESULT_CHARS} a "
                "single Read returns. Read fewer lines with offset and limit, or search it with Grep."
            )
        last = offset + len(lines) - 1
        if last < total:
            text += f"\n\n(showing lines {offset}-{last} of {total}; use offset and limit to read more)"
        return ToolResult(text, structured=_info(path, text, offset, len(lines), total))


def _numbered_lines(path: Path, offset: int, limit: int) -> tuple[list[str], int]:
    """The numbered lines `offset`..`offset + limit - 1`, and the file's total number of lines."""
    lines: list[str] = []
    total = 0
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for total, raw in enumerate(handle, start=1):
            if total < offset or len(lines) >= limit:
                continue
            line = raw.rstrip("\r\n")
            if len(line) > MAX_LINE_CHARS:
                line = f"{line[:MAX_LINE_CHARS]}... [line cut: {len(line) - MAX_LINE_CHARS} more characters]"
            lines.append(f"{total:>6}\t{line}")
    return lines, total


def _read_image(path: Path, media_type: str, context: ToolContext) -> ToolResult:
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ToolError(f"{path} is an image of {size} bytes, larger than the {MAX_IMAGE_BYTES} bytes Read returns.")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    record_read(context, path)
    block = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return ToolResult([block], structured={"type": "image", "file": {"filePath": str(path), "type": media_type}})


def _info(path: Path, content: str, start: int, count: int, total: int) -> dict[str, Any]:
    return {
        "type": "text",
        "file": {"filePath": str(path), "content": content, "numLines": count, "startLine": start, "totalLines": total},
    }


def _missing_file_message(path: Path, context: ToolContext) -> str:
    message = f"File does not exist: {path}. The current working directory is {context.cwd}."
    parent = path.parent
    if parent.is_dir():
        wanted = path.name.lower()
        stem = path.stem.lower()
        try:
            candidates = sorted(p.name for p in parent.iterdir() if p.name.lower() == wanted or p.stem.lower() == stem)
        except OSError:
            candidates = []
        if candidates:
            message += " Did you mean " + " or ".join(str(parent / name) for name in candidates[:3]) + "?"
    return message
