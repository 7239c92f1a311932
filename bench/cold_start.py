"""The first `query()` in a fresh process: importing the SDK, then the time to its first message.

    .venv/bin/python -m bench.cold_start '{"system": "tether", "project": "..."}'
    bench/.venv/bin/python -m bench.cold_start '{"system": "claude-agent-sdk", "project": "..."}'

What a short-lived program (a script, a CLI command, a serverless call) pays once. The SDK is
imported inside the timed section, so this module imports only the standard library at the top.
Three figures from the start of the import: `import` (the SDK and its options class), `first_message`
(the first message of the first `query()`: the init message) and `end` (its last message, after
the model's reply), which includes whatever the SDK imports only when it first calls the model.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from typing import Any

from bench.workload import MODEL, emit, worker_args


async def cold(args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    if args["system"] == "tether":
        sdk = importlib.import_module("tether")
        options = sdk.AgentOptions(model=MODEL, cwd=args["project"])
    else:
        sdk = importlib.import_module("claude_agent_sdk")
        options = sdk.ClaudeAgentOptions(model=MODEL, cwd=args["project"])
    imported = time.perf_counter() - started
    first = None
    async for _ in sdk.query(prompt="Say something short.", options=options):
        if first is None:
            first = time.perf_counter() - started
    return {"import": imported, "first_message": first, "end": time.perf_counter() - started}


if __name__ == "__main__":
    emit(asyncio.run(cold(worker_args())))
