"""The agent of the durable-turn tests, shared by the process that submits a turn and by the worker.

Two tools write a line per call to `$DURABLE_LOG` (so the test counts the calls that ran):
`append` (not idempotent) and `lookup` (`idempotent=True`). With `$DURABLE_SLOW=<tool name>` that tool
sleeps after writing its line, long enough for the test to kill the process mid-call. With
`$DURABLE_AGENTS=1` the agent has a `helper` subagent with the same tools.
Run as a module: `python -m tests.durable.agent_setup turn STORE SESSION_ID CWD [TURN_ID]` submits
a durable turn and prints each message as a JSON line; `... worker STORE [VERSION]` runs a worker
until no turn is open; `... client STORE SESSION_ID CWD TURN_ID [resume]` sends "Do the jobs" through a
durable `AgentClient` (its first prompt: turn `TURN_ID:1`), starting the session or resuming it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

import anyio

from tether import (
    AgentClient,
    AgentDefinition,
    AgentOptions,
    DurableEngine,
    PermissionResultAllow,
    create_sdk_mcp_server,
    query,
    tool,
)
from tether._vocabulary.durable import CutCallDecision
from tether.messages import Message

TOOLS = ["mcp__jobs__append", "mcp__jobs__lookup"]
HELPER_PROMPT = "You are the helper: do the jobs you are given."
"""The system prompt of the `helper` subagent (`$DURABLE_AGENTS=1`), which uses the job tools."""


async def _log_and_wait(kind: str, args: dict[str, Any]) -> None:
    with open(os.environ["DURABLE_LOG"], "a") as log:
        log.write(f"{kind} {args.get('text', '')}\n")
    if os.environ.get("DURABLE_SLOW") == kind:
        await anyio.sleep(60)


@tool("append", "Appends a line to the job log (not idempotent)", {"text": str})
async def append(args: dict[str, Any]) -> dict[str, Any]:
    await _log_and_wait("append", args)
    return {"content": [{"type": "text", "text": f"appended {args['text']}"}]}


@tool("lookup", "Looks something up (idempotent)", {"text": str}, idempotent=True)
async def lookup(args: dict[str, Any]) -> dict[str, Any]:
    await _log_and_wait("lookup", args)
    return {"content": [{"type": "text", "text": f"found {args['text']}"}]}


def rerun_every_cut_call(name: str, tool_input: Mapping[str, Any], tool_use_id: str) -> CutCallDecision:
    """An `on_cut_call` hook (`$DURABLE_RERUN=1`): every call cut by a death runs again."""
    return "rerun"


async def allow_appends(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
    """A `can_use_tool` that allows (`$DURABLE_ASK=1`: `append` is asked about, not allowed by a rule)."""
    return PermissionResultAllow()


def options(store: str, cwd: str, version: str | None = None, **extra: Any) -> AgentOptions:
    hook = rerun_every_cut_call if os.environ.get("DURABLE_RERUN") == "1" else None
    if os.environ.get("DURABLE_ASK") == "1":
        extra = {"can_use_tool": allow_appends, "allowed_tools": TOOLS[1:], **extra}
    if os.environ.get("DURABLE_AGENTS") == "1":
        helper = AgentDefinition(description="Does jobs", prompt=HELPER_PROMPT, tools=TOOLS)
        extra = {"agents": {"helper": helper}, "allowed_tools": [*TOOLS, "Agent"], **extra}
    return AgentOptions(
        model="claude-sonnet-4-5",
        cwd=cwd,
        session_store=store,
        mcp_servers={"jobs": create_sdk_mcp_server("jobs", tools=[append, lookup])},
        **{"allowed_tools": TOOLS, **extra},
        durable=DurableEngine(application_version=version, on_cut_call=hook),
    )


def _line(message: Message) -> str:
    data = getattr(message, "data", None) or {}
    content = getattr(message, "content", None)
    blocks = content if isinstance(content, list) else []
    return json.dumps(
        {
            "kind": type(message).__name__,
            "uuid": getattr(message, "uuid", None) or data.get("uuid"),
            "tool_results": [b.tool_use_id for b in blocks if type(b).__name__ == "ToolResultBlock"],
            "subtype": getattr(message, "subtype", None),
        }
    )


async def submit(store: str, session_id: str, cwd: str, turn_id: str | None) -> None:
    kill_after_result = os.environ.get("DURABLE_KILL_AFTER_RESULT") == "1"
    run = options(store, cwd, os.environ.get("DURABLE_VERSION"), session_id=session_id, turn_id=turn_id)
    async for message in query(prompt="Do the jobs", options=run):
        line = _line(message)
        print(line, flush=True)
        if kill_after_result and json.loads(line)["tool_results"]:
            os.kill(os.getpid(), signal.SIGKILL)  # between a stored tool result and the next model call


async def converse(store: str, session_id: str, cwd: str, turn_id: str, resume: bool) -> None:
    session = {"resume": session_id} if resume else {"session_id": session_id}
    async with AgentClient(options(store, cwd, turn_id=turn_id, **session)) as client:
        await client.query("Do the jobs")
        async for message in client.receive_response():
            print(_line(message), flush=True)


async def work(store: str, version: str | None) -> None:
    from tether.durable.worker import run_worker

    worker_options = options(store, os.getcwd(), version)
    assert isinstance(worker_options.durable, DurableEngine)
    await run_worker(
        store,
        options=worker_options,
        engine=worker_options.durable,
        poll_interval=0.2,
        grace=0.5,
        exit_when_idle=True,
    )


if __name__ == "__main__":
    command, store = sys.argv[1], sys.argv[2]
    if command == "client":
        anyio.run(converse, store, sys.argv[3], sys.argv[4], sys.argv[5], len(sys.argv) > 6)
    elif command == "turn":
        anyio.run(submit, store, sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        anyio.run(work, store, sys.argv[3] if len(sys.argv) > 3 else None)
