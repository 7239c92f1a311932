"""`tether` without `-p`: an interactive chat with streamed answers and session commands.

The event loop runs in a portal thread and owns the agent and the store; the main thread reads
lines from the terminal, so Ctrl-C and Ctrl-D reach it directly. Ctrl-C during an answer asks
the agent to stop after its current step (a second Ctrl-C leaves at once); the session stays
resumable either way, since every message is stored before it is shown.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import CancelledError
from contextlib import ExitStack
from functools import partial
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from tether._query import AgentClient
from tether._vocabulary.store import SessionStore
from tether.agent.overrides import run_model
from tether.cli._common import StoreSpec, err_console, fail, out_console, resolve_session_id, showing_model_progress
from tether.cli._render import sessions_table, tool_call_line, tool_result_line
from tether.errors import TetherError
from tether.messages import (
    INTERRUPTED_TERMINAL_REASONS,
    AssistantMessage,
    Message,
    ResultMessage,
    StreamEvent,
    SystemMessage,
    TextBlock,
    ToolUseBlock,
    UserMessage,
    block_to_dict,
)
from tether.options import AgentOptions
from tether.sessions.capabilities import store_access
from tether.sessions.helpers import fork_session_async, get_session_info_async, list_sessions_async
from tether.sessions.urls import open_store

__all__ = ["run_chat"]

HELP = """[bold]Commands[/]
  /sessions        the sessions of this project, newest first
  /resume ID       continue another session (an id or a unique prefix)
  /fork [TITLE]    branch the current session and continue in the branch
  /compact [NOTES] summarise the conversation so far (NOTES: what the summary must keep);
                   nothing is lost: `tether sessions show --expand` shows what it replaced
  /id              the current session's id
  /help            this list
  /exit            leave (also /quit or Ctrl-D)"""


class _TurnView:
    """Shows one answer as it streams: a spinner while waiting, text deltas, folded tool calls."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None
        self.progress = ExitStack()  # the model's progress shown on the spinner while it spins
        self.streamed = False
        self.line_open = False

    def waiting(self, text: str = "Thinking…") -> None:
        if self.status is None:
            self.status = self.console.status(f"[dim]{text}[/]", spinner="dots")
            self.progress.enter_context(showing_model_progress(self.status, text))
            self.status.start()

    def stop_waiting(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
        self.progress.close()

    def _end_line(self) -> None:
        if self.line_open:
            self.console.print()
            self.line_open = False

    def show(self, message: Message) -> None:
        if isinstance(message, SystemMessage):
            self._system(message)
        elif isinstance(message, StreamEvent):
            self._delta(message.event)
        elif isinstance(message, AssistantMessage):
            self._answer(message)
        elif isinstance(message, UserMessage) and not isinstance(message.content, str):
            self.stop_waiting()
            for block in message.content:
                data = block_to_dict(block)
                if data.get("type") == "tool_result":
                    self.console.print(tool_result_line(data))
            self.waiting()
        elif isinstance(message, ResultMessage):
            self.stop_waiting()
            self._end_line()
            if message.terminal_reason in INTERRUPTED_TERMINAL_REASONS:
                self.console.print("[yellow]Interrupted.[/]")
            elif message.is_error:
                detail = "; ".join(message.errors or []) or message.result or message.subtype
                self.console.print(f"[bold red]Error:[/] {escape(' '.join(detail.split()))}")

    def _delta(self, event: dict[str, Any]) -> None:
        if event.get("type") == "message_start":
            self.streamed = False
        delta = event.get("delta") if event.get("type") == "content_block_delta" else None
        if isinstance(delta, dict) and delta.get("type") == "text_delta" and delta.get("text"):
            self.stop_waiting()
            self.console.print(str(delta["text"]), end="", markup=False)
            self.streamed = self.line_open = True

    def _answer(self, message: AssistantMessage) -> None:
        self.stop_waiting()
        if not self.streamed:
            for block in message.content:
                if isinstance(block, TextBlock) and block.text:
                    self.console.print(block.text, end="", markup=False)
                    self.line_open = True
        self._end_line()
        calls = [block for block in message.content if isinstance(block, ToolUseBlock)]
        for call in calls:
            self.console.print(tool_call_line(block_to_dict(call)))
        if calls:
            self.waiting("Running tools…")

    def _system(self, message: SystemMessage) -> None:
        """Compaction: a spinner while the summary is written, then a line saying what it did."""
        data = message.data
        if message.subtype == "status" and data.get("status") == "compacting":
            self.stop_waiting()
            self._end_line()
            self.waiting("Compacting the conversation…")
        elif message.subtype == "status" and data.get("compact_result") == "failed":
            self.stop_waiting()
            error = " ".join(str(data.get("compact_error") or "").split())
            self.console.print(f"[yellow]Compaction failed:[/] {escape(error)}")
        elif message.subtype == "compact_boundary":
            self.stop_waiting()
            meta = data.get("compact_metadata") or {}
            counts = f"{meta.get('pre_tokens', 0):,} → {meta.get('post_tokens', 0):,} tokens"
            self.console.print(f"[dim]── Conversation compacted ({meta.get('trigger', '?')}): {counts} ──[/]")
            self.waiting()

    def close(self) -> None:
        self.stop_waiting()
        self._end_line()


class Chat:
    """The chat's state: the options, the store, and the client of the current session."""

    def __init__(self, options: AgentOptions, store: SessionStore, console: Console) -> None:
        self.options = dataclasses.replace(options, session_store=store, include_partial_messages=True)
        self.store = store
        self.console = console
        self.client: AgentClient | None = None
        self._first_open = True

    @property
    def session_id(self) -> str | None:
        return self.client.session_id if self.client is not None else None

    @property
    def cwd(self) -> str:
        return str(self.options.cwd) if self.options.cwd is not None else os.getcwd()

    async def open(self, **session: Any) -> str:
        """Connect a client on a session: as the command line said the first time, else as asked."""
        if self._first_open:
            options = dataclasses.replace(self.options, **session)
        else:
            fresh: dict[str, Any] = {
                "resume": None,
                "continue_conversation": False,
                "fork_session": False,
                "resume_session_at": None,
                "session_id": None,
            }
            options = dataclasses.replace(self.options, **{**fresh, **session})
        client = AgentClient(options)
        await client.connect()
        await self.close()
        self.client = client
        self._first_open = False
        return client.session_id

    async def start(self, *, resuming: bool) -> str:
        """Check the model (one that cannot be used fails here, before the first prompt) and open the
        session the command line names (`--resume`, `--continue`, `--fork-session`); returns a banner.
        A new session is made by the first prompt."""
        model = run_model(self.options, {**os.environ, **self.options.env})  # as the agent picks it
        if self.options.resume:
            await self.open(resume=await resolve_session_id(self.store, self.options.resume))
        elif resuming and not await list_sessions_async(self.cwd, limit=1, store=self.store):
            self.console.print("[dim]No session to continue in this directory: starting a new one.[/]")
            self.options = dataclasses.replace(self.options, continue_conversation=False, fork_session=False)
            self._first_open = False
        elif resuming:
            await self.open()
        if self.session_id is not None:
            await self.describe("Forked into" if self.options.fork_session else "Resumed")
        session = self.session_id or "new (its id comes with the first answer; /id shows it)"
        return f"[bold]tether[/] [dim]chat · model[/] {escape(model.model_name)} [dim]· session[/] {session}"

    async def leave(self) -> str | None:
        """Close the session; returns how to go on with it, if there is one."""
        session_id = self.session_id
        await self.close()
        if session_id is None:
            return None
        return f"[dim]Session {session_id} · go on with:[/] tether --resume {session_id}"

    async def describe(self, verb: str) -> None:
        if self.session_id is None:
            return
        info = await get_session_info_async(self.session_id, store=self.store)
        count = "?" if info.message_count is None else info.message_count
        title = escape(info.summary or "(no prompt yet)")
        self.console.print(f"[dim]{verb} session[/] [bold]{info.session_id}[/] [dim]· {title} · {count} msgs[/]")
        if verb == "Forked into" and info.forked_from:
            self.console.print(f"[dim]  (forked from {info.forked_from.get('sessionId')})[/]")

    async def ask(self, prompt: str) -> None:
        if self.client is None:
            await self.open()
        assert self.client is not None
        view = _TurnView(self.console)
        view.waiting()
        try:
            await self.client.query(prompt)
            async for message in self.client.receive_response():
                view.show(message)
        finally:
            view.close()

    async def interrupt(self) -> None:
        if self.client is not None and self.client.options.durable:  # AgentClient.interrupt refuses it
            err_console().print("[dim]A durable turn runs to its end (`tether worker` ends it if you quit).[/]")
        elif self.client is not None:
            await self.client.interrupt()

    async def command(self, line: str) -> bool:
        """Run a slash command; False means leave the chat."""
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            self.console.print(HELP)
        elif name == "/id":
            self.console.print(self.session_id or "[dim]no session yet: say something first[/]")
        elif name == "/sessions":
            infos = await list_sessions_async(self.cwd, limit=15, store=self.store)
            if infos:
                self.console.print(sessions_table(infos, current=self.session_id, width=self.console.width))
            else:
                self.console.print("[dim]No sessions in this project yet.[/]")
        elif name == "/resume":
            if not argument:
                self.console.print("[yellow]Usage:[/] /resume ID  (see /sessions)")
                return True
            await self.open(resume=await resolve_session_id(self.store, argument))
            await self.describe("Resumed")
        elif name == "/compact":
            await self.ask(line)  # the agent compacts on `/compact [instructions]`
        elif name == "/fork":
            source = self.session_id
            if source is None:
                self.console.print("[dim]Nothing to fork yet: say something first.[/]")
                return True
            new_id = await fork_session_async(source, title=argument or None, store=self.store)
            await self.open(resume=str(new_id))
            self.console.print(f"[dim]Forked {source} → [bold]{new_id}[/]; /resume {source} goes back.[/]")
        else:
            self.console.print(f"[yellow]Unknown command {escape(name)}[/]; /help lists them.")
        return True

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.disconnect()


def _call(portal: BlockingPortal, chat: Chat, function: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run `function` in the portal; Ctrl-C interrupts the answer, a second one abandons it."""
    future = portal.start_task_soon(function, *args)
    interrupted = False
    while True:
        try:
            return future.result()
        except KeyboardInterrupt:
            if interrupted:
                future.cancel()
                raise
            interrupted = True
            err_console().print("\n[yellow]Interrupting… (Ctrl-C again to quit)[/]")
            portal.call(chat.interrupt)
        except CancelledError:
            raise KeyboardInterrupt from None
        except TetherError as error:
            err_console().print(f"[bold red]Error:[/] {escape(' '.join(str(error).split()))}")
            return True


def run_chat(options: AgentOptions, store_spec: StoreSpec, *, resuming: bool) -> None:
    """The interactive chat (returns when the user leaves)."""
    console = out_console()
    with start_blocking_portal() as portal:
        try:
            store = portal.call(open_store, store_spec)
        except TetherError as error:
            fail(str(error))
        chat = Chat(options, store, console)
        farewell = None
        try:
            try:
                banner = portal.call(partial(chat.start, resuming=resuming))
            except TetherError as error:
                fail(str(error))
            console.print(banner)
            console.print("[dim]/help for commands, /exit or Ctrl-D to leave[/]")
            while True:
                try:
                    line = console.input("[bold cyan]>[/] ").strip()
                except (EOFError, KeyboardInterrupt):
                    console.print()
                    break
                if not line:
                    continue
                if line.startswith("/"):
                    if _call(portal, chat, chat.command, line) is False:
                        break
                else:
                    _call(portal, chat, chat.ask, line)
            farewell = portal.call(chat.leave)
        finally:
            portal.call(chat.close)
            if store is not store_spec:
                portal.call(store_access(store).close)
    if farewell:
        console.print(farewell)
