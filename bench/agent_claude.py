"""Agent-level figures of claude-agent-sdk (run in `bench/.venv`): each query spawns the Claude Code CLI.

    bench/.venv/bin/python -m bench.agent_claude '{"phase": "latency", "project": "...", ...}'

The harness sets the environment: `ANTHROPIC_BASE_URL` (the bench's fake server), a dummy
`ANTHROPIC_API_KEY`, `HOME` and `CLAUDE_CONFIG_DIR` in a temporary directory, and
`CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` so nothing leaves the machine. Phases:

- `latency`: `query()` to the first message and to the end of the iterator (a 1-turn round trip),
  then resumes of sessions of several lengths (transcripts written where the CLI looks for them);
  the harness gets each resume's start time to match with the server's request log.
- `memory`: K connected `ClaudeSDKClient`s after one turn each; the RSS of each CLI process tree.
- `concurrency`: N `query()` calls at once; wall time and the peak RSS of this process and its
  CLI children, sampled every 20 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions, ClaudeSDKClient, ResultMessage, query

from bench.workload import (
    MODEL,
    claude_session,
    descendants,
    emit,
    peak_rss_bytes,
    rss_bytes,
    summary,
    tree_rss_bytes,
    worker_args,
)

PROMPT = "Say something short."


def _options(project: str, **extra: Any) -> ClaudeAgentOptions:
    return ClaudeAgentOptions(model=MODEL, cwd=project, **extra)


def _project_dir(project: str) -> Path:
    try:
        from claude_agent_sdk import project_key_for_directory

        key = project_key_for_directory(project)
    except ImportError:
        key = re.sub(r"[^A-Za-z0-9]", "-", os.path.realpath(project))
    return Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / key


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
                raise RuntimeError(f"the CLI answered with an error: {message.result}")
    return {
        "start": start,
        "first": first,
        "result": result_at,
        "end": time.monotonic() - start,
        "session_id": session_id,
    }


async def latency(args: dict[str, Any]) -> dict[str, Any]:
    project = args["project"]
    await _one_query(project)  # warm the page cache for the CLI binary
    runs = [await _one_query(project) for _ in range(args["reps"])]
    resumes: dict[str, list[dict[str, Any]]] = {}
    directory = _project_dir(project)
    directory.mkdir(parents=True, exist_ok=True)
    for turns in args["resume_turns"]:
        resumes[str(turns)] = []
        for _ in range(args["resume_reps"]):
            session_id = str(uuid.uuid4())
            entries = claude_session(turns, session_id=session_id, cwd=os.path.realpath(project))
            path = directory / f"{session_id}.jsonl"
            path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
            run = await _one_query(project, resume=session_id)
            if run["session_id"] != session_id:
                raise RuntimeError(f"resume of {session_id} answered as session {run['session_id']}")
            resumes[str(turns)].append(run)
    return {
        "first_message": summary([run["first"] for run in runs]),
        "round_trip": summary([run["end"] for run in runs]),
        "result_message": summary([run["result"] for run in runs]),
        "resume_runs": resumes,
    }


async def _connected_client(project: str) -> ClaudeSDKClient:
    client = ClaudeSDKClient(options=_options(project))
    await client.connect()
    await client.query(PROMPT)
    async for _ in client.receive_response():
        pass
    return client


async def memory(args: dict[str, Any]) -> dict[str, Any]:
    project = args["project"]
    own_before = rss_bytes()
    clients = [await _connected_client(project) for _ in range(args["clients"])]
    own_after = rss_bytes()
    me = os.getpid()
    cli_trees = []
    cli_peaks = []
    for child in descendants(me):
        if _parent(child) == me:
            cli_trees.append(tree_rss_bytes(child))
            cli_peaks.append(peak_rss_bytes(child))
    for client in clients:
        await client.disconnect()
    return {
        "cli_rss": cli_trees,
        "cli_peak_rss": cli_peaks,
        "sdk_rss_per_client": (own_after - own_before) / max(1, len(clients)),
        "clients": len(clients),
    }


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


async def concurrency(args: dict[str, Any]) -> dict[str, Any]:
    project = args["project"]
    await _one_query(project)
    sessions = args["sessions"]
    me = os.getpid()
    baseline = rss_bytes()
    peak = baseline
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss_bytes(me))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    start = time.monotonic()
    runs = await asyncio.gather(*(_one_query(project) for _ in range(sessions)))
    wall = time.monotonic() - start
    stop.set()
    await sampler
    return {
        "sessions": sessions,
        "wall": wall,
        "baseline_rss": baseline,
        "peak_rss": peak,
        "latency": summary([run["end"] for run in runs]),
    }


PHASES = {"latency": latency, "memory": memory, "concurrency": concurrency}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
