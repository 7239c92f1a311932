"""When compaction fires (Claude Code's threshold and settings), and what a summary request may hold."""

from __future__ import annotations

from typing import Any

import pytest

from tether.agent.compaction import chunks_of, compact_command, split_tail
from tether.agent.context_window import CompactionPolicy, is_prompt_too_long, reported_tokens
from tether.errors import ModelError
from tether.models.limits import limits_for


def policy(model: str, **env: str) -> CompactionPolicy:
    return CompactionPolicy.for_model(limits_for(model), env)


def test_the_threshold_is_claude_codes() -> None:
    claude = policy("claude-sonnet-4-5-20250929")
    assert (claude.window, claude.threshold, claude.summary_tokens) == (200_000, 167_000, 20_000)
    assert policy("claude-sonnet-4-5", CLAUDE_AUTOCOMPACT_PCT_OVERRIDE="50").threshold == 90_000
    assert policy("claude-sonnet-4-5", CLAUDE_AUTOCOMPACT_PCT_OVERRIDE="95").threshold == 167_000  # never later
    assert policy("claude-sonnet-4-5", CLAUDE_CODE_AUTO_COMPACT_WINDOW="100000").threshold == 67_000
    assert (
        policy("claude-sonnet-4-5", CLAUDE_CODE_AUTO_COMPACT_WINDOW="900000").window == 200_000
    )  # at most the model's
    assert policy("openai:gpt-4o-2024-08-06").threshold == 128_000 - 16_384 - 13_000
    local = policy("local:smollm2")
    assert local.window == 8_192 and 0 < local.threshold < 8_192 - 512  # room for the local model's reply
    unknown = policy("my-own-model")
    assert (unknown.window, unknown.threshold) == (0, 0)  # no automatic compaction on an unknown window
    assert policy("my-own-model", CLAUDE_CODE_AUTO_COMPACT_WINDOW="4000").threshold > 0
    assert not policy("claude-sonnet-4-5", DISABLE_AUTO_COMPACT="1").auto
    off = policy("claude-sonnet-4-5", DISABLE_COMPACT="true")
    assert not off.enabled and not off.auto


def test_compact_commands() -> None:
    assert compact_command("/compact") == ""
    assert compact_command("  /compact keep the API names \n") == "keep the API names"
    assert compact_command("/compact\nfocus on tests") == "focus on tests"
    assert compact_command([{"type": "text", "text": "/compact now"}]) == "now"
    assert compact_command("/compaction") is None
    assert compact_command("please /compact") is None
    assert compact_command("/compact", verbatim=True) is None


ANTHROPIC_TOO_LONG = {
    "type": "error",
    "error": {"type": "invalid_request_error", "message": "prompt is too long: 210345 tokens > 200000 maximum"},
}
OPENAI_TOO_LONG = {
    "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
    "130001 tokens. Please reduce the length of the messages.",
    "code": "context_length_exceeded",
}
LOCAL_TOO_LONG = "the prompt is 9000 tokens, more than the local model's context of 8192 tokens minus 512 for the reply"


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (ModelError("rejected", status_code=400, body=ANTHROPIC_TOO_LONG), (210_345, 200_000)),
        (ModelError("rejected", status_code=400, body=OPENAI_TOO_LONG), (130_001, 128_000)),
        (ModelError(LOCAL_TOO_LONG, provider="local"), (9000, 8192)),
    ],
)
def test_prompt_too_long_is_recognised_on_every_provider(error: ModelError, counts: tuple[int, int]) -> None:
    assert is_prompt_too_long(error) and reported_tokens(error) == counts


def test_other_errors_are_not_prompt_too_long() -> None:
    overloaded = {"error": {"message": "prompt is too long"}}
    assert not is_prompt_too_long(ModelError("overloaded", status_code=529, body=overloaded))
    assert not is_prompt_too_long(ModelError("bad request", status_code=400, body={"error": {"message": "bad"}}))


def history(turns: int) -> list[dict[str, Any]]:
    """Turns of a prompt, a tool call, its result and an answer (API messages)."""
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        messages.append({"role": "user", "content": [{"type": "text", "text": f"prompt {n} " * 40}]})
        call = {"type": "tool_use", "id": f"t{n}", "name": "Read", "input": {"file_path": f"/f{n}"}}
        messages.append({"role": "assistant", "content": [call]})
        result = {"type": "tool_result", "tool_use_id": f"t{n}", "content": "x" * (200 + 500 * (n % 3))}
        messages.append({"role": "user", "content": [result]})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": f"answer {n}"}]})
    return messages


def valid(messages: list[dict[str, Any]]) -> bool:
    """Every tool result answers a call made earlier in `messages` (what a provider requires)."""
    called: set[str] = set()
    for message in messages:
        for block in message["content"]:
            if block["type"] == "tool_use":
                called.add(block["id"])
            elif block["type"] == "tool_result" and block["tool_use_id"] not in called:
                return False
    return True


@pytest.mark.parametrize("budget", [0, 100, 600, 5_000])
def test_the_kept_tail_and_the_summarised_parts_are_valid_requests(budget: int) -> None:
    messages = history(12)
    head, tail = split_tail(messages, budget)
    assert head + tail == messages and tail and valid(tail)
    chunks = chunks_of(head, max(budget, 200))
    assert all(valid(chunk) for chunk in chunks)
    assert sum(len(chunk) for chunk in chunks) == len(head)


def test_the_window_figures_of_get_context_usage() -> None:
    from tether.agent.compaction import Compactor

    fields = Compactor(policy("claude-sonnet-4-5")).window_fields()
    assert fields == {
        "maxTokens": 180_000,
        "rawMaxTokens": 200_000,
        "isAutoCompactEnabled": True,
        "autoCompactThreshold": 167_000,
    }
    assert (
        Compactor(policy("claude-sonnet-4-5", DISABLE_AUTO_COMPACT="1")).window_fields()["isAutoCompactEnabled"]
        is False
    )


def test_a_message_counts_a_quarter_of_its_json_and_media_a_flat_figure() -> None:
    from tether.agent.context_window import MEDIA_TOKENS, estimate_tokens, message_tokens

    call = {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/w/" + "x" * 400}}
    message = {"role": "assistant", "content": [call]}
    as_json = len('[{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"/w/' + "x" * 400 + '"}}]')
    assert message_tokens(message) == 4 + -(-as_json // 4)
    assert estimate_tokens([message, message]) == 2 * message_tokens(message)
    assert message_tokens({"role": "user", "content": "y" * 40}) == 4 + 10
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A" * 100_000}}
    shown = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [image]}]}
    assert message_tokens(shown) == 4 + 4 + MEDIA_TOKENS  # the base64 data is not counted as text
    thinking = {"type": "thinking", "thinking": "z" * 80, "signature": "S" * 5_000}
    assert message_tokens({"role": "assistant", "content": [thinking]}) == 4 + 20  # nor the signature


def test_each_message_is_counted_once_until_its_content_grows() -> None:
    from tether.agent.context_window import MessageTokens, message_tokens

    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "a" * 100}]},
        {"role": "assistant", "content": [{"type": "text", "text": "b" * 200}]},
    ]
    counted = MessageTokens()
    assert counted.sizes(messages) == [message_tokens(m) for m in messages]
    messages[-1]["content"].append({"type": "text", "text": "c" * 400})  # the history grows in place
    messages.append({"role": "user", "content": [{"type": "text", "text": "d"}]})
    assert counted.sizes(messages) == [message_tokens(m) for m in messages]
    messages[0] = {"role": "user", "content": "replaced"}
    assert counted.total(messages) == sum(message_tokens(m) for m in messages)
