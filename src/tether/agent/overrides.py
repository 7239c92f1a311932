"""Context-local overrides for tests: run code unchanged against a test model."""

from __future__ import annotations

from contextvars import ContextVar

from tether.models.base import Model

__all__ = ["model_override"]

model_override: ContextVar[Model | None] = ContextVar("tether_model_override", default=None)
"""When set, every agent opened in this context uses this model, whatever its options say."""
