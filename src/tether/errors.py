"""The exceptions tether raises.

```
ClaudeSDKError                    the root, as in the Claude Agent SDK: `except ClaudeSDKError` catches all
├── CLIConnectionError            a client used while not connected (tether has no CLI to connect to)
│   └── CLINotFoundError          the SDK's "Claude Code not found"; tether never raises it
├── ProcessError                  the SDK's CLI process failure; tether never raises it
│   └── ResultError               the SDK's failed-run error; tether reports an error ResultMessage instead
├── CLIJSONDecodeError            the SDK's undecodable CLI line; tether never raises it
└── TetherError                   everything tether itself raises
    ├── ConfigurationError            an option, model or store that cannot be used as given
    │   └── UnsupportedOptionError    an option tether does not implement (never silently ignored)
    ├── SessionError
    │   ├── SessionNotFoundError      resume / fork / load of an id the store does not hold
    │   │   └── SessionFileNotFoundError  ... from a session helper; also a FileNotFoundError
    │   ├── SessionConflictError      another writer moved the session since it was read
    │   ├── SessionBusyError          another process is running a turn on the session
    │   ├── ResumeRejectedError       resume_drops_turn refused a truncating resume (also a ProcessError)
    │   ├── SessionExistsError        a caller-chosen session id that is already taken
    │   ├── EntryNotFoundError        a message uuid (resume_session_at, fork point) not in the session; a ValueError
    │   └── InvalidSessionIdError     an id with path characters, control characters or garbage; a ValueError
    ├── StoreError                    a session store's database or server failed, or its data is damaged
    ├── ModelError                    the provider failed (after retries); carries status and body
    └── ToolError                     a tool failed; inside the loop this becomes an is_error result
```

The SDK's classes keep its constructors and attributes, so code that builds or inspects them
runs unchanged. Where the SDK raises `ValueError` tether's error is one too: developer mistakes
(`ConfigurationError`, `InvalidSessionIdError`, `SessionExistsError`) and a message uuid not in
the session (`EntryNotFoundError`); where it raises `FileNotFoundError` for a session it cannot
find, tether's helpers raise `SessionFileNotFoundError`.
"""

from __future__ import annotations

import re
from typing import Any

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

__all__ = [
    "CLIConnectionError",
    "CLIJSONDecodeError",
    "CLINotFoundError",
    "ClaudeSDKError",
    "ConfigurationError",
    "EntryNotFoundError",
    "FollowTimeoutError",
    "InvalidSessionIdError",
    "ModelError",
    "ProcessError",
    "ResultError",
    "ResumeRejectedError",
    "SessionBusyError",
    "SessionConflictError",
    "SessionError",
    "SessionExistsError",
    "SessionFileNotFoundError",
    "SessionNotFoundError",
    "StoreError",
    "TetherError",
    "ToolError",
    "UnsupportedOptionError",
]


class ClaudeSDKError(Exception):
    """The root of every error of the Claude Agent SDK's API, and so of every error tether raises."""


class CLIConnectionError(ClaudeSDKError):
    """A client was used while it is not connected (call `connect()` or use `async with` first)."""


class CLINotFoundError(CLIConnectionError):
    """The SDK's error for a missing Claude Code executable; tether runs no executable."""

    def __init__(self, message: str = "Claude Code not found", cli_path: str | None = None) -> None:
        self.cli_path = cli_path
        super().__init__(f"{message}: {cli_path}" if cli_path else message)


class ProcessError(ClaudeSDKError):
    """The SDK's error for a failed CLI process: `exit_code` and `stderr` when known."""

    def __init__(self, message: str, exit_code: int | None = None, stderr: str | None = None) -> None:
        self.exit_code = exit_code
        self.stderr = stderr
        if exit_code is not None:
            message += f" (exit code: {exit_code})"
        if stderr:
            message += f"\nError output: {stderr}"
        super().__init__(message)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _error_strings(value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


class ResultError(ProcessError):
    """A run that ended with an error result, with that result's fields as attributes.

    `data` is the result in its wire form (`subtype`, `errors`, `result`, `api_error_status`,
    `terminal_reason`, `session_id`); tether itself reports such runs as an error `ResultMessage`.
    """

    def __init__(self, message: str, data: dict[str, Any] | None = None, exit_code: int | None = None) -> None:
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.subtype = _text(self.data.get("subtype"))
        self.errors = _error_strings(self.data.get("errors"))
        self.result = _text(self.data.get("result"))
        status = self.data.get("api_error_status")
        self.api_error_status: int | None = status if isinstance(status, int) else None
        self.terminal_reason = _text(self.data.get("terminal_reason"))
        self.session_id = _text(self.data.get("session_id"))
        super().__init__(message, exit_code=exit_code)


class CLIJSONDecodeError(ClaudeSDKError):
    """The SDK's error for a CLI output line that is not JSON: the `line` and the `original_error`."""

    def __init__(self, line: str, original_error: Exception) -> None:
        self.line = line
        self.original_error = original_error
        super().__init__(f"Failed to decode JSON: {line[:100]}...")


class TetherError(ClaudeSDKError):
    """Base class of every error tether raises (a `ClaudeSDKError`, as SDK code expects)."""


class ConfigurationError(TetherError, ValueError):
    """An option, model or store cannot be used as given; the message says what to change."""


class UnsupportedOptionError(ConfigurationError):
    """An option that tether (or the chosen model) cannot honour was set; `detail` says why."""

    def __init__(self, option: str, detail: str = "") -> None:
        self.option = option
        message = f"the option {option!r} is not supported"
        super().__init__(f"{message}: {detail}" if detail else message)


class SessionError(TetherError):
    """Base class of errors about a stored session."""


class SessionNotFoundError(SessionError, LookupError):
    """No session with this id exists in the store (in this scope)."""

    def __init__(self, session_id: str, detail: str = "") -> None:
        self.session_id = session_id
        message = f"no session with id {session_id!r} in the session store"
        super().__init__(f"{message} ({detail})" if detail else message)


class SessionFileNotFoundError(SessionNotFoundError, FileNotFoundError):
    """No session with this id, from a session helper: tether's `SessionNotFoundError` and the
    `FileNotFoundError` the Claude SDK's helpers raise (its sessions are files).

    For an id that is not a UUID it is also an `InvalidSessionIdError` (a `ValueError`), as the
    SDK's helpers refuse such an id (tether accepts plain ids, so one that exists is found)."""

    def __init__(self, session_id: str, detail: str = "") -> None:
        self.session_id = session_id
        message = f"no session with id {session_id!r} in the session store: session not found"
        Exception.__init__(self, f"{message} ({detail})" if detail else message)


class SessionConflictError(SessionError):
    """Another writer appended to the session since this writer last read it.

    Nothing was written by the failing append. Reload (resume again) and retry.
    """

    def __init__(self, session_id: str, expected_leaf: str | None, actual_leaf: str | None) -> None:
        self.session_id = session_id
        self.expected_leaf = expected_leaf
        self.actual_leaf = actual_leaf
        super().__init__(
            f"session {session_id!r} was changed by another writer: expected its last entry to be "
            f"{expected_leaf!r} but it is {actual_leaf!r}; nothing was written, resume and retry"
        )


class ResumeRejectedError(SessionError, ProcessError):
    """`resume_drops_turn` refused a truncating resume: what follows `resume_session_at` is not
    all that turn's. Nothing was written. Also a `ProcessError`, whose message contains
    `Resume rejected by --resume-drops-turn:` as the Claude Agent SDK's does."""

    def __init__(self, session_id: str, reason: str) -> None:
        self.session_id = session_id
        ProcessError.__init__(self, f"Resume rejected by --resume-drops-turn: {reason} (session {session_id!r})")


class SessionBusyError(SessionError):
    """Another process is running a turn on the session (it holds the session's lease).

    Nothing was written. Retry later, or wait for it with `AgentOptions(session_busy_timeout=...)`.
    """

    def __init__(self, session_id: str, holder: str, seconds_left: float) -> None:
        self.session_id = session_id
        self.holder = holder
        self.seconds_left = seconds_left
        super().__init__(
            f"session {session_id!r} is busy: {holder} is running a turn on it (its lease lapses in "
            f"{seconds_left:.0f} s unless renewed); nothing was written, retry later or set session_busy_timeout"
        )


class SessionExistsError(SessionError, ValueError):
    """A new session (or fork) was asked for with an id that is already in use."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"a session with id {session_id!r} already exists; choose another id")


class EntryNotFoundError(SessionError, LookupError, ValueError):
    """A message uuid that is not part of the session (for `resume_session_at` or a fork point).

    Also a `ValueError`, as the SDK's `fork_session` raises for an unknown `up_to_message_id`."""

    def __init__(self, session_id: str, uuid: str) -> None:
        self.session_id = session_id
        self.uuid = uuid
        super().__init__(f"message {uuid!r} not found in session {session_id!r}")


class FollowTimeoutError(SessionError, TimeoutError):
    """Following a session (`tether.follow`) saw nothing new stored for `timeout` seconds."""

    def __init__(self, session_id: str, timeout: float) -> None:
        self.session_id = session_id
        self.timeout = timeout
        super().__init__(f"session {session_id!r}: nothing new was stored for {timeout:g} s while following it")


class InvalidSessionIdError(SessionError, ValueError):
    """A session id that is not a plain identifier (path characters, control characters...)."""

    def __init__(self, session_id: object, reason: str) -> None:
        self.session_id = session_id
        super().__init__(f"invalid session id {session_id!r}: {reason}")


class _PlainIdNotFoundError(SessionFileNotFoundError, InvalidSessionIdError):  # type: ignore[misc]  # session_id: str, as in both
    """A `SessionFileNotFoundError` for an id that is not a UUID: also an `InvalidSessionIdError`."""

    def __init__(self, session_id: str, detail: str = "") -> None:
        self.session_id = session_id
        message = (
            f"Invalid session_id {session_id!r}: no session with id {session_id!r} in the session store, nor a UUID"
        )
        Exception.__init__(self, f"{message} ({detail})" if detail else message)


def is_uuid(text: str) -> bool:
    """Whether `text` is a UUID (what the Claude SDK's helpers demand of session and message ids)."""
    return _UUID.fullmatch(text) is not None


def session_file_not_found(session_id: str, detail: str = "") -> SessionFileNotFoundError:
    """The `SessionFileNotFoundError` for `session_id`: also an `InvalidSessionIdError` when it is not a UUID."""
    if is_uuid(session_id):
        return SessionFileNotFoundError(session_id, detail)
    return _PlainIdNotFoundError(session_id, detail)


class StoreError(TetherError):
    """A session store failed: its database, file or server raised an error, or data it read is damaged.

    `store` names the store (e.g. `SQLiteStore('/home/me/.tether/sessions.db')`), `operation` the
    call that failed (`append`, `load`, `list_sessions`...), `reason` what went wrong; the driver's
    exception, if any, is the `__cause__`.
    """

    def __init__(self, store: str, operation: str, reason: str) -> None:
        self.store = store
        self.operation = operation
        self.reason = reason
        super().__init__(f"{store}: {operation} failed: {reason}")


class ModelError(TetherError):
    """The model provider failed, after any retries.

    `status_code` is the HTTP status when there was one; `body` the provider's error body.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        provider: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.provider = provider
        super().__init__(message)


class ToolError(TetherError):
    """A tool failed. Raised by tools; the agent loop turns it into an `is_error` tool result."""
