"""`AgentOptions` (alias `ClaudeAgentOptions`): how an agent runs and where its session lives.

Every field of the Claude Agent SDK's `ClaudeAgentOptions` is accepted, by keyword, with the
SDK's default. Each one is in exactly one of three groups (`docs/compatibility.md` says how or
why for every field):

- honoured: it does what the SDK documents, or tether's equivalent of it;
- `NOT_APPLICABLE_OPTIONS`: it is about the Claude Code subprocess, which tether does not have;
  any value is accepted and has no effect;
- `UNSUPPORTED_OPTIONS`: not implemented yet; a value other than the default (or one of
  `_ALSO_ACCEPTED`) raises `UnsupportedOptionError` naming it when the run starts.

`check_options` runs at the start of every run, before anything is yielded or stored.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tether._copying import shallow_copy
from tether._vocabulary.durable import DurableEngine
from tether._vocabulary.hooks import HookEvent, HookMatcher
from tether._vocabulary.options import seconds_option
from tether._vocabulary.permissions import CanUseTool, PermissionMode, validate_permission_mode
from tether._vocabulary.store import SESSION_STORE_FLUSH_MODES, SessionStore, SessionStoreFlushMode
from tether.errors import ConfigurationError, UnsupportedOptionError

__all__ = [
    "AgentOptions",
    "ClaudeAgentOptions",
    "NOT_APPLICABLE_OPTIONS",
    "UNSUPPORTED_OPTIONS",
    "ModelObject",
    "check_options",
    "copy_options",
    "replays_user_messages",
]


class ModelObject(Protocol):
    """A model given as an object (`AgentOptions.model`, `compact_model`): the shape of
    `tether.models.Model`, which the options name by shape since they sit below the models layer."""

    @property
    def model_name(self) -> str:
        """The name reported in messages and usage."""
        ...

    def stream(self, request: Any) -> AsyncIterator[Any]:
        """Run one model call (a `tether.models.ModelRequest`), yielding its events."""
        ...


@dataclass(kw_only=True)
class AgentOptions:
    """Options of `query()` and `AgentClient`, the Claude Agent SDK's fields plus tether's own.

    Sessions: `resume` (an id), `continue_conversation` (the newest session of `cwd`),
    `fork_session` (branch a new session off the resumed one), `resume_session_at` (a message
    uuid to continue or fork from), `session_id` (choose the id of a new session or of the
    fork), `session_store` (a store or a store URL; default the SQLite file under
    `~/.tether/`, or `$TETHER_HOME`), `persist_session=False` (write nothing).

    `model` is a model name (`claude-sonnet-4-5`, `openai:gpt-4o`, `local:smollm2`) or any object
    implementing `tether.models.Model`, such as `tether.testing.ScriptedModel`.

    `system_prompt` is a string, `{"type": "preset", "preset": "claude_code", "append": ...}`
    (tether's coding-agent prompt), `{"type": "custom", "prompt": ...}` or
    `{"type": "file", "path": ...}`; None gives tether's short default prompt.
    """

    tools: list[str] | dict[str, Any] | None = None
    allowed_tools: list[str] = field(default_factory=list)
    system_prompt: str | Mapping[str, Any] | None = None
    mcp_servers: dict[str, Any] | str | Path = field(default_factory=dict)
    strict_mcp_config: bool = False
    permission_mode: PermissionMode | None = None
    continue_conversation: bool = False
    resume: str | None = None
    session_id: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    disallowed_tools: list[str] = field(default_factory=list)
    model: str | ModelObject | None = None
    fallback_model: str | None = None
    betas: list[str] = field(default_factory=list)
    permission_prompt_tool_name: str | None = None
    cwd: str | Path | None = None
    cli_path: str | Path | None = None
    settings: str | None = None
    add_dirs: list[str | Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    extra_args: dict[str, str | None] = field(default_factory=dict)
    max_buffer_size: int | None = None
    debug_stderr: Any = sys.stderr
    stderr: Callable[[str], None] | None = None
    can_use_tool: CanUseTool | None = None
    hooks: dict[HookEvent, list[HookMatcher]] | None = None
    user: str | None = None
    include_partial_messages: bool = False
    include_hook_events: bool = False
    forward_subagent_text: bool = False
    verbatim_prompts: bool = False
    fork_session: bool = False
    resume_session_at: str | None = None
    resume_drops_turn: str | None = None
    agents: dict[str, Any] | None = None
    setting_sources: list[str] | None = None
    skills: list[str] | str | None = None
    sandbox: Mapping[str, Any] | None = None
    plugins: list[Any] = field(default_factory=list)
    max_thinking_tokens: int | None = None
    thinking: dict[str, Any] | None = None
    effort: str | None = None
    output_format: dict[str, Any] | None = None
    enable_file_checkpointing: bool = False
    session_store: SessionStore | str | None = None
    session_store_flush: SessionStoreFlushMode = "batched"
    load_timeout_ms: int = 60_000
    task_budget: Mapping[str, Any] | None = None
    client_app: str | None = None
    # tether's own
    persist_session: bool = True
    max_tokens: int | None = None
    # tether's own: timeouts in seconds (README, "Timeouts"); None means no limit
    connect_timeout: float = 10.0
    stream_idle_timeout: float = 60.0
    request_timeout: float | None = 600.0
    run_timeout: float | None = None
    store_timeout: float | None = 30.0
    """Seconds one session store call may take (None: no limit); no call of a run goes on past its
    `run_timeout` either. A store that does not answer in time ends the run with `StoreError`."""
    # tether's own: long sessions (README, "Long sessions")
    context_window: int | None = None
    """The context window compaction counts against, in tokens (None: the model's, from tether's table)."""
    compact_model: str | ModelObject | None = None
    """The model that writes compaction summaries (None: the session's own)."""
    # tether's own: concurrent processes on one session (README, "Concurrent writers")
    session_busy_timeout: float = 0.0
    """Seconds to wait for another process's turn on the session to end (then `SessionBusyError`)."""
    session_lease_ttl: float = 60.0
    """Seconds a turn's lease outlives its last renewal: how long a crashed turn keeps the session busy."""
    # tether's own: OpenTelemetry spans (README, "Traces")
    tracer_provider: Any = None
    """An `opentelemetry.trace.TracerProvider` for this run's spans (None: the global one, if the
    application set one; tether configures none)."""
    # tether's own: workspaces that travel with their sessions (README, "Workspaces")
    workspace_snapshots: bool = False
    """Snapshot the whole working directory into the store before a prompt's first file-changing
    tool and after each one (Bash included), so `rewind_files` and forks restore every change.
    Off by default: `enable_file_checkpointing` alone keeps the SDK's Write/Edit backups."""
    workspace_max_file_bytes: int | None = 10 * 1024 * 1024
    """Files larger than this are left out of workspace snapshots (None: no cap)."""
    workspace_ignore: list[str] = field(default_factory=list)
    """Extra `.gitignore`-style patterns left out of workspace snapshots (`.gitignore`d files and
    `.git/` always are)."""
    fork_workspace: str | Path | None = None
    """With `fork_session`: write the source's workspace as of the fork point into this new (or
    empty) directory, which becomes the fork's `cwd`, so both branches change their own files."""
    # tether's own: turns that survive their worker (README, "Durable turns"; extra `tether[dbos]`)
    durable: bool | DurableEngine = False
    """Run each turn as a DBOS workflow: a turn whose process dies is taken over by `tether worker`."""
    turn_id: str | None = None
    """The turn's id (durable turns): a turn id submitted twice runs once, the second caller follows it.
    With `AgentClient`, the n-th prompt of a connection runs as turn `<turn_id>:<n>`."""


ClaudeAgentOptions = AgentOptions

NOT_APPLICABLE_OPTIONS: dict[str, str] = {
    "cli_path": "tether runs in this process; there is no Claude Code executable to point at",
    "max_buffer_size": "there is no pipe from a CLI subprocess to bound",
    "debug_stderr": "deprecated in the SDK, which no longer reads it either",
    "stderr": "there is no Claude Code subprocess whose stderr it would receive",
}
"""Options about the CLI subprocess: accepted with any value, no effect (reason as documented)."""

UNSUPPORTED_OPTIONS: dict[str, str] = {
    # Not implemented.
    "sandbox": "sandboxing is not implemented",
    "user": "tether runs tools in this process as the current OS user; it cannot run them as another",
}
"""Options that must stay at their default, with the reason shown to the user."""

_ALSO_ACCEPTED: dict[str, tuple[Any, ...]] = {}
"""Values besides the default that an option of `UNSUPPORTED_OPTIONS` accepts."""

DIAGNOSTIC_CLI_FLAGS = frozenset({"debug", "debug-file", "debug-to-stderr", "verbose"})
"""`extra_args` keys accepted without effect: they only change the CLI's own diagnostic output."""

REPLAY_USER_MESSAGES_FLAG = "replay-user-messages"
"""`extra_args` key that makes each run yield its prompt as a `UserMessage` (with the uuid that
`rewind_files` takes), as the CLI echoes prompts with this flag."""


def copy_options(options: AgentOptions) -> AgentOptions:
    """A shallow copy of `options` (`copy.copy`, without its generic protocol: 2 -> 0.4 us; a
    subclass, which may define its own `__copy__`, is copied by `copy.copy`)."""
    return copy.copy(options) if type(options) is not AgentOptions else shallow_copy(options)


def replays_user_messages(options: AgentOptions) -> bool:
    """Whether `extra_args` asks for prompts to be echoed as `UserMessage`s."""
    return any(str(flag).removeprefix("--") == REPLAY_USER_MESSAGES_FLAG for flag in options.extra_args)


_DEFAULTS = {f.name: f for f in dataclasses.fields(AgentOptions)}


def _is_default(name: str, value: Any) -> bool:
    spec = _DEFAULTS[name]
    if spec.default is not dataclasses.MISSING:
        return bool(value == spec.default)
    if spec.default_factory is not dataclasses.MISSING:
        return bool(value == spec.default_factory())
    return False  # pragma: no cover - every field has a default


def check_options(options: AgentOptions) -> None:
    """Raise at run start for an unsupported option, a malformed value, or contradicting options."""
    _check_values(options)
    for name, reason in UNSUPPORTED_OPTIONS.items():
        value = getattr(options, name)
        if not _is_default(name, value) and value not in _ALSO_ACCEPTED.get(name, ()):
            raise UnsupportedOptionError(name, reason)
    _check_extra_args(options.extra_args)
    _check_sessions(options)


def _check_values(options: AgentOptions) -> None:
    if options.permission_mode is not None:
        validate_permission_mode(options.permission_mode)
    if options.session_store_flush not in SESSION_STORE_FLUSH_MODES:
        raise ConfigurationError(
            f"session_store_flush must be one of {', '.join(SESSION_STORE_FLUSH_MODES)}, "
            f"not {options.session_store_flush!r}"
        )
    if options.store_timeout is not None:
        seconds_option("store_timeout", options.store_timeout)
    timeout = options.load_timeout_ms
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise ConfigurationError(f"load_timeout_ms must be a whole number of milliseconds >= 0, not {timeout!r}")
    if options.task_budget is not None:
        total = options.task_budget.get("total") if isinstance(options.task_budget, Mapping) else None
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ConfigurationError(
                f"task_budget must be {{'total': <tokens, at least 1>}}, not {options.task_budget!r}"
            )


def _check_extra_args(extra_args: Mapping[str, str | None]) -> None:
    for flag in extra_args:
        if str(flag).removeprefix("--") not in (*DIAGNOSTIC_CLI_FLAGS, REPLAY_USER_MESSAGES_FLAG):
            raise UnsupportedOptionError(
                "extra_args",
                f"there is no Claude Code CLI to pass --{str(flag).removeprefix('--')} to "
                f"(accepted: --{REPLAY_USER_MESSAGES_FLAG}, and the diagnostic flags "
                f"{', '.join(sorted(DIAGNOSTIC_CLI_FLAGS))} without effect)",
            )


def _check_sessions(options: AgentOptions) -> None:
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
    if options.fork_workspace is not None and not options.fork_session:
        raise ConfigurationError("fork_workspace needs fork_session=True (it is the new branch's own directory)")
    if options.turn_id is not None and not options.durable:
        raise ConfigurationError("turn_id needs durable=True (a turn id names a durable turn)")
    if options.max_turns is not None and options.max_turns < 1:
        raise ConfigurationError(f"max_turns must be at least 1, not {options.max_turns}")
