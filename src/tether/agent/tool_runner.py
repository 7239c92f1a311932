"""Running the tool calls of one model response.

Every call goes through the same steps, and none of them raises for a bad call:

1. the tool must exist and its input must match its JSON schema;
2. PreToolUse hooks (may deny, defer, ask, allow, change the input, or stop the run);
3. the permission policy (rules, mode, working directories); when it would ask, the
   PermissionRequest hooks answer first, then a `permission_prompt` Notification fires and
   `can_use_tool` is asked;
4. the tool itself;
5. PostToolUse (or PostToolUseFailure) hooks (may add context or replace the output).

A refusal becomes an `is_error` tool result that tells the model why, plus an entry for
`ResultMessage.permission_denials`; a refusal with `interrupt=True`, or a hook that says
`continue: false`, ends the run after this response's calls.

Deferred calls. A PreToolUse `permissionDecision: "defer"` on the only call of a response ends
the run before the call runs: the result is a `success` with `stop_reason` and
`terminal_reason` `"tool_deferred"` and the call in `deferred_tool_use`, and the session keeps
the call unanswered (its `cost-state` entry records it as `deferredToolUse`). The next run of the
session, in this process or after a resume, runs that call first, through every step above (so
its PreToolUse hooks are asked again: they may allow it, with an `updatedInput` carrying what the
caller collected, deny it, or defer it once more), stores its result, then the new prompt. If
the tool is gone by then, that run ends at once with `tool_deferred_unavailable` (an error
result, the call still pending). With several calls in one response `defer` is ignored (logged)
and the calls go through the permission policy, as in Claude Code.

`SessionTools` (`tether.agent.session_tools`) gathers the tools, policy and hooks of a session and
makes a `ToolRunner` for each prompt.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from tether.agent.checkpoints import FileCheckpoints
from tether.agent.hook_outcome import HookOutcome
from tether.agent.hooks import HookRunner
from tether.agent.permissions import (
    PermissionPolicy,
)
from tether.agent.steps import current_steps
from tether.agent.tracing import NO_TRACE, RunTrace
from tether.messages import DeferredToolUse
from tether.sessions.session import Session
from tether.tools.agent import AGENT_TOOL, AGENT_TOOL_NAMES
from tether.tools.base import Tool, ToolContext, ToolResult, cut_content, is_read_only, result_limit
from tether.tools.validation import input_problem

__all__ = ["TOOL_DEFERRED", "DEFERRAL_KEY", "ToolOutcome", "ToolRunner", "text_of", "transcript_path_of"]

logger = logging.getLogger("tether.hooks")

TOOL_DEFERRED = "tool_deferred"
TOOL_DEFERRED_UNAVAILABLE = "tool_deferred_unavailable"
DEFERRAL_KEY = "deferredToolUse"
"""The `cost-state` key under which a session keeps a deferred call for its next run."""


@dataclass
class ToolOutcome:
    """The result block for one call, plus what the loop must know about it."""

    result: dict[str, Any]
    """A `tool_result` content block for the model."""
    tool_use_result: Any = None
    """Structured result kept in the transcript entry (`toolUseResult`)."""
    denial: dict[str, Any] | None = None
    """Set when permission was refused: `{"tool_name", "tool_use_id", "tool_input"}`."""
    interrupt: bool = False
    """True when the run must stop after this call."""
    stop_reason: str | None = None
    """Why the run stops, when `interrupt` is set (or `tool_deferred...` for a deferred call)."""
    deferred: DeferredToolUse | None = None
    """Set when the call was deferred: the run ends before it runs and nothing is stored for it."""

    @property
    def deferred_unavailable(self) -> bool:
        """True when a deferred call could not be resumed because its tool is gone."""
        return self.stop_reason == TOOL_DEFERRED_UNAVAILABLE


@dataclass
class _Checked:
    """A call after PreToolUse: the input to use and what the hooks decided and added."""

    tool_input: dict[str, Any]
    decision: str | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ToolRunner:
    """Runs tool calls against the tools of a session.

    Without a `policy` every call is allowed; without `hooks` no hook runs. `permission_notes`
    holds context that Notification hooks added while a call waited for permission. With
    `checkpoints`, the file a Write or Edit call changes is backed up before it runs.
    """

    tools: dict[str, Tool]
    cwd: Path
    session_id: str
    session_state: dict[str, Any] = field(default_factory=dict)
    policy: PermissionPolicy | None = None
    hooks: HookRunner | None = None
    permission_notes: dict[str, list[str]] = field(default_factory=dict)
    checkpoints: FileCheckpoints | None = None
    trace: RunTrace = NO_TRACE
    """The run's spans (`tether.agent.tracing`): each tool call is an `execute_tool` span."""

    async def run_all(self, calls: list[dict[str, Any]]) -> list[ToolOutcome]:
        """Run the calls of one response; `defer` counts only when there is one call.

        Calls run in order, except that consecutive Agent calls (subagents) run concurrently;
        the outcomes keep the order of the calls.
        """
        can_defer = len(calls) == 1
        outcomes: list[ToolOutcome | None] = [None] * len(calls)

        async def run_one(index: int) -> None:
            outcomes[index] = await self.run(calls[index], can_defer=can_defer)

        index = 0
        while index < len(calls):
            end = index + 1
            while end < len(calls) and self._concurrent(calls[index]) and self._concurrent(calls[end]):
                end += 1
            if end == index + 1:
                await run_one(index)
            else:
                async with anyio.create_task_group() as group:
                    for position in range(index, end):
                        group.start_soon(run_one, position)
            index = end
        return [outcome for outcome in outcomes if outcome is not None]

    def _concurrent(self, call: dict[str, Any]) -> bool:
        """Whether the call may run alongside its neighbours: a subagent, which shares nothing with them."""
        return call.get("name") in AGENT_TOOL_NAMES and AGENT_TOOL in self.tools

    async def run_deferred(self, call: dict[str, Any]) -> ToolOutcome:
        """Run a call an earlier run deferred (its PreToolUse hooks are asked again)."""
        if str(call.get("name")) not in self.tools:
            message = f"The deferred tool {call.get('name')} is not available in this session."
            return _deferred_outcome(call, TOOL_DEFERRED_UNAVAILABLE, message)
        return await self.run(call, can_defer=True)

    async def run(self, call: dict[str, Any], *, can_defer: bool = False) -> ToolOutcome:
        """Run one `tool_use` block; never raises for a bad call or a tool's own failure.

        Anything raised while deciding, validating or converting the call becomes its `is_error`
        result, saying whether the tool ran.
        """
        tool_use_id = str(call.get("id"))
        name = str(call.get("name"))
        checked_call = await current_steps().tool_check(tool_use_id, lambda: self._check(call, can_defer))
        if isinstance(checked_call, ToolOutcome):
            return checked_call
        permitted, checked = checked_call
        tool = self._tool(name)
        assert tool is not None
        if self.checkpoints is not None:
            try:
                await self.checkpoints.before_tool(tool.name, permitted, self.cwd)
            except OSError as error:
                return _error(tool_use_id, f"{name} was not run: its file could not be backed up ({error})")
        result, duration_ms = await self._call(tool, permitted, tool_use_id)
        if self.checkpoints is not None:
            await self.checkpoints.after_tool(tool.name, permitted, self.cwd, tool_use_id)
        try:
            limit = result_limit(tool)
            return await self._after(name, permitted, tool_use_id, result, checked.notes, duration_ms, limit)
        except Exception as error:
            logger.warning("handling the result of the %s call %s failed", name, tool_use_id, exc_info=True)
            message = f"{name} ran, but its result could not be handled ({type(error).__name__}: {error})"
            return _error(tool_use_id, message)

    async def _check(self, call: dict[str, Any], can_defer: bool) -> tuple[dict[str, Any], _Checked] | ToolOutcome:
        """The input the call may run with and what the hooks added, or its refusal (a step of a
        durable turn: plain data). Anything raised while checking refuses the call, saying so."""
        tool_use_id, name = str(call.get("id")), str(call.get("name"))
        try:
            ready = await self._prepare(call, tool_use_id, name, can_defer)
        except Exception as error:
            logger.warning("checking the %s call %s failed", name, tool_use_id, exc_info=True)
            return _error(
                tool_use_id, f"{name} was not run: checking the call failed ({type(error).__name__}: {error})"
            )
        return ready if isinstance(ready, ToolOutcome) else ready[1:]

    def _tool(self, name: str) -> Tool | None:
        """The tool a call names (`Task` is the Agent tool's older name: Claude Code takes both)."""
        tool = self.tools.get(name)
        return self.tools.get(AGENT_TOOL) if tool is None and name in AGENT_TOOL_NAMES else tool

    async def _prepare(
        self, call: dict[str, Any], tool_use_id: str, name: str, can_defer: bool
    ) -> tuple[Tool, dict[str, Any], _Checked] | ToolOutcome:
        """The tool, the input it may run with and what the hooks added; or the call's refusal."""
        tool_input = call.get("input")
        tool = self._tool(name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return _error(tool_use_id, f"No such tool available: {name}. Available tools: {known}")
        problem = _input_problem(tool, tool_input)
        if problem:
            return _error(tool_use_id, f"InputValidationError: {name} was called with invalid input: {problem}")
        assert isinstance(tool_input, dict)
        checked = await self._pre_tool_use(call, tool, tool_input, can_defer)
        if isinstance(checked, ToolOutcome):
            return checked
        permitted = await self._permit(name, tool, tool_use_id, checked)
        if isinstance(permitted, ToolOutcome):
            return permitted
        return tool, permitted, checked

    async def _call(self, tool: Tool, tool_input: dict[str, Any], tool_use_id: str) -> tuple[ToolResult, int]:
        """Run the tool: its result (a failure is an `is_error` result) and how long it took (ms)."""
        context = ToolContext(
            cwd=self.cwd, session_id=self.session_id, tool_use_id=tool_use_id, session_state=self.session_state
        )
        started = time.monotonic()
        try:
            result: Any = await self.trace.tool(
                current_steps().tool_call(tool, tool_input, context), tool.name, tool_use_id, tool_input
            )  # a step of a durable turn (tether.agent.steps), in its span
        except Exception as error:  # a tool's failure is the model's information, not the loop's end
            result = ToolResult(f"{type(error).__name__}: {error}", is_error=True)
        if not isinstance(result, ToolResult):
            result = ToolResult(f"{tool.name} returned {type(result).__name__}, not a ToolResult", is_error=True)
        return result, int((time.monotonic() - started) * 1000)

    async def _pre_tool_use(
        self, call: dict[str, Any], tool: Tool, tool_input: dict[str, Any], can_defer: bool
    ) -> _Checked | ToolOutcome:
        checked = _Checked(tool_input)
        if self.hooks is None or not self.hooks.has("PreToolUse"):
            return checked
        name, tool_use_id = tool.name, str(call.get("id"))
        pre = await self.hooks.pre_tool_use(name, tool_input, tool_use_id)
        if not pre.continue_:
            reason = pre.stop_reason or "a PreToolUse hook stopped the run"
            return _stopped(_error(tool_use_id, f"{name} was not run: {reason}"), reason)
        if pre.updated_input is not None:
            problem = _input_problem(tool, pre.updated_input)
            if problem:
                return _error(
                    tool_use_id, f"InputValidationError: a PreToolUse hook gave {name} an invalid input: {problem}"
                )
            checked.tool_input = pre.updated_input
        checked.decision, checked.reason = pre.permission_decision, pre.permission_decision_reason
        checked.notes.extend(pre.additional_context)
        if checked.decision == "defer":
            if can_defer:
                return _deferred_outcome(call, TOOL_DEFERRED, f"The {name} call was deferred by a PreToolUse hook.")
            logger.warning("a PreToolUse hook deferred %s, but defer needs a response with one tool call", name)
            checked.decision = None
        return checked

    async def _permit(self, name: str, tool: Tool, tool_use_id: str, checked: _Checked) -> dict[str, Any] | ToolOutcome:
        """The input to run the tool with, or the refusal."""
        if self.policy is None:
            if checked.decision == "deny":
                outcome = _error(tool_use_id, f"Permission to use {name} was denied: {checked.reason or 'by a hook'}")
                outcome.denial = {"tool_name": name, "tool_use_id": tool_use_id, "tool_input": checked.tool_input}
                return outcome
            return checked.tool_input
        decision = await self.policy.decide(
            name,
            checked.tool_input,
            tool_use_id=tool_use_id,
            read_only=is_read_only(tool),
            hook_decision=checked.decision,
            hook_reason=checked.reason,
        )
        checked.notes.extend(self.permission_notes.pop(tool_use_id, []))
        if not decision.allowed:
            outcome = _error(tool_use_id, decision.message)
            outcome.denial = decision.denial_record(name, tool_use_id)
            if decision.interrupt:
                return _stopped(outcome, f"permission to use {name} was denied: {decision.message}")
            return outcome
        problem = _input_problem(tool, decision.tool_input)
        if problem:
            return _error(tool_use_id, f"InputValidationError: {name} was allowed with an invalid input: {problem}")
        return decision.tool_input

    async def _after(
        self,
        name: str,
        tool_input: dict[str, Any],
        tool_use_id: str,
        result: ToolResult,
        notes: list[str],
        duration_ms: int,
        limit: int,
    ) -> ToolOutcome:
        """The call's outcome after its Post hooks: the result the model gets is cut to `limit`
        characters (the hooks see it whole)."""
        structured = result.structured if result.structured is not None else result.content
        whole = result.content
        post = await self._post_hooks(name, tool_input, tool_use_id, result, structured, duration_ms)
        stop_reason: str | None = None
        if post is not None:
            if post.has_updated_tool_output:
                result = ToolResult(_as_content(post.updated_tool_output), result.is_error, result.structured)
            notes.extend(post.additional_context)
            if post.blocked and post.reason:
                notes.append(post.reason)
            if not post.continue_:
                event = "PostToolUseFailure" if result.is_error else "PostToolUse"
                stop_reason = post.stop_reason or f"a {event} hook stopped the run"
        content = _as_content(result.content)
        kept = cut_content(content, limit)
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": _with_notes(kept, notes)}
        if result.is_error:
            block["is_error"] = True
        stored = structured if kept is content else _cut_structured(structured, whole, kept)
        outcome = ToolOutcome(result=block, tool_use_result=stored)
        return _stopped(outcome, stop_reason) if stop_reason else outcome

    async def _post_hooks(
        self,
        name: str,
        tool_input: dict[str, Any],
        tool_use_id: str,
        result: ToolResult,
        structured: Any,
        duration_ms: int,
    ) -> HookOutcome | None:
        if self.hooks is None:
            return None
        if result.is_error and self.hooks.has("PostToolUseFailure"):
            error = text_of(result.content)
            return await self.hooks.post_tool_use_failure(name, tool_input, tool_use_id, error, duration_ms=duration_ms)
        if not result.is_error and self.hooks.has("PostToolUse"):
            return await self.hooks.post_tool_use(name, tool_input, tool_use_id, structured, duration_ms=duration_ms)
        return None


def _input_problem(tool: Tool, value: Any) -> str | None:
    """What is wrong with `value` as `tool`'s input: its schema, or a NUL byte in a string."""
    return input_problem(tool.input_schema, value) or _nul_problem(value)


def _nul_problem(value: Any, where: str = "") -> str | None:
    """Where a string of `value` holds a NUL byte, which no path (and no sane argument) contains."""
    if isinstance(value, str):
        return f"{where or 'the input'} contains a NUL byte" if "\x00" in value else None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = _nul_problem(item, f"{where}/{key}" if where else str(key))
        if problem:
            return problem
    return None


def _cut_structured(structured: Any, whole: Any, kept: str | list[dict[str, Any]]) -> Any:
    """What the transcript keeps (`toolUseResult`) of a result the model got cut: the cut content
    where the structured form is the content, or holds it (an MCP result's `content`)."""
    if structured is whole:
        return kept
    if isinstance(structured, dict) and structured.get("content") is whole:
        return {**structured, "content": kept}
    return structured


def text_of(content: str | list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(str(block.get("text", "")) for block in content if block.get("type") == "text")


def _as_content(value: Any) -> str | list[dict[str, Any]]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, dict) and "type" in item for item in value):
        return value
    return json.dumps(value, default=str)


def _with_notes(content: str | list[dict[str, Any]], notes: list[str]) -> str | list[dict[str, Any]]:
    if not notes:
        return content
    if isinstance(content, str):
        return "\n\n".join([content, *notes]) if content else "\n\n".join(notes)
    return [*content, *({"type": "text", "text": note} for note in notes)]


def _result(tool_use_id: str, outcome: ToolResult) -> ToolOutcome:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": outcome.content}
    if outcome.is_error:
        block["is_error"] = True
    return ToolOutcome(result=block, tool_use_result=outcome.content)


def _error(tool_use_id: str, message: str) -> ToolOutcome:
    return _result(tool_use_id, ToolResult(content=message, is_error=True))


def _stopped(outcome: ToolOutcome, reason: str) -> ToolOutcome:
    outcome.interrupt = True
    outcome.stop_reason = reason
    return outcome


def _deferred_outcome(call: dict[str, Any], stop_reason: str, message: str) -> ToolOutcome:
    raw_input = call.get("input")
    deferred = DeferredToolUse(
        id=str(call.get("id")), name=str(call.get("name")), input=dict(raw_input) if isinstance(raw_input, dict) else {}
    )
    outcome = _error(deferred.id, message)
    outcome.stop_reason = stop_reason
    outcome.deferred = deferred
    return outcome


def transcript_path_of(session: Session | None) -> str:
    """The `transcript_path` of hook inputs: the session's file where its store keeps one (`JsonlStore`),
    else `""` (other stores keep no file; read the transcript with `get_session_messages`)."""
    if session is None or session.access is None:
        return ""
    return session.access.transcript_path(session.key)
