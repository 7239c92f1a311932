"""The performance gate of `make check`: tether's hot paths as ratios against bare baselines, in one run.

    .venv/bin/python -m bench.gate             # measure, compare with bench/gate.json, exit 1 on a regression
    .venv/bin/python -m bench.gate --record    # measure and write the figures as the new reference

Each hot path is timed beside a baseline that does the irreducible part of the same work with the
standard library on the same bytes in the same process (an SQLite insert of the same rows, a
`json.loads` of the same lines, a bare streamed HTTP request to the same fake server). The gate
compares the ratio `hot path / baseline`, not seconds, so a loaded or slower machine moves both
sides; a figure fails when its ratio is more than `TOLERANCE` above the committed reference.
Times are CPU seconds of this process (the fake server runs in it too), so other processes' load
moves them little; each ratio is the median over alternating figure/baseline pairs, and of
`--runs` whole measurements the lowest ratio counts (a regression shows in every run, noise does
not). Runs in under a minute; `make bench` stays the full report beside the peers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.fake_server import BenchAnthropicServer

REFERENCE = Path(__file__).with_name("gate.json")
TOLERANCE = 0.25
"""A ratio may grow by this fraction over the reference before the gate fails."""
REPS = 15
RETRIES = 2
"""Whole measurements added when a figure is over its limit: a regression stays, a disturbed run does not."""
PROMPT = "Say something short."


async def _call(function: Callable[[], Any]) -> None:
    result = function()
    if inspect.isawaitable(result):
        await result


async def _cpu(function: Callable[[], Any]) -> float:
    """CPU seconds of one call, with the cyclic garbage collector held off (as `timeit` does): its
    passes cost what the whole process holds, not what the call does."""
    gc.disable()
    try:
        start = time.process_time()
        await _call(function)
        return time.process_time() - start
    finally:
        gc.enable()


async def _paired(
    figure: Callable[[], Any], baseline: Callable[[], Any], reps: int = REPS
) -> tuple[float, float, float]:
    """`(seconds, baseline seconds, ratio)`: the figure and its baseline run alternately, so both meet
    the same load; the ratio is the median of the pairs' ratios, the seconds their medians."""
    gc.collect()
    gc.freeze()  # what set-up left alive is not scanned again
    pairs = [(await _cpu(figure), await _cpu(baseline)) for _ in range(reps)]
    gc.unfreeze()
    ratios = [seconds / max(base, 1e-6) for seconds, base in pairs]
    return (
        statistics.median(seconds for seconds, _ in pairs),
        statistics.median(base for _, base in pairs),
        statistics.median(ratios),
    )


@contextmanager
def _sandbox() -> Iterator[tuple[Path, BenchAnthropicServer]]:
    """A temporary HOME/TETHER_HOME/CLAUDE_CONFIG_DIR and a fake Anthropic server for this process."""
    with tempfile.TemporaryDirectory(prefix="tether-gate-") as scratch:
        root = Path(scratch)
        saved = dict(os.environ)
        server = BenchAnthropicServer()
        server.start()
        try:
            os.environ.update(
                HOME=str(root),
                TETHER_HOME=str(root / "tether"),
                CLAUDE_CONFIG_DIR=str(root / "claude"),
                ANTHROPIC_BASE_URL=server.url,
                ANTHROPIC_API_KEY="gate-key",
            )
            (root / "project").mkdir()
            yield root, server
        finally:
            server.stop()
            os.environ.clear()
            os.environ.update(saved)


class _Baselines:
    """The standard library doing the irreducible part of each hot path, on the same bytes."""

    def __init__(self, root: Path) -> None:
        self.db = sqlite3.connect(root / "baseline.db", isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")

    def insert(self, lines: list[str]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO rows (data) VALUES (?)", [(line,) for line in lines])
        self.db.execute("COMMIT")

    def read_and_decode(self, lines: list[str]) -> Callable[[], Any]:
        """A select of `lines` (inserted once) and a `json.loads` of each."""
        first = self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM rows").fetchone()[0]
        self.insert(lines)
        last = first + len(lines)

        def read() -> Any:
            rows = self.db.execute("SELECT data FROM rows WHERE id >= ? AND id < ? ORDER BY id", (first, last))
            return [json.loads(data) for (data,) in rows]

        return read


def _lines(entries: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(entry, separators=(",", ":"), ensure_ascii=False) for entry in entries]


async def measure() -> dict[str, dict[str, float]]:
    """Every gated figure: `{name: {"seconds": s, "baseline": s, "ratio": r}}` (CPU seconds of this process)."""
    from bench.workload import MODEL, claude_session, claude_turn

    with _sandbox() as (root, server):
        import httpx2

        from tether import AgentOptions, ResultMessage, project_key_for_directory, query
        from tether.sessions.store import NO_LEAF
        from tether.sessions.stores.sqlite import SQLiteStore
        from tether.sessions.urls import open_store
        from tether.types import SessionKey

        project = str(root / "project")
        project_key = project_key_for_directory(project)
        base = _Baselines(root)
        figures: dict[str, dict[str, float]] = {}

        async def record(name: str, figure: Callable[[], Any], baseline: Callable[[], Any], reps: int = REPS) -> None:
            seconds, baseline_seconds, ratio = await _paired(figure, baseline, reps)
            figures[name] = {"seconds": seconds, "baseline": baseline_seconds, "ratio": ratio}

        async def to_first_message() -> None:
            async for _message in query(prompt=PROMPT, options=AgentOptions(model=MODEL, cwd=project)):
                return

        async def round_trip(**extra: Any) -> None:
            async for message in query(prompt=PROMPT, options=AgentOptions(model=MODEL, cwd=project, **extra)):
                if isinstance(message, ResultMessage) and message.is_error:
                    raise RuntimeError(f"the gate's run failed: {message.result}")

        async with httpx2.AsyncClient() as client:
            body = {"model": MODEL, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
            headers = {"x-api-key": "gate-key", "anthropic-version": "2023-06-01"}

            async def bare_request() -> None:
                async with client.stream("POST", f"{server.url}/v1/messages", json=body, headers=headers) as reply:
                    async for _chunk in reply.aiter_bytes():
                        pass

            await round_trip()  # imports, the provider client, the store file: a process's first use
            await bare_request()
            turn_lines = _lines(claude_session(1, session_id=str(uuid.uuid4()), cwd=project))
            await record("first_message", to_first_message, lambda: [base.insert(turn_lines) for _ in range(10)])
            await record("round_trip", round_trip, bare_request)

            store = SQLiteStore(root / "gate.db")
            try:
                session_id = str(uuid.uuid4())
                key = SessionKey(project_key=project_key, session_id=session_id)
                seeded = claude_session(250, session_id=session_id, cwd=project)  # 1,000 items
                await store.append(key, seeded)
                state = {"leaf": seeded[-1]["uuid"], "turn": 250}

                async def append_turn() -> None:
                    entries = claude_turn(state["turn"], session_id=session_id, parent_uuid=state["leaf"], cwd=project)
                    await store.append(key, entries, expected_leaf=state["leaf"] or NO_LEAF)
                    state["leaf"], state["turn"] = entries[-1]["uuid"], state["turn"] + 1

                await record("append_at_1000", append_turn, lambda: base.insert(turn_lines), 25)

                big_id = str(uuid.uuid4())
                big_key = SessionKey(project_key=project_key, session_id=big_id)
                big = claude_session(2_500, session_id=big_id, cwd=project)  # 10,000 items
                await store.append(big_key, big)
                await record("load_10000", lambda: store.load(big_key), base.read_and_decode(_lines(big)), 5)
            finally:
                await store.close()

            default_store = open_store(None)  # the process's shared default store: the one query() resumes from
            for turns, name, reps in ((200, "resume_200_turns", 7), (2_500, "resume_10000_items", 5)):
                # a fresh session for each rep, seeded untimed: a resume compacts a 10,000-item session, so a
                # second resume of the same session would measure a compacted one
                fresh: list[str] = []
                for _ in range(reps):
                    fresh.append(str(uuid.uuid4()))
                    history = claude_session(turns, session_id=fresh[-1], cwd=project)
                    await default_store.append(SessionKey(project_key=project_key, session_id=fresh[-1]), history)
                decode = base.read_and_decode(_lines(history))

                async def bare_resume(decode: Callable[[], Any] = decode) -> None:
                    json.dumps(decode())
                    await bare_request()

                await record(name, lambda fresh=fresh: round_trip(resume=fresh.pop()), bare_resume, reps)
        return figures


def _failing(figures: dict[str, dict[str, float]], limits: dict[str, float]) -> bool:
    return any(name in limits and f["ratio"] > limits[name] * (1 + TOLERANCE) for name, f in figures.items())


def compare(figures: dict[str, dict[str, float]], reference: dict[str, float]) -> list[str]:
    """One line per figure; those that regressed beyond the tolerance start with `FAIL`."""
    lines = []
    for name, figure in figures.items():
        ratio = figure["ratio"]
        allowed = reference.get(name)
        verdict = "new" if allowed is None else ("FAIL" if ratio > allowed * (1 + TOLERANCE) else "ok")
        against = "" if allowed is None else f" (reference {allowed:.2f}, limit {allowed * (1 + TOLERANCE):.2f})"
        lines.append(
            f"{verdict:4} {name:20} {figure['seconds'] * 1000:9.3f} ms  baseline {figure['baseline'] * 1000:8.3f} ms"
            f"  ratio {ratio:7.2f}{against}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--record", action="store_true", help="write the measured ratios as the new reference")
    parser.add_argument("--runs", type=int, default=3, help="measure this many times; keep each figure's best ratio")
    args = parser.parse_args(argv)
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
    limits = reference.get("ratios", {})
    best: dict[str, dict[str, float]] = {}
    runs = 0
    while runs < args.runs or (not args.record and runs < args.runs + RETRIES and _failing(best, limits)):
        runs += 1
        for name, figure in asyncio.run(measure()).items():
            if name not in best or figure["ratio"] < best[name]["ratio"]:
                best[name] = figure
    report = compare(best, limits)
    print("\n".join(report))
    if args.record:
        ratios = {name: round(figure["ratio"], 3) for name, figure in best.items()}
        REFERENCE.write_text(json.dumps({"tolerance": TOLERANCE, "ratios": ratios}, indent=2) + "\n")
        print(f"reference written to {REFERENCE}")
        return 0
    failed = [line for line in report if line.startswith("FAIL")]
    if failed:
        print(f"\n{len(failed)} hot path(s) more than {TOLERANCE:.0%} slower than the reference", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
