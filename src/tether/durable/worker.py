"""`run_worker` (`tether worker --store URL`): run durable turns, and take over those whose owner died.

DBOS, self-hosted, recovers at launch only the workflows of the launching executor; tether gives
every process an executor id of its own, so that never happens. Instead a worker looks, every
`poll_interval` seconds, at the turns still `PENDING` (`DBOS.list_workflows_async`) and decides
whether the process running each is alive:

- an executor of this host whose pid is gone is dead (at once);
- otherwise the session's turn lease decides (`tether.sessions.lease`): a lease held by a live
  owner means alive; one that lapsed (its owner stopped renewing it for `session_lease_ttl`
  seconds, as a dead process of another machine does) or whose owner's pid is gone means dead.
  A turn started, or dequeued by a worker, less than `grace` seconds ago is left to start (it may
  not hold its lease yet).

A dead owner's turn is handed to the workers with `DBOS.resume_workflow_async(id,
queue_name=WORKER_QUEUE)`: it becomes `ENQUEUED` on the workers' queue, one worker dequeues it
and replays it (completed steps are not run again). A turn recorded by another application
version is left alone, and the worker says so (DBOS dequeues only workflows of its own version).
A turn that finished is `SUCCESS` and never `PENDING` again: a worker that comes back runs nothing.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
from dbos import DBOS

from tether._vocabulary.durable import DurableEngine
from tether.durable.engine import WORKER_QUEUE, DurableRuntime, launch, shutdown, system_database_url
from tether.durable.turns import TURN_WORKFLOW, WorkerSetup, set_worker_setup
from tether.errors import SessionBusyError, SessionNotFoundError
from tether.options import AgentOptions
from tether.sessions.capabilities import store_access
from tether.sessions.keys import project_key_for_directory
from tether.sessions.lease import SessionLease, local_process_alive
from tether.sessions.urls import open_store

__all__ = ["Worker", "run_worker"]

_log = logging.getLogger("tether.durable")


@dataclass
class Worker:
    """A worker process's state: which turns it took over, which it leaves alone."""

    store: str
    options: AgentOptions = field(default_factory=AgentOptions)
    engine: DurableEngine = field(default_factory=DurableEngine)
    poll_interval: float = 1.0
    grace: float = 2.0
    runtime: DurableRuntime | None = None
    taken: dict[str, Any] = field(default_factory=dict)
    """Workflow id -> handle of the turns this worker took over."""
    left_alone: set[str] = field(default_factory=set)
    _store: Any = None

    async def start(self) -> DurableRuntime:
        """Launch DBOS as a worker: it runs the turns handed to `WORKER_QUEUE`."""
        set_worker_setup(WorkerSetup(self.store, self.options))
        self.runtime = launch(system_database_url(self.engine, self.store), self.engine, worker=True)
        await DBOS.register_queue_async(WORKER_QUEUE, polling_interval_sec=0.2)
        return self.runtime

    async def take_over(self) -> int:
        """Hand the turns of dead owners to the workers; how many turns of ours are still open."""
        runtime = self.runtime or await self.start()
        pending = await DBOS.list_workflows_async(status=["PENDING", "ENQUEUED"], name=TURN_WORKFLOW, load_output=False)
        open_turns = 0
        for status in pending:
            workflow_id = status.workflow_id
            if status.app_version != runtime.application_version:
                if workflow_id not in self.left_alone:
                    self.left_alone.add(workflow_id)
                    _log.warning(
                        "turn %s was recorded by application version %s; this worker runs %s and leaves it alone",
                        workflow_id,
                        status.app_version,
                        runtime.application_version,
                    )
                continue
            open_turns += 1
            if status.status != "PENDING" or status.executor_id == runtime.executor_id or workflow_id in self.taken:
                continue
            if await self._owner_alive(status):
                continue
            _log.warning("turn %s: its worker %s died; taking it over", workflow_id, status.executor_id)
            self.taken[workflow_id] = await DBOS.resume_workflow_async(workflow_id, queue_name=WORKER_QUEUE)
        return open_turns

    async def _owner_alive(self, status: Any) -> bool:
        if local_process_alive(str(status.executor_id or "")):
            return True
        moved = max(status.created_at or 0, status.updated_at or 0, status.dequeued_at or 0) / 1000
        if time.time() - moved < self.grace:  # started or dequeued just now: its lease may not be taken yet
            return True
        turn = (status.input or {}).get("args", [{}])
        return await self._lease_held(turn[0] if turn else {})

    async def _lease_held(self, turn: dict[str, Any]) -> bool:
        if self._store is None:
            self._store = open_store(self.store)
        access = store_access(self._store)
        try:
            found = await access.locate(str(turn.get("session_id")), project_key_for_directory(str(turn.get("cwd"))))
        except SessionNotFoundError:
            return False
        lease = SessionLease(access, found.key, ttl=self.options.session_lease_ttl)
        try:
            await lease.acquire(0)
        except SessionBusyError:
            return True
        await lease.release()
        return False

    async def collect(self) -> None:
        """Report the taken-over turns that ended (one JSON line each on stdout)."""
        for workflow_id in list(self.taken):
            status = await DBOS.get_workflow_status_async(workflow_id)
            if status is None or status.status in ("PENDING", "ENQUEUED"):
                continue
            del self.taken[workflow_id]
            print(json.dumps({"turn": workflow_id, "status": status.status}), flush=True)

    async def run(self, *, exit_when_idle: bool = False) -> None:
        """Take over dead owners' turns until cancelled (or, `exit_when_idle`, until none is open)."""
        await self.start()
        try:
            while True:
                open_turns = await self.take_over()
                await self.collect()
                if exit_when_idle and open_turns == 0 and not self.taken:
                    return
                await anyio.sleep(self.poll_interval)
        finally:
            if self._store is not None:
                with anyio.CancelScope(shield=True):
                    await store_access(self._store).close()
            shutdown()


async def run_worker(
    store: str,
    *,
    options: AgentOptions | None = None,
    engine: DurableEngine | None = None,
    poll_interval: float = 1.0,
    grace: float = 2.0,
    exit_when_idle: bool = False,
) -> None:
    """Run a worker on the session store `store` (a URL): it runs the durable turns whose owner
    died with `options` (its tools, hooks and model; what the turn recorded, such as its model
    name, cwd and allowed tools, comes first)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    worker = Worker(store, options or AgentOptions(), engine or DurableEngine(), poll_interval, grace)
    await worker.run(exit_when_idle=exit_when_idle)
