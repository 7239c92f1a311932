"""CLAUDE.md memory files, and the text they add to the system prompt.

Where Claude Code looks, by setting source:

- `user`: `~/.claude/CLAUDE.md`;
- `project`: `CLAUDE.md` and `.claude/CLAUDE.md` in the working directory and each directory
  above it (up to, not including, `/`), outermost first;
- `local`: `CLAUDE.local.md` in the same directories.

A line may import another file with `@path` (relative to the importing file, or `~/...`, or
absolute); imports nest up to five deep and are not evaluated inside code spans and code blocks.
A mention whose file does not exist stays plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tether.agent.settings._files import read_text

__all__ = ["MAX_IMPORT_DEPTH", "MemoryFile", "memory_candidates", "memory_files", "memory_prompt"]

MAX_IMPORT_DEPTH = 5

_IMPORT = re.compile(r"(?:(?<=\s)|^)@((?:~|\.{1,2})?/?[^\s`]+)", re.MULTILINE)
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)

_KINDS = {
    "user": "the user's own instructions, for every project",
    "project": "instructions of the project, shared with everyone working on it",
    "local": "the user's own instructions for this project, not shared",
}


@dataclass(frozen=True)
class MemoryFile:
    """One memory file: where it is, which source it belongs to, its text."""

    path: Path
    source: str
    text: str


def _ancestors(cwd: Path) -> list[Path]:
    """`cwd` and the directories above it, outermost first, without the filesystem root."""
    chain = [cwd, *cwd.parents]
    return [directory for directory in reversed(chain) if directory.parent != directory]


def memory_files(sources: Iterable[str], cwd: Path, config_dir: Path) -> list[MemoryFile]:
    """The memory files of `sources` with their imports, each file once, in prompt order."""
    found: list[MemoryFile] = []
    seen: set[Path] = set()
    for path, source in memory_candidates(sources, cwd, config_dir):
        if path.is_file():
            _add(path, source, 0, found, seen)
    return found


def memory_candidates(sources: Iterable[str], cwd: Path, config_dir: Path) -> list[tuple[Path, str]]:
    """Where the memory files of `sources` may be (most are missing), with their source, in prompt order."""
    wanted = set(sources)
    candidates: list[tuple[Path, str]] = []
    if "user" in wanted:
        candidates.append((config_dir / "CLAUDE.md", "user"))
    directories = _ancestors(cwd)
    if "project" in wanted:
        for directory in directories:
            candidates.append((directory / "CLAUDE.md", "project"))
            if directory / ".claude" != config_dir:  # in the home directory, that one is the user's
                candidates.append((directory / ".claude" / "CLAUDE.md", "project"))
    if "local" in wanted:
        candidates += [(directory / "CLAUDE.local.md", "local") for directory in directories]
    return candidates


def _add(path: Path, source: str, depth: int, found: list[MemoryFile], seen: set[Path]) -> None:
    real = path.resolve()
    if real in seen:
        return
    seen.add(real)
    text = read_text(path)
    found.append(MemoryFile(path, source, text))
    if depth >= MAX_IMPORT_DEPTH:
        return
    for target in _imports(text, path.parent):
        _add(target, source, depth + 1, found, seen)


def _imports(text: str, base: Path) -> list[Path]:
    prose = _CODE.sub(" ", text)
    targets = []
    for match in _IMPORT.finditer(prose):
        raw = match.group(1).rstrip(".,;:)")
        target = Path(raw).expanduser()
        target = target if target.is_absolute() else base / target
        if target.is_file():
            targets.append(target)
    return targets


def memory_prompt(files: Iterable[MemoryFile]) -> str | None:
    """The text the memory files add to the system prompt (None without any)."""
    sections = [
        f"Contents of {memory.path} ({_KINDS[memory.source]}):\n\n{memory.text.strip()}"
        for memory in files
        if memory.text.strip()
    ]
    if not sections:
        return None
    header = (
        "The instructions below come from the user's and the project's CLAUDE.md files. "
        "Follow them: where they differ from your default behaviour, they take precedence."
    )
    return "\n\n".join([header, *sections])
