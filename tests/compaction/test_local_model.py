"""The embedded local model's small window: its sessions compact early, with a summary it writes itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.compaction.support import WINDOW_ENV, boundaries, result_of, summaries

from tether import AgentClient, AgentOptions, AssistantMessage, MemoryStore, Message, get_session_messages_async

pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'tether[local]')")
pytestmark = [pytest.mark.anyio, pytest.mark.local_model]

from tether.models.local import LocalModel  # noqa: E402

CONTEXT = 1_024
DAY = (
    "This morning I walked to the market, bought apples, pears and bread, met an old friend by the "
    "fountain, and we talked about the weather, the garden and the books we are reading this month."
)


async def test_a_local_session_compacts_before_its_window_and_keeps_everything(project: Path) -> None:
    model = LocalModel(n_ctx=CONTEXT, max_tokens=32, seed=1)
    store = MemoryStore()
    options = AgentOptions(model=model, tools=[], cwd=project, session_store=store, env={WINDOW_ENV: str(CONTEXT)})
    runs: list[list[Message]] = []
    async with AgentClient(options) as client:
        for n in range(11):
            await client.query(f"Note {n}: my favourite number today is {n * 3}. {DAY} Reply with one short sentence.")
            runs.append([message async for message in client.receive_response()])
        session_id = client.session_id or ""

    assert all(result_of(run).subtype == "success" for run in runs)
    compacted = [index for index, run in enumerate(runs) if boundaries(run)]
    assert compacted, "the history outgrew the threshold of the local window"
    first = compacted[0]
    summary = summaries(runs[first])[0]
    assert isinstance(summary.content, str) and len(summary.content.split("\n\n", 1)[1].strip()) > 0
    metadata = boundaries(runs[first])[0].data["compact_metadata"]
    assert metadata["pre_tokens"] > metadata["post_tokens"]

    # The request after the compaction was smaller than the one before it, as the model counted.
    def prompt_tokens(run: list[Message]) -> int:
        tokens: int = next(m.usage["input_tokens"] for m in run if isinstance(m, AssistantMessage) and m.usage)
        return tokens

    assert prompt_tokens(runs[first]) < prompt_tokens(runs[first - 1])
    assert all(prompt_tokens(run) <= CONTEXT - 32 for run in runs)
    full = await get_session_messages_async(session_id, store=store, full_history=True)
    notes = [m.message["content"] for m in full if m.type == "user"]
    assert [note.split(":")[0] for note in notes] == [f"Note {n}" for n in range(11)]
