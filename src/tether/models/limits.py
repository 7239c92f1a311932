"""Context windows and output limits of known models (`ResultMessage.model_usage`'s `contextWindow`
and `maxOutputTokens`, and the window compaction counts against).

Claude models from Anthropic's model overview (https://platform.claude.com/docs/en/about-claude/models):
every Claude model has at least a 200k-token window; a model with `context_1m` gets 1M tokens
when the run asks for the `context-1m-2025-08-07` beta. OpenAI models from OpenAI's model pages
(https://platform.openai.com/docs/models). The embedded local model's window is its llama.cpp
context. A Claude or OpenAI model not in `LIMITS` gets the context window of genai-prices' data
(the maintained price table, which lists newer models) and an unknown (0) output limit; a Claude
model it does not know either gets 200k tokens, any other model 0 (unknown).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

from tether.models.pricing import context_window_of, price_key

__all__ = ["CONTEXT_1M_BETA", "LIMITS", "ModelLimits", "limits_for"]

CONTEXT_1M_BETA = "context-1m-2025-08-07"


@dataclass(frozen=True)
class ModelLimits:
    """The context window and the most output tokens of one response, in tokens."""

    context_window: int
    max_output_tokens: int
    context_1m: bool = False
    """Whether the 1M-token context beta applies to the model."""


LIMITS: dict[str, ModelLimits] = {
    "claude-opus-4-6": ModelLimits(200_000, 128_000, context_1m=True),
    "claude-opus-4-5": ModelLimits(200_000, 64_000),
    "claude-opus-4-1": ModelLimits(200_000, 32_000),
    "claude-opus-4-0": ModelLimits(200_000, 32_000),
    "claude-opus-4": ModelLimits(200_000, 32_000),
    "claude-sonnet-4-6": ModelLimits(200_000, 64_000, context_1m=True),
    "claude-sonnet-4-5": ModelLimits(200_000, 64_000, context_1m=True),
    "claude-sonnet-4-0": ModelLimits(200_000, 64_000, context_1m=True),
    "claude-sonnet-4": ModelLimits(200_000, 64_000, context_1m=True),
    "claude-3-7-sonnet": ModelLimits(200_000, 64_000),
    "claude-haiku-4-5": ModelLimits(200_000, 64_000),
    "claude-3-5-haiku": ModelLimits(200_000, 8_192),
    "claude-3-5-sonnet": ModelLimits(200_000, 8_192),
    "claude-3-opus": ModelLimits(200_000, 4_096),
    "claude-3-haiku": ModelLimits(200_000, 4_096),
    "gpt-5": ModelLimits(400_000, 128_000),
    "gpt-5-mini": ModelLimits(400_000, 128_000),
    "gpt-5-nano": ModelLimits(400_000, 128_000),
    "gpt-4.1": ModelLimits(1_047_576, 32_768),
    "gpt-4.1-mini": ModelLimits(1_047_576, 32_768),
    "gpt-4.1-nano": ModelLimits(1_047_576, 32_768),
    "gpt-4o": ModelLimits(128_000, 16_384),
    "gpt-4o-mini": ModelLimits(128_000, 16_384),
    "gpt-4-turbo": ModelLimits(128_000, 4_096),
    "gpt-4": ModelLimits(8_192, 8_192),
    "gpt-3.5-turbo": ModelLimits(16_385, 4_096),
    "o1": ModelLimits(200_000, 100_000),
    "o3": ModelLimits(200_000, 100_000),
    "o3-mini": ModelLimits(200_000, 100_000),
    "o4-mini": ModelLimits(200_000, 100_000),
    "local:smollm2": ModelLimits(8_192, 8_192),
}
"""Known limits by model id without its provider prefix and date suffix, as for prices."""

_CLAUDE_WINDOW = 200_000
_PROVIDER_PREFIXES = ("anthropic:", "openai:")
_OPENAI_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@functools.lru_cache(maxsize=64)
def _key(model: str) -> str:
    """`model` as `LIMITS` names it (`openai:gpt-4o-2024-08-06` -> `gpt-4o`), worked out once per name."""
    return _OPENAI_DATE.sub("", price_key(model).removeprefix("openai:"))


def limits_for(model: str, betas: Collection[str] = ()) -> ModelLimits:
    """The limits of `model` (0 for what is unknown), with the 1M context beta if it applies."""
    key = _key(model)
    limits = LIMITS.get(key)
    if limits is None:
        priced = key.startswith("claude-") or model.startswith(_PROVIDER_PREFIXES)  # a provider's model id
        window = (context_window_of(key) if priced else None) or (_CLAUDE_WINDOW if key.startswith("claude-") else 0)
        return ModelLimits(window, 0)
    if limits.context_1m and CONTEXT_1M_BETA in betas:
        return ModelLimits(1_000_000, limits.max_output_tokens, context_1m=True)
    return limits
