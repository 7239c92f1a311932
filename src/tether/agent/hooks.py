"""The hook runner: Python callbacks the agent calls at fixed points of a run, as in the Claude
Agent SDK (their types are in `tether._vocabulary.hooks`).

```python
async def no_env_files(input_data, tool_use_id, context):
    if input_data["tool_input"].get("file_path", "").endswith(".env"):
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                       "permissionDecision": "deny",
                                       "permissionDecisionReason": "never touch .env files"}}
    return {}

AgentOptions(hooks={"PreToolUse": [HookMatcher(matcher="Write|Edit", hooks=[no_env_files])]})
```

The events tether fires are `FIRED_EVENTS`:

- `PreToolUse` (may deny, defer, ask, allow or change the input; `deny` > `defer` > `ask` >
  `allow` when several hooks answer), `PostToolUse` and `PostToolUseFailure` (may add context
  for the model or replace the tool's output);
- `PermissionRequest`, when a call is not decided by rules and modes and tether would ask
  `can_use_tool` (a hook's `decision` of `allow` or `deny` answers instead of asking);
- `Notification` (`notification_type="permission_prompt"`) just before `can_use_tool` is asked;
- `UserPromptSubmit` (may block the prompt or add context), `Stop` (may make the agent go on),
  and tether's `SessionStart` (`source` = startup | resume | fork; may add context);
- `PreCompact` before the session is compacted (matched by `trigger`, `auto` or `manual`):
  `decision: "block"` or `continue_: False` vetoes the compaction, and `additionalContext` in
  `hookSpecificOutput` is added to the instructions for the summary (see `tether.agent.compaction`);
- `SubagentStart` when a subagent of `AgentOptions.agents` starts (matched by its agent type; its
  `additionalContext` is added to the subagent's prompt, `continue_: False` keeps it from running)
  and `SubagentStop` when it is about to finish (`decision: "block"` or `additionalContext` makes
  it go on with that feedback). Inside a subagent, PreToolUse, PostToolUse, PostToolUseFailure and
  PermissionRequest inputs carry its `agent_id` and `agent_type`; Stop, SessionStart and
  UserPromptSubmit fire for the main agent only, as in Claude Code.

The events of `UNFIRED_EVENTS` (Claude Code's other events) raise `UnsupportedOptionError`
naming the event when the run starts; any other name is a `ConfigurationError`.

A matcher selects by tool name for tool events (by `source` for SessionStart, by
`notification_type` for Notification, by `trigger` for PreCompact): None, `""` or `"*"` match
everything, otherwise the matcher is a regular expression that must match the whole name
(`"Bash"`, `"Write|Edit"`, `"mcp__github__.*"`). Matching callbacks run concurrently, each
bounded by its matcher's `timeout` (seconds, default 60). A callback that raises, times out or returns what tether
cannot use (a non-dict, `permissionDecision: "Deny"`, ...) is reported in `HookOutcome.errors`
and counts as no decision; with `HookMatcher(on_failure="block")` it blocks instead (a
PreToolUse or PermissionRequest failure denies the call, a UserPromptSubmit failure blocks the
prompt, a PostToolUse failure is told to the model), and returning None is a failure too, so a
callback with no opinion returns `{}`. Stop hooks ignore `on_failure`.

Hook inputs carry the SDK's common fields: `session_id`, `cwd`, `permission_mode`,
`hook_event_name`, `prompt_id` (an id per prompt, from UserPromptSubmit on) and `effort` (when
`AgentOptions.effort` is set). `transcript_path` is the session's JSONL file when the session
lives in a `JsonlStore`; other stores keep no file, so it is `""` (read the transcript with
`get_session_messages(input["session_id"])`).
"""

import copy
import inspect
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from tether._vocabulary.hooks import HookCallback, HookContext, HookEvent, HookMatcher
from tether.agent.hook_outcome import HookOutcome, output_problem
from tether.errors import ConfigurationError, UnsupportedOptionError
from tether.sessions.entries import new_uuid

__all__ = [
    "DEFAULT_HOOK_TIMEOUT",
    "FIRED_EVENTS",
    "ON_FAILURE_IGNORED",
    "SUBAGENT_CONTEXT_EVENTS",
    "UNFIRED_EVENTS",
    "HookRunner",
    "SubagentContext",
    "check_hooks",
]

# --- The vocabulary of events ---------------------------------------------------------------------

FIRED_EVENTS: tuple[str, ...] = (
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionRequest",
    "Notification",
    "UserPromptSubmit",
    "Stop",
    "SessionStart",
    "PreCompact",
    "SubagentStart",
    "SubagentStop",
)
"""The events tether fires. Registering any other event fails when the run starts."""

_NOT_FIRED = "a Claude Code event that tether does not fire"
UNFIRED_EVENTS: dict[str, str] = {
    name: _NOT_FIRED
    for name in (
        "SessionEnd",
        "Setup",
        "PostCompact",
        "UserPromptExpansion",
        "PostToolBatch",
        "PermissionDenied",
        "PreModelSwitch",
        "PostModelSwitch",
        "Elicitation",
        "ElicitationResult",
        "CwdChanged",
        "FileChanged",
        "WorktreeCreate",
        "MessageDisplay",
        "TaskCompleted",
        "TeammateIdle",
    )
}
"""Hook events tether knows but does not fire, with the reason given in the error."""

ON_FAILURE_IGNORED: frozenset[str] = frozenset({"Stop", "SubagentStop"})
"""Events whose failures never block, whatever `HookMatcher.on_failure` says (as in the SDK)."""

SUBAGENT_CONTEXT_EVENTS: frozenset[str] = frozenset(
    {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"}
)
"""Events whose input says which subagent fired them (`agent_id`, `agent_type`), as in the SDK."""

DEFAULT_HOOK_TIMEOUT = 60.0
"""Seconds a matcher's callbacks may take when `HookMatcher.timeout` is None."""


def _as_matcher(event: str, value: Any) -> HookMatcher:
    if isinstance(value, Mapping):
        value = HookMatcher(
            value.get("matcher"), list(value.get("hooks", [])), value.get("timeout"), value.get("on_failure")
        )
    if not isinstance(value, HookMatcher):
        raise ConfigurationError(f"hooks[{event!r}] must hold HookMatcher objects, not {value!r}")
    if not all(callable(callback) for callback in value.hooks):
        raise ConfigurationError(f"hooks[{event!r}]: every entry of HookMatcher.hooks must be callable")
    if value.on_failure not in (None, "continue", "block"):
        raise ConfigurationError(
            f"hooks[{event!r}]: on_failure must be 'continue' or 'block', not {value.on_failure!r}"
        )
    if value.timeout is not None and not value.timeout > 0:
        raise ConfigurationError(f"hooks[{event!r}]: timeout must be a positive number of seconds")
    return value


def check_hooks(hooks: Mapping[HookEvent, Sequence[HookMatcher]] | None) -> dict[str, list[HookMatcher]]:
    """Validate `AgentOptions.hooks`: `UnsupportedOptionError` for an event tether does not fire,
    `ConfigurationError` for an unknown event or a malformed matcher."""
    checked: dict[str, list[HookMatcher]] = {}
    for event, matchers in (hooks or {}).items():
        if event in UNFIRED_EVENTS:
            raise UnsupportedOptionError(
                f"hooks[{event!r}]", f"the {event} event is not fired: {UNFIRED_EVENTS[event]}"
            )
        if event not in FIRED_EVENTS:
            raise ConfigurationError(f"hooks: unknown event {event!r}; the events are {', '.join(FIRED_EVENTS)}")
        if not isinstance(matchers, (list, tuple)):
            raise ConfigurationError(f"hooks[{event!r}] must be a list of HookMatcher")
        checked[event] = [_as_matcher(event, matcher) for matcher in matchers]
    return checked


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


@dataclass
class _Call:
    """One callback to run for one event."""

    callback: HookCallback
    matcher: HookMatcher

    @property
    def name(self) -> str:
        return str(getattr(self.callback, "__name__", None) or repr(self.callback))

    @property
    def seconds(self) -> float:
        return self.matcher.timeout or DEFAULT_HOOK_TIMEOUT

    @property
    def blocks_on_failure(self) -> bool:
        return self.matcher.on_failure == "block"


@dataclass
class _Answer:
    """What one callback gave: its output, or why it failed."""

    output: Any = None
    failure: str | None = None


def _output_text(output: Any) -> str:
    if output is None:
        return ""
    try:
        return json.dumps(output, default=str)
    except (TypeError, ValueError):
        return repr(output)


@dataclass(frozen=True)
class SubagentContext:
    """Who a subagent is, as its hook inputs say (`agent_id`, `agent_type`, `agent_transcript_path`)."""

    agent_id: str
    agent_type: str
    transcript_path: str = ""


class HookRunner:
    """Calls the hooks of one session, or of one subagent (`subagent`). Built from
    `AgentOptions.hooks` (checked by `check_hooks`).

    With `include_events`, every callback it runs is recorded as a `hook_started` and a
    `hook_response` event (`take_events()`); SessionStart callbacks always are, as in the SDK.
    """

    def __init__(
        self,
        hooks: Mapping[HookEvent, Sequence[HookMatcher]] | None,
        *,
        session_id: str,
        cwd: str,
        transcript_path: str = "",
        permission_mode: Callable[[], str] | str = "default",
        effort: Callable[[], str | None] | str | None = None,
        include_events: bool = False,
        subagent: SubagentContext | None = None,
    ) -> None:
        self.matchers = check_hooks(hooks)
        self.session_id = session_id
        self.cwd = cwd
        self.transcript_path = transcript_path
        self.subagent = subagent
        """The subagent whose hooks these are (None for the main agent)."""
        self.prompt_id: str | None = None
        """The id of the prompt being processed (set by the agent from UserPromptSubmit on)."""
        self.include_events = include_events
        self._permission_mode = permission_mode
        self._effort = effort
        self._events: list[dict[str, Any]] = []

    def has(self, event: str) -> bool:
        """Whether any hook is registered for `event`."""
        return bool(self.matchers.get(event))

    def base_input(self, event: str) -> dict[str, Any]:
        """The fields every input of `event` carries."""
        mode = self._permission_mode() if callable(self._permission_mode) else self._permission_mode
        data: dict[str, Any] = {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": self.cwd,
            "permission_mode": mode,
            "hook_event_name": event,
        }
        if self.prompt_id is not None:
            data["prompt_id"] = self.prompt_id
        effort = self._effort() if callable(self._effort) else self._effort
        if effort is not None:
            data["effort"] = {"level": effort}
        if self.subagent is not None and event in SUBAGENT_CONTEXT_EVENTS:
            data["agent_id"] = self.subagent.agent_id
            data["agent_type"] = self.subagent.agent_type
        return data

    def take_events(self) -> list[dict[str, Any]]:
        """The hook events recorded since the last call (`hook_started` / `hook_response` data)."""
        events, self._events = self._events, []
        return events

    async def run(
        self, event: str, fields: Mapping[str, Any], *, match: str | None = None, tool_use_id: str | None = None
    ) -> HookOutcome:
        """Run the callbacks of `event` whose matcher matches `match`, and merge their outputs."""
        outcome = HookOutcome()
        calls = [
            _Call(callback, m)
            for m in self.matchers.get(event, [])
            if _matches(m.matcher, match)
            for callback in m.hooks
        ]
        if not calls:
            return outcome
        input_data = {**self.base_input(event), **fields}
        answers = [_Answer() for _ in calls]
        hook_name = f"{event}:{match}" if match else event

        async def call(index: int) -> None:
            answers[index] = await self._call(calls[index], event, hook_name, input_data, tool_use_id)

        async with anyio.create_task_group() as group:
            for index in range(len(calls)):
                group.start_soon(call, index)
        for one_call, answer in zip(calls, answers, strict=True):
            self._fold(outcome, event, one_call, answer)
        return outcome

    async def _call(
        self, call: _Call, event: str, hook_name: str, input_data: dict[str, Any], tool_use_id: str | None
    ) -> _Answer:
        record = self.include_events or event == "SessionStart"
        hook_id = new_uuid()
        if record:
            self._record("hook_started", hook_id, hook_name, event)
        try:
            with anyio.fail_after(call.seconds):
                callback: Callable[..., Any] = call.callback  # sync callbacks are accepted too
                output = callback(copy.deepcopy(input_data), tool_use_id, HookContext(signal=None))
                if inspect.isawaitable(output):
                    output = await output
        except anyio.get_cancelled_exc_class():
            if record:
                self._record("hook_response", hook_id, hook_name, event, outcome="cancelled")
            raise
        except TimeoutError:
            answer = _Answer(failure=f"the {event} hook {call.name} timed out after {call.seconds:g}s")
        except Exception as error:  # a broken hook is reported; on_failure says whether it blocks
            answer = _Answer(failure=f"the {event} hook {call.name} raised {type(error).__name__}: {error}")
        else:
            answer = _Answer(output=output)
        if record:
            self._record(
                "hook_response",
                hook_id,
                hook_name,
                event,
                output=_output_text(answer.output),
                stderr=answer.failure or "",
                outcome="error" if answer.failure else "success",
            )
        return answer

    def _record(self, subtype: str, hook_id: str, hook_name: str, event: str, **fields: Any) -> None:
        data: dict[str, Any] = {
            "type": "system",
            "subtype": subtype,
            "hook_id": hook_id,
            "hook_name": hook_name,
            "hook_event": event,
            "uuid": new_uuid(),
            "session_id": self.session_id,
        }
        if subtype == "hook_response":
            data.update({"output": "", "stdout": "", "stderr": "", **fields})
        self._events.append(data)

    def _fold(self, outcome: HookOutcome, event: str, call: _Call, answer: _Answer) -> None:
        failure = answer.failure
        if failure is None and answer.output is None and call.blocks_on_failure:
            failure = f"the {event} hook {call.name} returned None (return {{}} for no decision)"
        if failure is None and answer.output is not None:
            problem = output_problem(event, answer.output)
            if problem is None:
                outcome.merge(event, answer.output)
                return
            failure = f"the {event} hook {call.name} gave an unusable output: {problem}"
        if failure is None:
            return
        outcome.errors.append(failure)
        if call.blocks_on_failure and event not in ON_FAILURE_IGNORED:
            outcome.block(event, failure)

    # -- the events tether fires --

    async def pre_tool_use(self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str) -> HookOutcome:
        """PreToolUse for one call."""
        fields = {"tool_name": tool_name, "tool_input": tool_input, "tool_use_id": tool_use_id}
        return await self.run("PreToolUse", fields, match=tool_name, tool_use_id=tool_use_id)

    async def post_tool_use(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        tool_use_id: str,
        tool_response: Any,
        *,
        duration_ms: int | None = None,
    ) -> HookOutcome:
        """PostToolUse for one successful call."""
        fields: dict[str, Any] = {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_response": tool_response,
            "tool_use_id": tool_use_id,
        }
        if duration_ms is not None:
            fields["duration_ms"] = duration_ms
        return await self.run("PostToolUse", fields, match=tool_name, tool_use_id=tool_use_id)

    async def post_tool_use_failure(
        self,
        tool_name: str,
        tool_input: dict[str, Any],
        tool_use_id: str,
        error: str,
        *,
        duration_ms: int | None = None,
    ) -> HookOutcome:
        """PostToolUseFailure for one failed call (`is_interrupt` is False: tether finishes a call it starts)."""
        fields: dict[str, Any] = {
            "tool_name": tool_name,
            "tool_input": tool_input,
            "tool_use_id": tool_use_id,
            "error": error,
            "is_interrupt": False,
        }
        if duration_ms is not None:
            fields["duration_ms"] = duration_ms
        return await self.run("PostToolUseFailure", fields, match=tool_name, tool_use_id=tool_use_id)

    async def permission_request(
        self, tool_name: str, tool_input: dict[str, Any], tool_use_id: str | None, suggestions: list[dict[str, Any]]
    ) -> HookOutcome:
        """PermissionRequest for a call that tether would ask `can_use_tool` about."""
        fields = {"tool_name": tool_name, "tool_input": tool_input, "permission_suggestions": suggestions}
        return await self.run("PermissionRequest", fields, match=tool_name, tool_use_id=tool_use_id)

    async def notification(
        self, message: str, notification_type: str, *, title: str | None = None, tool_use_id: str | None = None
    ) -> HookOutcome:
        """Notification (matched by `notification_type`)."""
        fields: dict[str, Any] = {"message": message, "notification_type": notification_type}
        if title is not None:
            fields["title"] = title
        return await self.run("Notification", fields, match=notification_type, tool_use_id=tool_use_id)

    async def user_prompt_submit(self, prompt: str) -> HookOutcome:
        """UserPromptSubmit for a prompt (its text)."""
        return await self.run("UserPromptSubmit", {"prompt": prompt})

    async def stop(self, stop_hook_active: bool, last_assistant_message: str | None = None) -> HookOutcome:
        """Stop, when the agent is about to finish (`stop_hook_active`: a Stop hook already made it go on)."""
        fields: dict[str, Any] = {"stop_hook_active": stop_hook_active, "background_tasks": [], "session_crons": []}
        if last_assistant_message is not None:
            fields["last_assistant_message"] = last_assistant_message
        return await self.run("Stop", fields)

    async def pre_compact(self, trigger: str, custom_instructions: str | None) -> HookOutcome:
        """PreCompact before a compaction (matched by `trigger`, `auto` or `manual`)."""
        fields = {"trigger": trigger, "custom_instructions": custom_instructions}
        return await self.run("PreCompact", fields, match=trigger)

    async def session_start(self, source: str, model: str | None = None) -> HookOutcome:
        """SessionStart with `source` startup, resume or fork."""
        fields: dict[str, Any] = {"source": source}
        if model is not None:
            fields["model"] = model
        return await self.run("SessionStart", fields, match=source)

    async def subagent_start(self) -> HookOutcome:
        """SubagentStart for this runner's subagent (matched by its agent type)."""
        assert self.subagent is not None
        fields = {"agent_id": self.subagent.agent_id, "agent_type": self.subagent.agent_type}
        return await self.run("SubagentStart", fields, match=self.subagent.agent_type)

    async def subagent_stop(self, stop_hook_active: bool, last_assistant_message: str | None = None) -> HookOutcome:
        """SubagentStop, when this runner's subagent is about to finish (matched by its agent type)."""
        assert self.subagent is not None
        fields: dict[str, Any] = {
            "stop_hook_active": stop_hook_active,
            "agent_id": self.subagent.agent_id,
            "agent_transcript_path": self.subagent.transcript_path,
            "agent_type": self.subagent.agent_type,
            "background_tasks": [],
            "session_crons": [],
        }
        if last_assistant_message is not None:
            fields["last_assistant_message"] = last_assistant_message
        return await self.run("SubagentStop", fields, match=self.subagent.agent_type)
