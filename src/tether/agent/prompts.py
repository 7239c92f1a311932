"""System prompts: the four forms of `system_prompt`, and the prompt a session records.

- a string: sent as given;
- `{"type": "preset", "preset": "claude_code", "append": ...}`: tether's coding-agent prompt,
  followed by `append` (tether's preset has no per-user dynamic sections, so
  `exclude_dynamic_sections` changes nothing);
- `{"type": "custom", "prompt": ...}`: the same as the string;
- `{"type": "file", "path": ...}`: the file's text (UTF-8), a relative path taken from `cwd`;
- None: tether's short default prompt.

`ResolvedSystemPrompt.followed_by` adds text after any of them (the CLAUDE.md memory of
`tether.agent.settings`).

`snapshot` (preset and custom forms; omitted means True): a session records the prompt of its
first request, and a resumed or forked session keeps sending that recorded prompt; with
`snapshot: False` the prompt is built from the options on every run instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.errors import ConfigurationError

__all__ = [
    "CODING_AGENT_PROMPT",
    "DEFAULT_SYSTEM_PROMPT",
    "SYSTEM_PROMPT_ENTRY",
    "ResolvedSystemPrompt",
    "resolve_system_prompt",
    "session_system_prompt",
    "system_prompt_record",
]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful agent built on tether. Answer concisely; use the tools you are given when they help."
)

CODING_AGENT_PROMPT = (
    "You are a software engineering agent working in the user's project directory. "
    "Use Glob and Grep to find code, Read files before you change them, make precise changes with Edit "
    "(or Write for new files), and run commands such as tests with Bash. Keep answers short, say what you "
    "changed, and do not invent files or results you have not seen."
)

SYSTEM_PROMPT_ENTRY = "system-prompt"
"""The type of the metadata entry holding the prompt a session recorded (field `systemPrompt`)."""

_FORMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # type: (required keys besides "type", optional keys)
    "preset": (frozenset({"preset"}), frozenset({"append", "exclude_dynamic_sections", "snapshot"})),
    "custom": (frozenset({"prompt"}), frozenset({"snapshot"})),
    "file": (frozenset({"path"}), frozenset()),
}
_STRING_KEYS = ("append", "prompt")
_BOOL_KEYS = ("exclude_dynamic_sections", "snapshot")


@dataclass(frozen=True)
class ResolvedSystemPrompt:
    """The text a `system_prompt` option stands for, and whether a resumed session keeps its own."""

    text: str
    snapshot: bool = True

    def followed_by(self, text: str | None) -> ResolvedSystemPrompt:
        """This prompt with `text` after it (a blank line between), the same `snapshot`; itself for None."""
        return self if text is None else ResolvedSystemPrompt(f"{self.text}\n\n{text}", self.snapshot)


def resolve_system_prompt(
    system_prompt: str | Mapping[str, Any] | None, *, cwd: str | os.PathLike[str] | None = None
) -> ResolvedSystemPrompt:
    """The prompt of any of the four forms; `ConfigurationError` naming the problem for a bad shape
    or a file that cannot be read."""
    if system_prompt is None:
        return ResolvedSystemPrompt(DEFAULT_SYSTEM_PROMPT)
    if isinstance(system_prompt, str):
        return ResolvedSystemPrompt(system_prompt)
    if not isinstance(system_prompt, Mapping):
        raise ConfigurationError(
            "system_prompt must be a string, a dict with 'type' 'preset', 'custom' or 'file', or None; "
            f"not {type(system_prompt).__name__}"
        )
    kind = _validate_shape(system_prompt)
    snapshot = bool(system_prompt.get("snapshot", True))
    if kind == "custom":
        return ResolvedSystemPrompt(system_prompt["prompt"], snapshot)
    if kind == "file":
        return ResolvedSystemPrompt(_read_prompt_file(system_prompt["path"], cwd))
    append = system_prompt.get("append")
    return ResolvedSystemPrompt(f"{CODING_AGENT_PROMPT}\n\n{append}" if append else CODING_AGENT_PROMPT, snapshot)


def system_prompt_record(resolved: ResolvedSystemPrompt) -> dict[str, dict[str, Any]]:
    """The metadata a new session records its prompt in (for `Session.start(metadata=...)`)."""
    return {SYSTEM_PROMPT_ENTRY: {"systemPrompt": resolved.text}}


def session_system_prompt(resolved: ResolvedSystemPrompt, meta: Mapping[str, Mapping[str, Any]]) -> str:
    """What a session sends: the prompt it recorded (`meta`: its newest metadata entry of each
    type) when the options snapshot it, else the options' prompt."""
    recorded = meta.get(SYSTEM_PROMPT_ENTRY, {}).get("systemPrompt")
    return recorded if resolved.snapshot and isinstance(recorded, str) else resolved.text


def _validate_shape(system_prompt: Mapping[str, Any]) -> str:
    kind = system_prompt.get("type")
    if kind not in _FORMS:
        raise ConfigurationError(
            f"system_prompt has 'type' {kind!r}; use 'preset', 'custom' or 'file' (or pass a string)"
        )
    required, optional = _FORMS[kind]
    missing = sorted(required - system_prompt.keys())
    if missing:
        raise ConfigurationError(f"system_prompt of type {kind!r} needs {', '.join(map(repr, missing))}")
    unknown = sorted(str(key) for key in system_prompt.keys() - required - optional - {"type"})
    if unknown:
        allowed = ", ".join(map(repr, sorted(required | optional))) or "no other keys"
        raise ConfigurationError(
            f"system_prompt of type {kind!r} has unknown key(s) {', '.join(map(repr, unknown))}; it takes {allowed}"
        )
    if kind == "preset" and system_prompt["preset"] != "claude_code":
        raise ConfigurationError(f"the only system_prompt preset is 'claude_code', not {system_prompt['preset']!r}")
    for key in _STRING_KEYS:
        if key in system_prompt and not isinstance(system_prompt[key], str):
            raise ConfigurationError(f"system_prompt {key!r} must be a string, not {type(system_prompt[key]).__name__}")
    for key in _BOOL_KEYS:
        if key in system_prompt and not isinstance(system_prompt[key], bool):
            raise ConfigurationError(f"system_prompt {key!r} must be True or False, not {system_prompt[key]!r}")
    if kind == "file" and not isinstance(system_prompt["path"], (str, os.PathLike)):
        raise ConfigurationError(f"system_prompt 'path' must be a path, not {type(system_prompt['path']).__name__}")
    return str(kind)


def _read_prompt_file(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None) -> str:
    full = Path(path).expanduser()
    if not full.is_absolute():
        full = Path(cwd if cwd is not None else os.getcwd()).expanduser() / full
    try:
        return full.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigurationError(f"the system_prompt file {str(full)!r} cannot be read: {reason}") from error
