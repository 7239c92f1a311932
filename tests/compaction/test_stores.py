"""Compaction on every store: the boundary is only entries, so each store keeps and reads it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from tests.compaction.support import ASKS_FOR_SUMMARY, boundaries, result_of

from tether import AgentOptions, get_session_messages_async
from tether._vocabulary.store import SessionStore
from tether.models.base import ModelRequest
from tether.testing import FunctionModel, run_query

pytestmark = pytest.mark.anyio


def summarising(request: ModelRequest) -> str:
    if ASKS_FOR_SUMMARY in json.dumps(request.messages):
        return "<summary>The user said alpha, beta and gamma.</summary>"
    return "ok"


async def test_compact_then_resume_on_every_store(project: Path, any_store: SessionStore) -> None:
    model = FunctionModel(summarising)
    options = AgentOptions(model=model, tools=[], cwd=project, session_store=any_store)
    session_id = None
    for prompt in ("alpha", "beta", "gamma", "/compact"):
        messages = (await run_query(prompt, dataclasses.replace(options, resume=session_id))).messages
        session_id = session_id or str(messages[0].data["session_id"])  # type: ignore[union-attr]
    assert len(boundaries(messages)) == 1 and not result_of(messages).is_error

    await run_query("delta", dataclasses.replace(options, resume=session_id))
    sent = model.requests[-1].messages
    said = [block["text"] for message in sent for block in message["content"] if block.get("type") == "text"]
    assert said[0].startswith("This session is being continued") and "alpha, beta and gamma" in said[0]
    assert "alpha" not in said[1:] and said[-1] == "delta"  # the earlier prompts are only in the summary
    assert session_id is not None
    full = await get_session_messages_async(session_id, store=any_store, full_history=True)
    assert [m.message["content"] for m in full if m.type == "user"] == ["alpha", "beta", "gamma", "delta"]
