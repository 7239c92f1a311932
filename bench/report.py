"""`bench/results/latest.md` from the results JSON: figures, goals, ratios tether/peer, and why a cell is empty."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MS = 1e-3
MB = 1024 * 1024

AGENT_PEER = "claude-agent-sdk"
STORE_PEERS = ["openai-agents", "langgraph"]
PEER_TITLES = {
    "tether": "tether",
    "tether-sqlite": "tether SQLiteStore",
    "tether-postgres": "tether PostgresStore",
    "tether-redis": "tether RedisStore",
    "claude-agent-sdk": "claude-agent-sdk",
    "openai-agents": "OpenAI Agents SQLiteSession",
    "langgraph": "LangGraph SqliteSaver",
}


@dataclass
class Cell:
    """A figure (seconds, bytes or a plain number), or the reason there is none."""

    value: float | None = None
    note: str = ""
    """Why there is no value, or how the value was obtained (extrapolated, ...)."""
    approx: bool = False
    method: str = ""
    """How the system does this work when it has no direct equivalent (a footnote of its own)."""


@dataclass
class Notes:
    """Footnotes: each distinct text gets a number."""

    texts: list[str] = field(default_factory=list)

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds / MS:.3f} ms"
    if seconds < 0.1:
        return f"{seconds / MS:.2f} ms"
    if seconds < 1:
        return f"{seconds / MS:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_bytes(value: float) -> str:
    if abs(value) < MB:
        return f"{value / 1024:.1f} KB"
    if abs(value) < 1024 * MB:
        return f"{value / MB:.2f} MB"
    return f"{value / MB / 1024:.2f} GB"


def fmt_ratio(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    if value >= 0.1:
        return f"{value:.2f}x"
    return f"{value:.2g}x"


def _render(cell: Cell, unit: str, notes: Notes) -> str:
    if cell.value is None:
        return "n/a " + notes.mark(cell.note) if cell.note else "n/a"
    if unit == "s":
        text = fmt_seconds(cell.value)
    elif unit == "bytes":
        text = fmt_bytes(cell.value)
    elif unit == "x":
        text = f"{cell.value:.2f}x"
    elif unit == "rate":
        text = f"{cell.value:.1f}/s"
    else:
        text = f"{cell.value:g}"
    if cell.approx:
        text = "~" + text
    marks = [notes.mark(text) for text in (cell.method, cell.note) if text]
    return " ".join([text, *marks])


def _ratio(tether: Cell, peer: Cell) -> str:
    if tether.value is None or peer.value is None or peer.value == 0:
        return "-"
    return ("~" if tether.approx or peer.approx else "") + fmt_ratio(tether.value / peer.value)


# -- reading results ------------------------------------------------------------------------------


def _outcome(results: dict[str, Any], section: str, system: str, phase: str) -> tuple[dict[str, Any] | None, str]:
    outcome = results.get(section, {}).get(system, {}).get(phase)
    if outcome is None:
        return None, "not run"
    if not outcome.get("ok"):
        return None, outcome.get("reason") or "failed"
    return outcome["result"], ""


def _dig(data: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)  # type: ignore[call-overload]
        else:
            return None
    return data


def agent_cell(results: dict[str, Any], system: str, figure: str) -> Cell:
    phase = {"memory": "memory", "concurrent_wall": "concurrency", "concurrent_memory": "concurrency"}.get(
        figure, "latency"
    )
    result, reason = _outcome(results, "agent", system, phase)
    if result is None:
        return Cell(note=f"{PEER_TITLES[system]}: {reason}")
    if figure in ("first_message", "round_trip"):
        return Cell(_dig(result, figure, "median"))
    if figure == "cold_first_message":
        return Cell(_dig(result, "cold", "first_message", "median"))
    if figure == "cold_end":
        return Cell(_dig(result, "cold", "end", "median"))
    if figure == "resume_200":
        found = _dig(result, "resume", "200")
        if found is None:
            return Cell(note="no 200-turn resume was measured")
        if found.get("history_mismatch"):
            return Cell(
                _dig(found, "to_first_request", "median"),
                note=f"{PEER_TITLES[system]}: the first request did not carry the 801 messages expected "
                f"(saw {found['history_mismatch']})",
            )
        return Cell(_dig(found, "to_first_request", "median"))
    if figure == "memory":
        if system == "tether":
            return Cell(result["per_client"])
        cli = statistics.median(result["cli_rss"]) if result.get("cli_rss") else None
        if cli is None:
            return Cell(note="no CLI process was found")
        return Cell(cli + result.get("sdk_rss_per_client", 0.0))
    sessions = result["sessions"]
    if figure == "concurrent_wall":
        return Cell(result["wall"] / sessions)
    return Cell((result["peak_rss"] - result["baseline_rss"]) / sessions)


def concurrency_context(results: dict[str, Any], system: str) -> str:
    result, _ = _outcome(results, "agent", system, "concurrency")
    if result is None:
        return ""
    sessions = result["sessions"]
    return (
        f"{sessions} sessions in {fmt_seconds(result['wall'])} ({sessions / result['wall']:.1f} sessions/s), "
        f"peak RSS {fmt_bytes(result['peak_rss'])}"
    )


def _points(results: dict[str, Any], system: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
    result, reason = _outcome(results, "stores", system, "grow")
    if result is None:
        return [], None, reason
    return result["points"], result, ""


def _linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    if len(xs) < 2:
        return None
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var
    return slope, mean_y - slope * mean_x


METHOD_NOTES: dict[tuple[str, str], str] = {
    ("openai-agents", "fork_mid"): "OpenAI Agents: SQLiteSession has no fork; a copy: `get_items()` then "
    "`add_items(prefix)` into a new session",
    ("openai-agents", "fork_end"): "OpenAI Agents: SQLiteSession has no fork; a copy: `get_items()` then "
    "`add_items(prefix)` into a new session",
    ("langgraph", "append"): "LangGraph: one `graph.invoke` per turn, its real per-turn path (load the "
    "checkpoint, run the node, write checkpoints holding the whole state)",
    ("langgraph", "tail"): "LangGraph: no partial read; the last 50 are the whole state, sliced",
    ("langgraph", "fork_mid"): "LangGraph: `update_state` at a past checkpoint: writes a checkpoint with the "
    "whole state at that point (and makes it the thread's head)",
    ("langgraph", "fork_end"): "LangGraph: `update_state` at a past checkpoint: writes a checkpoint with the "
    "whole state at that point (and makes it the thread's head)",
    ("tether-postgres", "bytes"): "PostgreSQL and Redis: what the server holds for the run (tables with "
    "indexes and TOAST; Redis `MEMORY USAGE` of the keys)",
    ("tether-redis", "bytes"): "PostgreSQL and Redis: what the server holds for the run (tables with "
    "indexes and TOAST; Redis `MEMORY USAGE` of the keys)",
}
"""How a peer does a figure's work when it has no direct equivalent (shown as a footnote)."""


def store_cell(results: dict[str, Any], system: str, figure: str, size: int) -> Cell:
    """A store figure at `size` items, with the method's footnote; a capped system's is extrapolated."""
    cell = _store_value(results, system, figure, size)
    if cell.value is not None:
        cell.method = METHOD_NOTES.get((system, "bytes" if figure == "bytes_ratio" else figure), "")
    return cell


def _store_value(results: dict[str, Any], system: str, figure: str, size: int) -> Cell:
    points, grow, reason = _points(results, system)
    title = PEER_TITLES.get(system, system)
    if grow is None:
        return Cell(note=f"{title}: {reason}")
    exact = [p for p in points if p["items"] == size and not p.get("partial")]
    if exact:
        point = exact[0]
        if figure == "bytes_ratio":
            if point.get("bytes") is None:
                return Cell(note=f"{title}: no file to measure (server-side storage)")
            return Cell(point["bytes"] / point["json_bytes"])
        if figure == "bytes":
            return Cell(point.get("bytes"), note="" if point.get("bytes") is not None else "server-side storage")
        value = _dig(point, figure, "median")
        if value is None:
            return Cell(note=f"{title}: not measured at {size} items")
        return Cell(value)
    return _extrapolate(points, grow, title, figure, size)


def _extrapolate(points: list[dict[str, Any]], grow: dict[str, Any], title: str, figure: str, size: int) -> Cell:
    why = grow.get("stopped") or "not reached"
    note = f"{title}: {why}; extrapolated from the sizes it reached"
    usable = [p for p in points if p["items"] >= 250]
    if not usable:
        return Cell(note=f"{title}: {why}")
    last = max(usable, key=lambda p: p["items"])
    if figure in ("bytes", "bytes_ratio"):
        # Every checkpoint holds the whole history: storage grows with the square of the length.
        grown = last["bytes"] * (size / last["items"]) ** 2
        if figure == "bytes":
            return Cell(grown, note=note, approx=True)
        json_at_size = last["json_bytes"] * size / last["items"]
        return Cell(grown / json_at_size, note=note, approx=True)
    if figure in ("fork_mid", "fork_end"):
        forked = [p for p in points if figure in p]
        if not forked:
            return Cell(note=f"{title}: {why}")
        base = max(forked, key=lambda p: p["items"])
        return Cell(base[figure]["median"] * size / base["items"], note=note, approx=True)
    if figure == "tail":
        figure = "load"  # its tail is the whole state, sliced
    measured = [(p["items"], _dig(p, figure, "median")) for p in usable]
    measured = [(x, y) for x, y in measured if y is not None]
    fit = _linear_fit([x for x, _ in measured], [y for _, y in measured])
    if fit is None:
        return Cell(note=f"{title}: {why}")
    slope, intercept = fit
    return Cell(max(0.0, slope * size + intercept), note=note, approx=True)


def list_cell(results: dict[str, Any], system: str) -> Cell:
    result, reason = _outcome(results, "stores", system, "list")
    if result is None:
        return Cell(note=f"{PEER_TITLES.get(system, system)}: {reason}")
    return Cell(result["first_page"]["median"])


def list_notes(results: dict[str, Any]) -> dict[str, str]:
    notes = {}
    for system, text in (
        ("langgraph", "LangGraph: `saver.list(None, limit=50)` lists checkpoints across threads, not threads"),
        ("claude-agent-sdk", "claude-agent-sdk: `list_sessions(directory, limit=50)` over JSONL transcripts"),
    ):
        if _outcome(results, "stores", system, "list")[0] is not None:
            notes[system] = text
    return notes


# -- goals ----------------------------------------------------------------------------------------


@dataclass
class Goal:
    text: str
    check: Callable[[float], bool]


def _le(limit: float) -> Callable[[float], bool]:
    return lambda value: value <= limit


GOALS = {
    "first_message": Goal("≤ 5 ms", _le(5 * MS)),
    "round_trip": Goal("≤ 20 ms", _le(20 * MS)),
    "memory": Goal("≤ 2 MB", _le(2 * MB)),
    "resume_200": Goal("≤ 10 ms", _le(10 * MS)),
    "append": Goal("≤ 0.3 ms", _le(0.3 * MS)),
    "load_10k": Goal("≤ 15 ms", _le(15 * MS)),
    "fork": Goal("≤ 1 ms", _le(1 * MS)),
    "fork_flat": Goal("flat in n (≤ 2x from 1k to 10k)", _le(2.0)),
    "list": Goal("≤ 50 ms", _le(50 * MS)),
    "bytes": Goal("≤ 1.3x the JSON", _le(1.3)),
}


def _verdict(goal_key: str | None, cell: Cell) -> str:
    if goal_key is None:
        return ""
    if cell.value is None:
        return "not measured"
    return "met" if GOALS[goal_key].check(cell.value) else "**missed**"


# -- the document ---------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def agent_table(results: dict[str, Any], notes: Notes) -> list[str]:
    rows = []
    specs = [
        ("time from `query()` to the first message", "first_message", "first_message", "s"),
        ("1-turn round trip (`query()` to the end of its messages)", "round_trip", "round_trip", "s"),
        (
            "first `query()` of a fresh process, from the SDK's import to the first message",
            "cold_first_message",
            None,
            "s",
        ),
        ("first `query()` of a fresh process, from the SDK's import to the end of its reply", "cold_end", None, "s"),
        ("resume of a 200-turn session, to the first model request", "resume_200", "resume_200", "s"),
        ("memory per live session", "memory", "memory", "bytes"),
        ("many sessions at once: wall time per session", "concurrent_wall", None, "s"),
        ("many sessions at once: peak memory per session", "concurrent_memory", "memory", "bytes"),
    ]
    for label, figure, goal_key, unit in specs:
        tether = agent_cell(results, "tether", figure)
        peer = agent_cell(results, AGENT_PEER, figure)
        goal = GOALS[goal_key].text if goal_key else "-"
        rows.append(
            [
                label,
                goal,
                _render(tether, unit, notes),
                _render(peer, unit, notes),
                _ratio(tether, peer),
                _verdict(goal_key, tether),
            ]
        )
    header = ["figure (median)", "goal", "tether", "claude-agent-sdk", "tether / claude", "tether vs goal"]
    return _table(header, rows)


def store_systems(results: dict[str, Any]) -> list[str]:
    tethers = [
        name for name in ("tether-sqlite", "tether-postgres", "tether-redis") if name in results.get("stores", {})
    ]
    return tethers or ["tether-sqlite"]


def store_table(results: dict[str, Any], notes: Notes, sizes: tuple[int, int]) -> list[str]:
    small, large = sizes
    tethers = store_systems(results)
    columns = tethers + STORE_PEERS
    specs: list[tuple[str, str, int, str | None, str]] = [
        (f"append one turn (4 items) at {small:,}", "append", small, "append", "s"),
        (f"append one turn (4 items) at {large:,}", "append", large, "append", "s"),
        (f"load the whole history, {small:,} items", "load", small, None, "s"),
        (f"load the whole history, {large:,} items", "load", large, "load_10k", "s"),
        (f"load the last 50, of {small:,}", "tail", small, None, "s"),
        (f"load the last 50, of {large:,}", "tail", large, None, "s"),
        (f"fork at the middle, {small:,}", "fork_mid", small, "fork", "s"),
        (f"fork at the middle, {large:,}", "fork_mid", large, "fork", "s"),
        (f"fork at the end, {small:,}", "fork_end", small, "fork", "s"),
        (f"fork at the end, {large:,}", "fork_end", large, "fork", "s"),
        (f"bytes stored, {small:,} items", "bytes", small, None, "bytes"),
        (f"bytes stored, {large:,} items", "bytes", large, None, "bytes"),
        (f"bytes stored ÷ the items' compact JSON, {large:,}", "bytes_ratio", large, "bytes", "x"),
    ]
    rows = []
    for label, figure, size, goal_key, unit in specs:
        cells = {system: store_cell(results, system, figure, size) for system in columns}
        row = [label, GOALS[goal_key].text if goal_key else "-"]
        row.extend(_render(cells[system], unit, notes) for system in columns)
        row.extend(_ratio(cells["tether-sqlite"], cells[peer]) for peer in STORE_PEERS)
        row.append(_verdict(goal_key, cells["tether-sqlite"]))
        rows.append(row)
    flat = []
    for system in columns:
        at_small = store_cell(results, system, "fork_end", small)
        at_large = store_cell(results, system, "fork_end", large)
        if at_small.value and at_large.value is not None:
            flat.append(Cell(at_large.value / at_small.value, approx=at_large.approx))
        else:
            flat.append(Cell(note=at_large.note or at_small.note))
    flat_row = [f"fork cost growth, {small:,} → {large:,} (end fork)", GOALS["fork_flat"].text]
    flat_row.extend(_render(cell, "x", notes) for cell in flat)
    flat_row.extend("-" for _ in STORE_PEERS)
    flat_row.append(_verdict("fork_flat", flat[0]))
    rows.append(flat_row)
    header = ["figure (median)", "goal", *(PEER_TITLES[s] for s in columns)]
    header += [f"tether SQLite / {PEER_TITLES[p].split()[0]}" for p in STORE_PEERS] + ["tether SQLite vs goal"]
    return _table(header, rows)


def list_table(results: dict[str, Any], notes: Notes) -> list[str]:
    """Listing the first page of many sessions: tether's stores beside every peer that can list."""
    tethers = store_systems(results)
    peers = [*STORE_PEERS, AGENT_PEER]
    cells = {system: list_cell(results, system) for system in tethers + peers}
    for system, text in list_notes(results).items():
        cells[system].method = text
    row = [f"first page (50 newest) of {_list_count(results):,} sessions", GOALS["list"].text]
    row.extend(_render(cells[system], "s", notes) for system in tethers + peers)
    row.extend(_ratio(cells["tether-sqlite"], cells[peer]) for peer in peers)
    row.append(_verdict("list", cells["tether-sqlite"]))
    header = ["figure (median)", "goal", *(PEER_TITLES[s] for s in tethers + peers)]
    header += [f"tether SQLite / {PEER_TITLES[p].split()[0]}" for p in peers] + ["tether SQLite vs goal"]
    return _table(header, [row])


def _list_count(results: dict[str, Any]) -> int:
    result, _ = _outcome(results, "stores", "tether-sqlite", "list")
    return int(result["sessions"]) if result else 0


def resume_table(results: dict[str, Any], notes: Notes) -> list[str]:
    sizes: set[int] = set()
    for system in ("tether", AGENT_PEER):
        result, _ = _outcome(results, "agent", system, "latency")
        if result:
            sizes.update(int(turns) for turns in result.get("resume", {}))
    rows = []
    for turns in sorted(sizes):
        row = [f"{turns:,} turns ({4 * turns:,} items)"]
        cells = []
        for system in ("tether", AGENT_PEER):
            result, _ = _outcome(results, "agent", system, "latency")
            value = _dig(result, "resume", str(turns), "to_first_request", "median") if result else None
            cells.append(Cell(value))
            row.append(_render(Cell(value), "s", notes) if value is not None else "-")
        row.append(_ratio(cells[0], cells[1]))
        rows.append(row)
    return _table(["resume, to the first model request", "tether", "claude-agent-sdk", "tether / claude"], rows)


def compaction_table(results: dict[str, Any]) -> list[str]:
    """The rows of `bench/compaction.py`'s figures: resume of a session, compacted and not."""
    rows = ["| resume of a session of {:,} items | to the first request | request size | request tokens (est.) |"]
    rows[0] = rows[0].format(results["items"])
    rows.append("|---|---|---|---|")
    for name in ("uncompacted", "compacted"):
        figures = results[name]
        rows.append(
            f"| {name} | {figures['to_first_request_s'] * 1000:.0f} ms | {figures['request_bytes'] / 1024:,.0f} KiB "
            f"| {figures['request_tokens']:,} |"
        )
    plain, small = results["uncompacted"], results["compacted"]
    ratios = [small[key] / plain[key] for key in ("to_first_request_s", "request_bytes", "request_tokens")]
    rows.append(f"| compacted / uncompacted | {ratios[0]:.2f}x | {ratios[1]:.3f}x | {ratios[2]:.3f}x |")
    return rows


def tracing_table(results: dict[str, Any]) -> list[str]:
    """The rows of the figures: a turn with an SDK tracer provider and without one."""
    return [
        "| a turn (1 tool call, 2 model calls) | CPU per turn |",
        "|---|---|",
        f"| without a tracer provider | {results['without_ms']:.2f} ms |",
        f"| with an SDK tracer provider ({results['spans_per_turn']} spans a turn) | {results['with_ms']:.2f} ms |",
        f"| with / without | {results['ratio']:.2f}x |",
    ]


def render(results: dict[str, Any]) -> str:
    notes = Notes()
    meta = results.get("meta", {})
    sizes = meta.get("full_sizes", [1000, 10_000])
    lines = [
        "# tether benchmarks: latest run",
        "",
        f"Generated by `make bench` on {meta.get('date', '?')} ({meta.get('config', '?')} configuration, "
        f"{meta.get('wall_seconds', 0):.0f} s wall). Machine: {meta.get('machine', '?')}. "
        "Every figure is the median of several runs, measured in this run beside the peers; "
        "a ratio below 1 means tether is faster or smaller. See `docs/performance.md` for what each "
        "figure means.",
        "",
        f"Versions: {meta.get('versions', '?')}. tether agent store: {meta.get('tether_agent_store', '?')}.",
        "",
    ]
    if meta.get("shared_machine_note"):
        lines += [f"> {meta['shared_machine_note']}", ""]
    lines += ["## Agent: tether vs claude-agent-sdk, same fake Anthropic server", ""]
    lines += agent_table(results, notes)
    lines += [""]
    for system in ("tether", AGENT_PEER):
        context = concurrency_context(results, system)
        if context:
            lines.append(f"- {PEER_TITLES[system]} concurrency: {context}.")
    lines += ["", "### Resume cost against history length", ""]
    lines += resume_table(results, notes)
    lines += ["", f"## Stores: one session of {sizes[0]:,} and {sizes[1]:,} items (turns of 4 items)", ""]
    lines += store_table(results, notes, (sizes[0], sizes[1]))
    lines += ["", "## Listing sessions", ""]
    lines += list_table(results, notes)
    compaction = results.get("compaction") or {}
    if compaction.get("compacted"):
        lines += ["", "## Resume of a compacted session", ""]
        lines += compaction_table(compaction)
        lines += [
            "",
            f"The same session of {compaction['items']:,} items, once compacted (`/compact` in "
            f"{compaction['compaction_s']:.2f} s, summary requests: {compaction['summary_calls']}) and once not; "
            "time from `query(resume=...)` to the first model request, and that request's size.",
        ]
    elif compaction.get("error"):
        lines += ["", "## Resume of a compacted session", "", f"Not measured: {compaction['error']}"]
    tracing = results.get("tracing") or {}
    if tracing.get("ratio"):
        lines += ["", "## OpenTelemetry spans", ""]
        lines += tracing_table(tracing)
        lines += [
            "",
            f"{tracing['turns']} turns in a row on a `MemoryStore` with a scripted model, with `tracer_provider=` an "
            "SDK provider whose exporter drops the spans, and without one; modes alternate, medians of "
            f"{tracing['rounds']} rounds (`bench/tracing.py`).",
        ]
    elif tracing.get("error"):
        lines += ["", "## OpenTelemetry spans", "", f"Not measured: {tracing['error']}"]
    workspace = results.get("workspace") or {}
    if workspace.get("snapshot_s"):
        from bench.workspace import workspace_table

        lines += ["", "## Workspace snapshots", ""]
        lines += workspace_table(workspace)
    elif workspace.get("error"):
        lines += ["", "## Workspace snapshots", "", f"Not measured: {workspace['error']}"]
    durable = results.get("durable") or {}
    if durable:
        from bench.durable import durable_table

        lines += ["", "## Durable turns (DBOS)", ""]
        lines += durable_table(durable)
        lines += [
            "",
            "The same turn (a model that costs nothing calls `Read` 10 times, then answers) with and without "
            "`durable=True`, alternating in one process; time added per DBOS step (goal: at most 5 ms).",
        ]
    lines += ["", "![cost against history length](cost_vs_length.png)", ""]
    if notes.texts:
        lines += ["### Notes", ""]
        lines += [f"{index}. {text}" for index, text in enumerate(notes.texts, 1)]
        lines += [""]
    return "\n".join(lines)


DOCS_START = "<!-- bench:latest:start -->"
DOCS_END = "<!-- bench:latest:end -->"


def update_docs(document: str, latest: str) -> str:
    """`document` with the text between the bench markers replaced by `latest` (its title dropped).

    The plot's path is rewritten to be relative to `docs/`. A document without the markers is
    returned unchanged.
    """
    start, end = document.find(DOCS_START), document.find(DOCS_END)
    if start < 0 or end < start:
        return document
    body = latest.split("\n", 1)[1].strip() if latest.startswith("# ") else latest.strip()
    body = body.replace("](cost_vs_length.png)", "](../bench/results/cost_vs_length.png)")
    body = "\n".join("#" + line if line.startswith("#") else line for line in body.splitlines())
    return document[: start + len(DOCS_START)] + "\n" + body + "\n" + document[end:]
