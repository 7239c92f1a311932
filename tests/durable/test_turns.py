"""Durable turns beyond the kill: a turn id submitted twice runs once, a worker of another
application version leaves a turn alone, the messages are a plain run's, and a plain run imports no DBOS."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.durable.test_kill import (
    ROOT,
    WAIT_SECONDS,
    Planner,
    environment,
    log_lines,
    run_worker,
    start_turn,
    wait_for,
)
from tests.fakes.anthropic_server import FakeAnthropicServer

from tether import AgentOptions, ConfigurationError, query


def test_the_same_turn_id_twice_runs_once(store_url: str, tmp_path: Path) -> None:
    planner = Planner()
    log = tmp_path / "jobs.log"
    session_id = str(uuid.uuid4())
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, log)
        first_out, _ = start_turn(store_url, session_id, tmp_path, env, turn_id="turn-1").communicate(
            timeout=WAIT_SECONDS
        )
        second_out, _ = start_turn(store_url, session_id, tmp_path, env, turn_id="turn-1").communicate(
            timeout=WAIT_SECONDS
        )
    first = [json.loads(line) for line in first_out.splitlines()]
    second = [json.loads(line) for line in second_out.splitlines()]
    assert dict(Counter(planner.points)) == {0: 1, 1: 1, 2: 1}  # the model was asked once per point
    assert log_lines(log) == ["lookup a", "append b"]
    assert first[-1]["kind"] == second[-1]["kind"] == "ResultMessage"
    assert first[-1]["subtype"] == second[-1]["subtype"] == "success"
    stored = [line["uuid"] for line in first if line["kind"] in ("UserMessage", "AssistantMessage")]
    followed = [line["uuid"] for line in second if line["kind"] in ("UserMessage", "AssistantMessage")]
    assert followed[-len(stored) :] == stored  # the second caller follows the first: the same stored messages


def test_a_worker_of_another_version_leaves_the_turn_alone(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'sessions.db'}"
    planner = Planner(block_at=1)
    log = tmp_path / "jobs.log"
    session_id = str(uuid.uuid4())
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, log, DURABLE_VERSION="v1")
        child = start_turn(store_url, session_id, tmp_path, env)
        wait_for(lambda: len(server.requests) >= 2, "the second model call")
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=WAIT_SECONDS)
        other = run_worker(store_url, tmp_path, env, version="v2")
        assert other.returncode == 0 and other.stdout == ""
        assert "application version v1" in other.stderr and "leaves it alone" in other.stderr
        assert len(server.requests) == 2  # nothing ran
        same = run_worker(store_url, tmp_path, env, version="v1")
        assert [json.loads(line)["status"] for line in same.stdout.splitlines()] == ["SUCCESS"], same.stderr
    assert log_lines(log) == ["lookup a", "append b"]


def test_a_plain_run_does_not_import_dbos() -> None:
    code = (
        "import sys, anyio\n"
        "from tether import query, AgentOptions\n"
        "from tether.testing import ScriptedModel\n"
        "async def main():\n"
        "    options = AgentOptions(model=ScriptedModel(['hello']), persist_session=False)\n"
        "    async for _ in query(prompt='hi', options=options):\n"
        "        pass\n"
        "anyio.run(main)\n"
        "print(sorted(m for m in sys.modules if m == 'dbos' or m.startswith('tether.durable')))\n"
    )
    env = {"PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=WAIT_SECONDS)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.anyio
async def test_bad_durable_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="turn_id needs durable"):
        async for _ in query(prompt="hi", options=AgentOptions(turn_id="t", cwd=tmp_path)):
            pass
    with pytest.raises(ConfigurationError, match="persist_session=False"):
        async for _ in query(prompt="hi", options=AgentOptions(durable=True, persist_session=False, cwd=tmp_path)):
            pass


def test_tether_worker_command_ends_a_killed_turn(tmp_path: Path) -> None:
    """`tether -p ... --durable` killed mid-model-call; `tether worker --exit-when-idle` ends the turn."""
    store_url = f"sqlite:///{tmp_path / 'sessions.db'}"
    planner = Planner(block_at=1)
    with FakeAnthropicServer([planner] * 20) as server:
        env = environment(server, tmp_path / "jobs.log")
        command = [sys.executable, "-m", "tether.cli", "--store", store_url, "--cwd", str(tmp_path)]
        child = subprocess.Popen(
            [*command, "-p", "Do the jobs", "--durable", "--allowed-tools", "Bash", "-m", "claude-sonnet-4-5"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: len(server.requests) >= 2, "the second model call")
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=WAIT_SECONDS)
        worker = subprocess.run(
            [sys.executable, "-m", "tether.cli", "worker", "--store", store_url, "--poll", "0.2", "--exit-when-idle"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS * 2,
        )
    assert worker.returncode == 0, worker.stderr
    assert [json.loads(line)["status"] for line in worker.stdout.splitlines()] == ["SUCCESS"], worker.stderr
    assert dict(Counter(planner.points)) == {0: 1, 1: 2, 2: 1}


def test_dbos_keeps_its_state_beside_the_store(tmp_path: Path) -> None:
    from tether import DurableEngine, SQLiteStore
    from tether.durable.engine import system_database_url

    engine = DurableEngine()
    assert system_database_url(engine, f"sqlite:///{tmp_path}/s.db") == f"sqlite:///{tmp_path}/s.db.dbos"
    assert system_database_url(engine, SQLiteStore(tmp_path / "t.db")) == f"sqlite:///{tmp_path}/t.db.dbos"
    assert system_database_url(engine, "postgres://u@db:5432/app?scope=x") == "postgresql://u@db:5432/app"
    assert system_database_url(DurableEngine(system_database_url="sqlite:///x"), "memory://") == "sqlite:///x"
    with pytest.raises(ConfigurationError, match="system_database_url"):
        system_database_url(engine, "memory://")


def test_a_replayed_turn_writes_only_what_the_store_lacks() -> None:
    from tether.durable.ledger import TurnLedger

    def entries() -> list[dict[str, Any]]:
        first: dict[str, Any] = {"type": "user", "uuid": "random-1", "parentUuid": "start"}
        return [first, {"type": "assistant", "uuid": "random-2", "parentUuid": "random-1"}, {"type": "cost-state"}]

    written = TurnLedger("turn-a", []).unwritten(entries())
    assert [entry.get("uuid") for entry in written][:2] != ["random-1", "random-2"]
    assert written[1]["parentUuid"] == written[0]["uuid"] and written[0]["parentUuid"] == "start"
    replay = TurnLedger("turn-a", written[:1])  # the crash came after the first entry landed
    again = entries()
    assert replay.unwritten(again) == again[1:] and again[0]["uuid"] == written[0]["uuid"]
    assert again[1]["uuid"] == written[1]["uuid"] and replay.skipped == 1
    assert TurnLedger("turn-b", []).unwritten(entries())[0]["uuid"] != written[0]["uuid"]


COMPACT = """
import sys, anyio
from tether import AgentOptions, ResultMessage, query
from tether.testing import ScriptedModel

async def main():
    store = sys.argv[1]
    model = ScriptedModel(["First answer.", "A summary of the conversation.", "Second answer."])
    options = AgentOptions(model=model, session_store=store, durable=True)
    first = [m async for m in query(prompt="Hello", options=options)]
    session_id = first[-1].session_id
    for prompt in ("/compact", "And now?"):
        options = AgentOptions(model=model, session_store=store, durable=True, resume=session_id)
        result = [m async for m in query(prompt=prompt, options=options)][-1]
        assert isinstance(result, ResultMessage) and not result.is_error, result
        print(result.result)

anyio.run(main)
"""


def test_a_durable_session_compacts_and_goes_on(tmp_path: Path) -> None:
    """`/compact` in a durable turn: the summary call is a model step; resumed durable turns go on."""
    store_url = f"sqlite:///{tmp_path / 'sessions.db'}"
    env = {"PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path), "TETHER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", COMPACT, store_url], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Compacted", "Second answer."]
