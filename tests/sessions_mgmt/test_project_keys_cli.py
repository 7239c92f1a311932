"""`tether sessions list` shows a session id held by two projects twice, once per project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from tether import AgentOptions, project_key_for_directory, query
from tether.cli import app
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel

SHARED_ID = "5e55a1d0-0000-4000-8000-0000000000cc"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_sessions_list_shows_one_id_in_two_projects_as_two_sessions(kind: str, tmp_path: Path) -> None:
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "sessions.db")
    projects = [tmp_path / "a", tmp_path / "b"]

    async def write() -> None:
        for project in projects:
            project.mkdir()
            options = AgentOptions(
                model=ScriptedModel([f"in {project.name}"]), session_store=store, cwd=project, session_id=SHARED_ID
            )
            async for _ in query(prompt=f"hello from {project.name}", options=options):
                pass

    anyio.run(write)
    result = CliRunner().invoke(app, ["sessions", "list", "--json"], obj={"store": store}, catch_exceptions=False)
    rows = json.loads(result.stdout)
    assert sorted((row["session_id"], row["project_key"], row["first_prompt"]) for row in rows) == [
        (SHARED_ID, project_key_for_directory(projects[0]), "hello from a"),
        (SHARED_ID, project_key_for_directory(projects[1]), "hello from b"),
    ]
    if isinstance(store, SQLiteStore):
        anyio.run(store.close)
