"""What OpenTelemetry spans cost a run: the same turns with an SDK tracer provider and without one.

    .venv/bin/python -m bench.tracing [--turns 30] [--rounds 7]

Each turn is `query()` on a `MemoryStore` with a `ScriptedModel` that calls Glob once and then
answers (so a turn has an `invoke_agent`, two `chat` and one `execute_tool` span). "with" passes
`tracer_provider=` an SDK `TracerProvider` whose span processor exports to an exporter that
drops them (the spans are made, attributes and all, and handed to a processor); "without" passes
none, in the same process, after the SDK was imported (so the check that finds no provider runs
too). The modes alternate round by round; figures are medians of the per-turn CPU milliseconds
of the process (the model is in-process, so CPU time is the run's cost, and it varies less than
wall time on a shared machine).

`make bench` runs it as a worker (`python -m bench.tracing '{"turns": N, "rounds": R}'`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from bench.report import tracing_table
from bench.workload import emit
from tether import AgentOptions, MemoryStore, query
from tether.testing import ScriptedModel, tool_use_reply


class _Dropped(SpanExporter):
    """An exporter that sends nothing anywhere (what it costs to hand spans over, without I/O)."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


async def _per_turn(turns: int, project: Path, provider: TracerProvider | None) -> float:
    """CPU milliseconds per turn, `turns` turns in a row (steadier than wall time on a shared machine)."""
    store = MemoryStore()
    started = time.process_time()
    for _ in range(turns):
        model = ScriptedModel([tool_use_reply("Glob", {"pattern": "*.txt"}), "done"])
        options = AgentOptions(
            model=model, session_store=store, cwd=project, allowed_tools=["Glob"], tracer_provider=provider
        )
        async for _message in query(prompt="go", options=options):
            pass
    return (time.process_time() - started) * 1000 / turns


async def measure(turns: int, rounds: int) -> dict[str, Any]:
    exporter = _Dropped()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with_spans: list[float] = []
    without: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        (project / "a.txt").write_text("a")
        await _per_turn(3, project, provider)  # warm up both paths
        await _per_turn(3, project, None)
        for _ in range(rounds):
            with_spans.append(await _per_turn(turns, project, provider))
            without.append(await _per_turn(turns, project, None))
        exporter.count = 0
        await _per_turn(1, project, provider)
    provider.shutdown()
    with_ms, without_ms = statistics.median(with_spans), statistics.median(without)
    return {
        "turns": turns,
        "rounds": rounds,
        "with_ms": with_ms,
        "without_ms": without_ms,
        "ratio": with_ms / without_ms,
        "spans_per_turn": exporter.count,
    }


def main(argv: list[str]) -> None:
    if len(argv) == 1 and argv[0].startswith("{"):  # a worker of `make bench`
        arguments = json.loads(argv[0])
        emit(anyio.run(measure, int(arguments.get("turns", 30)), int(arguments.get("rounds", 7))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args(argv)
    print("\n".join(tracing_table(anyio.run(measure, options.turns, options.rounds))))


if __name__ == "__main__":
    main(sys.argv[1:])
