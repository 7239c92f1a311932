"""Helpers of the hook tests: run a query, read its results, record hook calls."""

from __future__ import annotations

from typing import Any

from tether import Message, ResultMessage, UserMessage


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage), last
    return last


def tool_results(messages: list[Message]) -> dict[str, dict[str, Any]]:
    """Every tool_result block of the run, by tool_use_id: `{"content": text, "is_error": bool}`."""
    found: dict[str, dict[str, Any]] = {}
    for message in messages:
        if isinstance(message, UserMessage) and isinstance(message.content, list):
            for block in message.content:
                tool_use_id = getattr(block, "tool_use_id", None)
                if tool_use_id is not None:
                    found[tool_use_id] = {"content": text(block.content), "is_error": bool(block.is_error)}  # type: ignore[union-attr]
    return found


def text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


def recorder(calls: list[tuple[str, dict[str, Any], str | None]], output: Any = None) -> Any:
    """A hook that records `(event, input, tool_use_id)` and returns `output` (default `{}`)."""

    async def hook(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        calls.append((input_data["hook_event_name"], input_data, tool_use_id))
        return {} if output is None else output

    return hook
