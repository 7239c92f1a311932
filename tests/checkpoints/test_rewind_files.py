"""`enable_file_checkpointing` and `rewind_files`: files changed by Write and Edit go back to their
state at a prompt, from the client that changed them or from a later one that resumed the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.checkpoints.support import ECHO, ask, options_for

from tether import AgentClient, AgentOptions, UserMessage
from tether._vocabulary.store import SessionKey, SessionStore
from tether.errors import ConfigurationError, EntryNotFoundError, StoreError
from tether.models.base import ModelResponse
from tether.sessions.keys import project_key_for_directory
from tether.testing import MemoryStore, ScriptedModel, tool_use_reply

pytestmark = pytest.mark.anyio


def first_prompt_replies(project: Path) -> list[ModelResponse | str]:
    """Prompt 1: edit the existing notes.txt, create draft.txt."""
    notes = str(project / "notes.txt")
    return [
        tool_use_reply("Read", {"file_path": notes}),
        tool_use_reply("Edit", {"file_path": notes, "old_string": "original", "new_string": "first edit"}),
        tool_use_reply("Write", {"file_path": str(project / "draft.txt"), "content": "draft v1\n"}),
        "prompt one done",
    ]


def second_prompt_replies(project: Path) -> list[ModelResponse | str]:
    """Prompt 2: edit notes.txt again, overwrite draft.txt, create extra/new.txt."""
    notes = str(project / "notes.txt")
    return [
        tool_use_reply("Edit", {"file_path": notes, "old_string": "first edit", "new_string": "second edit"}),
        tool_use_reply("Read", {"file_path": str(project / "draft.txt")}),
        tool_use_reply("Write", {"file_path": str(project / "draft.txt"), "content": "draft v2\n"}),
        tool_use_reply("Write", {"file_path": str(project / "extra" / "new.txt"), "content": "new\n"}),
        "prompt two done",
    ]


def files_of(project: Path) -> dict[str, str]:
    return {
        str(path.relative_to(project)): path.read_text()
        for path in sorted(project.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


@pytest.fixture
def notes(project: Path) -> Path:
    path = project / "notes.txt"
    path.write_text("original\n")
    return path


async def test_rewind_restores_each_prompts_state(project: Path, notes: Path) -> None:
    store = MemoryStore()
    replies = first_prompt_replies(project) + second_prompt_replies(project)
    async with AgentClient(options_for(project, store, replies)) as client:
        first = await ask(client, "make the first changes")
        after_first = files_of(project)
        second = await ask(client, "make the second changes")
        assert files_of(project) == {"notes.txt": "second edit\n", "draft.txt": "draft v2\n", "extra/new.txt": "new\n"}

        await client.rewind_files(second)
        assert files_of(project) == after_first == {"notes.txt": "first edit\n", "draft.txt": "draft v1\n"}

        await client.rewind_files(first)
        assert files_of(project) == {"notes.txt": "original\n"}


async def test_a_resumed_client_rewinds_with_the_backups_in_the_store(
    project: Path, notes: Path, any_store: SessionStore
) -> None:
    replies = first_prompt_replies(project) + second_prompt_replies(project)
    async with AgentClient(options_for(project, any_store, replies)) as client:
        first = await ask(client, "make the first changes")
        second = await ask(client, "make the second changes")
        session_id = client.session_id

    resumed = options_for(project, any_store, ["unused"], resume=session_id)
    async with AgentClient(resumed) as client:
        await client.rewind_files(first)
    assert files_of(project) == {"notes.txt": "original\n"}

    entries = await any_store.load(
        SessionKey(project_key=project_key_for_directory(str(project)), session_id=session_id)
    )
    snapshots = [e for e in entries or [] if e.get("type") == "file-history-snapshot"]
    assert [e["messageId"] for e in snapshots] == [first] * 2 + [second] * 3  # each turn's first change of a file
    assert all("uuid" not in e for e in snapshots)  # metadata, outside the conversation chain


async def test_a_file_changed_twice_in_one_turn_goes_back_to_its_state_before_the_first_change(
    project: Path, notes: Path
) -> None:
    path = str(notes)
    replies = [
        tool_use_reply("Read", {"file_path": path}),
        tool_use_reply("Edit", {"file_path": path, "old_string": "original", "new_string": "one"}),
        tool_use_reply("Edit", {"file_path": path, "old_string": "one", "new_string": "two"}),
        "done",
    ]
    store = MemoryStore()
    async with AgentClient(options_for(project, store, replies)) as client:
        prompt = await ask(client, "edit twice")
        assert notes.read_text() == "two\n"
        await client.rewind_files(prompt)
    assert notes.read_text() == "original\n"


async def test_an_unknown_id_or_a_message_that_is_not_a_prompt_is_refused(project: Path, notes: Path) -> None:
    async with AgentClient(options_for(project, MemoryStore(), first_prompt_replies(project))) as client:
        await client.query("make the first changes")
        messages = [message async for message in client.receive_response()]
        tool_result = [m for m in messages if isinstance(m, UserMessage)][-1]
        changed = files_of(project)

        with pytest.raises(EntryNotFoundError, match="no-such-message"):
            await client.rewind_files("no-such-message")
        with pytest.raises(ConfigurationError, match="not a prompt"):
            await client.rewind_files(str(tool_result.uuid))
    assert files_of(project) == changed


async def test_rewind_without_the_option_says_to_enable_it(project: Path) -> None:
    options = AgentOptions(model=ScriptedModel(["hi"]), cwd=project, session_store=MemoryStore(), extra_args=ECHO)
    async with AgentClient(options) as client:
        prompt = await ask(client, "hello")
        with pytest.raises(ConfigurationError, match="enable_file_checkpointing=True"):
            await client.rewind_files(prompt)


async def test_prompts_are_echoed_only_with_replay_user_messages(project: Path) -> None:
    options = AgentOptions(model=ScriptedModel(["hi"]), cwd=project, session_store=MemoryStore())
    async with AgentClient(options) as client:
        await client.query("hello")
        messages = [message async for message in client.receive_response()]
    assert not any(isinstance(m, UserMessage) for m in messages)


async def test_a_session_that_is_not_persisted_rewinds_what_this_client_changed(project: Path, notes: Path) -> None:
    options = options_for(project, MemoryStore(), first_prompt_replies(project), persist_session=False)
    async with AgentClient(options) as client:
        prompt = await ask(client, "make the first changes")
        await client.rewind_files(prompt)
    assert files_of(project) == {"notes.txt": "original\n"}


async def test_a_damaged_backup_is_reported_before_any_file_is_touched(project: Path, notes: Path) -> None:
    store = MemoryStore()
    async with AgentClient(options_for(project, store, first_prompt_replies(project))) as client:
        prompt = await ask(client, "make the first changes")
        key = SessionKey(project_key=project_key_for_directory(str(project)), session_id=client.session_id)
        damaged = {
            "type": "file-history-snapshot",
            "messageId": prompt,
            "snapshot": {
                "messageId": prompt,
                "trackedFileBackups": {str(project / "other.txt"): {"backupContent": "%%"}},
            },
            "isSnapshotUpdate": False,
            "sessionId": client.session_id,
        }
        await store.append(key, [damaged])
        changed = files_of(project)

        with pytest.raises(StoreError, match=r"other\.txt is damaged"):
            await client.rewind_files(prompt)
    assert files_of(project) == changed
