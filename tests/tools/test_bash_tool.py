"""Bash: output, exit codes, cwd, environment, truncation, and timeouts that kill the whole group."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tether.tools.base import MAX_OUTPUT_CHARS, ToolContext, ToolResult
from tether.tools.bash import BashTool

pytestmark = pytest.mark.anyio


def text_of(result: ToolResult) -> str:
    assert isinstance(result.content, str)
    return result.content


async def bash(context: ToolContext, command: str, **extra: object) -> ToolResult:
    return await BashTool().call({"command": command, **extra}, context)


def process_is_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


async def test_bash_returns_stdout(context: ToolContext) -> None:
    result = await bash(context, "echo hello; echo world")
    assert not result.is_error
    assert text_of(result) == "hello\nworld"
    assert result.structured is not None and result.structured["exitCode"] == 0


async def test_bash_runs_in_the_session_cwd(workspace: Path, context: ToolContext) -> None:
    (workspace / "marker.txt").write_text("here\n")
    result = await bash(context, "pwd && cat marker.txt")
    assert text_of(result) == f"{workspace}\nhere"


async def test_bash_returns_stderr_and_the_exit_code(context: ToolContext) -> None:
    result = await bash(context, "echo out; echo problem >&2; exit 3")
    assert result.is_error
    text = text_of(result)
    assert text.startswith("Exit code 3\n")
    assert "out" in text and "problem" in text
    assert result.structured is not None
    assert result.structured["stderr"] == "problem\n"
    assert result.structured["exitCode"] == 3


async def test_bash_with_no_output(context: ToolContext) -> None:
    result = await bash(context, "true")
    assert not result.is_error
    assert "no output" in text_of(result)


async def test_bash_does_not_read_stdin(context: ToolContext) -> None:
    result = await bash(context, "cat; echo done", timeout=30_000)
    assert text_of(result) == "done"


async def test_bash_sees_the_configured_environment(context: ToolContext) -> None:
    result = await BashTool(env={"TETHER_TEST_VALUE": "42"}).call({"command": "echo $TETHER_TEST_VALUE"}, context)
    assert text_of(result) == "42"


async def test_bash_cuts_long_output_with_a_note(context: ToolContext) -> None:
    result = await bash(context, f"head -c {MAX_OUTPUT_CHARS + 5000} /dev/zero | tr '\\0' 'a'")
    text = text_of(result)
    assert text.startswith("a" * 1000)
    assert "output truncated: 5000 more characters" in text
    assert len(text) < MAX_OUTPUT_CHARS + 200


async def test_the_note_counts_output_beyond_what_was_captured(context: ToolContext) -> None:
    total = 10 * MAX_OUTPUT_CHARS  # more than the tool keeps in memory, too
    result = await bash(context, f"head -c {total} /dev/zero | tr '\\0' 'a'")
    text = text_of(result)
    assert text.endswith(f"[output truncated: {total - MAX_OUTPUT_CHARS} more characters not shown] ...")
    assert len(text) < MAX_OUTPUT_CHARS + 200


async def test_bash_timeout_kills_the_command_and_its_children(workspace: Path, context: ToolContext) -> None:
    command = "sleep 60 & echo $! > child.pid; echo started; sleep 60"
    result = await bash(context, command, timeout=1000)
    assert result.is_error
    assert "timed out after 1s" in text_of(result)
    assert "started" in text_of(result)
    child = int((workspace / "child.pid").read_text())
    deadline = time.monotonic() + 10  # safety net only: the group is killed before the tool returns
    while not process_is_gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_is_gone(child)


async def test_bash_background_children_do_not_hold_the_result(workspace: Path, context: ToolContext) -> None:
    try:
        result = await bash(context, "sleep 30 & echo $! > bg.pid; echo quick", timeout=20_000)
        assert not result.is_error
        assert text_of(result).startswith("quick")
    finally:
        os.kill(int((workspace / "bg.pid").read_text()), signal.SIGKILL)


async def test_bash_rejects_bad_timeouts_and_empty_commands(context: ToolContext) -> None:
    assert (await bash(context, "echo x", timeout=0)).is_error
    assert (await bash(context, "echo x", timeout="soon")).is_error
    assert (await bash(context, "   ")).is_error
    assert (await BashTool().call({}, context)).is_error


async def test_bash_description_is_accepted(context: ToolContext) -> None:
    result = await bash(context, "echo ok", description="Print ok")
    assert text_of(result) == "ok"
