"""The seed's session flows end to end: start, resume, fork, continue, resume-at, chosen ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from tether import (
    AgentOptions,
    AssistantMessage,
    ConfigurationError,
    EntryNotFoundError,
    InvalidSessionIdError,
    Message,
    ResultMessage,
    SessionConflictError,
    SessionExistsError,
    SessionKey,
    SessionNotFoundError,
    SystemMessage,
    project_key_for_directory,
    query,
)
from tether._vocabulary.store import SessionStore
from tether.sessions.entries import active_chain
from tether.sessions.session import Session
from tether.testing import FunctionModel, ScriptedModel, run_query

pytestmark = pytest.mark.anyio


def init_of(messages: list[Message]) -> dict[str, Any]:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return first.data


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage)
    return last


def texts(request_messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of every text block the model was sent."""
    return [
        (message["role"], block["text"])
        for message in request_messages
        for block in message["content"]
        if block.get("type") == "text"
    ]


async def test_init_comes_first_and_before_any_model_call(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["hello"])
    stream = query(prompt="hi", options=AgentOptions(model=model, session_store=store, cwd=project))
    first = await stream.__anext__()
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    assert model.requests == []
    session_id = first.data["session_id"]
    assert first.data["cwd"] == str(project.resolve())
    assert first.data["model"] == "scripted-model"
    assert "forked_from" not in first.data
    rest = [message async for message in stream]
    assert result_of(rest).session_id == session_id
    assert result_of(rest).result == "hello"


async def test_a_cwd_through_a_symlink_is_the_real_directory_and_its_project(
    store: SessionStore, project: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(project, target_is_directory=True)
    messages = [
        m
        async for m in query(
            prompt="hi", options=AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=link)
        )
    ]
    init = init_of(messages)
    assert init["cwd"] == str(project.resolve())
    key = SessionKey(project_key=project_key_for_directory(project), session_id=init["session_id"])
    assert await store.load(key)
    with pytest.raises(ConfigurationError, match="is not an existing directory"):
        await run_query("hi", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=tmp_path / "missing"))
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match="is not an existing directory"):
        await run_query("hi", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=tmp_path / "file"))


async def test_resume_keeps_the_id_and_sends_the_whole_history(store: SessionStore, project: Path) -> None:
    first = (
        await run_query(
            "My name is Ada.",
            AgentOptions(model=ScriptedModel(["Nice to meet you, Ada."]), session_store=store, cwd=project),
        )
    ).messages
    session_id = init_of(first)["session_id"]

    model = ScriptedModel(["Your name is Ada."])
    second = (
        await run_query(
            "What is my name?", AgentOptions(model=model, session_store=store, resume=session_id, cwd=project)
        )
    ).messages

    assert init_of(second)["session_id"] == session_id
    assert result_of(second).session_id == session_id
    assert texts(model.requests[0].messages) == [
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
    ]
    entries = await store.load({"project_key": project_key_for_directory(project), "session_id": session_id})
    assert entries is not None
    chain = active_chain(entries)
    assert [e["type"] for e in chain] == ["user", "assistant", "user", "assistant"]


async def test_fork_branches_and_leaves_the_original_untouched(store: SessionStore, project: Path) -> None:
    first = (
        await run_query(
            "Build a REST API.", AgentOptions(model=ScriptedModel(["REST it is."]), session_store=store, cwd=project)
        )
    ).messages
    original_id = init_of(first)["session_id"]
    key: Any = {"project_key": project_key_for_directory(project), "session_id": original_id}
    before = await store.load(key)

    fork_model = ScriptedModel(["GraphQL then."])
    forked = (
        await run_query(
            "Now redesign it as GraphQL.",
            AgentOptions(model=fork_model, session_store=store, resume=original_id, fork_session=True, cwd=project),
        )
    ).messages
    fork_id = init_of(forked)["session_id"]
    assert fork_id != original_id
    assert init_of(forked)["forked_from"]["sessionId"] == original_id
    assert texts(fork_model.requests[0].messages) == [
        ("user", "Build a REST API."),
        ("assistant", "REST it is."),
        ("user", "Now redesign it as GraphQL."),
    ]
    assert await store.load(key) == before

    resumed_model = ScriptedModel(["Still REST."])
    await run_query("Go on.", AgentOptions(model=resumed_model, session_store=store, resume=original_id, cwd=project))
    assert ("user", "Now redesign it as GraphQL.") not in texts(resumed_model.requests[0].messages)
    assert texts(resumed_model.requests[0].messages)[-1] == ("user", "Go on.")


async def test_fork_writes_nothing_proportional_to_the_history(tmp_path: Path, project: Path) -> None:
    sqlite = pytest.importorskip("tether.sessions.stores.sqlite")
    path = tmp_path / "fork.db"
    store = sqlite.SQLiteStore(path)
    big = "x" * 20_000
    replies = [f"answer {i} {big}" for i in range(40)]
    model = ScriptedModel(replies)
    session_id = None
    for i in range(40):
        options = AgentOptions(model=model, session_store=store, cwd=project, resume=session_id)
        session_id = init_of((await run_query(f"question {i}", options)).messages)["session_id"]
    await store.close()
    assert sum(p.stat().st_size for p in tmp_path.glob("fork.db*")) > 40 * 20_000

    store = sqlite.SQLiteStore(path)
    sizes_before = sum(p.stat().st_size for p in tmp_path.glob("fork.db*"))
    await run_query(
        "fork",
        AgentOptions(
            model=ScriptedModel(["ok"]), session_store=store, cwd=project, resume=session_id, fork_session=True
        ),
    )
    await store.close()
    sizes_after = sum(p.stat().st_size for p in tmp_path.glob("fork.db*"))
    assert sizes_after - sizes_before < 64 * 1024, "a fork must not copy the 800 kB history"


async def test_continue_conversation_picks_the_newest_session_of_the_project(
    store: SessionStore, tmp_path: Path
) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    older = init_of(
        (await run_query("older", AgentOptions(model=ScriptedModel(["a"]), session_store=store, cwd=here))).messages
    )
    newer = init_of(
        (await run_query("newer", AgentOptions(model=ScriptedModel(["b"]), session_store=store, cwd=here))).messages
    )
    await run_query("other project", AgentOptions(model=ScriptedModel(["c"]), session_store=store, cwd=elsewhere))

    model = ScriptedModel(["continued"])
    messages = (
        await run_query(
            "and then?", AgentOptions(model=model, session_store=store, cwd=here, continue_conversation=True)
        )
    ).messages
    assert init_of(messages)["session_id"] == newer["session_id"] != older["session_id"]
    assert texts(model.requests[0].messages)[0] == ("user", "newer")


async def test_resume_session_at_with_fork_ends_history_at_that_message(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["one", "two"])
    first = (await run_query("first", AgentOptions(model=model, session_store=store, cwd=project))).messages
    session_id = init_of(first)["session_id"]
    await run_query("second", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
    first_answer = next(m for m in first if isinstance(m, AssistantMessage))

    fork_model = ScriptedModel(["from the middle"])
    forked = (
        await run_query(
            "instead",
            AgentOptions(
                model=fork_model,
                session_store=store,
                cwd=project,
                resume=session_id,
                fork_session=True,
                resume_session_at=first_answer.uuid,
            ),
        )
    ).messages
    assert init_of(forked)["session_id"] != session_id
    assert texts(fork_model.requests[0].messages) == [("user", "first"), ("assistant", "one"), ("user", "instead")]


async def test_resume_session_at_without_fork_continues_on_a_new_branch(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["one", "two"])
    first = (await run_query("first", AgentOptions(model=model, session_store=store, cwd=project))).messages
    session_id = init_of(first)["session_id"]
    await run_query("second", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
    first_answer = next(m for m in first if isinstance(m, AssistantMessage))

    branch_model = ScriptedModel(["rewound"])
    branched = (
        await run_query(
            "redo",
            AgentOptions(
                model=branch_model,
                session_store=store,
                cwd=project,
                resume=session_id,
                resume_session_at=first_answer.uuid,
            ),
        )
    ).messages
    assert init_of(branched)["session_id"] == session_id
    assert texts(branch_model.requests[0].messages) == [("user", "first"), ("assistant", "one"), ("user", "redo")]

    after = ScriptedModel(["later"])
    await run_query("next", AgentOptions(model=after, session_store=store, cwd=project, resume=session_id))
    assert texts(after.requests[0].messages) == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "redo"),
        ("assistant", "rewound"),
        ("user", "next"),
    ]


async def test_resume_session_at_an_unknown_message_is_refused(store: SessionStore, project: Path) -> None:
    session_id = init_of(
        (await run_query("a", AgentOptions(model=ScriptedModel(["b"]), session_store=store, cwd=project))).messages
    )["session_id"]
    model = ScriptedModel(["never"])
    with pytest.raises(EntryNotFoundError):
        await run_query(
            "x",
            AgentOptions(model=model, session_store=store, cwd=project, resume=session_id, resume_session_at="nope"),
        )
    assert model.requests == []


async def test_session_id_chooses_the_id_and_a_duplicate_is_refused(store: SessionStore, project: Path) -> None:
    chosen = "3f2b8c1e-0000-4000-8000-000000000001"
    messages = (
        await run_query(
            "hi", AgentOptions(model=ScriptedModel(["hello"]), session_store=store, cwd=project, session_id=chosen)
        )
    ).messages
    assert init_of(messages)["session_id"] == chosen

    model = ScriptedModel(["never"])
    with pytest.raises(SessionExistsError):
        await run_query("again", AgentOptions(model=model, session_store=store, cwd=project, session_id=chosen))
    assert model.requests == []

    fork_id = "3f2b8c1e-0000-4000-8000-000000000002"
    forked = (
        await run_query(
            "fork",
            AgentOptions(
                model=ScriptedModel(["ok"]),
                session_store=store,
                cwd=project,
                resume=chosen,
                fork_session=True,
                session_id=fork_id,
            ),
        )
    ).messages
    assert init_of(forked)["session_id"] == fork_id
    with pytest.raises(SessionExistsError):
        await run_query(
            "fork",
            AgentOptions(
                model=ScriptedModel(["ok"]),
                session_store=store,
                cwd=project,
                resume=chosen,
                fork_session=True,
                session_id=fork_id,
            ),
        )


async def test_unknown_session_is_refused_before_any_model_call(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["never"])
    with pytest.raises(SessionNotFoundError, match="0b7c"):
        await run_query(
            "hi",
            AgentOptions(model=model, session_store=store, cwd=project, resume="0b7c5d2e-1111-4111-8111-111111111111"),
        )
    assert model.requests == []


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "a/b", "..", "", "x\n", "id with spaces", "a" * 200])
async def test_ids_with_path_characters_or_garbage_are_refused(store: SessionStore, project: Path, bad_id: str) -> None:
    kept = (
        await run_query("keep me", AgentOptions(model=ScriptedModel(["kept"]), session_store=store, cwd=project))
    ).messages
    model = ScriptedModel(["never"])
    with pytest.raises(InvalidSessionIdError):
        await run_query("hi", AgentOptions(model=model, session_store=store, cwd=project, resume=bad_id))
    with pytest.raises(InvalidSessionIdError):
        await run_query("hi", AgentOptions(model=model, session_store=store, cwd=project, session_id=bad_id or "\x00"))
    assert model.requests == []
    again = ScriptedModel(["still here"])
    await run_query(
        "more", AgentOptions(model=again, session_store=store, cwd=project, resume=init_of(kept)["session_id"])
    )
    assert texts(again.requests[0].messages)[0] == ("user", "keep me")


async def test_the_model_sees_every_earlier_turn_after_many_resumes(store: SessionStore, project: Path) -> None:
    def echo(request: Any) -> str:
        return f"turn {len(request.messages) // 2}"

    model = FunctionModel(echo)
    session_id = None
    for i in range(5):
        messages = (
            await run_query(
                f"prompt {i}", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id)
            )
        ).messages
        session_id = init_of(messages)["session_id"]
    assert [t for r, t in texts(model.requests[-1].messages) if r == "user"] == [f"prompt {i}" for i in range(5)]


async def test_queries_on_the_default_store_share_its_file_and_survive_it_being_deleted(
    isolated_environment: Path, project: Path
) -> None:
    from tether.sessions.stores.sqlite import SQLiteStore

    first = (await run_query("one", AgentOptions(model=ScriptedModel(["1"]), cwd=project))).messages
    shared = SQLiteStore.shared()
    assert shared.is_shared and shared.path == isolated_environment / "sessions.db"
    assert await shared.find(init_of(first)["session_id"]) is not None  # written through the shared store

    for name in ("sessions.db", "sessions.db-wal", "sessions.db-shm"):
        (isolated_environment / name).unlink(missing_ok=True)
    second = (await run_query("two", AgentOptions(model=ScriptedModel(["2"]), cwd=project))).messages

    fresh = SQLiteStore(isolated_environment / "sessions.db")  # what another process would open
    try:
        assert await fresh.find(init_of(second)["session_id"]) is not None
        assert await fresh.find(init_of(first)["session_id"]) is None
    finally:
        await fresh.close()
    resumed = (
        await run_query(
            "three", AgentOptions(model=ScriptedModel(["3"]), cwd=project, resume=init_of(second)["session_id"])
        )
    ).messages
    assert result_of(resumed).subtype == "success"


# -- a store written to the Claude Agent SDK's protocol: only append(key, entries) and load(key) -----


class SDKShapedStore:
    """The SDK's required methods and nothing else (no fork, find, expected_leaf, listing)."""

    def __init__(self) -> None:
        self.transcripts: dict[tuple[str, str, str], list[str]] = {}

    @staticmethod
    def _name(key: Any) -> tuple[str, str, str]:
        return (key["project_key"], key["session_id"], key.get("subpath") or "")

    async def append(self, key: Any, entries: list[dict[str, Any]]) -> None:
        self.transcripts.setdefault(self._name(key), []).extend(json.dumps(e) for e in entries)

    async def load(self, key: Any) -> list[dict[str, Any]] | None:
        lines = self.transcripts.get(self._name(key))
        return None if lines is None else [json.loads(line) for line in lines]


class SDKShapedStoreThatLists(SDKShapedStore):
    """The SDK's two methods and its optional `list_sessions`."""

    def __init__(self) -> None:
        super().__init__()
        self.mtimes: dict[tuple[str, str], int] = {}

    async def append(self, key: Any, entries: list[dict[str, Any]]) -> None:
        await super().append(key, entries)
        if not key.get("subpath"):
            self.mtimes[(key["project_key"], key["session_id"])] = (
                len(self.mtimes) + 10**12 + sum(len(lines) for lines in self.transcripts.values())
            )

    async def list_sessions(self, project_key: str) -> list[dict[str, Any]]:
        return [{"session_id": sid, "mtime": mtime} for (pk, sid), mtime in self.mtimes.items() if pk == project_key]


async def test_a_store_with_only_the_sdk_methods_runs_start_resume_fork_and_resume_at(project: Path) -> None:
    store = SDKShapedStore()
    model = ScriptedModel(["one", "two"])
    first = (await run_query("first", AgentOptions(model=model, session_store=store, cwd=project))).messages
    session_id = init_of(first)["session_id"]
    await run_query("second", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
    assert result_of(first).subtype == "success"

    resumed = ScriptedModel(["three"])
    await run_query("third", AgentOptions(model=resumed, session_store=store, cwd=project, resume=session_id))
    assert texts(resumed.requests[0].messages) == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
        ("assistant", "two"),
        ("user", "third"),
    ]
    key = {"project_key": project_key_for_directory(project), "session_id": session_id}
    before_fork = await store.load(key)

    first_answer = next(m for m in first if isinstance(m, AssistantMessage))
    fork_model = ScriptedModel(["forked"])
    forked = (
        await run_query(
            "instead",
            AgentOptions(
                model=fork_model,
                session_store=store,
                cwd=project,
                resume=session_id,
                fork_session=True,
                resume_session_at=first_answer.uuid,
            ),
        )
    ).messages
    fork_id = init_of(forked)["session_id"]
    assert fork_id != session_id
    assert init_of(forked)["forked_from"] == {"sessionId": session_id, "messageUuid": first_answer.uuid}
    assert texts(fork_model.requests[0].messages) == [("user", "first"), ("assistant", "one"), ("user", "instead")]
    assert await store.load(key) == before_fork, "the fork (a copy) leaves its source as it was"
    copied = await store.load({**key, "session_id": fork_id})
    assert copied is not None and all(e["sessionId"] == fork_id for e in copied if e.get("uuid"))

    rewound = ScriptedModel(["rewound"])
    again = (
        await run_query(
            "redo",
            AgentOptions(
                model=rewound, session_store=store, cwd=project, resume=session_id, resume_session_at=first_answer.uuid
            ),
        )
    ).messages
    assert init_of(again)["session_id"] == session_id
    assert texts(rewound.requests[0].messages) == [("user", "first"), ("assistant", "one"), ("user", "redo")]


async def test_continue_on_an_sdk_store_needs_its_list_sessions(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    bare = SDKShapedStore()
    await run_query("hello", AgentOptions(model=ScriptedModel(["hi"]), session_store=bare, cwd=here))
    with pytest.raises(ConfigurationError, match="SDKShapedStore"):
        await run_query(
            "and?", AgentOptions(model=ScriptedModel(["x"]), session_store=bare, cwd=here, continue_conversation=True)
        )

    store = SDKShapedStoreThatLists()
    await run_query("older", AgentOptions(model=ScriptedModel(["a"]), session_store=store, cwd=here))
    newer = init_of(
        (await run_query("newer", AgentOptions(model=ScriptedModel(["b"]), session_store=store, cwd=here))).messages
    )
    model = ScriptedModel(["continued"])
    messages = (
        await run_query(
            "and then?", AgentOptions(model=model, session_store=store, cwd=here, continue_conversation=True)
        )
    ).messages
    assert init_of(messages)["session_id"] == newer["session_id"]
    assert texts(model.requests[0].messages)[0] == ("user", "newer")


async def test_writers_of_one_process_are_serialised_on_a_store_without_compare_and_set(project: Path) -> None:
    store = SDKShapedStore()
    first = (
        await run_query("first", AgentOptions(model=ScriptedModel(["one"]), session_store=store, cwd=project))
    ).messages
    session_id = init_of(first)["session_id"]
    writer_a = await Session.resume(store, session_id, cwd=str(project))
    writer_b = await Session.resume(store, session_id, cwd=str(project))
    await writer_a.append_message("user", {"role": "user", "content": "from a"})
    key = writer_a.key
    stored = await store.load(key)
    with pytest.raises(SessionConflictError):
        await writer_b.append_message("user", {"role": "user", "content": "from b"})
    assert await store.load(key) == stored, "the writer that lost wrote nothing"

    async def write(session: Session, text: str, outcomes: list[str]) -> None:
        try:
            await session.append_message("user", {"role": "user", "content": text})
            outcomes.append("won")
        except SessionConflictError:
            outcomes.append("conflict")

    racers = [await Session.resume(store, session_id, cwd=str(project)) for _ in range(5)]
    outcomes: list[str] = []
    async with anyio.create_task_group() as group:
        for index, racer in enumerate(racers):
            group.start_soon(write, racer, f"racer {index}", outcomes)
    assert sorted(outcomes) == ["conflict"] * 4 + ["won"]


# -- one session id in two projects ----------------------------------------------------------------


async def test_one_id_in_two_projects_is_two_sessions_and_resume_prefers_the_current_project(
    store: SessionStore, tmp_path: Path
) -> None:
    project_a, project_b, elsewhere = tmp_path / "a", tmp_path / "b", tmp_path / "elsewhere"
    for directory in (project_a, project_b, elsewhere):
        directory.mkdir()
    shared_id = "5e55a1d0-0000-4000-8000-00000000000a"
    in_a = (
        await run_query(
            "in A", AgentOptions(model=ScriptedModel(["A"]), session_store=store, cwd=project_a, session_id=shared_id)
        )
    ).messages
    in_b = (
        await run_query(
            "in B", AgentOptions(model=ScriptedModel(["B"]), session_store=store, cwd=project_b, session_id=shared_id)
        )
    ).messages
    assert init_of(in_a)["session_id"] == init_of(in_b)["session_id"] == shared_id
    assert init_of(in_a)["project_key"] == project_key_for_directory(project_a)
    assert init_of(in_b)["project_key"] == project_key_for_directory(project_b)

    from_a = ScriptedModel(["again A"])
    resumed = (
        await run_query("back in A", AgentOptions(model=from_a, session_store=store, cwd=project_a, resume=shared_id))
    ).messages
    assert init_of(resumed)["project_key"] == project_key_for_directory(project_a)
    assert texts(from_a.requests[0].messages) == [("user", "in A"), ("assistant", "A"), ("user", "back in A")]

    newest_first = ScriptedModel(["from elsewhere"])
    picked = (
        await run_query(
            "where am I?", AgentOptions(model=newest_first, session_store=store, cwd=elsewhere, resume=shared_id)
        )
    ).messages
    assert init_of(picked)["project_key"] == project_key_for_directory(project_a), "A was updated last"
    assert texts(newest_first.requests[0].messages)[0] == ("user", "in A")

    await run_query(
        "B again", AgentOptions(model=ScriptedModel(["B2"]), session_store=store, cwd=project_b, resume=shared_id)
    )
    now_b = ScriptedModel(["b it is"])
    picked = (
        await run_query("and now?", AgentOptions(model=now_b, session_store=store, cwd=elsewhere, resume=shared_id))
    ).messages
    assert init_of(picked)["project_key"] == project_key_for_directory(project_b)
    assert texts(now_b.requests[0].messages)[0] == ("user", "in B")

    key_b: SessionKey = {"project_key": project_key_for_directory(project_b), "session_id": shared_id}
    b_entries = await store.load(key_b)
    assert b_entries is not None and not any("in A" in json.dumps(e) for e in b_entries)
    with pytest.raises(SessionExistsError):
        await run_query(
            "dup", AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=project_a, session_id=shared_id)
        )


def test_new_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    from tether.sessions.entries import new_uuid

    ids = [new_uuid() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
