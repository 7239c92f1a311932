"""System prompts: the user's, a minimal default, or the coding-agent preset."""

from __future__ import annotations

from typing import Any

from tether.errors import ConfigurationError

__all__ = ["DEFAULT_SYSTEM_PROMPT", "CODING_AGENT_PROMPT", "system_prompt_text"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful agent built on tether. Answer concisely; use the tools you are given when they help."
)

CODING_AGENT_PROMPT = (
    "You are a software engineering agent working in the user's project directory. "
    "Use Glob and Grep to find code, Read files before you change them, make precise changes with Edit "
    "(or Write for new files), and run commands such as tests with Bash. Keep answers short, say what you "
    "changed, and do not invent files or results you have not seen."
)


def system_prompt_text(system_prompt: str | dict[str, Any] | None) -> str:
    """The system prompt to send: a string as given, None -> the default, a preset dict -> the preset."""
    if system_prompt is None:
        return DEFAULT_SYSTEM_PROMPT
    if isinstance(system_prompt, str):
        return system_prompt
    if system_prompt.get("type") == "preset" and system_prompt.get("preset") == "claude_code":
        append = system_prompt.get("append")
        return f"{CODING_AGENT_PROMPT}\n\n{append}" if append else CODING_AGENT_PROMPT
    raise ConfigurationError(f"unsupported system_prompt {system_prompt!r}: use a string or the claude_code preset")
