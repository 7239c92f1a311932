"""The peers' virtualenv, `bench/.venv`: claude-agent-sdk, openai-agents, LangGraph, matplotlib.

The peers are not tether's dependencies: the bench installs them here, each package group on
its own so one that fails to install is reported (with pip's last words) and the rest still run.
Re-running is cheap: a group whose stamp matches its requirement strings is not reinstalled.

    python bench/peer_env.py          # create/refresh bench/.venv, print the status JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PEER_VENV = BENCH_DIR / ".venv"
PEER_PYTHON = PEER_VENV / "bin" / "python"
STATUS_FILE = PEER_VENV / "peer-status.json"

PEER_GROUPS: dict[str, list[str]] = {
    "claude-agent-sdk": ["claude-agent-sdk>=0.2"],
    "openai-agents": ["openai-agents>=0.20"],
    "langgraph": ["langgraph>=1.0", "langgraph-checkpoint-sqlite>=3.0"],
    "matplotlib": ["matplotlib>=3.8"],
    "py-spy": ["py-spy>=0.3"],
}
"""Each group is installed in one pip call; a failure marks only that group unavailable."""

INSTALL_TIMEOUT_S = 900


def _load_status() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(STATUS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(kept[-lines:])[-400:]


def ensure_peer_env(*, log: bool = True) -> dict[str, dict[str, object]]:
    """Create `bench/.venv` if needed and install every group; returns `{group: {ok, reason, ...}}`."""
    if not PEER_PYTHON.exists():
        if log:
            print(f"bench: creating {PEER_VENV}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=False).create(PEER_VENV)
        except (OSError, subprocess.CalledProcessError) as error:
            reason = f"could not create {PEER_VENV}: {error}"
            return {group: {"ok": False, "requirements": req, "reason": reason} for group, req in PEER_GROUPS.items()}
    status = _load_status()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for group, requirements in PEER_GROUPS.items():
        previous = status.get(group, {})
        if previous.get("ok") and previous.get("requirements") == requirements:
            continue
        if log:
            note = " (about 165 MB: it bundles the Claude Code CLI)" if group == "claude-agent-sdk" else ""
            print(f"bench: installing {' '.join(requirements)} into bench/.venv{note}", flush=True)
        command = [str(PEER_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, env=env)
            ok, reason = done.returncode == 0, _tail(done.stderr or done.stdout)
        except subprocess.TimeoutExpired:
            ok, reason = False, f"pip did not finish within {INSTALL_TIMEOUT_S} s"
        status[group] = {"ok": ok, "requirements": requirements, "reason": "" if ok else f"install failed: {reason}"}
        STATUS_FILE.write_text(json.dumps(status, indent=2))
    versions = _installed_versions([name for group in PEER_GROUPS for name in _names(PEER_GROUPS[group])])
    for group, requirements in PEER_GROUPS.items():
        status[group]["versions"] = {name: versions.get(name, "?") for name in _names(requirements)}
    STATUS_FILE.write_text(json.dumps(status, indent=2))
    return status


def _names(requirements: list[str]) -> list[str]:
    names = []
    for requirement in requirements:
        for separator in "<>=!~[ ":
            requirement = requirement.split(separator, 1)[0]
        names.append(requirement)
    return names


def _installed_versions(names: list[str]) -> dict[str, str]:
    script = (
        "import json, sys\nfrom importlib import metadata\nout = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        out[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError:\n        pass\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run([str(PEER_PYTHON), "-c", script, *names], capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(done.stdout))
    except ValueError:
        return {}


if __name__ == "__main__":
    print(json.dumps(ensure_peer_env(), indent=2))
    sys.exit(0)
