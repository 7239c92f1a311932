"""kill -9 of the process running a durable turn, at four points; a worker started afterwards ends the turn.

The fake Anthropic server answers by how far the conversation got (how many tool results it
holds): call `lookup` (idempotent), then `append` (not idempotent), then answer "all done". It
counts the requests for each point, so a completed model step asked again would show.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.fakes.anthropic_server import FakeAnthropicServer
from tests.fakes.script import Reply, ScriptItem, Text, ToolUse

from tether.sessions.capabilities import store_access
from tether.sessions.entries import active_chain
from tether.sessions.urls import open_store

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def tool_results(body: dict[str, Any]) -> int:
    """How many tool results the request's conversation holds (the point the turn reached)."""
    return sum(
        1
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )


class Planner:
    """The model's plan, by point; `block_at` makes the first request at that point hang."""

    def __init__(self, block_at: int | None = None) -> None:
        self.block_at = block_at
        self.points: list[int] = []

    def __call__(self, body: dict[str, Any]) -> ScriptItem:
        point = tool_results(body)
        first = point not in self.points
        self.points.append(point)
        if point == self.block_at and first:
            time.sleep(WAIT_SECONDS)  # the process is killed meanwhile; its client is gone
        if point == 0:
            return Reply([Text("Looking up."), ToolUse("mcp__jobs__lookup", {"text": "a"}, id="toolu_lookup")])
        if point == 1:
            return Reply([ToolUse("mcp__jobs__append", {"text": "b"}, id="toolu_append")])
        return Reply("all done")


def environment(server: FakeAnthropicServer, log: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key", "DURABLE_LOG": str(log)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return {**env, **extra}


def start_turn(
    store: str, session_id: str, cwd: Path, env: dict[str, str], turn_id: str | None = None
) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.durable.agent_setup", "turn", store, session_id, str(cwd)]
    return subprocess.Popen(
        [*args, *([turn_id] if turn_id else [])], cwd=cwd, env=env, stdout=subprocess.PIPE, text=True
    )


def run_worker(
    store: str, cwd: Path, env: dict[str, str], version: str | None = None
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "tests.durable.agent_setup", "worker", store, *([version] if version else [])]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS * 2)


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def stored_entries(store_url: str, session_id: str) -> list[dict[str, Any]]:
    store = open_store(store_url)
    access = store_access(store)
    try:
        found = await access.locate(session_id)
        return list(await access.load(found.key) or [])
    finally:
        await access.close()


def check_history(entries: list[dict[str, Any]], printed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """No entry twice, one stored result, a chain that ends with the answer, each call answered once; what the killed
    process yielded is on that chain. Returns the tool results, by call id."""
    uuids = [entry["uuid"] for entry in entries if entry.get("uuid")]
    assert len(uuids) == len(set(uuids)), "an entry was written twice"
    assert [entry["type"] for entry in entries].count("tether-result") == 1  # one ResultMessage, stored
    chain = active_chain(entries)
    last = chain[-1]["message"]
    assert chain[-1]["type"] == "assistant" and last["content"][0]["text"] == "all done"
    on_chain = {entry["uuid"] for entry in chain}
    assert {line["uuid"] for line in printed if line["kind"] in ("UserMessage", "AssistantMessage")} <= on_chain
    results = [
        block
        for entry in chain
        if entry["type"] == "user" and isinstance(entry["message"]["content"], list)
        for block in entry["message"]["content"]
        if block.get("type") == "tool_result"
    ]
    assert sorted(block["tool_use_id"] for block in results) == ["toolu_append", "toolu_lookup"]
    return results


def result_text(results: list[dict[str, Any]], call_id: str) -> str:
    block = next(block for block in results if block["tool_use_id"] == call_id)
    content = block["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


SCENARIOS = {
    # point: (extra env of the killed process, the condition to kill at, expected log, expected requests by point)
    "model_call": ({}, "requests", ["lookup a", "append b"], {0: 1, 1: 2, 2: 1}),
    "idempotent_tool": (
        {"DURABLE_SLOW": "lookup"},
        "lookup a",
        ["lookup a", "lookup a", "append b"],
        {0: 1, 1: 1, 2: 1},
    ),
    "non_idempotent_tool": ({"DURABLE_SLOW": "append"}, "append b", ["lookup a", "append b"], {0: 1, 1: 1, 2: 1}),
    "after_tool_result": ({"DURABLE_KILL_AFTER_RESULT": "1"}, "self", ["lookup a", "append b"], None),
    # the worker's on_cut_call hook says "rerun": the cut call that is not idempotent runs again
    "non_idempotent_tool_hook": ({"DURABLE_SLOW": "append"}, "append b", ["lookup a", "append b", "append b"], None),
    # `append` was allowed by can_use_tool, which the worker has not: the recorded answer stands
    "permission_answer": ({"DURABLE_SLOW": "append", "DURABLE_ASK": "1"}, "append b", ["lookup a", "append b"], None),
}


@pytest.mark.parametrize("point", list(SCENARIOS))
def test_a_worker_finishes_a_killed_turn(point: str, store_url: str, tmp_path: Path) -> None:
    extra, kill_at, expected_log, expected_requests = SCENARIOS[point]
    planner = Planner(block_at=1 if kill_at == "requests" else None)
    log = tmp_path / "jobs.log"
    session_id = str(uuid.uuid4())
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, log, **extra)
        child = start_turn(store_url, session_id, tmp_path, env)
        if kill_at == "requests":
            wait_for(lambda: len(server.requests) >= 2, "the second model call")
        elif kill_at != "self":
            wait_for(lambda: kill_at in log_lines(log), f"the call {kill_at!r}")
        if kill_at != "self":
            child.send_signal(signal.SIGKILL)
        stdout, _ = child.communicate(timeout=WAIT_SECONDS)
        assert child.returncode == -signal.SIGKILL
        printed = [json.loads(line) for line in stdout.splitlines()]
        assert not any(line["kind"] == "ResultMessage" for line in printed)

        worker_env = {
            key: value for key, value in env.items() if not key.startswith("DURABLE_") or key == "DURABLE_LOG"
        }
        if point == "non_idempotent_tool_hook":
            worker_env["DURABLE_RERUN"] = "1"
        worker = run_worker(store_url, tmp_path, worker_env)
        assert worker.returncode == 0, worker.stderr
        finished = [json.loads(line) for line in worker.stdout.splitlines()]
        assert [line["status"] for line in finished] == ["SUCCESS"], worker.stderr
        if point == "model_call":  # a worker that comes later runs nothing: the turn is finished
            asked = len(server.requests)
            later = run_worker(store_url, tmp_path, worker_env)
            assert later.returncode == 0 and later.stdout == "" and len(server.requests) == asked

    assert log_lines(log) == expected_log
    requests = Counter(planner.points)
    if expected_requests is not None:
        assert dict(requests) == expected_requests
    elif point in ("non_idempotent_tool_hook", "permission_answer"):
        assert dict(requests) == {0: 1, 1: 1, 2: 1}
    else:  # the next model call may or may not have been in flight at the kill
        assert requests[0] == 1 and requests[2] == 1 and requests[1] in (1, 2)
    results = check_history(anyio.run(stored_entries, store_url, session_id), printed)
    if point in ("non_idempotent_tool", "permission_answer"):
        assert "outcome is unknown" in result_text(results, "toolu_append")
    else:
        assert result_text(results, "toolu_append") == "appended b"
    assert result_text(results, "toolu_lookup") == "found a"


FOLLOWER = """
import json, sys, anyio
from tether import follow

async def main():
    async for message in follow(sys.argv[2], session_store=sys.argv[1], from_start=True, timeout=60):
        print(json.dumps({"kind": type(message).__name__, "uuid": getattr(message, "uuid", None)}), flush=True)

anyio.run(main)
"""


def test_a_follower_sees_every_message_once_across_the_take_over(store_url: str, tmp_path: Path) -> None:
    planner = Planner(block_at=1)
    log = tmp_path / "jobs.log"
    session_id = str(uuid.uuid4())
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, log)
        child = start_turn(store_url, session_id, tmp_path, env)
        wait_for(lambda: len(server.requests) >= 2, "the second model call")
        follower = subprocess.Popen(
            [sys.executable, "-c", FOLLOWER, store_url, session_id],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=WAIT_SECONDS)
        worker = run_worker(store_url, tmp_path, env)
        assert worker.returncode == 0, worker.stderr
        followed_out, _ = follower.communicate(timeout=WAIT_SECONDS)
    followed = [json.loads(line) for line in followed_out.splitlines()]
    assert followed[-1]["kind"] == "ResultMessage"
    assert [line["kind"] for line in followed].count("ResultMessage") == 1
    uuids = [line["uuid"] for line in followed[:-1]]
    assert len(uuids) == len(set(uuids))
    chain = active_chain(anyio.run(stored_entries, store_url, session_id))
    # every message of the turn, in order: the prompt, two calls and their results, the answer
    assert uuids == [entry["uuid"] for entry in chain] and len(uuids) == 6
