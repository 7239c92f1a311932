"""Follow a durable turn another caller submitted (the same turn id twice): its stored messages, then its result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from dbos import DBOS

from tether.errors import SessionNotFoundError
from tether.messages import AssistantMessage, Message, ResultMessage, UserMessage, blocks_from_content
from tether.options import AgentOptions
from tether.sessions.capabilities import store_access
from tether.sessions.entries import active_chain
from tether.sessions.urls import open_store, opened_for_caller

__all__ = ["follow_turn", "message_of_entry"]

_POLL_SECONDS = 0.2
_DONE = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


async def follow_turn(workflow_id: str, options: AgentOptions) -> AsyncIterator[Message]:
    """The messages of the turn `workflow_id` as they are stored, each once, then its `ResultMessage`."""
    session_id = workflow_id.split(":")[1]
    store = open_store(options.session_store, shared=True)
    access = store_access(store)
    seen: set[str] = set()
    try:
        start = await _recorded_start(workflow_id)
        while True:
            status = await DBOS.get_workflow_status_async(workflow_id)
            done = status is not None and status.status in _DONE
            try:
                found = await access.locate(session_id)
                entries = await access.load(found.key) or []
            except SessionNotFoundError:
                entries = []
            for entry in _after(active_chain(entries), start):
                if entry["uuid"] not in seen:
                    seen.add(entry["uuid"])
                    message = message_of_entry(entry)
                    if message is not None:
                        yield message
            if done:
                break
            await anyio.sleep(_POLL_SECONDS)
        handle: Any = await DBOS.retrieve_workflow_async(workflow_id)
        result = await handle.get_result()
        if isinstance(result, ResultMessage):
            yield result
    finally:
        if opened_for_caller(store, options.session_store):
            await access.close()


async def _recorded_start(workflow_id: str) -> str | None:
    """The session's leaf when the turn started, as its first step recorded it."""
    while True:
        steps = await DBOS.list_workflow_steps_async(workflow_id)
        for step in steps:
            if step["function_name"] == "turn-start":
                output = step["output"]
                return output if isinstance(output, str) else None
        await anyio.sleep(_POLL_SECONDS)


def _after(chain: list[dict[str, Any]], start: str | None) -> list[dict[str, Any]]:
    if start is None:
        return chain
    uuids = [entry.get("uuid") for entry in chain]
    return chain[uuids.index(start) + 1 :] if start in uuids else []


def message_of_entry(entry: dict[str, Any]) -> Message | None:
    """The SDK message a stored user or assistant entry stands for (None for other entries)."""
    message = entry.get("message")
    if not isinstance(message, dict):
        return None
    content = blocks_from_content(message.get("content", ""))
    if entry.get("type") == "user":
        return UserMessage(content=content, uuid=entry["uuid"])
    if entry.get("type") == "assistant":
        return AssistantMessage(
            content=content if isinstance(content, list) else [],
            model=str(message.get("model", "")),
            usage=dict(message.get("usage") or {}),
            message_id=message.get("id"),
            stop_reason=message.get("stop_reason"),
            session_id=entry.get("sessionId"),
            uuid=entry["uuid"],
        )
    return None
