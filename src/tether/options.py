"""`AgentOptions` (alias `ClaudeAgentOptions`): how an agent runs and where its session lives.

Field names and defaults follow the Claude Agent SDK's `ClaudeAgentOptions`. Options tether does
not implement yet are listed in `UNSUPPORTED_OPTIONS`; setting one raises
`UnsupportedOptionError` naming it when the run starts, so nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tether.errors import ConfigurationError, UnsupportedOptionError

if TYPE_CHECKING:
    from tether.models.base import Model
    from tether.sessions.store import SessionStore

__all__ = ["AgentOptions", "ClaudeAgentOptions", "PermissionMode", "UNSUPPORTED_OPTIONS"]

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]


@dataclass
class AgentOptions:
    """Options of `query()` and `AgentClient`.

    Sessions: `resume` (an id), `continue_conversation` (the newest session of `cwd`),
    `fork_session` (branch a new session off the resumed one), `resume_session_at` (a message
    uuid to continue or fork from), `session_id` (choose the id of a new session or of the
    fork), `session_store` (a store or a store URL; default the SQLite file under
    `~/.tether/`, or `$TETHER_HOME`), `persist_session=False` (write nothing).

    `model` is a model name (`claude-sonnet-4-5`, `openai:gpt-4o`, `local:smollm2`) or any object
    implementing `tether.models.Model`, such as `tether.testing.ScriptedModel`.
    """

    tools: list[str] | dict[str, Any] | None = None
    allowed_tools: list[str] = field(default_factory=list)
    system_prompt: str | dict[str, Any] | None = None
    mcp_servers: dict[str, Any] | str | Path = field(default_factory=dict)
    permission_mode: PermissionMode | None = None
    continue_conversation: bool = False
    resume: str | None = None
    session_id: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    disallowed_tools: list[str] = field(default_factory=list)
    model: str | Model | None = None
    fallback_model: str | None = None
    cwd: str | Path | None = None
    add_dirs: list[str | Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    extra_args: dict[str, str | None] = field(default_factory=dict)
    stderr: Callable[[str], None] | None = None
    can_use_tool: Callable[..., Any] | None = None
    hooks: dict[str, list[Any]] | None = None
    include_partial_messages: bool = False
    fork_session: bool = False
    resume_session_at: str | None = None
    output_format: dict[str, Any] | None = None
    session_store: SessionStore | str | None = None
    persist_session: bool = True
    max_tokens: int | None = None
    # Accepted for compatibility; see UNSUPPORTED_OPTIONS for which must stay at their default.
    permission_prompt_tool_name: str | None = None
    settings: str | None = None
    setting_sources: list[str] | None = None
    agents: dict[str, Any] | None = None
    betas: list[str] = field(default_factory=list)
    thinking: dict[str, Any] | None = None
    effort: str | None = None
    max_thinking_tokens: int | None = None
    user: str | None = None
    cli_path: str | Path | None = None
    plugins: list[Any] = field(default_factory=list)
    sandbox: dict[str, Any] | None = None
    enable_file_checkpointing: bool = False
    include_hook_events: bool = False
    strict_mcp_config: bool = False
    max_buffer_size: int | None = None
    skills: list[str] | str | None = None
    task_budget: Any = None
    client_app: str | None = None


ClaudeAgentOptions = AgentOptions

UNSUPPORTED_OPTIONS: dict[str, str] = {
    "output_format": "structured output is not implemented",
    "permission_prompt_tool_name": "there is no CLI to prompt through",
    "settings": "Claude Code settings files are not read",
    "setting_sources": "Claude Code settings files are not read",
    "agents": "subagents are not implemented",
    "betas": "beta flags are not implemented",
    "thinking": "thinking configuration is not implemented",
    "effort": "effort levels are not implemented",
    "max_thinking_tokens": "thinking configuration is not implemented",
    "user": "tether runs in-process; there is no subprocess user to switch to",
    "cli_path": "tether has no CLI subprocess",
    "plugins": "plugins are not implemented",
    "sandbox": "sandboxing is not implemented",
    "enable_file_checkpointing": "file checkpointing is not implemented",
    "include_hook_events": "hook events are not implemented",
    "strict_mcp_config": "MCP configuration files are not read",
    "max_buffer_size": "tether has no CLI pipe to bound",
    "skills": "skills are not implemented",
    "task_budget": "task budgets are not implemented",
    "client_app": "not implemented",
    "extra_args": "there are no CLI arguments to pass",
}
"""Options that must stay at their default, with the reason shown to the user."""

_DEFAULTS = {f.name: f for f in dataclasses.fields(AgentOptions)}


def _is_default(name: str, value: Any) -> bool:
    spec = _DEFAULTS[name]
    if spec.default is not dataclasses.MISSING:
        return bool(value == spec.default)
    if spec.default_factory is not dataclasses.MISSING:
        return bool(value == spec.default_factory())
    return False  # pragma: no cover - every field has a default


def check_options(options: AgentOptions) -> None:
    """Raise if an unsupported option is set, or if session options contradict each other."""
    for name, reason in UNSUPPORTED_OPTIONS.items():
        if not _is_default(name, getattr(options, name)):
            raise UnsupportedOptionError(name, reason)
    if options.resume and options.continue_conversation:
        raise ConfigurationError("resume and continue_conversation cannot be used together")
    if options.fork_session and not (options.resume or options.continue_conversation):
        raise ConfigurationError("fork_session needs resume=<session id> or continue_conversation=True")
    if options.resume_session_at and not (options.resume or options.continue_conversation):
        raise ConfigurationError("resume_session_at needs resume=<session id> or continue_conversation=True")
    if options.session_id and (options.resume or options.continue_conversation) and not options.fork_session:
        raise ConfigurationError(
            "session_id with resume/continue_conversation names the new fork, so it needs fork_session=True"
        )
    if options.max_turns is not None and options.max_turns < 1:
        raise ConfigurationError(f"max_turns must be at least 1, not {options.max_turns}")
