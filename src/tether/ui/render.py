"""Transcript entries as view items for the templates: blocks folded, Edit/Write as diffs, turn costs.

Everything here is pure (no store, no I/O): `transcript_items` turns a chain of stored entries
into the list the session page renders, `entry_items` does it for entries arriving live, and
`branch_diff` splits two branches at the point they part. Unexpected shapes (a damaged entry)
become an item of kind `damaged` instead of an error, so one bad entry never hides the others.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from tether.sessions.entries import compact_metadata, is_compact_boundary
from tether.sessions.follow import is_turn_end

__all__ = ["BranchDiff", "Item", "branch_diff", "entry_items", "transcript_items", "turn_costs"]

_RESULT_LIMIT = 20_000
"""Characters of a tool result shown; the rest is cut (the store keeps it all)."""


@dataclass
class Item:
    """One row of a transcript: a prompt, a reply, tool results, a boundary, a turn's end, ..."""

    kind: str
    uuid: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _text_of(content: Any) -> str:
    """The text of a tool result's or message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") if isinstance(b, dict) and b.get("type") == "text" else "" for b in content]
        others = sum(1 for b in content if isinstance(b, dict) and b.get("type") not in ("text", None))
        return "\n".join(p for p in parts if p) + (f"\n[{others} non-text block(s)]" if others else "")
    return "" if content is None else json.dumps(content, ensure_ascii=False)


def _cut(text: str) -> str:
    return (
        text
        if len(text) <= _RESULT_LIMIT
        else text[:_RESULT_LIMIT] + f"\n… ({len(text) - _RESULT_LIMIT:,} more characters)"
    )


def _diff_lines(old: str, new: str, path: str) -> list[dict[str, str]]:
    """A unified diff of `old` -> `new` as lines tagged add/del/hunk/ctx."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=f"a/{path}", tofile=f"b/{path}", lineterm="", n=2
    )
    tagged = []
    for line in lines:
        if line.startswith(("+++", "---")):
            continue
        tag = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
        tagged.append({"tag": tag, "text": line})
    return tagged


def _tool_diff(name: str, tool_input: dict[str, Any]) -> list[dict[str, str]] | None:
    """The diff an Edit, MultiEdit or Write call makes, from its input alone; None for other tools."""
    path = str(tool_input.get("file_path", ""))
    if name == "Edit":
        return _diff_lines(str(tool_input.get("old_string", "")), str(tool_input.get("new_string", "")), path)
    if name == "Write":
        return _diff_lines("", str(tool_input.get("content", "")), path)
    if name == "MultiEdit" and isinstance(tool_input.get("edits"), list):
        lines: list[dict[str, str]] = []
        for edit in tool_input["edits"]:
            if isinstance(edit, dict):
                lines += _diff_lines(str(edit.get("old_string", "")), str(edit.get("new_string", "")), path)
        return lines
    return None


def _tool_block(block: dict[str, Any]) -> dict[str, Any]:
    name = str(block.get("name", "?"))
    tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
    assert isinstance(tool_input, dict)
    summary = next(
        (str(tool_input[k]) for k in ("file_path", "command", "pattern", "path", "url") if k in tool_input), ""
    )
    return {
        "kind": "tool",
        "id": str(block.get("id", "")),
        "name": name,
        "summary": summary[:160],
        "input": json.dumps(tool_input, indent=2, ensure_ascii=False),
        "diff": _tool_diff(name, tool_input),
        "result": None,
    }


def _result_block(block: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "result",
        "id": str(block.get("tool_use_id", "")),
        "text": _cut(_text_of(block.get("content"))),
        "is_error": block.get("is_error") is True,
    }


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"kind": "text", "text": content}]
    if not isinstance(content, list):
        raise ValueError("message content is neither text nor a list of blocks")
    blocks: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            blocks.append({"kind": "text", "text": str(block.get("text", ""))})
        elif kind in ("thinking", "redacted_thinking"):
            blocks.append({"kind": "thinking", "text": str(block.get("thinking", "") or "[redacted]")})
        elif kind == "tool_use":
            blocks.append(_tool_block(block))
        elif kind == "tool_result":
            blocks.append(_result_block(block))
        else:
            blocks.append({"kind": "other", "text": json.dumps(block, ensure_ascii=False)[:2000]})
    return blocks


def _usage(message: dict[str, Any]) -> dict[str, int]:
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return {}
    return {k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}


def _message_item(entry: dict[str, Any]) -> Item:
    message = entry["message"]
    if not isinstance(message, dict):
        raise ValueError("its message is not an object")
    blocks = _blocks(message.get("content"))
    uuid = str(entry.get("uuid", ""))
    if entry.get("type") == "assistant":
        meta = {"model": message.get("model") or "", "usage": _usage(message)}
        return Item("assistant", uuid, blocks, meta=meta)
    if blocks and all(b["kind"] == "result" for b in blocks):
        return Item("results", uuid, blocks)
    return Item("prompt", uuid, blocks, meta={"is_meta": entry.get("isMeta") is True})


def _boundary_item(entry: dict[str, Any]) -> Item:
    meta = compact_metadata(entry)
    return Item(
        "boundary", str(entry.get("uuid", "")), meta={k: meta.get(k) for k in ("trigger", "preTokens", "postTokens")}
    )


def _item(entry: dict[str, Any]) -> Item | None:
    """The item of one chain entry; None for entries a reader need not see."""
    if not isinstance(entry, dict):
        return Item("damaged", text=f"not an object: {str(entry)[:200]}")
    try:
        if is_compact_boundary(entry):
            return _boundary_item(entry)
        if entry.get("type") in ("user", "assistant") and "message" in entry:
            return _message_item(entry)
        if entry.get("type") == "system" and isinstance(entry.get("content"), str):
            return Item("system", str(entry.get("uuid", "")), text=entry["content"])
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        return Item("damaged", str(entry.get("uuid", "")), text=f"{error}: {json.dumps(entry, default=str)[:400]}")
    return None


def _result_facts(result: dict[str, Any]) -> dict[str, Any]:
    """What a turn's row shows of its stored `ResultMessage`: its error (if any) and its duration."""
    error = ""
    if result.get("is_error"):
        error = "; ".join(str(e) for e in result.get("errors") or []) or str(result.get("subtype") or "error")
    duration = result.get("duration_ms")
    return {"error": error, "duration_ms": duration if isinstance(duration, (int, float)) else None}


def turn_costs(entries: list[dict[str, Any]], shown: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """The end of each turn, by the uuid of the last entry before it (of those `shown`, if given):
    the `cost-state` the turn wrote (`totalCostUSD`, cumulative), the turn's own cost (the increase),
    and from the `ResultMessage` stored after it, its error and duration."""
    ends: dict[str, dict[str, Any]] = {}
    last_uuid: str | None = None
    previous_total = 0.0
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("uuid"):
            if shown is None or entry["uuid"] in shown:
                last_uuid = str(entry["uuid"])
        elif entry.get("type") == "cost-state" and last_uuid:
            raw = entry.get("totalCostUSD")
            total = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
            usage = entry.get("usage") if isinstance(entry.get("usage"), dict) else {}
            ends[last_uuid] = {
                "total": total,
                "cost": None if total is None else total - previous_total,
                "usage": usage,
                "error": "",
                "duration_ms": None,
            }
            previous_total = previous_total if total is None else total
        elif is_turn_end(entry) and last_uuid in ends and isinstance(entry.get("resultMessage"), dict):
            ends[last_uuid].update(_result_facts(entry["resultMessage"]))
    return ends


def _fold_results(items: list[Item]) -> list[Item]:
    """Tool results put inside the tool call they answer; results with no call on view stay as rows."""
    calls = {b["id"]: b for item in items if item.kind == "assistant" for b in item.blocks if b["kind"] == "tool"}
    folded: list[Item] = []
    for item in items:
        if item.kind == "results":
            loose = []
            for block in item.blocks:
                call = calls.get(block["id"])
                if call is not None and call["result"] is None:
                    call["result"] = block
                else:
                    loose.append(block)
            if not loose:
                continue
            item.blocks = loose
        folded.append(item)
    return folded


def _turn_end_items(items: list[Item], ends: dict[str, dict[str, Any]]) -> list[Item]:
    """`items` with a `turn` row after the entry each turn ended on (its cost and token usage)."""
    out: list[Item] = []
    tokens = {"input_tokens": 0, "output_tokens": 0}
    for item in items:
        out.append(item)
        if item.kind == "assistant":
            for key in tokens:
                tokens[key] += item.meta["usage"].get(key, 0)
        end = ends.get(item.uuid)
        if end is not None:
            out.append(Item("turn", meta={**end, "tokens": dict(tokens)}))
            tokens = dict.fromkeys(tokens, 0)
    return out


def transcript_items(chain: list[dict[str, Any]], entries: list[dict[str, Any]]) -> list[Item]:
    """The rows of a transcript: each chain entry's item, results folded into their calls, and a
    `turn` row where each turn ended (from the `cost-state` entries among `entries`)."""
    items = [item for item in (_item(entry) for entry in chain) if item is not None]
    shown = {item.uuid for item in items if item.uuid}
    return _turn_end_items(_fold_results(items), turn_costs(entries, shown))


def entry_items(entries: list[dict[str, Any]]) -> list[Item]:
    """The rows of entries as they arrive (live): nothing folded, each shown where it lands."""
    items: list[Item] = []
    for entry in entries:
        item = _item(entry)
        if item is not None:
            items.append(item)
        elif isinstance(entry, dict) and entry.get("type") == "cost-state":
            total = entry.get("totalCostUSD")
            known = isinstance(total, (int, float)) and not isinstance(total, bool)
            meta = {"total": total if known else None, "cost": None, "tokens": None, "error": "", "duration_ms": None}
            items.append(Item("turn", meta=meta))
    return items


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two chain entries are the same message (one uuid, or a copy with the same content)."""
    if a.get("uuid") and a.get("uuid") == b.get("uuid"):
        return True
    message_a, message_b = a.get("message"), b.get("message")
    return (
        a.get("type") == b.get("type")
        and isinstance(message_a, dict)
        and isinstance(message_b, dict)
        and message_a.get("content") == message_b.get("content")
    )


def _answers_tools(entry: dict[str, Any]) -> bool:
    """Whether `entry` is a user entry holding tool results."""
    message = entry.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return (
        entry.get("type") == "user"
        and isinstance(content, list)
        and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    )


@dataclass
class BranchDiff:
    """Two branches split where they part: how many messages they share and what each has after."""

    shared: int
    fork_point: Item | None
    left: list[Item]
    right: list[Item]


def branch_diff(
    left: list[dict[str, Any]],
    left_entries: list[dict[str, Any]],
    right: list[dict[str, Any]],
    right_entries: list[dict[str, Any]],
) -> BranchDiff:
    """The diff of two chains from their fork point (the last entry they share)."""
    shared = 0
    while shared < min(len(left), len(right)) and _same(left[shared], right[shared]):
        shared += 1
    while shared > 0 and any(_answers_tools(chain[shared]) for chain in (left, right) if shared < len(chain)):
        shared -= 1  # results that differ are shown with the call they answer
    point = next((_item(entry) for entry in reversed(left[:shared]) if _item(entry) is not None), None)
    return BranchDiff(
        shared=shared,
        fork_point=point,
        left=transcript_items(left[shared:], left_entries),
        right=transcript_items(right[shared:], right_entries),
    )
