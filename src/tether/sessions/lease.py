"""Turn leases: a turn in progress is visible to every process that reaches the store.

A turn holds its session's lease from before its prompt is written until its result. The lease
lives beside the transcript, under the subpath `tether/lease`, as a short chain of records
(`{"type": "tether-lease", "owner", "expiresAt"}`) written with the store's compare-and-set
append (`expected_leaf`): two processes that both see the lease free cannot both take it, since
the second append finds the leaf moved. The holder renews it every third of its time to live; a
holder that dies (kill -9) stops renewing and its lease lapses after `ttl` seconds, at once for the
processes of its own host (which see that its pid is gone).

Another process that wants the session while the lease is live waits up to its
`session_busy_timeout`, then gets `SessionBusyError`, without having written anything. A store
without compare-and-set (one written to the Claude Agent SDK's two-method protocol) serialises
the turns of one process only; across processes it cannot promise this.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from anyio.abc import TaskGroup

from tether.errors import ConfigurationError, SessionBusyError, SessionConflictError
from tether.sessions.capabilities import StoreAccess
from tether.sessions.entries import leaf_of, new_uuid, now_iso
from tether.sessions.store import NO_LEAF, SessionKey, SessionStoreEntry

__all__ = ["DEFAULT_LEASE_TTL", "LEASE_SUBPATH", "LeaseHolder", "SessionLease", "check_lease_options"]

LEASE_SUBPATH = "tether/lease"
"""The subpath, under each session, of its lease records."""
LEASE_ENTRY_TYPE = "tether-lease"
DEFAULT_LEASE_TTL = 60.0
"""Seconds a lease lives without renewal: how long a crashed turn keeps its session busy."""
_POLL_SECONDS = 0.2
_T = TypeVar("_T")


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a live lease, and until when (epoch milliseconds)."""

    owner: str
    expires_at_ms: int

    def seconds_left(self) -> float:
        """Seconds until the lease lapses unless its holder renews it."""
        return max(0.0, (self.expires_at_ms - _now_ms()) / 1000)


def check_lease_options(ttl: float, busy_timeout: float) -> None:
    """`ConfigurationError` unless `session_lease_ttl` is positive and `session_busy_timeout` not negative."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not (ttl > 0 and math.isfinite(ttl)):
        raise ConfigurationError(f"session_lease_ttl must be a positive number of seconds, not {ttl!r}")
    if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)) or not busy_timeout >= 0:
        raise ConfigurationError(f"session_busy_timeout must be a number of seconds >= 0, not {busy_timeout!r}")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_uuid()[:8]}"


def _died_here(owner: str) -> bool:
    """Whether `owner` was a process of this host that no longer runs (killed: its lease is void)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, but is another user's
        return False
    return False


def _holder_of(tail: list[SessionStoreEntry], session_id: str) -> LeaseHolder | None:
    """The live lease recorded by the newest record, if any (records copied into a fork do not count)."""
    if not tail:
        return None
    record = tail[-1]
    owner, expires = record.get("owner"), record.get("expiresAt")
    if record.get("type") != LEASE_ENTRY_TYPE or record.get("sessionId") != session_id:
        return None
    if not isinstance(owner, str) or not isinstance(expires, int) or expires <= _now_ms() or _died_here(owner):
        return None
    return LeaseHolder(owner, expires)


class SessionLease:
    """The lease of one session, as seen by one owner (one agent)."""

    def __init__(self, access: StoreAccess, key: SessionKey, *, ttl: float = DEFAULT_LEASE_TTL) -> None:
        check_lease_options(ttl, 0.0)
        self.access = access
        self.session_id = key["session_id"]
        self.key = SessionKey(project_key=key["project_key"], session_id=key["session_id"], subpath=LEASE_SUBPATH)
        self.ttl = ttl
        self.owner = _new_owner()
        self._leaf: str | None = None
        """The uuid of our newest record while we hold the lease."""
        self._renewed = 0.0

    async def holder(self) -> LeaseHolder | None:
        """Another owner's live lease, if one holds the session now."""
        holder, _ = await self._read()
        return holder if holder is not None and holder.owner != self.owner else None

    async def _read(self) -> tuple[LeaseHolder | None, str]:
        tail = await self.access.load_tail(self.key, 1) or []
        return _holder_of(tail, self.session_id), leaf_of(tail) or NO_LEAF

    async def _write(self, expires_at_ms: int, expected_leaf: str) -> None:
        uuid = new_uuid()
        record: SessionStoreEntry = {
            "type": LEASE_ENTRY_TYPE,
            "uuid": uuid,
            "parentUuid": expected_leaf or None,
            "sessionId": self.session_id,
            "owner": self.owner,
            "expiresAt": expires_at_ms,
            "timestamp": now_iso(),
        }
        await self.access.append(self.key, [record], expected_leaf=expected_leaf)
        self._leaf = uuid

    async def acquire(self, wait: float = 0.0) -> bool:
        """Take the lease, waiting up to `wait` seconds for another owner's turn to end; returns
        whether it waited (another turn ran meanwhile). `SessionBusyError` when still held after `wait`.
        """
        deadline = time.monotonic() + max(0.0, wait)
        waited = False
        while True:
            holder, leaf = await self._read()
            if holder is None or holder.owner == self.owner:
                try:
                    await self._write(_now_ms() + int(self.ttl * 1000), leaf)
                    self._renewed = time.monotonic()
                    return waited
                except SessionConflictError:
                    continue  # another owner wrote between our read and write: look again
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SessionBusyError(self.session_id, holder.owner, holder.seconds_left())
            waited = True
            await anyio.sleep(min(_POLL_SECONDS, remaining, holder.seconds_left() + 0.01))

    async def renew(self) -> None:
        """Push the expiry on by `ttl` (while we still hold the lease)."""
        if self._leaf is not None:
            await self._write(_now_ms() + int(self.ttl * 1000), self._leaf)
            self._renewed = time.monotonic()

    async def keep_alive(self) -> None:
        """Renew the lease if a third of its time to live has passed since the last renewal."""
        if self._leaf is not None and time.monotonic() - self._renewed >= self.ttl / 3:
            await self.renew()

    async def during(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """`await work()`, renewing the lease in the background while it runs (long tool calls)."""
        result: list[_T] = []

        async def run_work(group: TaskGroup) -> None:
            result.append(await work())
            group.cancel_scope.cancel()

        async def renew_forever() -> None:
            while True:
                await anyio.sleep(self.ttl / 3)
                await self.renew()

        async with anyio.create_task_group() as group:
            group.start_soon(run_work, group)
            if self._leaf is not None:
                group.start_soon(renew_forever)
        return result[0]

    async def release(self) -> None:
        """Give the lease up (a record that has already lapsed); nothing if another owner took it since."""
        if self._leaf is None:
            return
        leaf, self._leaf = self._leaf, None
        with contextlib.suppress(SessionConflictError):  # it lapsed and another owner holds it now
            await self._write(0, leaf)
        self._leaf = None
