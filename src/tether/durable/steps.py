"""`WorkflowSteps`: a durable turn's model calls, tool calls and permission answers as DBOS steps.

- A model call is one step (`model`): the whole reply, its stream events included, is recorded;
  a replay gets it back without asking the model again. A provider's failure is recorded too.
  The process running the step gets the events as they stream (partial messages are live there).
- A tool call is two steps keyed by its `tool_use_id`. `check:<id>` records what was decided
  before it runs: its PreToolUse hooks and permission (rules, mode, the answer of `can_use_tool`),
  so a replay in a worker that has other hooks, or nobody to ask, decides the same. `tool:<name>:<id>`
  runs it and records its result: a call that completed never runs again. A call whose check is
  recorded but not its result was cut by its process's death: it runs again only when its tool
  is known to be idempotent (read-only or `idempotentHint`, as Read, Glob and Grep are, or
  `@tool(..., idempotent=True)`), or when `DurableEngine.on_cut_call` says `"rerun"`; otherwise
  its result tells the model the outcome is unknown (fail closed).
- An Agent call runs its subagent as a child workflow (`tether.durable.subagents`), whose model and
  tool calls are steps of their own: a replay gets a finished subagent's result, and continues one
  that was cut (its completed steps are not run again).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from tether._vocabulary.durable import CutCallDecision, DurableEngine
from tether.agent.steps import using_steps
from tether.durable.ledger import TurnLedger
from tether.errors import ModelError
from tether.sessions.lease import SessionLease
from tether.tools.agent import AgentTool
from tether.tools.base import Tool, ToolContext, ToolResult, is_idempotent

__all__ = ["CUT_CALL_RESULT", "WorkflowSteps"]

CUT_CALL_RESULT = (
    "The process running this {name} call died before it returned; the call may or may not have taken "
    "effect, and it was not run again (its outcome is unknown). Check before repeating it."
)
_T = TypeVar("_T")
_STEP_DONE = object()
"""Put after a model step's last event: the step has ended."""
_NAMESPACE = uuid.UUID("0d6c3b1e-8f4a-4b7e-9a35-51c2e7f08d14")
_STARTED_HERE: set[str] = set()
"""Tokens of the tool calls this process started (a start recorded by another process is not here)."""


@dataclass(frozen=True)
class _ModelFailure:
    """A model call's `ModelError`, as recorded (exceptions are rebuilt, not pickled)."""

    message: str
    status_code: int | None


class WorkflowSteps:
    """The `TurnSteps` of a turn running as a DBOS workflow."""

    def __init__(self, engine: DurableEngine, lease: SessionLease | None = None) -> None:
        self.engine = engine
        self.lease = lease
        self._checked: dict[str, str] = {}
        """Tool use id -> the token its check step recorded (the process that checked it made it)."""
        """The session's lease, renewed while a model call streams."""

    async def model_call(self, stream: Callable[[], AsyncIterator[Any]]) -> AsyncIterator[Any]:
        """The call's events as they stream (the step runs in a task of its own and records them
        all); a replayed step's recorded events, at once."""
        from dbos import DBOS

        arrived: asyncio.Queue[Any] = asyncio.Queue()
        streamed = False

        async def call() -> list[Any] | _ModelFailure:
            nonlocal streamed
            streamed = True
            events: list[Any] = []
            try:
                async for event in stream():
                    events.append(event)
                    arrived.put_nowait(event)
                    if self.lease is not None:
                        await self.lease.keep_alive()
            except ModelError as error:
                return _ModelFailure(str(error), error.status_code)
            return events

        step = asyncio.ensure_future(DBOS.run_step_async({"name": "model", "retries_allowed": False}, call))
        step.add_done_callback(lambda _: arrived.put_nowait(_STEP_DONE))
        try:
            while (event := await arrived.get()) is not _STEP_DONE:
                yield event
        finally:
            if not step.done():  # the turn stopped reading (cut): the call is not recorded
                step.cancel()
        recorded = step.result()
        if isinstance(recorded, _ModelFailure):
            raise ModelError(recorded.message, status_code=recorded.status_code)
        if not streamed:  # recorded by an earlier run of the turn
            for event in recorded:
                yield event

    async def tool_check(self, tool_use_id: str, check: Callable[[], Awaitable[_T]]) -> _T:
        from dbos import DBOS

        async def checked() -> tuple[str, _T]:
            token = uuid.uuid4().hex  # this process checked the call, so it is the one that runs it
            _STARTED_HERE.add(token)
            return token, await check()

        token, decision = await DBOS.run_step_async({"name": f"check:{tool_use_id}"}, checked)
        self._checked[tool_use_id] = token
        return decision

    async def tool_call(self, tool: Tool, tool_input: dict[str, Any], context: ToolContext) -> Any:
        from dbos import DBOS

        call_id = context.tool_use_id or "?"
        if isinstance(tool, AgentTool):
            self._checked.pop(call_id, None)
            return await self._subagent_call(tool, tool_input, context)
        token = self._checked.pop(call_id, None)
        checked_here = token in _STARTED_HERE
        _STARTED_HERE.discard(token or "")

        async def call() -> ToolResult:
            if not checked_here and self._decide(tool, tool_input, call_id) == "unknown":
                return ToolResult(CUT_CALL_RESULT.format(name=tool.name), is_error=True)
            return await _called(tool, tool_input, context)

        return await DBOS.run_step_async({"name": f"tool:{tool.name}:{call_id}", "retries_allowed": False}, call)

    async def _subagent_call(self, tool: Tool, tool_input: dict[str, Any], context: ToolContext) -> ToolResult:
        from dbos import DBOS

        from tether.durable.subagents import run_subagent_call

        async def run() -> ToolResult:
            with using_steps(WorkflowSteps(self.engine, self.lease)):
                return await _called(tool, tool_input, context)

        return await run_subagent_call(str(DBOS.workflow_id), context.tool_use_id or "?", run)

    def subagent_id(self, tool_use_id: str) -> str | None:
        """Derived from the subagent's workflow id (`<turn>:agent:<tool_use_id>`): the same on a replay."""
        from dbos import DBOS

        return uuid.uuid5(_NAMESPACE, f"{DBOS.workflow_id}|{tool_use_id}").hex[:17]

    def sidechain_ledger(self, stored: Iterable[dict[str, Any]]) -> TurnLedger:
        from dbos import DBOS

        return TurnLedger(str(DBOS.workflow_id), stored)

    def _decide(self, tool: Tool, tool_input: dict[str, Any], call_id: str) -> CutCallDecision:
        """What becomes of a call cut mid-way: the engine's hook decides, else its tool's idempotency."""
        if self.engine.on_cut_call is not None:
            return self.engine.on_cut_call(tool.name, tool_input, call_id)
        return "rerun" if is_idempotent(tool) else "unknown"


async def _called(tool: Tool, tool_input: dict[str, Any], context: ToolContext) -> ToolResult:
    """`tool`'s result; an exception or a result of another type recorded as the model's information,
    as the tool runner does."""
    try:
        result = await tool.call(tool_input, context)
    except Exception as error:
        return ToolResult(f"{type(error).__name__}: {error}", is_error=True)
    return result if isinstance(result, ToolResult) else ToolResult(str(result), is_error=True)
