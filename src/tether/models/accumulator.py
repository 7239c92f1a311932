"""`MessageAccumulator`: one `ModelResponse` built from Anthropic-shaped stream events.

Every provider turns its wire stream into Anthropic SSE event dicts; the accumulator builds the
final response from them, so a response looks the same whatever the provider. An event that breaks
the protocol raises `MalformedStreamError`; a stream cut short, `StreamIncompleteError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tether.messages import json_type_name
from tether.models.base import JSON_INPUT_BLOCKS, USAGE_KEYS, ModelResponse

__all__ = ["MalformedStreamError", "MessageAccumulator", "StreamIncompleteError", "stream_object"]


class StreamIncompleteError(Exception):
    """The stream ended, or broke the protocol, before the message was complete."""


class MalformedStreamError(Exception):
    """The provider sent what its protocol does not allow: a data line that is not JSON, an event
    field of the wrong type... Retried like a dropped connection while nothing was yielded."""


def _index(event: Mapping[str, Any]) -> int:
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise MalformedStreamError(f"a {event.get('type')} event has index {index!r}, not a whole number")
    return index


def stream_object(value: Any, what: str, *, required: bool = False) -> Mapping[str, Any]:
    """`value` if it is a JSON object (None reads as an empty one unless `required`); else
    `MalformedStreamError` saying `the WHAT is ...`."""
    if isinstance(value, Mapping):
        return value
    if value is None and not required:
        return {}
    raise MalformedStreamError(f"the {what} is {json_type_name(value)}, not an object")


def _mapping(event: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any]:
    value = event.get(key)
    if isinstance(value, Mapping):  # the common case: no message to build
        return value
    return stream_object(value, f"{key} of a {event.get('type')} event", required=required)


def _text(where: Mapping[str, Any], key: str, what: str, *, optional: bool = False) -> str | None:
    """The string field `key` of `what`, a part of an event (None when absent and `optional`)."""
    value = where.get(key)
    if isinstance(value, str) or (value is None and optional):
        return value
    raise MalformedStreamError(f"the {key} of {what} is {json_type_name(value)}, not a string")


_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
    "signature_delta": "signature",
}
"""Delta type -> its string field."""
_TEXT_FIELDS = ("text", "thinking")
"""The block fields whose deltas are appended (joined when the block ends)."""


class MessageAccumulator:
    """Builds one `ModelResponse` from Anthropic SSE event dicts, fed in order with `add`.

    An event that breaks the protocol (a field of the wrong type, a delta for a block never
    started) raises `MalformedStreamError` or `StreamIncompleteError`; unknown event and delta
    types are skipped, as the API may add some.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.id: str | None = None
        self.stop_reason: str | None = None
        self.usage: dict[str, Any] = {}
        """The raw usage, merged over the stream (may hold nested details such as `cache_creation`)."""
        self.complete = False
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, list[str]] = {}
        self._texts: dict[tuple[int, str], list[str]] = {}
        """The text pieces of each block's text field (`text`, `thinking`), joined once at the end."""

    def add(self, event: Mapping[str, Any]) -> None:
        if not isinstance(event, Mapping):
            raise MalformedStreamError(f"a stream event is {json_type_name(event)}, not an object")
        kind = event.get("type")
        if kind == "message_start":
            self._start(_mapping(event, "message"))
        elif kind == "content_block_start":
            self._start_block(_index(event), _mapping(event, "content_block", required=True))
        elif kind == "content_block_delta":
            self._delta(_index(event), _mapping(event, "delta", required=True))
        elif kind == "content_block_stop":
            self._finish_block(_index(event))
        elif kind == "message_delta":
            delta = _mapping(event, "delta")
            self.stop_reason = _text(delta, "stop_reason", "a message_delta", optional=True) or self.stop_reason
            self._merge_usage(event.get("usage"))
        elif kind == "message_stop":
            self.complete = True

    def _start(self, message: Mapping[str, Any]) -> None:
        self.id = _text(message, "id", "the message of message_start", optional=True) or self.id
        self.model = _text(message, "model", "the message of message_start", optional=True) or self.model
        self._merge_usage(message.get("usage"))

    def _start_block(self, index: int, block: Mapping[str, Any]) -> None:
        _text(block, "type", f"content block {index}")
        self._blocks[index] = dict(block)
        if block.get("type") in JSON_INPUT_BLOCKS:
            self._json[index] = []

    def _merge_usage(self, usage: Any) -> None:
        if isinstance(usage, Mapping):
            self.usage.update({key: value for key, value in usage.items() if value is not None})

    def _delta(self, index: int, delta: Mapping[str, Any]) -> None:
        block = self._blocks.get(index)
        if block is None:
            raise StreamIncompleteError(f"a delta arrived for content block {index}, which was never started")
        kind = delta.get("type")
        if kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))
        key = _DELTA_FIELDS.get(str(kind))
        if key is None:
            return
        piece = _text(delta, key, f"a {kind} of block {index}") or ""
        if kind == "input_json_delta":
            self._json.setdefault(index, []).append(piece)
        elif kind == "signature_delta":
            block["signature"] = piece
        else:
            self._texts.setdefault((index, key), [str(block.get(key) or "")]).append(piece)

    def _finish_block(self, index: int) -> None:
        block = self._blocks.get(index)
        if block is not None:
            for key in _TEXT_FIELDS:
                texts = self._texts.pop((index, key), None)
                if texts is not None:
                    block[key] = "".join(texts)
        pieces = self._json.pop(index, None)
        if block is None or pieces is None:
            return
        text = "".join(pieces)
        if not text.strip():
            block.setdefault("input", {})
            return
        try:
            block["input"] = json.loads(text)
        except json.JSONDecodeError:
            block["input"] = None  # cut off by max_tokens; dropped (or reported) in `response`
            block["_partial_json"] = text

    def response(self, cost: Callable[[str, Mapping[str, Any]], float | None]) -> ModelResponse:
        """The complete response; raises `StreamIncompleteError` if the stream was cut short."""
        if not self.complete:
            raise StreamIncompleteError("the response stream ended before the message was complete")
        content: list[dict[str, Any]] = []
        for index in sorted(self._blocks):
            block = self._blocks[index]
            self._finish_block(index)
            if block.get("type") in JSON_INPUT_BLOCKS and "_partial_json" in block:
                if self.stop_reason == "max_tokens":
                    continue  # an unfinished call cut off by max_tokens cannot be run
                raise StreamIncompleteError(f"the input of tool call {block.get('name')!r} is not valid JSON")
            content.append(block)
        usage: dict[str, Any] = {key: _int(self.usage.get(key)) for key in USAGE_KEYS}
        if isinstance(self.usage.get("server_tool_use"), Mapping):
            usage["server_tool_use"] = dict(self.usage["server_tool_use"])
        return ModelResponse(
            content=content,
            model=self.model,
            stop_reason=self.stop_reason,
            usage=usage,
            id=self.id,
            cost_usd=cost(self.model, self.usage),
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
