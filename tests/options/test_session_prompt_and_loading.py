"""A session keeps the system prompt of its first request (`snapshot`), prompt files are read
from `cwd`, and `load_timeout_ms` bounds how long resuming waits for the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tether import AgentOptions, ResultMessage, SystemMessage
from tether._vocabulary.store import SessionKey, SessionStore
from tether.errors import SessionError
from tether.sessions.entries import make_entry
from tether.sessions.keys import project_key_for_directory
from tether.testing import MemoryStore, ScriptedModel, run_query

pytestmark = pytest.mark.anyio


async def system_sent(store: SessionStore, project: Path, system_prompt: Any, **options: Any) -> tuple[str, str]:
    """Run one prompt; the system prompt the model got, and the session id."""
    model = ScriptedModel(["ok"])
    agent_options = AgentOptions(model=model, cwd=project, session_store=store, system_prompt=system_prompt, **options)
    messages = (await run_query("hello", agent_options)).messages
    assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error, messages[-1]
    init = messages[0]
    assert isinstance(init, SystemMessage) and model.requests[0].system is not None
    return model.requests[0].system, init.data["session_id"]


async def test_a_resumed_session_keeps_the_prompt_of_its_first_request(store: SessionStore, project: Path) -> None:
    _, session_id = await system_sent(store, project, "You are a pirate.")

    sent, _ = await system_sent(store, project, "You are a poet.", resume=session_id)
    assert sent == "You are a pirate."
    sent, _ = await system_sent(store, project, {"type": "custom", "prompt": "You are a poet."}, resume=session_id)
    assert sent == "You are a pirate."


async def test_a_fork_keeps_the_prompt_of_its_source(store: SessionStore, project: Path) -> None:
    preset = {"type": "preset", "preset": "claude_code", "append": "Use tabs."}
    first, session_id = await system_sent(store, project, preset)

    other = {**preset, "append": "Use spaces."}
    sent, fork_id = await system_sent(store, project, other, resume=session_id, fork_session=True)

    assert sent == first and fork_id != session_id


async def test_snapshot_false_builds_the_prompt_from_the_options_on_every_run(
    store: SessionStore, project: Path
) -> None:
    _, session_id = await system_sent(store, project, "You are a pirate.")

    custom = {"type": "custom", "prompt": "You are a poet.", "snapshot": False}
    assert (await system_sent(store, project, custom, resume=session_id))[0] == "You are a poet."
    preset = {"type": "preset", "preset": "claude_code", "append": "Rhyme.", "snapshot": False}
    assert (await system_sent(store, project, preset, resume=session_id))[0].endswith("\n\nRhyme.")


async def test_a_session_without_a_recorded_prompt_uses_the_options(store: SessionStore, project: Path) -> None:
    key = SessionKey(project_key=project_key_for_directory(str(project.resolve())), session_id="older-session")
    prompt = make_entry(
        "user", {"role": "user", "content": "hi"}, session_id="older-session", parent_uuid=None, cwd=str(project)
    )
    await store.append(key, [prompt])

    sent, _ = await system_sent(store, project, "You are a poet.", resume="older-session")

    assert sent == "You are a poet."


async def test_a_relative_prompt_file_is_read_from_cwd(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "prompts").mkdir()
    (project / "prompts" / "reviewer.md").write_text("You review code.\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    sent, _ = await system_sent(MemoryStore(), project, {"type": "file", "path": "prompts/reviewer.md"})

    assert sent == "You review code.\n"


class StuckStore(MemoryStore):
    """A store whose loads never answer once `stuck` is set, like a hung network adapter."""

    stuck = False

    async def load(self, key: SessionKey) -> Any:
        if self.stuck:
            await anyio.sleep_forever()
        return await super().load(key)

    async def load_texts(self, key: SessionKey) -> Any:  # a resume reads the stored texts when it can
        if self.stuck:
            await anyio.sleep_forever()
        return await super().load_texts(key)


@pytest.mark.parametrize("timeout_ms", [0, 50])
async def test_resuming_from_a_store_that_does_not_answer_fails_after_load_timeout_ms(
    timeout_ms: int, project: Path
) -> None:
    store = StuckStore()
    _, session_id = await system_sent(store, project, None)
    store.stuck = True

    with pytest.raises(SessionError, match=f"load_timeout_ms \\({timeout_ms} ms\\)"):
        await system_sent(store, project, None, resume=session_id, load_timeout_ms=timeout_ms)


async def test_a_new_session_does_not_wait_on_load_timeout_ms(project: Path) -> None:
    sent, _ = await system_sent(MemoryStore(), project, "Hi.", load_timeout_ms=0)

    assert sent == "Hi."
