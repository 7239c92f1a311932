"""Session summaries: the few facts a listing shows, folded incrementally as entries arrive.

Every store keeps one summary dict per session and updates it inside `append` with
`fold_summary`, so listing never reads transcripts. The dict is the Claude Agent SDK's summary
`data` (what its `fold_session_summary` folds, with the same rules) plus keys of tether's own:

- the SDK's: `is_sidechain` (of the first entry), `created_at` (the first timestamp, epoch
  milliseconds), `cwd` (the first), `first_prompt` with `first_prompt_locked` (the first typed
  prompt, slash commands and hook output skipped, cut to 200 characters with an ellipsis) or
  `command_fallback` (the first slash command), the latest `custom_title`, `ai_title`,
  `last_prompt`, `summary_hint` (a legacy `summary`) and `git_branch` of any entry carrying them,
  and `tag` (the latest `tag` entry's; an empty one removes the key);
- tether's: `title` (`custom_title`, else `ai_title`, else `summary_hint`), `message_count`
  (entries carrying a uuid), `total_cost_usd` (latest `cost-state`), `forked_from`
  (`{"sessionId", "messageUuid"}`), `model` (of the latest assistant message naming one).

Summaries stored by tether before this form (`custom_title: True` as a flag, `created_at` an
ISO string, `message_count` but no `is_sidechain`) are converted when read (`current_summary`).
"""

from __future__ import annotations

import functools
import re
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
"""The key every folded summary has (older tether summaries lack it)."""
_LAST_WINS = {
    "customTitle": "custom_title",
    "aiTitle": "ai_title",
    "lastPrompt": "last_prompt",
    "summary": "summary_hint",
    "gitBranch": "git_branch",
}
"""Entry fields whose latest string value the summary keeps, and its key for it."""
_TITLE_KEYS = ("custom_title", "ai_title", "summary_hint")
"""The summary keys tether's `title` comes from, first found wins."""
_COMMAND = re.compile(r"<command-name>(.*?)</command-name>")
_NOT_A_PROMPT = re.compile(
    r"^(?:<local-command-stdout>|<session-start-hook>|<tick>|<goal>|\[Request interrupted by user[^\]]*\]"
    r"|\s*<ide_opened_file>[\s\S]*</ide_opened_file>\s*$|\s*<ide_selection>[\s\S]*</ide_selection>\s*$)"
)
"""Text Claude Code puts in user entries that no one typed (command output, hooks, IDE context)."""


def _prompt_texts(entry: dict[str, Any]) -> list[str] | None:
    """The text blocks of a user entry someone could have typed; None for meta entries, compaction
    summaries and tool results."""
    if entry.get("type") != "user" or entry.get("isMeta") or entry.get("isCompactSummary"):
        return None
    message = entry.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list) or any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return None
    return [
        b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]


def first_prompt_of(entry: dict[str, Any]) -> str | None:
    """The prompt text of a user entry, or None when it is not a typed prompt (tool results...)."""
    texts = _prompt_texts(entry)
    text = " ".join(" ".join(texts).split()) if texts else ""
    return text[:_PROMPT_LIMIT] if text else None


def _fold_first_prompt(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    for raw in _prompt_texts(entry) or ():
        text = raw.replace("\n", " ").strip()
        if not text:
            continue
        command = _COMMAND.search(text)
        if command is not None:
            summary.setdefault("command_fallback", command.group(1))
            continue
        if _NOT_A_PROMPT.match(text):
            continue
        summary["first_prompt"] = text if len(text) <= _PROMPT_LIMIT else text[:_PROMPT_LIMIT].rstrip() + "\u2026"
        summary["first_prompt_locked"] = True
        return


def _fold_first(summary: dict[str, Any], entry: dict[str, Any]) -> None:
    """The set-once keys: the first entry's `is_sidechain`, then the first timestamp, cwd and prompt."""
    if _FORM_MARKER not in summary:
        summary[_FORM_MARKER] = entry.get("isSidechain") is True
    if "created_at" not in summary and isinstance(entry.get("timestamp"), str):
        created = epoch_ms(entry["timestamp"])
        if created is not None:
            summary["created_at"] = created
    if "cwd" not in summary and isinstance(entry.get("cwd"), str) and entry["cwd"]:
        summary["cwd"] = entry["cwd"]
    if not summary.get("first_prompt_locked") and entry.get("type") == "user":
        _fold_first_prompt(summary, entry)


def fold_summary(previous: dict[str, Any] | None, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary after `entries` are appended to a session whose summary was `previous`
    (not changed). Entries that are not dicts are skipped."""
    summary: dict[str, Any] = current_summary(dict(previous)) if previous else {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        _fold_first(summary, entry)
        count = summary.get("message_count")
        summary["message_count"] = (count if isinstance(count, int) else 0) + (1 if entry.get("uuid") else 0)
        retitled = False
        for field_name, key in _LAST_WINS.items():
            value = entry.get(field_name)
            if isinstance(value, str):
                summary[key] = value
                retitled = True
        if retitled:
            summary["title"] = next((summary[k] for k in _TITLE_KEYS if summary.get(k)), None)
        kind = entry.get("type")
        if kind == "tag":
            if isinstance(entry.get("tag"), str) and entry["tag"]:
                summary["tag"] = entry["tag"]
            else:
                summary.pop("tag", None)
        elif kind == "cost-state" and isinstance(entry.get("totalCostUSD"), (int, float)):
            summary["total_cost_usd"] = entry["totalCostUSD"]
        elif "forked_from" not in summary and isinstance(entry.get("forkedFrom"), dict) and entry.get("uuid"):
            summary["forked_from"] = entry["forkedFrom"]  # a fork copied by Claude Code's SDK
        if kind == "assistant" and isinstance(entry.get("message"), dict) and entry["message"].get("model"):
            summary["model"] = str(entry["message"]["model"])
    return summary


def fork_summary(source: dict[str, Any] | None, *, forked_from: dict[str, Any], message_count: int) -> dict[str, Any]:
    """The summary of a new fork, derived from its source's without reading any entry."""
    summary: dict[str, Any] = current_summary(dict(source)) if source else {_FORM_MARKER: False}
    summary["message_count"] = message_count
    summary["forked_from"] = forked_from
    return summary


def current_summary(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a summary dict nobody else holds, e.g. one just decoded) in the current form; returns it.

    A summary folded by `fold_summary` or by the Claude SDK is returned as it is (two key
    lookups); one tether stored before (`custom_title: True` as a flag, `created_at` an ISO
    string, no `is_sidechain`) is converted in place.
    """
    if _FORM_MARKER in data or "message_count" not in data:
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
    if not data.get("tag"):
        data.pop("tag", None)
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
