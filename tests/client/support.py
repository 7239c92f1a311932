"""What the client tests share: a fake Anthropic server that can stall mid-reply, and options for it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes import FakeAnthropicServer
from tests.fakes.anthropic_server import message_start, sse
from tests.fakes.script import Reply, ScriptItem, split
from tests.fakes.server import _Handler

from tether import AgentOptions

MODEL = "claude-sonnet-4-5"


@dataclass
class Stall:
    """A streamed reply that sends `text`, then waits for `release` (or for the client to hang up)
    before sending `rest` and ending. `stalled` is set once `text` is sent."""

    text: str
    rest: str = " and so on."
    release: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)


class StallingAnthropicServer(FakeAnthropicServer):
    """`FakeAnthropicServer` that also plays `Stall` replies (queued like any other reply)."""

    stalls: list[Stall]

    def __init__(self, replies: Any = ()) -> None:
        super().__init__(replies)
        self.stalls = []

    def handle(self, handler: _Handler, body: dict[str, Any], item: ScriptItem) -> None:
        if not isinstance(item, Stall):
            super().handle(handler, body, item)
            return
        self.stalls.append(item)
        model = str(body.get("model", MODEL))
        try:
            handler.start_sse()
            handler.send_chunk(sse("message_start", message_start(Reply(""), model, 1)))
            block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
            handler.send_chunk(sse("content_block_start", block))
            for piece in split(item.text, 8):
                delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
                handler.send_chunk(sse("content_block_delta", delta))
            item.stalled.set()
            item.release.wait(timeout=60)
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": item.rest}}
            handler.send_chunk(sse("content_block_delta", delta))
            handler.send_chunk(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
            end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}
            handler.send_chunk(sse("message_delta", end))
            handler.send_chunk(sse("message_stop", {"type": "message_stop"}))
            handler.end_sse()
        except OSError:  # the client hung up (an interrupt): nothing more to send
            handler.close_connection = True

    def stop(self) -> None:
        for stall in self.stalls:
            stall.release.set()
        super().stop()


def options_for(server: FakeAnthropicServer, cwd: Path, **options: Any) -> AgentOptions:
    """Options that run on `server`'s fake Anthropic API, in `cwd`."""
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    return AgentOptions(model=MODEL, cwd=cwd, env=env, **options)


def last_user_text(body: dict[str, Any]) -> str:
    """The text blocks of a request's last message, joined."""
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content if block.get("type") == "text")


def last_block_text(body: dict[str, Any]) -> str:
    """The text of the last block of a request's last message."""
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else str(content[-1].get("text", ""))


def echo(body: dict[str, Any]) -> Reply:
    """A reply repeating the request's last text: `you said: <text>`."""
    return Reply(f"you said: {last_block_text(body)}")


def history(body: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """A request's messages as (role, [block summaries]): text, `tool_use:<name>`, `tool_result`."""
    out: list[tuple[str, list[str]]] = []
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        summary = []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                summary.append(block["text"])
            elif kind == "tool_use":
                summary.append(f"tool_use:{block['name']}")
            else:
                summary.append(str(kind))
        out.append((message["role"], summary))
    return out
