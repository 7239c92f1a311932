"""`make bench`: tether beside claude-agent-sdk, OpenAI Agents and LangGraph, measured in one run.

    .venv/bin/python -m bench.run            # the full run (under 15 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    # small sizes, for development

Steps: install the peers into `bench/.venv` (once), run the agent-level comparison against the
fake Anthropic server, run the store micro-benchmarks, then write `bench/results/latest.json`,
`bench/results/latest.md` and `bench/results/cost_vs_length.png`. Everything runs under a
temporary directory (HOME, TETHER_HOME, CLAUDE_CONFIG_DIR, databases) deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.agent_bench import run_agent_bench
from bench.config import FULL, QUICK, Config
from bench.peer_env import ensure_peer_env
from bench.report import render, update_docs
from bench.store_bench import run_store_bench
from bench.workers import REPO, peer_python, run_worker, sealed_env, tether_python

RESULTS = REPO / "bench" / "results"

PEER_GROUPS_OF = {
    "claude-agent-sdk": "claude-agent-sdk",
    "openai-agents": "openai-agents",
    "langgraph": "langgraph",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    python = platform.python_version()
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Linux {platform.release()}, Python {python}"


def versions(status: dict[str, dict[str, Any]]) -> str:
    done = subprocess.run(
        [str(tether_python()), "-c", "import tether, sqlite3; print(tether.__version__, sqlite3.sqlite_version)"],
        capture_output=True,
        text=True,
        check=False,
    )
    parts = done.stdout.split()
    found = [f"tether {parts[0]}" if parts else "tether ?"]
    for group in ("claude-agent-sdk", "openai-agents", "langgraph"):
        for name, version in (status.get(group, {}).get("versions") or {}).items():
            found.append(f"{name} {version}")
    if len(parts) > 1:
        found.append(f"SQLite {parts[1]}")
    return ", ".join(found)


def peers_available(status: dict[str, dict[str, Any]]) -> dict[str, str]:
    """`{system: reason}` for each peer that cannot run (empty reason: it can)."""
    available = {"tether": ""}
    for system, group in PEER_GROUPS_OF.items():
        entry = status.get(group, {})
        available[system] = "" if entry.get("ok") else str(entry.get("reason") or "not installed")
    return available


def run_compaction_bench(config: Config, scratch: Path, log: Any) -> dict[str, Any]:
    """Resume of a compacted session beside the same session uncompacted (`bench/compaction.py`)."""
    items = 1_000 if config is QUICK else 10_000
    log(f"compaction: resume of a compacted {items:,}-item session")
    args = {"items": items, "repeat": 9}
    outcome = run_worker(
        tether_python(), "bench.compaction", args, sealed_env(scratch), timeout=config.worker_timeout_s
    )
    return outcome.result if outcome.ok else {"error": outcome.reason}


def run_tracing_bench(config: Config, scratch: Path, log: Any) -> dict[str, Any]:
    """Turns with an SDK tracer provider beside the same turns without one (`bench/tracing.py`)."""
    turns = 10 if config is QUICK else 30
    log(f"tracing: {turns} turns with and without an SDK tracer provider")
    args = {"turns": turns, "rounds": 3 if config is QUICK else 7}
    outcome = run_worker(tether_python(), "bench.tracing", args, sealed_env(scratch), timeout=config.worker_timeout_s)
    return outcome.result if outcome.ok else {"error": outcome.reason}


def run_workspace_bench(config: Config, scratch: Path, log: Any) -> dict[str, Any]:
    """Workspace snapshots: after a Bash call in a large workspace, and bytes per turn (`bench/workspace.py`)."""
    files = 1_000 if config is QUICK else 10_000
    log(f"workspace: snapshot after a Bash call in a {files:,}-file workspace, bytes for 100 turns of edits")
    args = {"files": files, "changed": 10, "turns": 100, "repeat": 9}
    outcome = run_worker(tether_python(), "bench.workspace", args, sealed_env(scratch), timeout=config.worker_timeout_s)
    return outcome.result if outcome.ok else {"error": outcome.reason}


def run_durable_bench(config: Config, scratch: Path, log: Any) -> dict[str, Any]:
    """A 10-tool durable turn beside the same turn without durability, SQLite and PostgreSQL (`bench/durable.py`)."""
    log("durable: a 10-tool turn with and without DBOS, SQLite and PostgreSQL")
    args = {"tools": 10, "rounds": 3 if config is QUICK else 7}
    outcome = run_worker(tether_python(), "bench.durable", args, sealed_env(scratch), timeout=config.worker_timeout_s)
    return outcome.result if outcome.ok else {"error": {"error": outcome.reason}}


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument(
        "--only", choices=["agent", "stores", "compaction", "tracing", "workspace", "durable"], help="run one part only"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (printed)")
    options = parser.parse_args(argv)
    config: Config = QUICK if options.quick else FULL
    started = time.monotonic()
    load_before = load_average()
    log(f"bench ({config.name}): peers' virtualenv")
    status = ensure_peer_env()
    available = peers_available(status)
    for system, reason in available.items():
        if reason:
            log(f"  {system} unavailable: {reason}")
    scratch = Path(tempfile.mkdtemp(prefix="tether-bench-"))
    results: dict[str, Any] = {
        "agent": {},
        "stores": {},
        "compaction": {},
        "tracing": {},
        "workspace": {},
        "durable": {},
    }
    try:
        if options.only in (None, "agent"):
            results["agent"] = run_agent_bench(config, scratch, available, log)
        if options.only in (None, "stores"):
            results["stores"] = run_store_bench(config, scratch, available, log)
        if options.only in (None, "compaction"):
            results["compaction"] = run_compaction_bench(config, scratch, log)
        if options.only in (None, "tracing"):
            results["tracing"] = run_tracing_bench(config, scratch, log)
        if options.only in (None, "workspace"):
            results["workspace"] = run_workspace_bench(config, scratch, log)
        if options.only in (None, "durable"):
            results["durable"] = run_durable_bench(config, scratch, log)
    finally:
        if options.keep:
            log(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    wall = time.monotonic() - started
    tether_latency = results["agent"].get("tether", {}).get("latency", {})
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "config": config.name,
        "full_sizes": list(config.stores["tether"].table_sizes),
        "wall_seconds": wall,
        "machine": machine(),
        "versions": versions(status),
        "tether_agent_store": (tether_latency.get("result") or {}).get("store", "?"),
        "load_average": {"before": load_before, "after": load_average()},
        "shared_machine_note": os.environ.get(
            "BENCH_NOTE",
            f"Load average before the run {load_before}, after {load_average()}: on a shared machine, "
            "absolute figures vary; the ratios, measured side by side, are the steadier part.",
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / "latest.json"
    json_path.write_text(json.dumps(results, indent=1))
    latest = render(results)
    (RESULTS / "latest.md").write_text(latest)
    docs = REPO / "docs" / "performance.md"
    if config is FULL and options.only is None and docs.exists():
        docs.write_text(update_docs(docs.read_text(), latest))
    plot = subprocess.run(
        [str(peer_python()), "-m", "bench.plot", str(json_path), str(RESULTS / "cost_vs_length.png")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if plot.returncode != 0:
        log(f"plot failed: {plot.stderr.strip().splitlines()[-1] if plot.stderr.strip() else plot.returncode}")
    log(f"wrote {RESULTS / 'latest.md'} and cost_vs_length.png in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
