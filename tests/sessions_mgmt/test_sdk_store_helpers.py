"""The SDK-shaped helpers behave as the Claude Agent SDK's where tether's own forms differ (issue 22):
`list_sessions_from_store` on a user's store, `fork_session_via_store`, subagents stored without
their session, the SDK's paging, and the lines tether adds to Claude Code's transcripts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tether import (
    MemoryStore,
    fold_session_summary,
    fork_session_via_store,
    get_session_messages,
    get_session_messages_async,
    get_subagent_messages_from_store,
    list_sessions,
    list_sessions_from_store,
    list_subagents_from_store,
    project_key_for_directory,
    rename_session,
    tag_session,
)
from tether._vocabulary.store import SessionKey, SessionStoreEntry, SessionStoreListEntry, SessionSummaryEntry
from tether.sessions.entries import make_entry
from tether.sessions.stores.jsonl import JsonlStore

pytestmark = pytest.mark.anyio

IDS = [f"00000000-0000-4000-8000-00000000001{n}" for n in range(10)]


def prompt_and_answer(session_id: str, prompt: str) -> list[dict[str, Any]]:
    """A prompt and its answer, without the `cwd` Claude Code records (so a listing shows the project's)."""
    asked = make_entry("user", {"role": "user", "content": prompt}, session_id=session_id, parent_uuid=None, cwd="")
    said = make_entry(
        "assistant",
        {"id": "msg_1", "role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        session_id=session_id,
        parent_uuid=asked["uuid"],
        cwd="",
    )
    for entry in (asked, said):
        entry.pop("cwd", None)
    return [asked, said]


class SidecarStore:
    """A store as a user writes one from the SDK's documentation: entries per key, `list_sessions`,
    and summaries folded with `fold_session_summary` while `folding` is on (a store that adopted
    summaries late, or whose summary write failed). It records which sessions were loaded."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], list[SessionStoreEntry]] = {}
        self.mtimes: dict[tuple[str, str], int] = {}
        self.summaries: dict[tuple[str, str], SessionSummaryEntry] = {}
        self.folding = True
        self.clock = 1_000
        self.loaded: list[str] = []

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        self.entries.setdefault((key["project_key"], key["session_id"], key.get("subpath") or ""), []).extend(entries)
        if key.get("subpath"):
            return
        self.clock += 1
        home = (key["project_key"], key["session_id"])
        self.mtimes[home] = self.clock
        if self.folding:
            data = fold_session_summary(self.summaries.get(home), key, entries)["data"]
            self.summaries[home] = SessionSummaryEntry(session_id=key["session_id"], mtime=self.clock, data=data)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        self.loaded.append(key["session_id"])
        found = self.entries.get((key["project_key"], key["session_id"], key.get("subpath") or ""))
        return list(found) if found else None

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        return [{"session_id": sid, "mtime": mtime} for (pk, sid), mtime in self.mtimes.items() if pk == project_key]

    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        return [summary for (pk, _), summary in self.summaries.items() if pk == project_key]


async def test_fresh_summaries_list_without_a_load(project: Path) -> None:
    store = SidecarStore()
    key = project_key_for_directory(project)
    for session_id, prompt in ((IDS[0], "first"), (IDS[1], "second")):
        await store.append(SessionKey(project_key=key, session_id=session_id), prompt_and_answer(session_id, prompt))
    infos = await list_sessions_from_store(store, str(project))
    assert [(i.session_id, i.summary, i.cwd) for i in infos] == [
        (IDS[1], "second", os.path.realpath(project)),  # no cwd recorded: the project's directory, as the SDK shows
        (IDS[0], "first", os.path.realpath(project)),
    ]
    assert store.loaded == []


async def test_stale_and_missing_summaries_are_folded_again_only_for_the_page(project: Path) -> None:
    store = SidecarStore()
    key = project_key_for_directory(project)
    await store.append(SessionKey(project_key=key, session_id=IDS[0]), prompt_and_answer(IDS[0], "kept"))
    await store.append(SessionKey(project_key=key, session_id=IDS[1]), prompt_and_answer(IDS[1], "stale"))
    store.folding = False
    await store.append(SessionKey(project_key=key, session_id=IDS[1]), [{"type": "x", "customTitle": "renamed"}])
    for number in (2, 3, 4):
        await store.append(SessionKey(project_key=key, session_id=IDS[number]), prompt_and_answer(IDS[number], "new"))

    page = await list_sessions_from_store(store, str(project), limit=2)
    assert [i.session_id for i in page] == [IDS[4], IDS[3]]
    assert sorted(store.loaded) == [IDS[3], IDS[4]]  # the loads are bounded by the page
    store.loaded.clear()
    everything = {i.session_id: i.summary for i in await list_sessions_from_store(store, str(project))}
    assert everything == {IDS[0]: "kept", IDS[1]: "renamed", IDS[2]: "new", IDS[3]: "new", IDS[4]: "new"}
    assert IDS[0] not in store.loaded  # its summary is fresh

    del store.mtimes[(key, IDS[0])]  # the store no longer lists it: its summary is not shown
    assert IDS[0] not in {i.session_id for i in await list_sessions_from_store(store, str(project))}


async def test_subagent_transcripts_and_sessions_with_nothing_to_show_are_not_listed(project: Path) -> None:
    store = SidecarStore()
    key = project_key_for_directory(project)
    sidechain = prompt_and_answer(IDS[1], "a subagent's task")
    for entry in sidechain:
        entry["isSidechain"] = True
    await store.append(SessionKey(project_key=key, session_id=IDS[0]), prompt_and_answer(IDS[0], "real"))
    await store.append(SessionKey(project_key=key, session_id=IDS[1]), sidechain)
    await store.append(SessionKey(project_key=key, session_id=IDS[2]), [{"type": "x", "timestamp": "2026-01-01"}])
    assert [i.session_id for i in await list_sessions_from_store(store, str(project), limit=1)] == [IDS[0]]
    store.summaries.clear()  # folded from the entries: the same answer
    assert [i.session_id for i in await list_sessions_from_store(store, str(project))] == [IDS[0]]


async def test_without_summaries_a_session_that_fails_to_load_shows_an_empty_row(project: Path) -> None:
    class FlakyStore(SidecarStore):
        async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
            if key["session_id"] == IDS[1]:
                raise OSError("the disk is gone")
            return await super().load(key)

    store = FlakyStore()
    store.folding = False
    key = project_key_for_directory(project)
    for session_id in IDS[:2]:
        await store.append(SessionKey(project_key=key, session_id=session_id), prompt_and_answer(session_id, "hi"))
    store.summaries.clear()
    rows = {i.session_id: i.summary for i in await list_sessions_from_store(store, str(project))}
    assert rows == {IDS[0]: "hi", IDS[1]: ""}


async def test_fork_session_via_store_writes_the_sdks_fork(project: Path) -> None:
    store = MemoryStore()
    key = SessionKey(project_key=project_key_for_directory(project), session_id=IDS[0])
    source = prompt_and_answer(IDS[0], "one") + prompt_and_answer(IDS[0], "two")
    source[2]["parentUuid"] = source[1]["uuid"]
    await store.append(key, source)

    fork = await fork_session_via_store(store, IDS[0], str(project), up_to_message_id=source[1]["uuid"])
    written = store.get_entries(SessionKey(project_key=key["project_key"], session_id=fork.session_id))
    messages, title = written[:-1], written[-1]
    assert [m["forkedFrom"] for m in messages] == [
        {"sessionId": IDS[0], "messageUuid": source[0]["uuid"]},
        {"sessionId": IDS[0], "messageUuid": source[1]["uuid"]},
    ]
    assert {m["sessionId"] for m in messages} == {fork.session_id}
    assert messages[1]["parentUuid"] == messages[0]["uuid"] and messages[0]["uuid"] != source[0]["uuid"]
    assert title["type"] == "custom-title" and title["customTitle"] == "one (fork)"
    assert title["uuid"] and title["timestamp"]
    with pytest.raises(ValueError, match="Invalid up_to_message_id"):
        await fork_session_via_store(store, IDS[0], str(project), up_to_message_id="not-a-uuid")
    with pytest.raises(ValueError, match="not found in session"):
        await fork_session_via_store(store, IDS[0], str(project), up_to_message_id=IDS[9])


async def test_subagents_stored_without_their_session_are_read(project: Path) -> None:
    store = MemoryStore()
    sub = SessionKey(project_key=project_key_for_directory(project), session_id=IDS[0], subpath="subagents/agent-a1")
    entries = prompt_and_answer(IDS[0], "review it")
    await store.append(sub, [{"type": "agent_metadata", "toolUseId": "toolu_old"}, *entries])
    await store.append(sub, [{"type": "agent_metadata", "toolUseId": "toolu_new", "parentAgentId": "root"}])
    assert await list_subagents_from_store(store, IDS[0], str(project)) == ["a1"]
    messages = await get_subagent_messages_from_store(store, IDS[0], "a1", str(project))
    assert [m.uuid for m in messages] == [e["uuid"] for e in entries]
    assert {(m.parent_tool_use_id, m.parent_agent_id) for m in messages} == {("toolu_new", "root")}


async def test_the_sdks_paging_takes_a_zero_limit_as_none(project: Path) -> None:
    store = MemoryStore()
    await store.append(
        SessionKey(project_key=project_key_for_directory(project), session_id=IDS[0]), prompt_and_answer(IDS[0], "q")
    )
    assert len(get_session_messages(IDS[0], str(project), limit=0, store=store)) == 2
    assert await get_session_messages_async(IDS[0], str(project), limit=0, store=store) == []  # tether's own form
    assert len(get_session_messages(IDS[0], str(project), offset=-1, store=store)) == 2


def test_claude_codes_directory_gets_the_sdks_lines_and_lists_uuid_named_transcripts(project: Path) -> None:
    folder = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / project_key_for_directory(project)
    folder.mkdir(parents=True)
    transcript = folder / f"{IDS[0]}.jsonl"
    transcript.write_text("".join(json.dumps(e) + "\n" for e in prompt_and_answer(IDS[0], "hello")))
    (folder / "notes.jsonl").write_text(json.dumps(prompt_and_answer("notes", "not a session")[0]) + "\n")

    rename_session(IDS[0], "Title", str(project))
    tag_session(IDS[0], "mytag", str(project))
    assert transcript.read_text().splitlines()[-2:] == [
        f'{{"type":"custom-title","customTitle":"Title","sessionId":"{IDS[0]}"}}',
        f'{{"type":"tag","tag":"mytag","sessionId":"{IDS[0]}"}}',
    ]
    assert [i.session_id for i in list_sessions(str(project))] == [IDS[0]]
    assert "notes" in {i.session_id for i in list_sessions(str(project), store=JsonlStore(folder.parents[1]))}
