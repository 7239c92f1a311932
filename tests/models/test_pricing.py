"""The price table and the cost of one response."""

from __future__ import annotations

import pytest

from tether.models.pricing import PRICES, cost_usd, price_for


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5", "claude-haiku-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("claude-sonnet-5-5[1m]", "claude-sonnet-5-5"),
    ],
)
def test_dated_and_platform_ids_find_their_price(model: str, key: str) -> None:
    assert price_for(model) is PRICES[key]


def test_unknown_models_have_no_price() -> None:
    assert price_for("claude-next-99") is None
    assert cost_usd("claude-next-99", {"input_tokens": 10}) is None
    assert cost_usd("claude-haiku-4-5", {"input_tokens": 0, "output_tokens": 0}) == 0.0  # known and free: 0


def test_one_hour_cache_writes_cost_twice_the_input_price() -> None:
    usage = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 1_000_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 400_000, "ephemeral_1h_input_tokens": 600_000},
    }
    # claude-haiku-4-5: $1.25 per million 5-minute writes, $2 per million 1-hour writes
    assert cost_usd("claude-haiku-4-5", usage) == pytest.approx(0.4 * 1.25 + 0.6 * 2.0)


def test_long_prompts_switch_to_the_long_prompt_rates() -> None:
    short = {"input_tokens": 90_000, "output_tokens": 1_000}
    long = {"input_tokens": 90_000, "cache_read_input_tokens": 20_000, "output_tokens": 1_000}
    assert cost_usd("claude-haiku-5-5", short) == pytest.approx((90_000 * 0.10 + 1_000 * 0.50) / 1e6)
    assert cost_usd("claude-haiku-5-5", long) == pytest.approx((90_000 * 0.50 + 20_000 * 0.05 + 1_000 * 2.50) / 1e6)


def test_a_caller_table_overrides_the_default() -> None:
    from tether.models.pricing import ModelPrice

    table = {"my-model": ModelPrice(input=1.0, output=2.0, cache_read=0.1)}
    assert cost_usd("my-model", {"input_tokens": 1_000_000, "output_tokens": 1_000_000}, table) == pytest.approx(3.0)
    assert cost_usd("claude-haiku-4-5", {"input_tokens": 1}, table) is None
