"""The cost of one response, from genai-prices' data or a price of your own; OpenAI runs report theirs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from genai_prices.types import ModelPrice as GenaiModelPrice
from tests.fakes import FakeOpenAIServer, Reply

from tether import AgentOptions, ResultMessage
from tether.models.openai import OpenAIModel
from tether.models.pricing import ModelPrice, _linear_price, cost_usd
from tether.testing import run_query

USAGE = {"input_tokens": 1_000, "output_tokens": 200, "cache_read_input_tokens": 5_000}


@pytest.mark.parametrize(
    ("model", "base"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("claude-sonnet-5-5[1m]", "claude-sonnet-5-5"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
    ],
)
def test_dated_and_platform_ids_cost_what_their_model_costs(model: str, base: str) -> None:
    cost = cost_usd(model, USAGE)
    assert cost is not None and cost > 0
    assert cost == pytest.approx(cost_usd(base, USAGE))


def test_unknown_models_have_an_unknown_cost_never_zero() -> None:
    assert cost_usd("claude-next-99", {"input_tokens": 10}) is None
    assert cost_usd("my-fine-tune", USAGE, provider="openai") is None
    assert cost_usd("claude-haiku-4-5", {"input_tokens": 0, "output_tokens": 0}) == 0.0  # known and free: 0


def test_claude_prices_count_fresh_input_cache_reads_and_writes_apart() -> None:
    usage = {
        "input_tokens": 1_000,
        "output_tokens": 200,
        "cache_creation_input_tokens": 3_000,
        "cache_read_input_tokens": 5_000,
    }
    # claude-sonnet-4-6: $3 input, $15 output, $3.75 5-minute cache writes, $0.30 cache reads per million
    expected = (1_000 * 3 + 200 * 15 + 3_000 * 3.75 + 5_000 * 0.30) / 1_000_000
    assert cost_usd("claude-sonnet-4-6", usage) == pytest.approx(expected)


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


def test_web_searches_are_priced() -> None:
    usage = {"input_tokens": 10, "output_tokens": 5, "server_tool_use": {"web_search_requests": 2}}
    # claude-haiku-4-5: $1 input, $5 output per million tokens, $10 per thousand searches
    assert cost_usd("claude-haiku-4-5", usage) == pytest.approx((10 * 1 + 5 * 5) / 1e6 + 2 * 0.01)


def test_malformed_counts_count_as_none() -> None:
    usage = {"input_tokens": None, "output_tokens": True, "cache_read_input_tokens": -5, "cache_creation": "?"}
    assert cost_usd("claude-haiku-4-5", usage) == 0.0


def test_openai_models_are_priced_by_provider_or_endpoint() -> None:
    usage = {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 900}
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million
    expected = (100 * 2.5 + 900 * 1.25 + 10 * 10) / 1e6
    assert cost_usd("gpt-4o-2024-08-06", usage, provider="openai") == pytest.approx(expected)
    assert cost_usd("gpt-4o", usage, api_url="https://api.openai.com/v1") == pytest.approx(expected)
    groq = cost_usd("llama-3.3-70b-versatile", usage, api_url="https://api.groq.com/openai/v1")
    assert groq is not None and groq > 0
    assert cost_usd("gpt-4o", usage, api_url="http://127.0.0.1:8000/v1") is None  # a server of your own


def test_a_price_of_your_own_wins_and_the_data_prices_the_rest() -> None:
    table = {"my-model": ModelPrice(input=1.0, output=2.0, cache_read=0.1)}
    assert cost_usd("my-model", {"input_tokens": 1_000_000, "output_tokens": 1_000_000}, table) == pytest.approx(3.0)
    assert cost_usd("my-model-20260101", {"input_tokens": 1_000_000}, table) == pytest.approx(1.0)
    assert cost_usd("claude-haiku-4-5", {"input_tokens": 1, "output_tokens": 0}, table) == pytest.approx(1e-6)


def test_a_price_of_your_own_has_its_long_prompt_rates_and_cache_write_defaults() -> None:
    price = ModelPrice(
        input=1.0, output=2.0, cache_read=0.1, long_prompt_threshold=100, long_prompt=ModelPrice(10.0, 20.0, 1.0)
    )
    writes = {"cache_creation_input_tokens": 50, "cache_creation": {"ephemeral_1h_input_tokens": 10}}
    assert price.cost(writes) == pytest.approx((40 * 1.25 + 10 * 2.0) / 1e6)
    assert price.cost({"input_tokens": 101}) == pytest.approx(101 * 10.0 / 1e6)


@pytest.mark.anyio
async def test_an_openai_run_reports_its_cost(tmp_path: Path) -> None:
    replies = [Reply("Hi there.", input_tokens=100, output_tokens=10, cache_read_input_tokens=900, model="gpt-4o")]
    with FakeOpenAIServer(replies) as server:
        model = OpenAIModel("gpt-4o", api_key="sk-test", base_url=server.url, price_provider="openai")
        messages = (await run_query("Hi", AgentOptions(model=model, cwd=tmp_path))).messages
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success"
    assert result.total_cost_usd == pytest.approx((100 * 2.5 + 900 * 1.25 + 10 * 10) / 1e6)


@pytest.mark.parametrize(
    ("model", "provider"),
    [("claude-sonnet-4-5", "anthropic"), ("claude-opus-4-1", None), ("gpt-4o", "openai"), ("gemini-2.5-pro", "google")],
)
@pytest.mark.parametrize("prompt", [12_000, 150_000, 250_000])  # the last one above the long-prompt tier of some
def test_costs_are_exactly_genai_prices_totals(model: str, provider: str | None, prompt: int) -> None:
    usage = {
        "input_tokens": prompt // 3,
        "output_tokens": 1_234,
        "cache_read_input_tokens": prompt // 3,
        "cache_creation_input_tokens": prompt - 2 * (prompt // 3),
        "cache_creation": {"ephemeral_1h_input_tokens": 1_000},
        "server_tool_use": {"web_search_requests": 2},
    }
    counts = Usage(
        input_tokens=prompt,
        output_tokens=1_234,
        cache_read_tokens=prompt // 3,
        cache_write_tokens=prompt - 2 * (prompt // 3),
        cache_write_5m_tokens=prompt - 2 * (prompt // 3) - 1_000,
        cache_write_1h_tokens=1_000,
        web_searches=2,
    )
    expected = calc_price(counts, model, provider_id=provider) if provider else calc_price(counts, model)
    for _ in range(2):  # the second time from the price's per-unit form
        assert cost_usd(model, usage, provider=provider) == float(expected.total_price)


def test_a_price_with_a_fee_per_request_is_left_to_genai_prices() -> None:
    fee = GenaiModelPrice(input_mtok=Decimal(1), output_mtok=Decimal(2), requests_kcount=Decimal(5))
    assert _linear_price(fee) is None
    plain = _linear_price(GenaiModelPrice(input_mtok=Decimal(1), output_mtok=Decimal(2)))
    assert plain is not None and plain.max_prompt is None
