"""The capability layer: what a store can do, and each operation's fallback where it cannot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether import ConfigurationError, SessionExistsError, SessionNotFoundError
from tether._vocabulary.store import SessionKey
from tether.sessions.capabilities import capabilities_of, store_access
from tether.sessions.stores.memory import MemoryStore

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
    assert len(capabilities_of(MemoryStore())) == 11
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
