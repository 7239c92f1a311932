"""`AgentClient` and streamed prompts with `durable=True`: each prompt a durable turn on the client's
session, the same messages as without it, turn ids per prompt (`<turn_id>:<n>`, or given with the prompt),
live partial messages, and a killed client's turn ended by a worker, then followed by the reconnected client.

Each scenario runs in a process of its own (DBOS is one instance per process, on one system database).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import anyio
import pytest
from tests.durable.test_kill import (
    ROOT,
    WAIT_SECONDS,
    Planner,
    check_history,
    environment,
    log_lines,
    run_worker,
    stored_entries,
    wait_for,
)
from tests.fakes.anthropic_server import FakeAnthropicServer

COMMON = """
import sys, anyio
from dbos import DBOS
from tether import AgentClient, AgentOptions, ResultMessage, query
from tether.durable.turns import turn_workflow_id
from tether.testing import ScriptedModel, tool_use_reply

STORE = sys.argv[1]

def kinds(messages):
    return [type(m).__name__ + (":" + m.subtype if hasattr(m, "subtype") else "") for m in messages]

async def answers(client):
    return [m async for m in client.receive_response()]

async def converse(durable, model, **extra):
    options = AgentOptions(model=model, session_store=STORE, allowed_tools=["Glob"], durable=durable, **extra)
    async with AgentClient(options) as client:
        await client.query("List the docs")
        first = await answers(client)
        await client.query("Thanks")
        second = await answers(client)
        return client.session_id, first, second
"""

CLIENT = (
    COMMON
    + """
def script():
    return ScriptedModel([tool_use_reply("Glob", {"pattern": "*.md"}), "Two docs.", "You are welcome."])

async def main():
    model = script()
    session_id, first, second = await converse(True, model, turn_id="chat")
    plain_id, plain_first, plain_second = await converse(False, script())
    assert kinds(first) == kinds(plain_first) and kinds(second) == kinds(plain_second), kinds(first)
    assert first[-1].result == "Two docs." and second[-1].result == "You are welcome."
    assert first[-1].session_id == second[-1].session_id == session_id
    for n in (1, 2):
        status = await DBOS.get_workflow_status_async(turn_workflow_id(session_id, f"chat:{n}"))
        assert status is not None and status.status == "SUCCESS", status
    assert len(model.requests) == 3
    print("history", len(model.requests[-1].messages))

    # the client reconnects with the same turn ids and sends its first prompt again: it is followed, not run
    again = ScriptedModel(["A third answer."])
    options = AgentOptions(model=again, session_store=STORE, durable=True, turn_id="chat", resume=session_id)
    async with AgentClient(options) as client:
        await client.query("List the docs")
        followed = await answers(client)
        assert followed[-1].result == "Two docs." and not again.requests
        await client.query("Something else", turn_id="mine")
        third = await answers(client)
        assert third[-1].result == "A third answer." and len(again.requests) == 1
        await client.query("Something else", turn_id="mine")  # the same turn id: followed
        assert (await answers(client))[-1].result == "A third answer." and len(again.requests) == 1
        print("third sees", len(again.requests[0].messages))
        try:
            await client.interrupt()
        except Exception as error:
            print(type(error).__name__)
    status = await DBOS.get_workflow_status_async(turn_workflow_id(session_id, "mine"))
    assert status is not None and status.status == "SUCCESS"
    print("ok")

anyio.run(main)
"""
)


def run_script(code: str, store: str, cwd: Path) -> list[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "HOME": str(cwd), "TETHER_HOME": str(cwd)}
    done = subprocess.run(
        [sys.executable, "-c", code, store], cwd=cwd, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_durable_client_runs_each_prompt_as_a_turn(store_url: str, tmp_path: Path) -> None:
    assert run_script(CLIENT, store_url, tmp_path) == [
        "history 5",  # the second turn saw the first (prompt, tool call, result, answer) and its prompt
        "third sees 7",  # and the second answer and the new prompt; the followed prompt added nothing
        "UnsupportedOptionError",
        "ok",
    ]


STREAMED = (
    COMMON
    + """
async def prompts():
    for text in ("One", "Two"):
        yield {"type": "user", "message": {"role": "user", "content": text}}

async def main():
    model = ScriptedModel(["First.", "Second."])
    options = AgentOptions(model=model, session_store=STORE, durable=True, turn_id="stream")
    messages = [m async for m in query(prompt=prompts(), options=options)]
    results = [m for m in messages if isinstance(m, ResultMessage)]
    assert [r.result for r in results] == ["First.", "Second."], kinds(messages)
    session_id = results[0].session_id
    for n in (1, 2):
        status = await DBOS.get_workflow_status_async(turn_workflow_id(session_id, f"stream:{n}"))
        assert status is not None and status.status == "SUCCESS", status
    print(len(model.requests[-1].messages))

anyio.run(main)
"""
)


def test_streamed_prompts_run_as_durable_turns(store_url: str, tmp_path: Path) -> None:
    assert run_script(STREAMED, store_url, tmp_path) == ["3"]  # One, First., Two


@pytest.mark.anyio
async def test_a_durable_client_refuses_what_it_cannot_honour(tmp_path: Path) -> None:
    from tether import AgentClient, AgentOptions, ConfigurationError

    with pytest.raises(ConfigurationError, match="persist_session=False"):
        await AgentClient(AgentOptions(durable=True, persist_session=False, cwd=tmp_path)).connect()
    with pytest.raises(ConfigurationError, match="resume_session_at"):
        await AgentClient(AgentOptions(durable=True, resume="x", resume_session_at="y", cwd=tmp_path)).connect()


PARTIAL = """
import sys, anyio
from tether import AgentOptions, ResultMessage, query
from tether.models import RawStreamEvent
from tether.testing import ScriptedModel
from tether.types import StreamEvent

class Gated(ScriptedModel):
    '''Holds its stream after the first event until the caller has seen a partial message.'''

    async def stream(self, request):
        first = True
        async for event in super().stream(request):
            yield event
            if first and isinstance(event, RawStreamEvent):
                first = False
                with anyio.fail_after(20):  # a durable step that held its events would never let it go
                    await SEEN.wait()

async def main():
    global SEEN
    SEEN = anyio.Event()
    model = Gated(["A streamed answer."])
    options = AgentOptions(model=model, session_store=sys.argv[1], durable=True, include_partial_messages=True)
    partial = 0
    async for message in query(prompt="Hello", options=options):
        if isinstance(message, StreamEvent):
            partial += 1
            SEEN.set()
    assert isinstance(message, ResultMessage) and message.result == "A streamed answer.", message
    print("partial", partial > 1)

anyio.run(main)
"""


def test_partial_messages_stream_live_in_the_submitting_process(store_url: str, tmp_path: Path) -> None:
    assert run_script(PARTIAL, store_url, tmp_path) == ["partial True"]


def test_a_killed_client_turn_ends_in_a_worker_and_the_reconnected_client_follows_it(
    store_url: str, tmp_path: Path
) -> None:
    planner = Planner(block_at=1)
    log = tmp_path / "jobs.log"
    session_id = str(uuid.uuid4())
    client = [sys.executable, "-m", "tests.durable.agent_setup", "client", store_url, session_id, str(tmp_path), "job"]
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, log)
        child = subprocess.Popen(client, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        wait_for(lambda: len(server.requests) >= 2, "the second model call")
        child.send_signal(signal.SIGKILL)
        killed_out, _ = child.communicate(timeout=WAIT_SECONDS)
        worker = run_worker(store_url, tmp_path, env)
        assert [json.loads(line)["status"] for line in worker.stdout.splitlines()] == ["SUCCESS"], worker.stderr
        again = subprocess.run(
            [*client, "resume"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS
        )
    assert again.returncode == 0, again.stderr
    followed = [json.loads(line) for line in again.stdout.splitlines()]
    assert followed[-1]["kind"] == "ResultMessage" and followed[-1]["subtype"] == "success"
    assert dict(Counter(planner.points)) == {0: 1, 1: 2, 2: 1}  # the reconnect asked the model nothing
    assert log_lines(log) == ["lookup a", "append b"]
    printed = [json.loads(line) for line in killed_out.splitlines()]
    check_history(anyio.run(stored_entries, store_url, session_id), printed + followed)
