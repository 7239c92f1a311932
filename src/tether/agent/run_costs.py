"""What a run has cost so far: token usage, usage per model, cost in USD and time spent in the model.

A run starts from the session's totals (usage and cost are cumulative over the session, across
resumes too), adds each model reply and each subagent's result, and gives back the totals the
session keeps and the `ResultMessage` reports.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, cast

from tether.messages import ModelUsage, ResultMessage
from tether.models.base import ModelResponse, add_usage, empty_usage
from tether.models.limits import limits_for

__all__ = ["RunCosts"]

_MODEL_USAGE_COUNTERS = {
    "input_tokens": "inputTokens",
    "output_tokens": "outputTokens",
    "cache_read_input_tokens": "cacheReadInputTokens",
    "cache_creation_input_tokens": "cacheCreationInputTokens",
}
"""API usage keys -> the camelCase keys of `ModelUsage` (`ResultMessage.model_usage[model]`)."""


class RunCosts:
    """The usage, usage per model, cost (None once a price is unknown) and model time of a run."""

    def __init__(self, totals: Mapping[str, Any]) -> None:
        """Start from a session's `totals` (`{"totalCostUSD", "usage", "modelUsage"}`, or empty)."""
        self.usage: dict[str, int] = {**empty_usage(), **dict(totals.get("usage") or {})}
        self.model_usage: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (totals.get("modelUsage") or {}).items()}
        self.cost: float | None = totals.get("totalCostUSD", 0.0) if totals else 0.0
        self.api_seconds = 0.0
        """Time spent waiting for the model in this run."""

    def count(self, response: ModelResponse, betas: Collection[str]) -> None:
        """Add one model reply (its usage, and its cost when the price is known)."""
        add_usage(self.usage, response.usage)
        per_model = self.model_usage.setdefault(response.model, {})
        for key, name in _MODEL_USAGE_COUNTERS.items():
            per_model[name] = per_model.get(name, 0) + _counter(response.usage, key)
        searches = _counter(response.usage.get("server_tool_use"), "web_search_requests")
        per_model["webSearchRequests"] = per_model.get("webSearchRequests", 0) + searches
        per_model.setdefault("costUSD", 0.0)
        limits = limits_for(response.model, betas)
        per_model.update(contextWindow=limits.context_window, maxOutputTokens=limits.max_output_tokens)
        if response.cost_usd is None or per_model["costUSD"] is None:
            per_model["costUSD"] = None
        else:
            per_model["costUSD"] += response.cost_usd
        self._add_cost(response.cost_usd)

    def add_result(self, result: ResultMessage) -> None:
        """Count a subagent's usage, cost and model time as this run's."""
        add_usage(self.usage, result.usage or {})
        for model, usage in (result.model_usage or {}).items():
            per_model = self.model_usage.setdefault(model, {})
            for key, value in usage.items():
                if key == "costUSD":
                    known = value is not None and per_model.get("costUSD", 0.0) is not None
                    per_model["costUSD"] = per_model.get("costUSD", 0.0) + value if known else None
                elif key in ("contextWindow", "maxOutputTokens") or not isinstance(value, int):
                    per_model[key] = value
                else:
                    per_model[key] = per_model.get(key, 0) + value
        self._add_cost(result.total_cost_usd)
        self.api_seconds += result.duration_api_ms / 1000

    def _add_cost(self, cost: float | None) -> None:
        if cost is None or self.cost is None:
            self.cost = None
        else:
            self.cost += cost

    def reached(self, budget: float | None) -> bool:
        """Whether the run's known cost has reached `budget` (never without one)."""
        return budget is not None and self.cost is not None and self.cost >= budget

    def totals(self) -> dict[str, Any]:
        """The session's totals as they stand (what a `cost-state` entry records)."""
        return {"totalCostUSD": self.cost, "usage": dict(self.usage), "modelUsage": self.model_usage}

    def per_model(self) -> dict[str, ModelUsage]:
        """`ResultMessage.model_usage`: a copy of the usage per model."""
        return {k: cast(ModelUsage, dict(v)) for k, v in self.model_usage.items()}


def _counter(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
