"""Session summaries folded from entries, as listings show them."""

from __future__ import annotations

from tether.sessions.summary import fold_summary


def test_summary_takes_lineage_branch_title_tag_and_cost_from_entries() -> None:
    origin = {"sessionId": "a1", "messageUuid": "u0"}
    entries = [
        {"type": "user", "uuid": "u1", "cwd": "/p", "gitBranch": "main", "forkedFrom": origin,
         "timestamp": "2026-01-01T00:00:00.000Z", "message": {"role": "user", "content": "Plan the   trip"}},
        {"type": "assistant", "uuid": "u2",
         "message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}},
        {"type": "custom-title", "customTitle": "Trip"},
        {"type": "tag", "tag": "travel"},
        {"type": "cost-state", "totalCostUSD": 0.5},
    ]  # fmt: skip
    summary = fold_summary(None, entries[:2])
    summary = fold_summary(summary, entries[2:])
    assert summary == {
        "message_count": 2,
        "created_at": "2026-01-01T00:00:00.000Z",
        "cwd": "/p",
        "git_branch": "main",
        "forked_from": origin,
        "first_prompt": "Plan the trip",
        "title": "Trip",
        "custom_title": True,
        "tag": "travel",
        "total_cost_usd": 0.5,
    }
    assert fold_summary(summary, [{"type": "tag", "tag": ""}])["tag"] is None
