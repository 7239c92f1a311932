"""`Grep{pattern, path?, glob?, type?, output_mode?, -i?, -n?, -A?, -B?, -C?, multiline?, head_limit?, offset?}`.

ripgrep semantics: the `rg` binary runs the search when it is installed; otherwise a pure-Python
engine with the same behaviour does (see `tether.tools._grep_engine`).
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

import anyio
import anyio.to_thread

from tether.errors import ToolError
from tether.tools._common import BuiltinTool, cut_output, resolve_path
from tether.tools._grep_engine import FileMatches, GrepQuery, search_files, split_globs
from tether.tools.base import ToolContext, ToolResult

__all__ = ["GrepTool"]

OutputMode = Literal["files_with_matches", "content", "count"]


class GrepTool(BuiltinTool):
    """Claude Code's Grep tool. `use_ripgrep=False` forces the pure-Python engine."""

    name: ClassVar[str] = "Grep"
    read_only: ClassVar[bool] = True
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

    def __init__(self, *, use_ripgrep: bool = True) -> None:
        self.ripgrep = shutil.which("rg") if use_ripgrep else None

    async def run(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        mode: OutputMode = input.get("output_mode") or "files_with_matches"
        root = resolve_path(context.cwd, input["path"]) if input.get("path") else Path(context.cwd)
        if not await anyio.Path(root).exists():
            raise ToolError(f"Path does not exist: {root}. The current working directory is {context.cwd}.")
        context_lines = _number(input, "-C")
        query = GrepQuery(
            pattern=input["pattern"],
            ignore_case=bool(input.get("-i", False)),
            multiline=bool(input.get("multiline", False)),
            globs=split_globs(input.get("glob")),
            file_type=input.get("type") or None,
            content=mode == "content",
            line_numbers=bool(input.get("-n", True)),
            before=_number(input, "-B", context_lines),
            after=_number(input, "-A", context_lines),
        )
        if self.ripgrep is not None:
            single_file = not await anyio.Path(root).is_dir()
            entries, files, total = await _ripgrep(self.ripgrep, root, single_file, query, mode)
        else:
            entries, files, total = await anyio.to_thread.run_sync(partial(_python_search, root, query, mode))
        return _render(entries, files, total, mode, _number(input, "offset"), _number(input, "head_limit"))


def _number(input: dict[str, Any], key: str, default: int = 0) -> int:
    value = input.get(key)
    if value is None:
        return default
    if value < 0:
        raise ToolError(f"{key} must not be negative, not {value!r}")
    return int(value)


def _by_newest(paths: list[Path]) -> list[Path]:
    def key(path: Path) -> tuple[float, str]:
        try:
            return (-path.stat().st_mtime, str(path))
        except OSError:
            return (0.0, str(path))

    return sorted(paths, key=key)


def _python_search(root: Path, query: GrepQuery, mode: OutputMode) -> tuple[list[str], int, int]:
    """Output entries, number of files with matches, and total matching lines."""
    found: list[FileMatches] = list(search_files(root, query))
    total = sum(item.count for item in found)
    single_file = not root.is_dir()
    if mode == "files_with_matches":
        return [str(path) for path in _by_newest([item.path for item in found])], len(found), total
    if mode == "count":
        entries = [str(item.count) if single_file else f"{item.path}:{item.count}" for item in found]
        return entries, len(found), total
    entries = []
    for item in found:
        entries.extend(item.format("" if single_file else str(item.path), query.line_numbers))
    return entries, len(found), total


async def _ripgrep(
    rg: str, root: Path, single_file: bool, query: GrepQuery, mode: OutputMode
) -> tuple[list[str], int, int]:
    args = [rg, "--no-config", "--color=never", "--max-columns=2000", "--max-columns-preview"]
    if query.ignore_case:
        args.append("--ignore-case")
    if query.multiline:
        args += ["--multiline", "--multiline-dotall"]
    for glob in query.globs:
        args += ["--glob", glob]
    if query.file_type:
        args += ["--type", query.file_type]
    if mode == "files_with_matches":
        args.append("--files-with-matches")
    elif mode == "count":
        args += ["--count", "--sort=path"]
    else:
        args += ["--no-heading", "--sort=path", "--line-number" if query.line_numbers else "--no-line-number"]
        if query.before:
            args += ["--before-context", str(query.before)]
        if query.after:
            args += ["--after-context", str(query.after)]
    args += ["--regexp", query.pattern, "--", str(root)]
    done = await anyio.run_process(args, check=False)
    output = done.stdout.decode("utf-8", errors="replace")
    if done.returncode == 2 and not output:
        raise ToolError(f"rg failed: {done.stderr.decode('utf-8', errors='replace').strip()}")
    lines = [line for line in output.split("\n") if line]
    if mode == "files_with_matches":
        newest_first = await anyio.to_thread.run_sync(_by_newest, [Path(line) for line in lines])
        return [str(path) for path in newest_first], len(lines), 0
    if mode == "count":
        counts = [int(line.rsplit(":", 1)[-1]) for line in lines]
        return lines, (1 if single_file else len(lines)) if lines else 0, sum(counts)
    files = {line.split(":", 1)[0] for line in lines if line != "--"} if not single_file else {str(root)}
    return lines, len(files) if lines else 0, 0


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
