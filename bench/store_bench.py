"""Store micro-benchmarks side by side: tether's stores, OpenAI Agents' `SQLiteSession`, LangGraph's `SqliteSaver`.

Each system runs in a worker subprocess on a fresh temporary directory (its database is deleted
with it); tether's PostgreSQL and Redis stores run too when their modules exist and their
servers answer on 127.0.0.1 (`TETHER_BENCH_POSTGRES_URL` / `TETHER_BENCH_REDIS_URL` to point
elsewhere), each on a fresh database or key scope that is dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.config import Config
from bench.workers import Outcome, peer_python, run_worker, sealed_env, tether_python

POSTGRES_URL = os.environ.get("TETHER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TETHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

GROW_WORKERS = {
    "tether": (tether_python, "bench.store_tether"),
    "openai-agents": (peer_python, "bench.store_openai"),
    "langgraph": (peer_python, "bench.store_langgraph"),
}
LIST_WORKERS = {
    "tether": (tether_python, "bench.store_tether"),
    "langgraph": (peer_python, "bench.store_langgraph"),
    "claude-agent-sdk": (peer_python, "bench.store_claude"),
}
NO_LISTING = {"openai-agents": "no list API (a session is opened by its id)"}


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _has_module(module: str) -> bool:
    done = subprocess.run([str(tether_python()), "-c", f"import {module}"], capture_output=True, text=True, check=False)
    return done.returncode == 0


def server_store_kinds(log: Callable[[str], None]) -> dict[str, str]:
    """`{kind: url}` of the tether server stores to bench, and a log line for each one left out."""
    kinds: dict[str, str] = {}
    for kind, module, url, port in (
        ("postgres", "tether.sessions.stores.postgres", POSTGRES_URL, 5432),
        ("redis", "tether.sessions.stores.redis", REDIS_URL, 6379),
    ):
        if not _has_module(module):
            log(f"stores: tether {kind}: skipped ({module} cannot be imported)")
        elif not _answers(url, port):
            log(f"stores: tether {kind}: skipped (no server answers at {url})")
        else:
            kinds[kind] = url
    return kinds


def _grow_args(config: Config, system: str) -> dict[str, Any]:
    store = config.stores[system]
    drive: dict[str, Any] = {}
    if store.time_cap_s is not None:
        drive["time_cap_s"] = store.time_cap_s
    if store.bytes_cap is not None:
        drive["bytes_cap"] = store.bytes_cap
    return {"phase": "grow", "sizes": store.sizes, "full_at": store.full_at, "drive": drive}


def run_store_bench(
    config: Config, scratch: Path, available: dict[str, str], log: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """`{system: {"grow": Outcome, "list": Outcome}}` as dicts; tether's server stores as `tether-postgres` etc."""
    results: dict[str, dict[str, Any]] = {}

    def run(system: str, phase: str, python: Path, module: str, args: dict[str, Any]) -> None:
        reason = available.get(system.split("-")[0] if system.startswith("tether") else system, "")
        if reason:
            results.setdefault(system, {})[phase] = asdict(Outcome(False, reason=reason))
            return
        workdir = scratch / "stores" / system / phase
        workdir.mkdir(parents=True, exist_ok=True)
        project = workdir / "project"
        project.mkdir(exist_ok=True)
        args = {**args, "dir": str(workdir), "project": str(project)}
        log(f"stores {phase}: {system}")
        outcome = run_worker(python, module, args, sealed_env(workdir), timeout=config.worker_timeout_s)
        if not outcome.ok:
            log(f"  {system} {phase} failed: {outcome.reason}")
        results.setdefault(system, {})[phase] = asdict(outcome)

    for system, (python, module) in GROW_WORKERS.items():
        extra = {"kind": "sqlite"} if system == "tether" else {}
        name = "tether-sqlite" if system == "tether" else system
        run(name, "grow", python(), module, {**_grow_args(config, system), **extra})
    for system, (python, module) in LIST_WORKERS.items():
        store = config.stores[system]
        extra = {"kind": "sqlite"} if system == "tether" else {}
        name = "tether-sqlite" if system == "tether" else system
        run(
            name,
            "list",
            python(),
            module,
            {"phase": "list", "sessions": store.list_sessions, "reps": store.list_reps, **extra},
        )
    for system, reason in NO_LISTING.items():
        results.setdefault(system, {})["list"] = asdict(Outcome(False, reason=reason))
    for kind, url in server_store_kinds(log).items():
        name = f"tether-{kind}"
        run(
            name,
            "grow",
            tether_python(),
            "bench.store_tether",
            {**_grow_args(config, "tether"), "kind": kind, "url": url},
        )
        store = config.stores["tether"]
        args = {"phase": "list", "sessions": store.list_sessions, "reps": store.list_reps, "kind": kind, "url": url}
        run(name, "list", tether_python(), "bench.store_tether", args)
    return results
