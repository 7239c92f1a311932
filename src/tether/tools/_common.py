"""What the built-in tools share: path resolution, the read-file record, errors, output limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import anyio.to_thread

from tether.errors import ToolError
from tether.tools.base import ToolContext, ToolResult
from tether.tools.validation import input_problem

__all__ = [
    "BuiltinTool",
    "READ_FILES_KEY",
    "check_fresh_read",
    "record_read",
    "resolve_path",
]

READ_FILES_KEY = "tether.read_files"
"""`session_state` key: `{real path: mtime_ns}` of the files Read (or written) in this session."""


def resolve_path(cwd: Path | str, raw: str) -> Path:
    """An absolute, normalised path; relative paths resolve against the session's `cwd`."""
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute():
        path = Path(cwd) / path
    return Path(os.path.normpath(path))


def _key(path: Path) -> str:
    return os.path.realpath(path)


def record_read(context: ToolContext, path: Path) -> None:
    """Remember that the model has seen `path` as it is now (after a Read, Write or Edit)."""
    files: dict[str, int] = context.session_state.setdefault(READ_FILES_KEY, {})
    try:
        files[_key(path)] = path.stat().st_mtime_ns
    except OSError:
        files.pop(_key(path), None)


def check_fresh_read(context: ToolContext, path: Path, action: str) -> None:
    """Raise unless `path` was Read in this session and has not changed on disk since."""
    files: dict[str, int] = context.session_state.get(READ_FILES_KEY, {})
    seen = files.get(_key(path))
    if seen is None:
        raise ToolError(
            f"File has not been read yet: {path} already exists and was not read in this session. "
            f"Read it first, then {action} it."
        )
    if path.stat().st_mtime_ns != seen:
        raise ToolError(
            f"File has been modified since it was read (by the user, a linter or another command): {path}. "
            f"Read it again before you {action} it."
        )


class BuiltinTool:
    """Base of the built-in tools: checks the input, runs the blocking work in a worker thread.

    `ToolError` (an expected failure: missing file, no match, ...) and `OSError` become an
    `is_error` result whose text says what went wrong.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    input_schema: ClassVar[dict[str, Any]]
    annotations: ClassVar[Mapping[str, Any]] = {"readOnlyHint": False}
    """MCP-style tool annotations; `readOnlyHint` when the tool only reads (allowed in plan mode and,
    inside cwd, in default mode)."""

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Run the tool; failures come back as `is_error` results, never as exceptions."""
        problem = input_problem(self.input_schema, input)
        if problem is not None:
            return ToolResult(f"InputValidationError: {self.name} was called with invalid input: {problem}", True)
        try:
            return await self.run(input, context)
        except ToolError as error:
            return ToolResult(str(error), is_error=True)
        except OSError as error:
            return ToolResult(f"{type(error).__name__}: {error}", is_error=True)

    async def run(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """The tool's work; by default `run_sync` in a worker thread."""
        return await anyio.to_thread.run_sync(partial(self.run_sync, input, context))

    def run_sync(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Blocking work of the tool (file system access); tools that override `run` need not define it."""
        raise NotImplementedError(f"{type(self).__name__} defines neither run nor run_sync")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
