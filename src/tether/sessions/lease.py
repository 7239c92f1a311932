"""Turn leases: a turn in progress is visible to every process that reaches the store.

A turn holds its session's lease from before its prompt is written until its result. The lease is
`(owner, expires at)`, set with the store's atomic `swap_lease` (see `tether.sessions.capabilities`):
two processes that both see the lease free cannot both take it. SQLite, PostgreSQL, Redis and
memory stores keep one lease row per session; other stores get the fallback, a chain of records
under the subpath `tether/lease` written with compare-and-set appends. The holder renews it every
third of its time to live; a holder that dies (kill -9) stops renewing and its lease lapses after
`ttl` seconds, at once for the processes of its own host (which see that its pid is gone).

A lease write whose outcome is unknown (the store raised or did not answer, but the write may have
landed) is confirmed at once by writing it again, or given up; an owner whose lease may be left
in the store without a turn behind it is remembered in this process (its owner token, in memory),
so the next turn of this process takes it over at once. Other processes see it until it lapses.

Another process that wants the session while the lease is live waits up to its
`session_busy_timeout`, then gets `SessionBusyError`, without having written anything. A store
without compare-and-set (one written to the Claude Agent SDK's two-method protocol) serialises
the turns of one process only; across processes it cannot promise this.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from anyio.abc import TaskGroup

from tether._vocabulary.options import seconds_option
from tether._vocabulary.store import SessionKey
from tether.errors import SessionBusyError, StoreError
from tether.sessions.capabilities import LEASE_SUBPATH, StoreAccess
from tether.sessions.entries import new_uuid

__all__ = [
    "DEFAULT_LEASE_TTL",
    "LEASE_SUBPATH",
    "LeaseHolder",
    "SessionLease",
    "check_lease_options",
    "lease_holder",
    "local_process_alive",
]

DEFAULT_LEASE_TTL = 60.0
"""Seconds a lease lives without renewal: how long a crashed turn keeps its session busy."""
_POLL_SECONDS = 0.2
_RELEASE_SECONDS = 1.0
"""The longest a release waits for the store (it may run shielded, while the caller cancels)."""
_ABANDONED: set[str] = set()
"""Owners of this process whose lease may still be in the store with no turn behind it."""
_log = logging.getLogger("tether.sessions")
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
    seconds_option("session_lease_ttl", ttl)
    seconds_option("session_busy_timeout", busy_timeout, zero_ok=True)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_uuid()[:8]}"


def _died_here(owner: str) -> bool:
    """Whether `owner` was a process of this host that no longer runs (killed: its lease is void)."""
    return local_process_alive(owner) is False


def local_process_alive(owner: str) -> bool | None:
    """Whether the process an owner id (`host:pid:...`, as leases and DBOS executors are named)
    names still runs, when it is of this host; None for another host's or an id without a pid."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but is another user's
        return True
    return True


async def lease_holder(access: StoreAccess, key: SessionKey) -> LeaseHolder | None:
    """Who holds the session's lease now, or None when it is free (for observers: `tether ui`).

    Reads only: the store's own `read_lease`, else the newest record of the lease chain.
    """
    main = SessionKey(project_key=key["project_key"], session_id=key["session_id"])
    held = await access.read_lease(main)
    if held is None:
        return None
    owner, expires = held
    return LeaseHolder(owner, expires) if expires > _now_ms() else None


class SessionLease:
    """The lease of one session, as seen by one owner (one agent)."""

    def __init__(self, access: StoreAccess, key: SessionKey, *, ttl: float = DEFAULT_LEASE_TTL) -> None:
        check_lease_options(ttl, 0.0)
        self.access = access
        self.session_id = key["session_id"]
        self.key = SessionKey(project_key=key["project_key"], session_id=key["session_id"])
        self.ttl = ttl
        self.owner = _new_owner()
        self._held = False
        self._renewed = 0.0

    @property
    def held(self) -> bool:
        """Whether this owner took the lease and has not given it up."""
        return self._held

    async def _swap(self, expires_at_ms: int, take_from: str | None = None) -> LeaseHolder | None:
        """Set the lease to ours until `expires_at_ms`; the live holder instead if another owner holds it."""
        held = await self.access.swap_lease(self.key, self.owner, expires_at_ms, now_ms=_now_ms(), take_from=take_from)
        return None if held is None else LeaseHolder(*held)

    async def _confirmed_swap(self) -> LeaseHolder | None:
        """`_swap` to ours; when the store fails, the write may have landed: written again at once
        (confirmed), else given up and this owner remembered as abandoned (see the module doc)."""
        try:
            return await self._swap(self._expiry())
        except StoreError:
            try:
                return await self._swap(self._expiry())
            except StoreError:
                _ABANDONED.add(self.owner)
                raise

    def _expiry(self) -> int:
        return _now_ms() + int(self.ttl * 1000)

    async def acquire(self, wait: float = 0.0) -> bool:
        """Take the lease, waiting up to `wait` seconds for another owner's turn to end; returns
        whether it waited (another turn ran meanwhile). `SessionBusyError` when still held after `wait`.
        """
        deadline = time.monotonic() + max(0.0, wait)
        waited = False
        while True:
            holder = await self._confirmed_swap()
            if holder is not None and (holder.owner in _ABANDONED or _died_here(holder.owner)):
                void = holder.owner  # a lease of this process with no turn behind it, or of a killed one
                holder = await self._swap(self._expiry(), take_from=void)
                if holder is None:
                    _ABANDONED.discard(void)
            if holder is None:
                self._held = True
                self._renewed = time.monotonic()
                return waited
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SessionBusyError(self.session_id, holder.owner, holder.seconds_left())
            waited = True
            await anyio.sleep(min(_POLL_SECONDS, remaining, holder.seconds_left() + 0.01))

    async def renew(self) -> None:
        """Push the expiry on by `ttl` (while we still hold the lease).

        `SessionBusyError` if the lease lapsed meanwhile and another owner took it.
        """
        if not self._held:
            return
        try:
            holder = await self._swap(self._expiry())
        except StoreError:
            _ABANDONED.add(self.owner)  # the turn ends here; the next one of this process takes it over
            raise
        if holder is not None:
            self._held = False
            raise SessionBusyError(self.session_id, holder.owner, holder.seconds_left())
        self._renewed = time.monotonic()

    async def keep_alive(self) -> None:
        """Renew the lease if a third of its time to live has passed since the last renewal."""
        if self._held and time.monotonic() - self._renewed >= self.ttl / 3:
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
            if self._held:
                group.start_soon(renew_forever)
        return result[0]

    async def release(self) -> None:
        """Give the lease up (it lapses at once); nothing if another owner took it since."""
        if not self._held:
            return
        self._held = False
        _ABANDONED.add(self.owner)  # until the store says it is released
        with anyio.move_on_after(_RELEASE_SECONDS):
            try:
                await self._swap(0)  # a live holder other than us is left as it is
            except StoreError as error:
                _log.warning(
                    "the lease of session %s was not released (%s); it lapses in %g s", self.session_id, error, self.ttl
                )
            else:
                _ABANDONED.discard(self.owner)
