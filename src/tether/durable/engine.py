"""DBOS in this process: its configuration from `DurableEngine` and the session store, and its launch.

DBOS keeps one instance per process. Its system database defaults to the session store's own
PostgreSQL (in a schema of its own, `DurableEngine.schema`) or to a SQLite file beside the SQLite
store (`<store file>.dbos`). Every process gets an executor id of its own (`host:pid:random`), so
DBOS's launch-time recovery (which recovers only the launching executor's workflows) never runs a
turn: taking a dead worker's turns over is `tether.durable.worker`'s job. A process that only
submits turns listens to no queue; workers listen to `WORKER_QUEUE`, where taken-over turns go.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from tether._version import __version__
from tether._vocabulary.durable import DurableEngine
from tether._vocabulary.store import SessionStore
from tether.errors import ConfigurationError
from tether.sessions.stores._sqlite_file import default_sqlite_path
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.urls import parse_store_url

__all__ = [
    "WORKER_QUEUE",
    "DurableRuntime",
    "engine_of",
    "launch",
    "runtime",
    "shutdown",
    "system_database_url",
]

WORKER_QUEUE = "tether_turns"
"""The DBOS queue of turns taken over from dead workers (only workers listen to it)."""
APP_NAME = "tether"
_log = logging.getLogger("tether.durable")


@dataclass(frozen=True)
class DurableRuntime:
    """The launched DBOS of this process."""

    system_database_url: str
    application_version: str
    executor_id: str
    worker: bool


_runtime: DurableRuntime | None = None


def engine_of(durable: bool | DurableEngine) -> DurableEngine:
    """The engine settings `AgentOptions.durable` stands for (`True`: the defaults)."""
    return durable if isinstance(durable, DurableEngine) else DurableEngine()


def system_database_url(engine: DurableEngine, store: SessionStore | str | None) -> str:
    """Where DBOS keeps its state for turns on `store` (see the module doc)."""
    if engine.system_database_url:
        return engine.system_database_url
    if store is None:
        store = os.environ.get("TETHER_STORE_URL") or "sqlite://"
    if isinstance(store, str):
        url = parse_store_url(store)
        if url.scheme == "sqlite":
            name = url.path[1:]  # as SQLiteStore reads it: the slash after the (empty) host ends the authority
            return _beside(Path(name).expanduser().absolute() if name else default_sqlite_path())
        if url.scheme in ("postgresql", "postgres"):
            return "postgresql://" + store.split("://", 1)[1].split("?", 1)[0]
        raise ConfigurationError(
            f"durable turns keep their state in PostgreSQL or SQLite: give DurableEngine(system_database_url=...) "
            f"for the store {url.shown!r}"
        )
    if isinstance(store, SQLiteStore):
        return _beside(store.path)
    raise ConfigurationError(
        f"durable turns need DurableEngine(system_database_url=...) for a store given as {type(store).__name__} "
        "(or the store as a sqlite:// or postgresql:// URL)"
    )


def _beside(path: Path) -> str:
    return f"sqlite:///{path.with_name(path.name + '.dbos')}"


def runtime() -> DurableRuntime | None:
    """The launched DBOS of this process, if any."""
    return _runtime


def launch(url: str, engine: DurableEngine, *, worker: bool) -> DurableRuntime:
    """Launch DBOS on `url` once per process (the turn workflow registered); later calls check it matches."""
    global _runtime
    version = engine.application_version or __version__
    if _runtime is not None:
        if _runtime.system_database_url != url or _runtime.application_version != version:
            raise ConfigurationError(
                f"this process already runs durable turns on {_runtime.system_database_url!r} "
                f"(version {_runtime.application_version!r}); one DBOS system database per process"
            )
        if worker and not _runtime.worker:
            raise ConfigurationError("this process already submits durable turns; start the worker in its own process")
        return _runtime
    from dbos import DBOS  # the turn workflow is registered: callers import tether.durable.turns first

    executor = engine.executor_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    config = {
        "name": APP_NAME,
        "system_database_url": url,
        "application_version": version,
        "executor_id": executor,
        "run_admin_server": False,
        "log_level": "WARNING",
        "notification_listener_polling_interval_sec": 0.1,
    }
    if url.startswith("postgresql"):
        config["dbos_system_schema"] = engine.schema
    if url.startswith("sqlite:///"):
        _write_ahead_log(Path(url.removeprefix("sqlite:///")))
    DBOS(config=config)  # type: ignore[arg-type]
    if not worker:
        DBOS.listen_queues([])  # taken-over turns go to workers only
    DBOS.launch()  # a worker then registers WORKER_QUEUE (tether.durable.worker)
    _runtime = DurableRuntime(url, version, executor, worker)
    _log.info("durable turns on %s (version %s, executor %s)", url, version, executor)
    return _runtime


def _write_ahead_log(path: Path) -> None:
    """Put DBOS's SQLite file in WAL mode (it stays so): a step's commit then costs one sync, and
    DBOS's polling readers do not block the turn's writes."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    path.chmod(0o600)


def shutdown() -> None:
    """Stop DBOS in this process (tests and workers that end)."""
    global _runtime
    if _runtime is None:
        return
    from dbos import DBOS

    DBOS.destroy(destroy_registry=False)
    _runtime = None
