"""A store of the caller's own that raises whatever its driver raises: every public entry point
(query, the client, each session helper) gives a `StoreError` naming the store and the call,
never the driver's exception, and a store that works again is usable at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import tether
from tether import AgentClient, AgentOptions, StoreError, TetherError
from tether._vocabulary.store import SessionKey, SessionListSubkeysKey, SessionStoreEntry, SessionStoreListEntry
from tether.sessions.stores.memory import MemoryStore
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio


class DriverFailure(Exception):
    """What some database driver raises; tether does not know this class."""


class FlakyStore:
    """The Claude Agent SDK's store protocol over a MemoryStore; `broken` makes every call raise."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise DriverFailure("connection reset by peer")

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        self._check()
        await self.inner.append(key, entries)

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        self._check()
        return await self.inner.load(key)

    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        self._check()
        return await self.inner.list_sessions(project_key)

    async def delete(self, key: SessionKey) -> None:
        self._check()
        await self.inner.delete(key)

    async def list_subkeys(self, key: SessionListSubkeysKey) -> list[str]:
        self._check()
        return await self.inner.list_subkeys(key)


def options(store: FlakyStore, project: Path, **more: Any) -> AgentOptions:
    return AgentOptions(model=ScriptedModel(["fine"] * 3), session_store=store, cwd=project, **more)


async def started(store: FlakyStore, project: Path) -> str:
    return (await run_query("hello", options(store, project))).session_id


def entry_points(store: FlakyStore, project: Path, session_id: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    directory = str(project)

    async def client_turn() -> None:
        async with AgentClient(options(store, project, resume=session_id)) as client:
            await client.query("again")
            [m async for m in client.receive_response()]

    return {
        "query (new session)": lambda: run_query("hi", options(store, project)),
        "query (resume)": lambda: run_query("again", options(store, project, resume=session_id)),
        "query (fork)": lambda: run_query("branch", options(store, project, resume=session_id, fork_session=True)),
        "AgentClient": client_turn,
        "list_sessions_from_store": lambda: tether.list_sessions_from_store(store, directory),
        "get_session_info_from_store": lambda: tether.get_session_info_from_store(store, session_id, directory),
        "get_session_messages_from_store": lambda: tether.get_session_messages_from_store(store, session_id, directory),
        "list_subagents_from_store": lambda: tether.list_subagents_from_store(store, session_id, directory),
        "rename_session_via_store": lambda: tether.rename_session_via_store(store, session_id, "new", directory),
        "tag_session_via_store": lambda: tether.tag_session_via_store(store, session_id, "t", directory),
        "fork_session_via_store": lambda: tether.fork_session_via_store(store, session_id, directory),
        "delete_session_via_store": lambda: tether.delete_session_via_store(store, session_id, directory),
    }


ENTRY_POINTS = list(entry_points(FlakyStore(), Path("."), "x"))


@pytest.mark.parametrize("name", ENTRY_POINTS)
async def test_a_store_failure_reaches_the_caller_as_a_store_error(name: str, project: Path) -> None:
    store = FlakyStore()
    session_id = await started(store, project)
    call = entry_points(store, project, session_id)[name]

    store.broken = True
    with pytest.raises(TetherError) as caught:
        await call()
    assert isinstance(caught.value, StoreError), repr(caught.value)
    assert "FlakyStore" in str(caught.value) and "DriverFailure: connection reset by peer" in str(caught.value)
    assert isinstance(caught.value.__cause__, DriverFailure)

    store.broken = False  # the store is back: the session is intact and carries on
    resumed = await run_query("still there?", options(store, project, resume=session_id))
    assert resumed.result.subtype == "success"
