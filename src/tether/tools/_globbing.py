"""Glob patterns, `.gitignore` rules and the file walk shared by Glob, Grep and permission rules.

Glob syntax (as ripgrep and gitignore use it): `*` and `?` stay inside one path segment, `**`
as a whole segment crosses any number of directories, `[abc]` / `[!abc]` are classes and
`{a,b}` alternatives (nesting allowed).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = [
    "IgnoreRules",
    "glob_literal_prefix",
    "glob_regex",
    "has_glob_magic",
    "path_matches_glob",
    "walk_files",
]

_MAGIC = re.compile(r"[*?\[{]")
_VCS_DIRS = frozenset({".git", ".hg", ".svn", ".jj"})
IGNORE_FILES = (".gitignore", ".ignore", ".rgignore")


def has_glob_magic(text: str) -> bool:
    """Whether `text` contains glob syntax."""
    return _MAGIC.search(text) is not None


def glob_literal_prefix(pattern: str) -> tuple[str, str]:
    """Split a pattern into its leading directories without glob syntax and the rest.

    `src/app/**/*.py` -> (`src/app`, `**/*.py`); `*.py` -> (``, `*.py`); `/etc/*.conf` ->
    (`/etc`, `*.conf`).
    """
    parts = pattern.split("/")
    literal: list[str] = []
    for index, part in enumerate(parts[:-1]):
        if has_glob_magic(part):
            return "/".join(literal) or ("/" if pattern.startswith("/") else ""), "/".join(parts[index:])
        literal.append(part)
    prefix = "/".join(literal)
    if pattern.startswith("/") and not prefix:
        prefix = "/"
    return prefix, parts[-1]


def _translate(pattern: str) -> str:
    """The regex body (no anchors) of a glob pattern."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                at_start = i == 0 or pattern[i - 1] == "/"
                end = i + 2
                if at_start and (end == n or pattern[end] == "/"):
                    if end == n:
                        out.append(".*")
                        i = end
                    else:
                        out.append("(?:[^/]*/)*")
                        i = end + 1
                    continue
                out.append("[^/]*")
                i = end
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if close == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : close]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = close
        elif char == "{":
            close, alternatives = _split_braces(pattern, i)
            if close == -1:
                out.append(re.escape(char))
            else:
                out.append("(?:" + "|".join(_translate(alt) for alt in alternatives) + ")")
                i = close
        elif char == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _split_braces(pattern: str, start: int) -> tuple[int, list[str]]:
    """The index of the `}` closing the `{` at `start`, and the comma-separated alternatives."""
    depth = 0
    alternatives: list[str] = []
    current: list[str] = []
    for index in range(start + 1, len(pattern)):
        char = pattern[index]
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                alternatives.append("".join(current))
                return index, alternatives
            depth -= 1
        elif char == "," and depth == 0:
            alternatives.append("".join(current))
            current = []
            continue
        current.append(char)
    return -1, []


@lru_cache(maxsize=512)
def glob_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """A compiled regex matching a whole `/`-separated path against `pattern`."""
    return re.compile(r"\A" + _translate(pattern) + r"\Z", re.IGNORECASE if ignore_case else 0)


def path_matches_glob(relative_path: str, pattern: str) -> bool:
    """ripgrep's `--glob` rule: a pattern without `/` matches the file name at any depth."""
    body = pattern.rstrip("/")
    if "/" not in body:
        return glob_regex(body).match(relative_path.rsplit("/", 1)[-1]) is not None
    return glob_regex(body.lstrip("/")).match(relative_path) is not None


@dataclass
class _IgnoreRule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool
    anchored: bool


@dataclass
class IgnoreRules:
    """The rules of the ignore files of one directory (`.gitignore`, `.ignore`, `.rgignore`)."""

    base: str
    rules: list[_IgnoreRule] = field(default_factory=list)

    @classmethod
    def load(cls, directory: str) -> IgnoreRules | None:
        """The rules of `directory`, or None when it has no ignore file."""
        rules: list[_IgnoreRule] = []
        for name in IGNORE_FILES:
            try:
                with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                    lines = handle.read().splitlines()
            except OSError:
                continue
            rules.extend(rule for rule in (_parse_ignore_line(line) for line in lines) if rule is not None)
        return cls(directory, rules) if rules else None

    def verdict(self, path: str, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included by `!`) or None (no rule of this file matches)."""
        relative = os.path.relpath(path, self.base).replace(os.sep, "/")
        name = relative.rsplit("/", 1)[-1]
        result: bool | None = None
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(relative if rule.anchored else name):
                result = not rule.negated
        return result


def _parse_ignore_line(line: str) -> _IgnoreRule | None:
    text = line.rstrip()
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    if text.startswith("\\"):
        text = text[1:]
    dir_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    return _IgnoreRule(glob_regex(text.lstrip("/")), negated, dir_only, anchored)


def _ancestor_rules(root: str) -> list[IgnoreRules]:
    """Ignore files of the directories above `root`, up to the enclosing git repository's top."""
    chain: list[str] = []
    current = os.path.dirname(root)
    probe = root
    while True:
        if os.path.isdir(os.path.join(probe, ".git")):
            break
        if current == probe:
            return []  # no repository above: only the search root's own files apply
        chain.append(current)
        probe, current = current, os.path.dirname(current)
    return [rules for rules in (IgnoreRules.load(d) for d in reversed(chain)) if rules is not None]


def _ignored(stack: list[IgnoreRules], path: str, is_dir: bool) -> bool:
    ignored = False
    for rules in stack:
        verdict = rules.verdict(path, is_dir)
        if verdict is not None:
            ignored = verdict
    return ignored


def walk_files(
    root: Path, *, include_hidden: bool = False, respect_ignore: bool = True, max_depth: int | None = None
) -> Iterator[Path]:
    """Every file under `root`, as ripgrep would search it.

    Hidden files and directories (a name starting with `.`) are skipped unless `include_hidden`;
    version-control directories always are; `.gitignore`, `.ignore` and `.rgignore` rules apply
    (including those of parent directories inside the same git repository). Symbolic links to
    directories are not followed. `root` itself may be a file, which is then yielded as is.
    `max_depth=1` yields only the files directly in `root`.
    """
    if not root.is_dir():
        if root.exists():
            yield root
        return
    base = str(root)
    initial = _ancestor_rules(base) if respect_ignore else []
    yield from _walk(base, initial, include_hidden, respect_ignore, max_depth)


def _walk(
    directory: str, stack: list[IgnoreRules], include_hidden: bool, respect_ignore: bool, depth: int | None
) -> Iterator[Path]:
    if respect_ignore:
        own = IgnoreRules.load(directory)
        if own is not None:
            stack = [*stack, own]
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") and not include_hidden:
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir and entry.name in _VCS_DIRS:
            continue
        if respect_ignore and _ignored(stack, entry.path, is_dir):
            continue
        if is_dir:
            if depth is None or depth > 1:
                deeper = None if depth is None else depth - 1
                yield from _walk(entry.path, stack, include_hidden, respect_ignore, deeper)
        else:
            try:
                if entry.is_file():
                    yield Path(entry.path)
            except OSError:
                continue
