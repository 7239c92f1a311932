"""Hooks: Python callbacks the agent calls at fixed points of a run, as in the Claude Agent SDK.

```python
async def no_env_files(input_data, tool_use_id, context):
    if input_data["tool_input"].get("file_path", "").endswith(".env"):
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                       "permissionDecision": "deny",
                                       "permissionDecisionReason": "never touch .env files"}}
    return {}

AgentOptions(hooks={"PreToolUse": [HookMatcher(matcher="Write|Edit", hooks=[no_env_files])]})
```

Events: `PreToolUse` (may deny, ask, allow or change the input), `PostToolUse` and
`PostToolUseFailure` (may add context for the model or replace the tool's output),
`UserPromptSubmit` (may block the prompt or add context), `Stop` (may make the agent go on),
`SessionStart` (`source` = startup | resume | fork; may add context) and `PreCompact`.

A matcher selects by tool name for tool events (by `source` for SessionStart, by `trigger` for
PreCompact): None, `""` or `"*"` match everything, otherwise the matcher is a regular expression
that must match the whole name (`"Bash"`, `"Write|Edit"`, `"mcp__github__.*"`). Matching
callbacks run concurrently, each bounded by its matcher's `timeout` (seconds, default 60); a
callback that raises or times out is reported in `HookOutcome.errors` and changes nothing else.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from tether.errors import ConfigurationError

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # TypedDict of 3.10 does not understand NotRequired
    from typing_extensions import NotRequired, TypedDict

__all__ = [
    "AsyncHookJSONOutput",
    "BaseHookInput",
    "DEFAULT_HOOK_TIMEOUT",
    "HookCallback",
    "HookContext",
    "HookEvent",
    "HookInput",
    "HookJSONOutput",
    "HookMatcher",
    "HookOutcome",
    "HookRunner",
    "PostToolUseFailureHookInput",
    "PostToolUseHookInput",
    "PostToolUseHookSpecificOutput",
    "PreCompactHookInput",
    "PreToolUseHookInput",
    "PreToolUseHookSpecificOutput",
    "SessionStartHookInput",
    "SessionStartHookSpecificOutput",
    "StopHookInput",
    "SyncHookJSONOutput",
    "UserPromptSubmitHookInput",
    "UserPromptSubmitHookSpecificOutput",
]

HookEvent = Literal[
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "Stop", "SessionStart", "PreCompact"
]
SUPPORTED_EVENTS: tuple[str, ...] = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SessionStart",
    "PreCompact",
)
UNSUPPORTED_EVENTS: dict[str, str] = {
    "SubagentStart": "tether has no subagents",
    "SubagentStop": "tether has no subagents",
    "Notification": "tether sends no notifications",
    "PermissionRequest": "tether never prompts; decide permissions in can_use_tool",
    "SessionEnd": "not implemented",
}
DEFAULT_HOOK_TIMEOUT = 60.0
"""Seconds a matcher's callbacks may take when `HookMatcher.timeout` is None."""


# --- Inputs -----------------------------------------------------------------------------------------


class BaseHookInput(TypedDict):
    """Fields of every hook input."""

    session_id: str
    transcript_path: str
    cwd: str
    permission_mode: NotRequired[str]


class PreToolUseHookInput(BaseHookInput):
    """Before a tool runs (after its input was validated)."""

    hook_event_name: Literal["PreToolUse"]
    tool_name: str
    tool_input: dict[str, Any]
    tool_use_id: str


class PostToolUseHookInput(BaseHookInput):
    """After a tool ran successfully."""

    hook_event_name: Literal["PostToolUse"]
    tool_name: str
    tool_input: dict[str, Any]
    tool_response: Any
    tool_use_id: str


class PostToolUseFailureHookInput(BaseHookInput):
    """After a tool ran and failed (its result is an error)."""

    hook_event_name: Literal["PostToolUseFailure"]
    tool_name: str
    tool_input: dict[str, Any]
    tool_use_id: str
    error: str
    is_interrupt: NotRequired[bool]


class UserPromptSubmitHookInput(BaseHookInput):
    """A prompt is about to be sent to the model."""

    hook_event_name: Literal["UserPromptSubmit"]
    prompt: str


class StopHookInput(BaseHookInput):
    """The agent is about to finish its answer."""

    hook_event_name: Literal["Stop"]
    stop_hook_active: bool


class SessionStartHookInput(BaseHookInput):
    """A session was opened: started, resumed or forked."""

    hook_event_name: Literal["SessionStart"]
    source: Literal["startup", "resume", "fork", "clear", "compact"]
    model: NotRequired[str]


class PreCompactHookInput(BaseHookInput):
    """The conversation is about to be compacted."""

    hook_event_name: Literal["PreCompact"]
    trigger: Literal["manual", "auto"]
    custom_instructions: str | None


HookInput = (
    PreToolUseHookInput
    | PostToolUseHookInput
    | PostToolUseFailureHookInput
    | UserPromptSubmitHookInput
    | StopHookInput
    | SessionStartHookInput
    | PreCompactHookInput
)


# --- Outputs ----------------------------------------------------------------------------------------


class PreToolUseHookSpecificOutput(TypedDict):
    """PreToolUse: decide the call (`deny` wins over `ask` over `allow`) or change its input."""

    hookEventName: Literal["PreToolUse"]
    permissionDecision: NotRequired[Literal["allow", "deny", "ask"]]
    permissionDecisionReason: NotRequired[str]
    updatedInput: NotRequired[dict[str, Any]]
    additionalContext: NotRequired[str]


class PostToolUseHookSpecificOutput(TypedDict):
    """PostToolUse: add context for the model, or replace what the model sees of the result."""

    hookEventName: Literal["PostToolUse"]
    additionalContext: NotRequired[str]
    updatedToolOutput: NotRequired[Any]
    updatedMCPToolOutput: NotRequired[Any]


class UserPromptSubmitHookSpecificOutput(TypedDict):
    """UserPromptSubmit: context added to the prompt."""

    hookEventName: Literal["UserPromptSubmit"]
    additionalContext: NotRequired[str]


class SessionStartHookSpecificOutput(TypedDict):
    """SessionStart: context added before the first prompt of the run."""

    hookEventName: Literal["SessionStart"]
    additionalContext: NotRequired[str]


class AsyncHookJSONOutput(TypedDict):
    """A hook that does its work in the background and decides nothing."""

    async_: Literal[True]
    asyncTimeout: NotRequired[int]


class SyncHookJSONOutput(TypedDict):
    """What a hook callback returns (every key optional).

    `continue_=False` stops the run (`stopReason` says why); `decision="block"` with `reason`
    blocks a prompt (UserPromptSubmit), keeps the agent going (Stop) or denies a call
    (PreToolUse); `systemMessage` is shown to the user; `hookSpecificOutput` carries the
    event-specific fields.
    """

    continue_: NotRequired[bool]
    suppressOutput: NotRequired[bool]
    stopReason: NotRequired[str]
    decision: NotRequired[Literal["block"]]
    systemMessage: NotRequired[str]
    reason: NotRequired[str]
    hookSpecificOutput: NotRequired[
        PreToolUseHookSpecificOutput
        | PostToolUseHookSpecificOutput
        | UserPromptSubmitHookSpecificOutput
        | SessionStartHookSpecificOutput
    ]


HookJSONOutput = AsyncHookJSONOutput | SyncHookJSONOutput


class HookContext(TypedDict):
    """Passed to every callback; `signal` is reserved (always None), as in the Claude Agent SDK."""

    signal: Any | None


HookCallback = Callable[[Any, "str | None", HookContext], Awaitable[Any]]
"""`async def hook(input_data, tool_use_id, context) -> dict`."""


@dataclass
class HookMatcher:
    """Callbacks for one event, restricted to names that `matcher` matches; `timeout` in seconds."""

    matcher: str | None = None
    hooks: list[HookCallback] = field(default_factory=list)
    timeout: float | None = None


# --- Outcome ----------------------------------------------------------------------------------------

_NO_OUTPUT = object()
PermissionDecisionValue = Literal["allow", "deny", "ask"]
_DECISION_RANK = {"allow": 1, "ask": 2, "deny": 3}


@dataclass
class HookOutcome:
    """All matching callbacks' outputs for one event, merged."""

    continue_: bool = True
    """False when a hook asked to stop the run."""
    stop_reason: str | None = None
    blocked: bool = False
    """True when a hook returned `decision: "block"`."""
    reasons: list[str] = field(default_factory=list)
    """The `reason`s given with blocks."""
    permission_decision: PermissionDecisionValue | None = None
    permission_decision_reason: str | None = None
    updated_input: dict[str, Any] | None = None
    additional_context: list[str] = field(default_factory=list)
    system_messages: list[str] = field(default_factory=list)
    suppress_output: bool = False
    updated_tool_output: Any = _NO_OUTPUT
    errors: list[str] = field(default_factory=list)
    """Callbacks that raised, timed out or returned something unusable (they changed nothing)."""

    @property
    def reason(self) -> str | None:
        """The block reasons as one text (None when there are none)."""
        return "\n".join(self.reasons) if self.reasons else None

    @property
    def context(self) -> str | None:
        """The additional context of all hooks as one text (None when there is none)."""
        return "\n\n".join(self.additional_context) if self.additional_context else None

    @property
    def has_updated_tool_output(self) -> bool:
        """True when a PostToolUse hook replaced the tool's output."""
        return self.updated_tool_output is not _NO_OUTPUT

    def merge(self, event: str, output: Any) -> None:
        """Fold one callback's output into the outcome."""
        if output is None:
            return
        if not isinstance(output, Mapping):
            self.errors.append(f"a {event} hook returned {type(output).__name__}, not a dict; it was ignored")
            return
        if output.get("async_") or output.get("async"):
            return
        if output.get("continue_", output.get("continue", True)) is False:
            self.continue_ = False
            self.stop_reason = output.get("stopReason") or self.stop_reason
        if output.get("suppressOutput"):
            self.suppress_output = True
        if output.get("systemMessage"):
            self.system_messages.append(str(output["systemMessage"]))
        decision = output.get("decision")
        if decision == "block":
            self.blocked = True
            if output.get("reason"):
                self.reasons.append(str(output["reason"]))
            if event == "PreToolUse":
                self._decide("deny", output.get("reason"))
        elif decision == "approve" and event == "PreToolUse":
            self._decide("allow", output.get("reason"))
        specific = output.get("hookSpecificOutput")
        if isinstance(specific, Mapping):
            self._merge_specific(event, specific)

    def _merge_specific(self, event: str, specific: Mapping[str, Any]) -> None:
        named = specific.get("hookEventName")
        if named is not None and named != event:
            self.errors.append(f"a {event} hook returned hookSpecificOutput for {named}; it was ignored")
            return
        if specific.get("additionalContext"):
            self.additional_context.append(str(specific["additionalContext"]))
        if event == "PreToolUse":
            decision = specific.get("permissionDecision")
            if decision in _DECISION_RANK:
                self._decide(decision, specific.get("permissionDecisionReason"))
            elif decision is not None:
                self.errors.append(f"a PreToolUse hook returned an unknown permissionDecision {decision!r}")
            updated = specific.get("updatedInput")
            if isinstance(updated, Mapping):
                self.updated_input = dict(updated)
        if event in ("PostToolUse", "PostToolUseFailure"):
            for key in ("updatedToolOutput", "updatedMCPToolOutput"):
                if key in specific:
                    self.updated_tool_output = specific[key]

    def _decide(self, decision: PermissionDecisionValue, reason: Any) -> None:
        current = _DECISION_RANK.get(self.permission_decision or "", 0)
        if _DECISION_RANK[decision] >= current:
            if _DECISION_RANK[decision] > current or self.permission_decision_reason is None:
                self.permission_decision_reason = str(reason) if reason else None
            self.permission_decision = decision


# --- Runner -----------------------------------------------------------------------------------------


def _matches(matcher: str | None, value: str | None) -> bool:
    if matcher is None or matcher in ("", "*"):
        return True
    if value is None:
        return False
    try:
        return re.fullmatch(matcher, value) is not None
    except re.error:
        return matcher == value


def _check_matchers(hooks: Mapping[str, Any] | None) -> dict[str, list[HookMatcher]]:
    checked: dict[str, list[HookMatcher]] = {}
    for event, matchers in (hooks or {}).items():
        if event in UNSUPPORTED_EVENTS:
            raise ConfigurationError(f"hooks: the {event} event is not supported ({UNSUPPORTED_EVENTS[event]})")
        if event not in SUPPORTED_EVENTS:
            raise ConfigurationError(f"hooks: unknown event {event!r}; the events are {', '.join(SUPPORTED_EVENTS)}")
        if not isinstance(matchers, (list, tuple)):
            raise ConfigurationError(f"hooks[{event!r}] must be a list of HookMatcher")
        checked[event] = []
        for matcher in matchers:
            if isinstance(matcher, Mapping):
                matcher = HookMatcher(matcher.get("matcher"), list(matcher.get("hooks", [])), matcher.get("timeout"))
            if not isinstance(matcher, HookMatcher):
                raise ConfigurationError(f"hooks[{event!r}] must hold HookMatcher objects, not {matcher!r}")
            if not all(callable(callback) for callback in matcher.hooks):
                raise ConfigurationError(f"hooks[{event!r}]: every entry of HookMatcher.hooks must be callable")
            checked[event].append(matcher)
    return checked


class HookRunner:
    """Calls the hooks of one session. Built from `AgentOptions.hooks`; invalid config raises
    `ConfigurationError` (unknown or unsupported events, matchers that are not `HookMatcher`)."""

    def __init__(
        self,
        hooks: Mapping[str, Any] | None,
        *,
        session_id: str,
        cwd: str,
        transcript_path: str = "",
        permission_mode: Callable[[], str] | str = "default",
    ) -> None:
        self.matchers = _check_matchers(hooks)
        self.session_id = session_id
        self.cwd = cwd
        self.transcript_path = transcript_path
        self._permission_mode = permission_mode

    def has(self, event: str) -> bool:
        """Whether any hook is registered for `event`."""
        return bool(self.matchers.get(event))

    def base_input(self, event: str) -> dict[str, Any]:
        """The fields every input of `event` carries."""
        mode = self._permission_mode() if callable(self._permission_mode) else self._permission_mode
        return {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": self.cwd,
            "permission_mode": mode,
            "hook_event_name": event,
        }

    async def run(
        self, event: str, fields: Mapping[str, Any], *, match: str | None = None, tool_use_id: str | None = None
    ) -> HookOutcome:
        """Run the callbacks of `event` whose matcher matches `match`, and merge their outputs."""
        outcome = HookOutcome()
        selected = [m for m in self.matchers.get(event, []) if _matches(m.matcher, match)]
        if not selected:
            return outcome
        input_data = {**self.base_input(event), **fields}
        calls = [(callback, m.timeout or DEFAULT_HOOK_TIMEOUT) for m in selected for callback in m.hooks]
        results: list[Any] = [_NO_OUTPUT] * len(calls)

        async def call(index: int, callback: HookCallback, seconds: float) -> None:
            name = getattr(callback, "__name__", repr(callback))
            try:
                with anyio.fail_after(seconds):
                    result = callback(dict(input_data), tool_use_id, HookContext(signal=None))
                    if inspect.isawaitable(result):
                        result = await result
                results[index] = result
            except TimeoutError:
                outcome.errors.append(f"the {event} hook {name} timed out after {seconds:g}s")
            except Exception as error:  # a broken hook is reported, it does not end the run
                outcome.errors.append(f"the {event} hook {name} raised {type(error).__name__}: {error}")

        async with anyio.create_task_group() as group:
            for index, (callback, seconds) in enumerate(calls):
                group.start_soon(call, index, callback, seconds)
        for result in results:
            if result is not _NO_OUTPUT:
                outcome.merge(event, result)
        return outcome

    async def pre_tool_use(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str) -> HookOutcome:
        """PreToolUse for one call."""
        fields = {"tool_name": tool_name, "tool_input": tool_input, "tool_use_id": tool_use_id}
        return await self.run("PreToolUse", fields, match=tool_name, tool_use_id=tool_use_id)

    async def post_tool_use(
        self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str, tool_response: Any
    ) -> HookOutcome:
        """PostToolUse for one successful call."""
        fields = {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_response": tool_response,
            "tool_use_id": tool_use_id,
        }
        return await self.run("PostToolUse", fields, match=tool_name, tool_use_id=tool_use_id)

    async def post_tool_use_failure(
        self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str, error: str
    ) -> HookOutcome:
        """PostToolUseFailure for one failed call."""
        fields = {"tool_name": tool_name, "tool_input": tool_input, "tool_use_id": tool_use_id, "error": error}
        return await self.run("PostToolUseFailure", fields, match=tool_name, tool_use_id=tool_use_id)

    async def user_prompt_submit(self, prompt: str) -> HookOutcome:
        """UserPromptSubmit for a prompt (its text)."""
        return await self.run("UserPromptSubmit", {"prompt": prompt})

    async def stop(self, stop_hook_active: bool) -> HookOutcome:
        """Stop, when the agent is about to finish (`stop_hook_active`: a Stop hook already made it go on)."""
        return await self.run("Stop", {"stop_hook_active": stop_hook_active})

    async def session_start(self, source: str, model: str | None = None) -> HookOutcome:
        """SessionStart with `source` startup, resume or fork."""
        fields: dict[str, Any] = {"source": source}
        if model is not None:
            fields["model"] = model
        return await self.run("SessionStart", fields, match=source)

    async def pre_compact(self, trigger: str, custom_instructions: str | None = None) -> HookOutcome:
        """PreCompact before the conversation is compacted."""
        fields = {"trigger": trigger, "custom_instructions": custom_instructions}
        return await self.run("PreCompact", fields, match=trigger)
