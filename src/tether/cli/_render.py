"""Rendering sessions for the terminal: tables, transcripts (tool calls folded), fork trees."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from tether.cli._common import escape, format_age
from tether.sessions.helpers import SessionInfo, SessionMessage

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree

__all__ = [
    "fork_tree",
    "info_header",
    "one_line",
    "print_sessions",
    "render_transcript",
    "session_lines",
    "sessions_table",
    "short_ids",
    "tool_call_line",
    "tool_result_line",
]

_PREVIEW = 100


def one_line(text: str, limit: int = _PREVIEW) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


SHORT_ID = 8
"""The shortest id prefix shown in tables (longer where two listed sessions share it), as git shows hashes."""


def short_ids(ids: list[str], minimum: int = SHORT_ID) -> dict[str, str]:
    """Each id's shortest prefix (at least `minimum` characters) that no other id of `ids` starts with."""
    ordered = sorted(set(ids))
    shown: dict[str, str] = {}
    for index, session_id in enumerate(ordered):
        neighbours = ordered[max(index - 1, 0) : index] + ordered[index + 1 : index + 2]
        common = max((_common_prefix(session_id, other) for other in neighbours), default=0)
        shown[session_id] = session_id[: max(minimum, common + 1)]
    return shown


def _common_prefix(one: str, other: str) -> int:
    length = 0
    for a, b in zip(one, other, strict=False):
        if a != b:
            break
        length += 1
    return length


def sessions_table(
    infos: list[SessionInfo], *, current: str | None = None, width: int = 80, full_ids: bool = False
) -> Table:
    """Sessions as a table: id (a unique prefix unless `full_ids`), modified, messages, title, tag (if
    any), cwd (on wide terminals)."""
    show_tag = any(info.tag for info in infos)
    show_cwd = width >= 140
    ids = [info.session_id for info in infos]
    shown = dict(zip(ids, ids, strict=True)) if full_ids else short_ids(ids)
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True)
    table.add_column("Modified", no_wrap=True)
    table.add_column("Msgs", justify="right", no_wrap=True)
    table.add_column("Title", overflow="ellipsis", no_wrap=True, ratio=3, min_width=16)
    if show_tag:
        table.add_column("Tag", no_wrap=True, max_width=16, overflow="ellipsis")
    if show_cwd:
        table.add_column("Cwd", overflow="ellipsis", no_wrap=True, ratio=1)
    for info in infos:
        marker = " [green]●[/]" if info.session_id == current else ""
        title = escape(one_line(info.summary or "(no prompt yet)", 80))
        if info.forked_from:
            title = f"[dim]⑂[/] {title}"
        row = [
            f"{shown[info.session_id]}{marker}",
            format_age(info.last_modified),
            "?" if info.message_count is None else str(info.message_count),
            title,
        ]
        if show_tag:
            row.append(escape(info.tag or ""))
        if show_cwd:
            row.append(escape(info.cwd or ""))
        table.add_row(*row)
    return table


def session_lines(infos: list[SessionInfo]) -> list[str]:
    """Sessions as tab-separated lines for scripts (as `gh` prints off a terminal): full id, modified
    (ISO 8601, UTC), messages, title, tag, cwd; nothing cut, tabs and newlines in values made spaces."""

    def clean(value: object) -> str:
        return " ".join(str(value).split()) if value is not None else ""

    lines = []
    for info in infos:
        modified = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.last_modified / 1000))
        count = "" if info.message_count is None else str(info.message_count)
        fields = [info.session_id, modified, count, clean(info.summary), clean(info.tag), clean(info.cwd)]
        lines.append("\t".join(fields))
    return lines


def print_sessions(console: Console, infos: list[SessionInfo], *, full_ids: bool = False) -> None:
    """A table on a terminal; off one (a pipe, a file), `session_lines`, which nothing truncates."""
    if console.is_terminal:
        console.print(sessions_table(infos, width=console.width, full_ids=full_ids))
    else:
        console.file.write("".join(f"{line}\n" for line in session_lines(infos)))  # as they are: no tab expansion


def info_header(info: SessionInfo) -> str:
    """A few lines describing a session (markup)."""
    lines = [f"[bold]{escape(info.summary or '(untitled)')}[/]", f"[dim]id[/]        {info.session_id}"]
    if info.cwd:
        lines.append(f"[dim]cwd[/]       {escape(info.cwd)}")
    lines.append(
        f"[dim]modified[/]  {format_age(info.last_modified)}    [dim]created[/] {format_age(info.created_at)}"
        f"    [dim]messages[/] {'?' if info.message_count is None else info.message_count}"
    )
    extras = []
    if info.tag:
        extras.append(f"[dim]tag[/] {escape(info.tag)}")
    if info.total_cost_usd:
        extras.append(f"[dim]cost[/] ${info.total_cost_usd:.4f}")
    if info.forked_from:
        origin = info.forked_from
        extras.append(f"[dim]forked from[/] {origin.get('sessionId')} at {str(origin.get('messageUuid'))[:8]}")
    if extras:
        lines.append("    ".join(extras))
    return "\n".join(lines)


def _input_preview(arguments: Any) -> str:
    if not isinstance(arguments, dict):
        return ""
    parts = []
    for name, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{name}={one_line(shown, 60)!r}" if isinstance(value, str) else f"{name}={one_line(shown, 60)}")
    return ", ".join(parts)


def tool_call_line(block: dict[str, Any]) -> str:
    """`⚙ Name(arg='…')` for a tool_use block (markup)."""
    return f"[yellow]⚙[/] [bold]{escape(str(block.get('name')))}[/]({escape(_input_preview(block.get('input')))})"


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif isinstance(part, dict):
                texts.append(f"[{part.get('type')}]")
        return "\n".join(texts)
    return "" if content is None else str(content)


def tool_result_line(block: dict[str, Any], *, full: bool = False) -> str:
    """`↳ first line (+N lines)` for a tool_result block (markup); the whole text with `full`."""
    text = _result_text(block.get("content"))
    style = "red" if block.get("is_error") else "dim"
    if full:
        body = "\n".join("    " + line for line in text.splitlines()) or "    (empty)"
        return f"  [{style}]↳[/]\n[{style}]{escape(body)}[/]"
    lines = [line for line in text.splitlines() if line.strip()]
    first = one_line(lines[0]) if lines else "(empty)"
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    return f"  [{style}]↳ {escape(first)}{more}[/]"


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def render_transcript(console: Console, messages: list[SessionMessage], *, full: bool = False) -> None:
    """Print a session's messages: prompts, answers, tool calls and results folded to one line each."""
    speaker: str | None = None
    for item in messages:
        blocks = _blocks(item.message)
        results = [b for b in blocks if b.get("type") == "tool_result"]
        if item.type == "user" and results:
            for block in results:
                console.print(tool_result_line(block, full=full))
            blocks = [b for b in blocks if b.get("type") != "tool_result"]
            if not blocks:
                continue
        who = "user" if item.type == "user" else "assistant"
        if who != speaker:
            console.print()
            console.print("[bold cyan]You[/]" if who == "user" else "[bold green]Assistant[/]")
            speaker = who
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                text = str(block.get("text", ""))
                if item.type == "user" and text.startswith("This session is being continued"):
                    console.print("[dim]— earlier conversation compacted; summary: —[/]")
                console.print(escape(text) if full or len(text) < 4000 else escape(text[:4000]) + " [dim]…[/]")
            elif kind == "tool_use":
                call = dict(block)
                if full:
                    arguments = json.dumps(call.get("input"), ensure_ascii=False, indent=2)
                    console.print(f"[yellow]⚙[/] [bold]{escape(str(call.get('name')))}[/] {escape(arguments)}")
                else:
                    console.print(tool_call_line(call))
            elif kind in ("thinking", "redacted_thinking"):
                thought = str(block.get("thinking", ""))
                shown = escape(thought) if full else f"(thinking: {escape(one_line(thought, 60))})"
                console.print(f"[dim italic]{shown}[/]")
            else:
                console.print(f"[dim]({escape(str(kind))} block)[/]")


def fork_tree(root: SessionInfo, children: dict[str, list[SessionInfo]], *, highlight: str | None = None) -> Tree:
    """A rich Tree of `root` and its forks (recursively), `highlight` marked."""

    def label(info: SessionInfo) -> str:
        count = "?" if info.message_count is None else info.message_count
        marker = " [bold green]◀[/]" if info.session_id == highlight else ""
        text = (
            f"[bold]{info.session_id}[/]{marker} {escape(one_line(info.summary or '(no prompt yet)', 60))} "
            f"[dim]· {count} msgs · {format_age(info.last_modified)}[/]"
        )
        if info.forked_from:
            text += f" [dim]· at {str(info.forked_from.get('messageUuid'))[:8]}[/]"
        return text

    from rich.tree import Tree

    tree = Tree(label(root))
    stack = [(tree, root)]
    seen = {root.session_id}
    while stack:
        node, info = stack.pop()
        for child in sorted(children.get(info.session_id, []), key=lambda c: c.last_modified):
            if child.session_id in seen:
                continue
            seen.add(child.session_id)
            stack.append((node.add(label(child)), child))
    return tree
