"""Fixtures of the durable-turn tests: a store URL per test (SQLite file, or a fresh PostgreSQL database)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A session store URL of its own; DBOS keeps its state beside it (SQLite) or in it (PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    url: str = request.getfixturevalue("empty_database")
    return url
