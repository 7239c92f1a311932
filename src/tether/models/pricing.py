"""Prices of Anthropic models, and the cost in USD of one response from its usage.

Prices are USD per million tokens, from Anthropic's pricing page
(https://platform.claude.com/docs/en/about-claude/pricing, read 2026-11-25). A model missing
from `PRICES` has an unknown price: `cost_usd` returns None for it, never 0, so totals say
"unknown" instead of under-reporting. Add or override entries in `PRICES` (or pass `prices=` to
`AnthropicModel`) when prices change.

Cache writes cost 1.25x the input price for the 5-minute TTL and 2x for the 1-hour TTL unless a
model lists its own rates; cache reads are listed per model because their multiplier differs
between model generations. Batch, data-residency and fast-mode prices do not apply to the calls
tether makes and are not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PRICES", "ModelPrice", "cost_usd", "price_for", "price_key"]

_MILLION = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens of one model."""

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
        """The cost of one response from its Anthropic `usage` dict."""
        creation = _count(usage, "cache_creation_input_tokens")
        read = _count(usage, "cache_read_input_tokens")
        fresh = _count(usage, "input_tokens")
        if self.long_prompt is not None and self.long_prompt_threshold is not None:
            if fresh + read + creation > self.long_prompt_threshold:
                return self.long_prompt.cost(usage)
        split = usage.get("cache_creation")
        one_hour = _count(split, "ephemeral_1h_input_tokens") if isinstance(split, Mapping) else 0
        one_hour = min(one_hour, creation)
        write_5m = self.cache_write_5m if self.cache_write_5m is not None else self.input * 1.25
        write_1h = self.cache_write_1h if self.cache_write_1h is not None else self.input * 2
        total = (
            fresh * self.input
            + _count(usage, "output_tokens") * self.output
            + read * self.cache_read
            + (creation - one_hour) * write_5m
            + one_hour * write_1h
        )
        return total / _MILLION


def _count(usage: Mapping[str, Any] | None, key: str) -> int:
    value = usage.get(key) if usage else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_OPUS_45 = ModelPrice(input=5.0, output=25.0, cache_read=0.50, cache_write_5m=6.25, cache_write_1h=10.0)
_OPUS_4 = ModelPrice(input=15.0, output=75.0, cache_read=1.50, cache_write_5m=18.75, cache_write_1h=30.0)
_SONNET_4 = ModelPrice(input=3.0, output=15.0, cache_read=0.30, cache_write_5m=3.75, cache_write_1h=6.0)
_SONNET_5 = ModelPrice(input=2.0, output=10.0, cache_read=0.20, cache_write_5m=2.50, cache_write_1h=4.0)
_FABLE_5 = ModelPrice(input=10.0, output=50.0, cache_read=1.0, cache_write_5m=12.50, cache_write_1h=20.0)
_FABLE_51 = ModelPrice(input=10.0, output=50.0, cache_read=0.25, cache_write_5m=12.50, cache_write_1h=20.0)

PRICES: dict[str, ModelPrice] = {
    "claude-fable-5-1": _FABLE_51,
    "claude-mythos-5-1": _FABLE_51,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": ModelPrice(input=4.0, output=20.0, cache_read=0.20),
    "claude-opus-5": _OPUS_45,
    "claude-opus-4-8": _OPUS_45,
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-3-opus": _OPUS_4,
    "claude-sonnet-5-5": ModelPrice(input=2.0, output=10.0, cache_read=0.10, cache_write_5m=2.50, cache_write_1h=4.0),
    "claude-sonnet-5": _SONNET_5,
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-0": _SONNET_4,
    "claude-sonnet-4": _SONNET_4,
    "claude-3-7-sonnet": _SONNET_4,
    "claude-3-5-sonnet": _SONNET_4,
    "claude-haiku-5-5": ModelPrice(
        input=0.10,
        output=0.50,
        cache_read=0.01,
        cache_write_5m=0.125,
        cache_write_1h=0.20,
        long_prompt_threshold=100_000,
        long_prompt=ModelPrice(input=0.50, output=2.50, cache_read=0.05, cache_write_5m=0.625, cache_write_1h=1.0),
    ),
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0, cache_read=0.10, cache_write_5m=1.25, cache_write_1h=2.0),
    "claude-3-5-haiku": ModelPrice(input=0.80, output=4.0, cache_read=0.08, cache_write_5m=1.0, cache_write_1h=1.6),
    "claude-3-haiku": ModelPrice(input=0.25, output=1.25, cache_read=0.03, cache_write_5m=0.30, cache_write_1h=0.50),
}
"""Known prices by model id without its date suffix (`claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`)."""

_SUFFIXES = re.compile(r"(-\d{8}|-latest|-v\d+(:\d+)?|\[1m\])+$")


def price_key(model: str) -> str:
    """`model` as the tables name it: lower case, no provider prefix, no date or version suffix."""
    name = model.lower().removeprefix("anthropic.").removeprefix("anthropic:")
    return _SUFFIXES.sub("", name.split("@")[0])


def price_for(model: str, prices: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of `model` (a dated id or an alias), or None when it is unknown."""
    table = PRICES if prices is None else prices
    name = model.lower().removeprefix("anthropic.").removeprefix("anthropic:")
    if name in table:
        return table[name]
    return table.get(price_key(model))


def cost_usd(model: str, usage: Mapping[str, Any], prices: Mapping[str, ModelPrice] | None = None) -> float | None:
    """The cost of one response of `model` with this `usage`, or None when the price is unknown."""
    price = price_for(model, prices)
    return None if price is None else price.cost(usage)
