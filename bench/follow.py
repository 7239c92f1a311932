"""What a follower's wake costs as a session grows: `follow_entries` on a SQLite session of N entries.

    .venv/bin/python -m bench.follow [--sizes 1000 10000] [--appends 50]

A writer appends one entry at a time and waits for the follower (polling every millisecond) to
yield it; the figure is the median wall milliseconds per append-and-yield. A follower that reads
only what is new costs about the same at every size (the ratio of the largest size to the
smallest stays near 1); one that re-reads the transcript grows with it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

from tether._vocabulary.store import SessionKey
from tether.sessions.capabilities import store_access
from tether.sessions.follow import follow_entries
from tether.sessions.stores.sqlite import SQLiteStore


async def per_append_ms(size: int, appends: int) -> float:
    """The median milliseconds from an append to the follower yielding it, on a session of `size` entries."""
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(Path(directory) / "sessions.db")
        access = store_access(store)
        key = SessionKey(project_key="bench", session_id=str(uuid.uuid4()))
        pad = "x" * 400
        await access.append(key, [{"type": "user", "uuid": f"old-{n}", "pad": pad} for n in range(size)])
        sent, received = anyio.create_memory_object_stream[dict[str, Any]](1)
        timings: list[float] = []

        async def follower() -> None:
            after = f"old-{size - 1}"
            async with sent:
                async for entry in follow_entries(
                    store, key, after_uuid=after, until_result=False, poll_interval=0.001
                ):
                    await sent.send(entry)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(follower)
            for n in range(appends):
                started = time.perf_counter()
                await access.append(key, [{"type": "user", "uuid": f"new-{n}"}])
                await received.receive()
                timings.append((time.perf_counter() - started) * 1000)
            tasks.cancel_scope.cancel()
        await access.close()
    return statistics.median(timings)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--appends", type=int, default=50)
    options = parser.parse_args(argv)
    results = {size: anyio.run(per_append_ms, size, options.appends) for size in options.sizes}
    for size, ms in results.items():
        print(f"{size:>8,} entries: {ms:6.2f} ms per append")
    print(f"ratio {max(results):,} / {min(results):,} entries: {results[max(results)] / results[min(results)]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
