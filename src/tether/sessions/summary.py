"""Session summaries: the few facts a listing shows, folded incrementally as entries arrive.

Every store keeps one summary dict per session and updates it inside `append` with
`fold_summary`, so listing never reads transcripts. The dict is written in its final form, the
one both tether's listings and the Claude Agent SDK's `list_sessions_from_store` read, so a
listing decodes it and nothing more. Fields:

`title` (latest `custom-title`, else `ai-title`, else legacy `summary`), `custom_title` (the
custom title's text; present once a custom title was set, after which AI titles are ignored),
`ai_title` (the title's text when it is not custom), `first_prompt` (with `first_prompt_locked`),
`tag`, `cwd`, `created_at` (epoch milliseconds of the first entry with a timestamp), `message_count` (entries
carrying a uuid), `total_cost_usd` (latest `cost-state`), `forked_from` (`{"sessionId",
"messageUuid"}`), `git_branch`, `is_sidechain`.

Summaries stored before this form (`custom_title: True` as a flag, `created_at` an ISO string,
no `is_sidechain`) are converted when read (`current_summary`): `is_sidechain` marks the form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = [
    "current_summary",
    "epoch_ms",
    "first_prompt_of",
    "fold_summary",
    "fork_summary",
    "sdk_summary_data",
]

_PROMPT_LIMIT = 200
_FORM_MARKER = "is_sidechain"
"""The key every summary in the current form has (older stored summaries lack it)."""


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
        text = " ".join(t for t in texts if isinstance(t, str))
    else:
        return None
    text = " ".join(text.split())
    return text[:_PROMPT_LIMIT] if text else None


def fold_summary(previous: dict[str, Any] | None, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary after `entries` are appended to a session whose summary was `previous`.

    Metadata entries count by their type, with or without a uuid (the Claude Agent SDK's
    `rename_session_via_store` writes its `custom-title` entry with one). Entries that are not
    dicts are skipped.
    """
    summary: dict[str, Any] = current_summary(dict(previous)) if previous else {"message_count": 0, _FORM_MARKER: False}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if "created_at" not in summary and isinstance(entry.get("timestamp"), str):
            created = epoch_ms(entry["timestamp"])  # the first timestamp, of any entry (as the SDK reads it)
            if created is not None:
                summary["created_at"] = created
        if entry.get("uuid"):
            _fold_uuid_entry(summary, entry)
        fold = _METADATA.get(str(entry.get("type")))
        if fold is not None:
            fold(summary, entry)
    return summary


def _fold_uuid_entry(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    count = summary.get("message_count")
    summary["message_count"] = (count if isinstance(count, int) else 0) + 1
    if entry.get("type") in _METADATA:
        return
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
            summary["first_prompt_locked"] = True


def _set_title(summary: dict[str, Any], title: Any, *, custom: bool = False) -> None:
    """Set the title and the SDK's title keys with it (`custom_title` once custom, else `ai_title`)."""
    summary["title"] = title if isinstance(title, str) and title else None
    if custom or "custom_title" in summary:
        summary["custom_title"] = summary["title"]
        summary.pop("ai_title", None)
    elif summary["title"]:
        summary["ai_title"] = summary["title"]
    else:
        summary.pop("ai_title", None)


def _custom_title(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    _set_title(summary, entry.get("customTitle"), custom=True)


def _ai_title(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    if "custom_title" not in summary:
        _set_title(summary, entry.get("aiTitle"))


def _legacy_summary(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    if not summary.get("title"):
        _set_title(summary, entry.get("summary"))


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
    summary: dict[str, Any] = current_summary(dict(source)) if source else {_FORM_MARKER: False}
    summary["message_count"] = message_count
    summary["forked_from"] = forked_from
    return summary


def current_summary(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a summary dict nobody else holds, e.g. one just decoded) in the current form; returns it.

    A summary in the current form is returned as it is (one key lookup); one stored before it
    (`custom_title: True` as a flag, `created_at` an ISO string) is converted in place.
    """
    if _FORM_MARKER in data:
        return data
    title = data.get("title") if isinstance(data.get("title"), str) and data.get("title") else None
    if data.get("custom_title") is True:
        data["custom_title"] = title
    else:
        data.pop("custom_title", None)
        if title:
            data["ai_title"] = title
    if data.get("first_prompt"):
        data["first_prompt_locked"] = True
    created = data.get("created_at")
    if isinstance(created, str):
        created = epoch_ms(created)
        if created is None:
            data.pop("created_at")
        else:
            data["created_at"] = created
    data[_FORM_MARKER] = False
    return data


def sdk_summary_data(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a summary in the current form: tether's fields and the Claude Agent SDK's.

    The SDK reads a stored summary with its own keys (`custom_title` the text of a custom title,
    `ai_title`, `first_prompt` with `first_prompt_locked`, `created_at` in epoch milliseconds,
    `is_sidechain`), so its `list_sessions_from_store` lists tether's sessions as its own.
    `fold_summary` writes this form; this converts one stored before it. Idempotent.
    """
    return current_summary(dict(data))


@functools.lru_cache(maxsize=4096)
def epoch_ms(timestamp: str) -> int | None:
    """An ISO timestamp in epoch milliseconds (remembered: listings read the same ones again)."""
    try:
        return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
