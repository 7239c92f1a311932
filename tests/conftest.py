"""Shared fixtures: an isolated TETHER_HOME, no provider keys, the anyio backend, and stores.

`any_store` runs a test on every store tether ships (memory, SQLite, JSONL, PostgreSQL, Redis),
each fresh and empty; `store` on the embedded two. The PostgreSQL and Redis test servers are
`TETHER_TEST_POSTGRES_URL` / `TETHER_TEST_REDIS_URL` (local defaults); a server that does not
answer skips its tests with the reason. Each test module gets a fresh PostgreSQL database and
each test a fresh Redis key prefix, both removed afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import tether.options  # noqa: F401  (below: why it is imported here)
from tether._vocabulary.store import SessionStore
from tether.sessions.capabilities import store_access
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore

if TYPE_CHECKING:
    import psycopg

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

POSTGRES_URL = os.environ.get("TETHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

EMBEDDED_STORE_KINDS = ("memory", "sqlite")
STORE_KINDS: tuple[object, ...] = (
    *EMBEDDED_STORE_KINDS,
    "jsonl",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
)
"""Every store tether ships, as fixture params (the server ones carry their marker)."""


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


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory to run agents in."""
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


# -- the PostgreSQL and Redis test servers ---------------------------------------------------------


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _fresh_database_name() -> str:
    return f"tether_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the module."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (set TETHER_TEST_POSTGRES_URL): {exc}")
    with admin:
        yield from _new_database(admin)


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database of its own with nothing in it (the module's database has tables already)."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        yield from _new_database(admin)


def _new_database(admin: psycopg.Connection[Any]) -> Iterator[str]:
    """The URL of a database created for the caller, dropped when the caller is done."""
    name = _fresh_database_name()
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    """The Redis test server's URL; skips when it does not answer."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set TETHER_TEST_REDIS_URL): {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A fresh key prefix; every key containing it is deleted after the test."""
    import redis

    prefix = f"tether-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


# -- stores ----------------------------------------------------------------------------------------


@asynccontextmanager
async def opened_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """A fresh, empty store of `kind` (a value of STORE_KINDS) on `tmp_path` or a test server; closed after."""
    store: SessionStore
    if kind == "memory":
        store = MemoryStore()
    elif kind == "sqlite":
        store = SQLiteStore(tmp_path / "sessions.db")
    elif kind == "jsonl":
        store = JsonlStore(tmp_path / "claude")
    elif kind == "postgres":
        from tether.sessions.stores.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_url"), scope=f"test-{uuid.uuid4().hex[:12]}")
    elif kind == "redis":
        from tether.sessions.stores.redis import RedisStore

        store = RedisStore(request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix"))
    else:
        raise ValueError(f"no store kind {kind!r}")
    try:
        yield store
    finally:
        await store_access(store).close()


@pytest.fixture(params=STORE_KINDS)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """Every store tether ships in turn, fresh and empty."""
    async with opened_store(request.param, request, tmp_path) as store:
        yield store


@pytest.fixture(params=EMBEDDED_STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """Each embedded store in turn (memory, and SQLite on a fresh file)."""
    async with opened_store(request.param, request, tmp_path) as opened:
        yield opened
