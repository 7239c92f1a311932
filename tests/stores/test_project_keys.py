"""Sessions are keyed by (project, id) in every store, and stores written by an older tether migrate.

An older file or database (schema version 1) refused one id in two projects; it is migrated on
first use, its sessions kept, and then takes the same id in another project.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tether._vocabulary.store import SessionKey
from tether.sessions.stores.sqlite import SCHEMA_VERSION as SQLITE_VERSION
from tether.sessions.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

ENTRIES = [{"type": "user", "uuid": "u-1", "message": {"role": "user", "content": "hello"}}]
OTHER = [{"type": "user", "uuid": "u-2", "message": {"role": "user", "content": "elsewhere"}}]


def key(project: str, session_id: str = "shared-id") -> SessionKey:
    return SessionKey(project_key=project, session_id=session_id)


async def check_two_projects(store: Any) -> None:
    """The old session is intact, and the same id now lives in a second project too."""
    assert await store.load(key("-old-project")) == ENTRIES
    await store.append(key("-new-project"), OTHER)
    assert await store.load(key("-old-project")) == ENTRIES
    assert await store.load(key("-new-project")) == OTHER
    found = await store.find("shared-id", project_key="-old-project")
    assert found is not None and found.key == key("-old-project")
    newest = await store.find("shared-id")
    assert newest is not None and newest.key == key("-new-project")


async def test_a_version_1_sqlite_file_is_migrated_and_keeps_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    await store.append(key("-old-project"), ENTRIES)
    await store.close()
    with sqlite3.connect(path) as db:  # what tether wrote before sessions were keyed by project
        db.execute("DROP TABLE tether_leases")
        db.execute("DROP INDEX tether_sessions_main")
        db.execute(
            "CREATE UNIQUE INDEX tether_sessions_main ON tether_sessions (scope, session_id)"
            " WHERE deleted = 0 AND subpath = ''"
        )
        db.execute("PRAGMA user_version = 1")
    reopened = SQLiteStore(path)
    try:
        await check_two_projects(reopened)
    finally:
        await reopened.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SQLITE_VERSION == 3


@pytest.mark.postgres
async def test_a_version_1_postgres_database_is_migrated_and_keeps_its_sessions(empty_database: str) -> None:
    import psycopg

    from tether.sessions.stores.postgres import SCHEMA_VERSION, PostgresStore

    store = PostgresStore(empty_database)
    await store.append(key("-old-project"), ENTRIES)
    await store.close()
    with psycopg.connect(empty_database, autocommit=True) as db:
        db.execute("DROP TABLE tether_leases")
        db.execute("DROP INDEX tether_sessions_main")
        db.execute(
            "CREATE UNIQUE INDEX tether_sessions_main ON tether_sessions (scope, session_id)"
            " WHERE NOT deleted AND subpath = ''"
        )
        db.execute("UPDATE tether_schema SET version = 1")
    reopened = PostgresStore(empty_database)
    try:
        await check_two_projects(reopened)
    finally:
        await reopened.close()
    with psycopg.connect(empty_database) as db:
        row = db.execute("SELECT version FROM tether_schema").fetchone()
        assert row is not None and row[0] == SCHEMA_VERSION == 3


@pytest.mark.redis
async def test_version_1_redis_data_is_read_as_it_is(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    from tether.sessions.stores.redis import SCHEMA_VERSION, RedisStore

    store = RedisStore(redis_url, prefix=redis_prefix)
    await store.append(key("-old-project"), ENTRIES)
    await store.close()
    client = redis.asyncio.Redis.from_url(redis_url)
    await client.set(f"{{{redis_prefix}}}:schema", 1)
    reopened = RedisStore(redis_url, prefix=redis_prefix)
    try:
        await check_two_projects(reopened)
        await reopened.delete(key("-new-project"))
        assert await reopened.load(key("-old-project")) == ENTRIES
        found = await reopened.find("shared-id")
        assert found is not None and found.key == key("-old-project")
        schema = await client.get(f"{{{redis_prefix}}}:schema")
        assert schema is not None and int(schema) == SCHEMA_VERSION == 3
    finally:
        await reopened.close()
        await client.aclose()


async def test_a_jsonl_store_keeps_one_id_in_two_project_directories(tmp_path: Path) -> None:
    from tether.sessions.stores.jsonl import JsonlStore

    store = JsonlStore(tmp_path / "claude")
    await store.append(key("-old-project"), ENTRIES)
    await check_two_projects(store)
    assert (tmp_path / "claude" / "projects" / "-old-project" / "shared-id.jsonl").is_file()
    assert (tmp_path / "claude" / "projects" / "-new-project" / "shared-id.jsonl").is_file()
