"""`Edit{file_path, old_string, new_string, replace_all?}`: replace an exact string in a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, check_fresh_read, record_read, resolve_path
from tether.tools.base import ToolContext, ToolResult

__all__ = ["EditTool"]

SNIPPET_CONTEXT_LINES = 4


class EditTool(BuiltinTool):
    """Claude Code's Edit tool."""

    name: ClassVar[str] = "Edit"
    description: ClassVar[str] = (
        "Replaces an exact string in a file.\n\n"
        "- Read the file first; an edit of a file not Read in this session (or changed since) is refused.\n"
        "- old_string must match the file exactly, whitespace and indentation included, and without the "
        "line-number prefix Read shows.\n"
        "- old_string must occur exactly once, unless replace_all is true; otherwise the edit fails: add "
        "surrounding lines to make it unique, or set replace_all to change every occurrence (for renames).\n"
        "- An empty old_string on a file that does not exist yet creates it with new_string."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "The absolute path to the file to modify"},
            "old_string": {"type": "string", "description": "The text to replace"},
            "new_string": {
                "type": "string",
                "description": "The text to replace it with (must be different from old_string)",
            },
            "replace_all": {
                "type": "boolean",
                "default": False,
                "description": "Replace all occurrences of old_string (default false)",
            },
        },
        "required": ["file_path", "old_string", "new_string"],
        "additionalProperties": False,
    }

    def run_sync(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        path = resolve_path(context.cwd, input["file_path"])
        old: str = input["old_string"]
        new: str = input["new_string"]
        replace_all = bool(input.get("replace_all", False))
        if old == new:
            raise ToolError("No changes to make: old_string and new_string are exactly the same.")
        if not path.exists():
            if old == "":
                return _create(path, new, context)
            raise ToolError(f"File does not exist: {path}. The current working directory is {context.cwd}.")
        if path.is_dir():
            raise ToolError(f"{path} is a directory; Edit needs a file path.")
        check_fresh_read(context, path, "edit")
        original = _read_text(path)
        newline = "\r\n" if "\r\n" in original else "\n"
        text = original.replace("\r\n", "\n") if newline == "\r\n" else original
        old_n, new_n = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
        replaced = 1
        if old_n == "":
            if text.strip():
                raise ToolError(
                    f"old_string is empty, but {path} is not: give the exact text to replace "
                    "(an empty old_string only creates a new file or fills an empty one)."
                )
            updated, at = new_n, 0
        else:
            count = text.count(old_n)
            if count == 0:
                raise ToolError(f"String to replace not found in file {path}.\nString: {old}")
            if count > 1 and not replace_all:
                raise ToolError(
                    f"Found {count} matches of the string to replace in {path}, but replace_all is false. To "
                    "replace every occurrence, set replace_all to true. To replace only one, add surrounding "
                    f"lines to old_string so that it matches exactly once.\nString: {old}"
                )
            at = text.index(old_n)
            updated = text.replace(old_n, new_n) if replace_all else text.replace(old_n, new_n, 1)
            replaced = count if replace_all else 1
        _write_text(path, updated.replace("\n", newline) if newline == "\r\n" else updated)
        record_read(context, path)
        structured = {
            "filePath": str(path),
            "oldString": old,
            "newString": new,
            "replaceAll": replace_all,
        }
        if replace_all and old_n:
            return ToolResult(
                f"The file {path} has been updated. All {replaced} occurrences of the string were replaced.",
                structured=structured,
            )
        snippet = _snippet(updated, at, new_n)
        return ToolResult(
            f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet of the "
            f"edited file:\n{snippet}",
            structured=structured,
        )


def _create(path: Path, content: str, context: ToolContext) -> ToolResult:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_text(path, content)
    record_read(context, path)
    return ToolResult(
        f"File created successfully at: {path}",
        structured={"filePath": str(path), "oldString": "", "newString": content, "replaceAll": False},
    )


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ToolError(f"{path} is a binary file; Edit changes text files only.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = f"{error.reason} at byte {error.start}"
        raise ToolError(f"{path} is not valid UTF-8 text ({where}); Edit cannot change it.") from error


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _snippet(text: str, at: int, inserted: str) -> str:
    """Numbered lines around the change that starts at character `at`."""
    lines = text.split("\n")
    first = text.count("\n", 0, at)
    last = first + inserted.count("\n")
    start = max(first - SNIPPET_CONTEXT_LINES, 0)
    end = min(last + SNIPPET_CONTEXT_LINES, len(lines) - 1)
    return "\n".join(f"{number + 1:>6}\t{lines[number]}" for number in range(start, end + 1))
