"""`FakeAnthropicServer`: the Messages API (`POST /v1/messages`, SSE streaming) on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.fakes.script import (
    Block,
    Reply,
    ScriptItem,
    ServerToolResult,
    ServerToolUse,
    StreamErrorReply,
    Text,
    Thinking,
    ToolUse,
    split,
)
from tests.fakes.server import FakeServer, _Handler

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class FakeAnthropicServer(FakeServer):
    """A fake Anthropic Messages API. Give `.url` to the client as `base_url` / `ANTHROPIC_BASE_URL`.

    ```python
    with FakeAnthropicServer([Reply([Text("Hi"), ToolUse("Read", {"file_path": "a"})])]) as server:
        ...  # AnthropicModel("claude-sonnet-4-5", base_url=server.url, api_key="test")
    assert server.requests[0]["messages"][-1]["role"] == "user"
    ```
    """

    path = "/v1/messages"
    _ids = itertools.count(1)

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        kind = error_type or ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}

    def handle(self, handler: _Handler, body: dict[str, Any], item: ScriptItem) -> None:
        model = str(body.get("model", "claude-fake"))
        if isinstance(item, StreamErrorReply):
            handler.start_sse()
            start = message_start(Reply("", model=model), model, next(self._ids))
            handler.send_chunk(sse("message_start", start))
            handler.send_chunk(
                sse("error", {"type": "error", "error": {"type": item.error_type, "message": item.message}})
            )
            handler.end_sse()
            return
        assert isinstance(item, Reply)
        number = next(self._ids)
        if not body.get("stream"):
            handler.send_json(200, message_json(item, model, number))
            return
        handler.start_sse()
        for count, event in enumerate(stream_events(item, model, number)):
            if item.cut_after is not None and count >= item.cut_after:
                handler.drop()
                return
            handler.send_chunk(sse(str(event["type"]), event))
        handler.end_sse()


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _tool_id(block: ToolUse, number: int, index: int) -> str:
    return block.id or f"toolu_fake{number:04d}{index:02d}"


def message_start(reply: Reply, model: str, number: int) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": f"msg_fake{number:04d}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.input_tokens,
                "cache_creation_input_tokens": reply.cache_creation_input_tokens,
                "cache_read_input_tokens": reply.cache_read_input_tokens,
                "output_tokens": 1,
            },
        },
    }


def stream_events(reply: Reply, model: str, number: int) -> list[dict[str, Any]]:
    """The SSE events of `reply`, as the Messages API streams them."""
    events: list[dict[str, Any]] = [message_start(reply, model, number), {"type": "ping"}]
    for index, block in enumerate(reply.blocks):
        start, deltas = _block_events(block, reply.chunk_size, number, index)
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events.extend({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas)
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.final_stop_reason, "stop_sequence": None},
            "usage": _final_usage(reply),
        }
    )
    events.append({"type": "message_stop"})
    return events


def _block_events(
    block: Block, chunk_size: int, number: int, index: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `content_block_start` block and the deltas of one content block."""
    if isinstance(block, Text):
        return {"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in split(block.text, chunk_size)]
    if isinstance(block, Thinking):
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split(block.thinking, chunk_size)]
        deltas.append({"type": "signature_delta", "signature": block.signature})
        return {"type": "thinking", "thinking": "", "signature": ""}, deltas
    if isinstance(block, ServerToolResult):
        return {"type": block.type, "tool_use_id": block.tool_use_id, "content": block.content}, []
    if isinstance(block, ServerToolUse):
        start: dict[str, Any] = {"type": "server_tool_use", "id": block.id, "name": block.name, "input": {}}
    else:
        start = {"type": "tool_use", "id": _tool_id(block, number, index), "name": block.name, "input": {}}
    pieces = split(json.dumps(block.input), chunk_size)
    return start, [{"type": "input_json_delta", "partial_json": p} for p in pieces]


def _final_usage(reply: Reply) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": reply.cache_creation_input_tokens,
        "cache_read_input_tokens": reply.cache_read_input_tokens,
        "output_tokens": reply.output_tokens,
    }
    if reply.server_tool_use is not None:
        usage["server_tool_use"] = dict(reply.server_tool_use)
    return usage


def message_json(reply: Reply, model: str, number: int) -> dict[str, Any]:
    """The non-streaming response body of `reply`."""
    content: list[dict[str, Any]] = []
    for index, block in enumerate(reply.blocks):
        if isinstance(block, Text):
            content.append({"type": "text", "text": block.text})
        elif isinstance(block, Thinking):
            content.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        elif isinstance(block, ServerToolResult):
            content.append({"type": block.type, "tool_use_id": block.tool_use_id, "content": block.content})
        elif isinstance(block, ServerToolUse):
            content.append({"type": "server_tool_use", "id": block.id, "name": block.name, "input": block.input})
        else:
            content.append(
                {"type": "tool_use", "id": _tool_id(block, number, index), "name": block.name, "input": block.input}
            )
    message = message_start(reply, model, number)["message"]
    message.update(content=content, stop_reason=reply.final_stop_reason)
    message["usage"] = _final_usage(reply)
    return dict(message)
