"""One schedule of store micro-benchmarks, run the same way against every system (standard library only).

A system plugs in through a `StoreAdapter` (methods may be sync or async). The driver grows one
session turn by turn (4 items a turn) and, each time the session reaches a checkpoint size,
measures:

- `append`: one turn appended (the median of the last turns that led to the checkpoint);
- `load`: the whole history; `tail`: the last 50 items;
- `bytes`: the database on disk (WAL folded in) and the items' compact JSON, for their ratio;
- at the sizes in `full_at` also `fork_mid` and `fork_end` (a branch at the middle / the end).

Caps on time and disk stop a system whose costs grow too fast (LangGraph); what was reached and
why it stopped is in the result. Forks are measured after `bytes`, and a fork must not change
what the next append continues from; an adapter may define `after_forks()` (untimed) to clean up.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bench.workload import ITEMS_PER_TURN, summary

APPEND_WINDOW = 20
"""`append` at a checkpoint: the median of the last this many per-turn appends."""


class StoreAdapter(Protocol):
    """One system doing the bench's work on one session."""

    def append_turn(self, index: int) -> Any: ...
    def load_all(self) -> Any: ...
    def load_tail(self, count: int) -> Any: ...
    def fork_mid(self, rep: int) -> Any: ...
    def fork_end(self, rep: int) -> Any: ...
    def bytes_on_disk(self) -> Any: ...
    def json_bytes(self) -> int: ...


async def _call(function: Callable[[], Any]) -> Any:
    result = function()
    if inspect.isawaitable(result):
        result = await result
    return result


async def _timed(function: Callable[[], Any | Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await _call(function)
    return time.perf_counter() - start


async def _repeat(function: Callable[[], Any], reps: int) -> dict[str, Any]:
    return summary([await _timed(function) for _ in range(reps)])


async def drive(
    adapter: StoreAdapter,
    *,
    sizes: list[int],
    full_at: list[int],
    load_reps: int = 7,
    tail_reps: int = 21,
    fork_reps: int = 7,
    time_cap_s: float | None = None,
    bytes_cap: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Grow the session through `sizes` (item counts); returns per-size figures and any stop reason."""
    started = time.monotonic()
    appends: list[float] = []
    points: list[dict[str, Any]] = []
    stopped = ""
    turn = 0
    for target in sizes:
        while turn * ITEMS_PER_TURN < target:
            appends.append(await _timed(lambda index=turn: adapter.append_turn(index)))
            turn += 1
            if time_cap_s is not None and time.monotonic() - started > time_cap_s:
                stopped = f"stopped at {turn * ITEMS_PER_TURN} items: the {time_cap_s:.0f} s time cap"
                break
            if bytes_cap is not None and turn % 25 == 0 and await _call(adapter.bytes_on_disk) > bytes_cap:
                stopped = f"stopped at {turn * ITEMS_PER_TURN} items: the {bytes_cap / 1e9:.1f} GB disk cap"
                break
        items = turn * ITEMS_PER_TURN
        if stopped:
            points.append(
                {
                    "items": items,
                    "append": summary(appends[-APPEND_WINDOW:]),
                    "bytes": await _call(adapter.bytes_on_disk),
                    "json_bytes": adapter.json_bytes(),
                    "load": await _repeat(adapter.load_all, 1),
                    "partial": True,
                    "elapsed": time.monotonic() - started,
                }
            )
            break
        point: dict[str, Any] = {"items": items, "append": summary(appends[-APPEND_WINDOW:])}
        point["bytes"] = await _call(adapter.bytes_on_disk)
        point["json_bytes"] = adapter.json_bytes()
        point["load"] = await _repeat(adapter.load_all, load_reps if items <= 2_500 else max(3, load_reps // 2))
        point["tail"] = await _repeat(lambda: adapter.load_tail(50), tail_reps)
        if target in full_at:
            counter = iter(range(1_000_000))
            point["fork_mid"] = await _repeat(lambda reps=counter: adapter.fork_mid(next(reps)), fork_reps)
            point["fork_end"] = await _repeat(lambda reps=counter: adapter.fork_end(next(reps)), fork_reps)
            after_forks = getattr(adapter, "after_forks", None)
            if after_forks is not None:
                await _call(after_forks)
        point["elapsed"] = time.monotonic() - started
        points.append(point)
        if log is not None:
            log(f"{items} items in {point['elapsed']:.1f} s")
    return {
        "points": points,
        "turns": turn,
        "items": turn * ITEMS_PER_TURN,
        "stopped": stopped,
        "last_appends": summary(appends[-APPEND_WINDOW:]),
        "elapsed": time.monotonic() - started,
    }
