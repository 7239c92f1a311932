"""Fixtures of the settings tests: an empty project and an empty Claude Code user directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def claude_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Claude Code's user directory for the test (`$CLAUDE_CONFIG_DIR`), empty."""
    directory = tmp_path / "claude-home"
    directory.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def project(tmp_path: Path, claude_home: Path) -> Path:
    """An empty project directory (with its own, empty, Claude Code user directory)."""
    directory = tmp_path / "project"
    directory.mkdir()
    return directory
