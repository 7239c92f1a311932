"""The blob capability: content-addressed bytes, stored once per store, in every store tether ships
and through the fallback for a store with only the SDK's methods."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import claude_agent_sdk
import pytest

from tether._vocabulary.store import SessionKey, SessionStore
from tether.errors import ConfigurationError, StoreError
from tether.sessions.capabilities import store_access

pytestmark = pytest.mark.anyio


def address(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


BLOBS = {address(d): d for d in (b"", b"hello\n", bytes(range(256)) * 4096, "héllo wörld".encode())}


async def test_every_store_keeps_blobs_by_their_sha256(any_store: SessionStore) -> None:
    access = store_access(any_store)
    assert {"put_blobs", "get_blobs", "list_blobs", "delete_blobs"} <= access.capabilities
    await access.put_blobs(BLOBS)
    await access.put_blobs(BLOBS)  # written once: a second put is a no-op
    assert await access.get_blobs(list(BLOBS)) == BLOBS
    assert await access.list_blobs() == sorted(BLOBS)
    unknown = address(b"never stored")
    assert await access.get_blobs([unknown, *BLOBS][:2]) == {k: BLOBS[k] for k in list(BLOBS)[:1]}
    doomed = list(BLOBS)[:2]
    await access.delete_blobs([*doomed, unknown])
    assert await access.list_blobs() == sorted(set(BLOBS) - set(doomed))
    assert await access.get_blobs(doomed) == {}


async def test_a_blob_whose_bytes_do_not_match_its_address_is_refused(any_store: SessionStore) -> None:
    access = store_access(any_store)
    with pytest.raises((ConfigurationError, StoreError), match="sha256"):
        await access.put_blobs({address(b"a"): b"b"})
    with pytest.raises((ConfigurationError, StoreError), match="sha256"):
        await access.put_blobs({"../../etc/passwd": b"x"})
    assert await access.list_blobs() == []


async def test_blobs_of_one_scope_are_not_seen_from_another(tmp_path: Path) -> None:
    from tether.sessions.stores.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "scoped.db", scope="a")
    other = store.with_scope("b")
    try:
        await store_access(store).put_blobs(BLOBS)
        assert await store_access(other).list_blobs() == []
        assert await store_access(store.with_scope("a")).get_blobs(list(BLOBS)) == BLOBS
    finally:
        await store.close()


class TwoMethodStore(claude_agent_sdk.SessionStore):
    """A store written for the Claude SDK: append, load, and its optional delete and list_subkeys."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    async def append(self, key: Any, entries: list[Any]) -> None:
        ident = (key["project_key"], key["session_id"], key.get("subpath") or "")
        self.data.setdefault(ident, []).extend(entries)

    async def load(self, key: Any) -> list[Any] | None:
        return self.data.get((key["project_key"], key["session_id"], key.get("subpath") or ""))

    async def delete(self, key: Any) -> None:
        self.data.pop((key["project_key"], key["session_id"], key.get("subpath") or ""), None)

    async def list_subkeys(self, key: Any) -> list[str]:
        return [s for p, i, s in self.data if (p, i) == (key["project_key"], key["session_id"]) and s]


async def test_a_store_with_only_the_sdk_methods_keeps_blobs_as_side_transcripts() -> None:
    store = TwoMethodStore()  # type: ignore[abstract]
    access = store_access(store)
    assert "put_blobs" not in access.capabilities
    await access.put_blobs(BLOBS)
    await access.put_blobs(BLOBS)
    assert await access.get_blobs(list(BLOBS)) == BLOBS
    assert await access.list_blobs() == sorted(BLOBS)
    for blob in BLOBS:  # one side transcript each, written once
        side = SessionKey(project_key="tether-blobs", session_id="tether-blobs", subpath=f"blobs/{blob}")
        assert len(await store.load(side) or []) == 1
    await access.delete_blobs(list(BLOBS)[:1])
    assert await access.list_blobs() == sorted(list(BLOBS)[1:])
    with pytest.raises(ConfigurationError, match="sha256"):
        await access.put_blobs({address(b"a"): b"b"})


async def test_the_default_layered_store_keeps_blobs_in_its_primary(tmp_path: Path) -> None:
    from tether.sessions.stores.jsonl import JsonlStore
    from tether.sessions.stores.layered import LayeredStore
    from tether.sessions.stores.sqlite import SQLiteStore

    primary = SQLiteStore(tmp_path / "primary.db")
    layered = store_access(LayeredStore(primary, JsonlStore(tmp_path / "claude")))
    assert "put_blobs" in layered.capabilities
    await layered.put_blobs(BLOBS)
    assert await store_access(primary).get_blobs(list(BLOBS)) == BLOBS
    assert await layered.list_blobs() == sorted(BLOBS)
    await layered.delete_blobs(list(BLOBS))
    assert await store_access(primary).list_blobs() == []
    assert not (tmp_path / "claude" / "tether-blobs").exists()
    await layered.close()
