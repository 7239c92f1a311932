"""`tether sessions fork` and `tether sessions checkout`: branches that take their files, and a
session's workspace written out anywhere from the store alone (`tether.sessions.workspace`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli._common import (
    StoreOption,
    escape,
    fail,
    flag,
    opened_session,
    out_console,
    run_async,
    store_from,
    store_spec,
)
from tether.cli._sessions import SessionArgument, sessions_app
from tether.sessions.capabilities import store_access
from tether.sessions.helpers import fork_session_async
from tether.sessions.keys import project_key_for_directory

__all__ = ["checkout_command", "fork_command", "gc_command"]

AtOption = Annotated[
    str | None, typer.Option("--at", help="A message uuid: the workspace (and fork) as of that message.")
]


@sessions_app.command("fork")
def fork_command(
    ctx: typer.Context,
    session: SessionArgument,
    at: AtOption = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="A new (or empty) directory to write the fork point's files into."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The fork's title.")] = None,
    store: StoreOption = None,
) -> None:
    """Branch a session; with --workspace, its files as of the fork point go into a directory of its own."""

    async def body() -> str:
        async with opened_session(ctx, store, session) as (opened, session_id):
            forked = await fork_session_async(
                session_id, up_to_message_id=at, title=title, store=opened, workspace_dir=workspace
            )
            return forked.session_id

    new_id = run_async(body)
    console = out_console()
    console.print(f"Forked {escape(session)} into {new_id}")
    if workspace is not None:
        console.print(
            f"[dim]Its files are in {escape(str(workspace))}: tether --cwd {escape(str(workspace))} "
            f"--resume {new_id} -p ...[/]"
        )


@sessions_app.command("checkout")
def checkout_command(
    ctx: typer.Context,
    session: SessionArgument,
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory to write the files into.")],
    at: AtOption = None,
    store: StoreOption = None,
) -> None:
    """Write a session's workspace (its latest snapshot, or as of --at) into a directory, from the store alone."""
    from tether.sessions.workspace.travel import materialise_session

    async def body() -> Path | None:
        async with opened_session(ctx, store, session) as (opened, session_id):
            access = store_access(opened)
            return await materialise_session(access, session_id, project_key_for_directory(), at, directory)

    root = run_async(body)
    if root is None:
        fail(f"session {session} has no workspace snapshot (run it with file checkpointing or workspace snapshots)")
    out_console().print(f"Wrote the workspace of {escape(session)} into {escape(str(root))}")


@sessions_app.command("gc")
def gc_command(
    ctx: typer.Context,
    dry_run: Annotated[bool, flag("--dry-run", help="Only count what would be freed.")] = False,
    store: StoreOption = None,
) -> None:
    """Free the workspace blobs no session names (left by a process killed mid-snapshot).
    Run it when no agent is writing to the store: a snapshot being taken has blobs no entry names yet."""
    from tether.sessions.workspace.travel import free_unreferenced_blobs

    async def body() -> tuple[list[str], bool]:
        async with store_from(store_spec(ctx, store)) as opened:
            access = store_access(opened)
            return await free_unreferenced_blobs(access, dry_run=dry_run), access.can("list_page")

    freed, can_list = run_async(body)
    if not can_list:
        fail("this store cannot list every session, so no blob can be known unused: nothing freed")
    out_console().print(f"{'Would free' if dry_run else 'Freed'} {len(freed)} unused blob(s).")
