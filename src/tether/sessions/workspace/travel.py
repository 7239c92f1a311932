"""What carries a workspace with its session: materialising a snapshot into a new directory (a fork's
own working directory, or a checkout on another machine), copying the blobs a session names to
another store, and freeing the blobs no session names any more. All of it reads the store alone.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError, SessionNotFoundError
from tether.sessions.capabilities import StoreAccess
from tether.sessions.workspace.snapshots import BLOB_BATCH, Manifests, held_blobs, referenced_blobs
from tether.sessions.workspace.tree import Tree, apply_tree

__all__ = [
    "copy_workspace_blobs",
    "free_unreferenced_blobs",
    "free_blobs_of",
    "materialise",
    "materialise_for_fork",
    "materialise_session",
]


async def materialise(
    access: StoreAccess, entries: Iterable[Mapping[str, Any]], at_uuid: str | None, target: str | os.PathLike[str]
) -> Path | None:
    """Write the workspace as of message `at_uuid` (None: the latest snapshot) of a session whose
    entries are `entries` into the directory `target`, which must be missing or empty. Returns the
    directory, or None when the session has no snapshot (nothing is created then).

    `EntryNotFoundError` for an unknown `at_uuid`; `ConfigurationError` for a non-empty target;
    `StoreError` when the store lacks a blob (checked before anything is written)."""
    listed = list(entries)
    manifests = Manifests(listed, access.name)
    session_id = next((str(e["sessionId"]) for e in listed if isinstance(e.get("sessionId"), str)), "")
    snapshot = manifests.at(at_uuid, session_id)
    if snapshot is None:
        return None
    tree = manifests.tree(snapshot)
    root = await anyio.to_thread.run_sync(_empty_directory, Path(target))
    blobs = await held_blobs(access, (node.hash for node in tree.values() if node.kind == "f"))
    await anyio.to_thread.run_sync(_write_tree, root, tree, blobs)
    return root


def _empty_directory(target: Path) -> Path:
    root = target.expanduser().resolve()
    if root.exists() and (not root.is_dir() or _has_children(root)):
        raise ConfigurationError(f"cannot materialise the workspace into {str(root)!r}: it exists and is not empty")
    return root


def _has_children(directory: Path) -> bool:
    with os.scandir(directory) as children:
        return any(children)


def _write_tree(root: Path, tree: Tree, blobs: Mapping[str, bytes]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    apply_tree(root, {}, tree, blobs)


async def materialise_session(
    access: StoreAccess, session_id: str, project_key: str | None, at_uuid: str | None, target: str | os.PathLike[str]
) -> Path | None:
    """`materialise` for the stored session `session_id` (found as `StoreAccess.locate` finds it)."""
    found = await access.locate(session_id, project_key)
    entries = await access.load(found.key)
    if entries is None:
        raise SessionNotFoundError(session_id)
    return await materialise(access, entries, at_uuid, target)


async def materialise_for_fork(
    access: StoreAccess, source: SessionKey, at_uuid: str | None, target: str | os.PathLike[str]
) -> Path:
    """`materialise` for a fork of the session `source`; `ConfigurationError` when it has no snapshot."""
    root = await materialise(access, await access.load(source) or [], at_uuid, target)
    if root is None:
        raise ConfigurationError(
            f"session {source['session_id']} has no workspace snapshot to write into {str(target)!r} "
            "(run it with workspace_snapshots=True)"
        )
    return root


@asynccontextmanager
async def free_blobs_of(access: StoreAccess, key: SessionKey) -> AsyncIterator[None]:
    """Around the deletion of the session `key`: then free the blobs it named that no other session names."""
    named = referenced_blobs(await access.load(key) or [])
    yield
    if named:
        await free_unreferenced_blobs(access, named)


async def copy_workspace_blobs(source: StoreAccess, target: StoreAccess, entries: Iterable[Mapping[str, Any]]) -> int:
    """Copy to `target` the blobs the snapshots among `entries` name (before the entries themselves,
    so no copied snapshot names a missing blob). Returns how many the source held."""
    wanted = sorted(referenced_blobs(entries))
    copied = 0
    for start in range(0, len(wanted), BLOB_BATCH):
        batch = await source.get_blobs(wanted[start : start + BLOB_BATCH])
        await target.put_blobs(batch)
        copied += len(batch)
    return copied


async def free_unreferenced_blobs(
    access: StoreAccess, candidates: Iterable[str] | None = None, *, dry_run: bool = False
) -> list[str]:
    """Delete the blobs (of `candidates`, else every blob) that no session of the store names;
    returns their addresses (with `dry_run`, only returns them).

    Reads every session of every project; a store that cannot list them all frees nothing (a blob
    kept is safe, a blob freed too early is not). A snapshot being taken meanwhile may have written
    blobs its entry does not name yet: free blobs when no agent writes to the store."""
    if not access.can("list_page"):
        return []
    pending = set(candidates) if candidates is not None else set(await access.list_blobs())
    async for item in access.summaries(None):
        if not pending:
            break
        project = item.get("project_key")
        if project is None:
            return []
        entries = await access.load({"project_key": project, "session_id": item["session_id"]}) or []
        pending -= referenced_blobs(entries)
    doomed = sorted(pending)
    if not dry_run:
        await access.delete_blobs(doomed)
    return doomed
