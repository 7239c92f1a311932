"""`Bash{command, timeout?, description?}`: run a shell command in the session's working directory."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
from anyio.abc import ByteReceiveStream, Process

from tether.errors import ToolError
from tether.tools._common import BuiltinTool
from tether.tools.base import MAX_OUTPUT_CHARS, ToolContext, ToolResult, cut_output

__all__ = ["BashTool"]

DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 600_000
KILL_GRACE_SECONDS = 1.0
"""After SIGTERM, how long the process group has before SIGKILL."""
PIPE_GRACE_SECONDS = 1.0
"""After the shell exits, how long background children holding its pipes may keep them open."""
CAPTURE_LIMIT_BYTES = 4 * MAX_OUTPUT_CHARS
"""Bytes kept of each stream (the rest is counted, not stored)."""


class _Capture:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.kept = 0
        self.dropped = 0
        self.done = anyio.Event()

    async def drain(self, stream: ByteReceiveStream | None) -> None:
        try:
            if stream is None:
                return
            async for chunk in stream:
                room = CAPTURE_LIMIT_BYTES - self.kept
                if room > 0:
                    self.chunks.append(chunk[:room])
                    self.kept += min(len(chunk), room)
                self.dropped += max(len(chunk) - max(room, 0), 0)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            pass
        finally:
            self.done.set()

    def text(self) -> str:
        """What was kept (the first `CAPTURE_LIMIT_BYTES`; `dropped` counts the rest)."""
        return b"".join(self.chunks).decode("utf-8", errors="replace")


class BashTool(BuiltinTool):
    """Claude Code's Bash tool. `env` is added to the process environment of every command."""

    name: ClassVar[str] = "Bash"
    description: ClassVar[str] = (
        "Executes a bash command and returns its output.\n\n"
        "- The command runs in the session's working directory, in a fresh shell each time (variables and "
        "`cd` do not carry over to the next call; use absolute paths or chain commands with &&).\n"
        f"- timeout is in milliseconds: {DEFAULT_TIMEOUT_MS} (2 minutes) by default, at most {MAX_TIMEOUT_MS} "
        "(10 minutes). On timeout the command and every process it started are killed.\n"
        "- stdout, then stderr, come back; a non-zero exit code is reported and marks the result as an error.\n"
        f"- Output longer than {MAX_OUTPUT_CHARS} characters is cut.\n"
        "- Commands cannot read input: avoid interactive programs.\n"
        "- Prefer the Read, Edit, Write, Glob and Grep tools to cat, sed, echo >, find and grep."
    )
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The command to execute"},
            "timeout": {"type": "number", "description": f"Optional timeout in milliseconds (max {MAX_TIMEOUT_MS})"},
            "description": {
                "type": "string",
                "description": "Clear, concise description of what this command does in 5-10 words, in active voice.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    }

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(env or {})

    async def run(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        command: str = input["command"]
        if not command.strip():
            raise ToolError("command is empty")
        timeout_ms = input.get("timeout")
        if timeout_ms is None:
            timeout_ms = DEFAULT_TIMEOUT_MS
        if timeout_ms <= 0:
            raise ToolError(f"timeout must be a positive number of milliseconds, not {timeout_ms!r}")
        timeout = min(float(timeout_ms), MAX_TIMEOUT_MS) / 1000
        process = await anyio.open_process(
            [_shell(), "-c", command],
            cwd=str(context.cwd),
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=sys.platform != "win32",
        )
        stdout, stderr = _Capture(), _Capture()
        timed_out = False
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(stdout.drain, process.stdout)
                group.start_soon(stderr.drain, process.stderr)
                with anyio.move_on_after(timeout) as deadline:
                    await process.wait()
                if deadline.cancelled_caught:
                    timed_out = True
                    await _kill_group(process)
                with anyio.move_on_after(PIPE_GRACE_SECONDS):
                    await stdout.done.wait()
                    await stderr.done.wait()
                group.cancel_scope.cancel()
        finally:
            if process.returncode is None:  # cancelled from outside: leave nothing running
                with anyio.CancelScope(shield=True):
                    await _kill_group(process)
            await process.aclose()
        dropped = stdout.dropped + stderr.dropped
        return _result(command, process.returncode, stdout.text(), stderr.text(), timed_out, timeout, dropped)


def _shell() -> str:
    return shutil.which("bash") or "/bin/sh"


async def _kill_group(process: Process) -> None:
    """SIGTERM the command's process group, SIGKILL it if it is still there after a grace period."""
    if sys.platform == "win32":  # pragma: no cover - no process groups
        process.kill()
        await process.wait()
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        with anyio.move_on_after(KILL_GRACE_SECONDS):
            await process.wait()
            while _group_alive(process.pid):  # noqa: ASYNC110 - no event tells when a process group is gone
                await anyio.sleep(0.02)
            return
    await process.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _result(
    command: str, code: int | None, stdout: str, stderr: str, timed_out: bool, timeout: float, dropped: int
) -> ToolResult:
    """The call's result: output cut to `MAX_OUTPUT_CHARS`, its note counting the `dropped` bytes too."""
    parts = [text.rstrip("\n") for text in (stdout, stderr) if text.strip()]
    output = "\n".join(parts)
    structured = {"stdout": stdout, "stderr": stderr, "exitCode": code, "interrupted": timed_out}
    if timed_out:
        header = f"Command timed out after {timeout:g}s; it was killed with every process it started."
        text = f"{header}\n{output}" if output else header
        return ToolResult(cut_output(text, not_kept=dropped), is_error=True, structured=structured)
    if code:
        text = f"Exit code {code}\n{output}" if output else f"Exit code {code}"
        return ToolResult(cut_output(text, not_kept=dropped), is_error=True, structured=structured)
    if not output:
        return ToolResult("(the command produced no output)", structured=structured)
    return ToolResult(cut_output(output, not_kept=dropped), structured=structured)
