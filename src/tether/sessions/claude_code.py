"""Claude Code transcripts in and out, and moving sessions between any two stores.

- `import_claude_code_sessions(source_root, target_store)`: every session under
  `<source_root>/projects/` (default `~/.claude`) into a tether store, entries verbatim: ids,
  uuids (so branches), titles, tags, cwd and timestamps are kept.
- `export_session(session_id, store, target_root)`: one session as a Claude Code transcript,
  `<target_root>/projects/<project>/<id>.jsonl`, that `claude --resume <id>` can open.
- `copy_sessions(source_store, target_store)`: every session of one store into another. A fork
  whose source is copied too becomes a fork again in a target that forks copy-on-write; anywhere
  else it is written out whole (materialised).

Sessions the target already holds are skipped, never overwritten. Copies keep each session's
project and id; the target records its own modification times (copies are made oldest first,
so "newest first" keeps its order).
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from tether._vocabulary.store import SessionKey, SessionStore, SessionSummaryEntry
from tether.errors import ConfigurationError, SessionExistsError, SessionNotFoundError
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.entries import make_meta_entry
from tether.sessions.keys import project_key_for_directory, validate_session_id
from tether.sessions.stores._jsonl_files import encode_lines
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.summary import fold_summary

__all__ = ["CopyReport", "copy_sessions", "export_session", "import_claude_code_sessions", "summary_metadata"]

_BATCH = 500
_CHAIN_DEFAULTS: dict[str, Any] = {"parentUuid": None, "isSidechain": False, "userType": "external"}


@dataclass
class CopyReport:
    """What `copy_sessions` and `import_claude_code_sessions` did, by session id."""

    copied: list[str] = field(default_factory=list)
    """Sessions written whole into the target."""
    forked: list[str] = field(default_factory=list)
    """Forks recreated as copy-on-write forks of their (copied) source."""
    skipped: list[str] = field(default_factory=list)
    """Sessions the target already held (left untouched)."""

    @property
    def total(self) -> int:
        """Sessions now in the target because of this copy."""
        return len(self.copied) + len(self.forked)


_Name = tuple[str, str]
"""`(project key, session id)`: what names a session in a store."""


def _name(item: SessionSummaryEntry) -> _Name:
    return (item.get("project_key") or "", item["session_id"])


def _origin(item: SessionSummaryEntry, known: dict[_Name, Any]) -> _Name | None:
    """The session `item` was forked from, among `known`: in its own project if there, else any."""
    origin = item["data"].get("forked_from")
    if not isinstance(origin, dict):
        return None
    source_id = str(origin.get("sessionId"))
    same_project = (item.get("project_key") or "", source_id)
    if same_project in known:
        return same_project
    return next((name for name in known if name[1] == source_id), None)


def _copy_order(items: list[SessionSummaryEntry]) -> list[SessionSummaryEntry]:
    """Oldest first, every fork after the session it was forked from."""
    by_name = {_name(item): item for item in items}
    ordered: list[SessionSummaryEntry] = []
    placed: set[_Name] = set()

    def place(item: SessionSummaryEntry, depth: int = 0) -> None:
        if _name(item) in placed:
            return
        parent = _origin(item, by_name)
        if parent is not None and depth < len(by_name):
            place(by_name[parent], depth + 1)
        placed.add(_name(item))
        ordered.append(item)

    for item in sorted(items, key=lambda i: (i["mtime"], i["session_id"])):
        place(item)
    return ordered


def _shared_prefix(fork_view: list[dict[str, Any]], parent_view: list[dict[str, Any]]) -> int:
    """How many leading entries the fork's view has in common with its parent's."""
    count = 0
    for mine, theirs in zip(fork_view, parent_view, strict=False):
        if mine != theirs:
            break
        count += 1
    return count


def summary_metadata(session_id: str, summary: dict[str, Any], view: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metadata entries that make `view` fold to the `summary`'s title and tag.

    A fork's summary starts from its source's, so a title or tag set on the source after the
    fork point shows in the fork without being among its entries; a copy written out as plain
    entries (export, or a target that cannot fork) appends them, as Claude Code re-appends its
    session metadata.
    """
    folded = fold_summary(None, view)
    extra: list[dict[str, Any]] = []
    title = summary.get("title")
    if title and folded.get("title") != title:
        kind, field_name = ("custom-title", "customTitle") if summary.get("custom_title") else ("ai-title", "aiTitle")
        extra.append(make_meta_entry(kind, session_id=session_id, **{field_name: title}))
    if (summary.get("tag") or None) != (folded.get("tag") or None):
        extra.append(make_meta_entry("tag", session_id=session_id, tag=summary.get("tag") or ""))
    return extra


async def _append_batched(store: StoreAccess, key: SessionKey, entries: list[dict[str, Any]]) -> None:
    for start in range(0, len(entries), _BATCH):
        await store.append(key, entries[start : start + _BATCH])


async def _copy_subkeys(source: StoreAccess, target: StoreAccess, key: SessionKey) -> None:
    for subpath in await source.list_subkeys(key):
        sub = SessionKey(project_key=key["project_key"], session_id=key["session_id"], subpath=subpath)
        entries = await source.load(sub)
        if entries:
            await _append_batched(target, sub, entries)


async def _copy_as_fork(
    source: StoreAccess,
    target: StoreAccess,
    item: SessionSummaryEntry,
    view: list[dict[str, Any]],
    copied: dict[_Name, SessionKey],
) -> bool:
    """Recreate a fork as a copy-on-write fork of its already-copied source; False when it cannot be."""
    parent = _origin(item, copied)
    if not target.can("fork") or parent is None:
        return False
    parent_key = copied[parent]
    parent_view = await source.load(parent_key) or []
    shared = _shared_prefix(view, parent_view)
    cut = next((i for i in range(shared - 1, -1, -1) if view[i].get("uuid")), None)
    if cut is None:
        return False
    key = SessionKey(project_key=_name(item)[0], session_id=item["session_id"])
    await target.fork(parent_key, key, view[cut]["uuid"])
    await _append_batched(target, key, view[cut + 1 :])
    return True


async def copy_sessions(
    source_store: SessionStore,
    target_store: SessionStore,
    *,
    project_key: str | None = None,
    session_ids: list[str] | None = None,
) -> CopyReport:
    """Copy every session (of `project_key`, or only `session_ids`) from one store to another.

    Entries are copied verbatim with their sub-transcripts. Forks stay forks when their source
    is part of the copy and the target forks copy-on-write; otherwise they are materialised.
    Sessions the target already has are skipped. The workspace blobs their snapshots name are
    copied too (`tether.sessions.workspace`).
    """
    source, target = store_access(source_store), store_access(target_store)
    items = await _selected(source, project_key, session_ids)
    report = CopyReport()
    copied: dict[_Name, SessionKey] = {}
    for item in _copy_order(items):
        key = SessionKey(project_key=_name(item)[0], session_id=item["session_id"])
        if await target.exists(key):
            report.skipped.append(key["session_id"])
            continue
        view = await source.load(key)
        if not view:
            continue
        await _copy_blobs(source, target, view)  # before the snapshots that name them
        if await _copy_as_fork(source, target, item, view, copied):
            report.forked.append(key["session_id"])
        else:
            extra = summary_metadata(key["session_id"], item["data"], view)
            await _append_batched(target, key, view + extra)
            report.copied.append(key["session_id"])
        await _copy_subkeys(source, target, key)
        copied[_name(item)] = key
    return report


async def _copy_blobs(source: StoreAccess, target: StoreAccess, entries: list[dict[str, Any]]) -> None:
    """The workspace blobs the entries' snapshots name, copied (the workspace modules load only here)."""
    from tether.sessions.workspace.travel import copy_workspace_blobs

    await copy_workspace_blobs(source, target, entries)


async def _selected(
    source: StoreAccess, project_key: str | None, session_ids: list[str] | None
) -> list[SessionSummaryEntry]:
    """The summaries of the sessions to copy; `SessionNotFoundError` for a wanted id the source lacks."""
    wanted = {validate_session_id(s) for s in session_ids} if session_ids is not None else None
    items = [item async for item in source.summaries(project_key) if wanted is None or item["session_id"] in wanted]
    missing = (wanted or set()) - {item["session_id"] for item in items}
    if missing:
        raise SessionNotFoundError(sorted(missing)[0], "in the source store")
    return items


async def import_claude_code_sessions(
    source_root: str | os.PathLike[str] | None,
    target_store: SessionStore,
    *,
    directory: str | os.PathLike[str] | None = None,
    session_ids: list[str] | None = None,
) -> CopyReport:
    """Import Claude Code sessions (from `<source_root>/projects`, default `~/.claude`) into a store.

    `directory` limits the import to that project; `session_ids` to those sessions. Ids,
    uuids, branches, titles, tags, cwd and timestamps are kept as they are on disk.
    """
    source = JsonlStore(source_root if source_root is not None else "~/.claude")
    root = source.root
    if not await anyio.Path(source.projects).is_dir():
        raise ConfigurationError(f"{str(root)!r} has no projects/ directory: is it a Claude Code config directory?")
    project_key = project_key_for_directory(directory) if directory is not None else None
    return await copy_sessions(source, target_store, project_key=project_key, session_ids=session_ids)


def _claude_code_entry(entry: dict[str, Any], session_id: str) -> dict[str, Any]:
    """An entry with the fields the Claude Code CLI expects, `sessionId` set to the exported session's."""
    out = dict(entry)
    if "sessionId" in out or entry.get("uuid"):
        out["sessionId"] = session_id
    if entry.get("uuid"):
        for name, default in _CHAIN_DEFAULTS.items():
            out.setdefault(name, default)
        out.setdefault("cwd", "")
        out.setdefault("version", "")
        out.setdefault("timestamp", "")
    return out


def _write_atomically(path: Path, data: bytes, *, overwrite: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() and not overwrite:
        raise SessionExistsError(path.stem)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def export_session(
    session_id: str,
    store: SessionStore,
    target_root: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a session as a Claude Code transcript under `<target_root>/projects/` (default `~/.claude`).

    Every entry of the session's view is written (so all its branches), with `sessionId` set to
    `session_id` (a fork's inherited entries name its source) and the chain fields Claude Code
    reads filled in. Sub-transcripts go under `<id>/`; workspace blobs under
    `<target_root>/tether-blobs/`. Returns the path of the main file; an
    existing file is replaced only with `overwrite=True`.
    """
    access = store_access(store)
    found = await access.locate(session_id, project_key_for_directory())
    key = found.key
    entries = await access.load(key)
    if entries is None:
        raise SessionNotFoundError(session_id)
    target = JsonlStore(target_root if target_root is not None else "~/.claude")
    path = target.path_of(key)
    sid = key["session_id"]
    entries += summary_metadata(sid, found.summary, entries)
    await _copy_blobs(access, store_access(target), entries)  # beside the transcripts
    data = encode_lines([_claude_code_entry(e, sid) for e in entries])
    await anyio.to_thread.run_sync(functools.partial(_write_atomically, path, data, overwrite=overwrite))
    for subpath in await access.list_subkeys(key):
        sub = SessionKey(project_key=key["project_key"], session_id=sid, subpath=subpath)
        sub_entries = await access.load(sub) or []
        # Sidechain entries name their parent session, which is this one.
        data = encode_lines([_claude_code_entry(e, sid) for e in sub_entries])
        write = functools.partial(_write_atomically, target.path_of(sub), data, overwrite=overwrite)
        await anyio.to_thread.run_sync(write)
    return path
