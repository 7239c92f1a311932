"""An A/B of the gate's hot paths: the same measurement against two source trees, in one run.

    .venv/bin/python -m bench.ab /tmp/old-tree /path/to/this-tree [--runs 2]

Each tree's `src` goes first on `PYTHONPATH` of a subprocess that runs `bench.gate.measure()` (this
checkout's bench); the trees alternate, so both meet the same load. Older trees kept some modules
elsewhere: the subprocess aliases the gate's import paths to where such a tree has them. Prints, per
figure, each tree's best CPU milliseconds and ratio to its in-process baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH_ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import asyncio, importlib, json, sys, types
try:
    import tether.types  # noqa: F401
except ImportError:
    from tether.sessions.store import SessionKey
    sys.modules["tether.types"] = types.SimpleNamespace(SessionKey=SessionKey)
try:
    import tether.sessions.stores.sqlite  # noqa: F401
except ImportError:
    sys.modules["tether.sessions.stores.sqlite"] = importlib.import_module("tether.sessions.sqlite")
from bench.gate import measure
print("AB:" + json.dumps(asyncio.run(measure())))
"""


def _measure(tree: Path) -> dict[str, dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=f"{tree / 'src'}{os.pathsep}{BENCH_ROOT}")
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, check=False)
    line = next((line for line in done.stdout.splitlines() if line.startswith("AB:")), None)
    if line is None:
        raise SystemExit(f"{tree}: {done.stderr.strip()[-2000:]}")
    figures: dict[str, dict[str, float]] = json.loads(line[3:])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    best: dict[str, dict[str, dict[str, float]]] = {"before": {}, "after": {}}
    for _ in range(args.runs):
        for side, tree in (("before", args.before), ("after", args.after)):
            for name, figure in _measure(tree.resolve()).items():
                kept = best[side].get(name)
                if kept is None or figure["ratio"] < kept["ratio"]:
                    best[side][name] = figure
    print(f"{'figure':20} {'before ms':>10} {'ratio':>7} {'after ms':>10} {'ratio':>7}")
    for name, before in best["before"].items():
        after = best["after"].get(name, {"seconds": float("nan"), "ratio": float("nan")})
        print(
            f"{name:20} {before['seconds'] * 1e3:10.3f} {before['ratio']:7.2f}"
            f" {after['seconds'] * 1e3:10.3f} {after['ratio']:7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
