"""Context windows and output limits of known models (`ResultMessage.model_usage`'s `contextWindow`
and `maxOutputTokens`).

From Anthropic's model overview (https://platform.claude.com/docs/en/about-claude/models). Every
Claude model has at least a 200k-token window; a model with `context_1m` gets 1M tokens when the
run asks for the `context-1m-2025-08-07` beta. Unknown models report 0 (unknown).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from tether.models.pricing import price_key

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
    "local:smollm2": ModelLimits(8_192, 8_192),
}
"""Known limits by model id without its date suffix, as for prices."""

_CLAUDE_WINDOW = 200_000


def limits_for(model: str, betas: Collection[str] = ()) -> ModelLimits:
    """The limits of `model` (0 for what is unknown), with the 1M context beta if it applies."""
    key = price_key(model)
    limits = LIMITS.get(key)
    if limits is None:
        return ModelLimits(_CLAUDE_WINDOW if key.startswith("claude-") else 0, 0)
    if limits.context_1m and CONTEXT_1M_BETA in betas:
        return ModelLimits(1_000_000, limits.max_output_tokens, context_1m=True)
    return limits
