"""Model output is checked before it is stored: a reply that could not be sent back to the model
(nested too deeply, or not JSON) ends the run with an error result and is never stored; a session
that already holds such a reply (stored before the check) resumes without it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeAnthropicServer, Reply, ToolUse

from tether import AgentOptions, Message, ResultMessage, SystemMessage, project_key_for_directory
from tether._vocabulary.store import SessionStore
from tether.sessions.entries import MAX_CONTENT_DEPTH, make_entry, make_meta_entry
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

DEEPEST_INPUT = MAX_CONTENT_DEPTH - 2
"""The deepest tool input a reply may hold: the content list and the tool_use block are two levels."""


def nested(depth: int) -> dict[str, Any]:
    """A tool input of `depth` nested objects."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage)
    return last


def session_id_of(messages: list[Message]) -> str:
    first = messages[0]
    assert isinstance(first, SystemMessage)
    return str(first.data["session_id"])


def claude(server: FakeAnthropicServer, project: Path, store: SessionStore, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
    return AgentOptions(model="claude-sonnet-4-5", env=env, cwd=project, session_store=store, **extra)


def tool_uses(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        block
        for entry in entries
        if entry.get("type") == "assistant"
        for block in entry["message"]["content"]
        if block.get("type") == "tool_use"
    ]


@pytest.mark.parametrize("depth", [DEEPEST_INPUT + 1, 500, 960])
async def test_a_reply_nested_too_deeply_ends_the_run_unstored_and_the_session_resumes(
    depth: int, project: Path, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    replies = [Reply([ToolUse("lookup", nested(depth))]), Reply("Resumed.")]
    with FakeAnthropicServer(replies) as server:
        messages = (await run_query("look it up", claude(server, project, store))).messages
        result = result_of(messages)
        assert result.is_error and result.subtype == "error_during_execution"
        # refused by the check, or (with a deeper call stack) already when the stream is decoded
        error = (result.errors or [""])[0]
        refused = f"nests more than {MAX_CONTENT_DEPTH} levels deep" in error
        assert refused or "RecursionError" in error, error
        assert refused or depth > 500
        session_id = session_id_of(messages)
        key: Any = {"project_key": project_key_for_directory(project), "session_id": session_id}
        stored = await store.load(key)
        assert stored is not None and tool_uses(stored) == []  # the reply was never stored

        again = (await run_query("try again", claude(server, project, store, resume=session_id))).messages
    assert result_of(again).result == "Resumed."
    assert [m["role"] for m in server.requests[-1]["messages"]] == ["user"]  # both prompts, nothing else
    await store.close()


async def test_a_reply_just_within_the_depth_limit_is_stored_and_sent_back(project: Path, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    replies = [Reply([ToolUse("lookup", nested(DEEPEST_INPUT))]), Reply("No such tool.")]
    with FakeAnthropicServer(replies) as server:
        messages = (await run_query("look it up", claude(server, project, store))).messages
    assert result_of(messages).result == "No such tool."
    sent_back = server.requests[1]["messages"][1]["content"][0]
    assert sent_back["type"] == "tool_use" and sent_back["input"] == nested(DEEPEST_INPUT)
    await store.close()


async def test_a_reply_that_is_not_json_ends_the_run_unstored(store: SessionStore, project: Path) -> None:
    model = ScriptedModel([tool_use_reply("lookup", {"limit": float("nan")}), "unused"])
    messages = (await run_query("look it up", AgentOptions(model=model, session_store=store, cwd=project))).messages
    result = result_of(messages)
    assert result.is_error and "nan is not a JSON number" in (result.errors or [""])[0]
    key: Any = {"project_key": project_key_for_directory(project), "session_id": session_id_of(messages)}
    stored = await store.load(key)
    assert stored is not None and tool_uses(stored) == []


async def test_a_session_poisoned_by_a_deep_reply_resumes_without_it(
    store: SessionStore, project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored before tether checked replies: the entry is skipped (and logged) on the way to the model,
    with the results of its calls; the rest of the history is sent."""
    session_id = "5e0d7a55-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
    key: Any = {"project_key": project_key_for_directory(project), "session_id": session_id}
    where = {"session_id": session_id, "cwd": str(project)}
    prompt = make_entry("user", {"role": "user", "content": "look it up"}, parent_uuid=None, **where)
    # 600 levels: deep enough to be refused, shallow enough for every store to write under pytest's stack
    deep_call = {"type": "tool_use", "id": "toolu_deep", "name": "lookup", "input": nested(600)}
    reply = make_entry(
        "assistant", {"id": "msg_1", "role": "assistant", "content": [deep_call]}, parent_uuid=prompt["uuid"], **where
    )
    answer = {"type": "tool_result", "tool_use_id": "toolu_deep", "content": "No such tool", "is_error": True}
    results = make_entry("user", {"role": "user", "content": [answer]}, parent_uuid=reply["uuid"], **where)
    await store.append(key, [make_meta_entry("permission-mode", session_id=session_id), prompt, reply, results])

    model = ScriptedModel(["Back again."])
    with caplog.at_level(logging.WARNING):
        messages = (
            await run_query("try again", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
        ).messages
    assert result_of(messages).result == "Back again."
    history = model.requests[0].messages
    assert history == [
        {"role": "user", "content": [{"type": "text", "text": "look it up"}, {"type": "text", "text": "try again"}]}
    ]
    assert "skipped" in caplog.text  # the poisoned entry, or the damaged row a store could not decode
