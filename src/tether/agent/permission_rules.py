"""Permission rules: the rule strings of `allowed_tools`, `disallowed_tools` and settings files,
parsed, and the pieces of a call they are matched against (see `tether.agent.permissions` for the
policy that applies them).

Rules are strings as in Claude Code: a tool name (`"Read"`, `"mcp__github"` for every tool of a
server, `"mcp__github__create_issue"`), or a tool name with a specifier:

- `Bash(git status)` one exact command; `Bash(npm run test:*)` that command prefix (followed by
  nothing or by arguments); `Bash(git *)` a wildcard (`*` matches anything). A command chained
  with `&&`, `||`, `;`, `|` or `&` is allowed only when every part is; a deny rule matches when
  any part does. Commands with `$(...)` or backticks are allowed only by an exact rule.
- `Read(src/**)`, `Edit(docs/*.md)`: gitignore-style path globs. `path` and `./path` and `/path`
  are relative to cwd, `//path` is absolute, `~/path` is under the home directory; a pattern
  without `/` matches the name at any depth. `Read(...)` rules also cover Glob and Grep, and
  `Edit(...)` rules also cover Write.
- `Skill(review)`, `Skill(my-plugin:*)`: the skills the Skill tool may load (see `tether.agent.settings`).
- `Agent(code-reviewer)`: the subagent types the Agent tool may start; `Task(...)`, Claude Code's
  older name of the tool, means the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether._vocabulary.permissions import PermissionRuleValue
from tether.errors import ConfigurationError
from tether.tools.agent import AGENT_TOOL_NAMES

__all__ = [
    "EDIT_FAMILY",
    "READ_FAMILY",
    "SKILL_TOOL_NAME",
    "PermissionRule",
    "command_matches",
    "skill_matches",
    "split_shell_command",
    "without_assignments",
]

SKILL_TOOL_NAME = "Skill"
"""The tool that loads a skill; its rules name skills: `Skill(review)`, `Skill(my-plugin:*)`."""

READ_FAMILY = frozenset({"Read", "Glob", "Grep"})
"""The tools a `Read(...)` rule covers."""
EDIT_FAMILY = frozenset({"Edit", "Write"})
"""The tools an `Edit(...)` rule covers."""


_RULE = re.compile(r"^\s*([^()\s]+)\s*(?:\((.*)\))?\s*$", re.DOTALL)


@dataclass(frozen=True)
class PermissionRule:
    """A parsed rule string such as `Bash(npm run test:*)` or `Read(src/**)`."""

    tool_name: str
    content: str | None = None

    @classmethod
    def parse(cls, text: str) -> PermissionRule:
        """Parse a rule; `Tool()` and `Tool(*)` mean the bare tool name."""
        match = _RULE.match(text)
        if match is None:
            raise ConfigurationError(f"invalid permission rule {text!r}: expected 'Tool' or 'Tool(specifier)'")
        name, content = match.group(1), match.group(2)
        if content is not None:
            content = content.strip()
            if content in ("", "*"):
                content = None
        return cls(name, content)

    @classmethod
    def from_value(cls, value: PermissionRuleValue) -> PermissionRule:
        """The rule of a `PermissionRuleValue`."""
        content = value.rule_content.strip() if value.rule_content else None
        return cls(value.tool_name, content if content not in ("", "*") else None)

    def __str__(self) -> str:
        return self.tool_name if self.content is None else f"{self.tool_name}({self.content})"

    def names_tool(self, tool_name: str) -> bool:
        """Whether the rule is about `tool_name` at all (ignoring its specifier)."""
        if self.tool_name == tool_name or {self.tool_name, tool_name} <= AGENT_TOOL_NAMES:  # `Task`: Agent's old name
            return True
        if self.tool_name.startswith("mcp__") and self.content is None:
            server = self.tool_name.removesuffix("__*")
            if server.count("__") == 1 and tool_name.startswith(server + "__"):
                return True
        if self.content is not None:
            if self.tool_name == "Read" and tool_name in READ_FAMILY:
                return True
            if self.tool_name == "Edit" and tool_name in EDIT_FAMILY:
                return True
        return False


def command_matches(pattern: str, command: str) -> bool:
    command = command.strip()
    pattern = pattern.strip()
    if pattern.endswith(":*"):
        prefix = pattern[:-2].rstrip()
        return command == prefix or command.startswith((prefix + " ", prefix + "\t"))
    if "*" not in pattern:
        return command == pattern
    trailing_any = pattern.endswith(" *")
    body = pattern[:-2] if trailing_any else pattern
    regex = ".*".join(re.escape(piece) for piece in body.split("*"))
    if trailing_any:
        regex += r"(?:\s.*)?"
    return re.fullmatch(regex, command, re.DOTALL) is not None


def skill_matches(pattern: str, tool_input: Mapping[str, Any]) -> bool:
    """Whether a `Skill(...)` rule names the skill of a call: exactly, or `prefix:*` for the skill
    `prefix` and those under it (`my-plugin:*`)."""
    name = str(tool_input.get("skill", "")).strip().removeprefix("/")
    if pattern.endswith(":*"):
        prefix = pattern[:-2]
        return name == prefix or name.startswith(prefix + ":")
    return name == pattern


def split_shell_command(command: str) -> tuple[list[str], bool]:
    """The simple commands of a shell command line, and whether it runs nested commands.

    Splits on `&&`, `||`, `;`, `|`, `&` and newlines outside quotes (`2>&1` and `&>` are
    redirections, not separators). The flag is True when `$(...)`, backticks or process
    substitution appear, whose inner commands a rule cannot see.
    """
    parts: list[str] = []
    current: list[str] = []
    nested = False
    quote: str | None = None
    i, n = 0, len(command)
    while i < n:
        char = command[i]
        if quote is not None:
            current.append(char)
            if char == "\\" and quote == '"' and i + 1 < n:
                current.append(command[i + 1])
                i += 2
                continue
            if char == quote:
                quote = None
            elif quote == '"' and (char == "`" or command.startswith("$(", i)):
                nested = True
            i += 1
            continue
        if char == "\\" and i + 1 < n:
            current.append(command[i : i + 2])
            i += 2
            continue
        if char in ("'", '"'):
            quote = char
            current.append(char)
        elif char == "`" or command.startswith(("$(", "<(", ">("), i):
            nested = True
            current.append(char)
        elif command.startswith(("&&", "||"), i):
            parts.append("".join(current))
            current = []
            i += 2
            continue
        elif char in ";\n" or (char == "|" and not command.startswith("|&", i)):
            parts.append("".join(current))
            current = []
        elif char == "&":
            previous = command[i - 1] if i else ""
            following = command[i + 1] if i + 1 < n else ""
            if previous in "<>" or following == ">":
                current.append(char)
            else:
                parts.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()], nested


_ASSIGNMENTS = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|\"[^\"]*\"|\S*)\s+)+")


def without_assignments(command: str) -> str:
    """A simple command without its leading variable assignments (`FOO=1 rm x` -> `rm x`)."""
    return _ASSIGNMENTS.sub("", command)
