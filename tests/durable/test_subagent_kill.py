"""kill -9 of the process running a durable turn while its subagent (a child workflow) runs a tool call.

The main agent calls the `helper` subagent, then answers "all done". The helper calls `append a`
(not idempotent), then `lookup b` (idempotent, slow: the process is killed in it), then answers
"helper done". A worker started afterwards continues the subagent and ends the turn.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from tests.durable.agent_setup import HELPER_PROMPT
from tests.durable.test_kill import (
    environment,
    log_lines,
    run_worker,
    start_turn,
    stored_entries,
    tool_results,
    wait_for,
)
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.script import Reply, ScriptItem, ToolUse

from tether._vocabulary.store import SessionKey
from tether.agent.subagents import subagent_subpath
from tether.sessions.capabilities import store_access
from tether.sessions.entries import active_chain
from tether.sessions.store_helpers import list_subagents_from_store
from tether.sessions.urls import open_store

WAIT_SECONDS = 60


def _system(body: dict[str, Any]) -> str:
    system = body.get("system") or ""
    return system if isinstance(system, str) else "".join(block.get("text", "") for block in system)


class TeamPlanner:
    """The main agent's and the helper's plans, by point; every request is counted as (agent, point)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def __call__(self, body: dict[str, Any]) -> ScriptItem:
        point = tool_results(body)
        if _system(body).startswith(HELPER_PROMPT):
            self.asked.append(("helper", point))
            if point == 0:
                return Reply([ToolUse("mcp__jobs__append", {"text": "a"}, id="toolu_sub_append")])
            if point == 1:
                return Reply([ToolUse("mcp__jobs__lookup", {"text": "b"}, id="toolu_sub_lookup")])
            return Reply("helper done")
        self.asked.append(("main", point))
        if point == 0:
            task = {"description": "jobs", "prompt": "Do the jobs", "subagent_type": "helper"}
            return Reply([ToolUse("Agent", task, id="toolu_agent")])
        return Reply("all done")


async def sidechains(store_url: str, session_id: str) -> list[list[dict[str, Any]]]:
    """The entries of each of the session's subagent transcripts."""
    store = open_store(store_url)
    access = store_access(store)
    try:
        found = await access.locate(session_id)
        agents = await list_subagents_from_store(store, session_id)
        keys = [SessionKey(**found.key, subpath=subagent_subpath(agent)) for agent in agents]
        return [list(await access.load(key) or []) for key in keys]
    finally:
        await access.close()


def test_a_worker_continues_a_subagent_killed_in_a_tool_call(store_url: str, tmp_path: Path) -> None:
    planner = TeamPlanner()
    log = tmp_path / "jobs.log"
    session_id = str(uuid.uuid4())
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, log, DURABLE_AGENTS="1", DURABLE_SLOW="lookup")
        child = start_turn(store_url, session_id, tmp_path, env)
        wait_for(lambda: "lookup b" in log_lines(log), "the helper's lookup")
        child.send_signal(signal.SIGKILL)
        stdout, _ = child.communicate(timeout=WAIT_SECONDS)
        assert child.returncode == -signal.SIGKILL
        printed = [json.loads(line) for line in stdout.splitlines()]
        assert not any(line["kind"] == "ResultMessage" for line in printed)

        worker_env = {key: value for key, value in env.items() if key != "DURABLE_SLOW"}
        worker = run_worker(store_url, tmp_path, worker_env)
        assert worker.returncode == 0, worker.stderr
        finished = [json.loads(line) for line in worker.stdout.splitlines()]
        assert [line["status"] for line in finished] == ["SUCCESS"], worker.stderr

    # the helper's completed `append a` did not run again; its cut `lookup b` (idempotent) did
    assert log_lines(log) == ["append a", "lookup b", "lookup b"]
    # no completed model step was asked again, the main agent's nor the helper's
    assert Counter(planner.asked) == {
        ("main", 0): 1,
        ("helper", 0): 1,
        ("helper", 1): 1,
        ("helper", 2): 1,
        ("main", 1): 1,
    }

    entries = anyio.run(stored_entries, store_url, session_id)
    uuids = [entry["uuid"] for entry in entries if entry.get("uuid")]
    assert len(uuids) == len(set(uuids)), "an entry of the turn was written twice"
    assert [entry["type"] for entry in entries].count("tether-result") == 1
    chain = active_chain(entries)
    assert chain[-1]["message"]["content"][0]["text"] == "all done"
    agent_results = [
        block
        for entry in chain
        if entry["type"] == "user" and isinstance(entry["message"]["content"], list)
        for block in entry["message"]["content"]
        if block.get("type") == "tool_result" and block.get("tool_use_id") == "toolu_agent"
    ]
    assert len(agent_results) == 1 and "helper done" in json.dumps(agent_results[0]["content"])

    [sidechain] = anyio.run(sidechains, store_url, session_id)  # one subagent, under one agent id
    sub_uuids = [entry["uuid"] for entry in sidechain if entry.get("uuid")]
    assert len(sub_uuids) == len(set(sub_uuids)), "an entry of the subagent was written twice"
    assert [entry["type"] for entry in sidechain].count("agent_metadata") == 1
    sub_results = [
        block["tool_use_id"]
        for entry in sidechain
        if entry.get("type") == "user" and isinstance(entry["message"]["content"], list)
        for block in entry["message"]["content"]
        if block.get("type") == "tool_result"
    ]
    assert sorted(sub_results) == ["toolu_sub_append", "toolu_sub_lookup"]
