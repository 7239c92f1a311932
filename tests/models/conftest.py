"""Fixtures of the provider tests: the anyio backend and helpers to run one model call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tether.models.base import Model, ModelRequest, ModelResponse, RateLimited, RawStreamEvent


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def collect(model: Model, request: ModelRequest) -> tuple[list[dict[str, Any]], ModelResponse]:
    """Run one call: the raw stream events and the response (which must come last, exactly once)."""
    events, _, response = await collect_all(model, request)
    return events, response


async def collect_all(
    model: Model, request: ModelRequest
) -> tuple[list[dict[str, Any]], list[RateLimited], ModelResponse]:
    """Run one call: the raw stream events, the rate-limit notices and the response."""
    events: list[dict[str, Any]] = []
    limits: list[RateLimited] = []
    responses: list[ModelResponse] = []
    stream: AsyncIterator[Any] = model.stream(request)
    async for item in stream:
        assert not responses, "nothing may follow the ModelResponse"
        if isinstance(item, RawStreamEvent):
            events.append(item.event)
        elif isinstance(item, RateLimited):
            limits.append(item)
        else:
            assert isinstance(item, ModelResponse)
            responses.append(item)
    assert len(responses) == 1
    return events, limits, responses[0]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}]}
