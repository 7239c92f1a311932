"""The agent loop: tools, errors, limits, usage and cost, durability of every yielded message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    AssistantMessage,
    Message,
    ModelError,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    ToolResultBlock,
    UnsupportedOptionError,
    UserMessage,
    create_sdk_mcp_server,
    project_key_for_directory,
    query,
    tool,
)
from tether._vocabulary.store import SessionStore
from tether.errors import ConfigurationError
from tether.sessions.entries import active_chain, make_entry, make_meta_entry
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


def session_id_of(messages: list[Message]) -> str:
    first = messages[0]
    assert isinstance(first, SystemMessage)
    return str(first.data["session_id"])


@tool("add", "Add two numbers", {"a": float, "b": float})
async def add(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}


@tool("explode", "Always fails", {"why": str})
async def explode(args: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError(f"boom: {args['why']}")


CALC = {"calc": create_sdk_mcp_server("calc", tools=[add, explode])}


async def test_tool_round_trip_feeds_the_result_back_to_the_model(store: SessionStore, project: Path) -> None:
    model = ScriptedModel([tool_use_reply("mcp__calc__add", {"a": 2, "b": 3}, id="call_1"), "It is 5."])
    messages = (
        await run_query(
            "2+3?",
            AgentOptions(
                model=model, session_store=store, cwd=project, mcp_servers=CALC, tools=[], allowed_tools=["mcp__calc"]
            ),
        )
    ).messages

    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["SystemMessage", "AssistantMessage", "UserMessage", "AssistantMessage", "ResultMessage"]
    assert messages[0].data["tools"] == ["mcp__calc__add", "mcp__calc__explode"]  # type: ignore[union-attr]
    assert messages[0].data["mcp_servers"] == [{"name": "calc", "status": "connected"}]  # type: ignore[union-attr]
    tool_result = messages[2]
    assert isinstance(tool_result, UserMessage) and isinstance(tool_result.content, list)
    assert tool_result.content[0] == ToolResultBlock(tool_use_id="call_1", content=[{"type": "text", "text": "5"}])
    second_request = model.requests[1].messages
    assert second_request[-1]["content"][0]["tool_use_id"] == "call_1"
    assert [spec.name for spec in model.requests[0].tools] == ["mcp__calc__add", "mcp__calc__explode"]
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert (result.subtype, result.is_error, result.num_turns, result.result) == ("success", False, 2, "It is 5.")


async def test_a_tool_that_raises_becomes_an_error_result_and_the_loop_goes_on(
    store: SessionStore, project: Path
) -> None:
    model = ScriptedModel([tool_use_reply("mcp__calc__explode", {"why": "test"}), "The tool failed."])
    messages = (
        await run_query(
            "try it",
            AgentOptions(
                model=model, session_store=store, cwd=project, mcp_servers=CALC, tools=[], allowed_tools=["mcp__calc"]
            ),
        )
    ).messages
    result_block = model.requests[1].messages[-1]["content"][0]
    assert result_block["is_error"] is True
    assert "boom: test" in result_block["content"]
    assert isinstance(messages[-1], ResultMessage) and messages[-1].subtype == "success"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("mcp__calc__add", {"a": "two", "b": 3}, "a: 'two' is not of type 'number'"),
        ("mcp__calc__add", {"a": 1}, "'b' is a required property"),
        ("mcp__calc__nope", {}, "No such tool available: mcp__calc__nope"),
    ],
)
async def test_bad_tool_calls_get_an_error_result_naming_the_problem(
    store: SessionStore, project: Path, name: str, arguments: dict[str, Any], expected: str
) -> None:
    model = ScriptedModel([tool_use_reply(name, arguments), "ok"])
    await run_query(
        "go",
        AgentOptions(
            model=model, session_store=store, cwd=project, mcp_servers=CALC, tools=[], allowed_tools=["mcp__calc"]
        ),
    )
    block = model.requests[1].messages[-1]["content"][0]
    assert block["is_error"] is True
    assert expected in block["content"]


async def test_max_turns_ends_with_error_max_turns_and_a_resumable_session(store: SessionStore, project: Path) -> None:
    looping = ScriptedModel([tool_use_reply("mcp__calc__add", {"a": 1, "b": 1}) for _ in range(5)])
    messages = (
        await run_query(
            "loop",
            AgentOptions(
                model=looping,
                session_store=store,
                cwd=project,
                mcp_servers=CALC,
                tools=[],
                allowed_tools=["mcp__calc"],
                max_turns=2,
            ),
        )
    ).messages
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert (result.subtype, result.is_error, result.num_turns) == ("error_max_turns", True, 2)
    assert len(looping.requests) == 2

    after = ScriptedModel(["done"])
    await run_query(
        "stop",
        AgentOptions(
            model=after,
            session_store=store,
            cwd=project,
            mcp_servers=CALC,
            tools=[],
            allowed_tools=["mcp__calc"],
            resume=session_id_of(messages),
        ),
    )
    history = after.requests[0].messages
    # every call has its result: the history is valid for any provider
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant", "user"]
    assert history[-1]["content"][0]["type"] == "tool_result"
    assert history[-1]["content"][-1] == {"type": "text", "text": "stop"}


async def test_usage_and_cost_add_up_across_turns_and_resumes(store: SessionStore, project: Path) -> None:
    model = ScriptedModel([tool_use_reply("mcp__calc__add", {"a": 1, "b": 1}), "two", "three"], cost_per_reply=0.25)
    first = (
        await run_query(
            "go",
            AgentOptions(
                model=model, session_store=store, cwd=project, mcp_servers=CALC, tools=[], allowed_tools=["mcp__calc"]
            ),
        )
    ).messages
    result = first[-1]
    assert isinstance(result, ResultMessage)
    assert result.total_cost_usd == pytest.approx(0.5)
    assert result.usage is not None and result.usage["output_tokens"] > 0
    output_after_first = result.usage["output_tokens"]

    second = (
        await run_query(
            "more",
            AgentOptions(
                model=model,
                session_store=store,
                cwd=project,
                mcp_servers=CALC,
                tools=[],
                allowed_tools=["mcp__calc"],
                resume=session_id_of(first),
            ),
        )
    ).messages
    resumed = second[-1]
    assert isinstance(resumed, ResultMessage)
    assert resumed.total_cost_usd == pytest.approx(0.75)
    assert resumed.usage is not None and resumed.usage["output_tokens"] > output_after_first
    assert resumed.model_usage is not None
    assert resumed.model_usage["scripted-model"]["costUSD"] == pytest.approx(0.75)


async def test_unknown_price_is_reported_as_unknown_not_zero(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["hi"], cost_per_reply=None)
    result = ((await run_query("go", AgentOptions(model=model, session_store=store, cwd=project))).messages)[-1]
    assert isinstance(result, ResultMessage) and result.total_cost_usd is None


async def test_every_message_is_stored_before_it_is_yielded(store: SessionStore, project: Path) -> None:
    model = ScriptedModel([tool_use_reply("mcp__calc__add", {"a": 1, "b": 2}), "3"])
    key: Any = {"project_key": project_key_for_directory(project), "session_id": ""}
    async for message in query(
        prompt="go",
        options=AgentOptions(
            model=model, session_store=store, cwd=project, mcp_servers=CALC, tools=[], allowed_tools=["mcp__calc"]
        ),
    ):
        if isinstance(message, SystemMessage):
            key["session_id"] = message.data["session_id"]
            assert await store.load(key) is not None, "the session exists as soon as its id is given out"
        elif isinstance(message, (AssistantMessage, UserMessage)):
            stored = await store.load(key)
            assert stored is not None and message.uuid in {entry.get("uuid") for entry in stored}
        elif isinstance(message, ResultMessage):
            stored = await store.load(key)
            assert stored is not None and [entry["type"] for entry in stored[-2:]] == ["cost-state", "tether-result"]
            assert stored[-1]["resultMessage"]["uuid"] == message.uuid


async def test_a_dangling_tool_call_is_closed_with_an_error_result_on_resume(
    store: SessionStore, project: Path
) -> None:
    """A process killed between a tool call and its result leaves a session that still resumes."""
    session_id = "5e0d7a55-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    key: Any = {"project_key": project_key_for_directory(project), "session_id": session_id}
    prompt = make_entry(
        "user", {"role": "user", "content": "run it"}, session_id=session_id, parent_uuid=None, cwd=str(project)
    )
    call = make_entry(
        "assistant",
        {
            "id": "msg_1",
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_x", "name": "Bash", "input": {}}],
        },
        session_id=session_id,
        parent_uuid=prompt["uuid"],
        cwd=str(project),
    )
    await store.append(key, [make_meta_entry("permission-mode", session_id=session_id), prompt, call])

    model = ScriptedModel(["recovered"])
    await run_query("what happened?", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
    history = model.requests[0].messages
    closing = history[2]["content"][0]
    assert closing["type"] == "tool_result" and closing["tool_use_id"] == "toolu_x" and closing["is_error"] is True
    assert history[2]["content"][-1] == {"type": "text", "text": "what happened?"}
    stored = await store.load(key)
    assert stored is not None
    assert [e["type"] for e in active_chain(stored)] == ["user", "assistant", "user", "user", "assistant"]


async def test_a_model_error_ends_in_an_error_result_and_the_session_resumes(
    store: SessionStore, project: Path
) -> None:
    failing = ScriptedModel([ModelError("server exploded", status_code=500)])
    messages = (await run_query("hello", AgentOptions(model=failing, session_store=store, cwd=project))).messages
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert result.is_error and result.subtype == "error_during_execution"
    assert result.api_error_status == 500 and result.errors is not None and "server exploded" in result.errors[0]

    model = ScriptedModel(["back"])
    resumed = (
        await run_query(
            "again", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id_of(messages))
        )
    ).messages
    assert isinstance(resumed[-1], ResultMessage) and not resumed[-1].is_error
    assert model.requests[0].messages == [
        {"role": "user", "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": "again"}]}
    ]


async def test_persist_session_false_writes_nothing(store: SessionStore, project: Path) -> None:
    messages = (
        await run_query(
            "secret", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project, persist_session=False)
        )
    ).messages
    key: Any = {"project_key": project_key_for_directory(project), "session_id": session_id_of(messages)}
    assert await store.load(key) is None


async def test_partial_messages_stream_the_raw_events(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["streamed text"])
    messages = (
        await run_query(
            "go", AgentOptions(model=model, session_store=store, cwd=project, include_partial_messages=True)
        )
    ).messages
    events = [m.event for m in messages if isinstance(m, StreamEvent)]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert "".join(deltas) == "streamed text"
    without = (
        await run_query("go", AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=project))
    ).messages
    assert not any(isinstance(m, StreamEvent) for m in without)


async def test_streaming_input_runs_each_prompt_on_one_session(store: SessionStore, project: Path) -> None:
    async def prompts() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "user", "message": {"role": "user", "content": "first"}}
        yield {"type": "user", "message": {"role": "user", "content": "second"}}

    model = ScriptedModel(["one", "two"])
    messages = [
        m async for m in query(prompt=prompts(), options=AgentOptions(model=model, session_store=store, cwd=project))
    ]
    results = [m for m in messages if isinstance(m, ResultMessage)]
    assert len(results) == 2 and results[0].session_id == results[1].session_id
    assert [b["text"] for m in model.requests[1].messages for b in m["content"]] == ["first", "one", "second"]


async def test_an_unsupported_option_raises_naming_it(project: Path) -> None:
    with pytest.raises(UnsupportedOptionError, match="sandbox"):
        await run_query("x", AgentOptions(model=ScriptedModel(["x"]), cwd=project, sandbox={"enabled": True}))


async def test_contradicting_session_options_are_refused(project: Path) -> None:
    with pytest.raises(ConfigurationError, match="fork_session"):
        await run_query("x", AgentOptions(model=ScriptedModel(["x"]), cwd=project, fork_session=True))
    with pytest.raises(ConfigurationError, match="cwd"):
        await run_query("x", AgentOptions(model=ScriptedModel(["x"]), cwd=project / "missing"))
