"""The guard between the loop and any model (`tether.models.guard`): whatever a model raises or sends,
the run ends with an error `ResultMessage` naming it, the store holds nothing the caller did not
see, and the session resumes. Also the run deadline and the checks of the timeout options."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.faults.conftest import error_of, result_of, session_id_of

from tether import (
    AgentOptions,
    ConfigurationError,
    MemoryStore,
    Message,
    ResultMessage,
    UserMessage,
    project_key_for_directory,
)
from tether._vocabulary.store import SessionKey
from tether.messages import ToolUseBlock, block_from_dict
from tether.models.base import ModelEvent, ModelRequest, ModelResponse, RawStreamEvent
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


async def stored_roles(store: MemoryStore, project: Path, messages: list[Message]) -> list[str]:
    """The roles of the transcript entries of the session of `messages`."""
    key: SessionKey = {"project_key": project_key_for_directory(project), "session_id": session_id_of(messages)}
    entries = await store.load(key)
    assert entries is not None
    return [str(entry["type"]) for entry in entries if entry.get("type") in ("user", "assistant")]


async def fails_then_resumes(model: Any, project: Path, **extra: Any) -> str:
    """Run `model` (failing on its first call), check the session resumes; the first run's error."""
    store = MemoryStore()
    options = AgentOptions(model=model, cwd=project, session_store=store, **extra)
    failed = (await run_query("Hello?", options)).messages
    error = error_of(failed)
    assert await stored_roles(store, project, failed) == ["user"]  # the prompt, nothing of the failed reply
    resumed = (
        await run_query(
            "Still there?", AgentOptions(model=model, cwd=project, session_store=store, resume=session_id_of(failed))
        )
    ).messages
    assert result_of(resumed).result == "Back again."
    return error


def last_request_texts(model: ScriptedModel) -> list[tuple[str, list[str]]]:
    return [
        (
            m["role"],
            [b.get("text", b.get("type")) for b in m["content"]] if isinstance(m["content"], list) else [m["content"]],
        )
        for m in model.last_request.messages
    ]


async def test_an_exception_from_a_model_becomes_an_error_result(project: Path) -> None:
    model = ScriptedModel([RuntimeError("the GPU caught fire"), "Back again."])
    error = await fails_then_resumes(model, project)
    assert error == "the model 'scripted-model' failed: RuntimeError: the GPU caught fire"
    assert last_request_texts(model) == [("user", ["Hello?", "Still there?"])]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"type": "tool_use", "name": "Read", "input": {}}, "the tool_use block calling 'Read' has no id"),
        ({"type": "tool_use", "id": "t1", "name": "Read", "input": ["a"]}, "the input of the 'Read' call is an array"),
        ({"type": "tool_use", "id": "t1", "input": {}}, "a tool_use block has no name"),
        ({"type": "text", "text": 7}, "a text block has no text string (it has a number)"),
        ("just a string", "a content block must be an object, not a string"),
    ],
)
async def test_a_malformed_response_is_refused_before_it_is_stored(project: Path, block: Any, problem: str) -> None:
    model = ScriptedModel([ModelResponse(content=[block], model="m"), "Back again."], stream_events=False)
    error = await fails_then_resumes(model, project)
    assert error.startswith("the model 'scripted-model' sent a malformed response: content block 0: ")
    assert problem in error and error.endswith("nothing was kept")


class _Misbehaving:
    """A model of one's own that streams `events` as given."""

    def __init__(self, *events: Any) -> None:
        self.events = events
        self.model_name = "my-model"
        self.calls = 0

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.calls += 1
        if self.calls > 1:
            yield ModelResponse(content=[{"type": "text", "text": "Back again."}], model="my-model")
            return
        for event in self.events:
            if event == "hang":
                await anyio.sleep_forever()
            yield event


RESPONSE = ModelResponse(content=[{"type": "text", "text": "hi"}], model="my-model")


@pytest.mark.parametrize(
    ("events", "problem"),
    [
        (({"type": "ping"},), "the model 'my-model' sent dict, which is not a model event"),
        ((RawStreamEvent(["x"]),), "the model 'my-model' sent a stream event that is an array"),  # type: ignore[arg-type]
        ((RESPONSE, RESPONSE), "the model 'my-model' sent ModelResponse after its response"),
        ((), "the model 'my-model' ended its stream without a response"),
        ((ModelResponse(content=[], model="m", usage=None),), "its usage is null, not an object"),  # type: ignore[arg-type]
    ],
)
async def test_a_model_that_breaks_the_protocol_is_named(project: Path, events: tuple[Any, ...], problem: str) -> None:
    error = await fails_then_resumes(_Misbehaving(*events), project)
    assert problem in error


async def test_a_model_that_never_answers_is_cut_by_the_request_timeout(project: Path) -> None:
    error = await fails_then_resumes(_Misbehaving("hang"), project, request_timeout=0.3)
    assert error == "the call to the model 'my-model' took longer than request_timeout (0.3 s); nothing was kept"


async def test_the_run_deadline_ends_the_run_between_steps(project: Path) -> None:
    """A tool call in progress finishes; the run ends before its next model call."""
    store = MemoryStore()
    call = tool_use_reply("Bash", {"command": "sleep 0.6"})
    model = ScriptedModel([call, "never asked for", "Back again."])
    options = AgentOptions(
        model=model, cwd=project, session_store=store, run_timeout=0.3, permission_mode="bypassPermissions"
    )
    failed = (await run_query("Hello?", options)).messages
    assert error_of(failed) == "the run took longer than run_timeout (0.3 s)"
    assert len(model.requests) == 1
    results = [m for m in failed if isinstance(m, UserMessage)]
    assert len(results) == 1  # the call got its result: the session stays valid
    resumed = (
        await run_query(
            "Still there?", AgentOptions(model=model, cwd=project, session_store=store, resume=session_id_of(failed))
        )
    ).messages
    assert result_of(resumed).result == "never asked for"  # the next scripted reply: the deadline was per run


@pytest.mark.parametrize(
    ("name", "value"),
    [("connect_timeout", 0), ("stream_idle_timeout", -1.0), ("request_timeout", "60"), ("run_timeout", True)],
)
async def test_a_bad_timeout_fails_at_start_naming_it(project: Path, name: str, value: Any) -> None:
    store = MemoryStore()
    model = ScriptedModel(["never sent"])
    with pytest.raises(ConfigurationError, match=f"{name} must be a positive number of seconds"):
        await run_query("Hello?", AgentOptions(model=model, cwd=project, session_store=store, **{name: value}))
    assert model.requests == [] and await store.list_sessions(project_key_for_directory(project)) == []


async def test_no_timeout_means_no_limit(project: Path) -> None:
    model = ScriptedModel(["fine"])
    messages = (
        await run_query("Hello?", AgentOptions(model=model, cwd=project, request_timeout=None, run_timeout=None))
    ).messages
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "fine"


def test_block_from_dict_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="the tool_use block calling 'Read' has no id"):
        block_from_dict({"type": "tool_use", "name": "Read", "input": {}})
    with pytest.raises(ValueError, match="the input of the 'Read' call is a string, not an object"):
        block_from_dict({"type": "tool_use", "id": "t", "name": "Read", "input": "x"})
    assert block_from_dict({"type": "tool_use", "id": "t", "name": "Read"}) == ToolUseBlock("t", "Read", {})
