"""Fault-injecting fake servers: the Anthropic and OpenAI fakes plus replies that break the protocol.

Queue these like any scripted reply (`Reply`, `ErrorReply`... still work):

- `Events([...])`: HTTP 200 and these SSE events, each a dict (sent in the provider's framing) or
  a raw string (sent verbatim: a malformed `data:` line); then `end` the stream, `hang`, `drop`
  the connection (a cut stream) or `reset` it. `anthropic_events(reply)` and
  `openai_chunks(reply)` give the events of a well-formed reply, to cut or corrupt.
- `Hang()`: read the request and never answer, not even the headers.
- `PingForever()`: start a message, then only keep-alives (Anthropic `ping` events, OpenAI SSE
  comments), forever.
- `Trickle()`: start a text block, then one text delta after another, forever.
- `Reset()`: reset the connection (TCP RST) before any response.

Whatever hangs stops when the client hangs up or the server stops.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.anthropic_server import FakeAnthropicServer, message_start, sse, stream_events
from tests.fakes.openai_server import FakeOpenAIServer, _chunk, _data, stream_chunks
from tests.fakes.script import ProtocolFault, Reply, ScriptItem
from tests.fakes.server import FakeServer, _Handler

__all__ = [
    "Events",
    "FaultyAnthropicServer",
    "FaultyOpenAIServer",
    "Hang",
    "PingForever",
    "Reset",
    "Trickle",
    "anthropic_events",
    "openai_chunks",
]

TICK = 0.02
"""Seconds between two keep-alives or deltas of an endless reply (and between checks while hanging)."""


@dataclass
class Events(ProtocolFault):
    """A 200 SSE stream of these events (dicts in the provider's framing, strings verbatim), then `then`."""

    events: Sequence[dict[str, Any] | str]
    then: Literal["end", "hang", "drop", "reset"] = "end"


@dataclass
class Hang(ProtocolFault):
    """Read the request, send nothing (no headers) until the client hangs up."""


@dataclass
class PingForever(ProtocolFault):
    """Start a message, then send keep-alives and nothing else."""


@dataclass
class Trickle(ProtocolFault):
    """Start a text block, then send a text delta every `TICK` seconds, never ending the message."""

    text: str = "more "


@dataclass
class Reset(ProtocolFault):
    """Reset the connection (RST) before any response."""


Fault = Events | Hang | PingForever | Trickle | Reset


def anthropic_events(reply: Reply | str, model: str = "claude-sonnet-4-5") -> list[dict[str, Any]]:
    """The Messages API SSE events of a well-formed `reply`."""
    return stream_events(Reply(reply) if isinstance(reply, str) else reply, model, 1)


def openai_chunks(reply: Reply | str, model: str = "gpt-fake") -> list[dict[str, Any]]:
    """The chat-completions chunks of a well-formed `reply` (with a usage chunk)."""
    return stream_chunks(Reply(reply) if isinstance(reply, str) else reply, model, 1, True)


@dataclass
class _Faults:
    """What the faulty servers share: playing the faults, and letting hung handlers go on stop."""

    stopping: threading.Event = field(default_factory=threading.Event)
    played: list[str] = field(default_factory=list)
    """The name of each fault played, in order."""


class _FaultMixin(FakeServer):
    faults: _Faults

    def frame(self, event: dict[str, Any]) -> str:
        raise NotImplementedError

    def keep_alive(self) -> str:
        raise NotImplementedError

    def opening(self, body: dict[str, Any], *, text: bool) -> list[str]:
        """The frames that start a message (with a text block when `text`), before keep-alives or deltas."""
        raise NotImplementedError

    def delta(self, text: str) -> str:
        raise NotImplementedError

    def handle(self, handler: _Handler, body: dict[str, Any], item: ScriptItem) -> None:
        fault: Any = item
        if not isinstance(fault, Events | Hang | PingForever | Trickle | Reset):
            super().handle(handler, body, item)
            return
        self.faults.played.append(type(fault).__name__)
        try:
            self._play(handler, body, fault)
        except OSError:  # the client hung up
            handler.close_connection = True

    def _play(self, handler: _Handler, body: dict[str, Any], fault: Fault) -> None:
        if isinstance(fault, Reset):
            _reset(handler)
        elif isinstance(fault, Hang):
            self._hang(handler)
        elif isinstance(fault, Events):
            handler.start_sse()
            for event in fault.events:
                handler.send_chunk(event if isinstance(event, str) else self.frame(event))
            self._then(handler, fault.then)
        else:
            handler.start_sse()
            for frame in self.opening(body, text=isinstance(fault, Trickle)):
                handler.send_chunk(frame)
            while not self.faults.stopping.wait(TICK):
                handler.send_chunk(self.delta(fault.text) if isinstance(fault, Trickle) else self.keep_alive())

    def _then(self, handler: _Handler, then: str) -> None:
        if then == "end":
            handler.end_sse()
        elif then == "hang":
            self._hang(handler)
        elif then == "drop":
            handler.drop()
        else:
            _reset(handler)

    def _hang(self, handler: _Handler) -> None:
        """Wait until the client hangs up or the server stops; then close."""
        while not self.faults.stopping.wait(TICK) and not _hung_up(handler.connection):
            pass
        handler.close_connection = True

    def stop(self) -> None:
        self.faults.stopping.set()
        super().stop()


def _hung_up(connection: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _reset(handler: _Handler) -> None:
    handler.close_connection = True
    connection = handler.connection
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class FaultyAnthropicServer(_FaultMixin, FakeAnthropicServer):
    """`FakeAnthropicServer` that also plays the faults of this module."""

    def __init__(self, replies: Any = ()) -> None:
        super().__init__(replies)
        self.faults = _Faults()

    def frame(self, event: dict[str, Any]) -> str:
        return sse(str(event.get("type", "message")), event)

    def keep_alive(self) -> str:
        return sse("ping", {"type": "ping"})

    def opening(self, body: dict[str, Any], *, text: bool) -> list[str]:
        frames = [self.frame(message_start(Reply(""), str(body.get("model", "claude-fake")), 1)), self.keep_alive()]
        if text:
            block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
            frames.append(self.frame(block))
        return frames

    def delta(self, text: str) -> str:
        return self.frame({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})


class FaultyOpenAIServer(_FaultMixin, FakeOpenAIServer):
    """`FakeOpenAIServer` that also plays the faults of this module."""

    def __init__(self, replies: Any = ()) -> None:
        super().__init__(replies)
        self.faults = _Faults()

    def frame(self, event: dict[str, Any]) -> str:
        return _data(event)

    def keep_alive(self) -> str:
        return ": keep-alive\n\n"

    def opening(self, body: dict[str, Any], *, text: bool) -> list[str]:
        return [self.frame(_chunk(1, str(body.get("model", "gpt-fake")), {"role": "assistant", "content": ""}))]

    def delta(self, text: str) -> str:
        return self.frame(_chunk(1, "gpt-fake", {"content": text}))
