"""A tether-compacted session as claude-agent-sdk reads it, and Claude Code's compactions as tether reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import claude_agent_sdk
import pytest
from tests.compaction.support import WINDOW_ENV, SmallWindow, claude_options, entries_of, small_window_server

from tether import AgentClient, AgentOptions, get_session_messages_async, query
from tether._vocabulary.store import SessionStore
from tether.sessions.entries import full_chain, is_compact_boundary
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.memory import MemoryStore
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio

WINDOW = 2_000


async def compact_in(store: SessionStore, project: Path) -> str:
    provider = SmallWindow(WINDOW)
    with small_window_server(provider) as server:
        options = claude_options(server, project, store, env={WINDOW_ENV: str(WINDOW)})
        async with AgentClient(options) as client:
            for turn in range(40):
                await client.query(f"Turn {turn}: note {turn}. " + "Some more words to fill the window. " * 5)
                async for _ in client.receive_response():
                    pass
            session_id = client.session_id or ""
    assert provider.summaries >= 2
    return session_id


def as_pairs(messages: list[Any]) -> list[tuple[str, str, Any]]:
    return [(m.type, m.uuid, m.message) for m in messages]


async def test_the_sdk_reads_a_tether_jsonl_directory_with_the_same_active_chain(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude_home = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_home))
    store = JsonlStore(claude_home)
    session_id = await compact_in(store, project)

    ours = await get_session_messages_async(session_id, store=store)
    theirs = claude_agent_sdk.get_session_messages(session_id, directory=str(project))
    assert as_pairs(theirs) == as_pairs(ours)
    assert json.dumps(theirs[0].message).count("This session is being continued") == 1
    # The SDK's own fork of it (every uuid remapped, logicalParentUuid too) resumes in tether on that chain.
    fork = claude_agent_sdk.fork_session(session_id, directory=str(project))
    model = ScriptedModel(["Still here."])
    async for _ in query(
        prompt="and now?", options=AgentOptions(model=model, session_store=store, resume=fork.session_id, cwd=project)
    ):
        pass
    sent = model.requests[0].messages
    assert json.dumps(sent[0]).count("This session is being continued") == 1
    assert [m["role"] for m in sent][-1] == "user" and "Turn 39:" in json.dumps(sent)
    # And the fork keeps the full history behind its boundaries, as the source does.
    forked = await entries_of(store, project, fork.session_id)
    assert sum(is_compact_boundary(e) for e in forked) == sum(
        is_compact_boundary(e) for e in await entries_of(store, project, session_id)
    )
    assert "Turn 0:" in json.dumps(full_chain(forked))


async def test_the_sdk_reads_a_tether_store_through_its_store_protocol(project: Path) -> None:
    store = MemoryStore()
    session_id = await compact_in(store, project)

    ours = await get_session_messages_async(session_id, store=store)
    theirs = await claude_agent_sdk.get_session_messages_from_store(store, session_id, directory=str(project))  # type: ignore[arg-type]
    assert as_pairs(theirs) == as_pairs(ours)
    assert theirs[0].type == "user" and "This session is being continued" in json.dumps(theirs[0].message)


def claude_code_compaction(session_id: str, cwd: str) -> list[dict[str, Any]]:
    """A transcript compacted by Claude Code: the preserved segment (c3, c4) relinked after the summary."""

    def entry(kind: str, uuid: str, parent: str | None, **extra: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "uuid": uuid,
            "parentUuid": parent,
            "sessionId": session_id,
            "cwd": cwd,
            "isSidechain": False,
            "timestamp": "2026-01-01T00:00:00.000Z",
            **extra,
        }

    def user(uuid: str, parent: str | None, text: str, **extra: Any) -> dict[str, Any]:
        return entry("user", uuid, parent, message={"role": "user", "content": text}, **extra)

    def assistant(uuid: str, parent: str, text: str) -> dict[str, Any]:
        message = {"id": f"msg_{uuid}", "role": "assistant", "content": [{"type": "text", "text": text}]}
        return entry("assistant", uuid, parent, message=message)

    metadata = {
        "trigger": "auto",
        "preTokens": 9000,
        "preservedSegment": {"headUuid": "c3", "anchorUuid": "s1", "tailUuid": "c4"},
    }
    return [
        user("c1", None, "Start the refactor"),
        assistant("c2", "c1", "Started."),
        user("c3", "c2", "Remember: X=1"),
        assistant("c4", "c3", "Noted, X=1."),
        entry("system", "cb", None, subtype="compact_boundary", logicalParentUuid="c4", compactMetadata=metadata),
        user(
            "s1",
            "cb",
            "This session is being continued from a previous conversation. Summary: a refactor.",
            isCompactSummary=True,
            isVisibleInTranscriptOnly=True,
        ),
        user("c5", "s1", "What is X?"),
        assistant("c6", "c5", "X is 1."),
    ]


async def test_tether_reads_claude_codes_compaction_active_and_in_full(project: Path) -> None:
    session_id = "7f3c9a52-1b2d-4c8e-9f00-aa11bb22cc34"
    store = MemoryStore()
    from tether.sessions.keys import project_key_for_directory

    key = {"project_key": project_key_for_directory(project), "session_id": session_id}
    await store.append(key, claude_code_compaction(session_id, str(project)))  # type: ignore[arg-type]
    active = await get_session_messages_async(session_id, store=store)
    full = await get_session_messages_async(session_id, store=store, full_history=True)
    assert [m.uuid for m in active] == ["s1", "c3", "c4", "c5", "c6"]  # the segment relinked after the summary
    assert [m.uuid for m in full] == ["c1", "c2", "c3", "c4", "c5", "c6"]  # each message once, no summary
