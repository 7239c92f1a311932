"""A TCP relay on 127.0.0.1 in front of a real server that can be told to stop relaying while it
keeps every connection open: a network partition, or a proxy that hangs, as a store sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc


class FaultProxy:
    """Relays connections to `target_port`; `stall()` holds every byte (connections stay open and
    new ones are accepted but get no answer), `relay()` lets them through again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._flowing = anyio.Event()
        self._flowing.set()

    def stall(self) -> None:
        self._flowing = anyio.Event()

    def relay(self) -> None:
        self._flowing.set()

    def url(self, url: str, default_port: int) -> str:
        """`url` with its server's port replaced by the proxy's."""
        return url.replace(f"127.0.0.1:{default_port}", f"127.0.0.1:{self.port}", 1)

    async def _pipe(self, source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        try:
            async for chunk in source:
                await self._flowing.wait()
                await sink.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        finally:
            await sink.aclose()

    async def _serve(self, client: anyio.abc.SocketStream) -> None:
        async with client:
            await self._flowing.wait()
            try:
                server = await anyio.connect_tcp("127.0.0.1", self.target_port)
            except OSError:
                return
            async with server, anyio.create_task_group() as group:
                group.start_soon(self._pipe, client, server)
                group.start_soon(self._pipe, server, client)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FaultProxy]:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as group:
            group.start_soon(listener.serve, self._serve)
            try:
                yield self
            finally:
                self.relay()
                group.cancel_scope.cancel()
