"""The hook runner: matchers, timeouts, failures, and merging the outputs of several callbacks."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tether._vocabulary.hooks import HookContext, HookMatcher
from tether.agent.hooks import HookRunner
from tether.errors import ConfigurationError, UnsupportedOptionError

pytestmark = pytest.mark.anyio


def runner(hooks: dict[str, list[Any]], mode: str = "default") -> HookRunner:
    # plain dicts, as users write them (some deliberately wrong)
    return HookRunner(
        hooks,  # type: ignore[arg-type]
        session_id="s-1",
        cwd="/work",
        permission_mode=mode,
    )


def returning(output: Any, calls: list[dict[str, Any]] | None = None) -> Any:
    async def hook(input_data: Any, tool_use_id: str | None, context: HookContext) -> Any:
        if calls is not None:
            calls.append({"input": input_data, "tool_use_id": tool_use_id, "context": context})
        return output

    return hook


async def test_pre_tool_use_receives_the_claude_input_shape() -> None:
    calls: list[dict[str, Any]] = []
    hooks = runner({"PreToolUse": [HookMatcher(hooks=[returning({}, calls)])]}, mode="acceptEdits")
    outcome = await hooks.pre_tool_use("Bash", {"command": "ls"}, "toolu_9")
    assert calls[0]["input"] == {
        "session_id": "s-1",
        "transcript_path": "",
        "cwd": "/work",
        "permission_mode": "acceptEdits",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_use_id": "toolu_9",
    }
    assert calls[0]["tool_use_id"] == "toolu_9"
    assert calls[0]["context"] == {"signal": None}
    assert outcome.continue_ and outcome.permission_decision is None and not outcome.errors


@pytest.mark.parametrize(
    ("matcher", "tool_name", "expected"),
    [
        (None, "Bash", True),
        ("*", "Bash", True),
        ("", "Write", True),
        ("Bash", "Bash", True),
        ("Bash", "BashOutput", False),
        ("Write|Edit", "Edit", True),
        ("Write|Edit", "Read", False),
        ("mcp__github__.*", "mcp__github__create_issue", True),
        ("mcp__github__.*", "mcp__gitlab__create_issue", False),
        ("[invalid", "[invalid", True),
    ],
)
async def test_matchers(matcher: str | None, tool_name: str, expected: bool) -> None:
    calls: list[dict[str, Any]] = []
    hooks = runner({"PreToolUse": [HookMatcher(matcher=matcher, hooks=[returning({}, calls)])]})
    await hooks.pre_tool_use(tool_name, {}, "t")
    assert bool(calls) is expected


async def test_deny_wins_over_ask_and_allow() -> None:
    def decision(value: str, reason: str) -> Any:
        return returning(
            {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": value,
                    "permissionDecisionReason": reason,
                }
            }
        )

    hooks = runner(
        {
            "PreToolUse": [
                HookMatcher(hooks=[decision("allow", "fine")]),
                HookMatcher(matcher="Bash", hooks=[decision("deny", "no shell"), decision("ask", "hmm")]),
            ]
        }
    )
    outcome = await hooks.pre_tool_use("Bash", {"command": "ls"}, "t")
    assert outcome.permission_decision == "deny"
    assert outcome.permission_decision_reason == "no shell"
    outcome = await hooks.pre_tool_use("Read", {"file_path": "a"}, "t")
    assert outcome.permission_decision == "allow"


async def test_updated_input_and_additional_context() -> None:
    hooks = runner(
        {
            "PreToolUse": [
                HookMatcher(
                    hooks=[
                        returning(
                            {
                                "hookSpecificOutput": {
                                    "hookEventName": "PreToolUse",
                                    "updatedInput": {"command": "ls -la"},
                                    "additionalContext": "listing in long form",
                                }
                            }
                        )
                    ]
                )
            ]
        }
    )
    outcome = await hooks.pre_tool_use("Bash", {"command": "ls"}, "t")
    assert outcome.updated_input == {"command": "ls -la"}
    assert outcome.context == "listing in long form"


async def test_block_continue_and_system_messages() -> None:
    hooks = runner(
        {
            "UserPromptSubmit": [
                HookMatcher(hooks=[returning({"decision": "block", "reason": "no secrets in prompts"})]),
                HookMatcher(
                    hooks=[returning({"continue_": False, "stopReason": "maintenance", "systemMessage": "hi"})]
                ),
            ]
        }
    )
    outcome = await hooks.user_prompt_submit("my password is hunter2")
    assert outcome.blocked and outcome.reason == "no secrets in prompts"
    assert not outcome.continue_ and outcome.stop_reason == "maintenance"
    assert outcome.system_messages == ["hi"]


async def test_block_on_pre_tool_use_is_a_deny() -> None:
    hooks = runner({"PreToolUse": [HookMatcher(hooks=[returning({"decision": "block", "reason": "nope"})])]})
    outcome = await hooks.pre_tool_use("Bash", {}, "t")
    assert outcome.permission_decision == "deny"
    assert outcome.permission_decision_reason == "nope"


async def test_post_tool_use_can_replace_the_output() -> None:
    calls: list[dict[str, Any]] = []
    output = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "updatedToolOutput": "[redacted]"}}
    hooks = runner({"PostToolUse": [HookMatcher(matcher="Read", hooks=[returning(output, calls)])]})
    outcome = await hooks.post_tool_use("Read", {"file_path": "a"}, "t", {"type": "text"})
    assert outcome.has_updated_tool_output and outcome.updated_tool_output == "[redacted]"
    assert calls[0]["input"]["tool_response"] == {"type": "text"}
    assert not (await hooks.post_tool_use("Bash", {}, "t", {})).has_updated_tool_output


async def test_session_start_matches_the_source() -> None:
    calls: list[dict[str, Any]] = []
    context = {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "resumed!"}}
    hooks = runner({"SessionStart": [HookMatcher(matcher="resume|fork", hooks=[returning(context, calls)])]})
    assert (await hooks.session_start("startup")).context is None
    outcome = await hooks.session_start("fork", model="m")
    assert outcome.context == "resumed!"
    assert calls[0]["input"]["source"] == "fork" and calls[0]["input"]["model"] == "m"


async def test_stop_input_carries_the_last_answer_and_empty_background_lists() -> None:
    calls: list[dict[str, Any]] = []
    hooks = runner({"Stop": [HookMatcher(hooks=[returning({}, calls)])]})
    await hooks.stop(stop_hook_active=True, last_assistant_message="All done.")
    data = calls[0]["input"]
    assert data["stop_hook_active"] is True
    assert data["last_assistant_message"] == "All done."
    assert data["background_tasks"] == [] and data["session_crons"] == []


async def test_a_failing_hook_is_reported_and_changes_nothing() -> None:
    async def broken(input_data: Any, tool_use_id: str | None, context: HookContext) -> Any:
        raise ValueError("bug in hook")

    hooks = runner({"PreToolUse": [HookMatcher(hooks=[broken, returning({"systemMessage": "still here"})])]})
    outcome = await hooks.pre_tool_use("Bash", {}, "t")
    assert outcome.errors == ["the PreToolUse hook broken raised ValueError: bug in hook"]
    assert outcome.system_messages == ["still here"]
    assert outcome.permission_decision is None


async def test_a_slow_hook_times_out() -> None:
    never = anyio.Event()

    async def stuck(input_data: Any, tool_use_id: str | None, context: HookContext) -> Any:
        await never.wait()

    hooks = runner({"Stop": [HookMatcher(hooks=[stuck], timeout=0.05)]})
    outcome = await hooks.stop(False)
    assert outcome.errors == ["the Stop hook stuck timed out after 0.05s"]
    assert outcome.continue_


async def test_sync_callbacks_none_results_and_bad_results() -> None:
    def sync_hook(input_data: Any, tool_use_id: str | None, context: HookContext) -> Any:
        return {"systemMessage": "sync"}

    hooks = runner({"Stop": [HookMatcher(hooks=[sync_hook, returning(None), returning("nonsense")])]})
    outcome = await hooks.stop(False)
    assert outcome.system_messages == ["sync"]
    assert outcome.errors == ["the Stop hook hook gave an unusable output: it returned str, not a dict"]


async def test_async_outputs_and_mismatched_specific_outputs_are_ignored() -> None:
    mismatched = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "x"}}
    hooks = runner({"UserPromptSubmit": [HookMatcher(hooks=[returning({"async_": True}), returning(mismatched)])]})
    outcome = await hooks.user_prompt_submit("hi")
    assert outcome.context is None
    assert "hookSpecificOutput for PostToolUse" in outcome.errors[0]


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown event"):
        runner({"BeforeEverything": []})
    for event in ("SessionEnd", "Setup", "PostCompact"):
        with pytest.raises(UnsupportedOptionError, match=event):
            runner({event: [HookMatcher(hooks=[returning({})])]})
    with pytest.raises(ConfigurationError, match="on_failure"):
        runner({"Stop": [HookMatcher(hooks=[returning({})], on_failure="explode")]})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="HookMatcher"):
        runner({"Stop": ["not a matcher"]})
    with pytest.raises(ConfigurationError, match="callable"):
        runner({"Stop": [HookMatcher(hooks=["not callable"])]})  # type: ignore[list-item]


async def test_dict_matchers_are_accepted() -> None:
    calls: list[dict[str, Any]] = []
    hooks = runner({"Stop": [{"matcher": None, "hooks": [returning({}, calls)]}]})
    assert hooks.has("Stop") and not hooks.has("PreToolUse")
    await hooks.stop(False)
    assert calls


async def test_defer_ranks_between_deny_and_ask() -> None:
    def decision(value: str) -> Any:
        return returning({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": value}})

    hooks = runner({"PreToolUse": [HookMatcher(hooks=[decision("allow"), decision("ask"), decision("defer")])]})
    assert (await hooks.pre_tool_use("Bash", {}, "t")).permission_decision == "defer"
    hooks = runner({"PreToolUse": [HookMatcher(hooks=[decision("defer"), decision("deny")])]})
    assert (await hooks.pre_tool_use("Bash", {}, "t")).permission_decision == "deny"


async def test_a_deny_from_one_permission_request_hook_wins() -> None:
    def decision(value: dict[str, Any]) -> Any:
        return returning({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": value}})

    hooks = runner(
        {
            "PermissionRequest": [
                HookMatcher(hooks=[decision({"behavior": "deny", "message": "no"}), decision({"behavior": "allow"})])
            ]
        }
    )
    outcome = await hooks.permission_request("Bash", {"command": "ls"}, "t", [])
    assert outcome.permission_request == {"behavior": "deny", "message": "no"}


async def test_hook_inputs_are_copies() -> None:
    async def meddle(input_data: Any, tool_use_id: str | None, context: HookContext) -> Any:
        input_data["tool_input"]["command"] = "rm -rf /"
        return {}

    tool_input = {"command": "ls"}
    await runner({"PreToolUse": [HookMatcher(hooks=[meddle])]}).pre_tool_use("Bash", tool_input, "t")
    assert tool_input == {"command": "ls"}
