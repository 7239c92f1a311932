"""Workspace snapshots: a session's working directory recorded in its store.

File contents are blobs (sha256-addressed, stored once per store: `StoreAccess.put_blobs`). Each
snapshot is a `workspace-snapshot` metadata entry of the session (no uuid: outside the
conversation chain, so Claude Code and the Claude SDK pass over it):

    {"type": "workspace-snapshot", "snapshotId", "parent", "messageId", "phase", "toolUseId",
     "root", "changed": {path: [kind, hash, mode, size]}, "removed": [path], "skipped": [path]}

`changed`/`removed` are the difference from the `parent` snapshot (none for the first), so a
snapshot costs what changed. `messageId` is the prompt whose turn took it, `phase` says whether
it was taken before the turn's first file-changing tool ("before") or after a tool ("after").
A snapshot's blobs are written before its entry: a process killed in between leaves blobs no
entry names (freed later), never an entry naming a missing blob.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import anyio.to_thread

from tether.errors import EntryNotFoundError, StoreError
from tether.sessions.capabilities import StoreAccess
from tether.sessions.entries import is_prompt, make_meta_entry, new_uuid
from tether.sessions.workspace.tree import Node, Scanner, Tree, apply_tree, node_from_json

__all__ = [
    "BLOB_BATCH",
    "WORKSPACE_SNAPSHOT",
    "Manifests",
    "SnapshotTaker",
    "held_blobs",
    "is_prompt",
    "referenced_blobs",
    "restore_tree",
]

WORKSPACE_SNAPSHOT = "workspace-snapshot"
"""The type of the metadata entry holding one snapshot (a tree's difference from its parent)."""

_Entry = dict[str, Any]
BLOB_BATCH = 256
"""The most blobs asked of the store at once."""


def _is_snapshot(entry: Mapping[str, Any]) -> bool:
    return entry.get("type") == WORKSPACE_SNAPSHOT and isinstance(entry.get("snapshotId"), str)


def _safe_path(relative: object) -> str:
    """`relative` if it names a path inside the root (no absolute path, no `..`), else `ValueError`."""
    if not isinstance(relative, str) or not relative:
        raise ValueError(f"a snapshot path must be non-empty text, not {relative!r}")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relative or pure.as_posix() != relative:
        raise ValueError(f"the snapshot path {relative!r} points outside the workspace")
    return relative


class Manifests:
    """The snapshots among a session's entries, each tree rebuilt from its chain of differences."""

    def __init__(self, entries: Iterable[Mapping[str, Any]], store: str = "store") -> None:
        self.entries = list(entries)
        self.store = store
        self.by_id = {e["snapshotId"]: e for e in self.entries if _is_snapshot(e)}

    def tree(self, snapshot_id: str) -> Tree:
        """The whole tree of a snapshot; `StoreError` when its chain is broken or malformed."""
        chain: list[Mapping[str, Any]] = []
        current: object = snapshot_id
        while isinstance(current, str):
            entry = self.by_id.get(current)
            if entry is None or len(chain) > len(self.by_id):
                raise StoreError(self.store, "workspace", f"snapshot {snapshot_id} has a missing or circular parent")
            chain.append(entry)
            current = entry.get("parent")
        tree: Tree = {}
        try:
            for entry in reversed(chain):
                changed, removed = entry.get("changed") or {}, entry.get("removed") or []
                for relative, node in dict(changed).items():
                    tree[_safe_path(relative)] = node_from_json(node)
                for relative in list(removed):
                    tree.pop(relative, None)
        except (ValueError, TypeError) as error:
            raise StoreError(self.store, "workspace", f"snapshot {snapshot_id} is damaged ({error})") from error
        return tree

    def latest(self) -> str | None:
        """The id of the last snapshot in store order, or None."""
        ids = list(self.by_id)
        return ids[-1] if ids else None

    def at(self, uuid: str | None, session_id: str) -> str | None:
        """The snapshot that holds the workspace as it was at message `uuid` (None: the latest):
        for a prompt, the one its turn took before its first file-changing tool; else the last
        snapshot stored before the message (else the first after it). `EntryNotFoundError` when
        the session has no message `uuid`."""
        if uuid is None:
            return self.latest()
        position = next((i for i, e in enumerate(self.entries) if e.get("uuid") == uuid), None)
        if position is None:
            raise EntryNotFoundError(session_id, uuid)
        if is_prompt(self.entries[position]):
            for entry in self.entries[position + 1 :]:
                if _is_snapshot(entry) and entry.get("messageId") == uuid and entry.get("phase") == "before":
                    return str(entry["snapshotId"])
        before = [e for e in self.entries[:position] if _is_snapshot(e)]
        if before:
            return str(before[-1]["snapshotId"])
        after = [e for e in self.entries[position:] if _is_snapshot(e)]
        return str(after[0]["snapshotId"]) if after else None


def referenced_blobs(entries: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every blob address the snapshots among `entries` name."""
    found: set[str] = set()
    for entry in entries:
        changed = entry.get("changed") if _is_snapshot(entry) else None
        if isinstance(changed, Mapping):
            found.update(n[1] for n in changed.values() if isinstance(n, list) and len(n) == 4 and n[0] == "f")
    return found


async def held_blobs(access: StoreAccess, hashes: Iterable[str]) -> dict[str, bytes]:
    """The blobs of `hashes`, read `BLOB_BATCH` at a time; `StoreError` naming how many the store lacks."""
    wanted = sorted(set(hashes))
    held: dict[str, bytes] = {}
    for start in range(0, len(wanted), BLOB_BATCH):
        held.update(await access.get_blobs(wanted[start : start + BLOB_BATCH]))
    missing = set(wanted) - held.keys()
    if missing:
        raise StoreError(access.name, "workspace", f"the store lacks {len(missing)} blob(s) of the snapshot")
    return held


async def restore_tree(blobs: StoreAccess, scanner: Scanner, target: Tree, root: Path) -> list[Path]:
    """Make `root` hold `target` exactly (files the scan sees and `target` lacks are removed).
    Every needed blob is read first: a missing one raises `StoreError` before any file is touched.
    Returns the paths written or removed."""
    current = (await anyio.to_thread.run_sync(scanner.scan)).tree
    held = await held_blobs(blobs, (n.hash for p, n in target.items() if n.kind == "f" and current.get(p) != n))
    await anyio.to_thread.run_sync(apply_tree, root, current, target, held)
    touched = (set(current) ^ set(target)) | {p for p in target if current.get(p) != target[p]}
    return [root / relative for relative in sorted(touched)]


def _changed(base: Mapping[str, Node], tree: Mapping[str, Node]) -> dict[str, Node]:
    """The paths of `tree` whose node differs from `base`'s (an unchanged file's node is usually
    the very object the last scan kept, so identity settles most of them)."""
    get = base.get
    return {path: node for path, node in tree.items() if get(path) is not node and get(path) != node}


class SnapshotTaker:
    """Takes the snapshots of one session's working directory (`root`), each a difference from the
    last one this taker knows (read from the session's entries the first time)."""

    def __init__(
        self,
        scanner: Scanner,
        blobs: StoreAccess,
        append: Callable[[list[_Entry]], Awaitable[None]],
        session_id: str,
    ) -> None:
        self.scanner = scanner
        self.blobs = blobs
        self._append = append
        self._session_id = session_id
        self._base: tuple[str | None, Tree, list[str]] | None = None
        self._lock = anyio.Lock()

    def adopt(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Start from the latest snapshot among the session's `entries` (once; later calls do nothing)."""
        if self._base is not None:
            return
        manifests = Manifests(entries, self.blobs.name)
        latest = manifests.latest()
        skipped = list(manifests.by_id[latest].get("skipped") or []) if latest else []
        self._base = (latest, manifests.tree(latest) if latest else {}, skipped)

    async def take(
        self,
        *,
        message_id: str | None,
        phase: str,
        tool_use_id: str | None = None,
        force: bool = False,
        only: Iterable[str] | None = None,
    ) -> _Entry | None:
        """Snapshot the root now: blobs, then the entry. Returns the entry, or None when nothing
        changed and not `force`. With `only`, just those relative paths are looked at."""
        async with self._lock:
            base_id, base, base_skipped = self._base or (None, {}, [])
            paths = [p for p in only if p] if only is not None and base_id is not None else None
            scan = await anyio.to_thread.run_sync(lambda: self.scanner.scan(paths, base if paths else None))
            changed = _changed(base, scan.tree)
            removed = sorted(base.keys() - scan.tree.keys())
            skipped = base_skipped if paths is not None else sorted(scan.skipped)
            if not (changed or removed or force or skipped != base_skipped):
                self._base = (base_id, base, base_skipped)
                return None
            await self.blobs.put_blobs(await self._contents(changed, scan.contents))
            entry = make_meta_entry(
                WORKSPACE_SNAPSHOT,
                session_id=self._session_id,
                snapshotId=new_uuid(),
                parent=base_id,
                messageId=message_id,
                phase=phase,
                toolUseId=tool_use_id,
                root=str(self.scanner.root),
                changed={p: n.to_json() for p, n in sorted(changed.items())},
                removed=removed,
                **({"skipped": skipped} if skipped != base_skipped else {}),
            )
            await self._append([entry])
            self._base = (entry["snapshotId"], scan.tree, skipped)
            return entry

    async def _contents(self, changed: Mapping[str, Node], read: Mapping[str, bytes]) -> dict[str, bytes]:
        """The bytes of every changed file (read again where the scan trusted its index)."""
        contents: dict[str, bytes] = {}
        for relative, node in changed.items():
            if node.kind != "f":
                continue
            data = read.get(node.hash)
            if data is None:
                data = await anyio.Path(self.scanner.root / relative).read_bytes()
                if hashlib.sha256(data).hexdigest() != node.hash:
                    raise OSError(f"{relative} changed while its snapshot was being taken")
            contents[node.hash] = data
        return contents
