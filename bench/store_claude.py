"""Listing sessions with claude-agent-sdk (run in `bench/.venv`): `list_sessions(directory, limit=50)`.

    bench/.venv/bin/python -m bench.store_claude '{"phase": "list", "sessions": 10000, ...}'

Claude Code keeps one JSONL transcript per session under `$CLAUDE_CONFIG_DIR/projects/<project>/`
(a temporary directory here); the transcripts of one-turn sessions are written straight there,
then the SDK's `list_sessions` pages through them (it reads the head and tail of every file,
then sorts by modification time).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from claude_agent_sdk import list_sessions, project_key_for_directory

from bench.workload import claude_turn, emit, summary, worker_args


async def listing(args: dict[str, Any]) -> dict[str, Any]:
    project = os.path.realpath(args["project"])
    directory = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / project_key_for_directory(project)
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for index in range(args["sessions"]):
        session_id = str(uuid.uuid4())
        entries = claude_turn(index, session_id=session_id, parent_uuid=None, cwd=project)
        (directory / f"{session_id}.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    created = time.perf_counter() - start
    times = []
    for _ in range(args["reps"]):
        started = time.perf_counter()
        page = list_sessions(directory=project, limit=50, include_worktrees=False)
        times.append(time.perf_counter() - started)
    if len(page) != 50:
        raise RuntimeError(f"list_sessions returned {len(page)} sessions, not 50")
    return {"sessions": args["sessions"], "create_seconds": created, "first_page": summary(times)}


PHASES = {"list": listing}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
