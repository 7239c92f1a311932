"""What a turn's lease costs: resumed `query()` turns with the lease, and with it switched off.

    .venv/bin/python -m bench.lease [--turns 40] [--rounds 5] [--stores sqlite memory]

Each round runs `--turns` resumed one-turn `query()` calls on one session (a `ScriptedModel`, so
the model costs nothing) twice, alternating: as shipped, and with `SessionLease.acquire` and
`release` replaced by no-ops (the baseline, what a turn cost before leases). Figures are the
medians over rounds of the mean time per turn, and their ratio, in one run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

from tether import AgentOptions, ResultMessage, query
from tether._vocabulary.store import SessionStore
from tether.sessions.capabilities import store_access
from tether.sessions.lease import SessionLease
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel

STORES: dict[str, Callable[[Path], SessionStore]] = {
    "sqlite": lambda directory: SQLiteStore(directory / "sessions.db"),
    "memory": lambda directory: MemoryStore(),
}


@contextmanager
def leases_off() -> Iterator[None]:
    """Turns take no lease (the baseline)."""
    acquire, release = SessionLease.acquire, SessionLease.release

    async def take(self: SessionLease, wait: float = 0.0) -> bool:
        return False

    async def give_back(self: SessionLease) -> None:
        return None

    SessionLease.acquire, SessionLease.release = take, give_back  # type: ignore[method-assign]
    try:
        yield
    finally:
        SessionLease.acquire, SessionLease.release = acquire, release  # type: ignore[method-assign]


async def per_turn(store: SessionStore, project: Path, session_id: str, turns: int) -> float:
    """Mean seconds of one resumed one-turn `query()`."""
    started = time.perf_counter()
    for index in range(turns):
        options = AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project, resume=session_id)
        async for _ in query(prompt=f"turn {index}", options=options):
            pass
    return (time.perf_counter() - started) / turns


async def measure(kind: str, turns: int, rounds: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        project = directory / "project"
        project.mkdir()
        store = STORES[kind](directory)
        options = AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project)
        result = [m async for m in query(prompt="start", options=options)][-1]
        assert isinstance(result, ResultMessage)
        leased: list[float] = []
        baseline: list[float] = []
        for _ in range(rounds):
            leased.append(await per_turn(store, project, result.session_id, turns))
            with leases_off():
                baseline.append(await per_turn(store, project, result.session_id, turns))
        await store_access(store).close()
        return statistics.median(leased), statistics.median(baseline)


async def main(arguments: argparse.Namespace) -> None:
    print(f"{'store':8} {'with lease':>12} {'without':>12} {'ratio':>7}")
    for kind in arguments.stores:
        leased, baseline = await measure(kind, arguments.turns, arguments.rounds)
        print(f"{kind:8} {leased * 1000:9.2f} ms {baseline * 1000:9.2f} ms {leased / baseline:6.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stores", nargs="+", choices=sorted(STORES), default=["sqlite", "memory"])
    anyio.run(main, parser.parse_args())
