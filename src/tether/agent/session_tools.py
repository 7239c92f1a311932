"""The tools, permission policy and hooks of one open session.

`SessionTools` gathers, for one open session, the tools (`tools=` picks the built-in ones, plus
every tool of `mcp_servers`), the permission policy and the hooks, and runs the prompt-level hook
points: SessionStart (once, with source startup / resume / fork), UserPromptSubmit and Stop. It
keeps a call a PreToolUse hook deferred for the session's next run (`tether.agent.tool_runner`
says how deferral works) and makes the `ToolRunner` of each prompt.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether._vocabulary.permissions import (
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    PermissionUpdate,
    ToolPermissionContext,
)
from tether.agent.checkpoints import FileCheckpoints
from tether.agent.hooks import HookRunner, SubagentContext
from tether.agent.permissions import PermissionPolicy
from tether.agent.prompt_tool import PermissionPromptTool, prompt_tool_of
from tether.agent.tool_runner import DEFERRAL_KEY, ToolOutcome, ToolRunner, text_of, transcript_path_of
from tether.errors import ConfigurationError
from tether.messages import HookEventMessage, ResultMessage
from tether.options import AgentOptions
from tether.sessions.entries import make_meta_entry, new_uuid
from tether.sessions.session import INTERRUPTED_TOOL_RESULT, Session
from tether.tools.base import Tool
from tether.tools.mcp import McpServers
from tether.tools.registry import builtin_tools

__all__ = ["PreparedPrompt", "SessionTools"]


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
        checkpointing = options.enable_file_checkpointing or options.workspace_snapshots
        if checkpointing and session is not None and subagent is None:
            opened.checkpoints = FileCheckpoints(session, options)
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
            submitted = await self.hooks.user_prompt_submit(text_of(prompt) if isinstance(prompt, list) else prompt)
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
        return text_of(messages[-1].get("content") or [])

    # -- deferred calls --

    async def reopen_deferred(self) -> dict[str, Any] | None:
        """The `tool_use` block a PreToolUse hook deferred in the session's last run, to run now.

        On a resume the session was loaded with the call closed as interrupted; that closing
        result is set aside (the next entries hang from the assistant message again) so the call
        gets its real result. The deferral is cleared first: a crash while it runs does not run it
        twice.
        """
        session = self.session
        marker = session.totals.get(DEFERRAL_KEY) if session is not None else None
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
        totals = {key: value for key, value in self.session.totals.items() if key != DEFERRAL_KEY}
        if marker is not None:
            totals[DEFERRAL_KEY] = marker
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
