"""A resume read from the stored JSON (`read_active`) gives what `load` + `active_chain` give, or
declines (None) where it cannot tell; and the SQLite store's `load_texts` is `load` undecoded."""

from __future__ import annotations

import json
import uuid as uuid_module
from pathlib import Path
from typing import Any

import pytest

from tether.sessions.entries import (
    active_chain,
    leaf_of,
    make_compact_boundary,
    make_entry,
    make_meta_entry,
)
from tether.sessions.helpers import chain_messages
from tether.sessions.history import history_of
from tether.sessions.store import StoredTexts
from tether.sessions.stored_view import read_active, read_chain_page
from tether.sessions.stores._core import encode_entries, leaf_from_end
from tether.sessions.stores.sqlite import SQLiteStore
from tether.types import SessionKey

SID = "5b0c8f3e-1d2a-4c6b-9e7f-0a1b2c3d4e5f"


class _Builder:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.leaf: str | None = None
        self.count = 0

    def add(self, kind: str, content: Any, *, parent: Any = "leaf", message_id: str | None = None, **extra: Any) -> str:
        self.count += 1
        message: dict[str, Any] = {"role": kind, "content": content}
        if kind == "assistant":
            message.update(id=message_id or f"msg_{self.count}", model="m", usage={"input_tokens": 3})
        entry = make_entry(
            kind, message, session_id=SID, parent_uuid=self.leaf if parent == "leaf" else parent, cwd="/w", **extra
        )
        self.entries.append(entry)
        if not extra.get("isSidechain"):
            self.leaf = entry["uuid"]
        return str(entry["uuid"])

    def turn(self, index: int, *, answered: bool = True) -> None:
        self.add("user", f"prompt {index}")
        call = f"toolu_{index}"
        self.add("assistant", [{"type": "tool_use", "id": call, "name": "Read", "input": {"path": f"/f{index}"}}])
        if answered:
            self.add("user", [{"type": "tool_result", "tool_use_id": call, "content": f"out {index}"}])
            self.add("assistant", [{"type": "text", "text": f"answer {index}"}])


def _full(entries: list[dict[str, Any]], at_uuid: str | None = None) -> tuple[Any, ...]:
    chain = active_chain(entries, at_uuid)
    messages, unanswered = history_of(chain)
    return leaf_of(entries), chain[-1]["uuid"] if chain else None, messages, unanswered


def _lean(entries: list[dict[str, Any]], at_uuid: str | None = None) -> tuple[Any, ...] | None:
    view = read_active(StoredTexts(encode_entries(entries), leaf_from_end(entries)), at_uuid)
    if view is None:
        return None
    messages, unanswered = history_of(view.chain)
    whole_meta = [e for e in view.whole if not e.get("uuid")]
    assert whole_meta == [e for e in entries if not e.get("uuid")]  # every metadata entry, whole, in order
    return view.leaf, view.chain[-1]["uuid"] if view.chain else None, messages, unanswered


def _sessions() -> dict[str, tuple[list[dict[str, Any]], str | None]]:
    plain = _Builder()
    plain.add("user", "hello")  # a typed prompt: string content
    for index in range(5):
        plain.turn(index)
    plain.entries.append(make_meta_entry("cost-state", session_id=SID, total_cost_usd=0.5))
    plain.entries.append(make_meta_entry("custom-title", session_id=SID, customTitle="t"))
    plain.turn(5, answered=False)  # a tool call left open at the end

    branched = _Builder()
    for index in range(3):
        branched.turn(index)
    fork_point = branched.leaf
    branched.turn(3)
    branched.leaf = fork_point
    branched.turn(4)  # a second branch from the same point: the newest is active
    middle = branched.entries[5]["uuid"]

    rewound = _Builder()
    for index in range(3):
        rewound.turn(index)
    rewound.entries.append(make_meta_entry("last-prompt", session_id=SID, leafUuid=rewound.entries[3]["uuid"]))

    sidechain = _Builder()
    sidechain.turn(0)
    sidechain.add("user", "side prompt", isSidechain=True)
    sidechain.add("user", "meta note", isMeta=True)
    sidechain.add("assistant", [{"type": "text", "text": "after"}])

    compacted = _Builder()
    for index in range(4):
        compacted.turn(index)
    boundary = make_compact_boundary(
        session_id=SID, cwd="/w", logical_parent_uuid=compacted.leaf, metadata={"trigger": "auto", "preTokens": 9}
    )
    compacted.entries.append(boundary)
    compacted.leaf = boundary["uuid"]
    compacted.add("user", "summary of what came before", isCompactSummary=True)
    compacted.turn(9)

    odd = _Builder()
    odd.add("user", [{"type": "text", "text": "deep"}, "not a block", {"type": "image", "source": {}}])
    odd.add("assistant", [{"type": "tool_use", "id": "a", "name": "X", "input": {}}])
    odd.add("user", "typed over an unanswered call")  # a mid-chain call with no result
    odd.add("assistant", [{"type": "text", "text": "ok", "nested": [[[[1.5, None, True]]]]}])
    odd.entries[-1]["message"].pop("content")
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    odd.add("user", "go on")
    odd.add("assistant", [{"type": "tool_use", "id": "d", "name": "X", "input": {"deep": deep}}])  # too deep: skipped
    odd.add("user", [{"type": "tool_result", "tool_use_id": "d", "content": "answers a skipped call"}])
    odd.add("assistant", [{"type": "text", "text": "[" * 300}])  # brackets in a string: not nesting

    return {
        "plain": (plain.entries, None),
        "branched": (branched.entries, None),
        "branched at a middle entry": (branched.entries, middle),
        "rewound by last-prompt": (rewound.entries, None),
        "sidechain and meta entries": (sidechain.entries, None),
        "compacted": (compacted.entries, None),
        "odd contents": (odd.entries, None),
    }


@pytest.mark.parametrize("name", list(_sessions()))
def test_read_active_matches_load_and_active_chain(name: str) -> None:
    entries, at_uuid = _sessions()[name]
    assert _lean(entries, at_uuid) == _full(entries, at_uuid)


def test_read_active_declines_what_it_cannot_tell() -> None:
    split = _Builder()
    split.turn(0)
    first = split.add("assistant", [{"type": "thinking", "thinking": "hm"}], message_id="msg_same")
    split.add("assistant", [{"type": "text", "text": "two blocks, one response"}], message_id="msg_same", parent=first)
    assert _lean(split.entries) is None  # a split response: `active_chain` puts it back together

    plain = _Builder()
    plain.turn(0)
    texts = encode_entries(plain.entries)
    leaf = leaf_from_end(plain.entries)
    assert read_active(StoredTexts(texts, leaf)) is not None
    assert read_active(StoredTexts([*texts, "{not json"], leaf)) is None  # damaged: `load` skips and logs
    assert read_active(StoredTexts(texts, "another-leaf")) is None  # `load` repairs the stored leaf
    assert read_active(StoredTexts(texts, leaf), str(uuid_module.uuid4())) is None  # `load` names the missing entry

    relinked = _Builder()
    for index in range(3):
        relinked.turn(index)
    anchor, head, tail = relinked.entries[3]["uuid"], relinked.entries[8]["uuid"], relinked.entries[11]["uuid"]
    segment = {"headUuid": head, "anchorUuid": anchor, "tailUuid": tail}
    boundary = make_compact_boundary(
        session_id=SID, cwd="/w", logical_parent_uuid=relinked.leaf, metadata={"preservedSegment": segment}
    )
    relinked.entries.append(boundary)
    assert _lean(relinked.entries) is None  # the preserved segment hangs elsewhere: `active_chain` relinks it


@pytest.mark.anyio
async def test_sqlite_load_texts_is_load_undecoded(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    try:
        builder = _Builder()
        for index in range(300):  # more than a read the store decodes on the event loop
            builder.turn(index)
        key = SessionKey(project_key="p", session_id=SID)
        await store.append(key, builder.entries[:10])
        await store.append(key, builder.entries[10:])
        stored = await store.load_texts(key)
        assert stored is not None and stored.leaf == builder.leaf
        assert [json.loads(text) for text in stored.texts] == await store.load(key)
        assert await store.load_texts(SessionKey(project_key="p", session_id=str(uuid_module.uuid4()))) is None
    finally:
        await store.close()


@pytest.mark.parametrize("name", list(_sessions()))
def test_a_page_of_messages_matches_load_and_active_chain(name: str) -> None:
    entries, _ = _sessions()[name]
    stored = StoredTexts(encode_entries(entries), leaf_from_end(entries))
    whole = [message for _, message in chain_messages(active_chain(entries), SID)]
    for limit, offset in ((None, 0), (3, 0), (2, 3), (None, 5), (4, 100)):
        page = read_chain_page(stored, limit, offset)
        assert page is not None
        expected = whole[offset:] if limit is None else whole[offset : offset + limit]
        assert [message for _, message in chain_messages(page, SID)] == expected


def test_a_page_is_declined_where_load_must_read() -> None:
    plain = _Builder()
    plain.turn(0)
    texts = encode_entries(plain.entries)
    assert read_chain_page(StoredTexts([*texts, "[]"], leaf_from_end(plain.entries)), None, 0) is None
    assert read_chain_page(StoredTexts(texts, None), None, 0) is None
