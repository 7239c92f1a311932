"""A working directory as a tree of content-addressed nodes: scanning it (with a size/mtime index,
`.gitignore` and a size cap) and making a directory match a tree again. Plain blocking file
system code: callers run it in a worker thread.

A tree maps a path relative to the root (`/`-separated) to a `Node`: a regular file (sha256 of
its bytes, mode, size), a symbolic link (its target, never followed), or an empty directory
(directories holding anything are implied by their contents). `.git/` is never scanned;
`.gitignore`d paths, files over the size cap and special files are left out and listed as
skipped; a tree never names them, so making a directory match a tree never touches them.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    import pathspec

from tether.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "Node",
    "Scan",
    "Scanner",
    "Tree",
    "apply_tree",
    "index_file_for",
    "node_from_json",
]

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
"""Files larger than this are left out of snapshots unless configured otherwise (10 MiB)."""
_RACY_NS = 2_000_000_000
"""A file modified this close (ns) to a scan may change again within its mtime's granularity
unseen: its hash is not cached, so the next scan reads it again."""

NodeKind = Literal["f", "l", "d"]


class Node(NamedTuple):
    """One path of a tree: a file (`hash` its sha256), a link (`hash` holds its target) or an empty directory."""

    kind: NodeKind
    hash: str
    mode: int
    size: int

    def to_json(self) -> list[Any]:
        return [self.kind, self.hash, self.mode, self.size]


def node_from_json(value: object) -> Node:
    """A node from its manifest form `[kind, hash or target, mode, size]`; `ValueError` if malformed."""
    if not isinstance(value, list) or len(value) != 4:
        raise ValueError(f"a tree node must be [kind, hash, mode, size], not {value!r}")
    kind, digest, mode, size = value
    if kind not in ("f", "l", "d") or not isinstance(digest, str) or not isinstance(mode, int):
        raise ValueError(f"malformed tree node {value!r}")
    if not isinstance(size, int):
        raise ValueError(f"malformed tree node {value!r}")
    return Node(kind, digest, mode, size)


Tree = dict[str, Node]


@dataclass
class Scan:
    """A scan's outcome: the tree, what was left out, and the bytes of every file hashed anew."""

    tree: Tree
    skipped: list[str]
    contents: dict[str, bytes] = field(default_factory=dict)


_Cached = tuple[int, int, int, int, Node]
"""What the index knows of a file: (mtime_ns, size, inode, st_mode) when it was read, and its node."""


class Scanner:
    """Scans one root again and again; files whose size, mtime and inode did not change since the
    last scan are not read again. With `index_file`, that index outlives the process (kept there,
    owner-only, after a scan that read many files), so a new process does not read them all again."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
        ignore: Iterable[str] = (),
        gitignore: bool = True,
        index_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.index_file = Path(index_file) if index_file is not None else None
        if max_file_bytes is not None and (isinstance(max_file_bytes, bool) or max_file_bytes < 0):
            raise ConfigurationError(f"the workspace file size cap must be a number of bytes, not {max_file_bytes!r}")
        self.max_file_bytes = max_file_bytes
        self.gitignore = gitignore
        import pathspec  # imported when a workspace is first scanned, not by every query()

        self._spec = pathspec.GitIgnoreSpec
        patterns = list(ignore)
        self.extra = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.has_extra = bool(patterns)
        self._index: dict[str, _Cached] = {}
        self._index_loaded = False

    def scan(self, only: Iterable[str] | None = None, base: Mapping[str, Node] | None = None) -> Scan:
        """The tree under the root now. With `only` (relative paths) and `base`, only those paths
        are looked at and the rest is taken from `base` (for a tool that changed known files)."""
        started = time.time_ns()
        if not self._index_loaded:
            self._index_loaded = True
            self._index.update(_read_index(self.index_file, self.root))
        if only is not None and base is not None:
            return self._scan_paths(list(only), base, started)
        scan = Scan({}, [])
        self._walk(str(self.root), "", [], scan, started)
        if self.index_file is not None and len(scan.contents) >= _SAVE_AFTER_READS:
            _write_index(self.index_file, self.root, self._index)
        return scan

    def _scan_paths(self, paths: list[str], base: Mapping[str, Node], started: int) -> Scan:
        scan = Scan(dict(base), [])
        for relative in paths:
            scan.tree.pop(relative, None)
            path = self.root / relative
            if self._ignored_path(relative):
                continue
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            self._add(str(path), relative, info, scan, started)
            parent = relative.rpartition("/")[0]
            while parent and scan.tree.get(parent, Node("f", "", 0, 0)).kind == "d":
                del scan.tree[parent]  # no longer empty
                parent = parent.rpartition("/")[0]
        return scan

    def _ignored_path(self, relative: str) -> bool:
        """Whether `relative` is out of every snapshot (under `.git`, ignored at some level)."""
        parts = relative.split("/")
        if ".git" in parts:
            return True
        specs = [("", self.extra)]
        for depth in range(len(parts)):
            directory = "/".join(parts[:depth])
            spec = self._gitignore_of(self.root / directory) if self.gitignore else None
            if spec is not None:
                specs.append((directory, spec))
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            is_dir = depth < len(parts) or (self.root / prefix).is_dir()
            if any(_matches(spec, base, prefix, is_dir) for base, spec in specs):
                return True
        return False

    def _gitignore_of(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        try:
            lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        return self._spec.from_lines(lines)

    def _walk(
        self,
        directory: str,
        relative: str,
        specs: list[tuple[str, pathspec.GitIgnoreSpec]],
        scan: Scan,
        started: int,
    ) -> None:
        own = self._gitignore_of(Path(directory)) if self.gitignore else None
        active = [*specs, (relative, own)] if own is not None else specs
        checks = [("", self.extra), *active] if self.has_extra else active
        try:
            with os.scandir(directory) as listing:
                children = list(listing)
        except OSError:
            scan.skipped.append(relative + "/")
            return
        if not children and relative:
            scan.tree[relative] = Node("d", "", stat.S_IMODE(os.lstat(directory).st_mode), 0)
        prefix = relative + "/" if relative else ""
        tree, index = scan.tree, self._index
        for child in children:
            if child.name == ".git":
                continue
            path = prefix + child.name
            is_dir = child.is_dir(follow_symlinks=False)
            if checks and any(_matches(spec, base, path, is_dir) for base, spec in checks):
                scan.skipped.append(path + ("/" if is_dir else ""))
            elif is_dir:
                self._walk(child.path, path, active, scan, started)
            else:
                info = child.stat(follow_symlinks=False)
                cached = index.get(path)  # the hot path: a file unchanged since the last scan
                if cached is not None and cached[:4] == (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode):
                    tree[path] = cached[4]
                else:
                    self._add(child.path, path, info, scan, started)

    def _add(self, path: str, relative: str, info: os.stat_result, scan: Scan, started: int) -> None:
        mode = info.st_mode
        if stat.S_ISREG(mode):
            if self.max_file_bytes is not None and info.st_size > self.max_file_bytes:
                scan.skipped.append(relative)
                return
            node = self._file_node(path, relative, info, scan, started)
            if node is None:
                scan.skipped.append(relative)
            else:
                scan.tree[relative] = node
        elif stat.S_ISLNK(mode):
            scan.tree[relative] = Node("l", os.readlink(path), 0, 0)
        elif stat.S_ISDIR(mode):
            self._walk(path, relative, [], scan, started)
        else:
            scan.skipped.append(relative)

    def _file_node(self, path: str, relative: str, info: os.stat_result, scan: Scan, started: int) -> Node | None:
        cached = self._index.get(relative)
        if cached is not None and cached[:4] == (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode):
            return cached[4]
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError:
            return None
        node = Node("f", hashlib.sha256(data).hexdigest(), stat.S_IMODE(info.st_mode), len(data))
        scan.contents[node.hash] = data
        if started - info.st_mtime_ns > _RACY_NS and len(data) == info.st_size:
            self._index[relative] = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode, node)
        else:
            self._index.pop(relative, None)
        return node


_SAVE_AFTER_READS = 64
"""A scan that read at least this many files saves the index (smaller ones are cheap to redo)."""


def _read_index(path: Path | None, root: Path) -> dict[str, _Cached]:
    """The index saved for `root` (nothing when there is none, or it is damaged: files are read again)."""
    if path is None:
        return {}
    try:
        saved = json.loads(path.read_bytes())
        if saved.get("root") != str(root):
            return {}
        return {
            relative: (int(m), int(s), int(i), int(st), Node("f", str(h), int(mode), int(size)))
            for relative, (m, s, i, st, h, mode, size) in saved["files"].items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _write_index(path: Path, root: Path, index: Mapping[str, _Cached]) -> None:
    """Save the index atomically, owner-only; a failure only costs reads next time."""
    files = {rel: [m, s, i, st, node.hash, node.mode, node.size] for rel, (m, s, i, st, node) in index.items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".index.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump({"root": str(root), "files": files}, file, separators=(",", ":"))
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def index_file_for(root: str | os.PathLike[str], home: Path) -> Path:
    """Where the index of the workspace `root` is kept under tether's home directory."""
    digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:24]
    return home / "workspace-index" / f"{digest}.json"


def _matches(spec: pathspec.GitIgnoreSpec, base: str, path: str, is_dir: bool) -> bool:
    """Whether a `.gitignore` of directory `base` ignores `path` (relative to the root)."""
    if base:
        if not path.startswith(base + "/"):
            return False
        path = path[len(base) + 1 :]
    return spec.match_file(path + "/" if is_dir else path)


def apply_tree(root: Path, current: Mapping[str, Node], target: Mapping[str, Node], blobs: Mapping[str, bytes]) -> None:
    """Make the directory `root`, whose scan is `current`, hold `target`: paths only in `current`
    removed (then the directories they leave empty, unless `target` keeps them), the others written
    byte for byte with their modes. `blobs` holds the bytes of every file `target` changes."""
    kept = {relative for relative, node in target.items() if node.kind == "d"}
    kept.update(parent.as_posix() for relative in target for parent in Path(relative).parents)
    for relative in sorted(set(current) - set(target), reverse=True):
        path = root / relative
        if current[relative].kind == "d":
            _rmdir_quietly(path)
        else:
            path.unlink(missing_ok=True)
            _prune_empty(root, path.parent, kept)
    for relative, node in sorted(target.items()):
        if current.get(relative) != node:
            _write_node(root, root / relative, node, blobs)


def _write_node(root: Path, path: Path, node: Node, blobs: Mapping[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.parent.resolve().is_relative_to(root.resolve()):
        raise PermissionError(f"{path} lies behind a symbolic link out of {root}: not written")
    if node.kind == "d":
        path.mkdir(exist_ok=True)
        os.chmod(path, node.mode)
        return
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        raise IsADirectoryError(f"{path} is a directory where the snapshot has a file")
    if node.kind == "l":
        os.symlink(node.hash, path)
        return
    path.write_bytes(blobs[node.hash])
    os.chmod(path, node.mode)


def _prune_empty(root: Path, directory: Path, kept: set[str]) -> None:
    """Remove `directory` and its parents while they are empty and not `kept` (relative paths)."""
    while directory != root and root in directory.parents:
        if directory.relative_to(root).as_posix() in kept:
            return
        if not _rmdir_quietly(directory):
            return
        directory = directory.parent


def _rmdir_quietly(directory: Path) -> bool:
    try:
        directory.rmdir()
    except OSError:
        return False
    return True
