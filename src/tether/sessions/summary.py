"""Session summaries: the few facts a listing shows, folded incrementally as entries arrive.

Every store keeps one summary dict per session and updates it inside `append` with
`fold_summary`, so listing never reads transcripts. Fields:

`title` (latest `custom-title`, else `ai-title`, else legacy `summary`), `first_prompt`, `tag`,
`cwd`, `created_at` (ISO time of the first entry), `message_count` (entries carrying a uuid),
`total_cost_usd` (latest `cost-state`), `forked_from` (`{"sessionId", "messageUuid"}`), `git_branch`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["add_sdk_keys", "epoch_ms", "first_prompt_of", "fold_summary", "fork_summary", "sdk_summary_data"]

_PROMPT_LIMIT = 200


def first_prompt_of(entry: dict[str, Any]) -> str | None:
    """The prompt text of a user entry, or None when it is not a typed prompt (tool results...)."""
    if entry.get("type") != "user" or entry.get("isMeta") or entry.get("isCompactSummary"):
        return None
    message = entry.get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        if not texts or any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
            return None
        text = " ".join(texts)
    else:
        return None
    text = " ".join(text.split())
    return text[:_PROMPT_LIMIT] if text else None


def fold_summary(previous: dict[str, Any] | None, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary after `entries` are appended to a session whose summary was `previous`.

    Metadata entries count by their type, with or without a uuid (the Claude Agent SDK's
    `rename_session_via_store` writes its `custom-title` entry with one).
    """
    summary: dict[str, Any] = dict(previous) if previous else {"message_count": 0}
    for entry in entries:
        if entry.get("uuid"):
            _fold_uuid_entry(summary, entry)
        fold = _METADATA.get(str(entry.get("type")))
        if fold is not None:
            fold(summary, entry)
    return summary


def _fold_uuid_entry(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    summary["message_count"] = summary.get("message_count", 0) + 1
    if entry.get("type") in _METADATA:
        return
    if "created_at" not in summary and entry.get("timestamp"):
        summary["created_at"] = entry["timestamp"]
    if "cwd" not in summary and entry.get("cwd"):
        summary["cwd"] = entry["cwd"]
    if "git_branch" not in summary and entry.get("gitBranch"):
        summary["git_branch"] = entry["gitBranch"]
    if "forked_from" not in summary and isinstance(entry.get("forkedFrom"), dict):
        summary["forked_from"] = entry["forkedFrom"]  # a fork copied by Claude Code's SDK
    if "first_prompt" not in summary:
        prompt = first_prompt_of(entry)
        if prompt:
            summary["first_prompt"] = prompt


def _custom_title(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    summary["title"] = entry.get("customTitle") or None
    summary["custom_title"] = True


def _ai_title(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    if not summary.get("custom_title"):
        summary["title"] = entry.get("aiTitle") or None


def _legacy_summary(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    if not summary.get("title"):
        summary["title"] = entry.get("summary") or None


def _tag(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    summary["tag"] = entry.get("tag") or None


def _cost(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    if isinstance(entry.get("totalCostUSD"), (int, float)):
        summary["total_cost_usd"] = entry["totalCostUSD"]


_METADATA: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "custom-title": _custom_title,
    "ai-title": _ai_title,
    "summary": _legacy_summary,
    "tag": _tag,
    "cost-state": _cost,
}
"""How each metadata entry type folds into the summary."""


def fork_summary(source: dict[str, Any] | None, *, forked_from: dict[str, Any], message_count: int) -> dict[str, Any]:
    """The summary of a new fork, derived from its source's without reading any entry."""
    summary = dict(source or {})
    summary["message_count"] = message_count
    summary["forked_from"] = forked_from
    return summary


def sdk_summary_data(data: dict[str, Any]) -> dict[str, Any]:
    """A summary as `list_session_summaries` returns it: tether's fields, and the Claude Agent SDK's.

    The SDK reads a stored summary with its own keys (`custom_title` the text of a custom title,
    `ai_title`, `first_prompt` with `first_prompt_locked`, `created_at` in epoch milliseconds,
    `is_sidechain`), so its `list_sessions_from_store` lists tether's sessions as its own.
    Idempotent; stores keep tether's form and convert when they return summaries this way.
    """
    return add_sdk_keys(dict(data))


def add_sdk_keys(data: dict[str, Any]) -> dict[str, Any]:
    """`sdk_summary_data` in place, on a summary dict nobody else holds (one just decoded); returns it."""
    title = data.get("title") if isinstance(data.get("title"), str) else None
    custom = data.get("custom_title")
    if custom is True:
        data["custom_title"] = title
    elif title and not isinstance(custom, str):
        data.pop("custom_title", None)
        data["ai_title"] = title
    if data.get("first_prompt"):
        data["first_prompt_locked"] = True
    created = data.get("created_at")
    if isinstance(created, str):
        data["created_at"] = epoch_ms(created)
    data.setdefault("is_sidechain", False)
    return data


@functools.lru_cache(maxsize=4096)
def epoch_ms(timestamp: str) -> int | None:
    """An ISO timestamp in epoch milliseconds (remembered: listings read the same ones again)."""
    try:
        return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
