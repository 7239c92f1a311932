"""Follow a durable turn another caller submitted (the same turn id twice): its messages as stored.

The turn's first step recorded the session's leaf when it started; the follower reads the
session's entries after it (`tether.sessions.follow.follow_entries`), each once, in order, up to
the `tether-result` entry that ends the turn, across a take-over by another worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from dbos import DBOS

from tether.errors import SessionNotFoundError
from tether.messages import Message, ResultMessage
from tether.options import AgentOptions
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.follow import follow_entries, message_of_entry
from tether.sessions.keys import project_key_for_directory
from tether.sessions.store import StoredSession
from tether.sessions.urls import open_store, opened_for_caller

__all__ = ["follow_turn"]

_POLL_SECONDS = 0.2


async def follow_turn(workflow_id: str, session_id: str, cwd: str, options: AgentOptions) -> AsyncIterator[Message]:
    """The messages of the turn `workflow_id` on `session_id` as they are stored, to its `ResultMessage`."""
    store = open_store(options.session_store, shared=True)
    access = store_access(store)
    try:
        with anyio.fail_after(options.load_timeout_ms / 1000):  # the first caller's turn starts the session
            start = await _recorded_start(workflow_id)
            found = await _located(access, session_id, project_key_for_directory(cwd))
        moved = False  # a result stored before this turn's first message is the turn before's
        async for entry in follow_entries(access, found.key, after_uuid=start, poll_interval=_POLL_SECONDS):
            message = message_of_entry(entry)
            moved = moved or bool(entry.get("uuid"))
            if message is not None and (moved or not isinstance(message, ResultMessage)):
                yield message
    finally:
        if opened_for_caller(store, options.session_store):
            await access.close()


async def _located(access: StoreAccess, session_id: str, project_key: str) -> StoredSession:
    while True:
        try:
            return await access.locate(session_id, project_key)
        except SessionNotFoundError:
            await anyio.sleep(_POLL_SECONDS)


async def _recorded_start(workflow_id: str) -> str | None:
    """The session's leaf when the turn started, as the turn's first step recorded it."""
    while True:
        for step in await DBOS.list_workflow_steps_async(workflow_id):
            if step["function_name"] == "turn-start":
                output = step["output"]
                return output if isinstance(output, str) else None
        await anyio.sleep(_POLL_SECONDS)
