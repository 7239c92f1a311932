"""A turn that runs in another thread (as another process would) and waits, mid-turn, for the test."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread

from tether import AgentOptions
from tether.models.base import ModelRequest
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import FunctionModel, Reply, run_query, tool_use_reply

PROMPT = "Live prompt: write live.txt"
ANSWER = "All done live."


@dataclass
class LiveTurn:
    """A turn of `session_id` on the SQLite file `path`: it writes live.txt, then its second model
    call waits for `go` before it answers `ANSWER`."""

    path: Path
    session_id: str
    cwd: Path
    go: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    async def _reply(self, request: ModelRequest) -> Reply:
        if len(self.model.requests) == 1:
            return tool_use_reply("Write", {"file_path": str(self.cwd / "live.txt"), "content": "live\n"})
        await anyio.to_thread.run_sync(self.go.wait, 60)
        return ANSWER

    def _run(self) -> None:
        async def turn() -> None:
            store = SQLiteStore(self.path)
            try:
                options = AgentOptions(
                    model=self.model, session_store=store, resume=self.session_id, cwd=str(self.cwd),
                    permission_mode="bypassPermissions",
                )  # fmt: skip
                await run_query(PROMPT, options)
            finally:
                await store.close()

        try:
            anyio.run(turn)
        except BaseException as error:  # reported by join()
            self.error.append(error)

    def start(self) -> None:
        self.model = FunctionModel(self._reply)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.go.set()
        assert self.thread is not None
        self.thread.join(60)
        assert not self.thread.is_alive(), "the live turn did not end"
        if self.error:
            raise self.error[0]
