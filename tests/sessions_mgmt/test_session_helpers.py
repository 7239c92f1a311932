"""The session helpers on every store: listing, info, messages, rename, tag, delete, fork, errors."""

from __future__ import annotations

import shutil
import subprocess
import uuid as uuid_module
from collections.abc import Awaitable, Callable
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
    SessionFileNotFoundError,
    SessionNotFoundError,
    create_sdk_mcp_server,
    project_key_for_directory,
    query,
    tool,
)
from tether._vocabulary.store import SessionKey, SessionStore
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
    get_subagent_messages,
    list_sessions,
    list_sessions_async,
    list_subagents,
    rename_session,
    rename_session_async,
    tag_session,
    tag_session_async,
)
from tether.sessions.store_helpers import (
    delete_session_via_store,
    fold_session_summary,
    fork_session_via_store,
    get_session_info_from_store,
    get_session_messages_from_store,
    get_subagent_messages_from_store,
    import_session_to_store,
    list_sessions_from_store,
    list_subagents_from_store,
    rename_session_via_store,
    tag_session_via_store,
)
from tether.sessions.stores.jsonl import JsonlStore
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
    assert info.first_prompt == "Plan a   trip to Lisbon"  # as the Claude SDK lists it: line breaks become spaces
    assert info.summary == "Plan a   trip to Lisbon"
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
    for empty in ("", "  ", "\u200b\ufeff"):  # as in the SDK, only None clears a tag: nothing is written
        with pytest.raises(ValueError, match="tag must be non-empty"):
            await tag_session_async(session_id, empty, store=any_store)
    assert (await get_session_info_async(session_id, store=any_store)).tag == "again"
    await tag_session_async(session_id, "\u200bblue\u202e", store=any_store)  # invisible characters removed
    assert (await get_session_info_async(session_id, store=any_store)).tag == "blue"
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
    forked = await get_session_messages_async(fork, store=any_store)
    if isinstance(any_store, JsonlStore):  # a Claude Code transcript forks as the Claude SDK's fork_session
        assert info.message_count == 5  # its custom-title entry carries a uuid
        assert texts(forked) == texts(history) and not {m.uuid for m in forked} & {m.uuid for m in history}
    else:
        assert info.message_count == 4
        assert [m.uuid for m in forked] == [m.uuid for m in history]

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
    calls: list[Callable[[str], Awaitable[object]]] = [
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


async def test_sync_helpers_work_inside_a_running_event_loop(project: Path) -> None:
    """SDK code calls the sync helpers from `async def main()`: they run, and on the default store."""
    pytest.importorskip("tether.sessions.stores.sqlite")
    session_id = await new_session(None, project, "from async code", ["fine"])
    assert [i.session_id for i in list_sessions()] == [session_id]
    info = get_session_info(session_id)
    assert info is not None and info.first_prompt == "from async code"
    rename_session(session_id, "Named in a loop")
    assert texts(get_session_messages(session_id)) == [("user", "from async code"), ("assistant", "fine")]
    assert (await get_session_info_async(session_id)).title == "Named in a loop"
    memory = MemoryStore()
    copied = await new_session(memory, project, "in memory", ["ok"])
    assert [i.session_id for i in list_sessions(store=memory)] == [copied]


def test_sync_helpers_work_inside_a_running_trio_loop(project: Path) -> None:
    trio = pytest.importorskip("trio")
    store = MemoryStore()

    async def main() -> tuple[str, list[Any]]:
        session_id = await new_session(store, project, "under trio", ["yes"])
        return session_id, list_sessions(store=store)

    session_id, listed = trio.run(main)
    assert [i.session_id for i in listed] == [session_id]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_sync_helpers_do_what_the_async_helpers_do(kind: str, project: Path, tmp_path: Path) -> None:
    store: Any
    if kind == "memory":
        store = MemoryStore()
    else:
        sqlite = pytest.importorskip("tether.sessions.stores.sqlite")
        store = sqlite.SQLiteStore(tmp_path / "sync.db")
    session_id = anyio.run(new_session, store, project, "sync hello", ["sync hi"])
    assert [i.session_id for i in list_sessions(store=store)] == [session_id]
    assert list_sessions(project, 1, 0, store=store)[0].first_prompt == "sync hello"
    rename_session(session_id, "Sync", store=store)
    tag_session(session_id, "t", store=store)
    info = get_session_info(session_id, store=store)
    assert info is not None and (info.title, info.tag) == ("Sync", "t")
    assert texts(get_session_messages(session_id, store=store)) == [("user", "sync hello"), ("assistant", "sync hi")]
    fork = fork_session(session_id, store=store)
    forked = get_session_info(fork, store=store)
    assert fork.session_id == fork and forked is not None and forked.title == "Sync (fork)"
    delete_session(session_id, store=store)
    assert [i.session_id for i in list_sessions(store=store)] == [fork]
    assert list_sessions.__name__ == "list_sessions"


def test_unknown_ids_get_the_sdks_results(project: Path) -> None:
    """As in the SDK: None and [] from the readers, FileNotFoundError from the mutations."""
    pytest.importorskip("tether.sessions.stores.sqlite")
    known = anyio.run(new_session, None, project, "kept", ["safe"])
    unknown = "00000000-0000-4000-8000-000000000000"
    assert get_session_info(unknown) is None
    assert get_session_info("not/a/valid id") is None
    assert get_session_messages(unknown) == []
    assert list_subagents(unknown) == []
    assert get_subagent_messages(unknown, "agent") == []
    for mutation in (
        lambda: delete_session(unknown),
        lambda: rename_session(unknown, "x"),
        lambda: tag_session(unknown, "x"),
        lambda: fork_session(unknown),
    ):
        with pytest.raises(FileNotFoundError) as raised:
            mutation()
        assert isinstance(raised.value, SessionNotFoundError) and raised.value.session_id == unknown
    with pytest.raises(SessionFileNotFoundError):
        delete_session(unknown)
    with pytest.raises(ValueError):
        delete_session("../../etc/passwd")
    assert [i.session_id for i in list_sessions()] == [known]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


async def test_list_sessions_includes_the_git_worktrees_unless_told_not_to(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo, worktree = tmp_path / "repo", tmp_path / "repo-feature"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x", cwd=repo)
    git("worktree", "add", "-q", str(worktree), cwd=repo)
    store = MemoryStore()
    main_id = await new_session(store, repo, "on main", ["ok"])
    feature_id = await new_session(store, worktree, "on the feature branch", ["ok"])

    assert [i.session_id for i in await list_sessions_async(repo, store=store)] == [feature_id, main_id]
    assert [i.session_id for i in list_sessions(str(worktree), store=store)] == [feature_id, main_id]
    assert [i.session_id for i in await list_sessions_async(repo, None, 0, False, store=store)] == [main_id]
    assert [i.session_id for i in list_sessions(str(repo), limit=1, store=store)] == [feature_id]
    outside = tmp_path / "plain"
    outside.mkdir()
    assert await list_sessions_async(outside, store=store) == []


def test_helpers_without_a_store_use_the_default_store(project: Path) -> None:
    pytest.importorskip("tether.sessions.stores.sqlite")
    session_id = anyio.run(new_session, None, project, "default store", ["ok"])
    assert [i.session_id for i in list_sessions()] == [session_id]
    info = get_session_info(session_id)
    assert info is not None and info.first_prompt == "default store"
    assert [i.session_id for i in list_sessions(store="memory://")] == []


# -- the Claude SDK's store-backed helpers --------------------------------------------------------


async def test_the_sdks_store_helpers_on_every_store(
    any_store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = await new_session(any_store, project, "store question", ["store answer"])
    unknown = "00000000-0000-4000-8000-000000000000"
    monkeypatch.chdir(project)  # the SDK's default directory is the current one

    assert [i.session_id for i in await list_sessions_from_store(any_store)] == [session_id]
    assert [i.session_id for i in await list_sessions_from_store(any_store, str(project), 1, 0)] == [session_id]
    info = await get_session_info_from_store(any_store, session_id)
    assert info is not None and info.first_prompt == "store question"
    assert await get_session_info_from_store(any_store, unknown) is None
    messages = await get_session_messages_from_store(any_store, session_id, str(project), 1, 1)
    assert texts(messages) == [("assistant", "store answer")]
    assert await get_session_messages_from_store(any_store, unknown) == []

    await rename_session_via_store(any_store, session_id, "Stored")
    await tag_session_via_store(any_store, session_id, "kept")
    info = await get_session_info_from_store(any_store, session_id)
    assert info is not None and (info.summary, info.tag) == ("Stored", "kept")
    with pytest.raises(FileNotFoundError):
        await rename_session_via_store(any_store, unknown, "nope")

    fork = await fork_session_via_store(any_store, session_id, str(project), None, "The fork")
    assert texts(await get_session_messages_from_store(any_store, fork.session_id)) == texts(
        await get_session_messages_from_store(any_store, session_id)
    )
    await delete_session_via_store(any_store, session_id)
    assert await get_session_info_from_store(any_store, session_id) is None
    await delete_session_via_store(any_store, session_id)  # already gone: nothing happens, as in the SDK
    assert [i.session_id for i in await list_sessions_from_store(any_store)] == [fork.session_id]


def sdk_entries(session_id: str, cwd: Path, prompt: str, answer: str) -> list[dict[str, Any]]:
    asked = make_entry(
        "user", {"role": "user", "content": prompt}, session_id=session_id, parent_uuid=None, cwd=str(cwd)
    )
    said = make_entry(
        "assistant",
        {"id": "msg_1", "role": "assistant", "content": [{"type": "text", "text": answer}]},
        session_id=session_id,
        parent_uuid=asked["uuid"],
        cwd=str(cwd),
    )
    return [asked, said]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_lookup_takes_the_current_projects_session_then_the_newest(
    kind: str, project: Path, other_project: Path, tmp_path: Path
) -> None:
    """The same id in two projects: `directory`'s project wins, else the newest of any project."""
    store: Any
    if kind == "memory":
        store = MemoryStore()
    else:
        store = pytest.importorskip("tether.sessions.stores.sqlite").SQLiteStore(tmp_path / "twice.db")
    session_id = str(uuid_module.uuid4())
    for directory, prompt in ((project, "asked in A"), (other_project, "asked in B")):  # B is written last
        key = SessionKey(project_key=project_key_for_directory(directory), session_id=session_id)
        anyio.run(store.append, key, sdk_entries(session_id, directory, prompt, "ok"))
    third = tmp_path / "third"
    third.mkdir()

    here = get_session_info(session_id, directory=project, store=store)
    assert here is not None and (here.first_prompt, here.project_key) == (
        "asked in A",
        project_key_for_directory(project),
    )
    newest = get_session_info(session_id, directory=third, store=store)
    assert newest is not None and newest.first_prompt == "asked in B"
    messages = get_session_messages(session_id, project, store=store)
    assert [m.message["content"] for m in messages] == ["asked in A", [{"type": "text", "text": "ok"}]]


async def test_the_helpers_read_and_write_the_sdks_own_store(project: Path) -> None:
    """Interop: a store written by the Claude SDK's `InMemorySessionStore` (its summaries folded
    by the SDK) is read and changed by tether's helpers, and the SDK reads tether's changes."""
    sdk = pytest.importorskip("claude_agent_sdk")
    store = sdk.InMemorySessionStore()
    session_id = str(uuid_module.uuid4())
    key = {"project_key": project_key_for_directory(project), "session_id": session_id}
    await store.append(key, sdk_entries(session_id, project, "What is interop?", "Sharing stores."))

    listed = await list_sessions_from_store(store, str(project))
    assert [(i.session_id, i.first_prompt) for i in listed] == [(session_id, "What is interop?")]
    await rename_session_via_store(store, session_id, "Interop", str(project))
    info = await get_session_info_from_store(store, session_id, str(project))
    assert info is not None and (info.summary, info.custom_title) == ("Interop", "Interop")
    assert (await list_sessions_from_store(store, str(project)))[0].summary == "Interop"
    sdk_info = await sdk.get_session_info_from_store(store, session_id, str(project))
    assert sdk_info is not None and sdk_info.custom_title == "Interop"

    fork = await fork_session_via_store(store, session_id, str(project))
    sdk_messages = await sdk.get_session_messages_from_store(store, fork.session_id, str(project))
    assert next(m.message["content"] for m in sdk_messages) == "What is interop?"
    await delete_session_via_store(store, session_id, str(project))
    assert await get_session_info_from_store(store, session_id, str(project)) is None


async def test_subagent_transcripts_are_listed_and_read(project: Path) -> None:
    store = MemoryStore()
    session_id = await new_session(store, project, "delegate this", ["delegated"])
    main: SessionKey = {"project_key": project_key_for_directory(project), "session_id": session_id}
    sub: SessionKey = {**main, "subpath": "subagents/agent-helper1"}
    side = sdk_entries(session_id, project, "sub task", "sub answer")
    for entry in side:
        entry["isSidechain"] = True
    await store.append(sub, [*side, {"type": "agent_metadata", "toolUseId": "toolu_9", "parentAgentId": "root"}])
    await store.append(
        {**main, "subpath": "subagents/workflows/run-1/agent-helper2"}, sdk_entries(session_id, project, "b", "c")
    )

    assert await list_subagents_from_store(store, session_id) == ["helper1", "helper2"]
    assert list_subagents(session_id, store=store) == ["helper1", "helper2"]
    messages = await get_subagent_messages_from_store(store, session_id, "helper1")
    assert texts(messages) == [("user", "sub task"), ("assistant", "sub answer")]
    assert {(m.parent_tool_use_id, m.parent_agent_id, m.session_id) for m in messages} == {
        ("toolu_9", "root", session_id)
    }
    assert texts(get_subagent_messages(session_id, "helper2", limit=1, store=store)) == [("user", "b")]
    assert await get_subagent_messages_from_store(store, session_id, "nobody") == []
    assert await list_subagents_from_store(store, "00000000-0000-4000-8000-000000000000") == []
    # The main transcript does not show the subagent's messages.
    assert texts(await get_session_messages_from_store(store, session_id)) == [
        ("user", "delegate this"),
        ("assistant", "delegated"),
    ]
    with pytest.raises(ValueError):  # a store that cannot list subkeys, as the SDK says
        await list_subagents_from_store(MinimalStore(), session_id, str(project))


async def test_import_session_to_store_copies_a_claude_code_session(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude_home = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_home))
    disk = JsonlStore(claude_home)
    session_id = str(uuid_module.uuid4())
    key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
    entries = sdk_entries(session_id, project, "from Claude Code", "imported")
    await disk.append(key, entries)
    await disk.append(SessionKey(**key, subpath="subagents/agent-x"), sdk_entries(session_id, project, "s", "t"))

    target = MemoryStore()
    await import_session_to_store(session_id, target, batch_size=1)
    assert await target.load(key) == entries
    assert await target.list_subkeys({"project_key": key["project_key"], "session_id": session_id}) == [
        "subagents/agent-x"
    ]
    # The imported session resumes from its directory with its history.
    model = ScriptedModel(["continued"])
    async for _ in query(
        prompt="go on", options=AgentOptions(model=model, session_store=target, cwd=project, resume=session_id)
    ):
        pass
    assert api_texts(model.requests[0].messages) == ["from Claude Code", "imported", "go on"]

    bare = MemoryStore()
    await import_session_to_store(session_id, bare, directory=str(project), include_subagents=False)
    assert await bare.list_subkeys({"project_key": key["project_key"], "session_id": session_id}) == []
    with pytest.raises(FileNotFoundError):
        await import_session_to_store(str(uuid_module.uuid4()), bare)


class FoldingStore(MinimalStore):
    """A store written as the SDK's docs say: `fold_session_summary` in `append`, summaries listed."""

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[tuple[str, str], Any] = {}
        self.clock = 0

    async def append(self, key: SessionKey, entries: list[dict[str, Any]], **options: Any) -> None:
        await super().append(key, entries)
        if key.get("subpath") is None:
            place = (key["project_key"], key["session_id"])
            folded = fold_session_summary(self.summaries.get(place), key, entries)
            self.clock += 1
            folded["mtime"] = self.clock
            self.summaries[place] = folded

    async def list_session_summaries(self, project_key: str) -> list[Any]:
        return [summary for (project, _), summary in self.summaries.items() if project == project_key]


async def test_fold_session_summary_makes_a_users_store_listable(project: Path) -> None:
    store = FoldingStore()
    session_id = str(uuid_module.uuid4())
    key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
    await store.append(key, sdk_entries(session_id, project, "Fold me", "folded"))
    store_any: Any = store
    await tag_session_via_store(store_any, session_id, "sdk-style", str(project))
    listed = await list_sessions_from_store(store_any, str(project))
    assert [(i.session_id, i.first_prompt, i.tag, i.message_count) for i in listed] == [
        (session_id, "Fold me", "sdk-style", 2)
    ]
    assert fold_session_summary(None, key, [])["mtime"] == 0
