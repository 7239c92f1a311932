"""The public surface: complete, sorted, and named as in the Claude Agent SDK."""

from __future__ import annotations

import dataclasses

import tether
from tether import AgentOptions, ResultMessage

CLAUDE_SDK_NAMES = [
    "query",
    "ClaudeSDKClient",
    "ClaudeAgentOptions",
    "SystemMessage",
    "UserMessage",
    "AssistantMessage",
    "ResultMessage",
    "StreamEvent",
    "TextBlock",
    "ThinkingBlock",
    "ToolUseBlock",
    "ToolResultBlock",
    "tool",
    "create_sdk_mcp_server",
]


def test_all_is_sorted_and_every_name_exists() -> None:
    names = list(tether.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(tether, name), name


def test_claude_agent_sdk_names_are_importable_from_tether() -> None:
    for name in CLAUDE_SDK_NAMES:
        assert name in tether.__all__, name


def test_option_and_result_fields_match_the_claude_agent_sdk() -> None:
    option_fields = {f.name for f in dataclasses.fields(AgentOptions)}
    for name in (
        "tools", "allowed_tools", "system_prompt", "mcp_servers", "permission_mode", "continue_conversation",
        "resume", "session_id", "max_turns", "max_budget_usd", "disallowed_tools", "model", "fallback_model",
        "cwd", "add_dirs", "env", "stderr", "can_use_tool", "hooks", "include_partial_messages",
        "fork_session", "resume_session_at", "output_format", "session_store",
    ):  # fmt: skip
        assert name in option_fields, name
    result_fields = {f.name for f in dataclasses.fields(ResultMessage)}
    for name in (
        "subtype", "duration_ms", "duration_api_ms", "is_error", "num_turns", "session_id", "stop_reason",
        "total_cost_usd", "usage", "result", "model_usage", "permission_denials", "errors", "uuid",
    ):  # fmt: skip
        assert name in result_fields, name


def test_errors_form_one_tree() -> None:
    for name in ("SessionNotFoundError", "SessionConflictError", "ModelError", "ToolError", "ConfigurationError"):
        assert issubclass(getattr(tether, name), tether.TetherError)
