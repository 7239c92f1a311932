"""Agent-level comparison: tether and claude-agent-sdk against the same fake Anthropic server.

The server runs in the harness process; each system runs in a worker subprocess in its own
virtualenv and its own temporary HOME, so both pay the same HTTP and process boundaries. Phases
alternate between the two systems (latency, memory, concurrency) so that both see the same
machine load.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.fake_server import BenchAnthropicServer
from bench.workers import REPO, Outcome, peer_python, run_worker, sealed_env, tether_python
from bench.workload import summary

SYSTEMS = {
    "tether": (tether_python, "bench.agent_tether"),
    "claude-agent-sdk": (peer_python, "bench.agent_claude"),
}


def phase_args(config: Config, system: str, phase: str) -> dict[str, Any]:
    """The worker arguments of one phase for one system."""
    agent = config.agent[system]
    if phase == "latency":
        return {
            "reps": agent.reps,
            "resume_turns": agent.resume_turns,
            "resume_reps": agent.resume_reps,
        }
    if phase == "memory":
        return {"clients": agent.memory_clients, "base_clients": agent.memory_base_clients}
    return {"sessions": agent.concurrent_sessions}


def _resume_figures(result: dict[str, Any], server: BenchAnthropicServer) -> None:
    """Match each resume's start with the server's first request after it: time and history size."""
    figures: dict[str, Any] = {}
    for turns, runs in result.pop("resume_runs", {}).items():
        to_request: list[float] = []
        wrong: list[int] = []
        for run in runs:
            found = server.first_request_after(run["start"])
            if found is None:
                continue
            seconds, messages = found
            to_request.append(seconds)
            if messages != 4 * int(turns) + 1:
                wrong.append(messages)
        figures[turns] = {
            "to_first_request": summary(to_request),
            "to_first_message": summary([run["first"] for run in runs]),
            "round_trip": summary([run["end"] for run in runs]),
            "history_mismatch": wrong,
        }
    result["resume"] = figures


COMPILE_BYTECODE = (
    "import compileall, site, sys; "
    "paths = sys.argv[1:] + site.getsitepackages(); "
    "sys.exit(0 if all(compileall.compile_dir(path, quiet=2, workers=0) for path in paths) else 1)"
)
"""Compiles a virtualenv's packages (and the directories given) to bytecode, skipping what is up to date."""


def _compile_bytecode(python: Path) -> None:
    """Bytecode for everything `python` imports, as an installed package has it (pip compiles at install):
    the workers run with PYTHONDONTWRITEBYTECODE, so a package left uncompiled (uv's default) would be
    compiled from source in every fresh process, and the cold starts would time the compiler."""
    subprocess.run([str(python), "-c", COMPILE_BYTECODE, str(REPO / "src")], check=False, capture_output=True)


def _cold_starts(config: Config, system: str, python: Path, project: Path, env: dict[str, str]) -> dict[str, Any]:
    """Fresh processes: the SDK's import plus its first `query()` to the first message."""
    _compile_bytecode(python)
    runs = []
    for _ in range(config.agent[system].cold_reps):
        args = {"system": system, "project": str(project)}
        outcome = run_worker(python, "bench.cold_start", args, env, timeout=config.worker_timeout_s)
        if outcome.ok:
            runs.append(outcome.result)
    return {
        "import": summary([run["import"] for run in runs]),
        "first_message": summary([run["first_message"] for run in runs]),
        "end": summary([run["end"] for run in runs]),
    }


def run_agent_bench(
    config: Config, scratch: Path, available: dict[str, str], log: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """`{system: {phase: Outcome as dict}}`; a system in `available` with a reason is skipped with it."""
    results: dict[str, dict[str, Any]] = {system: {} for system in SYSTEMS}
    with BenchAnthropicServer() as server:
        for phase in ("latency", "memory", "concurrency"):
            for system, (python, module) in SYSTEMS.items():
                reason = available.get(system, "")
                if reason:
                    results[system][phase] = asdict(Outcome(False, reason=reason))
                    continue
                workdir = scratch / "agent" / system / phase
                project = workdir / "project"
                project.mkdir(parents=True, exist_ok=True)
                env = sealed_env(workdir, server_url=server.url)
                args = {"phase": phase, "project": str(project), **phase_args(config, system, phase)}
                log(f"agent {phase}: {system}")
                outcome = run_worker(python(), module, args, env, timeout=config.worker_timeout_s)
                if outcome.ok and phase == "latency":
                    _resume_figures(outcome.result, server)
                    outcome.result["cold"] = _cold_starts(config, system, python(), project, env)
                if not outcome.ok:
                    log(f"  {system} {phase} failed: {outcome.reason}")
                results[system][phase] = asdict(outcome)
    return results
