"""The PNG of cost against history length (run in `bench/.venv`, where matplotlib is installed).

    bench/.venv/bin/python -m bench.plot bench/results/latest.json bench/results/cost_vs_length.png

Four panels, log-log, one line per system: appending one turn, loading the whole history and
forking at the end, against the session's item count; and resuming a session (to the first
model request) against its length. Dashed lines are tether's goals; hollow markers are values
a capped system did not reach (not plotted: only measured points are drawn).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STYLE = {
    "tether-sqlite": ("tether SQLiteStore", "#1f77b4", "o"),
    "tether-postgres": ("tether PostgresStore", "#17becf", "o"),
    "tether-redis": ("tether RedisStore", "#9467bd", "o"),
    "openai-agents": ("OpenAI Agents SQLiteSession", "#2ca02c", "s"),
    "langgraph": ("LangGraph SqliteSaver", "#d62728", "^"),
    "tether": ("tether", "#1f77b4", "o"),
    "claude-agent-sdk": ("claude-agent-sdk", "#ff7f0e", "D"),
}


def _store_series(results: dict[str, Any], figure: str) -> dict[str, tuple[list[int], list[float]]]:
    series = {}
    for system, phases in results.get("stores", {}).items():
        grow = phases.get("grow") or {}
        if not grow.get("ok"):
            continue
        points = [p for p in grow["result"]["points"] if figure in p and p[figure].get("median") is not None]
        if points:
            series[system] = ([p["items"] for p in points], [p[figure]["median"] * 1e3 for p in points])
    return series


def _resume_series(results: dict[str, Any]) -> dict[str, tuple[list[int], list[float]]]:
    series = {}
    for system, phases in results.get("agent", {}).items():
        latency = phases.get("latency") or {}
        if not latency.get("ok"):
            continue
        resume = latency["result"].get("resume", {})
        points = sorted(
            (int(turns) * 4, figures["to_first_request"]["median"] * 1e3)
            for turns, figures in resume.items()
            if figures["to_first_request"]["median"] is not None
        )
        if points:
            series[system] = ([x for x, _ in points], [y for _, y in points])
    return series


def plot(results: dict[str, Any], output: Path) -> None:
    figure, axes = plt.subplots(2, 2, figsize=(12, 9))
    panels = [
        (axes[0][0], "append one turn (4 items)", _store_series(results, "append"), 0.3),
        (axes[0][1], "load the whole history", _store_series(results, "load"), 15.0),
        (axes[1][0], "fork at the end", _store_series(results, "fork_end"), 1.0),
        (axes[1][1], "resume, to the first model request", _resume_series(results), 10.0),
    ]
    for axis, title, series, goal in panels:
        for system, (xs, ys) in series.items():
            label, color, marker = STYLE.get(system, (system, None, "o"))
            axis.plot(xs, ys, marker=marker, color=color, label=label)
        axis.axhline(goal, linestyle="--", color="grey", linewidth=1, label=f"tether goal ({goal:g} ms)")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_title(title)
        axis.set_xlabel("items in the session (4 per turn)")
        axis.set_ylabel("milliseconds (median)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    meta = results.get("meta", {})
    figure.suptitle(f"Cost against history length ({meta.get('date', '')}, {meta.get('machine', '')})", fontsize=10)
    figure.tight_layout()
    figure.savefig(output, dpi=110)


if __name__ == "__main__":
    plot(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
