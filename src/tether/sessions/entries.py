"""Transcript entries in the Claude Code shape, and the active chain of a session.

A chain entry looks like Claude Code's:
`{"type": "user"|"assistant", "uuid", "parentUuid", "sessionId", "timestamp", "cwd", "version",
"isSidechain": false, "userType": "external", "entrypoint": "sdk-py", "message": {...}}`, where
`message` is an Anthropic Messages API message. Metadata entries (`custom-title`, `tag`,
`cost-state`, ...) carry no `uuid`. The conversation is a tree by `parentUuid`; the active branch
is the chain from the leaf (the last uuid entry) back to the root.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from tether._version import __version__

__all__ = [
    "CHAIN_TYPES",
    "active_chain",
    "chain_to_api_messages",
    "leaf_of",
    "make_entry",
    "make_meta_entry",
    "new_uuid",
    "now_iso",
    "unanswered_tool_uses",
]

CHAIN_TYPES = frozenset({"user", "assistant", "system", "attachment", "progress"})
"""Entry types that take part in the `parentUuid` chain."""


def new_uuid() -> str:
    """A fresh random UUID string."""
    return str(uuid_module.uuid4())


def now_iso() -> str:
    """The current UTC time as Claude Code writes it (`2026-01-01T12:00:00.000Z`)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_entry(
    kind: str,
    message: dict[str, Any],
    *,
    session_id: str,
    parent_uuid: str | None,
    cwd: str,
    uuid: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A chain entry of type `kind` (`user` or `assistant`) holding an API `message`."""
    entry: dict[str, Any] = {
        "parentUuid": parent_uuid,
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
        "version": __version__,
        "entrypoint": "sdk-py",
        "type": kind,
        "message": message,
        "uuid": uuid or new_uuid(),
        "timestamp": now_iso(),
    }
    entry.update(extra)
    return entry


def make_meta_entry(kind: str, *, session_id: str, **fields: Any) -> dict[str, Any]:
    """A metadata entry (no uuid, outside the chain), e.g. `custom-title` or `cost-state`."""
    return {"type": kind, **fields, "sessionId": session_id, "timestamp": now_iso()}


def leaf_of(entries: Iterable[dict[str, Any]]) -> str | None:
    """The uuid of the last main-chain entry, or None when there is none."""
    leaf = None
    for entry in entries:
        uuid = entry.get("uuid")
        if uuid and not entry.get("isSidechain"):
            leaf = uuid
    return leaf


def active_chain(entries: list[dict[str, Any]], leaf: str | None = None) -> list[dict[str, Any]]:
    """The chain from the root to `leaf` (default: the last main-chain entry), root first.

    A compaction boundary (`parentUuid` null with `logicalParentUuid`) ends the walk: what lies
    before it is summarised by the entries after it.
    """
    by_uuid: dict[str, dict[str, Any]] = {}
    for entry in entries:
        uuid = entry.get("uuid")
        if uuid:
            by_uuid[uuid] = entry
    current = leaf if leaf is not None else leaf_of(entries)
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while current and current in by_uuid and current not in seen:
        seen.add(current)
        entry = by_uuid[current]
        chain.append(entry)
        current = entry.get("parentUuid")
    chain.reverse()
    return chain


def chain_to_api_messages(chain: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Anthropic `messages` list of a chain: user/assistant turns, same-role turns merged.

    Assistant entries that share `message.id` (Claude Code writes one per content block) are
    joined into one message; consecutive user entries (a prompt after an interrupted turn) are
    joined too, since the API requires alternating roles.
    """
    messages: list[dict[str, Any]] = []
    last_id: str | None = None
    for entry in chain:
        kind = entry.get("type")
        message = entry.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict) or entry.get("isSidechain"):
            continue
        role = "assistant" if kind == "assistant" else "user"
        content = _as_blocks(message.get("content", ""))
        message_id = message.get("id") if role == "assistant" else None
        if messages and messages[-1]["role"] == role:
            if role == "assistant" and message_id is not None and message_id == last_id:
                messages[-1]["content"].extend(content)
                continue
            messages[-1]["content"].extend(content)
        else:
            messages.append({"role": role, "content": list(content)})
        last_id = message_id
    return messages


def _as_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [dict(block) for block in content if isinstance(block, dict)]
    return []


def unanswered_tool_uses(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls at the end of the chain that never got a result (the process died mid-turn)."""
    pending: dict[str, dict[str, Any]] = {}
    for entry in chain:
        message = entry.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            continue
        for block in message["content"]:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and entry.get("type") == "assistant":
                pending[str(block.get("id"))] = block
            elif block.get("type") == "tool_result":
                pending.pop(str(block.get("tool_use_id")), None)
    return list(pending.values())
