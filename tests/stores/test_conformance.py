"""Every store tether ships passes the public conformance suite, against real backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.sessions.memory import MemoryStore
from tether.sessions.sqlite import SQLiteStore
from tether.testing.conformance import run_store_conformance

pytestmark = pytest.mark.anyio


async def test_memory_store_conforms() -> None:
    backend = MemoryStore()
    report = await run_store_conformance(backend.with_scope)
    assert not report.skipped
    assert len(report.passed) >= 20


async def test_sqlite_store_conforms(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    report = await run_store_conformance(lambda scope: SQLiteStore(path, scope=scope))
    assert not report.skipped


async def test_sqlite_scoped_views_conform(tmp_path: Path) -> None:
    root = SQLiteStore(tmp_path / "sessions.db")
    report = await run_store_conformance(root.with_scope)
    assert not report.skipped
    await root.close()
