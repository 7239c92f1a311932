"""Transcript entries in the Claude Code shape, and the active chain of a session.

A chain entry looks like Claude Code's:
`{"type": "user"|"assistant", "uuid", "parentUuid", "sessionId", "timestamp", "cwd", "version",
"isSidechain": false, "userType": "external", "entrypoint": "sdk-py", "message": {...}}`, where
`message` is an Anthropic Messages API message. Metadata entries (`custom-title`, `tag`,
`cost-state`, ...) carry no `uuid`. The conversation is a tree by `parentUuid`; the active branch
is the chain from the leaf (the last uuid entry) back to the root.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Container, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tether._version import __version__

__all__ = [
    "CHAIN_TYPES",
    "COMPACT_BOUNDARY",
    "MAX_CONTENT_DEPTH",
    "MISSING_TOOL_RESULT",
    "active_chain",
    "compact_metadata",
    "full_chain",
    "is_compact_boundary",
    "is_prompt",
    "json_problem",
    "leaf_of",
    "make_compact_boundary",
    "make_entry",
    "make_meta_entry",
    "new_uuid",
    "now_iso",
    "preserved_segment",
]

CHAIN_TYPES = frozenset({"user", "assistant", "system", "attachment", "progress"})
"""Entry types that take part in the `parentUuid` chain."""
COMPACT_BOUNDARY = "compact_boundary"
"""The `subtype` of the `system` entry that marks a compaction (Claude Code's)."""
MISSING_TOOL_RESULT = "This tool call has no result in the session's history (it was lost, or never ran)."
"""The error result a tool call gets on its way to the model when the history holds none."""
MAX_CONTENT_DEPTH = 256
"""The most levels of nesting a message's content may have (its list is the first level). JSON
encoders recurse, so deeper content may be stored yet fail every later request (how deep depends
on the call stack): model output deeper than this is refused, and a stored entry skipped."""

log = logging.getLogger("tether.sessions")


def json_problem(value: Any, max_depth: int = MAX_CONTENT_DEPTH) -> str | None:
    """What keeps `value` from being stored and sent back to a model as JSON, or None: nesting
    deeper than `max_depth` levels, or a value JSON does not have (a key that is not a string, a
    NaN or infinite number, any other type than dict, list, str, int, float, bool and None)."""
    level: list[Any] = [value]
    depth = 0
    while level:  # one level of nesting at a time: every resume checks each stored entry
        depth += 1
        inner: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if kind is dict or kind is list or isinstance(item, (dict, list)):
                if depth > max_depth:
                    return f"it nests more than {max_depth} levels deep"
                if isinstance(item, dict):
                    for key in item:
                        if type(key) is not str and not isinstance(key, str):
                            return "a key of an object is not a string"
                    inner.extend(item.values())
                else:
                    inner.extend(item)
            elif isinstance(item, float):
                if not math.isfinite(item):
                    return f"{item!r} is not a JSON number"
            elif not isinstance(item, (str, int)):
                return f"a {type(item).__name__} is not a JSON value"
        level = inner
    return None


def new_uuid() -> str:
    """A fresh random UUID string (version 4: `str(uuid.uuid4())`, formatted without a `UUID` object)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def now_iso() -> str:
    """The current UTC time as Claude Code writes it (`2026-01-01T12:00:00.000Z`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def make_compact_boundary(
    *,
    session_id: str,
    cwd: str,
    logical_parent_uuid: str | None,
    metadata: dict[str, Any],
    uuid: str | None = None,
) -> dict[str, Any]:
    """A compaction boundary as Claude Code writes it: a `system` entry with `parentUuid` null (the
    chain restarts here), `logicalParentUuid` the leaf it replaced and `compactMetadata`."""
    return {
        "parentUuid": None,
        "logicalParentUuid": logical_parent_uuid,
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
        "version": __version__,
        "entrypoint": "sdk-py",
        "type": "system",
        "subtype": COMPACT_BOUNDARY,
        "content": "Conversation compacted",
        "isMeta": False,
        "level": "info",
        "compactMetadata": metadata,
        "uuid": uuid or new_uuid(),
        "timestamp": now_iso(),
    }


def is_compact_boundary(entry: dict[str, Any]) -> bool:
    """Whether `entry` is a compaction boundary."""
    return entry.get("type") == "system" and entry.get("subtype") == COMPACT_BOUNDARY


def is_prompt(entry: Mapping[str, Any]) -> bool:
    """Whether a transcript entry is a user's prompt (not tool results, a compaction summary, a side chain)."""
    message = entry.get("message")
    if entry.get("type") != "user" or not entry.get("uuid"):
        return False
    if entry.get("isSidechain") or entry.get("isMeta") or entry.get("isCompactSummary"):
        return False
    if not isinstance(message, Mapping):
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    return isinstance(content, list) and not any(
        isinstance(block, Mapping) and block.get("type") == "tool_result" for block in content
    )


def compact_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    """The `compactMetadata` of a boundary (`compact_metadata` as some writers spell it), else `{}`."""
    meta = _pick(entry, "compactMetadata", "compact_metadata")
    return meta if isinstance(meta, dict) else {}


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


def active_chain(
    entries: list[dict[str, Any]], leaf: str | None = None, *, relink: bool = True
) -> list[dict[str, Any]]:
    """The active branch from the root to `leaf`, root first.

    `leaf` defaults to the newest message: the last main-chain user/assistant entry, unless a
    later `last-prompt` entry names another `leafUuid` (a rewind in Claude Code). The walk
    follows `parentUuid`; a compaction boundary (`parentUuid` null, `logicalParentUuid` set)
    ends it, since the summary after it stands for what came before, and the segment the
    boundary's `compactMetadata` says was preserved verbatim is relinked after its anchor.

    Claude Code writes one assistant entry per content block (sharing `message.id`), and
    parallel tool results hang off the entry holding their call, so a plain walk from the leaf
    misses some of them: every entry of an assistant message on the branch is put back together,
    followed by the results of its tool calls. With an explicit `leaf` inside an assistant
    message, the branch stops at that entry (a fork or resume point). `relink=False` walks the
    stored `parentUuid`s only (no preserved segment is moved).
    """
    by_uuid: dict[str, dict[str, Any]] = {}
    for entry in entries:
        uuid = entry.get("uuid")
        if uuid:
            by_uuid[uuid] = entry
    parents = _relinked_parents(entries, by_uuid) if relink else {}
    current = leaf if leaf is not None else _default_leaf(entries, by_uuid)
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while current and current in by_uuid and current not in seen:
        seen.add(current)
        entry = by_uuid[current]
        chain.append(entry)
        current = parents[current] if current in parents else entry.get("parentUuid")
    chain.reverse()
    return _regroup(chain, entries, by_uuid, whole_last_message=leaf is None)


def full_chain(entries: list[dict[str, Any]], leaf: str | None = None) -> list[dict[str, Any]]:
    """The branch to `leaf` (as `active_chain`) with what each compaction replaced put back.

    Before each compaction boundary on the branch comes the chain it replaced (up to its
    `logicalParentUuid`); the boundary stays, as a marker, and the summary and the preserved
    segment after it (which repeat what the replaced chain holds) are left out.
    """
    by_uuid = {entry["uuid"]: entry for entry in entries if entry.get("uuid")}
    chain = active_chain(entries, leaf, relink=False)
    done: list[dict[str, Any]] = []
    seen: set[str] = set()
    while chain and is_compact_boundary(chain[0]) and chain[0]["uuid"] not in seen:
        boundary = chain[0]
        seen.add(boundary["uuid"])
        replaced = boundary.get("logicalParentUuid")
        if not isinstance(replaced, str) or replaced not in by_uuid:
            break
        done = [boundary, *_after_summary(chain[1:], boundary), *done]
        chain = active_chain(entries, replaced, relink=False)
    return chain + done


def _after_summary(chain: list[dict[str, Any]], boundary: dict[str, Any]) -> list[dict[str, Any]]:
    """`chain` (what follows a boundary) without the summary and the preserved segment after it."""
    segment = _pick(compact_metadata(boundary), "preservedSegment", "preserved_segment")
    tail = _pick(segment, "tailUuid", "tail_uuid") if isinstance(segment, dict) else None
    start = 0
    while start < len(chain) and chain[start].get("isCompactSummary"):
        start += 1
    if isinstance(tail, str):
        uuids = [entry.get("uuid") for entry in chain]
        if tail in uuids[start:]:
            start = uuids.index(tail, start) + 1
    return chain[start:]


def _is_main(entry: dict[str, Any]) -> bool:
    return not entry.get("isSidechain") and not entry.get("teamName")


def _default_leaf(entries: list[dict[str, Any]], by_uuid: dict[str, dict[str, Any]]) -> str | None:
    """The newest main-chain message, or a later `last-prompt.leafUuid`, or the last uuid entry."""
    message_leaf: str | None = None
    message_position = -1
    any_leaf: str | None = None
    prompt_leaf: tuple[int, str] | None = None
    for position, entry in enumerate(entries):
        uuid = entry.get("uuid")
        if uuid and _is_main(entry):
            any_leaf = uuid
            if entry.get("type") in ("user", "assistant") and not entry.get("isMeta"):
                message_leaf, message_position = uuid, position
        elif entry.get("type") == "last-prompt" and isinstance(entry.get("leafUuid"), str):
            prompt_leaf = (position, entry["leafUuid"])
    if prompt_leaf is not None and prompt_leaf[0] > message_position and prompt_leaf[1] in by_uuid:
        return prompt_leaf[1]
    return message_leaf or any_leaf


def _pick(mapping: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in mapping:
            return mapping[name]
    return None


def _relinked_parents(entries: list[dict[str, Any]], by_uuid: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Parent overrides that put each compaction's preserved segment back after its anchor."""
    overrides: dict[str, str | None] = {}
    for entry in entries:
        segment = preserved_segment(entry, by_uuid)
        if segment is None:
            continue
        head, anchor, tail = segment
        if by_uuid[head].get("parentUuid") == anchor:
            continue  # the segment already hangs from its anchor (tether writes it so): nothing to relink
        for child in entries:
            if child.get("parentUuid") == anchor and child.get("uuid") not in (None, head, tail):
                overrides[child["uuid"]] = tail
        overrides[head] = anchor
    return overrides


def preserved_segment(entry: dict[str, Any], uuids: Container[str]) -> tuple[str, str, str] | None:
    """`(head, anchor, tail)` of the segment a compaction boundary says it preserved verbatim, when
    all three are entries among `uuids` and the head is not the anchor; else None."""
    if not is_compact_boundary(entry):
        return None
    meta = compact_metadata(entry)
    segment = _pick(meta, "preservedSegment", "preserved_segment")
    preserved = _pick(meta, "preservedMessages", "preserved_messages")
    if isinstance(segment, dict):
        head, anchor, tail = (
            _pick(segment, "headUuid", "head_uuid"),
            _pick(segment, "anchorUuid", "anchor_uuid"),
            _pick(segment, "tailUuid", "tail_uuid"),
        )
    elif isinstance(preserved, dict) and isinstance(preserved.get("uuids"), list) and preserved["uuids"]:
        uuids_kept = preserved["uuids"]
        head, anchor, tail = uuids_kept[0], _pick(preserved, "anchorUuid", "anchor_uuid"), uuids_kept[-1]
    else:
        return None
    if not (isinstance(head, str) and isinstance(anchor, str) and isinstance(tail, str)) or head == anchor:
        return None
    if head not in uuids or anchor not in uuids or tail not in uuids:
        return None
    return head, anchor, tail


def _message_id(entry: dict[str, Any]) -> str | None:
    message = entry.get("message")
    if entry.get("type") != "assistant" or not isinstance(message, dict):
        return None
    message_id = message.get("id")
    return message_id if isinstance(message_id, str) and message_id else None


def _blocks_of(entry: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    message = entry.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict) and block.get("type") == kind]


def _only_tool_results(entry: dict[str, Any]) -> bool:
    message = entry.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, list) and bool(content) and len(_blocks_of(entry, "tool_result")) == len(content)


def _continues_turn(entry: dict[str, Any], message_id: str) -> bool:
    """Whether a chain entry after an assistant entry of `message_id` still belongs to that response."""
    kind = entry.get("type")
    if kind == "assistant":
        return _message_id(entry) == message_id
    if kind == "user":
        return _only_tool_results(entry)
    return True


def _has_split_messages(entries: list[dict[str, Any]]) -> bool:
    """Whether some assistant message is written as several entries (Claude Code: one per block)."""
    seen: set[str] = set()
    for entry in entries:
        if entry.get("type") != "assistant":
            continue
        message = entry.get("message")
        message_id = message.get("id") if isinstance(message, dict) else None
        if isinstance(message_id, str) and message_id:
            if message_id in seen:
                return True
            seen.add(message_id)
    return False


def _regroup(
    chain: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    by_uuid: dict[str, dict[str, Any]],
    *,
    whole_last_message: bool,
) -> list[dict[str, Any]]:
    """The chain with each assistant message whole and followed by its tool results.

    A response is the run of chain entries from an assistant entry up to the next user prompt
    or other response. Its off-branch parts are entries of the same `message.id` hanging off it
    (parallel blocks), and tool results hanging off its entries (parallel results).
    """
    if not _has_split_messages(entries):
        return chain  # every response is one entry (tether writes them so): nothing to put back together
    tree = _BranchIndex(entries, by_uuid)
    out: list[dict[str, Any]] = []
    emitted: set[str] = set()

    def emit(batch: Iterable[dict[str, Any]]) -> None:
        for entry in batch:
            if entry["uuid"] not in emitted:
                emitted.add(entry["uuid"])
                out.append(entry)

    start = 0
    while start < len(chain):
        message_id = _message_id(chain[start])
        if message_id is None:
            emit([chain[start]])
            start += 1
            continue
        end = start + 1
        while end < len(chain) and _continues_turn(chain[end], message_id):
            end += 1
        run = chain[start:end]
        if end == len(chain) and not whole_last_message and _message_id(chain[-1]) == message_id:
            emit(run)  # an explicit leaf inside this response: stop there
            break
        members = tree.members(run, message_id)
        emit(members)
        emit(tree.answers(members, run))
        emit(run)
        start = end
    return out


class _BranchIndex:
    """The off-branch parts of split responses: children by parent uuid, tool results by call id."""

    def __init__(self, entries: list[dict[str, Any]], by_uuid: dict[str, dict[str, Any]]) -> None:
        self.order = {id(entry): position for position, entry in enumerate(entries)}
        self.children: dict[str, list[dict[str, Any]]] = {}
        self.answered_by: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            uuid = entry.get("uuid")
            if not uuid or by_uuid.get(uuid) is not entry or not _is_main(entry):
                continue
            parent = entry.get("parentUuid")
            if isinstance(parent, str):
                self.children.setdefault(parent, []).append(entry)
            if entry.get("type") == "user":
                for block in _blocks_of(entry, "tool_result"):
                    self.answered_by.setdefault(str(block.get("tool_use_id")), []).append(entry)

    def members(self, run: list[dict[str, Any]], message_id: str) -> list[dict[str, Any]]:
        """The entries of response `message_id`: those in `run` and those hanging off them, in file order."""
        members = [entry for entry in run if _message_id(entry) == message_id]
        member_ids = {entry["uuid"] for entry in members}
        queue = list(members)
        while queue:
            for child in self.children.get(queue.pop()["uuid"], []):
                if _message_id(child) == message_id and child["uuid"] not in member_ids:
                    member_ids.add(child["uuid"])
                    members.append(child)
                    queue.append(child)
        members.sort(key=lambda entry: self.order.get(id(entry), 0))
        return members

    def answers(self, members: list[dict[str, Any]], run: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries with the results of the response's tool calls that hang off a member, not
        on the branch (`run` brings those), in file order: as the Claude SDK lists them."""
        in_run = {entry["uuid"] for entry in run}
        member_ids = {entry["uuid"] for entry in members}
        chosen: list[dict[str, Any]] = []
        for member in members:
            for call in _blocks_of(member, "tool_use"):
                candidates = self.answered_by.get(str(call.get("id")), [])
                if any(c["uuid"] in in_run for c in candidates):
                    continue
                picked = [c for c in candidates if c.get("parentUuid") in member_ids]
                if picked:
                    chosen.append(picked[-1])
        chosen.sort(key=lambda entry: self.order.get(id(entry), 0))
        return chosen
