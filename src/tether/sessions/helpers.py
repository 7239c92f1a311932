"""Session helpers: list, inspect, rename, tag, delete and fork stored sessions.

The names, parameters and results are the Claude Agent SDK's, so code written for it ports by
changing the import:

- sync helpers, on the default store (or `store=`): `list_sessions`, `get_session_info`,
  `get_session_messages`, `list_subagents`, `get_subagent_messages`, `rename_session`,
  `tag_session`, `delete_session`, `fork_session`;
- async helpers on a given store: `list_sessions_from_store`, `get_session_info_from_store`,
  `get_session_messages_from_store`, `list_subagents_from_store`,
  `get_subagent_messages_from_store`, `rename_session_via_store`, `tag_session_via_store`,
  `delete_session_via_store`, `fork_session_via_store`; and `import_session_to_store` (a Claude
  Code session from `~/.claude` into a store) and `fold_session_summary` (for store authors).

They are thin over tether's own async helpers, `<name>_async` (`list_sessions_async`,
`get_session_info_async`, ...), which take `store=` too. The sync helpers run their async
helper in a fresh event loop, in a worker thread when called inside a running event loop (so
SDK code may call them from `async def main()`); give them a store that is not tied to one
event loop (the default store, a URL, `MemoryStore`, `SQLiteStore`, `JsonlStore`).

```python
from tether import list_sessions, list_sessions_async

for info in list_sessions(limit=10):              # sync, as in the Claude Agent SDK
    print(info.session_id, info.summary)

infos = await list_sessions_async(limit=10)       # tether's async form
```

`store=` is a store object, a store URL, or None for the default store (`$TETHER_STORE_URL`,
else the SQLite file under `$TETHER_HOME`). A store opened from a URL or the default is closed
again before the helper returns. `directory` limits listings to that project; lookups by id
take the session of `directory`'s project (default: the current directory) when it holds one,
else the most recently updated one of any project (stores without `find` are looked at in that
project only). Stores are reached through `tether.sessions.capabilities.store_access`.

Unknown ids, as in the SDK: `get_session_info` returns None, `get_session_messages`,
`list_subagents` and `get_subagent_messages` return `[]`, and the mutations raise
`SessionFileNotFoundError`, which is both tether's `SessionNotFoundError` and a
`FileNotFoundError`. tether's `_async` readers raise `SessionNotFoundError` instead. Malformed
ids raise `InvalidSessionIdError` (a `ValueError`). Listing reads the stores' summaries and
never loads a transcript (unless the store keeps no summaries).

What they return is defined in `tether.sessions.session_info`, how their sync and SDK forms are
made in `tether.sessions.helper_forms`; `list_sessions_from_store` is in
`tether.sessions.store_listing`, the other store helpers in `tether.sessions.store_helpers`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from tether._vocabulary.store import SessionKey, SessionStore, SessionSummaryEntry
from tether.errors import (
    ConfigurationError,
    SessionNotFoundError,
    is_uuid,
    session_file_not_found,
)
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.entries import active_chain, full_chain, make_meta_entry, new_uuid
from tether.sessions.helper_forms import or_empty, or_none, sdk_paging, sync_helper
from tether.sessions.keys import (
    project_key_for_directory,
    project_key_for_real_path,
    strip_invisible,
    validate_session_id,
)
from tether.sessions.session_info import ForkSessionResult, SessionInfo, SessionMessage, session_info_from_summary
from tether.sessions.store import StoredSession
from tether.sessions.stored_view import read_chain_page
from tether.sessions.stores._jsonl_files import write_new_transcript
from tether.sessions.stores.transcripts import sdk_fork
from tether.sessions.urls import open_store, opened_for_caller

__all__ = [
    "ForkSessionResult",
    "SessionInfo",
    "check_fork_point",
    "SessionMessage",
    "delete_session",
    "delete_session_async",
    "fork_session",
    "fork_session_async",
    "get_session_info",
    "get_session_info_async",
    "get_session_messages",
    "get_session_messages_async",
    "get_subagent_messages",
    "get_subagent_messages_async",
    "list_sessions",
    "list_sessions_async",
    "list_subagents",
    "list_subagents_async",
    "locate_session",
    "rename_session",
    "rename_session_async",
    "session_info_from_summary",
    "session_info_or_none",
    "session_messages_or_empty",
    "subagent_messages_or_empty",
    "subagents_or_empty",
    "tag_session",
    "tag_session_async",
]

StoreSpec = SessionStore | str | None
Directory = str | os.PathLike[str] | None
_PAGE = 200
_T = TypeVar("_T")


@asynccontextmanager
async def _opened(store: StoreSpec) -> AsyncIterator[StoreAccess]:
    """The store for `store`, closed afterwards if it was opened here (a shared SQLite store stays open)."""
    resolved = open_store(store, shared=True)
    access = store_access(resolved)
    try:
        yield access
    finally:
        if opened_for_caller(resolved, store):
            await access.close()


def _check_page(limit: int | None, offset: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ConfigurationError(f"limit must be a non-negative integer or None, not {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ConfigurationError(f"offset must be a non-negative integer, not {offset!r}")


def _page(items: list[_T], limit: int | None, offset: int) -> list[_T]:
    return items[offset:] if limit is None else items[offset : offset + limit]


async def locate_session(
    store: SessionStore | StoreAccess, session_id: str, directory: Directory = None
) -> StoredSession:
    """Where `session_id` lives and its summary: the project of `directory` (default: the current
    directory) if it holds one, else the newest match of any project (a store without `find` is
    looked at in that project only). Raises `SessionFileNotFoundError` if nowhere."""
    access = store_access(store)
    try:
        return await access.locate(session_id, project_key_for_directory(directory))
    except SessionNotFoundError as error:
        where = "" if access.can("find") else f"looked in the project of {str(directory or os.getcwd())!r}"
        raise session_file_not_found(error.session_id, where) from None


def _info_of_entry(entry: SessionSummaryEntry, project_key: str | None) -> SessionInfo:
    return session_info_from_summary(
        entry["session_id"], entry["mtime"], entry["data"], entry.get("project_key", project_key)
    )


# -- listing ----------------------------------------------------------------------------------


async def _worktrees(directory: str | os.PathLike[str]) -> list[str]:
    """The paths of the git worktrees of the repository holding `directory` (none outside git)."""
    command = ["git", "-C", os.fspath(directory), "worktree", "list", "--porcelain"]
    try:
        done = await anyio.run_process(command, check=False)
    except OSError:  # no git
        return []
    if done.returncode != 0:
        return []
    lines = done.stdout.decode(errors="replace").splitlines()
    return [line.removeprefix("worktree ") for line in lines if line.startswith("worktree ")]


async def _projects(directory: Directory, include_worktrees: bool) -> dict[str | None, str | None]:
    """The projects a listing covers, each key with its directory's real path: all (None), the
    directory's, and its worktrees' if asked."""
    if directory is None:
        return {None: None}
    paths = [os.fspath(directory), *(await _worktrees(directory) if include_worktrees else [])]
    projects: dict[str | None, str | None] = {}
    for path in paths:
        real = os.path.realpath(path)  # noqa: ASYNC240  # a path's text, as project_key_for_directory
        projects.setdefault(project_key_for_real_path(real), real)
    return projects


def _newest_first(infos: Iterable[SessionInfo]) -> list[SessionInfo]:
    unique = {(info.project_key, info.session_id): info for info in infos}
    return sorted(unique.values(), key=lambda info: (info.last_modified, info.session_id), reverse=True)


async def _list_project(access: StoreAccess, project_key: str | None, wanted: int | None) -> list[SessionInfo]:
    """Up to `wanted` sessions of a project (all projects when None), newest first, page after page."""
    infos: list[SessionInfo] = []
    cursor: str | None = None
    while wanted is None or len(infos) < wanted:
        size = _PAGE if wanted is None else min(_PAGE, wanted - len(infos))
        page = await access.list_page(project_key, limit=max(size, 1), cursor=cursor)
        infos.extend(_info_of_entry(item, project_key) for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return infos


async def list_sessions_async(
    directory: Directory = None,
    limit: int | None = None,
    offset: int = 0,
    include_worktrees: bool = True,
    *,
    store: StoreSpec = None,
) -> list[SessionInfo]:
    """Sessions newest first: of the project at `directory`, or of every project when None.

    With `include_worktrees` (and a `directory` inside a git repository), the sessions of the
    repository's other worktrees are listed too, as in the Claude SDK. `offset` skips that many
    sessions, `limit` caps how many are returned.
    """
    _check_page(limit, offset)
    wanted = None if limit is None else offset + limit
    projects = await _projects(directory, include_worktrees)
    async with _opened(store) as opened:
        infos = [info for key in projects for info in await _list_project(opened, key, wanted)]
    if len(projects) > 1:
        infos = _newest_first(infos)
    page = _page(infos, limit, offset)
    for info in page if directory is not None else ():
        info.cwd = info.cwd or projects.get(info.project_key)  # the SDK's fallback: the project's directory
    return page


# -- readers ----------------------------------------------------------------------------------


async def get_session_info_async(
    session_id: str, directory: Directory = None, *, store: StoreSpec = None
) -> SessionInfo:
    """What the store knows of one session, without loading its transcript."""
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
    if found.summary.get("is_sidechain") is True:  # a subagent's transcript, not a session (as the SDK reads it)
        raise SessionNotFoundError(session_id)
    info = session_info_from_summary(found.key["session_id"], found.mtime, found.summary, found.key["project_key"])
    info.skipped_entries = found.skipped_entries
    return info


def _session_messages(
    entries: list[dict[str, Any]], session_id: str, *, full_history: bool = False
) -> list[SessionMessage]:
    chain = full_chain(entries) if full_history else active_chain(entries)
    return [message for _, message in chain_messages(chain, session_id)]


def chain_messages(chain: list[dict[str, Any]], session_id: str) -> list[tuple[int, SessionMessage]]:
    """The `SessionMessage`s of a chain of entries, each with its entry's position in the chain."""
    messages: list[tuple[int, SessionMessage]] = []
    for position, entry in enumerate(chain):
        kind = entry.get("type")
        message = entry.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict):
            continue
        if entry.get("isMeta") or entry.get("isSidechain") or entry.get("teamName"):
            continue
        item = SessionMessage(
            type="user" if kind == "user" else "assistant",
            uuid=str(entry["uuid"]),
            session_id=session_id,
            message=message,
            parent_tool_use_id=entry.get("parent_tool_use_id"),
        )
        messages.append((position, item))
    return messages


async def get_session_messages_async(
    session_id: str,
    directory: Directory = None,
    limit: int | None = None,
    offset: int = 0,
    *,
    store: StoreSpec = None,
    full_history: bool = False,
) -> list[SessionMessage]:
    """The user and assistant messages of the session's active branch, oldest first.

    Parallel tool calls and their results stay together (see `entries.active_chain`).
    `offset` and `limit` slice that list. After a compaction the branch starts at its summary
    (what the model is sent); with `full_history=True` it holds what each compaction replaced
    instead, the whole conversation (see `entries.full_chain`).
    """
    _check_page(limit, offset)
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        stored = None if full_history else await opened.load_texts(found.key)
        page = None if stored is None else read_chain_page(stored, limit, offset)  # only the page decoded
        entries = None if page is not None else await opened.load(found.key)
    if page is not None:
        return [message for _, message in chain_messages(page, found.key["session_id"])]
    if entries is None:
        raise session_file_not_found(session_id)
    return _page(_session_messages(entries, found.key["session_id"], full_history=full_history), limit, offset)


def _agent_ids(subpaths: Iterable[str]) -> list[str]:
    """The subagent ids of `subagents/.../agent-<id>` subpaths, in order, once each."""
    ids: dict[str, None] = {}
    for subpath in subpaths:
        name = subpath.rsplit("/", 1)[-1]
        if subpath.startswith("subagents/") and name.startswith("agent-"):
            ids[name.removeprefix("agent-")] = None
    return list(ids)


def _check_subkeys(access: StoreAccess) -> None:
    if not access.can("list_subkeys"):
        raise ConfigurationError(f"{access.name} does not implement list_subkeys, so it cannot list sub-transcripts")


async def _parent_key(access: StoreAccess, session_id: str, directory: Directory, main_required: bool) -> SessionKey:
    """The key of the session whose subagents are asked for. Unless `main_required`, a session
    whose main transcript is not stored (only its subagents' are) is taken in `directory`'s project,
    as the SDK's subagent helpers read subkeys without looking for the main transcript."""
    try:
        return (await locate_session(access, session_id, directory)).key
    except SessionNotFoundError:
        if main_required:
            raise
        return SessionKey(project_key=project_key_for_directory(directory), session_id=validate_session_id(session_id))


async def list_subagents_async(
    session_id: str, directory: Directory = None, *, store: StoreSpec = None, main_required: bool = True
) -> list[str]:
    """The ids of the session's subagents (whose transcripts are `subagents/.../agent-<id>` subkeys).

    The store must be able to list subkeys (`ConfigurationError` otherwise, whatever the id).
    `main_required=False`: a session of which only subagent transcripts are stored is read too.
    """
    async with _opened(store) as opened:
        _check_subkeys(opened)
        key = await _parent_key(opened, session_id, directory, main_required)
        return _agent_ids(await opened.list_subkeys(key))


async def _subagent_key(access: StoreAccess, key: SessionKey, agent_id: str) -> SessionKey | None:
    """The key of the subagent's transcript (found among the subkeys when the store lists them)."""
    if not agent_id:
        return None
    subpath: str | None = f"subagents/agent-{agent_id}"
    if access.can("list_subkeys"):
        wanted = f"agent-{agent_id}"
        subkeys = await access.list_subkeys(key)
        subpath = next((s for s in subkeys if s.startswith("subagents/") and s.rsplit("/", 1)[-1] == wanted), None)
    if subpath is None:
        return None
    return SessionKey(project_key=key["project_key"], session_id=key["session_id"], subpath=subpath)


def _subagent_messages(entries: list[dict[str, Any]], session_id: str) -> list[SessionMessage]:
    """A subagent transcript's messages, each with the parent ids of its `agent_metadata` entry."""
    meta: dict[str, Any] = next((e for e in reversed(entries) if e.get("type") == "agent_metadata"), {})
    tool_use_id, parent_agent_id = meta.get("toolUseId"), meta.get("parentAgentId")
    said = [e for e in entries if e.get("type") in ("user", "assistant") and e.get("uuid")]
    if not said:
        return []
    return [
        SessionMessage(
            type="user" if entry["type"] == "user" else "assistant",
            uuid=str(entry["uuid"]),
            session_id=session_id,
            message=entry["message"],
            parent_tool_use_id=tool_use_id if isinstance(tool_use_id, str) else None,
            parent_agent_id=parent_agent_id if isinstance(parent_agent_id, str) else None,
        )
        for entry in active_chain(entries, said[-1]["uuid"])
        if entry.get("type") in ("user", "assistant") and isinstance(entry.get("message"), dict)
    ]


async def get_subagent_messages_async(
    session_id: str,
    agent_id: str,
    directory: Directory = None,
    limit: int | None = None,
    offset: int = 0,
    *,
    store: StoreSpec = None,
    main_required: bool = True,
) -> list[SessionMessage]:
    """The user and assistant messages of one subagent of the session, oldest first (`[]` for an
    unknown agent id). `offset` and `limit` slice that list; `main_required` as in `list_subagents_async`."""
    _check_page(limit, offset)
    async with _opened(store) as opened:
        parent = await _parent_key(opened, session_id, directory, main_required)
        key = await _subagent_key(opened, parent, agent_id)
        entries = await opened.load(key) if key is not None else None
    return _page(_subagent_messages(entries or [], parent["session_id"]), limit, offset)


# -- mutations --------------------------------------------------------------------------------


def _meta_entry(access: StoreAccess, key: SessionKey, kind: str, **fields: Any) -> dict[str, Any]:
    """A title or tag entry for the session `key`: in a Claude Code transcript file, the line the
    SDK appends (`type`, the field, `sessionId`: no timestamp); elsewhere tether's, with its timestamp."""
    if access.transcript_path(key):
        return {"type": kind, **fields, "sessionId": key["session_id"]}
    return make_meta_entry(kind, session_id=key["session_id"], **fields)


async def rename_session_async(
    session_id: str, title: str, directory: Directory = None, *, store: StoreSpec = None
) -> None:
    """Give the session a title (appends a `custom-title` entry, as Claude Code does)."""
    if not isinstance(title, str) or not title.strip():
        raise ConfigurationError(f"a session title must be non-empty text, not {title!r}")
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        entry = _meta_entry(opened, found.key, "custom-title", customTitle=title.strip())
        await opened.append(found.key, [entry])


async def tag_session_async(
    session_id: str, tag: str | None, directory: Directory = None, *, store: StoreSpec = None
) -> None:
    """Tag the session (appends a `tag` entry, invisible characters removed as Claude Code does);
    `None` clears the tag."""
    if tag is not None and not isinstance(tag, str):
        raise ConfigurationError(f"a tag must be a string or None, not {tag!r}")
    cleaned = None if tag is None else strip_invisible(tag).strip()
    if cleaned == "":
        raise ConfigurationError(f"a tag must be non-empty text, not {tag!r} (use None to clear the tag)")
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        entry = _meta_entry(opened, found.key, "tag", tag=cleaned or "")
        await opened.append(found.key, [entry])


async def delete_session_async(session_id: str, directory: Directory = None, *, store: StoreSpec = None) -> None:
    """Delete the session and its sub-transcripts. Its forks keep their whole history; the
    workspace blobs it named that no other session names are freed."""
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        from tether.sessions.workspace.travel import free_blobs_of

        async with free_blobs_of(opened, found.key):
            await opened.delete(found.key)


async def fork_session_async(
    session_id: str,
    directory: Directory = None,
    up_to_message_id: str | None = None,
    title: str | None = None,
    *,
    store: StoreSpec = None,
    new_session_id: str | None = None,
    workspace_dir: Directory = None,
) -> ForkSessionResult:
    """Branch a new session off `session_id` (up to and including `up_to_message_id`, else all).

    With `workspace_dir` (tether's own), the source's workspace as of the fork point is written
    into that new (or empty) directory first, from the store alone (`tether.sessions.workspace`):
    run the fork there (`cwd=workspace_dir`) and each branch changes only its own files.

    Uses the store's copy-on-write `fork` (a store without one gets a copy with fresh uuids, as
    the Claude SDK makes). A Claude Code transcript (`JsonlStore`, or Claude Code's directory in the
    default store) is forked as the Claude SDK's `fork_session` does: a new file beside it, with
    fresh uuids, the fork's `sessionId` and `forkedFrom` on each entry (`transcripts.sdk_fork`).
    The fork is titled `title`, else "<source title> (fork)". Returns the
    new session's id.
    """
    new_id = validate_session_id(new_session_id) if new_session_id else new_uuid()
    async with _opened(store) as opened:
        found = await locate_session(opened, session_id, directory)
        source = found.key
        if workspace_dir is not None:
            from tether.sessions.workspace.travel import materialise_for_fork

            await materialise_for_fork(opened, source, up_to_message_id, workspace_dir)
        transcript = opened.transcript_path(source)
        if transcript:  # a Claude Code transcript: the file the Claude SDK's fork_session writes
            entries = await opened.load(source) or []
            forked = sdk_fork(entries, source["session_id"], new_id, up_to_message_id, title)
            target = Path(transcript).with_name(f"{new_id}.jsonl")
            await anyio.to_thread.run_sync(functools.partial(write_new_transcript, target, forked))
            return ForkSessionResult(new_id)
        key = SessionKey(project_key=source["project_key"], session_id=new_id)
        await opened.fork(source, key, up_to_message_id)
        base = found.summary.get("title") or found.summary.get("first_prompt") or f"session {source['session_id'][:8]}"
        name = title.strip() if title and title.strip() else f"{base} (fork)"
        await opened.append(key, [make_meta_entry("custom-title", session_id=new_id, customTitle=name)])
    return ForkSessionResult(new_id)


def check_fork_point(up_to_message_id: str | None) -> None:
    """`ConfigurationError` (a `ValueError`) for an `up_to_message_id` that is not a UUID (as the SDK's forks)."""
    if up_to_message_id is not None and not (isinstance(up_to_message_id, str) and is_uuid(up_to_message_id)):
        raise ConfigurationError(f"Invalid up_to_message_id {up_to_message_id!r}: a message id is a UUID")


async def _sdk_fork_session(
    session_id: str,
    directory: Directory = None,
    up_to_message_id: str | None = None,
    title: str | None = None,
    *,
    store: StoreSpec = None,
) -> ForkSessionResult:
    """`fork_session_async` with the SDK's check of `up_to_message_id` first."""
    check_fork_point(up_to_message_id)
    return await fork_session_async(session_id, directory, up_to_message_id, title, store=store)


_info_or_none = or_none(get_session_info_async)


async def session_info_or_none(
    session_id: str, directory: Directory = None, *, store: StoreSpec = None
) -> SessionInfo | None:
    """`get_session_info_async`, as the SDK's sync and store helpers answer: None for an unknown id;
    a session of `directory`'s project without a recorded `cwd` gets the directory's."""
    info = await _info_or_none(session_id, directory, store=store)
    if info is not None and directory is not None and not info.cwd:
        path = os.path.realpath(os.fspath(directory))  # noqa: ASYNC240  # a path's text, as project_key_for_directory
        if info.project_key == project_key_for_real_path(path):
            info.cwd = path
    return info


session_messages_or_empty = sdk_paging(or_empty(get_session_messages_async))


async def _sdk_list_subagents(session_id: str, directory: Directory = None, *, store: StoreSpec = None) -> list[str]:
    """`list_subagents_async` as the SDK reads: a session of which only subagents are stored too."""
    return await list_subagents_async(session_id, directory, store=store, main_required=False)


async def _sdk_subagent_messages(
    session_id: str,
    agent_id: str,
    directory: Directory = None,
    limit: int | None = None,
    offset: int = 0,
    *,
    store: StoreSpec = None,
) -> list[SessionMessage]:
    """`get_subagent_messages_async` as the SDK reads: a session of which only subagents are stored too."""
    return await get_subagent_messages_async(
        session_id, agent_id, directory, limit, offset, store=store, main_required=False
    )


subagents_or_empty = or_empty(_sdk_list_subagents)
subagent_messages_or_empty = sdk_paging(or_empty(_sdk_subagent_messages))


# -- the Claude SDK's sync helpers ----------------------------------------------------------------

list_sessions = sync_helper(sdk_paging(list_sessions_async), "list_sessions")
get_session_info = sync_helper(session_info_or_none, "get_session_info")
get_session_messages = sync_helper(session_messages_or_empty, "get_session_messages")
list_subagents = sync_helper(subagents_or_empty, "list_subagents")
get_subagent_messages = sync_helper(subagent_messages_or_empty, "get_subagent_messages")
rename_session = sync_helper(rename_session_async, "rename_session")
tag_session = sync_helper(tag_session_async, "tag_session")
delete_session = sync_helper(delete_session_async, "delete_session")
fork_session = sync_helper(_sdk_fork_session, "fork_session")
