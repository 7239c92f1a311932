"""A model of one's own whose response has a field of the wrong type: the run ends with an error
`ResultMessage` naming the field, nothing of the reply is stored, and the session resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.faults.conftest import error_of, result_of, session_id_of

from tether import AgentOptions, ConfigurationError, MemoryStore, project_key_for_directory
from tether._vocabulary.store import SessionKey
from tether.models.base import ModelResponse
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio

TEXT = [{"type": "text", "text": "hi"}]


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (ModelResponse(content="hi", model="m"), "its content is a string, not a list of blocks"),  # type: ignore[arg-type]
        (ModelResponse(content=TEXT, model=7), "its model is a number, not a string"),  # type: ignore[arg-type]
        (ModelResponse(content=TEXT, model="m", stop_reason=["end"]), "its stop_reason is an array, not a string"),  # type: ignore[arg-type]
        (ModelResponse(content=TEXT, model="m", cost_usd="0.01"), "its cost_usd is a string, not a number"),  # type: ignore[arg-type]
        (ModelResponse(content=TEXT, model="m", cost_usd=True), "its cost_usd is a boolean, not a number"),
    ],
)
async def test_a_response_field_of_the_wrong_type_is_named_and_nothing_is_kept(
    project: Path, response: ModelResponse, problem: str
) -> None:
    store = MemoryStore()
    model = ScriptedModel([response, "Back again."], stream_events=False)
    failed = (await run_query("Hello?", AgentOptions(model=model, cwd=project, session_store=store))).messages

    error = error_of(failed)
    assert error.startswith("the model 'scripted-model' sent a malformed response: ") and problem in error
    key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id_of(failed))
    entries = await store.load(key)
    assert [entry["type"] for entry in entries or [] if entry["type"] in ("user", "assistant")] == ["user"]
    resuming = AgentOptions(model=model, cwd=project, session_store=store, resume=key["session_id"])
    resumed = (await run_query("Still there?", resuming)).messages
    assert result_of(resumed).result == "Back again."


class NamelessModel(ScriptedModel):
    """A model of one's own whose `model_name` fails (or is not a name)."""

    def __init__(self, name: object) -> None:
        super().__init__(["never sent"])
        self._name = name

    @property
    def model_name(self) -> str:
        if isinstance(self._name, Exception):
            raise self._name
        return self._name  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("name", "problem"),
    [(RuntimeError("no name yet"), "cannot say its model_name"), (None, "has model_name None"), ("", "model_name ''")],
)
async def test_a_model_without_a_usable_name_fails_at_start_and_stores_nothing(
    project: Path, name: object, problem: str
) -> None:
    store = MemoryStore()
    with pytest.raises(ConfigurationError, match=problem):
        await run_query("Hello?", AgentOptions(model=NamelessModel(name), cwd=project, session_store=store))
    assert await store.list_sessions(project_key_for_directory(project)) == []
