"""A durable turn's subagent: its Agent call runs as a DBOS child workflow of the turn.

The child's id is `<turn workflow id>:agent:<tool_use_id>`, so a replayed turn meets the child it
started: one that finished gives its recorded result (the subagent does not run again); one left
pending by its process's death is resumed here and awaited. The child's model and tool calls are
steps as in a turn (`tether.durable.steps`), its agent id is derived from its workflow id and its
transcript is written through a `TurnLedger`, so a replay writes no entry twice.

A subagent runs in the process of its turn, with the turn's live agent (its tools, hooks and
model): the call registers itself in `_CALLS` before it starts or resumes the child, and a resumed
child goes to a queue only this process listens to.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS, SetWorkflowID

from tether.durable.engine import runtime
from tether.errors import TetherError
from tether.tools.base import ToolResult

__all__ = ["SUBAGENT_WORKFLOW", "run_subagent_call", "subagent_workflow_id"]

SUBAGENT_WORKFLOW = "tether.subagent"
_CALLS: dict[str, Callable[[], Awaitable[ToolResult]]] = {}
"""Child workflow id -> the Agent call it runs, in the process running its turn."""
_OWN_QUEUES: set[str] = set()


def subagent_workflow_id(turn_workflow_id: str, tool_use_id: str) -> str:
    """The DBOS workflow id of the subagent an Agent call of a durable turn starts."""
    return f"{turn_workflow_id}:agent:{tool_use_id}"


@DBOS.workflow(name=SUBAGENT_WORKFLOW)
async def run_subagent(call: dict[str, Any]) -> ToolResult:
    """The child workflow: one Agent call of a turn, its `ToolResult` the workflow's output."""
    run = _CALLS.get(str(DBOS.workflow_id))
    if run is None:
        raise TetherError(f"the subagent {DBOS.workflow_id} runs only in the process running its turn")
    return await run()


async def run_subagent_call(
    turn_workflow_id: str, tool_use_id: str, run: Callable[[], Awaitable[ToolResult]]
) -> ToolResult:
    """Run (or continue, or get the recorded result of) the Agent call `tool_use_id` as a child
    workflow of the turn; called from the turn's workflow."""
    child_id = subagent_workflow_id(turn_workflow_id, tool_use_id)
    _CALLS[child_id] = run
    try:
        with SetWorkflowID(child_id):
            handle = await DBOS.start_workflow_async(run_subagent, {"tool_use_id": tool_use_id})
        # outside the turn's workflow context: these looks are no steps of the turn
        await asyncio.create_task(_resume_if_cut(child_id), context=contextvars.Context())
        result: ToolResult = await handle.get_result()
        return result
    finally:
        _CALLS.pop(child_id, None)


async def _resume_if_cut(child_id: str) -> None:
    """A child left pending by another (dead) process continues here, on this process's own queue."""
    here = runtime()
    status = await DBOS.get_workflow_status_async(child_id)
    if here is None or status is None or status.status not in ("PENDING", "ENQUEUED"):
        return
    if status.executor_id == here.executor_id:  # started by this process: it runs here now
        return
    queue = f"tether_subagents:{here.executor_id}"
    if queue not in _OWN_QUEUES:
        await DBOS.register_queue_async(queue, polling_interval_sec=0.2)
        _OWN_QUEUES.add(queue)
    await DBOS.resume_workflow_async(child_id, queue_name=queue)
