"""Running the tool calls of one model response, and the tools, permissions and hooks of a session.

Every call goes through the same steps, and none of them raises for a bad call:

1. the tool must exist and its input must match its JSON schema;
2. PreToolUse hooks (may deny, ask, allow, change the input, or stop the run);
3. the permission policy (rules, mode, working directories, `can_use_tool`);
4. the tool itself;
5. PostToolUse (or PostToolUseFailure) hooks (may add context or replace the output).

A refusal becomes an `is_error` tool result that tells the model why, plus an entry for
`ResultMessage.permission_denials`; a refusal with `interrupt=True`, or a hook that says
`continue: false`, ends the run after this response's calls.

`SessionTools` gathers, for one open session, the tools (`tools=` picks the built-in ones, plus
every tool of `mcp_servers`), the permission policy and the hooks, and runs the prompt-level hook
points: SessionStart (once, with source startup / resume / fork), UserPromptSubmit and Stop.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.agent.hooks import HookOutcome, HookRunner
from tether.agent.permissions import PermissionPolicy, tool_is_read_only
from tether.errors import ConfigurationError
from tether.options import AgentOptions
from tether.tools.base import Tool, ToolContext, ToolResult
from tether.tools.mcp import McpServers
from tether.tools.registry import builtin_tools
from tether.tools.validation import input_problem

__all__ = ["PreparedPrompt", "SessionTools", "ToolOutcome", "ToolRunner"]


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
    """Why the run stops, when `interrupt` is set."""


@dataclass
class ToolRunner:
    """Runs tool calls against the tools of a session.

    Without a `policy` every call is allowed; without `hooks` no hook runs.
    """

    tools: dict[str, Tool]
    cwd: Path
    session_id: str
    session_state: dict[str, Any] = field(default_factory=dict)
    policy: PermissionPolicy | None = None
    hooks: HookRunner | None = None

    async def run(self, call: dict[str, Any]) -> ToolOutcome:
        """Run one `tool_use` block; never raises for a bad call or a tool's own failure."""
        tool_use_id = str(call.get("id"))
        name = str(call.get("name"))
        tool_input = call.get("input")
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return _error(tool_use_id, f"No such tool available: {name}. Available tools: {known}")
        problem = input_problem(tool.input_schema, tool_input)
        if problem:
            return _error(tool_use_id, f"InputValidationError: {name} was called with invalid input: {problem}")
        assert isinstance(tool_input, dict)

        notes: list[str] = []
        hook_decision: str | None = None
        hook_reason: str | None = None
        if self.hooks is not None and self.hooks.has("PreToolUse"):
            pre = await self.hooks.pre_tool_use(name, tool_input, tool_use_id)
            if not pre.continue_:
                reason = pre.stop_reason or "a PreToolUse hook stopped the run"
                return _stopped(_error(tool_use_id, f"{name} was not run: {reason}"), reason)
            if pre.updated_input is not None:
                problem = input_problem(tool.input_schema, pre.updated_input)
                if problem:
                    message = f"InputValidationError: a PreToolUse hook gave {name} an invalid input: {problem}"
                    return _error(tool_use_id, message)
                tool_input = pre.updated_input
            hook_decision, hook_reason = pre.permission_decision, pre.permission_decision_reason
            notes.extend(pre.additional_context)

        if self.policy is not None:
            decision = await self.policy.decide(
                name,
                tool_input,
                tool_use_id=tool_use_id,
                read_only=tool_is_read_only(tool),
                hook_decision=hook_decision,
                hook_reason=hook_reason,
            )
            if not decision.allowed:
                outcome = _error(tool_use_id, decision.message)
                outcome.denial = decision.denial_record(name, tool_use_id)
                if decision.interrupt:
                    return _stopped(outcome, f"permission to use {name} was denied: {decision.message}")
                return outcome
            tool_input = decision.tool_input
        elif hook_decision == "deny":
            outcome = _error(tool_use_id, f"Permission to use {name} was denied: {hook_reason or 'by a hook'}")
            outcome.denial = {"tool_name": name, "tool_use_id": tool_use_id, "tool_input": tool_input}
            return outcome

        context = ToolContext(
            cwd=self.cwd, session_id=self.session_id, tool_use_id=tool_use_id, session_state=self.session_state
        )
        try:
            result = await tool.call(tool_input, context)
        except Exception as error:  # a tool's failure is the model's information, not the loop's end
            result = ToolResult(f"{type(error).__name__}: {error}", is_error=True)
        return await self._after(name, tool_input, tool_use_id, result, notes)

    async def _after(
        self, name: str, tool_input: dict[str, Any], tool_use_id: str, result: ToolResult, notes: list[str]
    ) -> ToolOutcome:
        structured = result.structured if result.structured is not None else result.content
        stop_reason: str | None = None
        if self.hooks is not None:
            post: HookOutcome | None = None
            if result.is_error and self.hooks.has("PostToolUseFailure"):
                post = await self.hooks.post_tool_use_failure(name, tool_input, tool_use_id, _text_of(result.content))
            elif not result.is_error and self.hooks.has("PostToolUse"):
                post = await self.hooks.post_tool_use(name, tool_input, tool_use_id, structured)
            if post is not None:
                if post.has_updated_tool_output:
                    result = ToolResult(_as_content(post.updated_tool_output), result.is_error, result.structured)
                notes.extend(post.additional_context)
                if post.blocked and post.reason:
                    notes.append(post.reason)
                if not post.continue_:
                    stop_reason = (
                        post.stop_reason
                        or f"a {'PostToolUseFailure' if result.is_error else 'PostToolUse'} hook stopped the run"
                    )
        content = _with_notes(result.content, notes)
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
        if result.is_error:
            block["is_error"] = True
        outcome = ToolOutcome(result=block, tool_use_result=structured)
        return _stopped(outcome, stop_reason) if stop_reason else outcome


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


# --- The tools of a session ---------------------------------------------------------------------


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
    ) -> None:
        self.options = options
        self.tools = tools
        self.mcp_status = mcp_status
        self.policy = policy
        self.hooks = hooks
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
    ) -> SessionTools:
        """Build the tools and connect the MCP servers; `exit_stack` closes them with the agent."""

        def remember_mode(mode: str) -> None:
            options.permission_mode = mode  # type: ignore[assignment]

        policy = PermissionPolicy(
            cwd=cwd,
            allowed_tools=options.allowed_tools,
            disallowed_tools=options.disallowed_tools,
            mode=options.permission_mode,
            can_use_tool=options.can_use_tool,
            add_dirs=options.add_dirs,
            on_mode_change=remember_mode,
        )
        hooks = HookRunner(options.hooks, session_id=session_id, cwd=cwd, permission_mode=lambda: policy.mode)
        tools: dict[str, Tool] = {tool.name: tool for tool in builtin_tools(options.tools, env=options.env)}
        servers = await exit_stack.enter_async_context(McpServers(options.mcp_servers, cwd=cwd, env=options.env))
        for tool in servers.tools:
            if tool.name in tools:
                raise ConfigurationError(f"two tools are named {tool.name!r}; rename an MCP server")
            tools[tool.name] = tool
        return cls(options, tools, servers.status, policy, hooks, session_source, model_name)

    def runner(self, cwd: Path, session_id: str, session_state: dict[str, Any]) -> ToolRunner:
        """A runner for the calls of one prompt."""
        return ToolRunner(self.tools, cwd, session_id, session_state, policy=self.policy, hooks=self.hooks)

    async def prepare_prompt(self, prompt: str | list[dict[str, Any]]) -> PreparedPrompt:
        """Sync the permission mode, run SessionStart (first prompt only) and UserPromptSubmit."""
        self.policy.mode = self.options.permission_mode or "default"
        context: list[str] = []
        if not self._session_started:
            self._session_started = True
            if self.hooks.has("SessionStart"):
                start = await self.hooks.session_start(self._session_source, self._model_name)
                if not start.continue_:
                    return PreparedPrompt(prompt, start.stop_reason or "a SessionStart hook stopped the run")
                context.extend(start.additional_context)
        if self.hooks.has("UserPromptSubmit"):
            submitted = await self.hooks.user_prompt_submit(_text_of(prompt) if isinstance(prompt, list) else prompt)
            if submitted.blocked:
                return PreparedPrompt(
                    prompt, f"the prompt was blocked by a hook: {submitted.reason or 'no reason given'}"
                )
            if not submitted.continue_:
                return PreparedPrompt(prompt, submitted.stop_reason or "a UserPromptSubmit hook stopped the run")
            context.extend(submitted.additional_context)
        if not context:
            return PreparedPrompt(prompt)
        blocks = [{"type": "text", "text": prompt}] if isinstance(prompt, str) else list(prompt)
        return PreparedPrompt([*blocks, *({"type": "text", "text": text} for text in context)])

    async def stop_feedback(self, stop_hook_active: bool) -> str | None:
        """Run the Stop hooks; the reason to give the model when one blocks the stop, else None."""
        if not self.hooks.has("Stop"):
            return None
        outcome = await self.hooks.stop(stop_hook_active)
        if outcome.blocked and outcome.continue_:
            return outcome.reason or "A Stop hook asked you to continue."
        return None
