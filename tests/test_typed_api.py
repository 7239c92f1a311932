"""The public API is typed: what a type checker infers for the calls users write (`typing.assert_type`,
checked by mypy over tests/), and that the values are those types when the calls run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, assert_type

import pytest

from tether import (
    AgentClient,
    AgentOptions,
    AssistantMessage,
    CanUseTool,
    ContextUsageResponse,
    HookEvent,
    HookMatcher,
    McpStatusResponse,
    MemoryStore,
    Message,
    PermissionMode,
    ResultMessage,
    SessionInfo,
    SessionMessage,
    SessionStore,
    SessionStoreFlushMode,
    SystemMessage,
    list_sessions_async,
    query,
)
from tether import get_session_messages_async as get_messages
from tether.options import ModelObject
from tether.testing import RunResult, ScriptedModel, override_model, run_query, run_store_conformance
from tether.testing.conformance import ConformanceReport

pytestmark = pytest.mark.anyio


def test_the_options_fields_have_the_sdks_types() -> None:
    options = AgentOptions()
    assert_type(options.permission_mode, PermissionMode | None)
    assert_type(options.hooks, dict[HookEvent, list[HookMatcher]] | None)
    assert_type(options.can_use_tool, CanUseTool | None)
    assert_type(options.session_store, SessionStore | str | None)
    assert_type(options.session_store_flush, SessionStoreFlushMode)
    assert_type(options.model, str | ModelObject | None)
    assert_type(options.allowed_tools, list[str])
    assert_type(options.max_turns, int | None)
    assert_type(options.cwd, str | Path | None)
    assert (options.permission_mode, options.hooks, options.session_store_flush) == (None, None, "batched")


async def test_query_yields_messages_and_a_typed_result(tmp_path: Path) -> None:
    store = MemoryStore()
    options = AgentOptions(model=ScriptedModel(["Hi."]), cwd=tmp_path, session_store=store)
    stream = query(prompt="Hello", options=options)
    assert_type(stream, AsyncIterator[Message])
    messages = [message async for message in stream]
    assert isinstance(messages[0], SystemMessage) and messages[0].subtype == "init"
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert_type(result.session_id, str)
    assert_type(result.total_cost_usd, float | None)
    assert_type(result.is_error, bool)
    assert not result.is_error
    sessions = await list_sessions_async(tmp_path, store=store)
    assert_type(sessions, list[SessionInfo])
    transcript = await get_messages(result.session_id, tmp_path, store=store)
    assert_type(transcript, list[SessionMessage])
    assert [info.session_id for info in sessions] == [result.session_id]


async def test_the_client_methods_are_typed(tmp_path: Path) -> None:
    options = AgentOptions(model=ScriptedModel(["Hi."]), cwd=tmp_path, session_store=MemoryStore())
    async with AgentClient(options) as client:
        assert_type(client, AgentClient)
        assert_type(client.session_id, str)
        await client.query("Hello")
        replies = [message async for message in client.receive_response()]
        assert_type(replies, list[Message])
        assert any(isinstance(reply, AssistantMessage) for reply in replies)
        status = await client.get_mcp_status()
        assert_type(status, McpStatusResponse)
        assert status["mcpServers"] == []
        usage = await client.get_context_usage()
        assert_type(usage, ContextUsageResponse)
        assert usage["totalTokens"] > 0
        assert_type(await client.get_server_info(), dict[str, Any] | None)
        assert_type(await client.set_permission_mode("plan"), None)


async def test_the_testing_helpers_keep_their_types() -> None:
    with override_model(ScriptedModel(["Hi."])) as model:
        assert_type(model, ScriptedModel)
        assert model.requests == []
    backend = MemoryStore()
    report = await run_store_conformance(backend.with_scope)
    assert_type(report, ConformanceReport)
    assert report.passed and not report.skipped
    run = await run_query("Hi", AgentOptions(model=ScriptedModel(["Hello."]), session_store=MemoryStore()))
    assert_type(run, RunResult)
    assert_type(run.messages, list[Message])
    assert_type(run.result, ResultMessage)
    assert_type(run.session_id, str)
    assert run.messages[-1] is run.result and run.result.result == "Hello."
