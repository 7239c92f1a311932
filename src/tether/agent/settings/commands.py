"""Slash commands (`.claude/commands/*.md`) and skills (`.claude/skills/<name>/SKILL.md`).

A command file's name is the command (`review.md` is `/review`; files in subdirectories keep
their own name); a plugin's commands are `plugin-name:command`. Its front matter may give
`description`, `argument-hint`, `allowed-tools` (rules allowed without asking while the command's
prompt runs) and `model`; its body is the prompt. A prompt `/name args` is replaced by the body
with `$ARGUMENTS` set to `args` and `$1`, `$2`, ... to its words (quotes group words); a body
that uses neither gets `ARGUMENTS: args` appended when there are arguments. A file the expanded
prompt mentions as `@path` (or `@"path with spaces"`; relative to cwd) is attached after it as
Claude Code attaches it, as a Read of the file (`file_mentions`): files only, up to 256 KiB of
UTF-8 text, none that a deny rule keeps Read from; other mentions stay plain text.

A skill is a directory with a `SKILL.md` whose front matter gives `name` (default: the directory
name) and `description`; the model loads one through the Skill tool (`tether.agent.settings.skill_tool`),
and a user may run one as a slash command, unless its front matter says otherwise
(`disable-model-invocation`, `user-invocable: false`).
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.agent.settings._files import MarkdownFile, read_markdown
from tether.errors import ConfigurationError

__all__ = [
    "CommandRun",
    "PromptCommand",
    "Skill",
    "expand_arguments",
    "file_mentions",
    "load_commands",
    "load_skills",
    "parse_command",
    "split_tool_list",
]

logger = logging.getLogger("tether.agent.settings")

_POSITIONAL = re.compile(r"\$(\d+)")
_MENTION = re.compile(r'(?:^|(?<=\s))@(?:"([^"]+)"|(\S*\w))')
"""`@path` after a space or at the start (an e-mail address is no mention), or `@"path"`; a
trailing `.` or `,` is not part of the path."""
MAX_MENTION_BYTES = 256 * 1024
"""A mentioned file larger than this is not attached."""


@dataclass(frozen=True)
class PromptCommand:
    """A slash command: its name (without `/`), prompt template and front matter."""

    name: str
    body: str
    path: Path
    description: str = ""
    argument_hint: str | None = None
    allowed_tools: tuple[str, ...] = ()
    model: str | None = None


@dataclass(frozen=True)
class Skill:
    """A skill: name, description, the SKILL.md body and the directory it lives in."""

    name: str
    description: str
    body: str
    directory: Path
    allowed_tools: tuple[str, ...] = ()
    model: str | None = None
    model_invocable: bool = True
    user_invocable: bool = True

    def as_command(self) -> PromptCommand:
        """The skill as a slash command a user can run."""
        return PromptCommand(
            self.name,
            self.body,
            self.directory / "SKILL.md",
            self.description,
            None,
            self.allowed_tools,
            self.model,
        )


@dataclass(frozen=True)
class CommandRun:
    """A prompt that ran a slash command: the expanded prompt (text, or text blocks when files it
    mentions are attached) and what the command asks for."""

    command: PromptCommand
    arguments: str
    prompt: str | list[dict[str, Any]]

    @property
    def allowed_tools(self) -> tuple[str, ...]:
        """Permission rules allowed without asking while this prompt runs."""
        return self.command.allowed_tools


def split_tool_list(value: object, where: str) -> tuple[str, ...]:
    """A front-matter tool list: a YAML list, or one string of comma-separated rules
    (`"Bash(git add:*), Read"`; commas inside parentheses belong to the rule)."""
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: a tool list must be a string or a list of strings, not {value!r}")
    rules, depth, current = [], 0, ""
    for char in value:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            rules.append(current)
            current = ""
        else:
            current += char
    rules.append(current)
    return tuple(rule.strip() for rule in rules if rule.strip())


def _text_field(file: MarkdownFile, key: str) -> str | None:
    value = file.meta.get(key)
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigurationError(f"{file.path}:1: front matter {key!r} must be text, not {value!r}")


def _flag(file: MarkdownFile, key: str, default: bool) -> bool:
    value = file.meta.get(key, default)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{file.path}:1: front matter {key!r} must be true or false, not {value!r}")
    return value


def _first_line(body: str) -> str:
    return next((line.strip().lstrip("#").strip() for line in body.splitlines() if line.strip()), "")


def load_commands(directory: Path, prefix: str = "") -> list[PromptCommand]:
    """The commands of the `*.md` files under `directory` (names prefixed with `prefix`)."""
    if not directory.is_dir():
        return []
    commands = []
    for path in sorted(directory.rglob("*.md")):
        file = read_markdown(path)
        commands.append(
            PromptCommand(
                name=prefix + path.stem,
                body=file.body,
                path=path,
                description=_text_field(file, "description") or _first_line(file.body),
                argument_hint=_text_field(file, "argument-hint"),
                allowed_tools=split_tool_list(file.meta.get("allowed-tools"), f"{path}:1: allowed-tools"),
                model=_text_field(file, "model"),
            )
        )
    return commands


def load_skills(directory: Path, prefix: str = "") -> list[Skill]:
    """The skills of `directory/<name>/SKILL.md` (names prefixed with `prefix`)."""
    if not directory.is_dir():
        return []
    skills = []
    for path in sorted(directory.glob("*/SKILL.md")):
        file = read_markdown(path)
        name = _text_field(file, "name") or path.parent.name
        skills.append(
            Skill(
                name=prefix + name,
                description=_text_field(file, "description") or _first_line(file.body),
                body=file.body,
                directory=path.parent,
                allowed_tools=split_tool_list(file.meta.get("allowed-tools"), f"{path}:1: allowed-tools"),
                model=_text_field(file, "model"),
                model_invocable=not _flag(file, "disable-model-invocation", False),
                user_invocable=_flag(file, "user-invocable", True),
            )
        )
    return skills


def parse_command(prompt: str) -> tuple[str, str] | None:
    """`(name, arguments)` of a prompt `/name arguments`, or None for any other prompt."""
    text = prompt.strip()
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    name, _, arguments = text[1:].partition(" ")
    head, newline, rest = name.partition("\n")  # `/name` alone on the first line, arguments below
    if newline:
        name, arguments = head, f"{rest} {arguments}".strip()
    if "/" in name:  # a path such as `/usr/bin/env`, not a command
        return None
    return name, arguments.strip()


def _words(arguments: str) -> list[str]:
    try:
        return shlex.split(arguments)
    except ValueError:  # an unbalanced quote: plain words
        return arguments.split()


def expand_arguments(body: str, arguments: str) -> str:
    """`body` with `$ARGUMENTS` and `$1`, `$2`, ... filled in (see the module docstring)."""
    words = _words(arguments)
    uses_arguments = "$ARGUMENTS" in body or _POSITIONAL.search(body) is not None
    expanded = body.replace("$ARGUMENTS", arguments)

    def positional(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return words[index - 1] if 1 <= index <= len(words) else ""

    expanded = _POSITIONAL.sub(positional, expanded)
    if arguments and not uses_arguments:
        expanded = f"{expanded.rstrip()}\n\nARGUMENTS: {arguments}"
    return expanded


def file_mentions(text: str, cwd: Path, readable: Callable[[Path], bool]) -> list[dict[str, Any]]:
    """The text blocks that attach the files `text` mentions (`@path`), each once, in order, as
    Claude Code attaches a mentioned file: a Read call on it and the call's result. A mention of
    something that is not a readable text file, or of a file `readable` refuses, attaches nothing."""
    blocks: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for match in _MENTION.finditer(text):
        path = Path(match.group(1) or match.group(2)).expanduser()
        path = path if path.is_absolute() else cwd / path
        content = _mentioned_text(path) if path not in seen and readable(path) else None
        seen.add(path)
        if content is None:
            continue
        lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
        call = {"file_path": str(path)}
        file = {"filePath": str(path), "content": content, "numLines": lines, "startLine": 1, "totalLines": lines}
        blocks += [
            {"type": "text", "text": f"Called the Read tool with the following input: {json.dumps(call)}"},
            {"type": "text", "text": f"Result of calling the Read tool: {json.dumps({'type': 'text', 'file': file})}"},
        ]
    return blocks


def _mentioned_text(path: Path) -> str | None:
    """The text of a mentioned file, or None (with a logged reason) when it is not attached."""
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_MENTION_BYTES:
            logger.warning(
                "the file %s mentioned by a command is over %d bytes; it is not attached", path, MAX_MENTION_BYTES
            )
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        logger.warning("the file %s mentioned by a command is not attached: %s", path, error)
        return None
