"""`Glob{pattern, path?}`: files whose path matches a glob pattern, newest first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import anyio
import anyio.to_thread

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, resolve_path
from tether.tools._globbing import glob_literal_prefix, glob_regex
from tether.tools._ripgrep import list_files
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
    annotations: ClassVar[Mapping[str, Any]] = {"readOnlyHint": True}
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

    async def run(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        pattern: str = input["pattern"].strip()
        if not pattern:
            raise ToolError("pattern is empty; give a glob pattern such as **/*.py")
        path = input.get("path")
        if path:
            await _check_directory(resolve_path(context.cwd, path), context.cwd)
        root, relative_pattern = glob_search_root(context.cwd, pattern, path)
        if not await anyio.Path(root).is_dir():
            return _result([])
        segments = relative_pattern.split("/")
        files = await list_files(
            root,
            hidden=any(segment.startswith(".") for segment in segments),
            max_depth=None if "**" in relative_pattern else len(segments),
        )
        return _result(await anyio.to_thread.run_sync(_newest_matching, files, root, relative_pattern))


async def _check_directory(given: Path, cwd: Path | str) -> None:
    if not await anyio.Path(given).exists():
        raise ToolError(f"Directory does not exist: {given}. The current working directory is {cwd}.")
    if not await anyio.Path(given).is_dir():
        raise ToolError(f"Path is not a directory: {given}")


def _newest_matching(files: list[str], root: Path, pattern: str) -> list[str]:
    """The files whose path relative to `root` matches `pattern`, most recently modified first."""
    regex = glob_regex(pattern)
    skip = len(str(root).rstrip(os.sep)) + 1
    matches: list[tuple[float, str]] = []
    for file in files:
        if regex.match(file[skip:].replace(os.sep, "/")):
            try:
                matches.append((os.stat(file).st_mtime, file))
            except OSError:
                continue
    matches.sort(key=lambda item: (-item[0], item[1]))
    return [name for _, name in matches]


def _result(names: list[str]) -> ToolResult:
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
