"""Tool calls without results and results without calls in the middle of a stored chain.

Imported and damaged transcripts have both; the Anthropic API refuses either with a 400. On the
way to the model, each call gets its result in the next message (an error result when the
history has none), a stray result is dropped, and results come first in their message. The
store is not written for mid-chain orphans: only calls still open at the end are closed there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether import AgentOptions, query
from tether._vocabulary.store import SessionKey
from tether.sessions.entries import MISSING_TOOL_RESULT, make_entry
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio

SESSION = "0b6f3c1e-8d5a-4c1e-9a51-1f2e3d4c5b6a"


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "Bash", "input": {"command": "true"}}


def tool_result(call_id: str, content: str = "ok") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


def chain(cwd: Path, *messages: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    parent = None
    for index, (role, content) in enumerate(messages):
        message: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant":
            message |= {"id": f"msg_{index}", "model": "scripted-model"}
        entry = make_entry(role, message, session_id=SESSION, parent_uuid=parent, cwd=str(cwd))
        entries.append(entry)
        parent = entry["uuid"]
    return entries


def assert_the_api_would_take(messages: list[dict[str, Any]]) -> None:
    """Roles alternate; each user message opens with exactly the results of the calls just before it."""
    assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2) + ["user"] * (
        len(messages) % 2
    )
    for index, message in enumerate(messages):
        if message["role"] != "user" or index == 0:
            continue
        calls = [b["id"] for b in messages[index - 1]["content"] if b["type"] == "tool_use"]
        results = [b["tool_use_id"] for b in message["content"] if b["type"] == "tool_result"]
        assert results == calls
        assert [b["type"] for b in message["content"][: len(calls)]] == ["tool_result"] * len(calls)
        assert message["content"]


async def test_orphans_in_the_middle_of_a_chain_reach_the_model_paired(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    history = chain(
        tmp_path,
        ("user", [text("Run it")]),
        ("assistant", [text("Running."), tool_use("toolu_lost")]),  # its result never made it to the file
        ("user", [text("Never mind. Hi!")]),
        ("assistant", [text("Hi.")]),
        ("user", [tool_result("toolu_elsewhere", "stray"), text("And this?")]),  # a result with no call
        ("assistant", [tool_use("toolu_ok")]),
        ("user", [text("note"), tool_result("toolu_ok")]),  # answered, but not first
        ("assistant", [text("Done.")]),
    )
    key = SessionKey(project_key=project_key_for_directory(tmp_path), session_id=SESSION)
    await store.append(key, history)
    model = ScriptedModel(["Still here."])
    try:
        options = AgentOptions(model=model, session_store=store, cwd=tmp_path, resume=SESSION)
        async for _ in query(prompt="Again?", options=options):
            pass
        sent = model.requests[0].messages
        assert_the_api_would_take(sent)
        assert sent[2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": "toolu_lost",
            "content": MISSING_TOOL_RESULT,
            "is_error": True,
        }
        assert sent[4]["content"] == [text("And this?")]
        assert sent[6]["content"] == [tool_result("toolu_ok"), text("note")]
        assert sent[-1]["content"] == [text("Again?")]
        stored = await store.load(key)
        assert stored is not None
        written = [e for e in stored[len(history) :] if e.get("type") == "user"]
        assert [e["message"]["content"] for e in written] == ["Again?"]  # nothing stored for the orphans
    finally:
        await store.close()
