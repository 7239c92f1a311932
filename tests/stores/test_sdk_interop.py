"""Stores move both ways between tether and claude-agent-sdk (a dev dependency).

- Every tether store passes the SDK's own `run_session_store_conformance`, every optional
  contract included, and tether's copy of it (`tether.testing.run_session_store_conformance`).
- The SDK's `InMemorySessionStore`, and a store subclassing the SDK's `SessionStore` protocol
  with only its two required methods, pass tether's copy and carry tether sessions.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tether import AgentOptions, ConfigurationError, Message, SystemMessage
from tether.sessions.store_capabilities import capabilities_of
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, run_session_store_conformance

if TYPE_CHECKING:
    import claude_agent_sdk
    import claude_agent_sdk.testing as sdk_testing
else:
    claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
    sdk_testing = pytest.importorskip("claude_agent_sdk.testing")

pytestmark = pytest.mark.anyio

MakeStore = Callable[[], Any]


def fresh_scopes(root: Any) -> MakeStore:
    """A fresh, empty store per call: a new scope of `root`'s backend."""
    return lambda: root.with_scope(f"sdk-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["memory", "sqlite", "jsonl", "postgres", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    """Each of tether's five stores, a fresh empty one per call."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore
    elif kind == "jsonl":
        yield lambda: JsonlStore(tmp_path / uuid.uuid4().hex)
    else:
        root = await _root(kind, request, tmp_path)
        yield fresh_scopes(root)
        await root.close()


async def _root(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "sessions.db")
    if kind == "postgres":
        from tether.sessions.stores.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_url"))
    from tether.sessions.stores.redis import RedisStore

    return RedisStore(request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix"))


async def test_tether_stores_pass_the_sdks_own_conformance_suite(make_store: MakeStore) -> None:
    store = make_store()
    assert {"list_sessions", "list_session_summaries", "delete", "list_subkeys"} <= capabilities_of(store)
    await sdk_testing.run_session_store_conformance(make_store)


async def test_tether_stores_pass_tethers_copy_of_the_sdk_suite(make_store: MakeStore) -> None:
    await run_session_store_conformance(make_store)


class TwoMethodSDKStore(claude_agent_sdk.SessionStore):
    """Subclasses the SDK's protocol, whose optional methods raise NotImplementedError: only two count.

    (mypy counts those optional methods as abstract: hence the `type: ignore[abstract]` where it is built.)
    """

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {}

    async def append(self, key: Any, entries: list[Any]) -> None:
        name = "/".join([key["project_key"], key["session_id"], key.get("subpath") or ""])
        self.data.setdefault(name, []).extend(entries)

    async def load(self, key: Any) -> list[Any] | None:
        name = "/".join([key["project_key"], key["session_id"], key.get("subpath") or ""])
        entries = self.data.get(name)
        return None if entries is None else list(entries)


def test_the_sdk_protocols_default_methods_are_not_capabilities() -> None:
    assert capabilities_of(TwoMethodSDKStore()) == frozenset()  # type: ignore[abstract]
    assert capabilities_of(claude_agent_sdk.InMemorySessionStore()) == {
        "list_sessions",
        "list_session_summaries",
        "delete",
        "list_subkeys",
    }


async def test_sdk_stores_pass_tethers_copy_of_the_suite() -> None:
    # The SDK types entries as its `SessionStoreEntry` TypedDict, tether's protocol as dict[str, Any]:
    # mypy does not take one list for the other (the stores still work together at runtime).
    await run_session_store_conformance(claude_agent_sdk.InMemorySessionStore)  # type: ignore[arg-type]
    await run_session_store_conformance(TwoMethodSDKStore)


def init_data(messages: list[Message]) -> dict[str, Any]:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return first.data


async def test_the_sdks_in_memory_store_carries_tether_sessions(tmp_path: Path) -> None:
    store: Any = claude_agent_sdk.InMemorySessionStore()  # the SDK's class, a SessionStore at run time
    first = (
        await run_query(
            "My name is Ada.", AgentOptions(model=ScriptedModel(["Hello Ada."]), session_store=store, cwd=tmp_path)
        )
    ).messages
    session_id = init_data(first)["session_id"]
    model = ScriptedModel(["Ada."])
    await run_query("Name?", AgentOptions(model=model, session_store=store, cwd=tmp_path, continue_conversation=True))
    assert [m["role"] for m in model.requests[0].messages] == ["user", "assistant", "user"]
    forked = (
        await run_query(
            "Fork.",
            AgentOptions(
                model=ScriptedModel(["ok"]), session_store=store, cwd=tmp_path, resume=session_id, fork_session=True
            ),
        )
    ).messages
    assert init_data(forked)["forked_from"]["sessionId"] == session_id
    listed = await store.list_sessions(init_data(first)["project_key"])
    assert {item["session_id"] for item in listed} == {session_id, init_data(forked)["session_id"]}


async def test_continue_on_a_two_method_store_says_it_cannot_list(tmp_path: Path) -> None:
    store = TwoMethodSDKStore()  # type: ignore[abstract]
    await run_query("hi", AgentOptions(model=ScriptedModel(["hello"]), session_store=store, cwd=tmp_path))
    with pytest.raises(ConfigurationError, match="TwoMethodSDKStore"):
        await run_query(
            "and?",
            AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=tmp_path, continue_conversation=True),
        )


async def test_the_sdks_listing_reads_tether_summaries(make_store: MakeStore, tmp_path: Path) -> None:
    store = make_store()
    titled = (
        await run_query("Plan the trip", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=tmp_path))
    ).messages
    plain = (
        await run_query("Just a question", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=tmp_path))
    ).messages
    await claude_agent_sdk.rename_session_via_store(store, init_data(titled)["session_id"], "Trip", str(tmp_path))
    infos = {info.session_id: info for info in await claude_agent_sdk.list_sessions_from_store(store, str(tmp_path))}
    assert set(infos) == {init_data(titled)["session_id"], init_data(plain)["session_id"]}
    named, untitled = infos[init_data(titled)["session_id"]], infos[init_data(plain)["session_id"]]
    assert (named.summary, named.custom_title, named.first_prompt) == ("Trip", "Trip", "Plan the trip")
    assert (untitled.summary, untitled.custom_title, untitled.first_prompt) == (
        "Just a question",
        None,
        "Just a question",
    )
    assert isinstance(untitled.created_at, int) and untitled.created_at <= untitled.last_modified
