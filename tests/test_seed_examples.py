"""The Claude Agent SDK's session examples run on tether with only the import line changed."""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any

import pytest

from tether.testing import FunctionModel, override_model

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).parent / "seed_examples"


def load_example(name: str) -> types.ModuleType:
    """The example's code with `claude_agent_sdk` swapped for `tether` and nothing else."""
    source = (EXAMPLES / f"{name}.py").read_text()
    original = "from claude_agent_sdk import query, ClaudeAgentOptions"
    assert source.startswith(original)
    ported = source.replace(original, "from tether import query, ClaudeAgentOptions", 1)
    assert ported.count("\n") == source.count("\n") and len(ported.splitlines()[1:]) == len(source.splitlines()[1:])
    module = types.ModuleType(f"seed_{name}")
    exec(compile(ported, str(EXAMPLES / f"{name}.py"), "exec"), module.__dict__)
    return module


def history_texts(request: Any) -> list[str]:
    return [b["text"] for m in request.messages for b in m["content"] if b.get("type") == "text"]


@pytest.fixture
def in_project(project: Path) -> Any:
    previous = Path.cwd()
    os.chdir(project)
    yield project
    os.chdir(previous)


async def test_start_then_resume_examples(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = FunctionModel(lambda request: f"reply {len(request.messages)}")
    with override_model(model):
        session_id = await load_example("start").main()
        assert session_id and f"Session started with ID: {session_id}" in capsys.readouterr().out
        await load_example("resume").main(session_id)
    assert history_texts(model.requests[-1]) == [
        "Help me build a web application",
        "reply 1",
        "Continue implementing the authentication system from where we left off",
    ]


async def test_fork_example(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = FunctionModel(lambda request: f"reply {len(request.messages)}")
    with override_model(model):
        session_id, forked_id = await load_example("fork").main()
    assert session_id and forked_id and session_id != forked_id
    out = capsys.readouterr().out
    assert f"Original session: {session_id}" in out and f"Forked session: {forked_id}" in out
    fork_request, original_request = model.requests[1], model.requests[2]
    assert history_texts(fork_request)[-1] == "Now let's redesign this as a GraphQL API instead"
    expected = ["Help me design a REST API", "reply 1", "Add authentication to the REST API"]
    assert history_texts(original_request) == expected
