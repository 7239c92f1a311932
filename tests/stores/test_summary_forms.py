"""Summaries stored before they carried the Claude SDK's keys still list as summaries folded now.

Stores write the summary in its final form when they fold it (so a listing only decodes it);
a summary row written by an older tether (`custom_title: True` as a flag, `created_at` an ISO
string) is converted when read, and rewritten in the new form by the next append.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tether._vocabulary.store import SessionKey
from tether.sessions.entries import make_meta_entry
from tether.sessions.summary import fold_summary

pytestmark = pytest.mark.anyio

KEY = SessionKey(project_key="-old-project", session_id="old-summary")
ENTRIES: list[dict[str, Any]] = [
    {"type": "user", "uuid": "u1", "sessionId": "old-summary", "cwd": "/p", "timestamp": "2026-01-01T00:00:00.000Z",
     "message": {"role": "user", "content": "Plan the trip"}},
    make_meta_entry("custom-title", session_id="old-summary", customTitle="Trip"),
]  # fmt: skip
OLD_FORM = {
    "message_count": 1,
    "created_at": "2026-01-01T00:00:00.000Z",
    "cwd": "/p",
    "first_prompt": "Plan the trip",
    "title": "Trip",
    "custom_title": True,
}


async def check_reads_as_folded_now(store: Any) -> None:
    expected = fold_summary(None, ENTRIES)
    (summary,) = await store.list_session_summaries(KEY["project_key"])
    assert summary["data"] == expected
    page = await store.list_page(KEY["project_key"])
    assert [item["data"] for item in page.items] == [expected]
    found = await store.find(KEY["session_id"])
    assert found is not None and found.summary == expected
    more = [make_meta_entry("ai-title", session_id="old-summary", aiTitle="ignored after a custom title")]
    await store.append(KEY, more)
    (summary,) = await store.list_session_summaries(KEY["project_key"])
    assert summary["data"] == fold_summary(expected, more)
    assert (summary["data"]["title"], summary["data"]["custom_title"]) == ("Trip", "Trip")


async def test_sqlite_old_summary_rows_list_as_folded_now(tmp_path: Path) -> None:
    from tether.sessions.stores.sqlite import SQLiteStore

    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    await store.append(KEY, ENTRIES)
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tether_sessions SET summary = ? WHERE session_id = ?", (json.dumps(OLD_FORM), "old-summary"))
    reopened = SQLiteStore(path)
    try:
        await check_reads_as_folded_now(reopened)
    finally:
        await reopened.close()


@pytest.mark.postgres
async def test_postgres_old_summary_rows_list_as_folded_now(empty_database: str) -> None:
    import psycopg

    from tether.sessions.stores.postgres import PostgresStore

    store = PostgresStore(empty_database)
    try:
        await store.append(KEY, ENTRIES)
        with psycopg.connect(empty_database, autocommit=True) as db:
            db.execute(
                "UPDATE tether_sessions SET summary = %s WHERE session_id = %s", (json.dumps(OLD_FORM), "old-summary")
            )
        await check_reads_as_folded_now(store)
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_old_summary_rows_list_as_folded_now(redis_url: str, redis_prefix: str) -> None:
    import redis.asyncio

    from tether.sessions.stores.redis import RedisStore

    store = RedisStore(redis_url, prefix=redis_prefix)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await store.append(KEY, ENTRIES)
        async for name in client.scan_iter(match=f"{{{redis_prefix}}}:s:*"):
            if await client.hget(name, "sid") == b"old-summary":
                await client.hset(name, "summary", json.dumps(OLD_FORM))
        await check_reads_as_folded_now(store)
    finally:
        await store.close()
        await client.aclose()
