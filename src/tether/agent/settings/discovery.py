"""What the setting sources' files say, read once per process and re-read when they change.

Every query reads the settings files of its sources, the CLAUDE.md files of its directory and each
one above it, and the agents, commands and skills directories: with `setting_sources=None` (all
of them, as in the SDK) that was more than half of a query's time to its first message. The
parsed result is kept per (working directory, sources, config directory) with a signature of
what the reading consulted: the `(mtime_ns, size)` of every candidate file and directory, the
missing ones included (as missing), and of the memory files read. A later query stats the same
paths (nothing else) and re-reads when anything differs: a file edited, added or removed between
two queries is seen (a directory's own stamp changes when an entry is added or removed). A file
rewritten with the same size within the filesystem's timestamp granularity is not.

Most candidates are missing (a CLAUDE.md in every directory above the project...). A missing path
is watched through its nearest existing directory, stamped before the reading (a `_Guard`): while
that stamp stays the same, no entry was added there, so the path is still missing, and one `stat`
answers for all the missing paths under it. When the directory changed (a busy one, like `/tmp`),
its missing paths are stat'ed one by one, as before. A directory changed too recently for its
timestamp to tell a later change apart (`SETTLE_NS`) is no guard: its missing paths are watched
one by one.

An `@path` import of a CLAUDE.md whose target did not exist is not watched: creating that target
is seen once the importing file (or any other watched one) changes.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tether._vocabulary.options import AgentDefinition
from tether.agent.settings._files import read_json_object
from tether.agent.settings.agents import load_agents
from tether.agent.settings.commands import PromptCommand, Skill, load_commands, load_skills
from tether.agent.settings.memory import MemoryFile, memory_candidates, memory_files
from tether.agent.settings.settings_file import SettingsFile

__all__ = ["SETTINGS_FILES", "Discovered", "DiscoveryCache", "discovery_cache"]

SETTINGS_FILES = {"user": "settings.json", "project": "settings.json", "local": "settings.local.json"}
"""The settings file of each source, in its directory (`~/.claude` for `user`, else `<cwd>/.claude`)."""
MAX_ENTRIES = 64
"""Directories (with their sources) kept; the least recently used goes first."""

Stamp = tuple[int, int]
"""`(mtime_ns, size)` of a consulted path; `MISSING` for one that does not exist."""
MISSING: Stamp = (-1, -1)
SETTLE_NS = 50_000_000
"""How old a directory's timestamp must be for it to guard missing paths: more than the kernel's
timestamp clock step (a jiffy, at most 10 ms), so a later change gives another timestamp. A
timestamp of whole seconds (a filesystem counting seconds) must be `COARSE_SETTLE_NS` old."""
COARSE_SETTLE_NS = 2_000_000_000


@dataclass(frozen=True)
class Discovered:
    """What the files of the setting sources define (the caller copies the containers it changes)."""

    files: list[SettingsFile] = field(default_factory=list)
    memory: list[MemoryFile] = field(default_factory=list)
    agents: dict[str, AgentDefinition] = field(default_factory=dict)
    commands: dict[str, PromptCommand] = field(default_factory=dict)
    skills: dict[str, Skill] = field(default_factory=dict)


@dataclass
class _Guard:
    """A directory that existed when its `missing` paths did not (its nearest existing ancestor)."""

    directory: str
    stamp: Stamp
    missing: tuple[str, ...]
    """The missing paths it answers for, and the missing directories between them and it."""

    def holds(self) -> bool:
        """Whether every `missing` path still is: the directory unchanged, else each one stat'ed."""
        now = _stamp(self.directory)
        if now == self.stamp:
            return True
        if now == MISSING or any(_stamp(path) != MISSING for path in self.missing):
            return False
        if _settled(now):  # changed for something else (another file of /tmp): this is its stamp now
            self.stamp = now
        return True


@dataclass(frozen=True)
class _Entry:
    paths: tuple[str, ...]
    """What the reading consulted (its candidates and the trees it listed), the memory files read last;
    without the missing paths a guard answers for."""
    stamps: tuple[Stamp, ...]
    guards: tuple[_Guard, ...]
    discovered: Discovered

    def unchanged(self) -> bool:
        return tuple(map(_stamp, self.paths)) == self.stamps and all(guard.holds() for guard in self.guards)


class DiscoveryCache:
    """The parsed setting sources of the process, by (cwd, sources, config directory)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, tuple[str, ...], str], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.reads = 0
        """How many times the files were read and parsed (a cache miss); tests watch it."""

    def get(self, sources: tuple[str, ...], cwd: Path, config_dir: Path) -> Discovered:
        """What the files of `sources` define for `cwd`, read again only if a consulted path changed."""
        key = (str(cwd), sources, str(config_dir))
        with self._lock:
            kept = self._entries.get(key)
        if kept is not None and kept.unchanged():
            with self._lock:
                self._entries.move_to_end(key)
            return kept.discovered
        consulted = tuple(_consulted(sources, cwd, config_dir))
        stamps = tuple(map(_stamp, consulted))  # before reading: a change while reading is seen next time
        paths, stamps, guards = _guarded(consulted, stamps)
        discovered = _read(sources, cwd, config_dir)  # errors are raised, and nothing is kept
        imported = tuple(str(memory.path) for memory in discovered.memory)
        entry = _Entry(paths + imported, stamps + tuple(map(_stamp, imported)), guards, discovered)
        with self._lock:
            self.reads += 1
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return discovered

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


discovery_cache = DiscoveryCache()
"""The process's cache (`ClaudeSettings.load` reads through it)."""


def _directories(cwd: Path, config_dir: Path) -> dict[str, Path]:
    return {"user": config_dir, "project": cwd / ".claude", "local": cwd / ".claude"}


def _read(sources: tuple[str, ...], cwd: Path, config_dir: Path) -> Discovered:
    directories = _directories(cwd, config_dir)
    discovered = Discovered()
    for source in sources:
        path = directories[source] / SETTINGS_FILES[source]
        if path.is_file():
            discovered.files.append(SettingsFile.parse(read_json_object(path), str(path)))
    discovered.memory.extend(memory_files(sources, cwd, config_dir))
    for source in ("user", "project"):
        if source in sources:
            base = directories[source]
            discovered.agents.update(load_agents(base / "agents"))
            discovered.commands.update((c.name, c) for c in load_commands(base / "commands"))
            discovered.skills.update((s.name, s) for s in load_skills(base / "skills"))
    return discovered


def _consulted(sources: tuple[str, ...], cwd: Path, config_dir: Path) -> Iterator[str]:
    """Every path whose change could change what `_read` returns (memory imports aside)."""
    directories = _directories(cwd, config_dir)
    for source in sources:
        yield str(directories[source] / SETTINGS_FILES[source])
    for path, _ in memory_candidates(sources, cwd, config_dir):
        yield str(path)
    for source in ("user", "project"):
        if source in sources:
            base = str(directories[source])
            yield from _tree(os.path.join(base, "agents"), depth=1)
            yield from _tree(os.path.join(base, "commands"), depth=None)
            yield from _tree(os.path.join(base, "skills"), depth=2)


def _tree(directory: str, depth: int | None) -> Iterator[str]:
    """`directory` and what is in it, `depth` levels down (None: all of them)."""
    yield directory
    if depth == 0:
        return
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:  # missing, or not a directory: its own stamp says so
        return
    for entry in entries:
        if entry.is_dir():
            yield from _tree(entry.path, None if depth is None else depth - 1)
        else:
            yield entry.path


def _stamp(path: str) -> Stamp:
    try:
        status = os.stat(path)
    except OSError:
        return MISSING
    return (status.st_mtime_ns, status.st_size)


def _settled(stamp: Stamp) -> bool:
    """Whether a directory's timestamp is old enough that any later change gives another one."""
    mtime = stamp[0]
    return time.time_ns() - mtime > (COARSE_SETTLE_NS if mtime % 1_000_000_000 == 0 else SETTLE_NS)


def _guarded(
    paths: tuple[str, ...], stamps: tuple[Stamp, ...]
) -> tuple[tuple[str, ...], tuple[Stamp, ...], tuple[_Guard, ...]]:
    """`paths` and their `stamps` without the missing paths a settled directory answers for, and those
    directories (`_Guard`), stamped now; a path that appeared meanwhile stays watched itself."""
    kept: dict[str, Stamp] = {}
    under: dict[str, tuple[Stamp, set[str]]] = {}
    consulted = set(paths)
    for path, stamp in zip(paths, stamps, strict=True):
        found = _ancestor(path) if stamp == MISSING else None
        if found is None:
            kept[path] = stamp
        else:
            directory, directory_stamp, between = found
            under.setdefault(directory, (directory_stamp, set()))[1].update((path, *between))
    guards = []
    for directory, (directory_stamp, missing) in under.items():
        if all(_stamp(path) == MISSING for path in missing):  # stat'ed after their directory
            guards.append(_Guard(directory, directory_stamp, tuple(sorted(missing))))
        else:
            kept.update((path, MISSING) for path in missing if path in consulted)
    return tuple(kept), tuple(kept.values()), tuple(guards)


def _ancestor(path: str) -> tuple[str, Stamp, tuple[str, ...]] | None:
    """The nearest existing directory above the missing `path`, its stamp and the missing directories
    between them; None when it is not settled (or not a directory)."""
    between: list[str] = []
    directory = os.path.dirname(path)
    while True:
        try:
            status = os.stat(directory)
        except OSError:
            parent = os.path.dirname(directory)
            if parent == directory:
                return None
            between.append(directory)
            directory = parent
            continue
        stamp = (status.st_mtime_ns, status.st_size)
        return (directory, stamp, tuple(between)) if stat.S_ISDIR(status.st_mode) and _settled(stamp) else None
