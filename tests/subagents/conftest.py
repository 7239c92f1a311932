"""Fixtures of the subagent tests: every kind of session store, and a project with a file to read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import STORE_KINDS, opened_store


@pytest.fixture(params=[*STORE_KINDS, "sdk"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each store in turn: tether's five, and the Claude SDK's own `InMemorySessionStore` (which has
    no `fork`, so forks are copies)."""
    if request.param == "sdk":
        sdk = pytest.importorskip("claude_agent_sdk")
        yield sdk.InMemorySessionStore()
        return
    async with opened_store(request.param, request, tmp_path) as store:
        yield store


@pytest.fixture
def app(project: Path) -> Path:
    """The project, with an `app.py` for a reviewer to read."""
    (project / "app.py").write_text("print('hi')\n")
    return project
