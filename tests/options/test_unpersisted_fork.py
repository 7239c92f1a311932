"""`fork_session=True` with `persist_session=False`: a throwaway branch that sees the whole history
and writes nothing; and a store URL that cannot even be parsed fails at once, password hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether import AgentOptions, Message, ResultMessage, SystemMessage
from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError, SessionNotFoundError
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.urls import open_store
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio


def init_data(messages: list[Message]) -> dict[str, object]:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return first.data


async def test_an_unpersisted_fork_sees_the_history_and_writes_nothing(project: Path) -> None:
    store = MemoryStore()
    first = (
        await run_query(
            "My name is Ada.", AgentOptions(model=ScriptedModel(["Hello Ada."]), session_store=store, cwd=project)
        )
    ).messages
    original_id = str(init_data(first)["session_id"])
    key = SessionKey(project_key=project_key_for_directory(project), session_id=original_id)
    before = await store.load(key)

    model = ScriptedModel(["You are Ada."])
    options = AgentOptions(
        model=model, session_store=store, cwd=project, resume=original_id, fork_session=True, persist_session=False
    )
    branch = (await run_query("What is my name?", options)).messages

    data = init_data(branch)
    forked_from = data["forked_from"]
    assert isinstance(forked_from, dict) and forked_from["sessionId"] == original_id
    assert data["session_id"] != original_id
    result = branch[-1]
    assert isinstance(result, ResultMessage) and result.result == "You are Ada."
    seen = [str(message["content"]) for message in model.requests[0].messages]
    assert "My name is Ada." in seen[0] and "Hello Ada." in seen[1] and "What is my name?" in seen[-1]
    assert await store.load(key) == before
    assert [s["session_id"] for s in await store.list_sessions(project_key_for_directory(project))] == [original_id]
    with pytest.raises(SessionNotFoundError):
        await run_query(
            "Again?",
            AgentOptions(model=ScriptedModel(["-"]), session_store=store, cwd=project, resume=str(data["session_id"])),
        )


def test_a_store_url_that_cannot_be_parsed_is_named_without_its_password() -> None:
    with pytest.raises(ConfigurationError, match="invalid session store URL") as caught:
        open_store("postgresql://admin:hunter2@[::1/sessions")
    assert "hunter2" not in str(caught.value)
