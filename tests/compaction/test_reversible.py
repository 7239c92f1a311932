"""Compaction is reversible: resume in another process, resume or fork before the boundary, O(1) forks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.compaction.support import (
    CLAUDE,
    WINDOW_ENV,
    SmallWindow,
    claude_options,
    entries_of,
    result_of,
    session_id_of,
    small_window_server,
)
from tests.fakes import FakeAnthropicServer

from tether import AgentClient, get_session_messages_async
from tether._vocabulary.store import SessionStore
from tether.sessions.entries import active_chain, is_compact_boundary
from tether.sessions.history import chain_to_api_messages
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import run_query

pytestmark = pytest.mark.anyio

WINDOW = 2_000


async def compacted_session(server: FakeAnthropicServer, project: Path, store: SessionStore | None) -> str:
    """A session of 30 turns on a `WINDOW`-token window: compacted at least once."""
    options = claude_options(server, project, store, env={WINDOW_ENV: str(WINDOW)})
    async with AgentClient(options) as client:
        for turn in range(30):
            await client.query(f"Turn {turn}: the code word is word{turn}. " + "Keep it in mind. " * 6)
            async for _ in client.receive_response():
                pass
        session_id = client.session_id or ""
    return session_id


def originals_before(entries: list[dict[str, Any]], boundary: dict[str, Any]) -> list[dict[str, Any]]:
    """The chain the first boundary replaced (what the model saw up to its old leaf)."""
    return active_chain(entries, boundary["logicalParentUuid"])


RESUME_CHILD = textwrap.dedent(
    """
    import sys, anyio
    from tether import AgentOptions, query

    async def main():
        url, session_id, window = sys.argv[1], sys.argv[2], sys.argv[3]
        env = {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "test-key", "CLAUDE_CODE_AUTO_COMPACT_WINDOW": window}
        options = AgentOptions(model="MODEL", env=env, resume=session_id, tools=[])
        async for message in query(prompt="What was the last code word?", options=options):
            if type(message).__name__ == "ResultMessage":
                print(message.subtype, flush=True)

    anyio.run(main)
    """
).replace("MODEL", CLAUDE)


async def test_after_compaction_a_resume_in_a_new_process_sends_summary_and_tail(project: Path) -> None:
    from tether.sessions.urls import open_store

    provider = SmallWindow(WINDOW)
    store = open_store(None, shared=True)  # the default store (SQLite under TETHER_HOME), as the child's
    with small_window_server(provider) as server:
        session_id = await compacted_session(server, project, None)
        entries = await entries_of(store, project, session_id)
        expected = chain_to_api_messages(active_chain(entries))
        before = len(server.requests)
        done = subprocess.run(
            [sys.executable, "-c", RESUME_CHILD, server.url, session_id, str(WINDOW)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "success"
        sent = server.requests[before:]

    assert provider.summaries >= 1 and provider.too_long == 0
    assert len(sent) == 1  # no compaction needed: summary + tail is small
    messages = sent[0]["messages"]
    assert json.dumps(messages[0]).count("This session is being continued") == 1
    assert f"SUMMARY {provider.summaries}" in json.dumps(messages[0])
    assert "Turn 0:" not in json.dumps(messages)  # replaced by the summary...
    assert "Turn 29:" in json.dumps(messages)  # ...but what followed it is there
    assert _texts(messages[:-1]) == _texts(expected)
    assert _texts(messages[-1:]) == ["What was the last code word?"]


@pytest.mark.parametrize("fork", [False, True])
async def test_resume_at_a_message_before_the_boundary_gets_the_full_history_back(
    project: Path, store: SessionStore, fork: bool
) -> None:
    provider = SmallWindow(WINDOW)
    with small_window_server(provider) as server:
        session_id = await compacted_session(server, project, store)
        entries = await entries_of(store, project, session_id)
        boundary = next(e for e in entries if is_compact_boundary(e))
        replaced = originals_before(entries, boundary)
        # The answer to Turn 2: long before the first boundary.
        point = [e for e in replaced if e["type"] == "assistant"][2]
        before = len(server.requests)
        options = claude_options(
            server,
            project,
            store,
            env={WINDOW_ENV: str(WINDOW * 10)},  # room for the whole earlier history
            resume=session_id,
            resume_session_at=point["uuid"],
            fork_session=fork,
        )
        messages = (await run_query("What were the first code words?", options)).messages
        sent = server.requests[before:]

    assert result_of(messages).subtype == "success"
    assert len(sent) == 1
    history = sent[0]["messages"]
    texts = _texts(history)
    assert texts[:-1] == _texts(chain_to_api_messages(active_chain(entries, point["uuid"])))
    assert [t for t in texts if t.startswith("Turn ")] == [t for t in texts if t.startswith("Turn ")][:3]
    assert any(t.startswith("Turn 0:") for t in texts) and any(t.startswith("Turn 2:") for t in texts)
    assert not any("This session is being continued" in t or t.startswith("Turn 3:") for t in texts)
    assert (session_id_of(messages) != session_id) is fork
    if fork:  # the source is untouched
        assert await entries_of(store, project, session_id) == entries


async def test_a_fork_either_side_of_a_boundary_copies_nothing(project: Path, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "forks.db")
    provider = SmallWindow(WINDOW)
    try:
        with small_window_server(provider) as server:
            session_id = await compacted_session(server, project, store)
            entries = await entries_of(store, project, session_id)
            boundary = next(e for e in entries if is_compact_boundary(e))
            before_boundary = [e for e in originals_before(entries, boundary) if e["type"] == "assistant"][-1]
            after_boundary = [e for e in active_chain(entries) if e["type"] == "assistant"][-1]
            for point, sees_summary in ((before_boundary, False), (after_boundary, True)):
                rows = _rows(tmp_path / "forks.db")
                options = claude_options(
                    server,
                    project,
                    store,
                    env={WINDOW_ENV: str(WINDOW * 10)},
                    resume=session_id,
                    resume_session_at=point["uuid"],
                    fork_session=True,
                )
                before = len(server.requests)
                messages = (await run_query("Go on from here.", options)).messages
                fork_id = session_id_of(messages)
                fork_entries = await entries_of(store, project, fork_id)
                cut = next(i for i, e in enumerate(entries) if e.get("uuid") == point["uuid"]) + 1
                # The fork's view is the source's up to the point, then its own run; only that run was written.
                assert fork_entries[:cut] == entries[:cut]
                assert _rows(tmp_path / "forks.db") - rows == len(fork_entries) - cut <= 4
                sent = json.dumps(server.requests[before]["messages"])
                assert ("This session is being continued" in sent) is sees_summary
                assert ("Turn 0:" in sent) is not sees_summary
    finally:
        await store.close()


async def test_session_messages_give_the_active_chain_or_the_full_history(project: Path, store: SessionStore) -> None:
    provider = SmallWindow(WINDOW)
    with small_window_server(provider) as server:
        session_id = await compacted_session(server, project, store)
    active = await get_session_messages_async(session_id, store=store)
    full = await get_session_messages_async(session_id, store=store, full_history=True)
    prompts = [t for t in _message_texts(full) if t.startswith("Turn ")]
    assert [p.split(":")[0] for p in prompts] == [f"Turn {n}" for n in range(30)]  # each once, in order
    assert not any("This session is being continued" in t for t in _message_texts(full))
    assert _message_texts(active)[0].startswith("This session is being continued")
    assert len(active) < len(full)
    assert full[-1].uuid == active[-1].uuid  # both end at the newest message
    assert [m.uuid for m in await get_session_messages_async(session_id, store=store, limit=2, offset=1)] == [
        m.uuid for m in active[1:3]
    ]


def _rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        # the entries of transcripts (each turn also writes its lease records beside them)
        query = "SELECT count(*) FROM tether_entries WHERE data NOT LIKE '%\"tether-lease\"%'"
        return int(db.execute(query).fetchone()[0])


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [block["text"] for m in messages for block in m["content"] if block.get("type") == "text"]


def _message_texts(messages: list[Any]) -> list[str]:
    out = []
    for m in messages:
        content = m.message["content"]
        out.append(content if isinstance(content, str) else "".join(b.get("text", "") for b in content))
    return out
