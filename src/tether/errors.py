"""The exceptions tether raises.

```
TetherError
├── ConfigurationError            an option, model or store that cannot be used as given
│   └── UnsupportedOptionError    an option tether does not implement (never silently ignored)
├── SessionError
│   ├── SessionNotFoundError      resume / fork / load of an id the store does not hold
│   ├── SessionConflictError      another writer moved the session since it was read
│   ├── SessionExistsError        a caller-chosen session id that is already taken
│   ├── EntryNotFoundError        a message uuid (resume_session_at, fork point) not in the session
│   └── InvalidSessionIdError     an id with path characters, control characters or garbage
├── ModelError                    the provider failed (after retries); carries status and body
└── ToolError                     a tool failed; inside the loop this becomes an is_error result
```

Developer mistakes (`ConfigurationError`, `InvalidSessionIdError`) are also `ValueError`s so
code that already catches `ValueError` keeps working.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "EntryNotFoundError",
    "InvalidSessionIdError",
    "ModelError",
    "SessionConflictError",
    "SessionError",
    "SessionExistsError",
    "SessionNotFoundError",
    "TetherError",
    "ToolError",
    "UnsupportedOptionError",
]


class TetherError(Exception):
    """Base class of every error tether raises."""


class ConfigurationError(TetherError, ValueError):
    """An option, model or store cannot be used as given; the message says what to change."""


class UnsupportedOptionError(ConfigurationError):
    """An option that tether does not implement was set to a non-default value."""

    def __init__(self, option: str, detail: str = "") -> None:
        self.option = option
        message = f"the option {option!r} is not supported by tether yet"
        super().__init__(f"{message}: {detail}" if detail else message)


class SessionError(TetherError):
    """Base class of errors about a stored session."""


class SessionNotFoundError(SessionError, LookupError):
    """No session with this id exists in the store (in this scope)."""

    def __init__(self, session_id: str, detail: str = "") -> None:
        self.session_id = session_id
        message = f"no session with id {session_id!r} in the session store"
        super().__init__(f"{message} ({detail})" if detail else message)


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


class SessionExistsError(SessionError, ValueError):
    """A new session (or fork) was asked for with an id that is already in use."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"a session with id {session_id!r} already exists; choose another id")


class EntryNotFoundError(SessionError, LookupError):
    """A message uuid that is not part of the session (for `resume_session_at` or a fork point)."""

    def __init__(self, session_id: str, uuid: str) -> None:
        self.session_id = session_id
        self.uuid = uuid
        super().__init__(f"session {session_id!r} has no message with uuid {uuid!r}")


class InvalidSessionIdError(SessionError, ValueError):
    """A session id that is not a plain identifier (path characters, control characters...)."""

    def __init__(self, session_id: object, reason: str) -> None:
        self.session_id = session_id
        super().__init__(f"invalid session id {session_id!r}: {reason}")


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
