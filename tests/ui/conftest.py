"""Fixtures of the browser tests: a SQLite store with real sessions, and the app over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from starlette.testclient import TestClient
from tests.ui.support import HOSTS, TOKEN, Made, make_sessions

from tether.sessions.stores.sqlite import SQLiteStore
from tether.ui import create_app


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "sessions.db")
    yield store
    anyio.run(store.close)


@pytest.fixture
def made(sqlite_store: SQLiteStore, tmp_path: Path) -> Made:
    work = tmp_path / "work"
    work.mkdir()
    return anyio.run(make_sessions, sqlite_store, work)


@pytest.fixture
def client(sqlite_store: SQLiteStore, made: Made, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(sqlite_store, token=TOKEN, hosts=HOSTS, claude_dir=str(tmp_path / "claude"))
    with TestClient(app, follow_redirects=False) as test_client:
        assert test_client.get(f"/?token={TOKEN}").status_code == 200  # the printed URL: sets the cookie
        yield test_client
