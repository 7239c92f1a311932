"""Sessions for the browser tests, made by real runs (`query()` with `ScriptedModel`) in a real store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tether import AgentOptions, AssistantMessage, ToolUseBlock
from tether._vocabulary.store import SessionStore
from tether.sessions.helpers import fork_session_async, tag_session_async
from tether.testing import ScriptedModel, run_query, tool_use_reply

TOKEN = "test-token-0123456789"
HOSTS = ["testserver", "127.0.0.1:8765"]


@dataclass
class Made:
    """The sessions `make_sessions` wrote."""

    main: str
    """Wrote and edited notes.txt (a Write, an Edit), thought once, was compacted, then asked again."""
    fork: str
    """A fork of `main` at its first reply, then a turn of its own."""
    plain: str
    """One short turn, tagged `demo`."""
    edit_uuid: str
    """The uuid of the assistant entry of `main` holding the Edit call."""


def _options(store: SessionStore, cwd: Path, model: ScriptedModel, resume: str | None = None) -> AgentOptions:
    return AgentOptions(
        model=model, session_store=store, cwd=str(cwd), permission_mode="bypassPermissions", resume=resume
    )


async def make_sessions(store: SessionStore, cwd: Path) -> Made:
    notes = cwd / "notes.txt"
    first = ScriptedModel(
        [
            tool_use_reply("Write", {"file_path": str(notes), "content": "alpha\nbeta\n"}, text="Writing it."),
            tool_use_reply("Edit", {"file_path": str(notes), "old_string": "beta", "new_string": "gamma"}),
            [
                {"type": "thinking", "thinking": "the file looks right", "signature": "s"},
                {"type": "text", "text": "Done."},
            ],
        ],
        cost_per_reply=0.0042,
    )
    run = await run_query("Create notes.txt with two lines", _options(store, cwd, first))
    main = run.session_id
    replies = [m for m in run.messages if isinstance(m, AssistantMessage)]
    edit_uuid = next(
        m.uuid for m in replies if any(isinstance(b, ToolUseBlock) and b.name == "Edit" for b in m.content)
    )
    first_reply = replies[0].uuid
    await run_query("/compact", _options(store, cwd, ScriptedModel(["Summary: notes.txt was written."]), main))
    await run_query(
        "Anything else?", _options(store, cwd, ScriptedModel(["Nothing else."], cost_per_reply=0.0031), main)
    )
    fork = str(await fork_session_async(main, None, first_reply, "Other way", store=store))
    await run_query(
        "Try the other way", _options(store, cwd, ScriptedModel(["The other way."], cost_per_reply=0.0027), fork)
    )
    plain_run = await run_query("Say hi", _options(store, cwd, ScriptedModel(["hi"])))
    await tag_session_async(plain_run.session_id, "demo", store=store)
    assert edit_uuid is not None
    return Made(main, fork, plain_run.session_id, edit_uuid)
