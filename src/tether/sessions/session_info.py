"""What the session helpers return: `SessionInfo` (the SDK's `SDKSessionInfo`), `SessionMessage`,
`ForkSessionResult`, and the `SessionInfo` of a store's summary (`session_info_from_summary`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tether.sessions.summary import epoch_ms

__all__ = ["ForkSessionResult", "SessionInfo", "SessionMessage", "session_info_from_summary"]


@dataclass
class SessionInfo:
    """What a listing knows of a session (the Claude SDK's `SDKSessionInfo`, plus tether's fields).

    Times are epoch milliseconds, as in the Claude SDK. `summary` is the display title: the
    custom title, else the AI or legacy summary title, else the first prompt. `file_size` is
    set only by file stores; `message_count` is None when a file store did not read the whole
    file to list it.
    """

    session_id: str
    summary: str
    last_modified: int
    file_size: int | None = None
    custom_title: str | None = None
    first_prompt: str | None = None
    git_branch: str | None = None
    cwd: str | None = None
    tag: str | None = None
    created_at: int | None = None
    title: str | None = None
    """The custom or AI-generated title, if any (without the first-prompt fallback of `summary`)."""
    message_count: int | None = None
    """Entries carrying a uuid (messages and other chain entries) in the session's view."""
    forked_from: dict[str, Any] | None = None
    """`{"sessionId", "messageUuid"}` of the fork point, for a fork."""
    total_cost_usd: float | None = None
    project_key: str | None = None
    skipped_entries: int = 0
    """Entries of the transcript found unreadable (damaged lines or rows) and skipped when this process
    loaded it; set by `get_session_info` (the store's log says what they were)."""


@dataclass
class SessionMessage:
    """One message of a session's active branch (the Claude SDK's `SessionMessage`).

    `message` is the Anthropic Messages API dict as stored. Claude Code writes one assistant
    entry per content block, so one API response may be several consecutive `SessionMessage`s.
    A subagent's messages carry the Agent call that started it (`parent_tool_use_id`) and the
    subagent that made that call (`parent_agent_id`), when its transcript records them.
    """

    type: Literal["user", "assistant"]
    uuid: str
    session_id: str
    message: dict[str, Any]
    parent_tool_use_id: str | None = None
    parent_agent_id: str | None = None


class ForkSessionResult(str):
    """The new session's id (a `str`), also readable as `.session_id` like the Claude SDK's result."""

    __slots__ = ()

    @property
    def session_id(self) -> str:
        """The id of the new session."""
        return str(self)


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value:
        return epoch_ms(value)
    return None


def _title_of(data: dict[str, Any]) -> str | None:
    """The summary's title; also reads a summary folded by the Claude SDK (`custom_title`/`ai_title` texts)."""
    for value in (data.get("title"), data.get("custom_title"), data.get("ai_title")):
        if isinstance(value, str) and value:
            return value
    return None


_SHOWN = ("custom_title", "ai_title", "last_prompt", "summary_hint")
"""The summary keys a listing shows before the title and the first prompt, in the SDK's order."""


def session_info_from_summary(
    session_id: str, mtime: int, data: dict[str, Any], project_key: str | None = None
) -> SessionInfo:
    """A `SessionInfo` from a store's summary dict (see `tether.sessions.summary`)."""
    title = _title_of(data)
    first_prompt = data.get("first_prompt") or None
    shown = next((data[k] for k in _SHOWN if isinstance(data.get(k), str) and data[k]), None)
    cost = data.get("total_cost_usd")
    count = data.get("message_count")
    origin = data.get("forked_from")
    return SessionInfo(
        session_id=session_id,
        summary=shown or title or first_prompt or "",
        last_modified=mtime,
        file_size=data.get("file_size") if isinstance(data.get("file_size"), int) else None,
        custom_title=title if data.get("custom_title") else None,
        first_prompt=first_prompt,
        git_branch=data.get("git_branch") or None,
        cwd=data.get("cwd") or None,
        tag=data.get("tag") or None,
        created_at=_epoch_ms(data.get("created_at")),
        title=title,
        message_count=count if isinstance(count, int) else None,
        forked_from=dict(origin) if isinstance(origin, dict) else None,
        total_cost_usd=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        project_key=project_key,
    )
