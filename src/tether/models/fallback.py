"""`FallbackModel`: a model that hands a turn to a fallback model when the primary is overloaded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from tether.errors import ModelError
from tether.models.base import (
    Model,
    ModelEvent,
    ModelRequest,
    ModelSettings,
    RateLimited,
    check_settings,
    closing,
    keep_connected,
)

__all__ = ["OVERLOAD_STATUSES", "FallbackModel"]

OVERLOAD_STATUSES = frozenset({529, 503})
"""529 overloaded and 503 unavailable: the statuses after which the fallback serves the turn."""


class FallbackModel:
    """Runs each turn on `primary`; if it is still overloaded after its own retries, on `fallback`.

    Only a failure before the primary yielded any output falls back (providers retry, and so fail,
    only then), so a turn never mixes output of two models. Every turn tries the primary first.
    The response names the model that served it, so usage per model stays right.
    """

    def __init__(self, primary: Model, fallback: Model, *, statuses: Collection[int] = OVERLOAD_STATUSES) -> None:
        self.primary = primary
        self.fallback = fallback
        self.statuses = frozenset(statuses)

    @property
    def model_name(self) -> str:
        return self.primary.model_name

    def __repr__(self) -> str:
        return f"FallbackModel({self.primary!r}, {self.fallback!r})"

    def check_settings(self, settings: ModelSettings) -> None:
        """Both models must honour the run's settings (either may serve a turn)."""
        check_settings(self.primary, settings)
        check_settings(self.fallback, settings)

    @asynccontextmanager
    async def keep_connected(self) -> AsyncIterator[None]:
        """Keep the connections of both models open until the context exits."""
        async with keep_connected(self.primary), keep_connected(self.fallback):
            yield

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream the turn from the primary, or from the fallback when the primary is overloaded."""
        return self._stream(request)

    async def _stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        yielded = False
        try:
            primary = self.primary.stream(request)
            async with closing(primary):
                async for event in primary:
                    yielded = yielded or not isinstance(event, RateLimited)  # a notice is not output
                    yield event
            return
        except ModelError as error:
            if yielded or error.status_code not in self.statuses:
                raise
            overload = error
        try:
            fallback = self.fallback.stream(request)
            async with closing(fallback):
                async for event in fallback:
                    yield event
        except ModelError as error:
            raise ModelError(
                f"{error} (the fallback model {self.fallback.model_name!r} was serving the turn because "
                f"{self.primary.model_name!r} failed: {overload})",
                status_code=error.status_code,
                body=error.body,
                provider=error.provider,
            ) from error
