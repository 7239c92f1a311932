"""What the file-rewinding tests share (`tests/checkpoints`, `tests/workspace`): a client's options
over a scripted model, and a prompt whose echoed uuid is a rewind point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tether import AgentClient, AgentOptions, ResultMessage, UserMessage
from tether._vocabulary.store import SessionStore
from tether.testing import ScriptedModel

ECHO: dict[str, str | None] = {"replay-user-messages": None}
"""`extra_args` that echo each prompt back as a `UserMessage` carrying its uuid."""


def options_for(cwd: Path, store: SessionStore, replies: list[Any], **extra: Any) -> AgentOptions:
    """Options with file checkpointing on, prompts echoed and edits accepted; `extra` adds or overrides."""
    settings: dict[str, Any] = {"permission_mode": "acceptEdits", "extra_args": dict(ECHO), **extra}
    return AgentOptions(
        model=ScriptedModel(replies), cwd=cwd, session_store=store, enable_file_checkpointing=True, **settings
    )


async def ask(client: AgentClient, prompt: str) -> str:
    """Send `prompt`; the uuid of its echoed UserMessage (the first UserMessage of the response)."""
    await client.query(prompt)
    messages = [message async for message in client.receive_response()]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and not result.is_error, result
    echoed = [m for m in messages if isinstance(m, UserMessage)]
    assert echoed[0].content == prompt and echoed[0].uuid
    return echoed[0].uuid
