"""Fixtures of the tool tests: a temporary project and a tool context rooted in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.tools.base import ToolContext


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty project directory (the session's cwd)."""
    directory = tmp_path / "workspace"
    directory.mkdir()
    return directory


@pytest.fixture
def context(workspace: Path) -> ToolContext:
    """A tool context in `workspace` with fresh session state."""
    return ToolContext(cwd=workspace, session_id="session-1", tool_use_id="toolu_1", session_state={})
