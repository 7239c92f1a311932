"""Session summaries folded from entries, as listings show them."""

from __future__ import annotations

from typing import Any

from tether.sessions.summary import current_summary, fold_summary


def test_summary_takes_lineage_branch_title_tag_and_cost_from_entries() -> None:
    origin = {"sessionId": "a1", "messageUuid": "u0"}
    entries: list[dict[str, Any]] = [
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
        "created_at": 1767225600000,
        "cwd": "/p",
        "git_branch": "main",
        "forked_from": origin,
        "first_prompt": "Plan the   trip",  # as the SDK keeps it: only line breaks become spaces
        "first_prompt_locked": True,
        "title": "Trip",
        "custom_title": "Trip",
        "tag": "travel",
        "total_cost_usd": 0.5,
        "is_sidechain": False,
    }
    assert "tag" not in fold_summary(summary, [{"type": "tag", "tag": ""}])


def test_the_summary_carries_the_claude_sdks_keys_and_the_sdk_reads_it() -> None:
    from claude_agent_sdk._internal.session_summary import summary_entry_to_sdk_info

    entries: list[dict[str, Any]] = [
        {"type": "user", "uuid": "u1", "timestamp": "2026-01-01T00:00:00.000Z",
         "message": {"role": "user", "content": "Plan the trip"}},
        {"type": "ai-title", "aiTitle": "An AI title"},
    ]  # fmt: skip
    summary = fold_summary(None, entries)
    assert (summary["title"], summary["ai_title"], "custom_title" in summary) == ("An AI title", "An AI title", False)
    titled = fold_summary(summary, [{"type": "custom-title", "customTitle": "Mine"}])
    assert (titled["title"], titled["custom_title"], titled["ai_title"]) == ("Mine", "Mine", "An AI title")
    assert fold_summary(titled, [{"type": "ai-title", "aiTitle": "ignored"}])["title"] == "Mine"
    info = summary_entry_to_sdk_info({"session_id": "s1", "mtime": 1767225600001, "data": titled}, None)
    assert info is not None
    assert (info.custom_title, info.first_prompt, info.created_at) == ("Mine", "Plan the trip", 1767225600000)


def test_a_summary_stored_before_the_sdk_keys_reads_as_one_folded_now() -> None:
    entries: list[dict[str, Any]] = [
        {"type": "user", "uuid": "u1", "cwd": "/p", "timestamp": "2026-01-01T00:00:00.000Z",
         "message": {"role": "user", "content": "Plan the trip"}},
        {"type": "custom-title", "customTitle": "Trip"},
    ]  # fmt: skip
    stored_before = {
        "message_count": 1,
        "created_at": "2026-01-01T00:00:00.000Z",
        "cwd": "/p",
        "first_prompt": "Plan the trip",
        "title": "Trip",
        "custom_title": True,
    }
    assert current_summary(dict(stored_before)) == fold_summary(None, entries)
    untitled = {"message_count": 1, "title": "Legacy", "first_prompt": "x"}
    assert current_summary(untitled) == {
        "message_count": 1,
        "title": "Legacy",
        "ai_title": "Legacy",
        "first_prompt": "x",
        "first_prompt_locked": True,
        "is_sidechain": False,
    }
    again = fold_summary(stored_before, [{"type": "ai-title", "aiTitle": "ignored after a custom title"}])
    assert (again["title"], again["custom_title"], again["created_at"]) == ("Trip", "Trip", 1767225600000)


def test_the_summary_folds_the_sdks_data_keys_as_the_sdk_does() -> None:
    from claude_agent_sdk import fold_session_summary as sdk_fold

    key = {"project_key": "p", "session_id": "s1"}
    batches: list[list[dict[str, Any]]] = [
        [{"type": "user", "isSidechain": False, "cwd": "/a", "gitBranch": "main",
          "message": {"role": "user", "content": "<command-name>/init</command-name>"}},
         {"type": "user", "uuid": "u1", "timestamp": "2026-01-01T00:00:00Z", "cwd": "/b",
          "message": {"role": "user", "content": [{"type": "text", "text": "<tick>"},
                                                  {"type": "text", "text": "x" * 300}]}},
         {"type": "ai-title", "aiTitle": "AI"}, {"type": "tag", "tag": "wip"}],
        [{"type": "custom-title", "customTitle": "Mine"}, {"type": "summary", "summary": "legacy"},
         {"type": "user", "uuid": "u2", "gitBranch": "dev", "lastPrompt": "later"}, {"type": "tag", "tag": ""}],
    ]  # fmt: skip
    ours: dict[str, Any] | None = None
    theirs: Any = None
    for batch in batches:
        ours = fold_summary(ours, batch)
        theirs = sdk_fold(theirs, key, batch)  # type: ignore[arg-type]
        assert ours == {**ours, **theirs["data"]}  # every key of the SDK's, with the SDK's value
    assert ours is not None
    assert (ours["title"], ours["message_count"], ours["first_prompt"][-1]) == ("Mine", 2, "\u2026")
