"""Fixtures of the hook tests: a project directory, a real SQLite store, and helpers to run queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.sessions.stores.sqlite import SQLiteStore


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A real SQLite store on a fresh file."""
    store = SQLiteStore(tmp_path / "sessions.db")
    yield store
    await store.close()
