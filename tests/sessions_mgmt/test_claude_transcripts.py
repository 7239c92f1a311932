"""Reading what the Claude Code CLI really writes, and resuming it with the right history.

The transcripts are hand-made in the CLI's shapes: metadata lines without a uuid, one assistant
entry per content block sharing `message.id`, parallel tool results hanging off the entry of
their call, progress and attachment entries in the chain, sibling branches from a rewind,
`last-prompt.leafUuid`, compaction boundaries with a preserved segment, legacy summaries,
sidechain lines, and a torn last line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.sessions_mgmt.transcripts import (
    CWD,
    PROJECT,
    SESSION,
    TOUR_HISTORY,
    Transcript,
    repo_tour,
    text,
    tool_result,
    tool_use,
)

from tether import AgentOptions, query
from tether.sessions.entries import active_chain
from tether.sessions.helpers import get_session_info_async, get_session_messages_async, list_sessions_async
from tether.sessions.history import chain_to_api_messages
from tether.sessions.stores.jsonl import JsonlStore
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("siblings", [False, True], ids=["chained-blocks", "sibling-blocks"])
async def test_a_claude_code_transcript_resumes_with_the_right_history(tmp_path: Path, siblings: bool) -> None:
    tour = repo_tour(siblings=siblings)
    tour.write(tmp_path, torn_tail=True)
    store = JsonlStore(tmp_path)
    model = ScriptedModel(["It is a web app."])
    options = AgentOptions(model=model, session_store=store, resume=SESSION, cwd=tmp_path)
    async for _ in query(prompt="What is it?", options=options):
        pass
    assert model.requests[0].messages == [*TOUR_HISTORY, {"role": "user", "content": [text("What is it?")]}]

    # The new turn went into the same file, hanging from the leaf of the active branch.
    loaded = await store.load({"project_key": PROJECT, "session_id": SESSION})
    assert loaded is not None
    prompt = next(e for e in loaded if e.get("message", {}).get("content") == "What is it?")
    assert prompt["parentUuid"] == "a6" and prompt["sessionId"] == SESSION
    assert not any(e.get("message", {}).get("id") == "msg_E" for e in loaded)  # the torn line is gone
    assert loaded[: len(tour.lines)] == tour.lines  # everything else is kept as written


async def test_session_messages_of_a_claude_code_transcript(tmp_path: Path) -> None:
    repo_tour().write(tmp_path, torn_tail=True)
    store = JsonlStore(tmp_path)
    messages = await get_session_messages_async(SESSION, store=store)
    assert [m.uuid for m in messages] == ["u1", "a1", "a2", "a3", "a4", "r1", "r2", "b1", "u2b", "a6"]
    info = await get_session_info_async(SESSION, store=store)
    assert (info.title, info.custom_title, info.tag, info.cwd, info.git_branch) == (
        "Repo tour",
        "Repo tour",
        "work",
        CWD,
        "main",
    )
    assert info.total_cost_usd == 0.125
    assert info.first_prompt == "List the files and read the README"
    assert info.created_at is not None and info.message_count is not None
    assert [i.session_id for i in await list_sessions_async(store=store)] == [SESSION]


async def test_a_later_last_prompt_leaf_picks_the_branch(tmp_path: Path) -> None:
    tour = repo_tour()
    tour.meta("last-prompt", lastPrompt="Summarise it", leafUuid="a5")  # a rewind back to the first branch
    chain = active_chain(tour.lines)
    assert [e["uuid"] for e in chain if e["type"] in ("user", "assistant")][-2:] == ["u2a", "a5"]
    # A message written after it wins again.
    tour.user("u3", "a5", "Thanks")
    assert active_chain(tour.lines)[-1]["uuid"] == "u3"


def compacted(*, preserved: bool) -> Transcript:
    t = Transcript()
    t.user("c1", None, "Start the refactor")
    t.assistant("c2", "c1", "msg_1", text("Started."))
    t.user("c3", "c2", "Remember: X=1")
    t.assistant("c4", "c3", "msg_2", text("Noted, X=1."))
    metadata: dict[str, Any] = {"trigger": "manual", "preTokens": 5000, "postTokens": 800}
    if preserved:
        metadata["preservedSegment"] = {"headUuid": "c3", "anchorUuid": "s1", "tailUuid": "c4"}
    t.chain("system", "cb", None, subtype="compact_boundary", logicalParentUuid="c4", compactMetadata=metadata)
    t.user(
        "s1",
        "cb",
        "This session is being continued from a previous conversation. Summary: a refactor was started.",
        isCompactSummary=True,
        isVisibleInTranscriptOnly=True,
    )
    t.user("c5", "s1", "What is X?")
    t.assistant("c6", "c5", "msg_3", text("X is 1."))
    t.meta("summary", summary="Refactor notes", leafUuid="c6")
    return t


SUMMARY = "This session is being continued from a previous conversation. Summary: a refactor was started."


async def test_compaction_keeps_the_summary_and_the_preserved_segment(tmp_path: Path) -> None:
    compacted(preserved=True).write(tmp_path)
    store = JsonlStore(tmp_path)
    model = ScriptedModel(["Still 1."])
    async for _ in query(prompt="And now?", options=AgentOptions(model=model, session_store=store, resume=SESSION)):
        pass
    assert model.requests[0].messages == [
        {"role": "user", "content": [text(SUMMARY), text("Remember: X=1")]},
        {"role": "assistant", "content": [text("Noted, X=1.")]},
        {"role": "user", "content": [text("What is X?")]},
        {"role": "assistant", "content": [text("X is 1.")]},
        {"role": "user", "content": [text("And now?")]},
    ]
    info = await get_session_info_async(SESSION, store=store)
    assert info.title == "Refactor notes"  # a legacy summary line names the session


def test_compaction_without_a_preserved_segment_starts_at_the_summary() -> None:
    chain = active_chain(compacted(preserved=False).lines)
    assert [e["uuid"] for e in chain] == ["cb", "s1", "c5", "c6"]
    assert chain_to_api_messages(chain)[0] == {"role": "user", "content": [text(SUMMARY), text("What is X?")]}


def test_an_explicit_leaf_inside_a_response_cuts_it_there() -> None:
    lines = repo_tour().lines
    assert [e["uuid"] for e in active_chain(lines, "a3")] == ["at1", "u1", "a1", "a2", "a3"]
    # the results off the branch (r2), then the branch's own (r1): the order of the Claude SDK's get_session_messages
    assert [e["uuid"] for e in active_chain(lines, "r1")][-4:] == ["a3", "a4", "r2", "r1"]


async def test_a_crash_between_parallel_results_closes_only_the_missing_one(tmp_path: Path) -> None:
    t = Transcript()
    t.user("u1", None, "Run both")
    t.assistant("a1", "u1", "msg_A", tool_use("toolu_1", "Bash", command="true"))
    t.assistant("a2", "a1", "msg_A", tool_use("toolu_2", "Bash", command="sleep 999"))
    t.user("r1", "a1", [tool_result("toolu_1", "ok")])
    t.write(tmp_path)
    store = JsonlStore(tmp_path)
    model = ScriptedModel(["Recovered."])
    async for _ in query(prompt="Well?", options=AgentOptions(model=model, session_store=store, resume=SESSION)):
        pass
    history = model.requests[0].messages
    assert [b["id"] for b in history[1]["content"]] == ["toolu_1", "toolu_2"]
    results = [b for b in history[2]["content"] if b["type"] == "tool_result"]
    assert [(b["tool_use_id"], b.get("is_error", False)) for b in results] == [("toolu_1", False), ("toolu_2", True)]
    assert history[2]["content"][-1] == text("Well?")
