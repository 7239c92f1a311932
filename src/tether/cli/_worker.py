"""`tether worker`: run durable turns and take over those whose worker died (`tether.durable.worker`)."""

from __future__ import annotations

from typing import Annotated

import typer

from tether._vocabulary.durable import DurableEngine
from tether.cli._common import fail, flag, run_async, split_tool_rules, store_spec
from tether.options import AgentOptions

__all__ = ["worker_command"]


def worker_command(
    ctx: typer.Context,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Session store URL (sqlite:// or postgresql://; default $TETHER_STORE_URL)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model for turns that recorded none (a model object).")
    ] = None,
    allowed_tools: Annotated[
        list[str] | None, typer.Option("--allowed-tools", help="Tool rules for turns that recorded none.")
    ] = None,
    system_database: Annotated[
        str | None, typer.Option("--system-database", help="DBOS's database (default: beside the store).")
    ] = None,
    app_version: Annotated[
        str | None, typer.Option("--app-version", help="Take over only turns of this version (default tether's).")
    ] = None,
    poll: Annotated[float, typer.Option("--poll", metavar="SECONDS", help="How often to look for dead turns.")] = 1.0,
    exit_when_idle: Annotated[bool, flag("--exit-when-idle", help="Stop once no durable turn is open.")] = False,
) -> None:
    """Run durable turns: take over those whose worker died (one JSON line per turn it ends)."""
    import os

    given = store_spec(ctx, store)
    url = (given if isinstance(given, str) else None) or os.environ.get("TETHER_STORE_URL") or "sqlite://"
    if poll <= 0:
        fail("--poll must be a positive number of seconds")
    engine = DurableEngine(system_database_url=system_database, application_version=app_version)
    options = AgentOptions(model=model, allowed_tools=split_tool_rules(allowed_tools), durable=engine)

    async def body() -> None:
        from tether.durable.worker import run_worker  # DBOS: only the worker needs it

        await run_worker(url, options=options, engine=engine, poll_interval=poll, exit_when_idle=exit_when_idle)

    run_async(body)
