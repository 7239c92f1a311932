"""How the SDK-shaped session helpers are made from tether's async ones: the sync form (`sync_helper`,
in a fresh event loop, or in a worker thread inside a running one), the SDK's answers for an unknown
id (`or_none`, `or_empty`) and the SDK's paging (`sdk_paging`)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import anyio

from tether._vocabulary.store import SessionStore
from tether.errors import InvalidSessionIdError, SessionNotFoundError
from tether.sessions.urls import store_override

__all__ = ["in_event_loop", "or_empty", "or_none", "run_sync", "sdk_paging", "sync_helper"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def in_event_loop() -> bool:
    """Whether this thread runs an event loop now (asyncio, or trio when it is imported)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        if trio is None:
            return False
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            return False
    return True


def run_sync(function: Callable[[], Awaitable[_T]]) -> _T:
    """`function()` run to completion in a fresh event loop: in a worker thread when this thread
    already runs one (the caller waits, as for any blocking call)."""
    if not in_event_loop():
        return anyio.run(function)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-session-helper") as pool:
        return pool.submit(_with_store_override, store_override.get(), function).result()


def _with_store_override(override: SessionStore | str | None, function: Callable[[], Awaitable[_T]]) -> _T:
    """`anyio.run(function)` in a worker thread, with the caller's `store_override`."""
    store_override.set(override)
    return anyio.run(function)


def sync_helper(async_function: Callable[_P, Awaitable[_T]], name: str) -> Callable[_P, _T]:
    """The sync helper `name` over `async_function` (see `run_sync`), documented as the sync form of
    the public `<name>_async`."""

    @functools.wraps(async_function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return run_sync(functools.partial(async_function, *args, **kwargs))

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"Sync form of `{name}_async` (see there); works inside a running event loop too."
    return run


def or_none(async_function: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T | None]]:
    """`async_function` answering None, as the Claude SDK does, for an unknown or malformed id."""

    @functools.wraps(async_function)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _T | None:
        try:
            return await async_function(*args, **kwargs)
        except (SessionNotFoundError, InvalidSessionIdError):
            return None

    return run


def or_empty(async_function: Callable[_P, Awaitable[list[_T]]]) -> Callable[_P, Awaitable[list[_T]]]:
    """`async_function` answering `[]`, as the Claude SDK does, for an unknown or malformed id."""

    @functools.wraps(async_function)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> list[_T]:
        try:
            return await async_function(*args, **kwargs)
        except (SessionNotFoundError, InvalidSessionIdError):
            return []

    return run


def sdk_paging(async_function: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """`async_function` with the Claude SDK's paging: a `limit` of 0 or less means no limit, a
    negative `offset` means 0 (tether's `_async` helpers return `[]` for `limit=0`)."""
    signature = inspect.signature(async_function)

    @functools.wraps(async_function)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        bound = signature.bind(*args, **kwargs)
        limit, offset = bound.arguments.get("limit"), bound.arguments.get("offset")
        if isinstance(limit, int) and limit <= 0:
            bound.arguments["limit"] = None
        if isinstance(offset, int) and offset < 0:
            bound.arguments["offset"] = 0
        return await async_function(*bound.args, **bound.kwargs)

    return run
