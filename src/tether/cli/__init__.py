"""The `tether` command.

```
tether -p "Summarise README.md"                   # ask once, print the answer
tether -p "And now?" --continue                    # the newest session of this directory
tether -p "Try another way" --resume ID --fork-session
tether -p "..." --output-format stream-json        # one JSON line per message
tether                                             # interactive chat (/fork, /sessions, /resume, /exit)
tether sessions list|show|tree|follow|rename|tag|rm|export|import|prune|fork|checkout|gc
tether ui --store URL --port N [--no-open]        # the local session browser (prints its URL first)
tether -p "..." --durable                          # a turn that survives this process (DBOS)
tether worker --store URL                          # runs durable turns whose process died
```

Errors (an unknown session, a malformed id, a model that cannot be used) print one red line on
stderr and exit with status 1; usage errors (an unknown flag, a missing value) print click's usage
box and exit with status 2. In text mode `-p` also prints the session id and how to go on with it
on stderr, so scripts that read stdout get the answer alone.

The store is `--store URL`, else `$TETHER_STORE_URL`, else the default SQLite file. A program
embedding the command can hand it a store object instead: `app(obj={"store": store})` (the
tests do this with `typer.testing.CliRunner().invoke(app, args, obj=...)`).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tether._version import __version__
from tether._vocabulary.permissions import PERMISSION_MODES
from tether.cli._common import (
    fail,
    flag,
    has_session_here,
    note,
    resolve_session_id,
    run_async,
    split_tool_rules,
    store_from,
    store_spec,
)
from tether.cli._print import OutputFormat, report_result_error, run_print
from tether.cli._sessions import sessions_app
from tether.cli._ui import ui_command
from tether.cli._worker import worker_command
from tether.cli._workspace import checkout_command, fork_command, gc_command
from tether.messages import ResultMessage
from tether.options import AgentOptions, check_options

__all__ = ["app", "main"]

app = typer.Typer(
    name="tether",
    help="Agents whose sessions are durable, resumable and forkable. Without -p: an interactive chat.",
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(sessions_app, name="sessions")
app.command("ui")(ui_command)
_SESSION_COMMANDS = (checkout_command, fork_command, gc_command)  # registered on sessions_app by their module
app.command("worker")(worker_command)


PermissionModeChoice = Enum("PermissionModeChoice", {mode: mode for mode in PERMISSION_MODES}, type=str)  # type: ignore[misc]
"""`--permission-mode` values: every permission mode tether knows."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tether {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Option("--print", "-p", help="Ask once, print the answer and exit ('-' reads the prompt from stdin)."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--output-format", help="With -p: text, json (the result) or stream-json.")
    ] = OutputFormat.text,
    resume: Annotated[
        str | None, typer.Option("--resume", "-r", help="Continue this session (its id, or a unique prefix).")
    ] = None,
    continue_: Annotated[bool, flag("--continue", "-c", help="Continue the newest session of this directory.")] = False,
    fork_session: Annotated[
        bool, flag("--fork-session", help="With --resume/--continue: branch a new session off it.")
    ] = False,
    resume_at: Annotated[
        str | None, typer.Option("--resume-at", help="With --resume/--continue: go on from this message uuid.")
    ] = None,
    session_id: Annotated[
        str | None, typer.Option("--session-id", help="The id of the new session (or of the fork).")
    ] = None,
    fork_workspace: Annotated[
        Path | None,
        typer.Option("--fork-workspace", help="With --fork-session: the fork's own directory, holding its files."),
    ] = None,
    workspace_snapshots: Annotated[
        bool,
        flag("--workspace-snapshots", help="Snapshot the working directory into the store around file-changing tools."),
    ] = False,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name, e.g. claude-sonnet-4-5.")] = None,
    allowed_tools: Annotated[
        list[str] | None,
        typer.Option("--allowed-tools", "--allowedTools", help="Tool rules to allow, e.g. 'Read,Bash(git *)'."),
    ] = None,
    permission_mode: Annotated[
        PermissionModeChoice | None, typer.Option("--permission-mode", help="How tool calls are approved.")
    ] = None,
    cwd: Annotated[Path | None, typer.Option("--cwd", help="Working directory of the agent.")] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Session store URL (default $TETHER_STORE_URL, else SQLite under ~/.tether)."),
    ] = None,
    include_partial_messages: Annotated[
        bool, flag("--include-partial-messages", help="With stream-json: also the raw stream events.")
    ] = False,
    max_turns: Annotated[int | None, typer.Option("--max-turns", help="Stop after this many model calls.")] = None,
    system_prompt: Annotated[str | None, typer.Option("--system-prompt", help="The system prompt.")] = None,
    session_busy_timeout: Annotated[
        float,
        typer.Option(
            "--session-busy-timeout",
            metavar="SECONDS",
            help="When another process is running a turn on the session, wait this long for it.",
        ),
    ] = 0.0,
    durable: Annotated[
        bool, flag("--durable", help="Run the turn durably (DBOS): `tether worker` ends it if this process dies.")
    ] = False,
    version: Annotated[
        bool, flag("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Ask an agent (-p) or chat with it; `tether sessions --help` for managing sessions."""
    spec = store_spec(ctx, store)  # `--store`, else a store object handed to app(obj=...)
    ctx.obj = {"store": spec}
    if ctx.invoked_subcommand is not None:
        if prompt is not None:
            fail(f"-p cannot be combined with the `{ctx.invoked_subcommand}` command")
        return
    if prompt is None and output_format is not OutputFormat.text:
        fail("--output-format needs -p")
    if (fork_session or resume_at) and not (resume or continue_):
        fail(f"{'--fork-session' if fork_session else '--resume-at'} needs --resume ID or --continue")
    options = AgentOptions(
        model=model,
        resume=resume,
        continue_conversation=continue_,
        fork_session=fork_session,
        resume_session_at=resume_at,
        fork_workspace=fork_workspace,
        workspace_snapshots=workspace_snapshots,
        session_id=session_id,
        allowed_tools=split_tool_rules(allowed_tools),
        permission_mode=permission_mode.value if permission_mode is not None else None,
        cwd=cwd,
        session_store=spec,
        max_turns=max_turns,
        system_prompt=system_prompt,
        include_partial_messages=include_partial_messages and output_format is OutputFormat.stream_json,
        session_busy_timeout=session_busy_timeout,
        durable=durable,
    )
    if prompt is None:
        from tether.cli._chat import run_chat  # rich's live display: only the chat needs it

        run_chat(options, spec, resuming=bool(resume or continue_))
        return
    text = sys.stdin.read() if prompt == "-" else prompt
    if not text.strip():
        fail("the prompt is empty")

    async def body() -> ResultMessage:
        check_options(options)
        async with store_from(spec) as opened:
            if options.resume:  # an id or a unique prefix of one
                options.resume = await resolve_session_id(opened, options.resume)
            elif options.continue_conversation and not await has_session_here(opened, options.cwd):
                if options.fork_session:
                    fail(f"--fork-session: there is no session to continue in {options.cwd or Path.cwd()}")
                note(f"No session to continue in {options.cwd or Path.cwd()}: starting a new one.")
                options.continue_conversation = False
        return await run_print(text, options, output_format)

    result = run_async(body)
    if result.is_error:
        report_result_error(result, output_format)
    if output_format is OutputFormat.text:
        note(f"Session {result.session_id} · go on with: tether --resume {result.session_id} -p PROMPT")
    if result.is_error:
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the `tether` console script."""
    app(prog_name="tether")
