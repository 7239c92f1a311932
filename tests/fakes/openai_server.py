"""`FakeOpenAIServer`: chat completions (`POST /v1/chat/completions`, SSE streaming) on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.fakes.script import Reply, ScriptItem, StreamErrorReply, Text, Thinking, ToolUse, split
from tests.fakes.server import FakeServer, _Handler

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    503: "server_error",
}
FINISH_REASONS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "refusal": "content_filter"}


class FakeOpenAIServer(FakeServer):
    """A fake OpenAI-compatible chat-completions server. `.url` ends in `/v1` (the client's base_url).

    Thinking blocks are sent as `reasoning_content` deltas (the vLLM / llama.cpp / DeepSeek field).
    """

    path = "/chat/completions"
    base_path = "/v1"
    _ids = itertools.count(1)

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        kind = error_type or ERROR_TYPES.get(status, "server_error")
        code = "invalid_api_key" if status == 401 else None
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def handle(self, handler: _Handler, body: dict[str, Any], item: ScriptItem) -> None:
        model = str(body.get("model", "gpt-fake"))
        number = next(self._ids)
        if isinstance(item, StreamErrorReply):
            handler.start_sse()
            handler.send_chunk(_data(_chunk(number, model, {"role": "assistant", "content": ""})))
            handler.send_chunk(_data({"error": {"message": item.message, "type": item.error_type}}))
            handler.end_sse()
            return
        assert isinstance(item, Reply)
        if not body.get("stream"):
            handler.send_json(200, completion_json(item, model, number))
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        handler.start_sse()
        for count, chunk in enumerate(stream_chunks(item, model, number, include_usage)):
            if item.cut_after is not None and count >= item.cut_after:
                handler.drop()
                return
            handler.send_chunk(_data(chunk))
        handler.send_chunk("data: [DONE]\n\n")
        handler.end_sse()


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _chunk(number: int, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake{number:04d}",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _usage(reply: Reply) -> dict[str, Any]:
    prompt = reply.input_tokens + reply.cache_read_input_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": reply.output_tokens,
        "total_tokens": prompt + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": reply.cache_read_input_tokens},
    }


def _call_id(block: ToolUse, number: int, index: int) -> str:
    return block.id or f"call_fake{number:04d}{index:02d}"


def stream_chunks(reply: Reply, model: str, number: int, include_usage: bool) -> list[dict[str, Any]]:
    """The chunks of `reply` as a chat-completions stream."""
    model = reply.model or model
    chunks = [_chunk(number, model, {"role": "assistant", "content": ""})]
    calls = [block for block in reply.blocks if isinstance(block, ToolUse)]
    for block in reply.blocks:
        if isinstance(block, Text):
            chunks += [_chunk(number, model, {"content": p}) for p in split(block.text, reply.chunk_size)]
        elif isinstance(block, Thinking):
            chunks += [_chunk(number, model, {"reasoning_content": p}) for p in split(block.thinking, reply.chunk_size)]
    for index, call in enumerate(calls):
        head = {"index": index, "id": _call_id(call, number, index), "type": "function"}
        chunks.append(
            _chunk(number, model, {"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]})
        )
        for piece in split(json.dumps(call.input), reply.chunk_size):
            chunks.append(_chunk(number, model, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    finish = FINISH_REASONS.get(reply.final_stop_reason, "stop")
    chunks.append(_chunk(number, model, {}, finish))
    if include_usage:
        last = _chunk(number, model, {})
        last["choices"] = []
        last["usage"] = _usage(reply)
        chunks.append(last)
    return chunks


def completion_json(reply: Reply, model: str, number: int) -> dict[str, Any]:
    """The non-streaming chat completion of `reply`."""
    texts = [block.text for block in reply.blocks if isinstance(block, Text)]
    calls = [block for block in reply.blocks if isinstance(block, ToolUse)]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, number, index),
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.input)},
            }
            for index, call in enumerate(calls)
        ]
    return {
        "id": f"chatcmpl-fake{number:04d}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": reply.model or model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": FINISH_REASONS.get(reply.final_stop_reason, "stop")}
        ],
        "usage": _usage(reply),
    }
