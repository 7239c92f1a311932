"""`tether -p PROMPT`: ask once, print the answer (text, one JSON result, or a JSON line per message).

The JSON shapes are those of `claude -p --output-format json|stream-json`, so scripts written
for Claude Code read them: `{"type": "system", "subtype": "init", ...}`, `{"type": "assistant",
"message": {...}}`, `{"type": "user", "message": {...}}`, `{"type": "stream_event", "event":
{...}}` and finally `{"type": "result", ...}`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import typer

from tether.cli._common import err_console, escape, fail, showing_model_progress
from tether.messages import (
    AssistantMessage,
    ConversationResetMessage,
    Message,
    RateLimitEvent,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    UserMessage,
    block_to_dict,
)
from tether.options import AgentOptions

__all__ = ["OutputFormat", "message_to_dict", "run_print"]


class OutputFormat(str, Enum):
    """`--output-format` values."""

    text = "text"
    json = "json"
    stream_json = "stream-json"


def _content(content: Any) -> Any:
    if isinstance(content, str):
        return content
    return [block_to_dict(block) for block in content]


def message_to_dict(message: Message, session_id: str | None) -> dict[str, Any]:
    """A message in the line-delimited JSON shape of Claude Code's `stream-json` output."""
    if isinstance(message, SystemMessage):
        return {"type": "system", **message.data, "subtype": message.subtype}
    if isinstance(message, AssistantMessage):
        return {
            "type": "assistant",
            "message": {
                "id": message.message_id,
                "type": "message",
                "role": "assistant",
                "model": message.model,
                "content": _content(message.content),
                "stop_reason": message.stop_reason,
                "usage": message.usage,
            },
            "parent_tool_use_id": message.parent_tool_use_id,
            "session_id": message.session_id or session_id,
            "uuid": message.uuid,
        }
    if isinstance(message, UserMessage):
        data: dict[str, Any] = {
            "type": "user",
            "message": {"role": "user", "content": _content(message.content)},
            "parent_tool_use_id": message.parent_tool_use_id,
            "session_id": session_id,
            "uuid": message.uuid,
        }
        if message.tool_use_result is not None:
            data["tool_use_result"] = message.tool_use_result
        return data
    if isinstance(message, RateLimitEvent):
        return {
            "type": "rate_limit_event",
            "rate_limit_info": dataclasses.asdict(message.rate_limit_info),
            "session_id": message.session_id,
            "uuid": message.uuid,
        }
    if isinstance(message, ConversationResetMessage):
        return {"type": "conversation_reset", **dataclasses.asdict(message)}
    if isinstance(message, StreamEvent):
        return {
            "type": "stream_event",
            "event": message.event,
            "parent_tool_use_id": message.parent_tool_use_id,
            "session_id": message.session_id,
            "uuid": message.uuid,
        }
    return {
        "type": "result",
        "subtype": message.subtype,
        "is_error": message.is_error,
        "duration_ms": message.duration_ms,
        "duration_api_ms": message.duration_api_ms,
        "num_turns": message.num_turns,
        "result": message.result,
        "stop_reason": message.stop_reason,
        "session_id": message.session_id,
        "total_cost_usd": message.total_cost_usd,
        "usage": message.usage,
        "modelUsage": message.model_usage,
        "permission_denials": message.permission_denials,
        "errors": message.errors,
        "api_error_status": message.api_error_status,
        "uuid": message.uuid,
    }


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


async def run_print(prompt: str, options: AgentOptions, output_format: OutputFormat) -> ResultMessage:
    """Run one prompt, writing what `output_format` asks for to stdout; returns the result message."""
    from tether._query import query  # the agent: `tether sessions ...` does not import it

    session_id: str | None = None
    result: ResultMessage | None = None
    with _waiting(output_format):
        async for message in query(prompt=prompt, options=options):
            if isinstance(message, SystemMessage) and message.subtype == "init":
                session_id = message.data.get("session_id")
            if output_format is OutputFormat.stream_json:
                typer.echo(_line(message_to_dict(message, session_id)))
            if isinstance(message, ResultMessage):
                result = message
    if result is None:  # pragma: no cover - the agent loop always ends with a result
        fail("the run ended without a result")
    if output_format is OutputFormat.json:
        typer.echo(_line(message_to_dict(result, session_id)))
    elif output_format is OutputFormat.text and not result.is_error:
        typer.echo(result.result or "")
    return result


@contextmanager
def _waiting(output_format: OutputFormat) -> Iterator[None]:
    """A spinner on stderr while the answer is worked out, when stderr is a terminal and the answer
    comes as text (printed whole at the end), with the local model's progress reading a long prompt;
    nothing otherwise."""
    if output_format is not OutputFormat.text or not sys.stderr.isatty():
        yield  # and rich stays unimported: a script's `tether -p` starts faster
        return
    text = "[dim]Working…[/] (Ctrl-C stops)"
    with err_console().status(text, spinner="dots") as status, showing_model_progress(status, "Working…"):
        yield


def report_result_error(result: ResultMessage, output_format: OutputFormat) -> None:
    """For a failed run in text mode: the error in red on stderr (the caller exits with status 1)."""
    if output_format is OutputFormat.text:
        detail = "; ".join(result.errors or []) or result.result or result.subtype
        err_console().print(f"[bold red]Error:[/] {escape(' '.join(detail.split()))}")
