"""One tether scenario in a loop, for a profiler to sample (run in tether's `.venv` by `bench.profile`).

    .venv/bin/python -m bench.profile_target '{"scenario": "round_trip", "loops": 200, "project": "..."}'

Scenarios: `round_trip` (one-turn `query()` calls), `resume` (`query(resume=...)` of a seeded
200-turn session, one fresh session per loop), `load` (`SQLiteStore.load` of a 10k-item
session), `append` (one turn appended with `expected_leaf`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from bench.agent_tether import _one_query, _seed
from bench.workload import claude_session, claude_turn, emit, worker_args


async def run(args: dict[str, Any]) -> dict[str, Any]:
    scenario, loops, project = args["scenario"], args["loops"], args.get("project", "/bench/project")
    await _one_query(project) if scenario in ("round_trip", "resume") else None
    sessions = [await _seed(project, args.get("turns", 200)) for _ in range(loops)] if scenario == "resume" else []
    store = None
    key: Any = None
    leaf = ""
    if scenario in ("load", "append"):
        from tether._vocabulary.store import SessionKey
        from tether.sessions.keys import project_key_for_directory
        from tether.sessions.stores.sqlite import SQLiteStore

        store = SQLiteStore(Path(args["dir"]) / "profile.db")
        session_id = str(uuid.uuid4())
        key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
        entries = claude_session(args.get("items", 10_000) // 4, session_id=session_id, cwd=project)
        await store.append(key, entries)
        leaf = entries[-1]["uuid"]
    seconds = await measured_loop(scenario, loops, project, sessions, store, key, leaf)
    if store is not None:
        await store.close()
    return {"scenario": scenario, "loops": loops, "per_loop": seconds / loops}


async def measured_loop(
    scenario: str, loops: int, project: str, sessions: list[str], store: Any, key: Any, leaf: str
) -> float:
    """The part the profile is about (the profiler keeps only stacks through this function)."""
    start = time.perf_counter()
    for index in range(loops):
        if scenario == "round_trip":
            await _one_query(project)
        elif scenario == "resume":
            await _one_query(project, resume=sessions[index])
        elif scenario == "load":
            await store.load(key)
        else:
            turn = claude_turn(index, session_id=key["session_id"], parent_uuid=leaf, cwd=project)
            await store.append(key, turn, expected_leaf=leaf)
            leaf = turn[-1]["uuid"]
    return time.perf_counter() - start


if __name__ == "__main__":
    emit(asyncio.run(run(worker_args())))
