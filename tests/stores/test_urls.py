"""open_store: URLs to stores, bad URLs and unreachable servers fail fast without leaking passwords."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError
from tether.sessions.stores import SCHEMES
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.urls import open_store

KEY = SessionKey(project_key="-p", session_id="s1")
ENTRY = {"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}


def test_a_store_object_is_returned_as_is() -> None:
    store = MemoryStore()
    assert open_store(store) is store


def test_default_is_sqlite_under_tether_home(tmp_path: Path) -> None:
    store = open_store(None, env={"TETHER_HOME": str(tmp_path), "TETHER_CLAUDE_CODE_SESSIONS": "0"})
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "sessions.db"
    store = open_store("sqlite://", env={"TETHER_HOME": str(tmp_path)})
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "sessions.db"


def test_tether_store_url_is_used_when_no_store_is_given(tmp_path: Path) -> None:
    alone = {"TETHER_CLAUDE_CODE_SESSIONS": "0"}  # without Claude Code's sessions beside it
    store = open_store(None, env={**alone, "TETHER_STORE_URL": f"sqlite:///{tmp_path}/custom.db?scope=acme"})
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "custom.db" and store.scope == "acme"
    assert isinstance(open_store(None, env={**alone, "TETHER_STORE_URL": "memory://"}), MemoryStore)


def test_memory_url_takes_a_scope() -> None:
    store = open_store("memory://?scope=t1")
    assert isinstance(store, MemoryStore) and store.scope == "t1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sessions.db", "expected one of"),
        ("mysql://root:hunter2@db/x", "unsupported session store URL scheme 'mysql'"),
        ("sqlite://host/x.db", "names a host"),
        ("sqlite:///tmp/dir/", "directory"),
        ("sqlite:///tmp/x.db?mode=ro", "unknown option"),
        ("memory://?colour=blue", "unknown option"),
        ("postgresql://u:hunter2@localhost:notaport/db", "invalid PostgreSQL URL"),
        ("postgresql://u:hunter2@localhost/db?colour=blue", "invalid PostgreSQL URL"),
        ("redis://u:hunter2@localhost:notaport/0", "invalid Redis URL"),
    ],
)
def test_bad_urls_fail_at_once_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        open_store(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.anyio
async def test_sqlite_url_round_trip(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/a%20b/sessions.db")
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "a b" / "sessions.db"
    await store.append(KEY, [ENTRY])
    assert await store.load(KEY) == [ENTRY]
    await store.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://tether:hunter2@127.0.0.1:1/sessions",
        "postgres://tether:hunter2@127.0.0.1:1/sessions?scope=x",
        "redis://:hunter2@127.0.0.1:1/0",
        "redis://user:hunter2@127.0.0.1:1/0?prefix=app",
    ],
)
async def test_an_unreachable_server_is_a_configuration_error_naming_the_url(url: str) -> None:
    store = open_store(url)
    with pytest.raises(ConfigurationError, match=r"127\.0\.0\.1:1") as caught:
        await store.load(KEY)
    await store.close()  # type: ignore[attr-defined]
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    assert caught.value.__cause__ is None or "hunter2" not in str(caught.value.__cause__)


@pytest.mark.anyio
@pytest.mark.postgres
async def test_postgres_url_opens_a_working_store(postgres_url: str) -> None:
    store = open_store(postgres_url + "?scope=tenant")
    await store.append(KEY, [ENTRY])
    assert await store.load(KEY) == [ENTRY]
    other = open_store(postgres_url)
    assert await other.load(KEY) is None  # another scope
    await store.close()  # type: ignore[attr-defined]
    await other.close()  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.postgres
async def test_a_missing_database_is_a_configuration_error(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/tether_no_such_database"
    store = open_store(url)
    with pytest.raises(ConfigurationError, match="tether_no_such_database"):
        await store.load(KEY)
    await store.close()  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.redis
async def test_redis_url_opens_a_working_store(redis_url: str, redis_prefix: str) -> None:
    store = open_store(f"{redis_url}?prefix={redis_prefix}&scope=tenant")
    await store.append(KEY, [ENTRY])
    assert await store.load(KEY) == [ENTRY]
    other = open_store(f"{redis_url}?prefix={redis_prefix}")
    assert await other.load(KEY) is None  # another scope
    await store.close()  # type: ignore[attr-defined]
    await other.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("module", "extra"), [("postgres", "postgres"), ("redis", "redis")])
def test_without_the_extra_the_import_error_says_what_to_install(module: str, extra: str) -> None:
    blocked = {"postgres": ["psycopg", "psycopg_pool"], "redis": ["redis"]}[module]
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "try:\n"
        f"    import tether.sessions.stores.{module}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "from tether.sessions.urls import open_store\n"
        "try:\n"
        f"    open_store({'postgresql://h/db' if module == 'postgres' else 'redis://h'!r})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    lines = result.stdout.splitlines()
    assert f"pip install 'tether[{extra}]'" in lines[0]
    assert lines[1].startswith("ConfigurationError") and f"tether[{extra}]" in lines[1]


def test_jsonl_urls_open_a_store_over_a_claude_code_directory(tmp_path: Path) -> None:
    from tether.sessions.stores.jsonl import JsonlStore

    store = open_store(f"jsonl://{tmp_path}")
    assert isinstance(store, JsonlStore)
    with pytest.raises(ConfigurationError, match="name the directory"):
        open_store("jsonl://")


def test_a_new_store_is_one_module_and_one_registry_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_store.py").write_text(
        "from tether.sessions.stores.memory import MemoryStore\n"
        "class MyStore(MemoryStore):\n"
        "    pass\n"
        "def from_url(url):\n"
        "    url.only('scope')\n"
        "    return MyStore(scope=url.options.get('scope'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(SCHEMES, "mine", "my_store")
    store = open_store("mine://?scope=team")
    assert type(store).__name__ == "MyStore" and store.scope == "team"  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="unknown option"):
        open_store("mine://?colour=blue")


def test_the_stores_import_from_tether_the_network_ones_lazily() -> None:
    code = (
        "import sys, tether\n"
        "print(sorted(m for m in ('psycopg', 'redis') if m in sys.modules))\n"
        "from tether.sessions.stores.postgres import PostgresStore\n"
        "from tether.sessions.stores.redis import RedisStore\n"
        "from tether.sessions.stores.sqlite import SQLiteStore\n"
        "print(tether.PostgresStore is PostgresStore, tether.RedisStore is RedisStore,"
        " tether.SQLiteStore is SQLiteStore)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == ["[]", "True True True"]
