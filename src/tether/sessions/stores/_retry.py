"""How a store tries again a step that another writer or process got in the way of.

Two kinds of trouble are worth another try: a conditional write that matched nothing because
another writer changed the session first (the step raises `LostRace`; see `until_won`), and a
driver error that says the same (a deadlock, a lock the database does not wait for).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from tether.errors import StoreError

__all__ = ["LostRace", "Retry", "until_won"]

_T = TypeVar("_T")


class LostRace(Exception):
    """A conditional write matched nothing: another writer changed the session first (read again)."""


@dataclass(frozen=True)
class Retry:
    """Up to `attempts` tries of a step; after the nth failed one, a pause of `step * n` seconds (at most `cap`)."""

    attempts: int
    step: float
    cap: float = 0.05

    def pause(self, failed: int) -> float:
        return min(self.cap, self.step * failed)

    async def run(self, attempt: Callable[[], Awaitable[_T]], transient: Callable[[Exception], bool]) -> _T:
        """`await attempt()`, tried again while it raises an error `transient` accepts; the last one propagates."""
        for failed in range(1, self.attempts):
            try:
                return await attempt()
            except Exception as exc:
                if not transient(exc):
                    raise
            await anyio.sleep(self.pause(failed))
        return await attempt()

    def run_blocking(self, attempt: Callable[[], _T], transient: Callable[[Exception], bool]) -> _T:
        """`attempt()` in a blocking context (a worker thread, a connection being opened), as `run`."""
        for failed in range(1, self.attempts):
            try:
                return attempt()
            except Exception as exc:
                if not transient(exc):
                    raise
            time.sleep(self.pause(failed))
        return attempt()


def _lost_race(error: Exception) -> bool:
    return isinstance(error, LostRace)


async def until_won(
    store: object, operation: str, session_id: str, attempt: Callable[[], Awaitable[_T]], retry: Retry
) -> _T:
    """`await attempt()` again while it raises `LostRace`; `StoreError` (too much contention) once `retry` runs out."""
    try:
        return await retry.run(attempt, _lost_race)
    except LostRace:
        raise StoreError(repr(store), operation, f"session {session_id!r}: too much contention, gave up") from None
