"""Stores that stop answering, writes that land and then fail, pools left open.

- A PostgreSQL or Redis server behind a relay that stops relaying (the connections stay open):
  a run with `run_timeout` ends with `StoreError` naming the call, about when its deadline
  passes; the session resumes, whole, once the server answers again.
- A lease write that lands and then raises: the process that wrote it does not wait for it.
- A PostgresStore dropped unclosed (as the SDK's conformance suite drops its stores) leaves no
  pool worker pending at exit.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.stores.fault_proxy import FaultProxy

from tether import AgentOptions, ResultMessage, StoreError, project_key_for_directory
from tether._vocabulary.store import SessionKey, SessionStoreEntry
from tether.sessions.capabilities import store_access
from tether.sessions.stores.memory import MemoryStore
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio

RUN_TIMEOUT = 6.0


async def stalled_run(store: Any, project: Path, session_id: str) -> tuple[BaseException | list[Any], float]:
    """A resumed run against the stalled store: what it ended with, and after how long."""
    options = AgentOptions(
        model=ScriptedModel(["never stored"]), session_store=store, cwd=project, resume=session_id, run_timeout=6
    )
    started = anyio.current_time()
    outcome: BaseException | list[Any]
    with anyio.fail_after(90):  # the safety net: a store that holds the run would fail the test here
        try:
            outcome = (await run_query("while stalled", options)).messages
        except StoreError as error:
            outcome = error
    return outcome, anyio.current_time() - started


async def check_stall_and_recovery(store: Any, proxy: FaultProxy, project: Path) -> None:
    first = await run_query("hello", AgentOptions(model=ScriptedModel(["one"]), session_store=store, cwd=project))
    session_id = first.session_id
    before = await store_access(store).load(
        SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
    )
    proxy.stall()
    outcome, took = await stalled_run(store, project, session_id)
    if isinstance(outcome, list):  # an error result is the other accepted ending
        result = outcome[-1]
        assert isinstance(result, ResultMessage) and result.is_error, result
    else:
        assert "did not answer" in str(outcome) or "store" in str(outcome), outcome
    assert took < RUN_TIMEOUT + 2, f"the stalled run took {took:.1f} s"
    proxy.relay()
    again = await run_query(
        "after", AgentOptions(model=ScriptedModel(["two"]), session_store=store, cwd=project, resume=session_id)
    )
    assert again.result.subtype == "success" and again.result.result == "two"
    key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id)
    after = await store_access(store).load(key) or []
    assert after[: len(before or [])] == before  # nothing of the cut run was half-written before it
    texts = [e["message"]["content"] for e in after if e.get("type") == "user" and "message" in e]
    assert texts.count("after") == 1


@pytest.mark.postgres
async def test_a_stalled_postgresql_ends_the_run_and_the_session_resumes(postgres_url: str, tmp_path: Path) -> None:
    from tether.sessions.stores.postgres import PostgresStore

    async with FaultProxy(5432).running() as proxy:
        store = PostgresStore(proxy.url(postgres_url, 5432), scope="stall")
        try:
            await check_stall_and_recovery(store, proxy, tmp_path)
        finally:
            proxy.relay()
            await store.close()


@pytest.mark.postgres
async def test_a_caller_that_cancels_a_run_held_by_a_stalled_store_is_answered_at_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """The caller's own deadline acts within a second, however long the store would have waited."""
    from tether.sessions.stores.postgres import PostgresStore

    async with FaultProxy(5432).running() as proxy:
        store = PostgresStore(proxy.url(postgres_url, 5432), scope="cancel")
        try:
            first = await run_query(
                "hello", AgentOptions(model=ScriptedModel(["one"]), session_store=store, cwd=tmp_path)
            )
            proxy.stall()
            options = AgentOptions(
                model=ScriptedModel(["never"]), session_store=store, cwd=tmp_path, resume=first.session_id
            )  # no run_timeout: only the store's own 30 s limit would end it
            started = anyio.current_time()
            with anyio.fail_after(60):  # the safety net
                with anyio.move_on_after(1) as cancelled:
                    await run_query("while stalled", options)
            took = anyio.current_time() - started
            assert cancelled.cancelled_caught
            assert took < 2, f"the cancelled run took {took:.1f} s to give the caller control back"
        finally:
            proxy.relay()
            await store.close()


@pytest.mark.redis
async def test_a_stalled_redis_ends_the_run_and_the_session_resumes(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    from tether.sessions.stores.redis import RedisStore

    async with FaultProxy(6379).running() as proxy:
        store = RedisStore(proxy.url(redis_url, 6379), prefix=redis_prefix)
        try:
            await check_stall_and_recovery(store, proxy, tmp_path)
        finally:
            proxy.relay()
            await store.close()


class LandsThenRaises:
    """The SDK's two methods over a MemoryStore; `fail_next` makes the next append raise after its
    entries were written (a reply lost on the way back)."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.fail_next = 0

    async def append(self, key: SessionKey, entries: list[SessionStoreEntry]) -> None:
        await self.inner.append(key, entries)
        if self.fail_next and key.get("subpath") == "tether/lease":
            self.fail_next -= 1
            raise ConnectionResetError("the reply was lost")

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        return await self.inner.load(key)


async def test_a_lease_write_that_lands_then_raises_is_confirmed_at_once(tmp_path: Path) -> None:
    store = LandsThenRaises()
    first = await run_query("hello", AgentOptions(model=ScriptedModel(["one"]), session_store=store, cwd=tmp_path))
    session_id = first.session_id
    store.fail_next = 1  # the lease taken for the next turn lands, then the store raises
    again = await run_query(
        "again", AgentOptions(model=ScriptedModel(["two"]), session_store=store, cwd=tmp_path, resume=session_id)
    )
    assert again.result.subtype == "success" and again.result.result == "two"


async def test_an_abandoned_lease_of_this_process_is_taken_over_at_once(tmp_path: Path) -> None:
    store = LandsThenRaises()
    first = await run_query("hello", AgentOptions(model=ScriptedModel(["one"]), session_store=store, cwd=tmp_path))
    session_id = first.session_id
    store.fail_next = 2  # the lease write and its confirmation both land and raise: the run fails
    with pytest.raises(StoreError):
        await run_query(
            "cut", AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=tmp_path, resume=session_id)
        )
    # the lease is in the store, live; this process knows it has no turn behind it
    again = await run_query(
        "again", AgentOptions(model=ScriptedModel(["two"]), session_store=store, cwd=tmp_path, resume=session_id)
    )
    assert again.result.subtype == "success" and again.result.result == "two"


@pytest.mark.postgres
def test_postgres_stores_dropped_unclosed_leave_no_pending_pool_task(postgres_url: str) -> None:
    code = textwrap.dedent(
        f"""
        import asyncio, gc, uuid
        from tether.sessions.stores.postgres import PostgresStore
        from tether.testing import run_session_store_conformance

        async def main():
            await run_session_store_conformance(lambda: PostgresStore({postgres_url!r}, scope=uuid.uuid4().hex))
            gc.collect()
            await asyncio.sleep(0)

        asyncio.run(main())
        print("done")
        """
    )
    result = subprocess.run([sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "done" in result.stdout, result.stderr
    assert "Task was destroyed but it is pending" not in result.stderr, result.stderr
    assert "AsyncConnectionPool" not in result.stderr, result.stderr
