"""`tether sessions ...`: list, show, follow, tree, rename, tag, rm, export, import, prune."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from tether.cli._common import (
    StoreOption,
    claude_config_dir,
    escape,
    fail,
    flag,
    format_age,
    opened_session,
    out_console,
    parse_duration,
    resolve_session_id,
    run_async,
    store_from,
    store_spec,
)
from tether.cli._print import message_to_dict
from tether.cli._render import fork_tree, info_header, one_line, print_sessions, render_transcript
from tether.messages import AssistantMessage, Message, ResultMessage, TextBlock, ToolUseBlock, UserMessage
from tether.sessions.capabilities import store_access
from tether.sessions.claude_code import export_session, import_claude_code_sessions
from tether.sessions.entries import active_chain, compact_metadata, full_chain, is_compact_boundary
from tether.sessions.follow import follow
from tether.sessions.helpers import (
    SessionInfo,
    SessionMessage,
    chain_messages,
    delete_session_async,
    get_session_info_async,
    list_sessions_async,
    locate_session,
    rename_session_async,
    session_info_from_summary,
    tag_session_async,
)

__all__ = ["sessions_app"]

sessions_app = typer.Typer(
    name="sessions",
    help="List, inspect, rename, tag, delete, export, import and prune stored sessions.",
    no_args_is_help=True,
)

SessionArgument = Annotated[str, typer.Argument(help="A session id, or a unique prefix of one (4+ characters).")]


def _children(infos: list[SessionInfo]) -> dict[str, list[SessionInfo]]:
    children: dict[str, list[SessionInfo]] = {}
    for info in infos:
        if info.forked_from and isinstance(info.forked_from.get("sessionId"), str):
            children.setdefault(info.forked_from["sessionId"], []).append(info)
    return children


@sessions_app.command("list")
def list_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Option("--directory", "-d", help="Only sessions of this project directory.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many (0 for all).")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many of the newest first.")] = 0,
    as_json: Annotated[bool, flag("--json", help="Print JSON instead of a table.")] = False,
    full_ids: Annotated[bool, flag("--full-ids", help="Show whole session ids, not unique prefixes.")] = False,
    store: StoreOption = None,
) -> None:
    """Sessions, newest first (every project unless --directory).

    On a terminal a table, ids shortened to unique prefixes (any command takes them); piped or
    redirected, one tab-separated line per session with nothing cut: id, modified (UTC), messages,
    title, tag, cwd.
    """

    async def body() -> list[SessionInfo]:
        async with store_from(store_spec(ctx, store)) as opened:
            return await list_sessions_async(directory, limit or None, offset, store=opened)

    infos = run_async(body)
    if as_json:
        typer.echo(json.dumps([asdict(info) for info in infos], indent=2, ensure_ascii=False))
    elif not infos:
        out_console().print("[dim]No sessions.[/]")
    else:
        print_sessions(out_console(), infos, full_ids=full_ids)


@sessions_app.command("show")
def show_command(
    ctx: typer.Context,
    session: SessionArgument,
    full: Annotated[bool, flag("--full", help="Unfold tool calls, results and thinking.")] = False,
    expand: Annotated[
        bool, flag("--expand", help="Show what each compaction replaced instead of its summary.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many messages (0 for all).")] = 0,
    offset: Annotated[int, typer.Option(help="Skip this many messages from the start.")] = 0,
    as_json: Annotated[bool, flag("--json", help="Print the messages as JSON.")] = False,
    store: StoreOption = None,
) -> None:
    """A session's transcript (its active branch), with tool calls and results folded.

    Where the session was compacted a line says so; the model was sent the summary after it.
    `--expand` shows the messages the compaction replaced instead.
    """

    if limit < 0 or offset < 0:
        fail("--limit and --offset must not be negative")

    async def body() -> tuple[SessionInfo, list[SessionMessage], list[tuple[int, dict[str, Any]]]]:
        async with opened_session(ctx, store, session) as (opened, session_id):
            found = await locate_session(opened, session_id)
            key = found.key
            info = session_info_from_summary(key["session_id"], found.mtime, found.summary, key["project_key"])
            entries = await store_access(opened).load(key) or []
        chain = full_chain(entries) if expand else active_chain(entries)
        return info, *_transcript(chain, session_id, limit, offset)

    info, messages, marks = run_async(body)
    if as_json:
        typer.echo(json.dumps([asdict(m) for m in messages], indent=2, ensure_ascii=False))
        return
    console = out_console()
    console.print(info_header(info))
    start = 0
    for index, boundary in marks:
        render_transcript(console, messages[start:index], full=full)
        console.print()
        console.print(_boundary_line(boundary, expanded=expand))
        start = index
    render_transcript(console, messages[start:], full=full)


@sessions_app.command("follow")
def follow_command(
    ctx: typer.Context,
    session: SessionArgument,
    from_start: Annotated[
        bool, flag("--from-start", help="Begin at the latest turn's prompt (replay it if it has ended).")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Give up after this many seconds with nothing new stored.")
    ] = None,
    as_json: Annotated[bool, flag("--json", help="One JSON line per message (the stream-json shape).")] = False,
    store: StoreOption = None,
) -> None:
    """Print a session's running turn as it is stored, from any machine that reaches the store,
    until its result (by default only what is stored from now on: the next turn if none runs)."""

    async def body() -> None:
        async with opened_session(ctx, store, session) as (opened, session_id):
            async for message in follow(session_id, session_store=opened, from_start=from_start, timeout=timeout):
                typer.echo(json.dumps(message_to_dict(message, session_id), default=str) if as_json else _line(message))

    run_async(body)


def _line(message: Message) -> str:
    """One message of a followed turn, as a line for people."""
    if isinstance(message, ResultMessage):
        cost = f", ${message.total_cost_usd:.4f}" if message.total_cost_usd is not None else ""
        return f"result: {message.subtype} ({message.num_turns} turns{cost}) {message.result or ''}".rstrip()
    if isinstance(message, AssistantMessage | UserMessage):
        who = "assistant" if isinstance(message, AssistantMessage) else "user"
        if isinstance(message.content, str):
            return f"{who}: {message.content}"
        parts = [
            block.text if isinstance(block, TextBlock) else f"[{block.name} {json.dumps(block.input)}]"
            for block in message.content
            if isinstance(block, TextBlock | ToolUseBlock)
        ]
        return f"{who}: {' '.join(parts) or '[tool results]'}"
    return f"{type(message).__name__}"


def _transcript(
    chain: list[dict[str, Any]], session_id: str, limit: int, offset: int
) -> tuple[list[SessionMessage], list[tuple[int, dict[str, Any]]]]:
    """The messages of a chain (`offset` and `limit` applied), and each compaction boundary on it
    with the index of the message it comes before."""
    items = chain_messages(chain, session_id)
    end = offset + limit if limit else len(items)
    shown = items[offset:end]
    marks: list[tuple[int, dict[str, Any]]] = []
    for position, entry in enumerate(chain):
        if is_compact_boundary(entry):
            index = sum(1 for at, _ in items if at < position) - offset
            if 0 <= index <= len(shown):
                marks.append((index, entry))
    return [message for _, message in shown], marks


def _boundary_line(boundary: dict[str, Any], *, expanded: bool) -> str:
    """The line that marks a compaction in a shown transcript."""
    meta = compact_metadata(boundary)
    counts = ""
    if isinstance(meta.get("preTokens"), int) and isinstance(meta.get("postTokens"), int):
        counts = f" · {meta['preTokens']:,} → {meta['postTokens']:,} tokens"
    trigger = escape(str(meta.get("trigger") or "?"))
    after = (
        "from here on the model was sent a summary of the above"
        if expanded
        else "the summary below stands for what came before (--expand shows it)"
    )
    return f"[bold yellow]── compacted ({trigger}){counts}[/] [yellow]· {after} ──[/]"


@sessions_app.command("tree")
def tree_command(ctx: typer.Context, session: SessionArgument, store: StoreOption = None) -> None:
    """A session and all its forks (and theirs) as a tree, from the session it descends from."""

    async def body() -> tuple[str, list[SessionInfo]]:
        async with opened_session(ctx, store, session) as (opened, session_id):
            return session_id, await list_sessions_async(None, store=opened)

    session_id, infos = run_async(body)
    by_id = {info.session_id: info for info in infos}
    root = by_id[session_id] if session_id in by_id else None
    if root is None:
        fail(f"session {session_id!r} is not listed by the store")
    missing_parent = None
    hops = 0
    while root.forked_from and hops < len(by_id):
        parent_id = root.forked_from.get("sessionId")
        parent = by_id.get(str(parent_id))
        if parent is None:
            missing_parent = parent_id
            break
        root, hops = parent, hops + 1
    console = out_console()
    if missing_parent:
        console.print(f"[dim](forked from {escape(str(missing_parent))}, which no longer exists)[/]")
    console.print(fork_tree(root, _children(infos), highlight=session_id), soft_wrap=False)


@sessions_app.command("rename")
def rename_command(
    ctx: typer.Context,
    session: SessionArgument,
    title: Annotated[str, typer.Argument(help="The new title.")],
    store: StoreOption = None,
) -> None:
    """Give a session a title."""

    async def body() -> str:
        async with opened_session(ctx, store, session) as (opened, session_id):
            await rename_session_async(session_id, title, store=opened)
            return session_id

    session_id = run_async(body)
    out_console().print(f"Renamed {session_id} to [bold]{escape(title.strip())}[/]")


@sessions_app.command("tag")
def tag_command(
    ctx: typer.Context,
    session: SessionArgument,
    tag: Annotated[str | None, typer.Argument(help="The tag; leave out (or --clear) to remove it.")] = None,
    clear: Annotated[bool, flag("--clear", help="Remove the tag.")] = False,
    store: StoreOption = None,
) -> None:
    """Tag a session (one tag per session), or clear its tag."""
    if tag and clear:
        fail("give a tag or --clear, not both")

    async def body() -> str:
        async with opened_session(ctx, store, session) as (opened, session_id):
            await tag_session_async(session_id, None if clear else tag, store=opened)
            return session_id

    session_id = run_async(body)
    shown = f"tagged [bold]{escape(tag.strip())}[/]" if tag and tag.strip() else "untagged"
    out_console().print(f"Session {session_id} {shown}")


def _fork_note(session_id: str, forks: list[SessionInfo]) -> str:
    ids = ", ".join(fork.session_id for fork in forks)
    plural = "fork" if len(forks) == 1 else "forks"
    return f"[dim]{session_id} had {len(forks)} live {plural} ({ids}); they keep their whole history.[/]"


@sessions_app.command("rm")
def rm_command(
    ctx: typer.Context,
    sessions: Annotated[list[str], typer.Argument(help="Session ids (or unique prefixes).")],
    yes: Annotated[bool, flag("--yes", "-y", help="Do not ask for confirmation.")] = False,
    store: StoreOption = None,
) -> None:
    """Delete sessions. Their forks are not affected: they keep their whole history."""
    spec = store_spec(ctx, store)

    async def resolve() -> tuple[list[SessionInfo], dict[str, list[SessionInfo]]]:
        async with store_from(spec) as opened:
            ids = [await resolve_session_id(opened, text) for text in sessions]
            infos = [await get_session_info_async(i, store=opened) for i in dict.fromkeys(ids)]
            return infos, _children(await list_sessions_async(None, store=opened))

    targets, children = run_async(resolve)
    console = out_console()
    print_sessions(console, targets)
    if not yes and not typer.confirm(f"Delete {len(targets)} session(s)?", default=False):
        console.print("Nothing deleted.")
        return

    async def delete() -> None:
        async with store_from(spec) as opened:
            for info in targets:
                await delete_session_async(info.session_id, store=opened)

    run_async(delete)
    doomed = {info.session_id for info in targets}
    console.print(f"Deleted {len(targets)} session(s).")
    for info in targets:
        live = [fork for fork in children.get(info.session_id, []) if fork.session_id not in doomed]
        if live:
            console.print(_fork_note(info.session_id, live))


class ExportFormat(str, Enum):
    """`sessions export --format` values."""

    claude_code = "claude-code"
    jsonl = "jsonl"


@sessions_app.command("export")
def export_command(
    ctx: typer.Context,
    session: SessionArgument,
    format: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="claude-code: a transcript `claude --resume` opens; jsonl: raw entries."),
    ] = ExportFormat.claude_code,
    root: Annotated[
        Path | None,
        typer.Option(help="Claude Code config dir to write into (default $CLAUDE_CONFIG_DIR or ~/.claude)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="jsonl: write here, not stdout.")] = None,
    overwrite: Annotated[bool, flag("--overwrite", help="Replace an existing exported transcript.")] = False,
    store: StoreOption = None,
) -> None:
    """Export a session: as a Claude Code transcript (resumable by `claude --resume ID`) or raw JSONL."""

    async def body() -> tuple[str, Path | None, list[dict[str, Any]]]:
        async with opened_session(ctx, store, session) as (opened, session_id):
            if format is ExportFormat.claude_code:
                target = root if root is not None else claude_config_dir()
                return session_id, await export_session(session_id, opened, target, overwrite=overwrite), []
            found = await locate_session(opened, session_id)
            return session_id, None, await opened.load(found.key) or []

    session_id, path, entries = run_async(body)
    if path is not None:
        console = out_console()
        console.print(f"Exported {session_id} to {escape(str(path))}")
        console.print(f"[dim]Resume it in Claude Code with: claude --resume {session_id}[/]")
        return
    text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            fail(str(error))
        out_console().print(f"Wrote {len(entries)} entries of {session_id} to {escape(str(output))}")


class ImportSource(str, Enum):
    """`sessions import --from` values."""

    claude_code = "claude-code"


@sessions_app.command("import")
def import_command(
    ctx: typer.Context,
    source: Annotated[ImportSource, typer.Option("--from", help="Where the sessions come from.")],
    sessions: Annotated[list[str] | None, typer.Argument(help="Only these session ids.")] = None,
    root: Annotated[
        Path | None, typer.Option(help="Claude Code config dir (default $CLAUDE_CONFIG_DIR or ~/.claude).")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--directory", "-d", help="Only sessions of this project directory.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Import Claude Code sessions (ids, titles, branches, timestamps kept) into the store."""
    source_root = root if root is not None else claude_config_dir()

    async def body() -> Any:
        async with store_from(store_spec(ctx, store)) as opened:
            return await import_claude_code_sessions(source_root, opened, directory=directory, session_ids=sessions)

    report = run_async(body)
    console = out_console()
    console.print(f"Imported {report.total} session(s) from {escape(str(source_root))}.")
    if report.skipped:
        console.print(f"[dim]{len(report.skipped)} already in the store, left as they were.[/]")


@sessions_app.command("prune")
def prune_command(
    ctx: typer.Context,
    older_than: Annotated[str, typer.Option("--older-than", help="Age of the last change, e.g. 30d, 12h, 2w.")],
    dry_run: Annotated[bool, flag("--dry-run", help="Only list what would be deleted.")] = False,
    yes: Annotated[bool, flag("--yes", "-y", help="Delete without asking.")] = False,
    directory: Annotated[
        Path | None, typer.Option("--directory", "-d", help="Only sessions of this project directory.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Delete sessions not changed for a while. Lists them first; forks of pruned sessions stay whole."""
    try:
        age = parse_duration(older_than)
    except ValueError as error:
        fail(str(error))
    cutoff = int((time.time() - age) * 1000)
    spec = store_spec(ctx, store)

    async def candidates() -> tuple[list[SessionInfo], list[SessionInfo]]:
        async with store_from(spec) as opened:
            everything = await list_sessions_async(None, store=opened)
            scoped = everything if directory is None else await list_sessions_async(directory, store=opened)
            return [info for info in scoped if info.last_modified < cutoff], everything

    old, everything = run_async(candidates)
    console = out_console()
    if not old:
        console.print(f"No sessions older than {escape(older_than)}.")
        return
    doomed = {info.session_id for info in old}
    children = _children(everything)
    live = {
        info.session_id: [f for f in children.get(info.session_id, []) if f.session_id not in doomed] for info in old
    }
    print_sessions(console, old)
    with_forks = [info for info in old if live[info.session_id]]
    if with_forks:
        names = ", ".join(one_line(info.session_id) for info in with_forks)
        console.print(f"[dim]With live forks (the forks keep their whole history): {names}[/]")
    if dry_run:
        console.print(f"Dry run: {len(old)} session(s) older than {escape(older_than)} would be deleted; nothing was.")
        return
    if not yes and not typer.confirm(f"Delete these {len(old)} session(s)?", default=False):
        console.print("Nothing deleted.")
        return

    async def delete() -> None:
        async with store_from(spec) as opened:
            for info in old:
                await delete_session_async(info.session_id, store=opened)

    run_async(delete)
    console.print(f"Deleted {len(old)} session(s) last changed more than {escape(older_than)} ago.")
    for info in with_forks:
        console.print(_fork_note(info.session_id, live[info.session_id]))
    oldest = min(info.last_modified for info in old)
    console.print(f"[dim]Oldest deleted: {format_age(oldest)}.[/]")
