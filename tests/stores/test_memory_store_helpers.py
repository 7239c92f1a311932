"""`InMemorySessionStore` (tether's `MemoryStore`) test helpers, as the Claude Agent SDK's."""

from __future__ import annotations

import anyio

from tether import InMemorySessionStore, MemoryStore, SessionKey


def test_get_entries_size_and_clear_behave_as_the_sdk_helpers() -> None:
    store = InMemorySessionStore()
    assert InMemorySessionStore is MemoryStore
    main = SessionKey(project_key="p", session_id="s1")
    side = SessionKey(project_key="p", session_id="s1", subpath="subagents/agent-1")
    entries = [{"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}]
    anyio.run(store.append, main, entries)
    anyio.run(store.append, side, [{"type": "user", "uuid": "u2"}])
    anyio.run(store.append, SessionKey(project_key="q", session_id="s2"), [{"type": "user", "uuid": "u3"}])

    assert store.get_entries(main) == entries
    assert store.get_entries(SessionKey(project_key="p", session_id="absent")) == []
    assert store.size == 2  # main transcripts only, not the subagent one
    store.clear()
    assert store.size == 0
    assert store.get_entries(main) == []
