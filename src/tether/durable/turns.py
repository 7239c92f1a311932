"""A durable turn: one prompt's run as one DBOS workflow (`AgentOptions(durable=...)`).

The workflow's id is `tether-turn:<session id>:<turn id>`, so a turn id submitted twice runs once:
the second caller follows the first (`follow_turn`). The workflow opens the session as it was when
the turn started (recorded by its first step), runs the agent's turn with its model and tool calls
as steps (`tether.durable.steps`) and writes its entries through a `TurnLedger` (each entry once).
A replay after a crash, in any worker, makes the same entries from the recorded steps and writes
only those the store lacks. The process that submitted the turn gets the messages live, as a plain
run yields them; a worker that took the turn over only writes them to the store.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from dbos import DBOS, SetWorkflowID

from tether._vocabulary.durable import DurableEngine
from tether.agent.loop import Agent
from tether.agent.steps import using_steps
from tether.durable.engine import engine_of, launch, system_database_url
from tether.durable.ledger import TurnLedger
from tether.durable.steps import WorkflowSteps
from tether.durable.subagents import SUBAGENT_WORKFLOW
from tether.errors import ConfigurationError, SessionExistsError, SessionNotFoundError, TetherError
from tether.messages import Message, ResultMessage
from tether.options import AgentOptions
from tether.sessions.capabilities import store_access
from tether.sessions.entries import new_uuid
from tether.sessions.keys import project_key_for_directory
from tether.sessions.urls import open_store, opened_for_caller

__all__ = ["TURN_WORKFLOW", "WorkerSetup", "check_persisted", "run_durable", "set_worker_setup", "turn_workflow_id"]

TURN_WORKFLOW = "tether.turn"
assert SUBAGENT_WORKFLOW  # imported here so the child workflow is registered before DBOS launches
_SPEC_FIELDS = (
    "model",
    "system_prompt",
    "tools",
    "allowed_tools",
    "disallowed_tools",
    "permission_mode",
    "max_turns",
    "max_budget_usd",
    "max_tokens",
    "cwd",
)
"""The options a turn's workflow records, for a worker that takes it over (values that are plain data)."""


def turn_workflow_id(session_id: str, turn_id: str) -> str:
    """The DBOS workflow id of a session's turn."""
    return f"tether-turn:{session_id}:{turn_id}"


@dataclass
class _Live:
    """A turn submitted by this process: its caller's options and where its messages go."""

    options: AgentOptions
    send: MemoryObjectSendStream[Message]


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker runs the turns it takes over with: its store and its options (tools, hooks, model)."""

    store: str
    options: AgentOptions


_LIVE: dict[str, _Live] = {}
_worker: WorkerSetup | None = None


def set_worker_setup(setup: WorkerSetup) -> None:
    """Make the turns this process takes over run with `setup` (`tether.durable.worker`)."""
    global _worker
    _worker = setup


@DBOS.workflow(name=TURN_WORKFLOW)
async def run_turn(turn: dict[str, Any]) -> ResultMessage:
    """The workflow: one turn of a session, its `ResultMessage` the workflow's output."""
    workflow_id = str(DBOS.workflow_id)
    live = _LIVE.get(workflow_id)
    try:
        options = live.options if live is not None else _worker_options(turn)
        return await _run(workflow_id, turn, options, live)
    finally:
        if live is not None:
            live.send.close()


async def _run(workflow_id: str, turn: dict[str, Any], options: AgentOptions, live: _Live | None) -> ResultMessage:
    start = await DBOS.run_step_async({"name": "turn-start"}, _session_start, options, turn)
    engine = engine_of(options.durable)
    agent = await _open_agent(options, turn, start)
    try:
        result = await _run_open(agent, workflow_id, turn, start, engine, live)
    finally:
        await agent.close()
    if result is None:  # pragma: no cover - a run always ends with its ResultMessage
        raise TetherError(f"the durable turn {workflow_id} ended without a ResultMessage")
    return result


async def _run_open(
    agent: Agent, workflow_id: str, turn: dict[str, Any], start: str | None, engine: DurableEngine, live: _Live | None
) -> ResultMessage | None:
    """Run the turn on the open agent, its session as the turn found it and written through a ledger."""
    session = agent.session
    assert session.access is not None
    entries = await session.access.load(session.key) or []
    session.rewind(entries, start)
    session.ledger = TurnLedger(workflow_id, entries)
    if agent.lease is not None:  # a dead owner's lease: lapsed (TTL) or void (its pid is gone)
        await agent.lease.acquire(agent.lease.ttl + 5)
        await agent.lease.release()
    result: ResultMessage | None = None
    with using_steps(WorkflowSteps(engine, agent.lease)):
        async for message in agent.run(turn["prompt"]):
            if isinstance(message, ResultMessage):
                result = message
            if live is not None:
                try:
                    live.send.send_nowait(message)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    live = None  # the caller stopped reading: the turn goes on
    return result


async def _session_start(options: AgentOptions, turn: dict[str, Any]) -> str | None:
    """The step that records the session's leaf when the turn starts (None: a new or empty session)."""
    store = open_store(options.session_store, shared=True)
    try:
        access = store_access(store)
        try:
            found = await access.locate(turn["session_id"], project_key_for_directory(turn["cwd"]))
        except SessionNotFoundError:
            return None
        return found.leaf  # what `find` knows without loading the session (the store's stored leaf)
    finally:
        if opened_for_caller(store, options.session_store):
            await access.close()


async def _open_agent(options: AgentOptions, turn: dict[str, Any], start: str | None) -> Agent:
    """An agent on the turn's session: resumed, or started under the turn's session id."""
    plain = dataclasses.replace(
        options,
        durable=False,
        turn_id=None,
        continue_conversation=False,
        fork_session=False,
        resume_session_at=None,
        cwd=turn["cwd"],
    )
    resume = dataclasses.replace(plain, resume=turn["session_id"], session_id=None)
    if start is not None:
        return await _opened(resume)
    try:
        return await _opened(dataclasses.replace(plain, resume=None, session_id=turn["session_id"]))
    except SessionExistsError:  # the turn ran before and started the session: it is resumed
        return await _opened(resume)


async def _opened(options: AgentOptions) -> Agent:
    agent = Agent(options)
    await agent.open()
    return agent


def _worker_options(turn: dict[str, Any]) -> AgentOptions:
    """The options a worker runs a taken-over turn with: its own, plus what the turn recorded."""
    if _worker is None:
        raise ConfigurationError(
            "this process took over a durable turn but is no worker: run `tether worker` (tether.durable.worker)"
        )
    recorded = {name: value for name, value in turn["spec"].items() if value is not None}
    return dataclasses.replace(_worker.options, session_store=_worker.store, **recorded)


def _spec(options: AgentOptions) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for name in _SPEC_FIELDS:
        value = getattr(options, name)
        if isinstance(value, Path):
            value = str(value)
        if value is None or isinstance(value, (str, int, float, list, dict)):
            spec[name] = value
    return spec


def _cwd(options: AgentOptions) -> str:
    """The turn's working directory, absolute (a worker elsewhere runs it there)."""
    return str(Path(options.cwd).expanduser().resolve()) if options.cwd is not None else str(Path.cwd())


def _check(prompt: object, options: AgentOptions) -> None:
    if not isinstance(prompt, (str, list)):
        raise ConfigurationError("a durable turn takes its prompt as a string or a list of content blocks")
    if options.continue_conversation or options.fork_session or options.resume_session_at:
        raise ConfigurationError(
            "durable turns run on a new session or resume=<id>; continue_conversation, fork_session and "
            "resume_session_at are not supported with durable=True"
        )
    check_persisted(options)


def check_persisted(options: AgentOptions) -> None:
    """Refuse `persist_session=False`: a durable turn lives in its session store."""
    if not options.persist_session:
        raise ConfigurationError("a durable turn lives in its session store: persist_session=False contradicts it")


async def run_durable(prompt: str | list[dict[str, Any]], options: AgentOptions) -> AsyncIterator[Message]:
    """`query()` with `durable` set: start the turn's workflow (or follow it, when its turn id ran
    already) and yield its messages."""
    _check(prompt, options)
    engine: DurableEngine = engine_of(options.durable)
    launch(system_database_url(engine, options.session_store), engine, worker=False)
    session_id = options.resume or options.session_id or new_uuid()
    turn_id = options.turn_id or new_uuid()
    workflow_id = turn_workflow_id(session_id, turn_id)
    if await DBOS.get_workflow_status_async(workflow_id) is not None:
        from tether.durable.following import follow_turn

        async for message in follow_turn(workflow_id, session_id, _cwd(options), options):
            yield message
        return
    turn = {
        "session_id": session_id,
        "turn_id": turn_id,
        "prompt": prompt,
        "cwd": _cwd(options),
        "spec": _spec(options),
    }
    send, receive = anyio.create_memory_object_stream[Message](math.inf)
    _LIVE[workflow_id] = _Live(options, send)
    try:
        with SetWorkflowID(workflow_id):
            handle = await DBOS.start_workflow_async(run_turn, turn)
        with receive:
            async for message in receive:
                yield message
        await handle.get_result()
    finally:
        _LIVE.pop(workflow_id, None)
