"""`resume_drops_turn`: a truncating resume goes through only if it drops exactly that prompt's turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    ConfigurationError,
    MemoryStore,
    ProcessError,
    ResultMessage,
    ResumeRejectedError,
    get_session_messages_from_store,
)
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio


async def session_of(store: MemoryStore, project: Path, prompts: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """A session of one turn per prompt; its `(type, uuid)` messages in order."""
    session_id = None
    for prompt in prompts:
        options: dict[str, Any] = {"resume": session_id} if session_id else {}
        result = (
            (
                await run_query(
                    prompt,
                    AgentOptions(model=ScriptedModel([f"re: {prompt}"]), cwd=project, session_store=store, **options),
                )
            ).messages
        )[-1]
        assert isinstance(result, ResultMessage)
        session_id = result.session_id
    assert session_id is not None
    messages = await get_session_messages_from_store(store, session_id, str(project))
    return session_id, [(m.type, m.uuid) for m in messages]


async def test_dropping_exactly_the_next_turn_resumes_from_the_kept_one(project: Path) -> None:
    store = MemoryStore()
    session_id, messages = await session_of(store, project, ["first", "second"])
    kept_reply, dropped_prompt = messages[1][1], messages[2][1]
    model = ScriptedModel(["again"])

    result = (
        (
            await run_query(
                "instead",
                AgentOptions(
                    model=model,
                    cwd=project,
                    session_store=store,
                    resume=session_id,
                    resume_session_at=kept_reply,
                    resume_drops_turn=dropped_prompt,
                ),
            )
        ).messages
    )[-1]

    assert isinstance(result, ResultMessage) and result.result == "again"
    sent = [block["text"] for m in model.requests[0].messages for block in m["content"]]
    assert sent == ["first", "re: first", "instead"]


async def test_a_resume_that_would_drop_more_than_that_turn_is_refused_and_writes_nothing(project: Path) -> None:
    store = MemoryStore()
    session_id, messages = await session_of(store, project, ["first", "second", "third"])
    before = await get_session_messages_from_store(store, session_id, str(project))
    model = ScriptedModel(["never"])

    with pytest.raises(ResumeRejectedError) as caught:
        await run_query(
            "instead",
            AgentOptions(
                model=model,
                cwd=project,
                session_store=store,
                resume=session_id,
                resume_session_at=messages[1][1],
                resume_drops_turn=messages[2][1],
            ),
        )

    assert isinstance(caught.value, ProcessError)  # what SDK code catches, matching on the text
    assert "Resume rejected by --resume-drops-turn:" in str(caught.value) and messages[4][1] in str(caught.value)
    assert model.requests == []
    assert await get_session_messages_from_store(store, session_id, str(project)) == before


async def test_a_prompt_that_does_not_follow_the_point_is_refused(project: Path) -> None:
    store = MemoryStore()
    session_id, messages = await session_of(store, project, ["first", "second"])

    for fork in (False, True):
        with pytest.raises(ResumeRejectedError, match="not the prompt"):
            await run_query(
                "instead",
                AgentOptions(
                    model=ScriptedModel(["never"]),
                    cwd=project,
                    session_store=store,
                    resume=session_id,
                    fork_session=fork,
                    resume_session_at=messages[1][1],
                    resume_drops_turn=messages[3][1],
                ),
            )


async def test_without_resume_session_at_it_is_a_configuration_error(project: Path) -> None:
    store = MemoryStore()
    session_id, messages = await session_of(store, project, ["first"])

    with pytest.raises(ConfigurationError, match="resume_session_at"):
        await run_query(
            "x",
            AgentOptions(
                model=ScriptedModel(["never"]),
                cwd=project,
                session_store=store,
                resume=session_id,
                resume_drops_turn=messages[0][1],
            ),
        )
