"""Reading Claude Code's files: JSON settings and Markdown with YAML front matter.

A file that cannot be read or parsed raises `ConfigurationError` naming the file and the line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tether.errors import ConfigurationError

__all__ = ["MarkdownFile", "parse_json_object", "read_json_object", "read_markdown", "read_text"]

_FENCE = "---"


@dataclass(frozen=True)
class MarkdownFile:
    """A Markdown file: its YAML front matter (empty without one) and the text after it."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    body: str = ""


def read_text(path: Path) -> str:
    """The file's UTF-8 text; `ConfigurationError` naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigurationError(f"{path}: cannot be read: {reason}") from error


def parse_json_object(text: str, where: str) -> dict[str, Any]:
    """`text` as a JSON object; `ConfigurationError` naming `where` and the line otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{where}:{error.lineno}: invalid JSON: {error.msg} (column {error.colno})") from error
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}:1: must hold a JSON object, not {type(value).__name__}")
    return value


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in the file at `path`."""
    return parse_json_object(read_text(path), str(path))


def read_markdown(path: Path) -> MarkdownFile:
    """The file's front matter (between `---` lines at its top) and body."""
    text = read_text(path).removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n").rstrip() != _FENCE:
        return MarkdownFile(path, {}, text)
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n").rstrip() == _FENCE), None)
    if end is None:
        raise ConfigurationError(f"{path}:1: the front matter opened by '---' is never closed by a '---' line")
    source = "".join(lines[1:end])
    try:
        meta = yaml.safe_load(source) if source.strip() else {}
    except yaml.YAMLError as error:
        line, problem = 2, str(error)  # the front matter starts on line 2
        if isinstance(error, yaml.MarkedYAMLError):
            line += error.problem_mark.line if error.problem_mark is not None else 0
            problem = error.problem or problem
        raise ConfigurationError(f"{path}:{line}: invalid YAML front matter: {problem}") from error
    if not isinstance(meta, dict):
        raise ConfigurationError(f"{path}:2: the front matter must be a mapping of keys, not {type(meta).__name__}")
    return MarkdownFile(path, {str(key): value for key, value in meta.items()}, "".join(lines[end + 1 :]))
