"""The public surface: complete, sorted, nothing else; messages that survive the store.

Parity with the Claude Agent SDK (every name, field, key and method) is `tests/test_parity.py`.
"""

from __future__ import annotations
import __future__

import dataclasses
import subprocess
import sys
import types
import typing

import claude_agent_sdk
import pytest

import tether
import tether.types
from tether import (
    AgentOptions,
    AssistantMessage,
    ContentBlock,
    ResultMessage,
    ServerToolResultBlock,
    ServerToolUseBlock,
    SessionKey,
    SessionStore,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from tether.messages import block_from_dict, block_to_dict, blocks_from_content
from tether.sessions.entries import make_entry

TETHER_ONLY = set(
    """
    AgentClient AgentOptions AsyncHookJSONOutput ConfigurationError CopyReport DurableEngine EntryNotFoundError
    FollowTimeoutError follow
    HookEvent InvalidSessionIdError JsonlStore MemoryStore Model ModelError PermissionBehavior
    PostgresStore RedisStore SQLiteStore
    PermissionRuleValue ResumeRejectedError SessionBusyError SessionConflictError SessionError
    SessionExistsError SessionFileNotFoundError
    SessionInfo SessionNotFoundError SessionStartHookInput StoreError SyncHookJSONOutput TetherError Tool
    ToolContext ToolError ToolResult UnsupportedOptionError copy_sessions delete_session_async
    export_session fork_session_async get_session_info_async get_session_messages_async
    get_subagent_messages_async list_subagents_async
    import_claude_code_sessions list_sessions_async rename_session_async tag_session_async
    """.split()
)
"""tether's own public names; everything else in `tether.__all__` is a name of the SDK."""


def test_all_is_sorted_and_every_name_exists() -> None:
    names = list(tether.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(tether, name), name


def test_all_is_the_sdk_names_and_tethers_own_nothing_else() -> None:
    """`tests/test_parity.py` checks that every SDK name is there; here, that nothing else is."""
    assert set(tether.__all__) - set(claude_agent_sdk.__all__) == TETHER_ONLY


def public_names(module: types.ModuleType) -> set[str]:
    """What a module defines or re-exports on purpose: not modules, not helpers of `typing` & co."""

    def helper(name: str, value: object) -> bool:
        if isinstance(value, (types.ModuleType, __future__._Feature)):
            return True
        return any(getattr(source, name, None) is value for source in (typing, dataclasses, sys.modules["abc"]))

    return {n for n, v in vars(module).items() if not n.startswith("_") and not helper(n, v)}


def test_the_modules_expose_no_public_name_outside_all() -> None:
    assert public_names(tether) - set(tether.__all__) == set()
    assert public_names(tether.types) - set(tether.types.__all__) <= {"AsyncIterator", "NotRequired", "TypedDict"}


def test_importing_tether_does_not_import_mcp_or_pydantic() -> None:
    """`ToolAnnotations` is loaded on first use: a cold `import tether` stays fast."""
    code = "import sys, tether; print('mcp' in sys.modules, 'pydantic' in sys.modules)"
    before = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert before == ["False", "False"]
    code = "import sys; from tether import ToolAnnotations; print(ToolAnnotations.__module__, 'mcp' in sys.modules)"
    after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert after == ["tether._vocabulary.tool_annotations", "True"]


def test_option_and_result_fields_match_the_claude_agent_sdk() -> None:
    option_fields = {f.name for f in dataclasses.fields(AgentOptions)}
    assert {f.name for f in dataclasses.fields(claude_agent_sdk.ClaudeAgentOptions)} <= option_fields
    result_fields = [f.name for f in dataclasses.fields(ResultMessage)]
    assert result_fields == [f.name for f in dataclasses.fields(claude_agent_sdk.ResultMessage)]


def test_errors_form_one_tree() -> None:
    for name in (
        "SessionNotFoundError",
        "SessionConflictError",
        "SessionBusyError",
        "ModelError",
        "ToolError",
        "ConfigurationError",
    ):
        assert issubclass(getattr(tether, name), tether.TetherError)
        assert issubclass(getattr(tether, name), tether.ClaudeSDKError)
    assert issubclass(tether.ConfigurationError, ValueError)


# --- content blocks in their API form --------------------------------------------------------------

SEARCH_RESULTS = [{"type": "web_search_result", "url": "https://example.com", "title": "Example"}]
BLOCKS: list[ContentBlock] = [
    TextBlock("Looking it up."),
    ThinkingBlock("Search first.", signature="sig-1"),
    ServerToolUseBlock(id="srvtoolu_1", name="web_search", input={"query": "tether"}),
    ServerToolResultBlock(tool_use_id="srvtoolu_1", content=SEARCH_RESULTS, result_type="web_search_tool_result"),  # type: ignore[arg-type]
    ServerToolUseBlock(id="srvtoolu_2", name="advisor", input={}),
    ServerToolResultBlock(tool_use_id="srvtoolu_2", content={"type": "advisor_result", "text": "fine"}),
    ToolUseBlock(id="toolu_1", name="Read", input={"file_path": "a.txt"}),
]


def test_server_tool_blocks_take_the_anthropic_api_form() -> None:
    assert block_to_dict(BLOCKS[2]) == {
        "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "tether"},
    }  # fmt: skip
    assert block_to_dict(BLOCKS[3]) == {
        "type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": SEARCH_RESULTS,
    }  # fmt: skip
    assert block_to_dict(BLOCKS[5])["type"] == "advisor_tool_result"
    assert block_from_dict({"type": "mcp_tool_use", "id": "x"}) is None
    error = ToolResultBlock(tool_use_id="toolu_1", content="no such file", is_error=True)
    assert block_from_dict(block_to_dict(error)) == error


@pytest.mark.anyio
async def test_every_block_kind_comes_back_unchanged_from_the_store(store: SessionStore) -> None:
    key: SessionKey = {"project_key": "p", "session_id": "s1"}
    message = {"role": "assistant", "id": "msg_1", "content": [block_to_dict(block) for block in BLOCKS]}
    await store.append(key, [make_entry("assistant", message, session_id="s1", parent_uuid=None, cwd="/p")])
    loaded = await store.load(key)
    assert loaded is not None
    assert blocks_from_content(loaded[0]["message"]["content"]) == BLOCKS


def test_sdk_code_reads_an_assistant_message_with_server_tools() -> None:
    reply = AssistantMessage(content=list(BLOCKS), model="claude-sonnet-4-5")
    searches = [b.input["query"] for b in reply.content if isinstance(b, ServerToolUseBlock) and b.name == "web_search"]
    assert searches == ["tether"]
    assert reply.user_message_uuid is None and reply.user_message_uuids is None
