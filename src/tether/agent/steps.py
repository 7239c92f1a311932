"""`TurnSteps`: the seam where a turn's model calls and tool calls may be recorded as steps.

A plain run calls straight through (`DIRECT_STEPS`). A durable turn (`tether.durable`) sets its own
steps for the time of the turn (`using_steps`): each model call, each tool call and the check before
it (hooks and permission answers) becomes a step of a workflow, recorded once and not run again
when the turn is replayed after a crash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from tether.sessions.session import EntryLedger
from tether.tools.base import Tool, ToolContext

__all__ = ["DIRECT_STEPS", "TurnSteps", "current_steps", "using_steps"]

_T = TypeVar("_T")


class TurnSteps(Protocol):
    """How a turn makes its model calls and tool calls."""

    def model_call(self, stream: Callable[[], AsyncIterator[Any]]) -> AsyncIterator[Any]:
        """The events of one model call (`stream()` makes it), its `ModelResponse` last."""
        ...

    async def tool_call(self, tool: Tool, tool_input: dict[str, Any], context: ToolContext) -> Any:
        """What one tool call returns (`context.tool_use_id` names the call)."""
        ...

    async def tool_check(self, tool_use_id: str, check: Callable[[], Awaitable[_T]]) -> _T:
        """What `check()` decides about the call `tool_use_id` before it runs (its PreToolUse hooks
        and permission: rules, mode, `can_use_tool`)."""
        ...

    def subagent_id(self, tool_use_id: str) -> str | None:
        """The agent id of the subagent the Agent call `tool_use_id` starts (None: a fresh random one)."""
        ...

    def sidechain_ledger(self, stored: Iterable[dict[str, Any]]) -> EntryLedger | None:
        """The ledger a subagent's transcript is written through, knowing its `stored` entries (None:
        written as it goes)."""
        ...


class _DirectSteps:
    """Calls straight through: a plain, non-durable run."""

    def model_call(self, stream: Callable[[], AsyncIterator[Any]]) -> AsyncIterator[Any]:
        return stream()

    async def tool_call(self, tool: Tool, tool_input: dict[str, Any], context: ToolContext) -> Any:
        return await tool.call(tool_input, context)

    async def tool_check(self, tool_use_id: str, check: Callable[[], Awaitable[_T]]) -> _T:
        return await check()

    def subagent_id(self, tool_use_id: str) -> str | None:
        return None

    def sidechain_ledger(self, stored: Iterable[dict[str, Any]]) -> EntryLedger | None:
        return None


DIRECT_STEPS: TurnSteps = _DirectSteps()
_current: ContextVar[TurnSteps] = ContextVar("tether_turn_steps", default=DIRECT_STEPS)


def current_steps() -> TurnSteps:
    """The steps of the turn running in this task (`DIRECT_STEPS` outside a durable turn)."""
    return _current.get()


@contextmanager
def using_steps(steps: TurnSteps) -> Iterator[None]:
    """Make the turns run in this context (and the tasks it starts) use `steps`."""
    token = _current.set(steps)
    try:
        yield
    finally:
        _current.reset(token)
