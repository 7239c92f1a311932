"""`Background`: a task that outlives no one's task group, so it can be started, cancelled and
awaited from any task (an async generator closed by the garbage collector included)."""

from __future__ import annotations

import asyncio
import contextvars
import importlib
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["Background"]


class Background:
    """A task outside the caller's task group: started, cancelled and awaited from any task."""

    def __init__(self) -> None:
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._task: object = None  # keeps an asyncio task referenced while it runs

    @classmethod
    def start(cls, function: Callable[[], Awaitable[None]]) -> Background:
        """Run `function()` in a new task (an asyncio task, or a trio system task)."""
        background = cls()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio, so trio: the other backend anyio runs on
            trio = importlib.import_module("trio")
            trio.lowlevel.spawn_system_task(background._run, function, context=contextvars.copy_context())
        else:
            background._task = loop.create_task(background._run(function))
        return background

    async def _run(self, function: Callable[[], Awaitable[None]]) -> None:
        try:
            with self._scope:
                await function()
        finally:
            self._done.set()

    def cancel(self) -> None:
        """Cancel the task (it may still be finishing when this returns)."""
        self._scope.cancel()

    async def wait(self) -> None:
        """Wait until the task has finished."""
        await self._done.wait()
