"""tether demo: a session started, resumed in a new process, and forked, for real.

    python examples/demo.py            # all three steps, each in its own Python process
    python examples/demo.py start      # or one step at a time
    python examples/demo.py resume ID
    python examples/demo.py fork ID

The model is the default one (`TETHER_MODEL`, else Claude if `ANTHROPIC_API_KEY` is set, else the
embedded local model). Sessions go to a SQLite file under `.demo/` (override with
`TETHER_STORE_URL`), so the three processes share them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule

from tether import AgentOptions, AssistantMessage, ConfigurationError, ResultMessage, SystemMessage, query
from tether.models import Model, ModelEvent, ModelRequest, resolve_model
from tether.testing import ScriptedModel

console = Console(highlight=False)
DEMO_DIR = Path(__file__).resolve().parent.parent / ".demo"
STORE_URL = os.environ.get("TETHER_STORE_URL") or f"sqlite:///{DEMO_DIR / 'sessions.db'}"
SYSTEM_PROMPT = "You are a friendly assistant. Answer in one or two short sentences."

PROMPTS = {
    "start": "Hi! I am planning a small web app for my bakery. It is called Sunrise Bakes.",
    "resume": "What is the name of my bakery?",
    "fork": "Let's make it a mobile app instead. What is the name of my bakery again?",
}
FACT = "Sunrise"
"""Said only in the first process: an answer of a later one that names it was read from the stored history."""
PREVIEW = 110


class ShowHistory:
    """A model wrapper that prints the history each model call is sent (to show resume works)."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        console.print(f"[dim]the model is sent {len(request.messages)} message(s):[/dim]")
        for message in request.messages:
            console.print(f"[dim]  {message['role']:>9}: {escape(cut(describe(message['content'])))}[/dim]")
        with console.status("[cyan]the model is thinking...[/cyan]", spinner="dots"):
            events = [event async for event in self.inner.stream(request)]
        for event in events:
            yield event


def cut(text: str, limit: int = PREVIEW) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis where something was left out."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(content: str | list[dict[str, Any]]) -> str:
    """One line for a message's content: its text, and its tool calls and results by name."""
    if isinstance(content, str):
        return content.strip()
    parts = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            parts.append(block["text"].strip())
        elif kind == "tool_use":
            parts.append(f"[calls {block['name']}]")
        elif kind == "tool_result":
            parts.append("[tool error]" if block.get("is_error") else "[tool result]")
    return " ".join(part for part in parts if part)


def demo_model() -> Model:
    """The default model; a scripted stand-in (said on screen) if none can run here."""
    try:
        return resolve_model(os.environ.get("TETHER_MODEL") or None, env=os.environ)
    except ConfigurationError as error:
        console.print(f"[yellow]No real model available ({error}); using tether.testing.ScriptedModel.[/yellow]")
        return ScriptedModel(
            [
                "A web app for Sunrise Bakes sounds lovely!",
                "Your bakery is called Sunrise Bakes.",
                "Sunrise Bakes; for the mobile app, start by sketching the order screen.",
            ][["start", "resume", "fork"].index(sys.argv[1]) :]
        )


async def run_step(step: str, session_id: str | None) -> str:
    options = AgentOptions(
        model=ShowHistory(demo_model()),
        system_prompt=SYSTEM_PROMPT,
        session_store=STORE_URL,
        resume=session_id,
        fork_session=step == "fork",
        tools=[],  # a conversation: no tools, so even the small embedded model just talks
        max_tokens=120,
    )
    console.print(Rule(f"[bold]{step}[/bold] (process {os.getpid()})"))
    console.print(f"[bold green]user:[/bold green] {PROMPTS[step]}")
    new_id = ""
    async for message in query(prompt=PROMPTS[step], options=options):
        if isinstance(message, SystemMessage) and message.subtype == "init":
            new_id = message.data["session_id"]
            origin = message.data.get("forked_from")
            note = f", forked from {origin['sessionId']}" if origin else ""
            console.print(f"[magenta]session {new_id}[/magenta] (model {message.data['model']}{note})")
        elif isinstance(message, AssistantMessage):
            text = "".join(getattr(block, "text", "") for block in message.content).strip()
            console.print(f"[bold blue]assistant:[/bold blue] {escape(text)}")
            if step != "start":
                console.print(recall_verdict(text))
        elif isinstance(message, ResultMessage):
            cost = "unknown" if message.total_cost_usd is None else f"${message.total_cost_usd:.4f}"
            console.print(f"[dim]{message.subtype}: {message.duration_ms} ms, session cost so far {cost}[/dim]")
    return new_id


def recall_verdict(answer: str) -> str:
    """Whether an answer of a later process used what only the first process was told."""
    if FACT.lower() in answer.lower():
        return (
            f"[green]✓ the answer names {FACT!r}, which only the first process was told: it came from the store[/green]"
        )
    return (
        f"[yellow]✗ the answer does not name {FACT!r}; the model was sent the whole history (above), a small model "
        "does not always use it[/yellow]"
    )


def run_in_new_process(step: str, session_id: str = "") -> str:
    """Run one step in a fresh Python process; returns the id of the session it used."""
    id_file = DEMO_DIR / f"{step}.id"
    subprocess.run([sys.executable, __file__, step, session_id, str(id_file)], check=True, env=os.environ)
    return id_file.read_text().strip()


def main() -> None:
    DEMO_DIR.mkdir(exist_ok=True)
    if len(sys.argv) > 1:
        step, session_id = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None)
        new_id = anyio.run(run_step, step, session_id)
        if len(sys.argv) > 3:
            Path(sys.argv[3]).write_text(new_id)
        return
    console.print(Panel.fit(f"tether demo: start, resume in a new process, fork\nstore: {STORE_URL}"))
    original = run_in_new_process("start")
    run_in_new_process("resume", original)
    forked = run_in_new_process("fork", original)
    console.print(Rule("[bold]both sessions[/bold]"))
    anyio.run(show_sessions, original, forked)


async def show_sessions(original: str, forked: str) -> None:
    from tether.sessions.entries import active_chain
    from tether.sessions.urls import open_store

    store: Any = open_store(STORE_URL)
    try:
        for label, session_id in (("original", original), ("fork", forked)):
            found = await store.find(session_id)
            entries = await store.load(found.key) if found else []
            console.print(f"[magenta]{label} {session_id}[/magenta]")
            for entry in active_chain(entries or []):
                console.print(f"  {entry['type']:>9}: {escape(cut(describe(entry['message']['content'])))}")
    finally:
        await store.close()


if __name__ == "__main__":
    main()
