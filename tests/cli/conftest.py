"""Fixtures of the CLI tests: run `tether` in-process with a scripted model and a chosen store."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.cli.clirun import Run, Tether
from typer.testing import CliRunner

from tether.cli import app
from tether.sessions.stores.memory import MemoryStore
from tether.testing import ScriptedModel, override_model


@pytest.fixture
def tether() -> Tether:
    """`tether(*args, replies=[...], store=None, input=None)`: run the command line in-process.

    `replies` script the model (through `override_model`, so the CLI's code is unchanged);
    `store` is a store object handed to the app (`app(obj={"store": store})`); without it the
    command uses the default store (SQLite under the test's own `TETHER_HOME`).
    """
    runner = CliRunner()

    def run(*args: str, replies: list[Any] | None = None, store: Any = None, input: str | None = None) -> Run:
        model = ScriptedModel(replies or [])
        obj = {"store": store} if store is not None else None
        with override_model(model, session_store="sqlite://"):  # the default file, kept between runs
            result = runner.invoke(app, list(args), obj=obj, input=input, catch_exceptions=False)
        return Run(result, model)

    return run


@pytest.fixture(params=["memory", "sqlite"])
def cli_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A store object to hand to the app: MemoryStore, then SQLiteStore on a fresh file."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if not importlib.util.find_spec("tether.sessions.stores.sqlite"):
        pytest.skip("SQLiteStore is not available")
    from tether.sessions.stores.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "cli.db")
    yield store
    anyio.run(store.close)
