"""The fallbacks `StoreAccess` uses where a store lacks a capability (see `tether.sessions.capabilities`).

This process's per-session writer locks (for `append(..., expected_leaf=)`), the lease records of
a store without `swap_lease`, the blob transcripts of a store without blob methods, the feed of a
store without `watch`, and the offset cursors of a listing without `list_page`.
"""

from __future__ import annotations

import base64
import binascii
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from tether._vocabulary.store import SessionKey, SessionStoreEntry, SessionSummaryEntry
from tether.errors import ConfigurationError
from tether.sessions.entries import leaf_of
from tether.sessions.store_capabilities import ChangeFeed
from tether.sessions.stores._blobs import blob_hash

__all__ = [
    "BLOB_ENTRY_TYPE",
    "BLOB_SESSION",
    "LEASE_ENTRY_TYPE",
    "LEASE_SUBPATH",
    "KeyId",
    "KeyLocks",
    "blob_key",
    "blob_of",
    "key_id_of",
    "lease_in",
    "lease_key_of",
    "new_leaf",
    "page_offset",
    "unwatched",
    "with_project",
]

LEASE_SUBPATH = "tether/lease"
"""The subpath, under each session, of the lease records of a store without `swap_lease`."""
LEASE_ENTRY_TYPE = "tether-lease"
BLOB_SESSION = "tether-blobs"
"""The project and session id under which a store without blob methods keeps blobs (one side transcript each)."""
BLOB_ENTRY_TYPE = "tether-blob"
KeyId = tuple[str, str, str]


class KeyLocks:
    """Per-session locks that serialise the writers of one process (tasks of any event loop)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._threads: dict[KeyId, threading.Lock] = {}
        self._loops: weakref.WeakKeyDictionary[Any, dict[KeyId, anyio.Lock]] = weakref.WeakKeyDictionary()

    def _locks(self, key_id: KeyId) -> tuple[anyio.Lock, threading.Lock]:
        loop = anyio.lowlevel.current_token().native_token
        with self._guard:
            per_loop = self._loops.setdefault(loop, {})
            task_lock = per_loop.setdefault(key_id, anyio.Lock())
            return task_lock, self._threads.setdefault(key_id, threading.Lock())

    @asynccontextmanager
    async def hold(self, key_id: KeyId) -> AsyncIterator[None]:
        task_lock, thread_lock = self._locks(key_id)
        async with task_lock:  # one task of this loop at a time waits for the process-wide lock
            if not thread_lock.acquire(blocking=False):
                await anyio.to_thread.run_sync(thread_lock.acquire)
            try:
                yield
            finally:
                thread_lock.release()


def key_id_of(key: SessionKey) -> KeyId:
    return (key["project_key"], key["session_id"], key.get("subpath") or "")


def new_leaf(entries: list[SessionStoreEntry], previous: str | None) -> str | None:
    return leaf_of(entries) or previous


class Sleeper:
    """The `ChangeFeed` of a store without notifications: nothing is ever notified."""

    async def wait(self, timeout: float) -> bool:
        await anyio.sleep(max(0.0, timeout))
        return False


@asynccontextmanager
async def unwatched() -> AsyncIterator[ChangeFeed]:
    yield Sleeper()


def with_project(item: SessionSummaryEntry, project_key: str) -> SessionSummaryEntry:
    return SessionSummaryEntry(
        session_id=item["session_id"],
        mtime=item["mtime"],
        data=item["data"],
        project_key=item.get("project_key") or project_key,
    )


def lease_in(tail: list[SessionStoreEntry], session_id: str, now_ms: int | None) -> tuple[str, int] | None:
    """The lease the newest lease record holds, if any and live at `now_ms` (None: live or not);
    records copied into a fork do not count."""
    if not tail:
        return None
    record = tail[-1]
    owner, expires = record.get("owner"), record.get("expiresAt")
    if record.get("type") != LEASE_ENTRY_TYPE or record.get("sessionId") != session_id:
        return None
    if not isinstance(owner, str) or not isinstance(expires, int) or (now_ms is not None and expires <= now_ms):
        return None
    return owner, expires


def lease_key_of(key: SessionKey) -> SessionKey:
    """Where a store without `swap_lease` keeps the lease records of the session `key`."""
    return SessionKey(project_key=key["project_key"], session_id=key["session_id"], subpath=LEASE_SUBPATH)


def blob_key(address: str) -> SessionKey:
    return SessionKey(project_key=BLOB_SESSION, session_id=BLOB_SESSION, subpath=f"blobs/{address}")


def blob_of(entries: list[SessionStoreEntry], address: str) -> bytes | None:
    """The bytes a fallback blob transcript holds, if whole and matching its address."""
    for entry in entries:
        encoded = entry.get("data")
        if entry.get("type") != BLOB_ENTRY_TYPE or not isinstance(encoded, str):
            continue
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if blob_hash(data) == address:
            return data
    return None


def page_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.startswith("o") or not cursor[1:].isdigit():
        raise ConfigurationError(f"invalid list_page cursor {cursor!r}: pass back a next_cursor this listing returned")
    return int(cursor[1:])
