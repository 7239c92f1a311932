"""Profile a tether scenario with py-spy (installed in `bench/.venv`) and print where the time goes.

    .venv/bin/python -m bench.profile round_trip [--loops 300]
    .venv/bin/python -m bench.profile resume [--turns 2500] | load [--items 10000] | append

The scenario runs in tether's `.venv` (`bench.profile_target`), against the bench's fake
Anthropic server, in a sealed temporary HOME/TETHER_HOME, sampled by `py-spy record` at 1 kHz
(the process's CPU time only: waiting on the socket is idle and not sampled). The output lists
the functions by their inclusive share of the samples (the function or anything it calls was
running) and by their self share (the function itself was on top), as `file:function`. Only the
scenario's measured loop counts: main-thread stacks outside `measured_loop` (imports, seeding,
warm-up) are dropped, and so are worker threads waiting for work.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from bench.fake_server import BenchAnthropicServer
from bench.peer_env import PEER_VENV, ensure_peer_env
from bench.workers import REPO, sealed_env, tether_python
from bench.workload import RESULT_PREFIX

FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")
MARKER = "bench/profile_target.py:measured_loop"
IDLE_LEAVES = {"concurrent/futures/thread.py:_worker", "threading.py:Condition.wait", "queue.py:Queue.get"}
"""Leaf frames of a worker thread waiting for work: idle, though py-spy samples them."""


def _short(path: str) -> str:
    for root in ("site-packages/", "/src/", "/lib/python3"):
        if root in path:
            return path.split(root, 1)[1].lstrip("/")
    return path.replace(str(REPO) + "/", "")


def _frame_name(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{_short(match['file'])}:{match['function']}"


def summarize(raw: Path, top: int) -> str:
    """The top functions, inclusive and self, from py-spy's raw (collapsed stack) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_frame_name(frame) for frame in stack.split(";")]
        if frames[-1] in IDLE_LEAVES:
            continue
        if MARKER not in frames and not frames[0].startswith("threading.py"):
            continue  # setup and warm-up of the main thread (worker threads are kept: they run loop work)
        count = int(count_text)
        total += count
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    if total == 0:
        return "no samples"
    lines = [f"{total} samples", "", "inclusive share (the function and what it calls):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self share (the function itself):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["round_trip", "resume", "load", "append"])
    parser.add_argument("--loops", type=int, default=200)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--turns", type=int, default=200, help="resume: the seeded session's length")
    parser.add_argument("--items", type=int, default=10_000, help="load/append: the session's length")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and the raw profile")
    options = parser.parse_args()
    ensure_peer_env(log=False)
    py_spy = PEER_VENV / "bin" / "py-spy"
    scratch = Path(tempfile.mkdtemp(prefix="tether-profile-"))
    project = scratch / "project"
    project.mkdir()
    raw = scratch / "profile.txt"
    args = {
        "scenario": options.scenario,
        "loops": options.loops,
        "project": str(project),
        "dir": str(scratch),
        "turns": options.turns,
        "items": options.items,
    }
    with BenchAnthropicServer() as server:
        env = sealed_env(scratch, server_url=server.url)
        command = [str(py_spy), "record", "--rate", "1000", "--format", "raw", "--output", str(raw), "--"]
        command += [str(tether_python()), "-m", "bench.profile_target", json.dumps(args)]
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    try:
        result = next((line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)), None)
        if result is None or not raw.exists():
            raise SystemExit(f"profiling failed: {done.stderr.strip()[-2000:]}")
        per_loop = json.loads(result[len(RESULT_PREFIX) :])["per_loop"]
        print(f"{options.scenario}: {per_loop * 1e3:.3f} ms per loop under the profiler ({options.loops} loops)")
        if options.keep:
            print(f"raw profile (py-spy collapsed stacks): {raw}")
        print(summarize(raw, options.top))
    finally:
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
