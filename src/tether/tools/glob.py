"""`Glob{pattern, path?}`: files whose path matches a glob pattern, newest first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, resolve_path
from tether.tools._globbing import glob_literal_prefix, glob_regex, walk_files
from tether.tools.base import ToolContext, ToolResult

__all__ = ["GlobTool", "glob_search_root"]

MAX_RESULTS = 100


def glob_search_root(cwd: Path | str, pattern: str, path: str | None) -> tuple[Path, str]:
    """The directory a Glob call searches and the pattern relative to it.

    The literal leading directories of the pattern move into the root, so `../lib/*.py` searches
    `<cwd>/../lib` and `/etc/*.conf` searches `/etc` (which is what permission checks look at).
    """
    base = resolve_path(cwd, path) if path else Path(cwd)
    prefix, rest = glob_literal_prefix(pattern)
    if prefix:
        base = Path(os.path.normpath(base / prefix))
    return base, rest


class GlobTool(BuiltinTool):
    """Claude Code's Glob tool."""

    name: ClassVar[str] = "Glob"
    read_only: ClassVar[bool] = True
    description: ClassVar[str] = (
        "Fast file pattern matching that works with any codebase size.\n\n"
        '- Supports glob patterns like "**/*.js" or "src/**/*.{ts,tsx}": `*` stays within a directory, `**` '
        "crosses directories, `{a,b}` gives alternatives.\n"
        "- Returns absolute paths of matching files, most recently modified first "
        f"(at most {MAX_RESULTS}).\n"
        "- Files ignored by .gitignore and hidden files are skipped unless the pattern names them.\n"
        "- Use it to find files by name; use Grep to search inside files."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The glob pattern to match files against"},
            "path": {
                "type": "string",
                "description": "The directory to search in. If not specified, the current working directory will "
                'be used. IMPORTANT: Omit this field to use the default directory. DO NOT enter "undefined" or '
                '"null" - simply omit it for the default behavior. Must be a valid directory path if provided.',
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    def run_sync(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        pattern: str = input["pattern"].strip()
        if not pattern:
            raise ToolError("pattern is empty; give a glob pattern such as **/*.py")
        path = input.get("path")
        if path:
            given = resolve_path(context.cwd, path)
            if not given.exists():
                raise ToolError(f"Directory does not exist: {given}. The current working directory is {context.cwd}.")
            if not given.is_dir():
                raise ToolError(f"Path is not a directory: {given}")
        root, relative_pattern = glob_search_root(context.cwd, pattern, path)
        if not root.is_dir():
            return ToolResult("No files found", structured={"filenames": [], "numFiles": 0, "truncated": False})
        regex = glob_regex(relative_pattern)
        segments = relative_pattern.split("/")
        include_hidden = any(segment.startswith(".") for segment in segments)
        depth = None if "**" in relative_pattern else len(segments)
        matches: list[tuple[float, str]] = []
        for file in walk_files(root, include_hidden=include_hidden, max_depth=depth):
            relative = file.relative_to(root).as_posix()
            if regex.match(relative):
                try:
                    mtime = file.stat().st_mtime
                except OSError:
                    continue
                matches.append((mtime, str(file)))
        matches.sort(key=lambda item: (-item[0], item[1]))
        names = [name for _, name in matches]
        truncated = len(names) > MAX_RESULTS
        shown = names[:MAX_RESULTS]
        structured = {"filenames": shown, "numFiles": len(names), "truncated": truncated}
        if not shown:
            return ToolResult("No files found", structured=structured)
        text = "\n".join(shown)
        if truncated:
            text += (
                f"\n(Results are truncated: showing {MAX_RESULTS} of {len(names)} files. "
                "Use a more specific path or pattern.)"
            )
        return ToolResult(text, structured=structured)
