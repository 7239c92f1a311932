"""Resume of a compacted 10,000-item session beside the same session uncompacted.

    .venv/bin/python -m bench.compaction [--items 10000] [--repeat 9]

One session of N items (turns of 4, as `bench/sessions.py` writes them) is stored twice in a
SQLiteStore; one copy is then compacted with `/compact` (the model is a `FunctionModel` named
`claude-sonnet-4-5` that answers each summary request with about 2,000 characters). The
compacted copy keeps every item, plus the boundary, the summary and the preserved tail.

For each copy, `query(resume=...)` is timed from the call to its first model request (the model
notes when it is called), and that request's size is measured: JSON bytes of its messages and
tether's token estimate. Nothing is written by these runs (`persist_session=False`). The
uncompacted copy runs with `DISABLE_AUTO_COMPACT=1`, so its whole history is sent, as it would
be without compaction (a real 200k-token model would refuse it). Figures are medians.

`make bench` runs it as a worker (`python -m bench.compaction '{"items": N, "repeat": R}'`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

from bench.report import compaction_table
from bench.sessions import make_history
from bench.workload import emit
from tether import AgentOptions, query
from tether._vocabulary.store import SessionKey
from tether.agent.compaction import SUMMARY_PROMPT
from tether.agent.context_window import estimate_tokens
from tether.models.base import ModelEvent, ModelRequest, ModelResponse
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import FunctionModel

MODEL = "claude-sonnet-4-5"
ASKS_FOR_SUMMARY = SUMMARY_PROMPT.splitlines()[0]
SUMMARY = "<summary>" + "The user and the assistant read the request handler, turn after turn. " * 28 + "</summary>"


def _summarise(request: ModelRequest) -> str:
    return SUMMARY if ASKS_FOR_SUMMARY in json.dumps(request.messages) else "ok"


class _FirstRequest:
    """A model that notes when it is first called, and that request (nothing copied, nothing computed)."""

    model_name = MODEL

    def __init__(self) -> None:
        self.at: float | None = None
        self.request: ModelRequest | None = None

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if self.at is None:
            self.at = time.perf_counter()
            self.request = request
        usage = {"input_tokens": 1, "output_tokens": 1}
        yield ModelResponse(content=[{"type": "text", "text": "ok"}], model=MODEL, usage=usage, id="msg_bench")


async def _resume(store: SQLiteStore, cwd: Path, session_id: str, env: dict[str, str]) -> tuple[float, int, int]:
    """Seconds from `query()` to the first model request, and that request's JSON bytes and tokens."""
    noted = _FirstRequest()
    options = AgentOptions(
        model=noted, session_store=store, cwd=cwd, resume=session_id, tools=[], persist_session=False, env=env
    )
    start = time.perf_counter()
    async for _ in query(prompt="Go on.", options=options):
        pass
    assert noted.at is not None and noted.request is not None
    messages = noted.request.messages
    return noted.at - start, len(json.dumps(messages).encode()), estimate_tokens(messages)


async def _store_session(store: SQLiteStore, cwd: Path, items: int) -> str:
    session_id = str(uuid.uuid4())
    key = SessionKey(project_key=project_key_for_directory(cwd), session_id=session_id)
    for turn in make_history(session_id, items):
        for entry in turn:
            entry["cwd"] = str(cwd)
        await store.append(key, turn)
    return session_id


async def measure(items: int, repeat: int) -> dict[str, Any]:
    """The figures for one session of `items` items, compacted and not."""
    with tempfile.TemporaryDirectory(prefix="tether-bench-compaction-") as scratch:
        cwd = Path(scratch)
        store = SQLiteStore(cwd / "sessions.db")
        try:
            plain = await _store_session(store, cwd, items)
            compacted = await _store_session(store, cwd, items)
            started = time.perf_counter()
            compact = FunctionModel(_summarise, model_name=MODEL)
            options = AgentOptions(model=compact, session_store=store, cwd=cwd, resume=compacted, tools=[])
            async for _ in query(prompt="/compact", options=options):
                pass
            compaction_seconds = time.perf_counter() - started
            results: dict[str, Any] = {"items": items, "repeat": repeat, "summary_calls": len(compact.requests)}
            results["compaction_s"] = compaction_seconds
            for name, session_id, env in (
                ("uncompacted", plain, {"DISABLE_AUTO_COMPACT": "1"}),
                ("compacted", compacted, {}),
            ):
                await _resume(store, cwd, session_id, env)  # a warm-up run, not counted
                runs = [await _resume(store, cwd, session_id, env) for _ in range(repeat)]
                results[name] = {
                    "to_first_request_s": statistics.median(run[0] for run in runs),
                    "request_bytes": runs[0][1],
                    "request_tokens": runs[0][2],
                }
        finally:
            await store.close()
    return results


def main(argv: list[str]) -> None:
    if len(argv) == 1 and argv[0].startswith("{"):  # a worker of `make bench`
        arguments = json.loads(argv[0])
        emit(anyio.run(measure, int(arguments.get("items", 10_000)), int(arguments.get("repeat", 9))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args(argv)
    results = anyio.run(measure, options.items, options.repeat)
    print("\n".join(compaction_table(results)))
    print(f"\n/compact took {results['compaction_s']:.2f} s (summary requests: {results['summary_calls']})")


if __name__ == "__main__":
    main(sys.argv[1:])
