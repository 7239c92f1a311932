"""`Grep{pattern, path?, glob?, type?, output_mode?, -i?, -n?, -A?, -B?, -C?, multiline?, head_limit?, offset?}`.

The `rg` binary of the `ripgrep` wheel runs the search; this module turns the input into rg's
arguments and rg's output into Claude Code's result text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
import anyio.to_thread

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, resolve_path
from tether.tools._ripgrep import run_ripgrep
from tether.tools.base import ToolContext, ToolResult, cut_output

__all__ = ["GrepTool", "split_globs"]

OutputMode = Literal["files_with_matches", "content", "count"]

_MODE_ARGUMENTS: dict[str, list[str]] = {
    "files_with_matches": ["--files-with-matches"],
    "count": ["--count", "--sort=path"],
    # a NUL after the file name (and the line number) tells where the path ends
    "content": ["--sort=path", "--field-match-separator", "\\x00:", "--field-context-separator", "\\x00-"],
}


class GrepTool(BuiltinTool):
    """Claude Code's Grep tool."""

    name: ClassVar[str] = "Grep"
    annotations: ClassVar[Mapping[str, Any]] = {"readOnlyHint": True}
    description: ClassVar[str] = (
        "Searches file contents with regular expressions (ripgrep).\n\n"
        "- Use Grep for every content search; do not run grep or rg through Bash.\n"
        '- Full regex syntax, e.g. "log.*Error" or "def\\s+\\w+". Literal braces need escaping: '
        '"interface\\{\\}".\n'
        '- Narrow the files with glob (e.g. "*.js", "**/*.{ts,tsx}") or type (e.g. "py", "js", "rust").\n'
        '- output_mode: "files_with_matches" (default) lists matching files, newest first; "content" shows '
        'matching lines (with -n line numbers, -A/-B/-C context); "count" shows matches per file.\n'
        "- Patterns match within a line; set multiline to true for patterns that span lines.\n"
        "- head_limit and offset page through long results.\n"
        "- Files ignored by .gitignore, hidden files and binary files are skipped."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {
                "type": "string",
                "description": "The regular expression pattern to search for in file contents",
            },
            "path": {
                "type": "string",
                "description": "File or directory to search in (rg PATH). Defaults to current working directory.",
            },
            "glob": {
                "type": "string",
                "description": 'Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}") - maps to rg --glob',
            },
            "output_mode": {
                "type": "string",
                "enum": ["content", "files_with_matches", "count"],
                "description": 'Output mode: "content" shows matching lines (supports -A/-B/-C context, -n line '
                'numbers, head_limit), "files_with_matches" shows file paths (supports head_limit), "count" shows '
                'match counts (supports head_limit). Defaults to "files_with_matches".',
            },
            "-B": {
                "type": "number",
                "description": 'Number of lines to show before each match (rg -B). Requires output_mode: "content", '
                "ignored otherwise.",
            },
            "-A": {
                "type": "number",
                "description": 'Number of lines to show after each match (rg -A). Requires output_mode: "content", '
                "ignored otherwise.",
            },
            "-C": {
                "type": "number",
                "description": "Number of lines to show before and after each match (rg -C). Requires output_mode: "
                '"content", ignored otherwise.',
            },
            "-n": {
                "type": "boolean",
                "description": 'Show line numbers in output (rg -n). Requires output_mode: "content", ignored '
                "otherwise. Defaults to true.",
            },
            "-i": {"type": "boolean", "description": "Case insensitive search (rg -i)"},
            "type": {
                "type": "string",
                "description": "File type to search (rg --type). Common types: js, py, rust, go, java, etc. More "
                "efficient than glob for standard file types.",
            },
            "head_limit": {
                "type": "number",
                "description": 'Limit output to the first N lines/entries, like "| head -N", in every output mode. '
                "Defaults to no limit.",
            },
            "offset": {
                "type": "number",
                "description": 'Skip the first N lines/entries before applying head_limit, like "| tail -n +N | '
                'head -N". Defaults to 0.',
            },
            "multiline": {
                "type": "boolean",
                "description": "Enable multiline mode where . matches newlines and patterns can span lines (rg -U "
                "--multiline-dotall). Default: false.",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    async def run(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        mode: OutputMode = input.get("output_mode") or "files_with_matches"
        root = resolve_path(context.cwd, input["path"]) if input.get("path") else Path(context.cwd)
        if not await anyio.Path(root).exists():
            raise ToolError(f"Path does not exist: {root}. The current working directory is {context.cwd}.")
        lines = await run_ripgrep([*_rg_arguments(input, mode), "--regexp", input["pattern"], "--", str(root)])
        single_file = not await anyio.Path(root).is_dir()
        if mode == "files_with_matches":
            entries, files, total = await anyio.to_thread.run_sync(_by_newest, lines), len(lines), 0
        elif mode == "count":
            entries, files, total = _counted(lines, single_file)
        else:
            entries, files, total = _content(lines, single_file)
        return _render(entries, files, total, mode, _number(input, "offset"), _number(input, "head_limit"))


def split_globs(value: str | None) -> list[str]:
    """The globs of the `glob` argument: whitespace or commas outside `{}` separate several."""
    globs: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value or "":
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        if depth == 0 and (char.isspace() or char == ","):
            globs.append("".join(current))
            current = []
        else:
            current.append(char)
    return [glob for glob in [*globs, "".join(current)] if glob]


def _rg_arguments(input: dict[str, Any], mode: OutputMode) -> list[str]:
    """rg's options for a Grep input (all but the pattern and the path)."""
    arguments = ["--no-require-git", "--color=never", "--max-columns=2000", "--max-columns-preview"]
    arguments += _MODE_ARGUMENTS[mode]
    if input.get("-i"):
        arguments.append("--ignore-case")
    if input.get("multiline"):
        arguments += ["--multiline", "--multiline-dotall"]
    for glob in split_globs(input.get("glob")):
        arguments.append(f"--glob={glob}")
    if input.get("type"):
        arguments.append(f"--type={input['type']}")
    if mode == "content":
        arguments.append("--line-number" if input.get("-n", True) else "--no-line-number")
        context_lines = _number(input, "-C")
        arguments += ["--before-context", str(_number(input, "-B", context_lines))]
        arguments += ["--after-context", str(_number(input, "-A", context_lines))]
    return arguments


def _number(input: dict[str, Any], key: str, default: int = 0) -> int:
    value = input.get(key)
    if value is None:
        return default
    if value < 0:
        raise ToolError(f"{key} must not be negative, not {value!r}")
    return int(value)


def _by_newest(paths: list[str]) -> list[str]:
    def key(path: str) -> tuple[float, str]:
        try:
            return (-os.stat(path).st_mtime, path)
        except OSError:
            return (0.0, path)

    return sorted(paths, key=key)


def _counted(lines: list[str], single_file: bool) -> tuple[list[str], int, int]:
    """rg's `PATH:COUNT` lines (a bare `COUNT` for one file), files with matches, total matches."""
    total = sum(int(line.rsplit(":", 1)[-1]) for line in lines)
    return lines, (1 if single_file else len(lines)) if lines else 0, total


def _content(lines: list[str], single_file: bool) -> tuple[list[str], int, int]:
    """rg's content lines with the NUL markers removed, and the number of files they come from."""
    files = {line.split("\0", 1)[0] for line in lines if line != "--"}
    return [line.replace("\0", "") for line in lines], (1 if single_file else len(files)) if lines else 0, 0


def _render(entries: list[str], files: int, total: int, mode: OutputMode, offset: int, head_limit: int) -> ToolResult:
    available = len(entries)
    shown = entries[offset:]
    if head_limit:
        shown = shown[:head_limit]
    paged = len(shown) < available
    structured: dict[str, Any] = {
        "mode": mode,
        "numFiles": files,
        "numLines": len(shown),
        "appliedLimit": head_limit or None,
    }
    if mode == "files_with_matches":
        if not entries:
            return ToolResult("No files found", structured={**structured, "filenames": []})
        text = f"Found {files} file{'s' if files != 1 else ''}\n" + "\n".join(shown)
        structured["filenames"] = shown
    elif mode == "count":
        if not entries:
            return ToolResult("No matches found", structured=structured)
        noun = "occurrence" if total == 1 else "occurrences"
        text = "\n".join(shown) + f"\n\nFound {total} total {noun} across {files} file{'s' if files != 1 else ''}."
    else:
        if not entries:
            return ToolResult("No matches found", structured=structured)
        text = "\n".join(shown)
    if paged:
        text += (
            f"\n\n(showing {len(shown)} of {available} entries from offset {offset}; use offset and head_limit to page)"
        )
    return ToolResult(cut_output(text), structured=structured)
