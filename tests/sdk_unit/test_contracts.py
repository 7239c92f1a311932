"""The Claude Agent SDK's contracts that tether keeps besides what the SDK's own tests check:
its `ValueError`s, its warning from a running query, read-only stores, one spelling per hint."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    CanUseToolShadowedWarning,
    EntryNotFoundError,
    InvalidSessionIdError,
    MemoryStore,
    PermissionResultAllow,
    SessionFileNotFoundError,
    SessionKey,
    ToolAnnotations,
    fork_session_via_store,
    get_session_messages_from_store,
    list_sessions_from_store,
    project_key_for_directory,
    query,
    rename_session_via_store,
    tag_session_via_store,
)
from tether.errors import ConfigurationError
from tether.testing import ScriptedModel

pytestmark = pytest.mark.anyio


async def _allow(tool: str, data: dict[str, Any], context: Any) -> PermissionResultAllow:
    return PermissionResultAllow()


async def _stored_session(store: MemoryStore, project: Path, text: str = "hi") -> tuple[str, str]:
    session_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
    message = {"role": "user", "content": text}
    entry = {"type": "user", "uuid": message_id, "parentUuid": None, "sessionId": session_id, "message": message}
    await store.append(key, [entry])
    return session_id, message_id


class ReadOnlyStore:
    """A store that can only be read: `load` and `list_sessions`, no `append`."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner

    async def load(self, key: SessionKey) -> Any:
        return await self.inner.load(key)

    async def list_sessions(self, project_key: str) -> Any:
        return await self.inner.list_sessions(project_key)


async def test_a_read_only_store_is_listed_and_read_and_a_write_says_it_is_read_only(project: Path) -> None:
    inner = MemoryStore()
    session_id, _ = await _stored_session(inner, project, "Plan the trip")
    store = ReadOnlyStore(inner)
    listed = await list_sessions_from_store(store, project)  # type: ignore[arg-type]
    assert [(info.session_id, info.summary) for info in listed] == [(session_id, "Plan the trip")]
    messages = await get_session_messages_from_store(store, session_id, project)  # type: ignore[arg-type]
    assert [m.message["content"] for m in messages] == ["Plan the trip"]
    with pytest.raises(ConfigurationError, match="does not implement append"):
        await rename_session_via_store(store, session_id, "A title", project)  # type: ignore[arg-type]


async def test_errors_are_value_errors_where_the_sdks_are(project: Path) -> None:
    store = MemoryStore()
    session_id, _ = await _stored_session(store, project)
    with pytest.raises(EntryNotFoundError) as unknown_message:
        await fork_session_via_store(store, session_id, project, up_to_message_id=str(uuid.uuid4()))
    assert isinstance(unknown_message.value, ValueError)
    with pytest.raises(SessionFileNotFoundError, match="not found") as unknown_uuid:
        await tag_session_via_store(store, str(uuid.uuid4()), "x", project)
    assert not isinstance(unknown_uuid.value, ValueError)  # the SDK's FileNotFoundError, nothing more
    with pytest.raises(InvalidSessionIdError, match="Invalid session_id 'not-a-uuid'") as unknown_plain_id:
        await tag_session_via_store(store, "not-a-uuid", "x", project)
    assert isinstance(unknown_plain_id.value, ValueError) and isinstance(
        unknown_plain_id.value, SessionFileNotFoundError
    )
    with pytest.raises(ValueError, match="tag must be non-empty"):
        await tag_session_via_store(store, session_id, "\u200b \u2066", project)
    with pytest.raises(ValueError, match="title must be non-empty"):
        await rename_session_via_store(store, session_id, " \n", project)


async def test_query_warns_when_allow_rules_shadow_can_use_tool(project: Path) -> None:
    shadowed = AgentOptions(
        model=ScriptedModel(["ok"]), cwd=project, can_use_tool=_allow, allowed_tools=["Read", "Bash(git *)"]
    )
    with pytest.warns(CanUseToolShadowedWarning, match=r"invoked for: Read\."):
        async for _ in query(prompt="hi", options=shadowed):
            pass
    narrow = AgentOptions(model=ScriptedModel(["ok"]), cwd=project, can_use_tool=_allow, allowed_tools=["Bash(ls *)"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CanUseToolShadowedWarning)
        async for _ in query(prompt="hi", options=narrow):
            pass


def test_tool_annotations_keep_one_spelling_of_each_hint() -> None:
    both = ToolAnnotations(readOnlyHint=True, read_only_hint=False, max_result_size_chars=10)
    assert both.model_dump(by_alias=True, exclude_none=True) == {"readOnlyHint": True, "maxResultSizeChars": 10}
    assert both.model_extra == {}
    snake = ToolAnnotations(destructive_hint=False)
    assert snake.model_dump(by_alias=True, exclude_none=True) == {"destructiveHint": False}
