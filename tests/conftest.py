"""Shared fixtures: an isolated TETHER_HOME, no provider keys, the anyio backend, stores."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import tether.options  # noqa: F401  (below: why it is imported here)
from tether.sessions.memory import MemoryStore
from tether.sessions.store import SessionStore

if importlib.util.find_spec("claude_agent_sdk"):
    # Both option classes default `debug_stderr` to the sys.stderr of the moment they are defined;
    # defined together here, under the same pytest capture, their defaults are the same object.
    import claude_agent_sdk  # noqa: F401

PROVIDER_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "TETHER_MODEL",
    "TETHER_STORE_URL",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own TETHER_HOME and Claude config directory, and sees no provider keys of the developer's."""
    home = tmp_path_factory.mktemp("tether-home")
    monkeypatch.setenv("TETHER_HOME", str(home))
    # Claude Code's user settings (read when setting_sources is None): an empty directory, never the developer's
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path_factory.mktemp("claude-config")))
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield home


STORE_KINDS = ["memory"] + (["sqlite"] if importlib.util.find_spec("tether.sessions.sqlite") else [])


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """Each embedded store in turn (memory, and SQLite on a fresh file)."""
    if request.param == "memory":
        yield MemoryStore()
        return
    from tether.sessions.sqlite import SQLiteStore

    sqlite_store = SQLiteStore(tmp_path / "sessions.db")
    yield sqlite_store
    await sqlite_store.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory to run agents in."""
    directory = tmp_path / "project"
    directory.mkdir()
    return directory
