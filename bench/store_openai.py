"""Store micro-benchmarks of OpenAI Agents' `SQLiteSession` (run in `bench/.venv`).

    bench/.venv/bin/python -m bench.store_openai '{"phase": "grow", "dir": "...", ...}'

`append` is `add_items(turn)` (4 Responses-API items), `load` is `get_items()`, the tail is
`get_items(limit=50)`. `SQLiteSession` has no fork: a branch is made the way its users do it,
reading the items and adding the prefix to a new session (both timed); the copy is cleared
right after (untimed), so it does not weigh on later figures. It has no list API either.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agents import SQLiteSession

from bench.store_driver import drive
from bench.workload import checkpoint_sqlite, emit, json_size, responses_turn, worker_args


class OpenAIAdapter:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "openai.db"
        self.session = SQLiteSession("bench-main", self.path)
        self.json_total = 0
        self.copies: list[SQLiteSession] = []

    async def append_turn(self, index: int) -> None:
        items = responses_turn(index)
        await self.session.add_items(items)  # type: ignore[arg-type]
        self.json_total += json_size(items)

    async def load_all(self) -> int:
        return len(await self.session.get_items())

    async def load_tail(self, count: int) -> int:
        return len(await self.session.get_items(limit=count))

    async def _copy(self, rep: int, part: str) -> None:
        items = await self.session.get_items()
        if part == "mid":
            items = items[: len(items) // 2]
        copy = SQLiteSession(f"bench-fork-{part}-{rep}", self.path)
        await copy.add_items(items)
        self.copies.append(copy)

    async def fork_mid(self, rep: int) -> None:
        await self._copy(rep, "mid")

    async def fork_end(self, rep: int) -> None:
        await self._copy(rep, "end")

    def bytes_on_disk(self) -> int:
        return checkpoint_sqlite(self.path)

    async def after_forks(self) -> None:
        """Clear the copies the forks made (untimed), so later figures see one session as before."""
        for copy in self.copies:
            await copy.clear_session()
            copy.close()
        self.copies.clear()

    def json_bytes(self) -> int:
        return self.json_total


async def grow(args: dict[str, Any]) -> dict[str, Any]:
    adapter = OpenAIAdapter(Path(args["dir"]))

    result = await drive(adapter, sizes=args["sizes"], full_at=args["full_at"], **args.get("drive", {}))
    adapter.session.close()
    return result


PHASES = {"grow": grow}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
