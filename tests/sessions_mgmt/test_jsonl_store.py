"""JsonlStore: Claude Code's directory layout, file modes, locking, torn lines, listing, forks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tether import AgentOptions, SessionConflictError, SessionExistsError, project_key_for_directory, query
from tether._vocabulary.store import SessionKey
from tether.sessions.entries import make_entry, make_meta_entry
from tether.sessions.helpers import get_session_info_async, get_session_messages_async, list_sessions_async
from tether.sessions.store import NO_LEAF
from tether.sessions.stores.jsonl import HEAD_TAIL_BYTES, JsonlStore
from tether.testing import ScriptedModel, run_store_conformance

pytestmark = pytest.mark.anyio


def turn(session_id: str, text: str, parent: str | None, kind: str = "user") -> dict[str, Any]:
    message: dict[str, Any] = (
        {"role": "user", "content": text}
        if kind == "user"
        else {"id": f"msg_{text}", "role": "assistant", "content": [{"type": "text", "text": text}]}
    )
    return make_entry(kind, message, session_id=session_id, parent_uuid=parent, cwd="/work/app")


def key(session_id: str, project: str = "-work-app", subpath: str | None = None) -> SessionKey:
    result = SessionKey(project_key=project, session_id=session_id)
    if subpath:
        result["subpath"] = subpath
    return result


async def test_jsonl_store_passes_the_store_conformance_suite(tmp_path: Path) -> None:
    report = await run_store_conformance(lambda scope: JsonlStore(tmp_path), scopes=False)
    assert "fork shares history and is independent afterwards" in report.passed
    # no native lease, so no read_lease (its turns lease through records, as SDK stores do); no load_texts
    # (Claude Code's transcripts split each response into entries, which a resume from stored texts leaves to load)
    assert sorted(report.skipped) == [
        "load_texts: the view undecoded, and the stored leaf",
        "read_lease shows the stored holder, live or not, and writes nothing",
        "scope isolation for read, list, fork, delete and find",
        "swap_lease takes a free lease, refuses a live one, hands over a lapsed one",
    ]


async def test_files_follow_claude_codes_layout_with_private_modes(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path / ".claude")
    first = turn("s1", "hello", None)
    await store.append(key("s1"), [first])
    await store.append(key("s1", subpath="subagents/agent-7"), [{"type": "user", "isSidechain": True, "uuid": "x"}])
    main = tmp_path / ".claude" / "projects" / "-work-app" / "s1.jsonl"
    sub = tmp_path / ".claude" / "projects" / "-work-app" / "s1" / "subagents" / "agent-7.jsonl"
    assert main.is_file() and sub.is_file()
    assert stat.S_IMODE(main.stat().st_mode) == 0o600
    assert stat.S_IMODE(main.parent.stat().st_mode) == 0o700
    assert json.loads(main.read_text().splitlines()[0]) == first
    assert await store.list_subkeys({"project_key": "-work-app", "session_id": "s1"}) == ["subagents/agent-7"]
    assert [s["session_id"] for s in await store.list_sessions("-work-app")] == ["s1"]
    found = await store.find("s1")
    assert found is not None and found.key == key("s1") and found.leaf == first["uuid"]

    await store.delete(key("s1"))
    assert not main.exists() and not sub.parent.parent.exists()
    assert await store.load(key("s1")) is None


async def test_project_keys_are_claude_codes_directory_encoding(tmp_path: Path, project: Path) -> None:
    store = JsonlStore(tmp_path / "root")
    options = AgentOptions(model=ScriptedModel(["hi"]), session_store=store, cwd=project)
    session_id = ""
    async for message in query(prompt="hello", options=options):
        session_id = getattr(message, "session_id", session_id) or session_id
    encoded = str(project.resolve()).replace("/", "-").replace("_", "-").replace(".", "-")
    assert encoded == project_key_for_directory(project)
    assert (tmp_path / "root" / "projects" / encoded / f"{session_id}.jsonl").is_file()


async def test_expected_leaf_is_checked_and_a_conflict_writes_nothing(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    first = turn("s", "one", None)
    await store.append(key("s"), [first], expected_leaf=NO_LEAF)
    second = turn("s", "two", first["uuid"], "assistant")
    await store.append(key("s"), [second], expected_leaf=first["uuid"])
    with pytest.raises(SessionConflictError) as raised:
        await store.append(key("s"), [turn("s", "late", first["uuid"], "assistant")], expected_leaf=first["uuid"])
    assert raised.value.actual_leaf == second["uuid"]
    with pytest.raises(SessionConflictError):
        await store.append(key("s"), [turn("s", "again", None)], expected_leaf=NO_LEAF)
    # Metadata does not move the leaf.
    await store.append(key("s"), [make_meta_entry("tag", session_id="s", tag="x")], expected_leaf=second["uuid"])
    assert [e.get("uuid") for e in await store.load(key("s")) or []] == [first["uuid"], second["uuid"], None]


async def test_one_id_in_two_projects_is_two_transcripts(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    here, there = turn("same", "a", None), turn("same", "b", None)
    await store.append(key("same"), [here])
    await store.append(key("same", project="-elsewhere"), [there])
    assert await store.load(key("same")) == [here]
    assert await store.load(key("same", project="-elsewhere")) == [there]
    assert (tmp_path / "projects" / "-elsewhere" / "same.jsonl").is_file()
    with pytest.raises(SessionExistsError):
        await store.fork(key("same"), key("same", project="-elsewhere"))


async def test_a_torn_last_line_is_skipped_and_never_glued_to_the_next(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    first = turn("t", "kept", None)
    await store.append(key("t"), [first])
    path = tmp_path / "projects" / "-work-app" / "t.jsonl"
    with path.open("ab") as file:
        file.write(b'{"type":"assistant","uuid":"half-writ')  # the process died mid-write
    assert await store.load(key("t")) == [first]
    after = turn("t", "after the crash", first["uuid"], "assistant")
    await store.append(key("t"), [after], expected_leaf=first["uuid"])
    assert await store.load(key("t")) == [first, after]
    assert (await store.find("t")).leaf == after["uuid"]  # type: ignore[union-attr]


async def test_empty_files_and_strangers_are_not_sessions(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    directory = tmp_path / "projects" / "-work-app"
    directory.mkdir(parents=True)
    (directory / "empty.jsonl").write_bytes(b"")
    (directory / "agent-1234.jsonl").write_text(json.dumps(turn("agent-1234", "side", None)) + "\n")
    (directory / "notes.txt").write_text("not a transcript")
    (directory / "memory").mkdir()
    assert await store.load(key("empty")) is None
    assert await store.find("empty") is None
    assert await store.list_sessions("-work-app") == []
    assert (await store.list_page()).items == []


async def test_listing_reads_only_the_head_and_tail_of_big_transcripts(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    entries = [turn("big", "The first prompt", None)]
    entries[0]["gitBranch"] = "main"
    for index in range(60):
        entries.append(turn("big", f"answer {index} " + "x" * 4000, entries[-1]["uuid"], "assistant"))
    await store.append(key("big"), entries)
    await store.append(key("big"), [make_meta_entry("custom-title", session_id="big", customTitle="Big one")])
    size = (tmp_path / "projects" / "-work-app" / "big.jsonl").stat().st_size
    assert size > 2 * HEAD_TAIL_BYTES
    info = await get_session_info_async("big", store=store)
    assert (info.title, info.first_prompt, info.cwd, info.git_branch) == (
        "Big one",
        "The first prompt",
        "/work/app",
        "main",
    )
    assert info.file_size == size
    assert info.message_count is None  # not counted without reading the whole file
    small = turn("small", "tiny", None)
    await store.append(key("small"), [small])
    assert (await get_session_info_async("small", store=store)).message_count == 1


async def test_pages_are_newest_first_across_projects(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    ids = [f"s{i}" for i in range(5)]
    for index, session_id in enumerate(ids):
        await store.append(key(session_id, project=f"-p{index % 2}"), [turn(session_id, "hi", None)])
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list_page(limit=2, cursor=cursor)
        seen.extend(item["session_id"] for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert [i.session_id for i in await list_sessions_async(store=store)] == list(reversed(ids))


async def test_a_fork_is_a_copy_that_records_its_origin(tmp_path: Path) -> None:
    store = JsonlStore(tmp_path)
    first = turn("src", "one", None)
    second = turn("src", "two", first["uuid"], "assistant")
    await store.append(key("src"), [first, second])
    await store.append(key("src"), [make_meta_entry("custom-title", session_id="src", customTitle="Source")])
    await store.fork(key("src"), key("cut"), first["uuid"])
    assert await store.load(key("cut")) == [first]
    found = await store.find("cut")
    assert found is not None
    assert found.forked_from == {"sessionId": "src", "messageUuid": first["uuid"]}
    assert found.summary["title"] == "Source"  # a fork starts from its source's summary
    await store.delete(key("src"))
    assert await store.load(key("cut")) == [first]
    assert os.listdir(tmp_path / "projects" / "-work-app" / "cut") == ["tether-fork.json"]


async def test_tether_sessions_run_on_a_jsonl_store(tmp_path: Path, project: Path) -> None:
    store = JsonlStore(tmp_path / ".claude")
    options = AgentOptions(model=ScriptedModel(["Hello Ada."]), session_store=store, cwd=project)
    session_id = ""
    async for message in query(prompt="I am Ada", options=options):
        session_id = getattr(message, "session_id", None) or session_id
    model = ScriptedModel(["You are Ada."])
    resumed = AgentOptions(model=model, session_store=store, cwd=project, resume=session_id)
    async for _ in query(prompt="Who am I?", options=resumed):
        pass
    sent = [(m["role"], m["content"][0]["text"]) for m in model.requests[0].messages]
    assert sent == [("user", "I am Ada"), ("assistant", "Hello Ada."), ("user", "Who am I?")]
    forked = AgentOptions(model=ScriptedModel(["Fork."]), session_store=store, cwd=project, resume=session_id)
    forked.fork_session = True
    fork_id = ""
    async for message in query(prompt="Branch", options=forked):
        data = getattr(message, "data", None)
        if isinstance(data, dict) and data.get("subtype") == "init":
            fork_id = data["session_id"]
    assert fork_id and fork_id != session_id
    assert len(await get_session_messages_async(fork_id, store=store)) == 6
    assert len(await get_session_messages_async(session_id, store=store)) == 4
