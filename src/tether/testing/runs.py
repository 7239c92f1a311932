"""`run_query`: one `query()` run, its messages and its result, for tests.

```python
from tether import AgentOptions
from tether.testing import ScriptedModel, run_query

async def test_it_answers():
    run = await run_query("Hi", AgentOptions(model=ScriptedModel(["Hello."])))
    assert run.result.result == "Hello."
    assert run.session_id == run.messages[0].data["session_id"]
```
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any

from tether._query import query
from tether.messages import Message, ResultMessage
from tether.options import AgentOptions

__all__ = ["RunResult", "run_query"]


@dataclass(frozen=True)
class RunResult:
    """Every message of one run in the order `query()` yielded them, and its `ResultMessage` (the last)."""

    messages: list[Message]
    result: ResultMessage

    @property
    def session_id(self) -> str:
        """The session the run used."""
        return self.result.session_id


async def run_query(prompt: str | AsyncIterable[dict[str, Any]], options: AgentOptions | None = None) -> RunResult:
    """Run `query(prompt=prompt, options=options)` to its end; what it raises propagates.

    A run whose last message is not a `ResultMessage` raises `AssertionError`.
    """
    messages = [message async for message in query(prompt=prompt, options=options)]
    last = messages[-1] if messages else None
    if not isinstance(last, ResultMessage):
        raise AssertionError(f"the run ended without a ResultMessage; its last message was {last!r}")
    return RunResult(messages, last)
