"""`list_sessions_from_store`: the Claude Agent SDK's listing of one project of a given store.

Its contract is in the SDK's store methods, so it follows the SDK's algorithm on them (tether's own
`list_sessions` pages through `list_page` instead, see `tether.sessions.helpers`):

- with `list_session_summaries`, one call of it and one of `list_sessions`: a summary whose
  session `list_sessions` no longer reports is dropped, a stale one (its `mtime` older than the
  listing's) and a missing one are re-folded from the session's entries (`load`), after the page is
  cut, so the loads are bounded by `limit`;
- else (or when it raises `NotImplementedError`) every session of `list_sessions` is loaded and
  folded, at most 16 loads at a time; a load that fails gives a row with an empty summary.

Subagent transcripts (sidechain sessions) and sessions with nothing to show are left out, before
the page is cut when the summary says so. `limit` of 0 or None means all, as in the SDK.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import anyio

from tether._vocabulary.store import SessionKey, SessionStore, SessionStoreListEntry, SessionSummaryEntry
from tether.errors import ConfigurationError, StoreError
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.helpers import Directory, SessionInfo, session_info_from_summary
from tether.sessions.keys import project_key_for_real_path
from tether.sessions.stores.transcripts import is_listed
from tether.sessions.summary import fold_summary

__all__ = ["list_sessions_from_store"]

LOAD_CONCURRENCY = 16
"""Loads at most at a time when summaries are folded from entries (as the SDK's)."""


@dataclass
class _Slot:
    """A listing position: a session's info, or None until its entries are loaded (gap-fill)."""

    session_id: str
    mtime: int
    info: SessionInfo | None = None


def _listed_info(item: SessionSummaryEntry, project_key: str, project_path: str) -> SessionInfo | None:
    """The row of a summary, None for a subagent's transcript or a session with nothing to show."""
    data = item["data"]
    if not is_listed(data):
        return None
    info = session_info_from_summary(item["session_id"], item["mtime"], data, project_key)
    info.cwd = info.cwd or project_path
    return info


def _project(directory: Directory) -> tuple[str, str]:
    """The real path of `directory` (default: the current directory) and its project key."""
    path = os.path.realpath(os.fspath(directory) if directory is not None else ".")
    return path, project_key_for_real_path(path)


def _not_implemented(error: StoreError) -> bool:
    return isinstance(error.__cause__, NotImplementedError)


async def _summaries(access: StoreAccess, project_key: str) -> list[SessionSummaryEntry] | None:
    """The store's own summaries, or None when it keeps none (or says so with `NotImplementedError`)."""
    summaries = access.caps.list_session_summaries
    if summaries is None:
        return None
    try:
        return list(await summaries(project_key))
    except StoreError as error:
        if _not_implemented(error):
            return None
        raise


async def _fill(access: StoreAccess, slots: list[_Slot], project_key: str, project_path: str) -> None:
    """Fold the summary of each slot from its loaded entries (16 loads at a time); a failed load
    gives an empty summary, a session with nothing to show keeps no info."""
    limiter = anyio.CapacityLimiter(LOAD_CONCURRENCY)

    async def fill_one(slot: _Slot) -> None:
        async with limiter:
            key = SessionKey(project_key=project_key, session_id=slot.session_id)
            try:
                entries = await access.caps.load(key)
            except Exception:  # the store is the user's code: one failing session does not fail the listing
                slot.info = SessionInfo(session_id=slot.session_id, summary="", last_modified=slot.mtime)
                return
        if entries:
            item = SessionSummaryEntry(session_id=slot.session_id, mtime=slot.mtime, data=fold_summary(None, entries))
            slot.info = _listed_info(item, project_key, project_path)

    async with anyio.create_task_group() as group:
        for slot in slots:
            group.start_soon(fill_one, slot)


def _cut(slots: list[_Slot], limit: int | None, offset: int) -> list[_Slot]:
    ordered = sorted(slots, key=lambda slot: slot.mtime, reverse=True)
    page = ordered[offset:] if offset > 0 else ordered
    return page[:limit] if limit else page


def _summary_slots(
    summaries: Iterable[SessionSummaryEntry],
    listing: list[SessionStoreListEntry] | None,
    project_key: str,
    project_path: str,
) -> list[_Slot]:
    """A slot per fresh summary that shows, and an empty one per listed session without a fresh summary."""
    known = None if listing is None else {item["session_id"]: item["mtime"] for item in listing}
    slots: list[_Slot] = []
    settled: set[str] = set()
    for item in summaries:
        session_id = item["session_id"]
        if known is not None and (session_id not in known or item["mtime"] < known[session_id]):
            continue  # gone from the listing, or stale: the listing's entry decides
        settled.add(session_id)
        info = _listed_info(item, project_key, project_path)
        if info is not None:
            slots.append(_Slot(session_id, item["mtime"], info))
    missing = (item for item in listing or () if item["session_id"] not in settled)
    slots.extend(_Slot(item["session_id"], item["mtime"]) for item in missing)
    return slots


async def list_sessions_from_store(
    session_store: SessionStore, directory: Directory = None, limit: int | None = None, offset: int = 0
) -> list[SessionInfo]:
    """The sessions of the project at `directory` (default: the current directory) in
    `session_store`, newest first (see the module doc). `ValueError` (`ConfigurationError`) for a
    store with neither `list_session_summaries` nor `list_sessions`."""
    project_path, project_key = _project(directory)
    access = store_access(session_store)
    list_sessions = access.caps.list_sessions
    summaries = await _summaries(access, project_key)
    if summaries is None and list_sessions is None:
        raise ConfigurationError(
            f"{access.name} implements neither list_session_summaries() nor list_sessions(): it cannot list sessions"
        )
    listing = list(await list_sessions(project_key)) if list_sessions is not None else None
    if summaries is not None:
        page = _cut(_summary_slots(summaries, listing, project_key, project_path), limit, offset)
        await _fill(access, [slot for slot in page if slot.info is None], project_key, project_path)
        return [slot.info for slot in page if slot.info is not None]
    slots = [_Slot(item["session_id"], item["mtime"]) for item in listing or ()]
    await _fill(access, slots, project_key, project_path)
    shown = [slot for slot in slots if slot.info is not None]
    return [slot.info for slot in _cut(shown, limit, offset) if slot.info is not None]
