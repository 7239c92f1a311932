"""The session helpers on every store: listing, info, messages, rename, tag, delete, fork, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tether import (
    AgentOptions,
    ConfigurationError,
    EntryNotFoundError,
    InvalidSessionIdError,
    MemoryStore,
    SessionNotFoundError,
    create_sdk_mcp_server,
    project_key_for_directory,
    query,
    tool,
)
from tether.sessions.entries import make_entry
from tether.sessions.helpers import (
    delete_session,
    delete_session_async,
    fork_session,
    fork_session_async,
    get_session_info,
    get_session_info_async,
    get_session_messages,
    get_session_messages_async,
    list_sessions,
    list_sessions_async,
    rename_session,
    rename_session_async,
    tag_session,
    tag_session_async,
)
from tether.sessions.store import SessionKey, SessionStore
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio


async def new_session(
    store: Any, cwd: Path, prompt: str, replies: list[Any], *, resume: str | None = None, **options: Any
) -> str:
    """Run one prompt on `store`; returns the session id."""
    session_id = ""
    opts = AgentOptions(model=ScriptedModel(replies), session_store=store, cwd=cwd, resume=resume, **options)
    async for message in query(prompt=prompt, options=opts):
        data = getattr(message, "data", None)
        if isinstance(data, dict) and data.get("subtype") == "init":
            session_id = data["session_id"]
    return session_id


def texts(messages: list[Any]) -> list[tuple[str, str]]:
    """(type, text) of every text in a list of SessionMessages."""
    out = []
    for message in messages:
        content = message.message["content"]
        if isinstance(content, str):
            out.append((message.type, content))
        else:
            out.extend((message.type, b["text"]) for b in content if b.get("type") == "text")
    return out


def api_texts(api_messages: list[dict[str, Any]]) -> list[str]:
    """Every text block of the messages a model was sent."""
    return [b["text"] for m in api_messages for b in m["content"] if b.get("type") == "text"]


@pytest.fixture
def other_project(tmp_path: Path) -> Path:
    directory = tmp_path / "other"
    directory.mkdir()
    return directory


async def test_list_sessions_is_newest_first_with_limit_offset_and_directory(
    any_store: SessionStore, project: Path, other_project: Path
) -> None:
    ids = [await new_session(any_store, project, f"question {i}", [f"answer {i}"]) for i in range(4)]
    elsewhere = await new_session(any_store, other_project, "far away", ["hello"])

    everything = await list_sessions_async(store=any_store)
    assert [info.session_id for info in everything] == [elsewhere, *reversed(ids)]
    here = await list_sessions_async(project, store=any_store)
    assert [info.session_id for info in here] == list(reversed(ids))
    assert [i.session_id for i in await list_sessions_async(project, limit=2, store=any_store)] == ids[::-1][:2]
    assert [i.session_id for i in await list_sessions_async(project, 2, 1, store=any_store)] == ids[::-1][1:3]
    assert [i.session_id for i in await list_sessions_async(project, offset=3, store=any_store)] == [ids[0]]
    assert await list_sessions_async(project, offset=10, store=any_store) == []
    assert await list_sessions_async(project, limit=0, store=any_store) == []

    # Resuming the oldest makes it the newest.
    await new_session(any_store, project, "back again", ["welcome back"], resume=ids[0])
    assert (await list_sessions_async(project, limit=1, store=any_store))[0].session_id == ids[0]


async def test_session_info_carries_the_summary_fields(any_store: SessionStore, project: Path) -> None:
    session_id = await new_session(any_store, project, "Plan a   trip\nto Lisbon", ["Sure."])
    info = await get_session_info_async(session_id, store=any_store)
    assert info.session_id == session_id
    assert info.first_prompt == "Plan a trip to Lisbon"
    assert info.summary == "Plan a trip to Lisbon"
    assert info.title is None and info.custom_title is None and info.tag is None
    assert info.cwd == str(project.resolve())
    assert info.project_key == project_key_for_directory(project)
    assert info.message_count == 2
    assert info.total_cost_usd == 0.0
    assert info.forked_from is None
    assert isinstance(info.created_at, int) and isinstance(info.last_modified, int)
    assert info.created_at <= info.last_modified

    await rename_session_async(session_id, "  Lisbon trip ", store=any_store)
    await tag_session_async(session_id, "travel", store=any_store)
    info = await get_session_info_async(session_id, store=any_store)
    assert (info.title, info.custom_title, info.summary, info.tag) == (
        "Lisbon trip",
        "Lisbon trip",
        "Lisbon trip",
        "travel",
    )
    listed = (await list_sessions_async(store=any_store))[0]
    assert (listed.summary, listed.tag, listed.message_count) == ("Lisbon trip", "travel", 2)

    await tag_session_async(session_id, None, store=any_store)
    assert (await get_session_info_async(session_id, store=any_store)).tag is None
    await tag_session_async(session_id, "again", store=any_store)
    await tag_session_async(session_id, "", store=any_store)
    assert (await get_session_info_async(session_id, store=any_store)).tag is None
    # Metadata does not change the history.
    assert texts(await get_session_messages_async(session_id, store=any_store)) == [
        ("user", "Plan a   trip\nto Lisbon"),
        ("assistant", "Sure."),
    ]


@tool("look", "Looks at a thing", {"thing": str})
async def look(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": f"saw {args['thing']}"}]}


async def test_session_messages_keep_parallel_tool_calls_with_their_results(
    any_store: SessionStore, project: Path
) -> None:
    parallel = [
        {"type": "text", "text": "Looking at both."},
        {"type": "tool_use", "id": "toolu_a", "name": "mcp__eyes__look", "input": {"thing": "a"}},
        {"type": "tool_use", "id": "toolu_b", "name": "mcp__eyes__look", "input": {"thing": "b"}},
    ]
    session_id = await new_session(
        any_store,
        project,
        "look at a and b",
        [parallel, "Both seen."],
        mcp_servers={"eyes": create_sdk_mcp_server("eyes", tools=[look])},
        allowed_tools=["mcp__eyes__look"],
    )
    messages = await get_session_messages_async(session_id, store=any_store)
    assert [m.type for m in messages] == ["user", "assistant", "user", "assistant"]
    assert all(m.session_id == session_id for m in messages)
    calls = [b["id"] for b in messages[1].message["content"] if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for b in messages[2].message["content"] if b["type"] == "tool_result"]
    assert calls == results == ["toolu_a", "toolu_b"]
    outputs = [b["content"] for b in messages[2].message["content"]]
    assert outputs == [[{"type": "text", "text": "saw a"}], [{"type": "text", "text": "saw b"}]]
    assert texts(messages[3:]) == [("assistant", "Both seen.")]

    assert [m.uuid for m in await get_session_messages_async(session_id, limit=2, store=any_store)] == [
        m.uuid for m in messages[:2]
    ]
    assert [m.uuid for m in await get_session_messages_async(session_id, None, 2, 1, store=any_store)] == [
        m.uuid for m in messages[1:3]
    ]
    assert await get_session_messages_async(session_id, offset=9, store=any_store) == []


async def test_session_messages_follow_the_active_branch(any_store: SessionStore, project: Path) -> None:
    session_id = await new_session(any_store, project, "one", ["first"])
    await new_session(any_store, project, "two", ["second"], resume=session_id)
    first_answer = (await get_session_messages_async(session_id, store=any_store))[1]
    # Going on from the first answer leaves "two"/"second" on a side branch.
    options = AgentOptions(
        model=ScriptedModel(["rewound"]),
        session_store=any_store,
        cwd=project,
        resume=session_id,
        resume_session_at=first_answer.uuid,
    )
    async for _ in query(prompt="two, again", options=options):
        pass
    assert texts(await get_session_messages_async(session_id, store=any_store)) == [
        ("user", "one"),
        ("assistant", "first"),
        ("user", "two, again"),
        ("assistant", "rewound"),
    ]


async def test_fork_session_copies_on_write_and_titles_the_fork(any_store: SessionStore, project: Path) -> None:
    source = await new_session(any_store, project, "Write a haiku", ["Autumn moonlight"])
    await rename_session_async(source, "Haiku", store=any_store)
    await new_session(any_store, project, "Another", ["a worm digs silently"], resume=source)
    history = await get_session_messages_async(source, store=any_store)

    fork = await fork_session_async(source, store=any_store)
    assert isinstance(fork, str) and fork.session_id == fork != source
    info = await get_session_info_async(fork, store=any_store)
    assert info.title == "Haiku (fork)"
    assert info.forked_from == {"sessionId": source, "messageUuid": history[-1].uuid}
    assert info.message_count == 4
    assert [m.uuid for m in await get_session_messages_async(fork, store=any_store)] == [m.uuid for m in history]

    # The fork goes its own way; the source does not see it.
    model = ScriptedModel(["in the fork"])
    opts = AgentOptions(model=model, session_store=any_store, cwd=project, resume=fork)
    async for _ in query(prompt="Go on", options=opts):
        pass
    assert api_texts(model.requests[0].messages) == [
        "Write a haiku",
        "Autumn moonlight",
        "Another",
        "a worm digs silently",
        "Go on",
    ]
    assert [m.uuid for m in await get_session_messages_async(source, store=any_store)] == [m.uuid for m in history]

    early = await fork_session_async(source, None, history[1].uuid, "Just the first", store=any_store)
    assert (await get_session_info_async(early, store=any_store)).title == "Just the first"
    assert texts(await get_session_messages_async(early, store=any_store)) == [
        ("user", "Write a haiku"),
        ("assistant", "Autumn moonlight"),
    ]
    chosen = await fork_session_async(source, store=any_store, new_session_id="my-own-fork-id")
    assert chosen == "my-own-fork-id"
    assert {i.session_id for i in await list_sessions_async(store=any_store)} == {source, fork, early, chosen}


async def test_delete_removes_the_session_and_keeps_its_forks_whole(any_store: SessionStore, project: Path) -> None:
    source = await new_session(any_store, project, "base", ["base answer"])
    fork = await fork_session_async(source, title="kept", store=any_store)
    expected = texts(await get_session_messages_async(fork, store=any_store))

    await delete_session_async(source, store=any_store)
    with pytest.raises(SessionNotFoundError):
        await get_session_info_async(source, store=any_store)
    assert [i.session_id for i in await list_sessions_async(store=any_store)] == [fork]
    assert texts(await get_session_messages_async(fork, store=any_store)) == expected
    assert expected == [("user", "base"), ("assistant", "base answer")]


async def test_unknown_and_invalid_ids_raise_typed_errors(any_store: SessionStore, project: Path) -> None:
    known = await new_session(any_store, project, "hi", ["hello"])
    unknown = "00000000-0000-4000-8000-000000000000"
    calls = [
        lambda sid: get_session_info_async(sid, store=any_store),
        lambda sid: get_session_messages_async(sid, store=any_store),
        lambda sid: rename_session_async(sid, "x", store=any_store),
        lambda sid: tag_session_async(sid, "x", store=any_store),
        lambda sid: delete_session_async(sid, store=any_store),
        lambda sid: fork_session_async(sid, store=any_store),
    ]
    for call in calls:
        with pytest.raises(SessionNotFoundError):
            await call(unknown)
        with pytest.raises(InvalidSessionIdError):
            await call("../../etc/passwd")
    with pytest.raises(EntryNotFoundError):
        await fork_session_async(known, up_to_message_id="no-such-uuid", store=any_store)
    with pytest.raises(ConfigurationError):
        await list_sessions_async(limit=-1, store=any_store)
    with pytest.raises(ConfigurationError):
        await get_session_messages_async(known, offset=-2, store=any_store)
    with pytest.raises(ConfigurationError):
        await rename_session_async(known, "   ", store=any_store)
    # Nothing was lost or added by the failed calls.
    assert [i.session_id for i in await list_sessions_async(store=any_store)] == [known]
    assert texts(await get_session_messages_async(known, store=any_store)) == [("user", "hi"), ("assistant", "hello")]


class NoLoadStore(MemoryStore):
    """A MemoryStore that refuses to load transcripts: listing must not need them."""

    async def load(self, key: SessionKey) -> list[dict[str, Any]] | None:
        raise AssertionError("listing loaded a transcript")


async def test_listing_and_info_never_load_a_transcript(project: Path) -> None:
    store = MemoryStore()
    session_id = await new_session(store, project, "hello", ["hi"])
    blind = NoLoadStore()
    blind._data = store._data
    assert [i.session_id for i in await list_sessions_async(store=blind)] == [session_id]
    assert (await get_session_info_async(session_id, store=blind)).first_prompt == "hello"


class MinimalStore:
    """The Claude SDK's minimal store: append and load, nothing else."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    async def append(self, key: SessionKey, entries: list[dict[str, Any]], **_: Any) -> None:
        self.data.setdefault((key["project_key"], key["session_id"], key.get("subpath", "")), []).extend(entries)

    async def load(self, key: SessionKey) -> list[dict[str, Any]] | None:
        found = self.data.get((key["project_key"], key["session_id"], key.get("subpath", "")))
        return list(found) if found is not None else None


async def test_helpers_work_on_a_store_with_only_append_and_load(project: Path) -> None:
    store = MinimalStore()
    sid = "minimal-session"
    key = SessionKey(project_key=project_key_for_directory(project), session_id=sid)
    prompt = make_entry("user", {"role": "user", "content": "hi"}, session_id=sid, parent_uuid=None, cwd=str(project))
    answer = make_entry(
        "assistant",
        {"id": "m1", "role": "assistant", "content": [{"type": "text", "text": "yo"}]},
        session_id=sid,
        parent_uuid=prompt["uuid"],
        cwd=str(project),
    )
    await store.append(key, [prompt, answer])
    store_any: Any = store
    assert (await get_session_info_async(sid, project, store=store_any)).first_prompt == "hi"
    with pytest.raises(SessionNotFoundError):
        await get_session_info_async(sid, project / "elsewhere", store=store_any)
    await rename_session_async(sid, "Named", project, store=store_any)
    assert (await get_session_info_async(sid, project, store=store_any)).title == "Named"
    fork = await fork_session_async(sid, project, store=store_any)
    copied = await get_session_messages_async(fork, project, store=store_any)
    assert texts(copied) == [("user", "hi"), ("assistant", "yo")]
    assert {m.uuid for m in copied}.isdisjoint({prompt["uuid"], answer["uuid"]})  # a copy gets fresh uuids
    forked = store.data[(key["project_key"], fork, "")]
    assert forked[0]["forkedFrom"] == {"sessionId": sid, "messageUuid": prompt["uuid"]}
    assert (await get_session_info_async(fork, project, store=store_any)).title == "Named (fork)"
    with pytest.raises(ConfigurationError):
        await list_sessions_async(store=store_any)
    with pytest.raises(ConfigurationError):
        await delete_session_async(sid, project, store=store_any)


async def test_the_sync_twins_refuse_to_run_inside_an_event_loop(project: Path) -> None:
    with pytest.raises(RuntimeError, match="list_sessions_async"):
        list_sessions(store=MemoryStore())


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_sync_twins_do_what_the_async_helpers_do(kind: str, project: Path, tmp_path: Path) -> None:
    store: Any
    if kind == "memory":
        store = MemoryStore()
    else:
        sqlite = pytest.importorskip("tether.sessions.sqlite")
        store = sqlite.SQLiteStore(tmp_path / "sync.db")
    session_id = anyio.run(new_session, store, project, "sync hello", ["sync hi"])
    assert [i.session_id for i in list_sessions(store=store)] == [session_id]
    assert list_sessions(project, 1, 0, store=store)[0].first_prompt == "sync hello"
    rename_session(session_id, "Sync", store=store)
    tag_session(session_id, "t", store=store)
    assert (get_session_info(session_id, store=store).title, get_session_info(session_id, store=store).tag) == (
        "Sync",
        "t",
    )
    assert texts(get_session_messages(session_id, store=store)) == [("user", "sync hello"), ("assistant", "sync hi")]
    fork = fork_session(session_id, store=store)
    assert fork.session_id == fork and get_session_info(fork, store=store).title == "Sync (fork)"
    delete_session(session_id, store=store)
    assert [i.session_id for i in list_sessions(store=store)] == [fork]
    with pytest.raises(SessionNotFoundError):
        get_session_info(session_id, store=store)
    assert list_sessions.__name__ == "list_sessions"


def test_helpers_without_a_store_use_the_default_store(project: Path) -> None:
    pytest.importorskip("tether.sessions.sqlite")
    session_id = anyio.run(new_session, None, project, "default store", ["ok"])
    assert [i.session_id for i in list_sessions()] == [session_id]
    assert get_session_info(session_id).first_prompt == "default store"
    assert [i.session_id for i in list_sessions(store="memory://")] == []
