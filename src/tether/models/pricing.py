"""The cost in USD of one model response, from its usage and genai-prices' maintained price data.

Prices come from [genai-prices](https://github.com/pydantic/genai-prices) (pydantic's price data
for Anthropic, OpenAI, Groq, DeepSeek, Mistral, OpenRouter and many more), bundled in the
package: no network is used, and the data is loaded on the first call only. A model it does not
know has an unknown price: `cost_usd` returns None, never 0, so totals say "unknown" instead of
under-reporting. Prices with tiers (a long prompt costs more per token on some models) and dated
changes are applied as genai-prices describes them.

A price of your own (a fine-tuned or self-hosted model, a negotiated rate) is a `ModelPrice`,
given as `AnthropicModel(prices={...})` or `OpenAIModel(price=...)`; it wins over the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from genai_prices import Usage

__all__ = ["ModelPrice", "context_window_of", "cost_usd", "price_for", "price_key"]

_MILLION = 1_000_000
_T = TypeVar("_T")


@dataclass(frozen=True)
class ModelPrice:
    """A price of your own: USD per million tokens of one model."""

    input: float
    output: float
    cache_read: float
    cache_write_5m: float | None = None
    """Default 1.25x `input`."""
    cache_write_1h: float | None = None
    """Default 2x `input`."""
    long_prompt_threshold: int | None = None
    """Above this many prompt tokens (input + cache reads + cache writes) `long_prompt` applies."""
    long_prompt: ModelPrice | None = None

    def cost(self, usage: Mapping[str, Any]) -> float:
        """The cost of one response from its `usage` dict (Anthropic's shape, which every provider reports)."""
        counts = _Counts.of(usage)
        if self.long_prompt is not None and self.long_prompt_threshold is not None:
            if counts.prompt > self.long_prompt_threshold:
                return self.long_prompt.cost(usage)
        write_5m = self.cache_write_5m if self.cache_write_5m is not None else self.input * 1.25
        write_1h = self.cache_write_1h if self.cache_write_1h is not None else self.input * 2
        total = (
            counts.fresh * self.input
            + counts.output * self.output
            + counts.cache_read * self.cache_read
            + (counts.cache_write - counts.cache_write_1h) * write_5m
            + counts.cache_write_1h * write_1h
        )
        return total / _MILLION


@dataclass(frozen=True)
class _Counts:
    """The token counts of one response's usage; a missing or malformed count is 0."""

    fresh: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    web_searches: int

    @classmethod
    def of(cls, usage: Mapping[str, Any]) -> _Counts:
        written = _count(usage, "cache_creation_input_tokens")
        split = usage.get("cache_creation")
        one_hour = _count(split, "ephemeral_1h_input_tokens") if isinstance(split, Mapping) else 0
        server_tools = usage.get("server_tool_use")
        searches = _count(server_tools, "web_search_requests") if isinstance(server_tools, Mapping) else 0
        return cls(
            fresh=_count(usage, "input_tokens"),
            output=_count(usage, "output_tokens"),
            cache_read=_count(usage, "cache_read_input_tokens"),
            cache_write=written,
            cache_write_1h=min(one_hour, written),
            web_searches=searches,
        )

    @property
    def prompt(self) -> int:
        """Every prompt token: fresh input, cache reads and cache writes."""
        return self.fresh + self.cache_read + self.cache_write

    def usage(self) -> Usage:
        """As genai-prices counts: `input_tokens` is the whole prompt, the cache counts are parts of it."""
        from genai_prices import Usage

        return Usage(
            input_tokens=self.prompt,
            output_tokens=self.output,
            cache_read_tokens=self.cache_read,
            cache_write_tokens=self.cache_write,
            cache_write_5m_tokens=self.cache_write - self.cache_write_1h,
            cache_write_1h_tokens=self.cache_write_1h,
            web_searches=self.web_searches,
        )


def _count(usage: Mapping[str, Any] | None, key: str) -> int:
    value = usage.get(key) if usage else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


_SUFFIXES = re.compile(r"(-\d{8}|-latest|-v\d+(:\d+)?|\[1m\])+$")


def price_key(model: str) -> str:
    """`model` as price tables name it: lower case, no provider prefix, no date or version suffix.

    `anthropic.claude-opus-4-1-20250805-v1:0` (Bedrock), `claude-opus-4-1@20250805` (Vertex) and
    `claude-sonnet-4-5-20250929` give `claude-opus-4-1`, `claude-opus-4-1` and `claude-sonnet-4-5`.
    """
    name = model.lower().removeprefix("anthropic.").removeprefix("anthropic:")
    return _SUFFIXES.sub("", name.split("@")[0])


def price_for(model: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """The entry of `model` (a dated id or an alias) in a table of your own prices, or None."""
    name = model.lower().removeprefix("anthropic.").removeprefix("anthropic:")
    if name in prices:
        return prices[name]
    return prices.get(price_key(model))


def context_window_of(model: str, provider: str | None = None) -> int | None:
    """The context window genai-prices' data gives `model` (of `provider`, if named), or None."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    found = _first_known(model, lambda name: snapshot.find_provider_model(name, None, provider, None)[1])
    return None if found is None else found.context_window


def _first_known(model: str, lookup: Callable[[str], _T]) -> _T | None:
    """`lookup` of `model` as named, else as price tables name it (`price_key`); None when genai-prices
    knows neither (its lookups raise `LookupError` for an unknown model or provider)."""
    for name in dict.fromkeys((model, price_key(model))):
        try:
            return lookup(name)
        except LookupError:
            continue
    return None


def cost_usd(
    model: str,
    usage: Mapping[str, Any],
    prices: Mapping[str, ModelPrice] | None = None,
    *,
    provider: str | None = None,
    api_url: str | None = None,
) -> float | None:
    """The cost of one response of `model` with this `usage`, or None when the price is unknown.

    `prices` (your own) is looked up first. Otherwise genai-prices prices the model of `provider`
    (a genai-prices provider id: `anthropic`, `openai`, `groq`...), or of the provider serving
    `api_url` (an endpoint it does not know, such as a server of your own, has no price), or,
    with neither, of the provider whose models are named like `model`.
    """
    own = price_for(model, prices) if prices else None
    if own is not None:
        return own.cost(usage)
    from genai_prices import calc_price, data_snapshot

    counts = _Counts.of(usage)
    snapshot = data_snapshot.get_snapshot()
    url = None if provider is not None else api_url
    found = _first_known(model, lambda name: snapshot.find_provider_model(name, None, provider, url))
    if found is None:
        return None
    linear = _linear_price(found[1].get_prices(datetime.now(tz=UTC)))  # the price of the model now
    if linear is not None and (linear.max_prompt is None or counts.prompt <= linear.max_prompt):
        return float(linear.cost(counts))
    usage_counts = counts.usage()
    if provider is not None:
        priced = _first_known(model, lambda name: calc_price(usage_counts, name, provider_id=provider))
    else:
        priced = _first_known(model, lambda name: calc_price(usage_counts, name, provider_api_url=api_url))
    return None if priced is None else float(priced.total_price)


_BASES = (
    _Counts(1, 0, 0, 0, 0, 0),  # one fresh input token
    _Counts(0, 1, 0, 0, 0, 0),  # one output token
    _Counts(0, 0, 1, 0, 0, 0),  # one cache read
    _Counts(0, 0, 0, 1, 0, 0),  # one 5-minute cache write
    _Counts(0, 0, 0, 1, 1, 0),  # one 1-hour cache write
    _Counts(0, 0, 0, 0, 0, 1),  # one web search
)
_CHECK = _Counts(1_234, 567, 8_901, 2_345, 678, 3)
"""A usage priced both ways before a `_LinearPrice` is trusted."""
_LINEAR: dict[int, tuple[object, _LinearPrice | None]] = {}
"""By `id` of a genai-prices `ModelPrice` (kept, so the id is not another's): its linear form, or None."""


def _amounts(counts: _Counts) -> tuple[int, ...]:
    """`counts` in the order of `_BASES`."""
    return (
        counts.fresh,
        counts.output,
        counts.cache_read,
        counts.cache_write - counts.cache_write_1h,
        counts.cache_write_1h,
        counts.web_searches,
    )


@dataclass(frozen=True)
class _LinearPrice:
    """A genai-prices price as the cost of one unit of each count (`_BASES`), for prompts of at most
    `max_prompt` tokens (None: any), below the first price tier (which prices every token anew)."""

    per_unit: tuple[Decimal, ...]
    max_prompt: int | None

    def cost(self, counts: _Counts) -> Decimal:
        return sum((amount * unit for amount, unit in zip(_amounts(counts), self.per_unit, strict=True)), Decimal(0))


def _linear_price(price: Any) -> _LinearPrice | None:
    """The linear form of a genai-prices `ModelPrice` (worked out once per price object), or None
    when pricing a usage by units gives another total than genai-prices does (a price per request,
    say): such a price is left to genai-prices, call by call.

    genai-prices prices each kind of token (or search) as `price * count / per` and adds them up,
    in exact decimals; the cost of one unit of each kind, times the counts, is the same sum, without
    its per-call unit resolution and checks (most of its ~100 us).
    """
    kept = _LINEAR.get(id(price))
    if kept is not None and kept[0] is price:
        return kept[1]
    from genai_prices.types import TieredPrices

    def total(counts: _Counts) -> Decimal:
        return Decimal(price.calc_price(counts.usage())["total_price"])

    starts = [tier.start for value in vars(price).values() if isinstance(value, TieredPrices) for tier in value.tiers]
    linear = _LinearPrice(tuple(map(total, _BASES)), min(starts) if starts else None)
    exact = total(_Counts(0, 0, 0, 0, 0, 0)) == 0 and linear.cost(_CHECK) == total(_CHECK)
    if len(_LINEAR) >= 256:
        _LINEAR.clear()
    _LINEAR[id(price)] = (price, linear if exact else None)
    return linear if exact else None
