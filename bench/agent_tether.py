"""Agent-level figures of tether (run in tether's `.venv`), against the bench's fake Anthropic server.

    .venv/bin/python -m bench.agent_tether '{"phase": "latency", "project": "...", ...}'

The harness sets `ANTHROPIC_BASE_URL`, a dummy `ANTHROPIC_API_KEY` and a temporary `HOME` and
`TETHER_HOME`; the agent uses tether's defaults (`AgentOptions(model="claude-sonnet-4-5")`,
the default session store under `TETHER_HOME`). Phases mirror `bench.agent_claude`:

- `latency`: `query()` to the first message and to the end of the iterator (1-turn round trip);
  then resumes of sessions of several lengths, seeded straight into the store, whose start
  times the harness matches with the server's request log.
- `memory`: the RSS added per extra live, connected `AgentClient` (after one turn each), with a
  base of clients already live.
- `concurrency`: N `query()` calls at once in this process; wall time and peak RSS.
"""

from __future__ import annotations

import asyncio
import gc
import time
from contextlib import AsyncExitStack
from typing import Any

from bench.workload import MODEL, claude_session, emit, peak_rss_bytes, rss_bytes, summary, worker_args
from tether import AgentClient, AgentOptions, ResultMessage, project_key_for_directory, query
from tether._vocabulary.store import SessionKey
from tether.sessions.urls import open_store

PROMPT = "Say something short."


def _options(project: str, **extra: Any) -> AgentOptions:
    return AgentOptions(model=MODEL, cwd=project, **extra)


async def _one_query(project: str, **extra: Any) -> dict[str, Any]:
    start = time.monotonic()
    first = result_at = None
    session_id = None
    async for message in query(prompt=PROMPT, options=_options(project, **extra)):
        now = time.monotonic()
        if first is None:
            first = now - start
        if isinstance(message, ResultMessage):
            result_at = now - start
            session_id = message.session_id
            if message.is_error:
                raise RuntimeError(f"the run ended in error: {message.result or message.errors}")
    return {
        "start": start,
        "first": first,
        "result": result_at,
        "end": time.monotonic() - start,
        "session_id": session_id,
    }


async def _seed(project: str, turns: int) -> str:
    """A session of `turns` turns written straight into the default store; returns its id."""
    import uuid

    session_id = str(uuid.uuid4())
    store = open_store(None)
    try:
        key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
        await store.append(key, claude_session(turns, session_id=session_id, cwd=project))
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            await close()
    return session_id


async def latency(args: dict[str, Any]) -> dict[str, Any]:
    project = args["project"]
    await _one_query(project)  # imports, provider client, store file: the first use in a process
    runs = [await _one_query(project) for _ in range(args["reps"])]
    resumes: dict[str, list[dict[str, Any]]] = {}
    for turns in args["resume_turns"]:
        resumes[str(turns)] = []
        for _ in range(args["resume_reps"]):
            session_id = await _seed(project, turns)
            run = await _one_query(project, resume=session_id)
            if run["session_id"] != session_id:
                raise RuntimeError(f"resume of {session_id} answered as session {run['session_id']}")
            resumes[str(turns)].append(run)
    return {
        "store": type(open_store(None)).__name__,
        "first_message": summary([run["first"] for run in runs]),
        "round_trip": summary([run["end"] for run in runs]),
        "result_message": summary([run["result"] for run in runs]),
        "resume_runs": resumes,
    }


async def _open_client(stack: AsyncExitStack, project: str) -> None:
    client = await stack.enter_async_context(AgentClient(_options(project)))
    await client.query(PROMPT)
    async for _ in client.receive_response():
        pass


async def memory(args: dict[str, Any]) -> dict[str, Any]:
    project = args["project"]
    async with AsyncExitStack() as stack:
        for _ in range(args["base_clients"]):
            await _open_client(stack, project)
        gc.collect()
        before = rss_bytes()
        for _ in range(args["clients"]):
            await _open_client(stack, project)
        gc.collect()
        after = rss_bytes()
    return {
        "base_clients": args["base_clients"],
        "clients": args["clients"],
        "rss_before": before,
        "rss_after": after,
        "per_client": (after - before) / args["clients"],
    }


async def concurrency(args: dict[str, Any]) -> dict[str, Any]:
    project = args["project"]
    await _one_query(project)
    gc.collect()
    baseline = rss_bytes()
    sessions = args["sessions"]
    start = time.monotonic()
    runs = await asyncio.gather(*(_one_query(project) for _ in range(sessions)))
    wall = time.monotonic() - start
    return {
        "sessions": sessions,
        "wall": wall,
        "baseline_rss": baseline,
        "peak_rss": peak_rss_bytes(),
        "latency": summary([run["end"] for run in runs]),
    }


PHASES = {"latency": latency, "memory": memory, "concurrency": concurrency}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
