"""Context-local overrides for tests: run code unchanged against a test model; and the model a run uses."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

from tether.models import resolve_model
from tether.models.base import Model
from tether.options import AgentOptions

__all__ = ["model_override", "run_model"]

model_override: ContextVar[Model | None] = ContextVar("tether_model_override", default=None)
"""When set, every agent opened in this context uses this model, whatever its options say."""


def run_model(options: AgentOptions, env: Mapping[str, str]) -> Model:
    """The model a run of `options` uses: the context's override, else the one its options name
    (`ConfigurationError` for one that cannot be used)."""
    return model_override.get() or resolve_model(options.model, fallback_model=options.fallback_model, env=env)
