"""A fleet: 8 worker processes share one store and resume random sessions for a fixed number of rounds.

Every worker loads a session, appends a turn on its leaf with `expected_leaf`, and retries on
`SessionConflictError`. Afterwards each session must be one consistent chain holding exactly
the turns the workers were told succeeded. For PostgreSQL and SQLite the store starts empty, so
the 8 processes also race to create the schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import pytest

from tether._vocabulary.store import SessionKey
from tether.sessions.urls import open_store

WORKERS = str(Path(__file__).with_name("workers.py"))
PROCESSES, ROUNDS, SESSIONS = 8, 12, 20


def run_fleet(url: str) -> tuple[dict[str, list[list[str]]], int]:
    """Run the workers; the acknowledged turns per session, and how many conflicts were retried."""
    workers = [
        subprocess.Popen(
            [sys.executable, WORKERS, "fleet", url, str(index), str(ROUNDS), str(SESSIONS), "7"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(PROCESSES)
    ]
    for worker in workers:  # every worker has connected (and migrated) before any starts
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    acknowledged: dict[str, list[list[str]]] = defaultdict(list)
    conflicts = 0
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        for line in out.splitlines():
            record = json.loads(line)
            if "conflicts" in record:
                conflicts += record["conflicts"]
            else:
                acknowledged[record["session"]].append(record["turn"])
    assert sum(len(turns) for turns in acknowledged.values()) == PROCESSES * ROUNDS
    print(f"{conflicts} conflicts retried")
    return acknowledged, conflicts


async def check_chains(url: str, acknowledged: dict[str, list[list[str]]]) -> None:
    store: Any = open_store(url)
    try:
        for session_id, turns in acknowledged.items():
            loaded = await store.load(SessionKey(project_key="-fleet", session_id=session_id))
            assert loaded is not None
            uuids = [e["uuid"] for e in loaded]
            parents = [e["parentUuid"] for e in loaded]
            assert parents == [None, *uuids[:-1]], f"{session_id} is not one chain"
            assert len(uuids) == len(set(uuids)) == 2 * len(turns)
            assert set(uuids) == {u for turn in turns for u in turn}, f"{session_id} lost or gained turns"
            stored_turns = [uuids[i : i + 2] for i in range(0, len(uuids), 2)]
            assert sorted(stored_turns) == sorted(turns), f"{session_id} interleaved a turn"
        listed = await store.list_sessions("-fleet")
        assert {s["session_id"] for s in listed} == set(acknowledged)
    finally:
        await store.close()


@pytest.mark.postgres
def test_fleet_on_postgres(postgres_url: str) -> None:
    acknowledged, conflicts = run_fleet(postgres_url)
    anyio.run(check_chains, postgres_url, acknowledged)
    assert conflicts > 0, "the workers never raced; the test proves nothing"


@pytest.mark.redis
def test_fleet_on_redis(redis_url: str, redis_prefix: str) -> None:
    url = f"{redis_url}?prefix={redis_prefix}"
    acknowledged, conflicts = run_fleet(url)
    anyio.run(check_chains, url, acknowledged)
    assert conflicts > 0, "the workers never raced; the test proves nothing"


def test_fleet_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    acknowledged, _ = run_fleet(url)
    anyio.run(check_chains, url, acknowledged)
