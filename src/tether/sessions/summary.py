"""Session summaries: the few facts a listing shows, folded incrementally as entries arrive.

Every store keeps one summary dict per session and updates it inside `append` with
`fold_summary`, so listing never reads transcripts. Fields:

`title` (latest `custom-title`, else `ai-title`, else legacy `summary`), `first_prompt`, `tag`,
`cwd`, `created_at` (ISO time of the first entry), `message_count` (entries carrying a uuid),
`total_cost_usd` (latest `cost-state`), `forked_from` (`{"sessionId", "messageUuid"}`), `git_branch`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["first_prompt_of", "fold_summary", "fork_summary"]

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
    """The summary after `entries` are appended to a session whose summary was `previous`."""
    summary: dict[str, Any] = dict(previous) if previous else {"message_count": 0}
    for entry in entries:
        kind = entry.get("type")
        if entry.get("uuid"):
            summary["message_count"] = summary.get("message_count", 0) + 1
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
        elif kind == "custom-title":
            summary["title"] = entry.get("customTitle") or None
            summary["custom_title"] = True
        elif kind == "ai-title" and not summary.get("custom_title"):
            summary["title"] = entry.get("aiTitle") or None
        elif kind == "summary" and not summary.get("title"):
            summary["title"] = entry.get("summary") or None
        elif kind == "tag":
            summary["tag"] = entry.get("tag") or None
        elif kind == "cost-state" and isinstance(entry.get("totalCostUSD"), (int, float)):
            summary["total_cost_usd"] = entry["totalCostUSD"]
    return summary


def fork_summary(source: dict[str, Any] | None, *, forked_from: dict[str, Any], message_count: int) -> dict[str, Any]:
    """The summary of a new fork, derived from its source's without reading any entry."""
    summary = dict(source or {})
    summary["message_count"] = message_count
    summary["forked_from"] = forked_from
    return summary
