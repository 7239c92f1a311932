"""Running bench workers as subprocesses, each in its own virtualenv and a sealed environment."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.peer_env import PEER_PYTHON
from bench.workload import RESULT_PREFIX

REPO = Path(__file__).resolve().parent.parent
TETHER_PYTHON = REPO / ".venv" / "bin" / "python"

_DROPPED_PREFIXES = ("ANTHROPIC_", "CLAUDE", "OPENAI_", "TETHER_", "LANGCHAIN_", "LANGSMITH_", "PYTHON")
"""The caller's provider keys, endpoints and store settings never reach a worker."""


@dataclass
class Outcome:
    """What one worker run gave: its result, or why there is none."""

    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0


def sealed_env(scratch: Path, *, server_url: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment whose HOME, TETHER_HOME and CLAUDE_CONFIG_DIR are under `scratch`, offline.

    Nothing of the user's (`~/.claude`, `~/.tether`, keys) is visible, and the Claude Code CLI is
    told to send nothing but model requests, which go to the fake server on 127.0.0.1.
    """
    home = scratch / "home"
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    (scratch / "tether-home").mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(_DROPPED_PREFIXES)}
    env.update(
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        TETHER_HOME=str(scratch / "tether-home"),
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(proxy, None)
    if server_url is not None:
        env.update(ANTHROPIC_BASE_URL=server_url, ANTHROPIC_API_KEY="bench-not-a-key")
    env.update(extra or {})
    return env


def run_worker(python: Path, module: str, args: dict[str, Any], env: dict[str, str], *, timeout: float) -> Outcome:
    """Run `python -m module 'args'` from the repository root; parse its `RESULT` line."""
    if not python.exists():
        return Outcome(False, reason=f"{python} is missing")
    command = [str(python), "-m", module, json.dumps(args)]
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome(False, reason=f"did not finish within {timeout:.0f} s", seconds=time.monotonic() - start)
    seconds = time.monotonic() - start
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return Outcome(True, json.loads(line[len(RESULT_PREFIX) :]), seconds=seconds)
    return Outcome(False, reason=_last_error(done.stderr) or f"exit code {done.returncode}", seconds=seconds)


def _last_error(stderr: str) -> str:
    """The most telling line of a traceback: the last non-blank one, shortened."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def tether_python() -> Path:
    return TETHER_PYTHON


def peer_python() -> Path:
    return PEER_PYTHON
