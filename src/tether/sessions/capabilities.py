"""What a session store can do, and every store operation with its fallback, in one place.

A store needs only the Claude Agent SDK's two methods, `append(key, entries)` and `load(key)`.
The rest are optional: the SDK's `list_sessions`, `list_session_summaries`, `delete` and
`list_subkeys`, and tether's `fork`, `find`, `load_tail`, `load_texts`, `list_page`, `close`, `swap_lease`,
`read_lease`, `transcript_path`, `is_shared`, `watch`, `append(..., expected_leaf=)` (see `tether.sessions.store`) and
the blob methods (`put_blobs`, `get_blobs`, `list_blobs`, `delete_blobs`).
`StoreCapabilities.of(store)` looks once at which of them a store implements, as one typed
callable each (a method inherited from a `Protocol` class, such as the SDK's `SessionStore`
whose optional methods raise `NotImplementedError`, does not count); `store_access(store)` offers
each operation, with this fallback where the store lacks it:

- `append(..., expected_leaf=)`: this process's writers are serialised per session and the leaf
  is checked against what this process last read or wrote (other processes' writes are not seen);
- `fork`: a copy with fresh uuids and `forkedFrom` on each entry (what the SDK's `fork_session`
  writes);
- `find`: the session is looked for in the given project only;
- `load_tail`: `load`, then the last entries;
- `load_texts`: None (the caller loads);
- `list_page`: one project's summaries, sorted and sliced (every project cannot be listed);
- `list_session_summaries`: `list_sessions`, then `load` and fold each session;
- `list_subkeys`: no subkeys;
- `delete`: `ConfigurationError` (callers that may skip it check `can("delete")`);
- `swap_lease`: a chain of lease records under the session's subpath `tether/lease`, each written
  with `append(..., expected_leaf=)` (so as safe across processes as the store's `expected_leaf`);
  it grows by a record per swap;
- `close`: nothing to release;
- `transcript_path`: `""` (the store keeps no file per transcript);
- `shared`: not shared (a caller that opened the store closes it);
- `watch`: no notifications: a follower polls (`ChangeFeed.wait` just sleeps).
- `put_blobs`/`get_blobs`/`list_blobs`/`delete_blobs`: each blob is one entry (base64) in a side
  transcript `blobs/<sha256>` of the pseudo-session `BLOB_SESSION` (project `BLOB_SESSION` too),
  written once; listing needs `list_subkeys` and deleting needs `delete` (else none is listed or freed).

The agent, the session helpers, the CLI and the import/export code reach stores only through
this layer.
The fallbacks' own parts (writer locks, lease records, blob transcripts) are in
`tether.sessions.store_fallbacks`.
"""

from __future__ import annotations

import base64
import functools
import threading
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from tether._copying import shallow_copy
from tether._vocabulary.store import (
    SessionKey,
    SessionListSubkeysKey,
    SessionStore,
    SessionStoreEntry,
    SessionStoreListEntry,
    SessionSummaryEntry,
)
from tether.errors import (
    ConfigurationError,
    EntryNotFoundError,
    SessionConflictError,
    SessionExistsError,
    SessionNotFoundError,
)
from tether.sessions.entries import leaf_of, new_uuid, now_iso
from tether.sessions.keys import validate_session_id
from tether.sessions.store import NO_LEAF, SessionPage, StoredSession, StoredTexts
from tether.sessions.store_capabilities import (
    Capability,
    ChangeFeed,
    StoreCapabilities,
    StoreDeadline,
    bounded_capabilities,
)
from tether.sessions.store_fallbacks import (
    BLOB_ENTRY_TYPE,
    BLOB_SESSION,
    LEASE_ENTRY_TYPE,
    LEASE_SUBPATH,
    KeyId,
    KeyLocks,
    blob_key,
    blob_of,
    key_id_of,
    lease_in,
    lease_key_of,
    new_leaf,
    page_offset,
    unwatched,
    with_project,
)
from tether.sessions.stores._blobs import verified_blobs
from tether.sessions.stores._core import check_leaf
from tether.sessions.stores.transcripts import copy_for_fork
from tether.sessions.summary import fold_summary

__all__ = [
    "BLOB_SESSION",
    "LEASE_SUBPATH",
    "Forked",
    "StoreAccess",
    "store_access",
]


_PAGE = 200


@dataclass
class Forked:
    """A new fork: its entries (its whole view) and where it branched off."""

    entries: list[SessionStoreEntry]
    origin: dict[str, Any]
    """`{"sessionId", "messageUuid"}` of the source session and the message the fork continues from."""


class StoreAccess:
    """A store and what it can do; every operation with its fallback (see the module doc).

    Get one with `store_access(store)`: one object per store, so the writers it serialises
    for a store without `expected_leaf` are all of this process's.
    """

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.own = StoreCapabilities.of(store)
        """What the store can do, its calls unbounded."""
        self.capabilities: frozenset[Capability] = self.own.names()
        self.deadline = StoreDeadline()
        """How long each call may take (`DEFAULT_STORE_TIMEOUT`; see `bounded`)."""
        self.caps = bounded_capabilities(store, self.own, self.deadline)
        """What the store can do, each call held to `deadline`."""
        self._locks = KeyLocks()
        self._leaves: dict[KeyId, str | None] = {}

    def bounded(self, deadline: StoreDeadline) -> StoreAccess:
        """This store, its calls held to `deadline` (a run's): the same writers' locks and leaves."""
        return shallow_copy(self, deadline=deadline, caps=bounded_capabilities(self.store, self.own, deadline))

    def __repr__(self) -> str:
        return f"StoreAccess({self.store!r}, capabilities={sorted(self.capabilities)})"

    @property
    def name(self) -> str:
        """The store's class name, for messages."""
        return type(self.store).__name__

    def can(self, capability: Capability) -> bool:
        """Whether the store implements `capability` itself."""
        return capability in self.capabilities

    @property
    def shared(self) -> bool:
        """Whether the store is the process's shared one, which a caller that opened it must not close."""
        return self.caps.shared

    def transcript_path(self, key: SessionKey) -> str:
        """The file holding the transcript of `key` where the store keeps one (`JsonlStore`), else `""`."""
        path = self.caps.transcript_path
        return "" if path is None else path(key)

    # -- writing ------------------------------------------------------------------------------

    async def append(
        self, key: SessionKey, entries: list[SessionStoreEntry], *, expected_leaf: str | None = None
    ) -> None:
        """Append entries; with `expected_leaf`, raise `SessionConflictError` if the leaf moved (see the module doc)."""
        cas = self.caps.expected_leaf
        if cas is not None:
            await cas(key, entries, expected_leaf=expected_leaf)
            return
        validate_session_id(key["session_id"])
        key_id = key_id_of(key)
        async with self._locks.hold(key_id):
            if expected_leaf is not None:
                check_leaf(key["session_id"], expected_leaf, await self._leaf(key, key_id))
            if not entries:
                return
            try:
                await self.caps.append(key, entries)
            except BaseException:
                self._leaves.pop(key_id, None)  # the write may have landed: read the leaf again next time
                raise
            if key_id in self._leaves:
                self._leaves[key_id] = new_leaf(entries, self._leaves[key_id])

    async def _leaf(self, key: SessionKey, key_id: KeyId) -> str | None:
        if key_id not in self._leaves:
            self._leaves[key_id] = leaf_of(await self.caps.load(key) or [])
        return self._leaves[key_id]

    async def fork(self, source_key: SessionKey, new_key: SessionKey, at_uuid: str | None = None) -> Forked:
        """Branch `new_key` off `source_key` (after `at_uuid`, else at its leaf): copy-on-write, else a copy."""
        fork = self.caps.fork
        if fork is not None:
            await fork(source_key, new_key, at_uuid)
            entries = await self.load(new_key) or []
            await self._fork_subagents(source_key, new_key, entries)
            return Forked(entries, {"sessionId": source_key["session_id"], "messageUuid": leaf_of(entries)})
        source = await self.load(source_key)
        if source is None:
            raise SessionNotFoundError(source_key["session_id"])
        if at_uuid is not None and not any(entry.get("uuid") == at_uuid for entry in source):
            raise EntryNotFoundError(source_key["session_id"], at_uuid)
        if await self.exists(new_key):
            raise SessionExistsError(new_key["session_id"])
        copied = copy_for_fork(source, source_key["session_id"], new_key["session_id"], at_uuid)
        await self.append(new_key, copied, expected_leaf=NO_LEAF)
        await self._fork_subagents(source_key, new_key, copied)
        origin = {"sessionId": source_key["session_id"], "messageUuid": at_uuid or leaf_of(source)}
        return Forked(copied, origin)

    async def _fork_subagents(
        self, source_key: SessionKey, new_key: SessionKey, forked: list[SessionStoreEntry]
    ) -> None:
        """Copy into the fork the subagent transcripts whose Agent call the fork's history holds
        (their `agent_metadata` names it), so the fork lists them too. Their entries are copied."""
        calls = {
            block.get("id")
            for entry in forked
            if isinstance(entry.get("message"), dict) and isinstance(entry["message"].get("content"), list)
            for block in entry["message"]["content"]
            if isinstance(block, dict) and block.get("type") == "tool_use"
        }
        for subpath in await self.list_subkeys(source_key) if calls else []:
            sub = SessionKey(
                project_key=source_key["project_key"], session_id=source_key["session_id"], subpath=subpath
            )
            entries = await self.load(sub) or []
            if any(e.get("type") == "agent_metadata" and e.get("toolUseId") in calls for e in entries):
                target = SessionKey(
                    project_key=new_key["project_key"], session_id=new_key["session_id"], subpath=subpath
                )
                renamed = [{**e, "sessionId": new_key["session_id"]} if "sessionId" in e else e for e in entries]
                await self.append(target, renamed)

    async def delete(self, key: SessionKey) -> None:
        """Delete a transcript (a main key with its subkeys); `ConfigurationError` if the store cannot."""
        delete = self.caps.delete
        if delete is None:
            raise ConfigurationError(f"{self.name} cannot delete sessions (it has no delete method)")
        await delete(key)
        self._leaves.pop(key_id_of(key), None)

    async def read_lease(self, key: SessionKey) -> tuple[str, int] | None:
        """The turn lease of the session `key` as stored, `(owner, expires_at_ms)`, live or not; reads
        only (for observers: a page showing who runs a turn must not take part in the lease)."""
        read = self.caps.read_lease
        if read is not None:
            return await read(SessionKey(project_key=key["project_key"], session_id=key["session_id"]))
        if self.caps.swap_lease is not None:
            return None  # a store with its own swap but no read: the holder cannot be seen without writing
        return lease_in(await self.load_tail(lease_key_of(key), 1) or [], key["session_id"], None)

    async def swap_lease(
        self, key: SessionKey, owner: str, expires_at_ms: int, *, now_ms: int, take_from: str | None = None
    ) -> tuple[str, int] | None:
        """Set the turn lease of the session `key` to `(owner, expires_at_ms)`, atomically, if it is
        free (it expires at or before `now_ms`), `owner`'s, or `take_from`'s (a holder found dead):
        then return None. Else leave it and return the live `(holder, expires_at_ms)`.

        Releasing is a swap to `expires_at_ms=0` by the owner.
        """
        swap = self.caps.swap_lease
        if swap is not None:
            main = SessionKey(project_key=key["project_key"], session_id=key["session_id"])
            return await swap(main, owner, expires_at_ms, now_ms=now_ms, take_from=take_from)
        lease_key = lease_key_of(key)
        while True:
            tail = await self.load_tail(lease_key, 1) or []
            held = lease_in(tail, key["session_id"], now_ms)
            if held is not None and held[0] not in (owner, take_from):
                return held
            leaf = leaf_of(tail) or NO_LEAF
            record: SessionStoreEntry = {
                "type": LEASE_ENTRY_TYPE,
                "uuid": new_uuid(),
                "parentUuid": leaf or None,
                "sessionId": key["session_id"],
                "owner": owner,
                "expiresAt": expires_at_ms,
                "timestamp": now_iso(),
            }
            try:
                await self.append(lease_key, [record], expected_leaf=leaf)
                return None
            except SessionConflictError:
                continue  # another owner wrote between our read and write: look again

    def watch(self, key: SessionKey) -> AbstractAsyncContextManager[ChangeFeed]:
        """The change notifications of `key`'s transcript while the context is open; a store without
        them gives a feed whose `wait` sleeps its whole timeout (the caller polls)."""
        watch = self.caps.watch
        return unwatched() if watch is None else watch(key)

    # -- blobs --------------------------------------------------------------------------------

    async def put_blobs(self, blobs: Mapping[str, bytes]) -> None:
        """Store `{sha256 hex: bytes}`; a blob the store already holds is not written again."""
        if not blobs:
            return
        put = self.caps.put_blobs
        if put is not None:
            await put(blobs)
            return
        held = await self.get_blobs(verified_blobs(blobs))
        for address, data in blobs.items():
            if address not in held:
                entry = {"type": BLOB_ENTRY_TYPE, "hash": address, "data": base64.b64encode(data).decode("ascii")}
                await self.caps.append(blob_key(address), [entry])

    async def get_blobs(self, hashes: Iterable[str]) -> dict[str, bytes]:
        """The blobs of `hashes` the store holds (missing ones are left out)."""
        get = self.caps.get_blobs
        if get is not None:
            return await get(list(hashes))
        found: dict[str, bytes] = {}
        for address in dict.fromkeys(hashes):
            entries = await self.caps.load(blob_key(address)) or []
            data = blob_of(entries, address)
            if data is not None:
                found[address] = data
        return found

    async def list_blobs(self) -> list[str]:
        """Every blob address the store holds (none for a fallback store that cannot list subkeys)."""
        listing = self.caps.list_blobs
        if listing is not None:
            return await listing()
        subkeys = await self.list_subkeys(SessionKey(project_key=BLOB_SESSION, session_id=BLOB_SESSION))
        return sorted(sub.removeprefix("blobs/") for sub in subkeys if sub.startswith("blobs/"))

    async def delete_blobs(self, hashes: Iterable[str]) -> None:
        """Remove the blobs (a fallback store without `delete` keeps them)."""
        delete = self.caps.delete_blobs
        if delete is not None:
            await delete(list(hashes))
            return
        if self.caps.delete is not None:
            for address in hashes:
                await self.caps.delete(blob_key(address))

    async def close(self) -> None:
        """Release the store's connections and files (if it holds any)."""
        close = self.caps.close
        if close is not None:
            await close()

    # -- reading ------------------------------------------------------------------------------

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        """Every entry of the session's view, or None when there is no such transcript."""
        if self.caps.expected_leaf is not None:
            return await self.caps.load(key)
        key_id = key_id_of(key)
        async with self._locks.hold(key_id):  # what this process read is the leaf its writers expect
            entries = await self.caps.load(key)
            if entries is None:
                self._leaves.pop(key_id, None)
            else:
                self._leaves[key_id] = leaf_of(entries)
        return entries

    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        """The last `limit` entries of the view, or None when there is no such transcript."""
        load_tail = self.caps.load_tail
        if load_tail is not None:
            return await load_tail(key, limit)
        entries = await self.caps.load(key)
        if entries is None:
            return None
        return entries[-limit:] if limit > 0 else []

    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        """The view undecoded (`StoredTexts`), or None when there is no such transcript or the store
        cannot read it so (callers then `load`)."""
        load_texts = self.caps.load_texts
        if load_texts is None or self.caps.expected_leaf is None:
            return None  # without its own leaf check, what this process read must go through `load`
        return await load_texts(key)

    async def exists(self, key: SessionKey) -> bool:
        """Whether the store holds a transcript under exactly `key`."""
        return await self.load_tail(key, 0) is not None

    async def find(self, session_id: str, project_key: str | None = None) -> StoredSession | None:
        """The session `session_id`: `project_key`'s if that project holds one, else the most recently
        updated one of any project (a store without `find` is looked at in `project_key` only)."""
        session_id = validate_session_id(session_id)
        find = self.caps.find
        if find is not None:
            return await find(session_id, project_key=project_key)
        if project_key is None:
            return None
        key = SessionKey(project_key=project_key, session_id=session_id)
        entries = await self.load(key)
        if entries is None:
            return None
        return StoredSession(key=key, leaf=leaf_of(entries), mtime=0, summary=fold_summary(None, entries))

    async def locate(self, session_id: str, project_key: str | None = None) -> StoredSession:
        """`find`, raising `SessionNotFoundError` when there is no such session."""
        found = await self.find(session_id, project_key)
        if found is None:
            where = f"in the project {project_key!r}" if project_key and not self.can("find") else ""
            raise SessionNotFoundError(session_id, where)
        return found

    async def list_subkeys(self, key: SessionListSubkeysKey | SessionKey) -> list[str]:
        """The subpaths stored under a session (none for a store that cannot list them)."""
        list_subkeys = self.caps.list_subkeys
        if list_subkeys is None:
            return []
        main = SessionListSubkeysKey(project_key=key["project_key"], session_id=key["session_id"])
        return list(await list_subkeys(main))

    # -- listing ------------------------------------------------------------------------------

    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first (every project when `project_key` is None), `limit` at a time."""
        list_page = self.caps.list_page
        if list_page is not None:
            return await list_page(project_key, limit=limit, cursor=cursor)
        if project_key is None:
            raise ConfigurationError(f"{self.name} cannot list the sessions of every project; name a directory")
        items = await self.project_summaries(project_key)
        items.sort(key=lambda item: (item["mtime"], item["session_id"]), reverse=True)
        start = page_offset(cursor)
        end = start + max(1, int(limit))
        return SessionPage(items=items[start:end], next_cursor=f"o{end}" if end < len(items) else None)

    async def summaries(self, project_key: str | None = None) -> AsyncIterator[SessionSummaryEntry]:
        """Every session's summary, newest first (of every project when `project_key` is None), page by page."""
        cursor: str | None = None
        while True:
            page = await self.list_page(project_key, limit=_PAGE, cursor=cursor)
            for item in page.items:
                yield item
            cursor = page.next_cursor
            if cursor is None:
                return

    async def project_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """Every session's summary in one project: kept by the store, else folded from its entries."""
        summaries = self.caps.list_session_summaries
        if summaries is not None:
            return [with_project(item, project_key) for item in await summaries(project_key)]
        items: list[SessionSummaryEntry] = []
        for listed in await self._list_sessions(project_key):
            entries = await self.caps.load(SessionKey(project_key=project_key, session_id=listed["session_id"]))
            if entries:
                data = fold_summary(None, entries)
                items.append(
                    SessionSummaryEntry(
                        session_id=listed["session_id"], mtime=listed["mtime"], data=data, project_key=project_key
                    )
                )
        return items

    async def _list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        list_sessions = self.caps.list_sessions
        if list_sessions is None:
            raise ConfigurationError(
                f"{self.name} cannot list sessions (it has none of list_page, list_session_summaries, list_sessions)"
            )
        return await list_sessions(project_key)

    async def newest_session_id(self, project_key: str) -> str | None:
        """The most recently updated session of the project, or None when it has none."""
        if not self.can("list_page") and self.can("list_sessions"):
            listed = await self._list_sessions(project_key)
            return max(listed, key=lambda item: (item["mtime"], item["session_id"]))["session_id"] if listed else None
        page = await self.list_page(project_key, limit=1)
        return page.items[0]["session_id"] if page.items else None


_ACCESS: dict[int, tuple[weakref.ref[Any], weakref.ref[StoreAccess]]] = {}
_SHARED_ACCESS: dict[int, StoreAccess] = {}
"""The access of each shared store (`StoreCapabilities.shared`), kept: not rebuilt for every query."""
_ACCESS_LOCK = threading.RLock()  # reentrant: a weak reference callback may run inside (garbage collection)


def store_access(store: SessionStore | StoreAccess) -> StoreAccess:
    """The `StoreAccess` of `store`: the same object for every caller while one of them holds it.

    (A store object that takes no weak references gets a new one each time.)
    """
    if isinstance(store, StoreAccess):
        return store
    ident = id(store)
    with _ACCESS_LOCK:
        held = _ACCESS.get(ident)
        if held is not None and held[0]() is store:
            existing = held[1]()
            if existing is not None:
                return existing
        access = StoreAccess(store)
        try:
            anchor = weakref.ref(store, functools.partial(_forget, ident))
        except TypeError:
            return access
        _ACCESS[ident] = (anchor, weakref.ref(access))
        if access.shared:  # the process's shared store lives as long as the process: so does its access
            _SHARED_ACCESS[ident] = access
        return access


def _forget(ident: int, anchor: weakref.ref[Any]) -> None:
    with _ACCESS_LOCK:
        held = _ACCESS.get(ident)
        if held is not None and held[0] is anchor:
            del _ACCESS[ident]
