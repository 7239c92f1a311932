"""The Claude Agent SDK's store-backed session helpers (`*_from_store`, `*_via_store`,
`import_session_to_store`, `fold_session_summary`): the helpers of `tether.sessions.helpers` on a
given `SessionStore`."""

from __future__ import annotations

import os

from tether._vocabulary.store import SessionKey, SessionStore, SessionStoreEntry, SessionSummaryEntry
from tether.errors import (
    InvalidSessionIdError,
    SessionNotFoundError,
)
from tether.sessions.capabilities import store_access
from tether.sessions.entries import new_uuid
from tether.sessions.helpers import (
    Directory,
    ForkSessionResult,
    SessionInfo,
    SessionMessage,
    check_fork_point,
    delete_session_async,
    locate_session,
    rename_session_async,
    session_info_or_none,
    session_messages_or_empty,
    subagent_messages_or_empty,
    subagents_or_empty,
    tag_session_async,
)
from tether.sessions.keys import validate_session_id
from tether.sessions.store_listing import list_sessions_from_store
from tether.sessions.stores.transcripts import sdk_fork
from tether.sessions.summary import fold_summary

_IMPORT_BATCH = 500
"""Entries per append when a session is imported."""

__all__ = [
    "delete_session_via_store",
    "fold_session_summary",
    "fork_session_via_store",
    "get_session_info_from_store",
    "get_session_messages_from_store",
    "get_subagent_messages_from_store",
    "import_session_to_store",
    "list_sessions_from_store",
    "list_subagents_from_store",
    "rename_session_via_store",
    "tag_session_via_store",
]

# -- the Claude SDK's store-backed helpers ----------------------------------------------------------


async def get_session_info_from_store(
    session_store: SessionStore, session_id: str, directory: Directory = None
) -> SessionInfo | None:
    """`get_session_info` on `session_store`: None for an unknown id."""
    return await session_info_or_none(session_id, directory, store=session_store)


async def get_session_messages_from_store(
    session_store: SessionStore,
    session_id: str,
    directory: Directory = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[SessionMessage]:
    """`get_session_messages` on `session_store`: `[]` for an unknown id."""
    return await session_messages_or_empty(session_id, directory, limit, offset, store=session_store)


async def list_subagents_from_store(
    session_store: SessionStore, session_id: str, directory: Directory = None
) -> list[str]:
    """`list_subagents` on `session_store` (which must have `list_subkeys`): `[]` for an unknown id."""
    return await subagents_or_empty(session_id, directory, store=session_store)


async def get_subagent_messages_from_store(
    session_store: SessionStore,
    session_id: str,
    agent_id: str,
    directory: Directory = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[SessionMessage]:
    """`get_subagent_messages` on `session_store`: `[]` for an unknown session or agent."""
    return await subagent_messages_or_empty(session_id, agent_id, directory, limit, offset, store=session_store)


async def rename_session_via_store(
    session_store: SessionStore, session_id: str, title: str, directory: Directory = None
) -> None:
    """`rename_session` on `session_store`."""
    await rename_session_async(session_id, title, directory, store=session_store)


async def tag_session_via_store(
    session_store: SessionStore, session_id: str, tag: str | None, directory: Directory = None
) -> None:
    """`tag_session` on `session_store`."""
    await tag_session_async(session_id, tag, directory, store=session_store)


async def delete_session_via_store(session_store: SessionStore, session_id: str, directory: Directory = None) -> None:
    """`delete_session` on `session_store`. As in the SDK, deleting an unknown session does
    nothing, nor does deleting from a store without `delete` (an append-only store)."""
    validate_session_id(session_id)
    if not store_access(session_store).can("delete"):
        return
    try:
        await delete_session_async(session_id, directory, store=session_store)
    except InvalidSessionIdError:
        raise  # an unknown id that is not a UUID, which the SDK refuses
    except SessionNotFoundError:
        return


async def fork_session_via_store(
    session_store: SessionStore,
    session_id: str,
    directory: Directory = None,
    up_to_message_id: str | None = None,
    title: str | None = None,
) -> ForkSessionResult:
    """`fork_session` on `session_store`, writing the entries the SDK's writes (`transcripts.sdk_fork`:
    fresh uuids, the fork's `sessionId`, `forkedFrom`, the source's content replacements and a
    `custom-title` entry) as a new session of the same project. (tether's `fork_session_async`
    uses the store's copy-on-write `fork` instead.)"""
    check_fork_point(up_to_message_id)
    access = store_access(session_store)
    found = await locate_session(access, session_id, directory)
    source = found.key
    new_id = new_uuid()
    forked = sdk_fork(await access.load(source) or [], source["session_id"], new_id, up_to_message_id, title)
    await access.append(SessionKey(project_key=source["project_key"], session_id=new_id), forked)
    return ForkSessionResult(new_id)


async def _append_batches(store: SessionStore, key: SessionKey, entries: list[SessionStoreEntry], size: int) -> None:
    for start in range(0, len(entries), size):
        await store.append(key, entries[start : start + size])


async def import_session_to_store(
    session_id: str,
    store: SessionStore,
    *,
    directory: Directory = None,
    include_subagents: bool = True,
    batch_size: int = _IMPORT_BATCH,
) -> None:
    """Copy a Claude Code session (a transcript under `$CLAUDE_CONFIG_DIR`, default `~/.claude`)
    into `store`, entries verbatim, `batch_size` per append, with its subagents' transcripts
    unless `include_subagents` is False. The session keeps its id and project, so it resumes
    from the same directory. Raises `SessionFileNotFoundError` when there is no such transcript.
    (`import_claude_code_sessions` imports many sessions at once.)
    """
    from tether.sessions.stores.jsonl import JsonlStore

    source = JsonlStore(os.environ.get("CLAUDE_CONFIG_DIR") or "~/.claude")
    found = await locate_session(source, session_id, directory)
    size = batch_size if batch_size > 0 else _IMPORT_BATCH
    await _append_batches(store, found.key, await source.load(found.key) or [], size)
    if not include_subagents:
        return
    for subpath in await store_access(source).list_subkeys(found.key):
        sub = SessionKey(project_key=found.key["project_key"], session_id=found.key["session_id"], subpath=subpath)
        await _append_batches(store, sub, await source.load(sub) or [], size)


def fold_session_summary(
    prev: SessionSummaryEntry | None, key: SessionKey, entries: list[SessionStoreEntry]
) -> SessionSummaryEntry:
    """The session's summary after `entries` are appended, from the one before (`prev`, or None).

    For store authors, as in the Claude SDK: call it in `append` for main transcripts (keys
    without `subpath`) and return the result from `list_session_summaries`; tether's listings
    read it (its `data` is tether's summary with the SDK's keys, see `tether.sessions.summary`). `mtime` stays as in
    `prev` (0 for a new session): set it to the store's own write time.
    """
    data = fold_summary(prev["data"] if prev is not None else None, entries)
    return SessionSummaryEntry(session_id=key["session_id"], mtime=prev["mtime"] if prev is not None else 0, data=data)
