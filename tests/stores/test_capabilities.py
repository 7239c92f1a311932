"""The capability layer: what a store can do, and each operation's fallback where it cannot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tether import ConfigurationError, SessionExistsError, SessionNotFoundError, StoreError
from tether._vocabulary.store import SessionKey
from tether.sessions.capabilities import store_access
from tether.sessions.store_capabilities import capabilities_of
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.urls import open_store, opened_for_caller
from tether.testing import run_store_conformance

pytestmark = pytest.mark.anyio


class ListingSDKStore:
    """The SDK's two methods and `list_sessions`, as a store written for the SDK may have."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], list[str]] = {}
        self.clock = 10**12

    async def append(self, key: Any, entries: list[Any]) -> None:
        self.clock += 1
        name = (key["project_key"], key["session_id"], key.get("subpath") or "")
        self.data.setdefault(name, []).extend(json.dumps(e) for e in entries)

    async def load(self, key: Any) -> list[Any] | None:
        lines = self.data.get((key["project_key"], key["session_id"], key.get("subpath") or ""))
        return None if lines is None else [json.loads(line) for line in lines]

    async def list_sessions(self, project_key: str) -> list[Any]:
        order = list(self.data)
        return [
            {"session_id": sid, "mtime": 10**12 + order.index((pk, sid, sub))}
            for (pk, sid, sub) in self.data
            if pk == project_key and not sub
        ]


def key(session_id: str, project: str = "-p") -> SessionKey:
    return SessionKey(project_key=project, session_id=session_id)


def entry(uuid: str, text: str) -> dict[str, Any]:
    return {"type": "user", "uuid": uuid, "message": {"role": "user", "content": text}}


def test_tethers_stores_have_every_capability_and_an_sdk_store_its_own() -> None:
    assert len(capabilities_of(MemoryStore())) == 17
    assert capabilities_of(ListingSDKStore()) == {"list_sessions"}


async def test_one_access_per_store_while_it_is_held() -> None:
    store = ListingSDKStore()
    access = store_access(store)
    assert store_access(store) is access and store_access(access) is access


async def test_listing_falls_back_to_list_sessions_and_folded_summaries_in_pages() -> None:
    store = ListingSDKStore()
    for index in range(5):
        await store.append(key(f"s{index}"), [entry(f"u{index}", f"prompt {index}")])
    await store.append(key("elsewhere", "-other"), [entry("x", "other project")])
    access = store_access(store)
    first = await access.list_page("-p", limit=2)
    assert [item["session_id"] for item in first.items] == ["s4", "s3"]
    assert first.items[0]["data"]["first_prompt"] == "prompt 4" and first.items[0]["project_key"] == "-p"
    assert first.next_cursor is not None
    rest = [item["session_id"] async for item in access.summaries("-p")]
    assert rest == ["s4", "s3", "s2", "s1", "s0"]
    assert await access.newest_session_id("-p") == "s4"
    with pytest.raises(ConfigurationError, match="every project"):
        await access.list_page(None)


async def test_without_find_a_session_is_found_in_the_given_project_only() -> None:
    store = ListingSDKStore()
    await store.append(key("s1", "-a"), [entry("u1", "hi")])
    access = store_access(store)
    found = await access.find("s1", "-a")
    assert found is not None and found.key == key("s1", "-a") and found.leaf == "u1"
    assert await access.find("s1", "-b") is None
    with pytest.raises(SessionNotFoundError, match="-b"):
        await access.locate("s1", "-b")


async def test_a_fork_without_fork_is_a_copy_with_fresh_uuids_and_its_origin() -> None:
    store = ListingSDKStore()
    await store.append(key("src"), [entry("u1", "one"), entry("u2", "two")])
    access = store_access(store)
    forked = await access.fork(key("src"), key("copy"), "u1")
    assert forked.origin == {"sessionId": "src", "messageUuid": "u1"}
    copied = await store.load(key("copy"))
    assert copied == forked.entries and len(copied) == 1
    assert copied[0]["uuid"] != "u1" and copied[0]["forkedFrom"] == {"sessionId": "src", "messageUuid": "u1"}
    with pytest.raises(SessionExistsError):
        await access.fork(key("src"), key("copy"))
    with pytest.raises(ConfigurationError, match="cannot delete"):
        await access.delete(key("copy"))


def test_a_jsonl_store_names_the_file_of_a_transcript_and_others_none(tmp_path: Path) -> None:
    jsonl = store_access(JsonlStore(tmp_path))
    assert "transcript_path" in jsonl.capabilities
    sub = SessionKey(project_key="-p", session_id="s1", subpath="subagents/agent-a")
    assert jsonl.transcript_path(key("s1")) == str(tmp_path / "projects" / "-p" / "s1.jsonl")
    assert jsonl.transcript_path(sub) == str(tmp_path / "projects" / "-p" / "s1" / "subagents" / "agent-a.jsonl")
    assert store_access(MemoryStore()).transcript_path(key("s1")) == ""
    assert store_access(ListingSDKStore()).transcript_path(key("s1")) == ""


async def test_the_shared_sqlite_store_is_not_the_callers_to_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    shared = open_store(url, shared=True)
    assert store_access(shared).shared and "shared" in capabilities_of(shared)
    assert not opened_for_caller(shared, url)
    own = open_store(url)
    assert not store_access(own).shared and opened_for_caller(own, url)
    await store_access(own).close()
    memory = MemoryStore()
    assert not store_access(memory).shared and not opened_for_caller(open_store(memory), memory)


class RefusingStore(MemoryStore):
    """Refuses entries it cannot encode with `StoreError`, as the store contract allows."""

    async def append(self, key: SessionKey, entries: list[dict[str, Any]], *, expected_leaf: str | None = None) -> None:
        try:
            json.dumps(entries)
        except (TypeError, ValueError) as error:
            raise StoreError(repr(self), "append", f"cannot encode the entries: {error}") from error
        await super().append(key, entries, expected_leaf=expected_leaf)


async def test_the_conformance_suite_accepts_store_error_for_entries_a_store_cannot_store() -> None:
    backend = RefusingStore()
    report = await run_store_conformance(lambda scope: backend, scopes=False)
    assert "entries that are not JSON objects are refused and write nothing" in report.passed
