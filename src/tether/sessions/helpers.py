"""Session helpers: list, inspect, rename, tag, delete and fork stored sessions.

The names and parameters are the Claude Agent SDK's (`list_sessions`, `get_session_info`,
`get_session_messages`, `rename_session`, `tag_session`, `delete_session`, `fork_session`), so
code written for it ports by changing the import.

**Naming convention.** Each helper is an async function named `<name>_async` (the one
implementation) with a sync twin under the Claude SDK's plain name, which runs the async one
in a fresh event loop:

```python
from tether import list_sessions, list_sessions_async

for info in list_sessions(limit=10):              # sync, as in the Claude Agent SDK
    print(info.session_id, info.summary)

infos = await list_sessions_async(limit=10)       # inside async code
```

A sync twin cannot run inside a running event loop (it says so); use the `_async` form there.
It opens and closes its own event loop, so give it a store that is not tied to one (the
default store, a URL, `MemoryStore`, `SQLiteStore`, `JsonlStore`).

Every helper takes `store=`: a store object, a store URL, or None for the default store
(`$TETHER_STORE_URL`, else the SQLite file under `$TETHER_HOME`). A store opened from a URL
or the default is closed again before the helper returns. `directory` is accepted where the
Claude SDK has it: listings are limited to that project; lookups by id find a session in any
project when the store can `find`, and use `directory` only for stores that cannot.

Unknown ids raise `SessionNotFoundError`, malformed ids `InvalidSessionIdError`; listing reads
the stores' summaries and never loads a transcript.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, ParamSpec, TypeVar

import anyio

from tether.errors import ConfigurationError, SessionNotFoundError
from tether.sessions.entries import active_chain, make_meta_entry, new_uuid
from tether.sessions.keys import project_key_for_directory, validate_session_id
from tether.sessions.store import SessionKey, SessionStore, SessionSummaryEntry, StoredSession
from tether.sessions.summary import fold_summary
from tether.sessions.urls import open_store, opened_for_caller

__all__ = [
    "ForkSessionResult",
    "SessionInfo",
    "SessionMessage",
    "delete_session",
    "delete_session_async",
    "fork_session",
    "fork_session_async",
    "get_session_info",
    "get_session_info_async",
    "get_session_messages",
    "get_session_messages_async",
    "list_sessions",
    "list_sessions_async",
    "locate_session",
    "rename_session",
    "rename_session_async",
    "session_info_from_summary",
    "tag_session",
    "tag_session_async",
]

StoreSpec = SessionStore | str | None
_PAGE = 200
_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass
class SessionInfo:
    """What a listing knows of a session (the Claude SDK's `SDKSessionInfo`, plus tether's fields).

    Times are epoch milliseconds, as in the Claude SDK. `summary` is the display title: the
    custom title, else the AI or legacy summary title, else the first prompt. `file_size` is
    set only by file stores; `message_count` is None when a file store did not read the whole
    file to list it.
    """

    session_id: str
    summary: str
    last_modified: int
    file_size: int | None = None
    custom_title: str | None = None
    first_prompt: str | None = None
    git_branch: str | None = None
    cwd: str | None = None
    tag: str | None = None
    created_at: int | None = None
    title: str | None = None
    """The custom or AI-generated title, if any (without the first-prompt fallback of `summary`)."""
    message_count: int | None = None
    """Entries carrying a uuid (messages and other chain entries) in the session's view."""
    forked_from: dict[str, Any] | None = None
    """`{"sessionId", "messageUuid"}` of the fork point, for a fork."""
    total_cost_usd: float | None = None
    project_key: str | None = None


@dataclass
class SessionMessage:
    """One message of a session's active branch (the Claude SDK's `SessionMessage`).

    `message` is the Anthropic Messages API dict as stored. Claude Code writes one assistant
    entry per content block, so one API response may be several consecutive `SessionMessage`s.
    """

    type: Literal["user", "assistant"]
    uuid: str
    session_id: str
    message: dict[str, Any]
    parent_tool_use_id: str | None = None
    parent_agent_id: str | None = None


class ForkSessionResult(str):
    """The new session's id (a `str`), also readable as `.session_id` like the Claude SDK's result."""

    __slots__ = ()

    @property
    def session_id(self) -> str:
        """The id of the new session."""
        return str(self)


# -- plumbing ---------------------------------------------------------------------------------


def _sync(async_function: Callable[_P, Awaitable[_T]]) -> Callable[_P, _T]:
    """The sync twin of a helper: runs it in a fresh event loop."""

    @functools.wraps(async_function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return anyio.run(functools.partial(async_function, *args, **kwargs))
        raise RuntimeError(
            f"{run.__name__}() cannot run inside a running event loop; await {async_function.__name__}() instead"
        )

    run.__name__ = run.__qualname__ = async_function.__name__.removesuffix("_async")
    run.__doc__ = f"Sync twin of `{async_function.__name__}` (see there)."
    return run


@asynccontextmanager
async def _opened(store: StoreSpec) -> AsyncIterator[SessionStore]:
    """The store for `store`, closed afterwards if it was opened here (a shared SQLite store stays open)."""
    resolved = open_store(store, shared=True)
    try:
        yield resolved
    finally:
        if opened_for_caller(resolved, store):
            close = getattr(resolved, "close", None)
            if close is not None:
                await close()


def _check_page(limit: int | None, offset: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ConfigurationError(f"limit must be a non-negative integer or None, not {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ConfigurationError(f"offset must be a non-negative integer, not {offset!r}")


async def locate_session(
    store: SessionStore, session_id: str, directory: str | os.PathLike[str] | None = None
) -> StoredSession:
    """Where `session_id` lives and its summary; raises `SessionNotFoundError` if nowhere."""
    session_id = validate_session_id(session_id)
    find = getattr(store, "find", None)
    if find is not None:
        found: StoredSession | None = await find(session_id)
        if found is None:
            raise SessionNotFoundError(session_id)
        return found
    key = SessionKey(project_key=project_key_for_directory(directory), session_id=session_id)
    entries = await store.load(key)
    if entries is None:
        raise SessionNotFoundError(session_id, f"looked in the project of {str(directory or os.getcwd())!r}")
    leaf = next((e["uuid"] for e in reversed(entries) if e.get("uuid") and not e.get("isSidechain")), None)
    return StoredSession(key=key, leaf=leaf, mtime=0, summary=fold_summary(None, entries))


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value:
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def session_info_from_summary(
    session_id: str, mtime: int, data: dict[str, Any], project_key: str | None = None
) -> SessionInfo:
    """A `SessionInfo` from a store's summary dict (see `tether.sessions.summary`)."""
    title = data.get("title") or None
    first_prompt = data.get("first_prompt") or None
    cost = data.get("total_cost_usd")
    count = data.get("message_count")
    origin = data.get("forked_from")
    return SessionInfo(
        session_id=session_id,
        summary=title or first_prompt or "",
        last_modified=mtime,
        file_size=data.get("file_size") if isinstance(data.get("file_size"), int) else None,
        custom_title=title if data.get("custom_title") else None,
        first_prompt=first_prompt,
        git_branch=data.get("git_branch") or None,
        cwd=data.get("cwd") or None,
        tag=data.get("tag") or None,
        created_at=_epoch_ms(data.get("created_at")),
        title=title,
        message_count=count if isinstance(count, int) else None,
        forked_from=dict(origin) if isinstance(origin, dict) else None,
        total_cost_usd=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        project_key=project_key,
    )


def _info_of_entry(entry: SessionSummaryEntry, project_key: str | None) -> SessionInfo:
    return session_info_from_summary(
        entry["session_id"], entry["mtime"], entry["data"], entry.get("project_key", project_key)
    )


# -- readers ----------------------------------------------------------------------------------


async def list_sessions_async(
    directory: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    *,
    store: StoreSpec = None,
) -> list[SessionInfo]:
    """Sessions newest first: of the project at `directory`, or of every project when None.

    `offset` skips that many sessions, `limit` caps how many are returned.
    """
    _check_page(limit, offset)
    project_key = project_key_for_directory(directory) if directory is not None else None
    wanted = None if limit is None else offset + limit
    async with _opened(store) as opened:
        infos: list[SessionInfo] = []
        list_page = getattr(opened, "list_page", None)
        if list_page is not None:
            cursor: str | None = None
            while wanted is None or len(infos) < wanted:
                size = _PAGE if wanted is None else min(_PAGE, wanted - len(infos))
                page = await list_page(project_key, limit=max(size, 1), cursor=cursor)
                infos.extend(_info_of_entry(item, project_key) for item in page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
        else:
            summaries = getattr(opened, "list_session_summaries", None)
            if summaries is None or project_key is None:
                raise ConfigurationError(
                    f"{type(opened).__name__} cannot list sessions"
                    + ("" if summaries is None else " of all projects; pass directory=")
                )
            items = await summaries(project_key)
            infos = [_info_of_entry(item, project_key) for item in items]
            infos.sort(key=lambda info: (info.last_modified, info.session_id), reverse=True)
    return infos[offset:] if wanted is None else infos[offset:wanted]


async def get_session_info_async(
    session_id: str, directory: str | os.PathLike[str] | None = None, *, store: StoreSpec = None
) -> SessionInfo:
    """What the store knows of one session, without loading its transcript."""
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
    return session_info_from_summary(found.key["session_id"], found.mtime, found.summary, found.key["project_key"])


def _session_messages(entries: list[dict[str, Any]], session_id: str) -> list[SessionMessage]:
    messages: list[SessionMessage] = []
    for entry in active_chain(entries):
        kind = entry.get("type")
        message = entry.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict):
            continue
        if entry.get("isMeta") or entry.get("isSidechain") or entry.get("teamName"):
            continue
        messages.append(
            SessionMessage(
                type="user" if kind == "user" else "assistant",
                uuid=str(entry["uuid"]),
                session_id=session_id,
                message=message,
                parent_tool_use_id=entry.get("parent_tool_use_id"),
            )
        )
    return messages


async def get_session_messages_async(
    session_id: str,
    directory: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    *,
    store: StoreSpec = None,
) -> list[SessionMessage]:
    """The user and assistant messages of the session's active branch, oldest first.

    Parallel tool calls and their results stay together (see `entries.active_chain`).
    `offset` and `limit` slice that list.
    """
    _check_page(limit, offset)
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        entries = await opened.load(found.key)
    if entries is None:
        raise SessionNotFoundError(session_id)
    messages = _session_messages(entries, found.key["session_id"])
    return messages[offset:] if limit is None else messages[offset : offset + limit]


# -- mutations --------------------------------------------------------------------------------


async def rename_session_async(
    session_id: str, title: str, directory: str | os.PathLike[str] | None = None, *, store: StoreSpec = None
) -> None:
    """Give the session a title (appends a `custom-title` entry, as Claude Code does)."""
    if not isinstance(title, str) or not title.strip():
        raise ConfigurationError("a session title must be a non-empty string")
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        entry = make_meta_entry("custom-title", session_id=found.key["session_id"], customTitle=title.strip())
        await opened.append(found.key, [entry])


async def tag_session_async(
    session_id: str, tag: str | None, directory: str | os.PathLike[str] | None = None, *, store: StoreSpec = None
) -> None:
    """Tag the session (appends a `tag` entry); `None` or `""` clears the tag."""
    if tag is not None and not isinstance(tag, str):
        raise ConfigurationError(f"a tag must be a string or None, not {tag!r}")
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        entry = make_meta_entry("tag", session_id=found.key["session_id"], tag=(tag or "").strip())
        await opened.append(found.key, [entry])


async def delete_session_async(
    session_id: str, directory: str | os.PathLike[str] | None = None, *, store: StoreSpec = None
) -> None:
    """Delete the session and its sub-transcripts. Its forks keep their whole history."""
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        delete = getattr(opened, "delete", None)
        if delete is None:
            raise ConfigurationError(f"{type(opened).__name__} cannot delete sessions")
        await delete(found.key)


async def fork_session_async(
    session_id: str,
    directory: str | os.PathLike[str] | None = None,
    up_to_message_id: str | None = None,
    title: str | None = None,
    *,
    store: StoreSpec = None,
    new_session_id: str | None = None,
) -> ForkSessionResult:
    """Branch a new session off `session_id` (up to and including `up_to_message_id`, else all).

    Uses the store's copy-on-write `fork` (a store without one gets a copy with fresh uuids, as
    the Claude SDK makes). The fork is titled `title`, else "<source title> (fork)". Returns the
    new session's id.
    """
    new_id = validate_session_id(new_session_id) if new_session_id else new_uuid()
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        source = found.key
        key = SessionKey(project_key=source["project_key"], session_id=new_id)
        fork = getattr(opened, "fork", None)
        if fork is not None:
            await fork(source, key, up_to_message_id)
        else:
            from tether.sessions.jsonl import copy_for_fork

            entries = await opened.load(source) or []
            await opened.append(key, copy_for_fork(entries, source["session_id"], new_id, up_to_message_id))
        base = found.summary.get("title") or found.summary.get("first_prompt") or f"session {source['session_id'][:8]}"
        name = title.strip() if title and title.strip() else f"{base} (fork)"
        await opened.append(key, [make_meta_entry("custom-title", session_id=new_id, customTitle=name)])
    return ForkSessionResult(new_id)


list_sessions = _sync(list_sessions_async)
get_session_info = _sync(get_session_info_async)
get_session_messages = _sync(get_session_messages_async)
rename_session = _sync(rename_session_async)
tag_session = _sync(tag_session_async)
delete_session = _sync(delete_session_async)
fork_session = _sync(fork_session_async)
