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


_StatKey = tuple[int, int, int, int]
"""A file's (mtime_ns, size, inode, st_mode): while it stays the same, the file is not read again."""
_Cached = tuple[_StatKey, Node]
"""What the index knows of a file: its stat key when it was read, and its node."""
_Checks = list[tuple[str, "pathspec.GitIgnoreSpec"]]
"""The ignore rules in force in a directory: (directory they apply from, spec), outermost first."""


@dataclass
class _Directory:
    """What the last walk learned of one directory, valid while its ignore rules are the same
    objects: which names the rules leave out, and its unchanged-file candidates (name -> stat key
    and path; path -> node), so a file whose stat key still matches costs one lookup and no object."""

    checks: _Checks
    ignored_files: dict[str, bool] = field(default_factory=dict)
    ignored_directories: dict[str, bool] = field(default_factory=dict)
    known: dict[str, tuple[_StatKey, str]] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)

    def valid_for(self, checks: _Checks) -> bool:
        return len(checks) == len(self.checks) and all(
            mine[1] is theirs[1] and mine[0] == theirs[0] for mine, theirs in zip(self.checks, checks, strict=True)
        )

    def take_unchanged(self, children: list[os.DirEntry[str]], tree: Tree) -> list[os.DirEntry[str]]:
        """Put the known files whose stat key still matches into `tree`; return the other children."""
        known = self.known
        if not known:
            return children
        rest = []
        for child in children:
            cached = known.get(child.name)
            if cached is None:
                rest.append(child)
                continue
            info = child.stat(follow_symlinks=False)
            if cached[0] != (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode):
                rest.append(child)
        if len(children) - len(rest) != len(known):  # some known file went away or changed
            present = {child.name for child in children}.difference(child.name for child in rest)
            for name in [name for name in known if name not in present]:
                self.nodes.pop(known.pop(name)[1], None)
        tree.update(self.nodes)
        return rest

    def remember(self, name: str, path: str, key: _StatKey, cached: _Cached | None) -> None:
        """Record the file `name` as a candidate when the index holds its node for `key`, else forget it."""
        if cached is not None and cached[0] == key:
            self.known[name] = (key, path)
            self.nodes[path] = cached[1]
        elif self.known.pop(name, None) is not None:
            self.nodes.pop(path, None)


class Scanner:
    """Scans one root again and again; files whose size, mtime and inode did not change since the
    last scan are not read again. With `index_file`, that index outlives the process (kept there,
    owner-only, once a scan indexed many files anew), so a new process does not read them all again."""

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
        self._unsaved = 0  # files indexed anew since the index was last saved
        self._walked: set[str] = set()
        self._gitignores: dict[str, tuple[_StatKey, pathspec.GitIgnoreSpec]] = {}
        self._directories: dict[str, _Directory] = {}

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
        walked = self._walked = set()
        self._walk(str(self.root), "", [], scan, started)
        if len(walked) != len(self._directories):  # forget the directories gone since the last walk
            self._directories = {relative: self._directories[relative] for relative in walked}
        if self.index_file is not None and self._unsaved >= _SAVE_AFTER_INDEXED:
            _write_index(self.index_file, self.root, self._index)
            self._unsaved = 0
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

    def _gitignore_of(self, directory: Path | str) -> pathspec.GitIgnoreSpec | None:
        """The rules of `directory`'s `.gitignore` (parsed again only when that file changed)."""
        path = os.path.join(directory, ".gitignore")
        try:
            info = os.stat(path)
        except OSError:
            self._gitignores.pop(path, None)
            return None
        key = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode)
        known = self._gitignores.get(path)
        if known is not None and known[0] == key:
            return known[1]
        try:
            with open(path, encoding="utf-8", errors="replace") as file:
                spec = self._spec.from_lines(file.read().splitlines())
        except OSError:
            return None
        if time.time_ns() - info.st_mtime_ns > _RACY_NS:
            self._gitignores[path] = (key, spec)
        return spec

    def _directory(self, relative: str, checks: _Checks) -> _Directory:
        """What the last walk learned of directory `relative` (forgotten when its rules changed)."""
        self._walked.add(relative)
        known = self._directories.get(relative)
        if known is None or not known.valid_for(checks):
            known = self._directories[relative] = _Directory(checks)
        return known

    def _walk(
        self,
        directory: str,
        relative: str,
        specs: _Checks,
        scan: Scan,
        started: int,
    ) -> None:
        own = self._gitignore_of(directory) if self.gitignore else None
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
        memo = self._directory(relative, checks)
        for child in memo.take_unchanged(children, tree):  # the hot path: files unchanged since the last walk
            name = child.name
            if name == ".git":
                continue
            path = prefix + name
            is_dir = child.is_dir(follow_symlinks=False)
            if checks and _ignored(memo, checks, name, path, is_dir):
                scan.skipped.append(path + "/" if is_dir else path)
            elif is_dir:
                self._walk(child.path, path, active, scan, started)
            else:
                info = child.stat(follow_symlinks=False)
                key = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode)
                cached = index.get(path)
                if cached is not None and cached[0] == key:
                    tree[path] = cached[1]
                else:
                    self._add(child.path, path, info, scan, started)
                    cached = index.get(path)
                memo.remember(name, path, key, cached)

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
        key = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_mode)
        cached = self._index.get(relative)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError:
            return None
        node = Node("f", hashlib.sha256(data).hexdigest(), stat.S_IMODE(info.st_mode), len(data))
        scan.contents[node.hash] = data
        if started - info.st_mtime_ns > _RACY_NS and len(data) == info.st_size:
            self._index[relative] = (key, node)
            self._unsaved += 1
        else:
            self._index.pop(relative, None)
        return node


_SAVE_AFTER_INDEXED = 64
"""A full scan saves the index once at least this many files were indexed anew since it was last
saved (fewer are cheap to read again; files read again only because they were modified moments
ago are not indexed, so a burst of edits does not rewrite the whole index at every scan)."""


def _read_index(path: Path | None, root: Path) -> dict[str, _Cached]:
    """The index saved for `root` (nothing when there is none, or it is damaged: files are read again)."""
    if path is None:
        return {}
    try:
        saved = json.loads(path.read_bytes())
        if saved.get("root") != str(root):
            return {}
        return {
            relative: ((int(m), int(s), int(i), int(st)), Node("f", str(h), int(mode), int(size)))
            for relative, (m, s, i, st, h, mode, size) in saved["files"].items()
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _write_index(path: Path, root: Path, index: Mapping[str, _Cached]) -> None:
    """Save the index atomically, owner-only; a failure only costs reads next time."""
    files = {rel: [*key, node.hash, node.mode, node.size] for rel, (key, node) in index.items()}
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


def _ignored(memo: _Directory, checks: _Checks, name: str, path: str, is_dir: bool) -> bool:
    """Whether the rules `checks` leave out `path` (named `name` in its directory), remembered in `memo`."""
    known = memo.ignored_directories if is_dir else memo.ignored_files
    ignored = known.get(name)
    if ignored is None:
        ignored = known[name] = any(_matches(spec, base, path, is_dir) for base, spec in checks)
    return ignored


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
