"""Model providers behind one protocol, and `resolve_model` which picks one from a name."""

from __future__ import annotations

from collections.abc import Mapping

from tether.errors import ConfigurationError
from tether.models.base import Model, ModelEvent, ModelRequest, ModelResponse, RawStreamEvent, ToolSpec

__all__ = ["Model", "ModelEvent", "ModelRequest", "ModelResponse", "RawStreamEvent", "ToolSpec", "resolve_model"]


def resolve_model(
    model: str | Model | None, *, fallback_model: str | None = None, env: Mapping[str, str] | None = None
) -> Model:
    """The model to run: a `Model` object as is, or a provider chosen from a model name."""
    if model is not None and not isinstance(model, str):
        return model
    raise ConfigurationError(f"no provider can run the model {model!r} yet; pass a tether.models.Model object")
