"""Helpers of the settings tests: write Claude Code's files, run a query, read what it did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tether import AgentClient, AgentOptions, Message, ResultMessage, SystemMessage, ToolResultBlock, UserMessage


def write(path: Path, text: str) -> Path:
    """Write `text` to `path`, making its directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, value: Any) -> Path:
    return write(path, json.dumps(value, indent=2))


async def run_in_one_client(prompts: list[str], **options: Any) -> list[list[Message]]:
    """The messages of each prompt, asked one after the other of one `AgentClient`."""
    answers = []
    async with AgentClient(AgentOptions(**options)) as client:
        for prompt in prompts:
            await client.query(prompt)
            answers.append([message async for message in client.receive_response()])
    return answers


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage), last
    return last


def init_data(messages: list[Message]) -> dict[str, Any]:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init", first
    return first.data


def tool_result_texts(messages: list[Message]) -> list[tuple[str, bool]]:
    """`(text, is_error)` of every tool result of the run, in order."""
    found = []
    for message in messages:
        if isinstance(message, UserMessage) and isinstance(message.content, list):
            for block in message.content:
                if isinstance(block, ToolResultBlock):
                    content = block.content
                    text = content if isinstance(content, str) else "".join(b.get("text", "") for b in content or [])
                    found.append((text, bool(block.is_error)))
    return found


def prompt_text(request_messages: list[dict[str, Any]]) -> str:
    """The text of the first user message of a model request."""
    content = request_messages[0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)
