"""The seed's session flows end to end: start, resume, fork, continue, resume-at, chosen ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    AssistantMessage,
    EntryNotFoundError,
    InvalidSessionIdError,
    Message,
    ResultMessage,
    SessionExistsError,
    SessionNotFoundError,
    SystemMessage,
    project_key_for_directory,
    query,
)
from tether.sessions.entries import active_chain
from tether.sessions.store import SessionStore
from tether.testing import FunctionModel, ScriptedModel

pytestmark = pytest.mark.anyio


async def run(prompt: str, options: AgentOptions) -> list[Message]:
    return [message async for message in query(prompt=prompt, options=options)]


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


async def test_resume_keeps_the_id_and_sends_the_whole_history(store: SessionStore, project: Path) -> None:
    first = await run(
        "My name is Ada.",
        AgentOptions(model=ScriptedModel(["Nice to meet you, Ada."]), session_store=store, cwd=project),
    )
    session_id = init_of(first)["session_id"]

    model = ScriptedModel(["Your name is Ada."])
    second = await run(
        "What is my name?", AgentOptions(model=model, session_store=store, resume=session_id, cwd=project)
    )

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
    first = await run(
        "Build a REST API.", AgentOptions(model=ScriptedModel(["REST it is."]), session_store=store, cwd=project)
    )
    original_id = init_of(first)["session_id"]
    key: Any = {"project_key": project_key_for_directory(project), "session_id": original_id}
    before = await store.load(key)

    fork_model = ScriptedModel(["GraphQL then."])
    forked = await run(
        "Now redesign it as GraphQL.",
        AgentOptions(model=fork_model, session_store=store, resume=original_id, fork_session=True, cwd=project),
    )
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
    await run("Go on.", AgentOptions(model=resumed_model, session_store=store, resume=original_id, cwd=project))
    assert ("user", "Now redesign it as GraphQL.") not in texts(resumed_model.requests[0].messages)
    assert texts(resumed_model.requests[0].messages)[-1] == ("user", "Go on.")


async def test_fork_writes_nothing_proportional_to_the_history(tmp_path: Path, project: Path) -> None:
    sqlite = pytest.importorskip("tether.sessions.sqlite")
    path = tmp_path / "fork.db"
    store = sqlite.SQLiteStore(path)
    big = "x" * 20_000
    replies = [f"answer {i} {big}" for i in range(40)]
    model = ScriptedModel(replies)
    session_id = None
    for i in range(40):
        options = AgentOptions(model=model, session_store=store, cwd=project, resume=session_id)
        session_id = init_of(await run(f"question {i}", options))["session_id"]
    await store.close()
    assert sum(p.stat().st_size for p in tmp_path.glob("fork.db*")) > 40 * 20_000

    store = sqlite.SQLiteStore(path)
    sizes_before = sum(p.stat().st_size for p in tmp_path.glob("fork.db*"))
    await run(
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
    older = init_of(await run("older", AgentOptions(model=ScriptedModel(["a"]), session_store=store, cwd=here)))
    newer = init_of(await run("newer", AgentOptions(model=ScriptedModel(["b"]), session_store=store, cwd=here)))
    await run("other project", AgentOptions(model=ScriptedModel(["c"]), session_store=store, cwd=elsewhere))

    model = ScriptedModel(["continued"])
    messages = await run(
        "and then?", AgentOptions(model=model, session_store=store, cwd=here, continue_conversation=True)
    )
    assert init_of(messages)["session_id"] == newer["session_id"] != older["session_id"]
    assert texts(model.requests[0].messages)[0] == ("user", "newer")


async def test_resume_session_at_with_fork_ends_history_at_that_message(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["one", "two"])
    first = await run("first", AgentOptions(model=model, session_store=store, cwd=project))
    session_id = init_of(first)["session_id"]
    await run("second", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
    first_answer = next(m for m in first if isinstance(m, AssistantMessage))

    fork_model = ScriptedModel(["from the middle"])
    forked = await run(
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
    assert init_of(forked)["session_id"] != session_id
    assert texts(fork_model.requests[0].messages) == [("user", "first"), ("assistant", "one"), ("user", "instead")]


async def test_resume_session_at_without_fork_continues_on_a_new_branch(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["one", "two"])
    first = await run("first", AgentOptions(model=model, session_store=store, cwd=project))
    session_id = init_of(first)["session_id"]
    await run("second", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id))
    first_answer = next(m for m in first if isinstance(m, AssistantMessage))

    branch_model = ScriptedModel(["rewound"])
    branched = await run(
        "redo",
        AgentOptions(
            model=branch_model, session_store=store, cwd=project, resume=session_id, resume_session_at=first_answer.uuid
        ),
    )
    assert init_of(branched)["session_id"] == session_id
    assert texts(branch_model.requests[0].messages) == [("user", "first"), ("assistant", "one"), ("user", "redo")]

    after = ScriptedModel(["later"])
    await run("next", AgentOptions(model=after, session_store=store, cwd=project, resume=session_id))
    assert texts(after.requests[0].messages) == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "redo"),
        ("assistant", "rewound"),
        ("user", "next"),
    ]


async def test_resume_session_at_an_unknown_message_is_refused(store: SessionStore, project: Path) -> None:
    session_id = init_of(await run("a", AgentOptions(model=ScriptedModel(["b"]), session_store=store, cwd=project)))[
        "session_id"
    ]
    model = ScriptedModel(["never"])
    with pytest.raises(EntryNotFoundError):
        await run(
            "x",
            AgentOptions(model=model, session_store=store, cwd=project, resume=session_id, resume_session_at="nope"),
        )
    assert model.requests == []


async def test_session_id_chooses_the_id_and_a_duplicate_is_refused(store: SessionStore, project: Path) -> None:
    chosen = "3f2b8c1e-0000-4000-8000-000000000001"
    messages = await run(
        "hi", AgentOptions(model=ScriptedModel(["hello"]), session_store=store, cwd=project, session_id=chosen)
    )
    assert init_of(messages)["session_id"] == chosen

    model = ScriptedModel(["never"])
    with pytest.raises(SessionExistsError):
        await run("again", AgentOptions(model=model, session_store=store, cwd=project, session_id=chosen))
    assert model.requests == []

    fork_id = "3f2b8c1e-0000-4000-8000-000000000002"
    forked = await run(
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
    assert init_of(forked)["session_id"] == fork_id
    with pytest.raises(SessionExistsError):
        await run(
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
        await run(
            "hi",
            AgentOptions(model=model, session_store=store, cwd=project, resume="0b7c5d2e-1111-4111-8111-111111111111"),
        )
    assert model.requests == []


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "a/b", "..", "", "x\n", "id with spaces", "a" * 200])
async def test_ids_with_path_characters_or_garbage_are_refused(store: SessionStore, project: Path, bad_id: str) -> None:
    kept = await run("keep me", AgentOptions(model=ScriptedModel(["kept"]), session_store=store, cwd=project))
    model = ScriptedModel(["never"])
    with pytest.raises(InvalidSessionIdError):
        await run("hi", AgentOptions(model=model, session_store=store, cwd=project, resume=bad_id))
    with pytest.raises(InvalidSessionIdError):
        await run("hi", AgentOptions(model=model, session_store=store, cwd=project, session_id=bad_id or "\x00"))
    assert model.requests == []
    again = ScriptedModel(["still here"])
    await run("more", AgentOptions(model=again, session_store=store, cwd=project, resume=init_of(kept)["session_id"]))
    assert texts(again.requests[0].messages)[0] == ("user", "keep me")


async def test_the_model_sees_every_earlier_turn_after_many_resumes(store: SessionStore, project: Path) -> None:
    def echo(request: Any) -> str:
        return f"turn {len(request.messages) // 2}"

    model = FunctionModel(echo)
    session_id = None
    for i in range(5):
        messages = await run(
            f"prompt {i}", AgentOptions(model=model, session_store=store, cwd=project, resume=session_id)
        )
        session_id = init_of(messages)["session_id"]
    assert [t for r, t in texts(model.requests[-1].messages) if r == "user"] == [f"prompt {i}" for i in range(5)]


async def test_queries_on_the_default_store_share_its_file_and_survive_it_being_deleted(
    isolated_environment: Path, project: Path
) -> None:
    from tether.sessions.sqlite import SQLiteStore

    first = await run("one", AgentOptions(model=ScriptedModel(["1"]), cwd=project))
    shared = SQLiteStore.shared()
    assert shared.is_shared and shared.path == isolated_environment / "sessions.db"
    assert await shared.find(init_of(first)["session_id"]) is not None  # written through the shared store

    for name in ("sessions.db", "sessions.db-wal", "sessions.db-shm"):
        (isolated_environment / name).unlink(missing_ok=True)
    second = await run("two", AgentOptions(model=ScriptedModel(["2"]), cwd=project))

    fresh = SQLiteStore(isolated_environment / "sessions.db")  # what another process would open
    try:
        assert await fresh.find(init_of(second)["session_id"]) is not None
        assert await fresh.find(init_of(first)["session_id"]) is None
    finally:
        await fresh.close()
    resumed = await run(
        "three", AgentOptions(model=ScriptedModel(["3"]), cwd=project, resume=init_of(second)["session_id"])
    )
    assert result_of(resumed).subtype == "success"
