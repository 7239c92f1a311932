"""Hooks given as shell commands, as Claude Code runs them (settings.json, a plugin's hooks.json).

```json
{"hooks": {"PreToolUse": [{"matcher": "Bash",
                           "hooks": [{"type": "command", "command": "./check.sh", "timeout": 30}]}]}}
```

The command runs in a shell in the session's working directory, with the hook input as JSON on
its stdin and `CLAUDE_PROJECT_DIR` (and `CLAUDE_PLUGIN_ROOT` for a plugin's hooks) set. Then:

- exit 0: a JSON object on stdout is the hook's output (the fields of `SyncHookJSONOutput`);
  other stdout is context for the model on UserPromptSubmit and SessionStart, and ignored
  elsewhere;
- exit 2: a block, with stderr as the reason (it denies a tool call, blocks a prompt, keeps
  the agent going on Stop, is told to the model after a tool ran);
- any other exit: a failed hook, reported and not blocking (`HookOutcome.errors`).

Each command gets its own `HookMatcher`, so its `timeout` (seconds, default 60) bounds it; a
command still running at its timeout is killed with the processes it started.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.abc

from tether._vocabulary.hooks import HookCallback, HookContext, HookMatcher
from tether.agent.hooks import FIRED_EVENTS
from tether.errors import ConfigurationError, TetherError

__all__ = ["CONTEXT_STDOUT_EVENTS", "command_hook", "command_hook_matchers"]

logger = logging.getLogger("tether.agent.settings")

BLOCKING_EXIT_CODE = 2
CONTEXT_STDOUT_EVENTS = frozenset({"UserPromptSubmit", "SessionStart"})
"""Events whose plain (non-JSON) stdout is added as context for the model."""


class HookCommandError(TetherError):
    """A hook command ended with an exit code other than 0 and 2 (reported, not blocking)."""


def command_hook(command: str, *, env: Mapping[str, str] | None = None) -> HookCallback:
    """A hook callback that runs `command` as Claude Code runs a command hook (module docstring)."""

    async def run_hook_command(input_data: Any, tool_use_id: str | None, context: HookContext) -> Any:
        event = str(input_data.get("hook_event_name", ""))
        cwd = str(input_data.get("cwd") or os.getcwd())
        environment = {**os.environ, **(env or {}), "CLAUDE_PROJECT_DIR": cwd}
        code, stdout, stderr = await _run(command, json.dumps(input_data).encode(), cwd, environment)
        if code == BLOCKING_EXIT_CODE:
            reason = stderr.strip() or f"the hook command {command!r} exited with code 2"
            return {"decision": "block", "reason": reason}
        if code != 0:
            detail = f": {stderr.strip()}" if stderr.strip() else ""
            raise HookCommandError(f"the hook command {command!r} exited with code {code}{detail}")
        return _output(event, stdout, command)

    run_hook_command.__name__ = command
    return run_hook_command


def _output(event: str, stdout: str, command: str) -> dict[str, Any]:
    text = stdout.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        logger.warning("the hook command %r printed something that is not a JSON object; taken as text", command)
    if text and event in CONTEXT_STDOUT_EVENTS:
        return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": text}}
    return {}


async def _run(command: str, stdin: bytes, cwd: str, env: dict[str, str]) -> tuple[int, str, str]:
    shell = shutil.which("bash") or "/bin/sh"
    process = await anyio.open_process(
        [shell, "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=sys.platform != "win32",
    )
    outputs: list[bytes] = [b"", b""]

    async def drain(stream: anyio.abc.ByteReceiveStream | None, index: int) -> None:
        if stream is not None:
            async for chunk in stream:
                outputs[index] += chunk

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(drain, process.stdout, 0)
            group.start_soon(drain, process.stderr, 1)
            if process.stdin is not None:
                try:
                    await process.stdin.send(stdin)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # the command did not read its input: fine
                await process.stdin.aclose()
            await process.wait()
    finally:
        if process.returncode is None:  # timed out or cancelled: leave nothing running
            with anyio.CancelScope(shield=True):
                _kill(process)
                await process.wait()
        await process.aclose()
    code = process.returncode if process.returncode is not None else -1
    return code, outputs[0].decode("utf-8", "replace"), outputs[1].decode("utf-8", "replace")


def _kill(process: anyio.abc.Process) -> None:
    try:
        if sys.platform == "win32":  # pragma: no cover - no process groups
            process.kill()
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def command_hook_matchers(
    hooks: object, *, where: str, env: Mapping[str, str] | None = None
) -> dict[str, list[HookMatcher]]:
    """The `HookMatcher`s of a `hooks` object of settings.json or hooks.json (`where` names it).

    Events tether does not fire and hook types other than `command` (`prompt`, `agent`, `http`)
    are skipped with a warning, as a newer Claude Code's keys are; a malformed entry raises
    `ConfigurationError` naming `where`.
    """
    if not isinstance(hooks, Mapping):
        raise ConfigurationError(f"{where}: 'hooks' must be an object of events, not {type(hooks).__name__}")
    matchers: dict[str, list[HookMatcher]] = {}
    for event, entries in hooks.items():
        if event not in FIRED_EVENTS:
            logger.warning("%s: hooks for %r are not run: tether does not fire that event", where, event)
            continue
        if not isinstance(entries, list):
            raise ConfigurationError(f"{where}: hooks.{event} must be a list of matchers")
        for entry in entries:
            matchers.setdefault(event, []).extend(_matchers_of(entry, f"{where}: hooks.{event}", env))
    return matchers


def _matchers_of(entry: object, where: str, env: Mapping[str, str] | None) -> list[HookMatcher]:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("hooks"), list):
        raise ConfigurationError(f"{where}: each entry must be an object with a 'hooks' list")
    matcher = entry.get("matcher")
    if matcher is not None and not isinstance(matcher, str):
        raise ConfigurationError(f"{where}: 'matcher' must be a string, not {matcher!r}")
    found: list[HookMatcher] = []
    for hook in entry["hooks"]:
        if not isinstance(hook, Mapping):
            raise ConfigurationError(f"{where}: each hook must be an object, not {hook!r}")
        if hook.get("type", "command") != "command":
            logger.warning("%s: a hook of type %r is not run: tether runs command hooks", where, hook.get("type"))
            continue
        command, timeout = hook.get("command"), hook.get("timeout")
        if not isinstance(command, str) or not command.strip():
            raise ConfigurationError(f"{where}: a command hook needs a 'command' string")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ConfigurationError(f"{where}: 'timeout' must be a positive number of seconds, not {timeout!r}")
        found.append(HookMatcher(matcher=matcher, hooks=[command_hook(command, env=env)], timeout=timeout))
    return found
