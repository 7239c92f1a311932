"""Durable turns: what DBOS adds per step, and how long a take-over takes after a kill.

    .venv/bin/python -m bench.durable [--rounds 5] [--tools 10]        # overhead, SQLite and PostgreSQL
    .venv/bin/python -m bench.durable --takeover                        # take-over times after kill -9

Overhead: one process runs, alternating, the same turn with and without `durable=True`: a model
(`FunctionModel`, costs nothing) that calls `Read` `--tools` times, then answers. Figures are the
medians over rounds of each turn's time, their ratio, and the time added per DBOS step (a turn of
10 tool calls records 32 steps: the turn's start, 11 model calls, 2 per tool call: its check and
its run) and per model or tool call (21).
PostgreSQL runs in a fresh database of `$TETHER_TEST_POSTGRES_URL` (default the local server).

Take-over: a turn is killed (`kill -9`) in a tool call, while a worker (`run_worker`, polling every
0.5 s) runs; the figure is the time from the kill to the worker's report that the turn ended.
Same machine: the worker sees the pid is gone. Other machine, simulated: the killed process
reports another host name, so only its lease (TTL 5 s) tells it died.

`make bench` runs the overhead as a worker (`python -m bench.durable '{"rounds": 5}'`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

from bench.workload import RESULT_PREFIX
from tether import AgentOptions, ResultMessage, query
from tether.models.base import ModelRequest
from tether.testing import FunctionModel, Reply, tool_use_reply

POSTGRES_URL = os.environ.get("TETHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TAKEOVER_TTL = 5.0


def reading_model(tools: int, file: str) -> FunctionModel:
    """Calls `Read` `tools` times (one call a reply), then answers."""

    def reply(request: ModelRequest) -> Reply:
        done = sum(
            1
            for message in request.messages
            for block in message.get("content", [])
            if isinstance(block, dict) and block.get("type") == "tool_result"
        )
        return tool_use_reply("Read", {"file_path": file}) if done < tools else "done"

    return FunctionModel(reply, model_name="claude-sonnet-4-5")


async def one_turn(store: str, project: Path, tools: int, durable: bool) -> float:
    options = AgentOptions(
        model=reading_model(tools, str(project / "notes.txt")),
        session_store=store,
        cwd=project,
        allowed_tools=["Read"],
        durable=durable,
    )
    started = time.perf_counter()
    result = [message async for message in query(prompt="read it", options=options)][-1]
    seconds = time.perf_counter() - started
    assert isinstance(result, ResultMessage) and not result.is_error, result
    return seconds


async def overhead(store: str, project: Path, tools: int, rounds: int) -> dict[str, Any]:
    from tether.durable.engine import shutdown

    await one_turn(store, project, tools, True)  # warm: DBOS launched, tables made
    await one_turn(store, project, tools, False)
    plain: list[float] = []
    durable: list[float] = []
    for _ in range(rounds):
        plain.append(await one_turn(store, project, tools, False))
        durable.append(await one_turn(store, project, tools, True))
    shutdown()
    steps, calls = 1 + (tools + 1) + 2 * tools, 2 * tools + 1
    plain_s, durable_s = statistics.median(plain), statistics.median(durable)
    return {
        "tools": tools,
        "plain_s": plain_s,
        "durable_s": durable_s,
        "ratio": durable_s / plain_s,
        "steps": steps,
        "ms_per_step": (durable_s - plain_s) * 1000 / steps,
        "ms_per_call": (durable_s - plain_s) * 1000 / calls,
    }


def _postgres_database() -> tuple[str, str] | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3) as admin:
            name = f"tether_bench_{uuid.uuid4().hex[:10]}"
            admin.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return None
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


async def measure(tools: int, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        project = Path(name) / "project"
        project.mkdir()
        (project / "notes.txt").write_text("a line\n" * 20)
        results["sqlite"] = await overhead(f"sqlite:///{Path(name) / 'sessions.db'}", project, tools, rounds)
        database = _postgres_database()
        if database is None:
            results["postgres"] = {"error": f"PostgreSQL unreachable at {POSTGRES_URL}"}
        else:
            try:
                results["postgres"] = await overhead(database[0], project, tools, rounds)
            finally:
                _drop(database[1])
    return results


def durable_table(results: dict[str, Any]) -> list[str]:
    rows = [
        "| a turn of {} tool calls | plain | durable | durable / plain | added per step | added per call |",
        "|---|---|---|---|---|---|",
    ]
    rows[0] = rows[0].format(next((r["tools"] for r in results.values() if "tools" in r), "?"))
    for store, figures in results.items():
        if "error" in figures:
            rows.append(f"| {store} | not measured: {figures['error']} | | | | |")
            continue
        rows.append(
            f"| {store} | {figures['plain_s'] * 1000:.0f} ms | {figures['durable_s'] * 1000:.0f} ms | "
            f"{figures['ratio']:.2f}x | {figures['ms_per_step']:.1f} ms ({figures['steps']} steps) | "
            f"{figures['ms_per_call']:.1f} ms |"
        )
    return rows


# -- take-over after kill -9 ------------------------------------------------------------------------

CHILD = """
import os, socket, sys
if os.environ.get("BENCH_OTHER_HOST") == "1":
    socket.gethostname = lambda: "another-machine"  # its executor id and its lease name another host
import anyio
from bench.durable import takeover_options
from tether import query

async def main():
    options = takeover_options(sys.argv[1], sys.argv[2], slow=True)
    async for message in query(prompt="wait", options=options):
        print(type(message).__name__, flush=True)

anyio.run(main)
"""

WORKER = """
import sys, anyio
from bench.durable import takeover_options
from tether.durable.worker import run_worker

anyio.run(lambda: run_worker(sys.argv[1], options=takeover_options(sys.argv[1], sys.argv[2], slow=False),
                             poll_interval=0.5, grace=0.5))
"""


def takeover_options(store: str, cwd: str, *, slow: bool) -> AgentOptions:
    from tether import create_sdk_mcp_server, tool

    @tool("wait", "Waits", {"x": int}, idempotent=True)
    async def wait(args: dict[str, Any]) -> dict[str, Any]:
        if slow:
            await anyio.sleep(120)
        return {"content": [{"type": "text", "text": "waited"}]}

    def reply(request: ModelRequest) -> Reply:
        answered = any(
            isinstance(block, dict) and block.get("type") == "tool_result"
            for message in request.messages
            for block in message.get("content", [])
        )
        return "done" if answered else tool_use_reply("mcp__w__wait", {"x": 1})

    return AgentOptions(
        model=FunctionModel(reply, model_name="claude-sonnet-4-5"),
        session_store=store,
        cwd=cwd,
        mcp_servers={"w": create_sdk_mcp_server("w", tools=[wait])},
        allowed_tools=["mcp__w__wait"],
        durable=True,
        session_lease_ttl=TAKEOVER_TTL,
    )


def takeover(other_host: bool) -> float:
    """Seconds from the kill of a turn's process to a running worker's report that the turn ended."""
    with tempfile.TemporaryDirectory() as name:
        store = f"sqlite:///{Path(name) / 'sessions.db'}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"), "."])}
        env["BENCH_OTHER_HOST"] = "1" if other_host else "0"
        root = Path(__file__).parents[1]
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, store, name], cwd=root, env=env, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        while "UserMessage" not in (line := child.stdout.readline()) and "AssistantMessage" not in line:
            assert line, "the turn ended before it was killed"
        time.sleep(0.5)  # in its tool call
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, store, name], cwd=root, env=env, stdout=subprocess.PIPE, text=True
        )
        time.sleep(3)  # the worker is up (DBOS launched)
        child.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        child.wait()
        assert worker.stdout is not None
        line = worker.stdout.readline()
        seconds = time.perf_counter() - killed
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
        assert "SUCCESS" in line, line
        return seconds


def main(argv: list[str]) -> None:
    if len(argv) == 1 and argv[0].startswith("{"):  # a worker of `make bench`
        arguments = json.loads(argv[0])
        results = anyio.run(measure, int(arguments.get("tools", 10)), int(arguments.get("rounds", 5)))
        print(RESULT_PREFIX + json.dumps(results), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--takeover", action="store_true", help="measure take-over times after kill -9")
    options = parser.parse_args(argv)
    if options.takeover:
        print(f"take-over after kill -9, same machine: {takeover(False):.2f} s")
        print(f"take-over after kill -9, another machine (lease TTL {TAKEOVER_TTL:g} s): {takeover(True):.2f} s")
        return
    print("\n".join(durable_table(anyio.run(measure, options.tools, options.rounds))))


if __name__ == "__main__":
    main(sys.argv[1:])
