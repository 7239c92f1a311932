"""Long sessions on a small window: compaction as entries, never a deletion, over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.compaction.support import (
    WINDOW_ENV,
    SmallWindow,
    boundaries,
    claude_options,
    entries_of,
    fake_tokens,
    small_window_server,
    statuses,
    summaries,
)

from tether import AgentClient, Message, ResultMessage, get_session_messages_async
from tether._vocabulary.store import SessionStore

pytestmark = pytest.mark.anyio

WINDOW = 3_000
FILLER = "The quick brown fox jumps over the lazy dog while the session keeps growing. " * 2


async def test_a_300_turn_session_on_a_small_window_never_passes_it_and_keeps_every_entry(
    project: Path, store: SessionStore
) -> None:
    provider = SmallWindow(WINDOW)
    seen: set[str] = set()
    counts: list[int] = []
    messages: list[Message] = []
    with small_window_server(provider) as server:
        options = claude_options(server, project, store, env={WINDOW_ENV: str(WINDOW)})
        async with AgentClient(options) as client:
            for turn in range(300):
                await client.query(f"Turn {turn}: remember the number {turn * 7}. {FILLER}")
                async for message in client.receive_response():
                    messages.append(message)
                    if isinstance(message, ResultMessage):
                        assert message.subtype == "success", message.errors
                entries = await entries_of(store, project, client.session_id or "")
                counts.append(len(entries))
                seen |= {e["uuid"] for e in entries if e.get("uuid")}
            session_id = client.session_id or ""
        requests = server.requests

    # No request ever went over the window, though the history grew far past it.
    assert provider.too_long == 0
    assert max(fake_tokens(body) for body in requests) <= WINDOW
    assert provider.summaries >= 5
    compactions = boundaries(messages)
    assert len(compactions) == provider.summaries
    assert all(b.data["compact_metadata"]["trigger"] == "auto" for b in compactions)
    assert [s["status"] for s in statuses(messages)][:2] == ["compacting", None]
    assert len(summaries(messages)) == len(compactions)
    # Nothing written was ever taken away: the store only grew, and holds every entry seen.
    final = await entries_of(store, project, session_id)
    assert counts == sorted(counts)
    assert seen <= {e["uuid"] for e in final if e.get("uuid")}
    written = json.dumps(final)
    assert all(f"remember the number {turn * 7}." in written for turn in range(300))
    # The full history reads every prompt once, in order; the active chain starts at the last summary.
    full = await get_session_messages_async(session_id, store=store, full_history=True)
    prompts = [_text(m.message) for m in full if m.type == "user" and "remember the number" in _text(m.message)]
    assert len(prompts) == 300 and all(f"Turn {turn}:" in prompts[turn] for turn in range(300))
    active = await get_session_messages_async(session_id, store=store)
    assert _text(active[0].message).startswith("This session is being continued")
    assert f"SUMMARY {provider.summaries}" in _text(active[0].message)
    assert len(active) < 40
    # The last request sent that summary, then what followed it.
    last = requests[-1]["messages"]
    assert f"SUMMARY {provider.summaries}" in json.dumps(last[0]) and "Turn 299:" in json.dumps(last[-1])


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(str(b.get("text", "")) for b in content or [] if isinstance(b, dict))
