"""Running the tool calls of one model response, and the tools, permissions and hooks of a session.

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

`SessionTools` gathers, for one open session, the tools (`tools=` picks the built-in ones, plus
every tool of `mcp_servers`), the permission policy and the hooks, and runs the prompt-level hook
points: SessionStart (once, with source startup / resume / fork), UserPromptSubmit and Stop.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from tether.agent.checkpoints import FileCheckpoints
from tether.agent.hooks import HookOutcome, HookRunner, SubagentContext
from tether.agent.permissions import (
    PermissionPolicy,
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    PermissionUpdate,
    ToolPermissionContext,
    tool_is_read_only,
)
from tether.agent.prompt_tool import PermissionPromptTool, prompt_tool_of
from tether.errors import ConfigurationError
from tether.messages import DeferredToolUse, HookEventMessage, ResultMessage
from tether.options import AgentOptions
from tether.sessions.entries import make_meta_entry, new_uuid
from tether.sessions.session import INTERRUPTED_TOOL_RESULT, Session
from tether.tools.agent import AGENT_TOOL, AGENT_TOOL_NAMES
from tether.tools.base import Tool, ToolContext, ToolResult
from tether.tools.mcp import McpServers
from tether.tools.registry import builtin_tools
from tether.tools.validation import input_problem

__all__ = ["PreparedPrompt", "SessionTools", "ToolOutcome", "ToolRunner", "transcript_path_of"]

logger = logging.getLogger("tether.hooks")

TOOL_DEFERRED = "tool_deferred"
TOOL_DEFERRED_UNAVAILABLE = "tool_deferred_unavailable"
_DEFERRAL_KEY = "deferredToolUse"


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
        try:
            ready = await self._prepare(call, tool_use_id, name, can_defer)
        except Exception as error:
            logger.warning("checking the %s call %s failed", name, tool_use_id, exc_info=True)
            return _error(
                tool_use_id, f"{name} was not run: checking the call failed ({type(error).__name__}: {error})"
            )
        if isinstance(ready, ToolOutcome):
            return ready
        tool, permitted, checked = ready
        if self.checkpoints is not None:
            try:
                await self.checkpoints.before_tool(tool.name, permitted, self.cwd)
            except OSError as error:
                return _error(tool_use_id, f"{name} was not run: its file could not be backed up ({error})")
        result, duration_ms = await self._call(tool, permitted, tool_use_id)
        try:
            return await self._after(name, permitted, tool_use_id, result, checked.notes, duration_ms)
        except Exception as error:
            logger.warning("handling the result of the %s call %s failed", name, tool_use_id, exc_info=True)
            message = f"{name} ran, but its result could not be handled ({type(error).__name__}: {error})"
            return _error(tool_use_id, message)

    async def _prepare(
        self, call: dict[str, Any], tool_use_id: str, name: str, can_defer: bool
    ) -> tuple[Tool, dict[str, Any], _Checked] | ToolOutcome:
        """The tool, the input it may run with and what the hooks added; or the call's refusal."""
        tool_input = call.get("input")
        tool = self.tools.get(name)
        if tool is None and name in AGENT_TOOL_NAMES:  # `Task`, the Agent tool's older name (Claude Code takes both)
            tool = self.tools.get(AGENT_TOOL)
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
            result: Any = await tool.call(tool_input, context)
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
            read_only=tool_is_read_only(tool),
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
    ) -> ToolOutcome:
        structured = result.structured if result.structured is not None else result.content
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
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": _with_notes(_as_content(result.content), notes),
        }
        if result.is_error:
            block["is_error"] = True
        outcome = ToolOutcome(result=block, tool_use_result=structured)
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
            error = _text_of(result.content)
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


def _text_of(content: str | list[dict[str, Any]]) -> str:
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


# --- Asking for permission -------------------------------------------------------------------------


class _PermissionPrompt:
    """What the permission policy calls when it would ask: the PermissionRequest hooks first; when
    none decides, a `permission_prompt` Notification and then the user's `can_use_tool`."""

    def __init__(self, hooks: HookRunner, can_use_tool: Any, notes: dict[str, list[str]]) -> None:
        self.hooks = hooks
        self.can_use_tool = can_use_tool
        self.notes = notes

    async def __call__(
        self, tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResult:
        tool_use_id = context.tool_use_id
        if self.hooks.has("PermissionRequest"):
            suggestions = [update.to_dict() for update in context.suggestions]
            outcome = await self.hooks.permission_request(tool_name, tool_input, tool_use_id, suggestions)
            if outcome.permission_request is not None:
                return _hook_answer(tool_name, outcome.permission_request)
        if self.can_use_tool is None:
            why = context.decision_reason or "no permission rule matches"
            return PermissionResultDeny(
                message=f"Permission to use {tool_name} was not granted ({why}): no PermissionRequest hook decided "
                "and there is nobody to ask."
            )
        if self.hooks.has("Notification"):
            notified = await self.hooks.notification(
                f"tether needs your permission to use {tool_name}",
                "permission_prompt",
                title="Permission needed",
                tool_use_id=tool_use_id,
            )
            if tool_use_id and notified.additional_context:
                self.notes.setdefault(tool_use_id, []).extend(notified.additional_context)
        answer = self.can_use_tool(tool_name, tool_input, context)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer  # type: ignore[no-any-return]


def _hook_answer(tool_name: str, decision: Mapping[str, Any]) -> PermissionResult:
    """A PermissionRequest hook's `decision` as a `can_use_tool` answer."""
    if decision.get("behavior") == "deny":
        message = decision.get("message") or f"Permission to use {tool_name} was denied by a PermissionRequest hook."
        return PermissionResultDeny(message=str(message), interrupt=bool(decision.get("interrupt")))
    updated_input = decision.get("updatedInput")
    try:
        updates = [PermissionUpdate.from_dict(item) for item in decision.get("updatedPermissions") or []]
    except (KeyError, TypeError, AttributeError) as error:
        return PermissionResultDeny(
            message=f"a PermissionRequest hook allowed {tool_name} with invalid updatedPermissions ({error!r})"
        )
    return PermissionResultAllow(
        updated_input=dict(updated_input) if isinstance(updated_input, Mapping) else None,
        updated_permissions=updates or None,
    )


# --- The tools of a session ---------------------------------------------------------------------


def transcript_path_of(session: Session | None) -> str:
    """The `transcript_path` of hook inputs: the session's file where its store keeps one (`JsonlStore`),
    else `""` (other stores keep no file; read the transcript with `get_session_messages`)."""
    if session is None or session.access is None:
        return ""
    return session.access.transcript_path(session.key)


@dataclass
class PreparedPrompt:
    """A prompt after the SessionStart and UserPromptSubmit hooks."""

    prompt: str | list[dict[str, Any]]
    """The prompt to store and send, with any context the hooks added."""
    blocked: str | None = None
    """Set when a hook blocked the prompt or stopped the run: the reason (nothing is stored)."""


class SessionTools:
    """The tools, permission policy and hooks of one open session (see the module docstring)."""

    def __init__(
        self,
        options: AgentOptions,
        tools: dict[str, Tool],
        mcp_status: list[dict[str, Any]],
        policy: PermissionPolicy,
        hooks: HookRunner,
        session_source: str,
        model_name: str | None = None,
        session: Session | None = None,
    ) -> None:
        self.options = options
        self.tools = tools
        self.mcp_status = mcp_status
        self.policy = policy
        self.hooks = hooks
        self.session = session
        self.checkpoints: FileCheckpoints | None = None
        """The file backups of `enable_file_checkpointing` (None when off, and for a subagent)."""
        self.permission_notes: dict[str, list[str]] = {}
        self._session_source = session_source
        self._model_name = model_name
        self._session_started = False

    @classmethod
    async def open(
        cls,
        options: AgentOptions,
        *,
        cwd: str,
        session_id: str,
        session_source: str,
        exit_stack: AsyncExitStack,
        model_name: str | None = None,
        session: Session | None = None,
        inherited: Mapping[str, Tool] | None = None,
        subagent: SubagentContext | None = None,
    ) -> SessionTools:
        """Build the tools and connect the MCP servers; `exit_stack` closes them with the agent.

        For a subagent, `inherited` are the tools it takes from its parent (instead of the
        built-in tools `options.tools` names), and `subagent` says who it is to its hooks.
        """

        def remember_mode(mode: Any) -> None:
            options.permission_mode = mode

        hooks = HookRunner(
            options.hooks,
            session_id=session_id,
            cwd=cwd,
            transcript_path=transcript_path_of(session),
            permission_mode=lambda: policy.mode,
            effort=lambda: options.effort,
            include_events=options.include_hook_events,
            subagent=subagent,
        )
        notes: dict[str, list[str]] = {}
        asks = options.can_use_tool is not None or hooks.has("PermissionRequest")
        policy = PermissionPolicy(
            cwd=cwd,
            allowed_tools=options.allowed_tools,
            disallowed_tools=options.disallowed_tools,
            mode=options.permission_mode,
            can_use_tool=_PermissionPrompt(hooks, options.can_use_tool, notes) if asks else None,
            add_dirs=options.add_dirs,
            on_mode_change=remember_mode,
        )
        policy.agent_id = subagent.agent_id if subagent is not None else None
        own = builtin_tools(options.tools, env=options.env) if inherited is None else list(inherited.values())
        tools: dict[str, Tool] = {tool.name: tool for tool in own}
        servers = await exit_stack.enter_async_context(McpServers(options.mcp_servers, cwd=cwd, env=options.env))
        for tool in servers.tools:
            if tool.name in tools:
                raise ConfigurationError(f"two tools are named {tool.name!r}; rename an MCP server")
            tools[tool.name] = tool
        prompt_tool = prompt_tool_of(
            options.permission_prompt_tool_name, tools, has_callback=options.can_use_tool is not None
        )
        if prompt_tool is not None:  # permission prompts go to an MCP tool (tether.agent.prompt_tool)
            policy.can_use_tool = _PermissionPrompt(hooks, PermissionPromptTool(prompt_tool, cwd, session_id), notes)
        opened = cls(options, tools, servers.status, policy, hooks, session_source, model_name, session)
        opened.permission_notes = notes
        if options.enable_file_checkpointing and session is not None and subagent is None:
            opened.checkpoints = FileCheckpoints(session)
        return opened

    def runner(self, cwd: Path, session_id: str, session_state: dict[str, Any]) -> ToolRunner:
        """A runner for the calls of one prompt."""
        return ToolRunner(
            self.tools,
            cwd,
            session_id,
            session_state,
            policy=self.policy,
            hooks=self.hooks,
            permission_notes=self.permission_notes,
            checkpoints=self.checkpoints,
        )

    def hook_messages(self) -> list[HookEventMessage]:
        """The `HookEventMessage`s of the hooks that ran since the last call (see `HookRunner`)."""
        return [
            HookEventMessage(
                subtype=data["subtype"],
                data=data,
                hook_event_name=data["hook_event"],
                session_id=data["session_id"],
                uuid=data["uuid"],
            )
            for data in self.hooks.take_events()
        ]

    async def prepare_prompt(self, prompt: str | list[dict[str, Any]]) -> PreparedPrompt:
        """Sync the permission mode, run SessionStart (first prompt only) and UserPromptSubmit
        (SubagentStart instead, for a subagent)."""
        self.policy.mode = self.options.permission_mode or "default"
        if self.hooks.subagent is not None:
            return await self._start_subagent(prompt)
        context: list[str] = []
        if not self._session_started:
            self._session_started = True
            if self.hooks.has("SessionStart"):
                start = await self.hooks.session_start(self._session_source, self._model_name)
                if not start.continue_:
                    return PreparedPrompt(prompt, start.stop_reason or "a SessionStart hook stopped the run")
                context.extend(start.additional_context)
        self.hooks.prompt_id = new_uuid()
        if self.hooks.has("UserPromptSubmit"):
            submitted = await self.hooks.user_prompt_submit(_text_of(prompt) if isinstance(prompt, list) else prompt)
            if submitted.blocked:
                return PreparedPrompt(
                    prompt, f"the prompt was blocked by a hook: {submitted.reason or 'no reason given'}"
                )
            if not submitted.continue_:
                return PreparedPrompt(prompt, submitted.stop_reason or "a UserPromptSubmit hook stopped the run")
            context.extend(submitted.additional_context)
        return _with_context(prompt, context)

    async def _start_subagent(self, prompt: str | list[dict[str, Any]]) -> PreparedPrompt:
        """SubagentStart: its context goes with the subagent's prompt; `continue: false` stops it."""
        if not self.hooks.has("SubagentStart"):
            return PreparedPrompt(prompt)
        started = await self.hooks.subagent_start()
        if not started.continue_:
            return PreparedPrompt(prompt, started.stop_reason or "a SubagentStart hook stopped the subagent")
        return _with_context(prompt, started.additional_context)

    async def stop_feedback(self, stop_hook_active: bool) -> str | None:
        """Run the Stop hooks (SubagentStop for a subagent); the feedback to give the model when
        one makes it go on, else None."""
        if self.hooks.subagent is not None:
            if not self.hooks.has("SubagentStop"):
                return None
            outcome = await self.hooks.subagent_stop(stop_hook_active, self._last_assistant_text())
            feedback = (outcome.reason or "A SubagentStop hook asked you to continue.") if outcome.blocked else None
            feedback = feedback or outcome.context
            return feedback if outcome.continue_ else None
        if not self.hooks.has("Stop"):
            return None
        outcome = await self.hooks.stop(stop_hook_active, self._last_assistant_text())
        if outcome.blocked and outcome.continue_:
            return outcome.reason or "A Stop hook asked you to continue."
        return None

    def _last_assistant_text(self) -> str | None:
        messages = self.session.messages if self.session is not None else []
        if not messages or messages[-1].get("role") != "assistant":
            return None
        return _text_of(messages[-1].get("content") or [])

    # -- deferred calls --

    async def reopen_deferred(self) -> dict[str, Any] | None:
        """The `tool_use` block a PreToolUse hook deferred in the session's last run, to run now.

        On a resume the session was loaded with the call closed as interrupted; that closing
        result is set aside (the next entries hang from the assistant message again) so the call
        gets its real result. The deferral is cleared first: a crash while it runs does not run it
        twice.
        """
        session = self.session
        marker = session.totals.get(_DEFERRAL_KEY) if session is not None else None
        if session is None or not isinstance(marker, Mapping):
            return None
        call_id = marker.get("id")
        messages = session.messages
        call = _call_in(messages[-1], call_id) if messages else None
        if call is None and len(messages) >= 2 and _closes_as_interrupted(messages[-1], call_id):
            call = _call_in(messages[-2], call_id)
            assistant_uuid = marker.get("assistantUuid")
            if call is not None and isinstance(assistant_uuid, str):
                messages.pop()
                session.parent_uuid = assistant_uuid
            else:
                call = None
        await self._record_deferral(None)
        return dict(call) if call is not None else None

    async def record_deferral(self, result: ResultMessage, outcome: ToolOutcome) -> ResultMessage:
        """Keep the deferred call of `outcome` pending in the session and say so in `result`."""
        deferred = outcome.deferred
        assert deferred is not None and self.session is not None
        await self._record_deferral(
            {
                "id": deferred.id,
                "name": deferred.name,
                "input": deferred.input,
                "assistantUuid": self.session.parent_uuid,
            }
        )
        result.deferred_tool_use = deferred
        result.stop_reason = outcome.stop_reason
        result.terminal_reason = outcome.stop_reason
        return result

    async def _record_deferral(self, marker: dict[str, Any] | None) -> None:
        assert self.session is not None
        totals = {key: value for key, value in self.session.totals.items() if key != _DEFERRAL_KEY}
        if marker is not None:
            totals[_DEFERRAL_KEY] = marker
        await self.session.append_entries([make_meta_entry("cost-state", session_id=self.session.session_id, **totals)])
        self.session.totals = totals


def _with_context(prompt: str | list[dict[str, Any]], context: list[str]) -> PreparedPrompt:
    """The prompt with the context hooks added, as text blocks after it."""
    if not context:
        return PreparedPrompt(prompt)
    blocks = [{"type": "text", "text": prompt}] if isinstance(prompt, str) else list(prompt)
    return PreparedPrompt([*blocks, *({"type": "text", "text": text} for text in context)])


def _call_in(message: Mapping[str, Any], call_id: Any) -> dict[str, Any] | None:
    if message.get("role") != "assistant":
        return None
    for block in message.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id") == call_id:
            return block
    return None


def _closes_as_interrupted(message: Mapping[str, Any], call_id: Any) -> bool:
    """Whether `message` is the result a resume wrote for the unanswered call `call_id`."""
    content = message.get("content")
    if message.get("role") != "user" or not isinstance(content, list) or len(content) != 1:
        return False
    block = content[0]
    return (
        isinstance(block, dict)
        and block.get("type") == "tool_result"
        and block.get("tool_use_id") == call_id
        and block.get("content") == INTERRUPTED_TOOL_RESULT
    )
