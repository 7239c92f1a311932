"""Claude Code transcripts read and forked as the Claude Agent SDK does.

- `listing_facts(head, tail)`: what a listing shows of a transcript, from the entries of its
  first and last 64 KiB, by the SDK's rules: the title is the last `customTitle`, else the last
  `aiTitle`; the display summary falls back to the last `lastPrompt`, a legacy `summary`, then the
  first prompt (the first typed user text, no tool results, meta or compaction summaries, slash
  commands and hook or IDE chatter skipped; a command's name is the last resort); the git branch
  is the last one of the tail (else the head's first); `cwd` and the creation time are the head's
  first (whatever the entry, with or without a uuid); the tag is the tail's last `tag` entry. A
  transcript that starts with a sidechain entry (a subagent's) or has nothing to show is not
  listed (`is_listed`).
- `sdk_fork(entries, ...)`: the entries of the file the SDK's `fork_session` writes.

Keys are those of the SDK's store summaries (`custom_title`, `ai_title`, `last_prompt`,
`summary_hint`, `is_sidechain`, ...), so one reader (`session_info_from_summary`) shows both.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tether._vocabulary.store import SessionStoreEntry
from tether.errors import ConfigurationError, EntryNotFoundError
from tether.sessions.entries import new_uuid, now_iso
from tether.sessions.summary import epoch_ms

__all__ = ["CHAIN_TYPES", "copy_for_fork", "first_prompt_in", "is_listed", "listing_facts", "sdk_fork"]

CHAIN_TYPES = frozenset({"user", "assistant", "attachment", "system", "progress"})
"""Entry types that link the conversation by `uuid` and `parentUuid`."""

_PROMPT_LIMIT = 200
_COMMAND_NAME = re.compile(r"<command-name>(.*?)</command-name>")
_NOT_A_PROMPT = re.compile(
    r"^(?:<local-command-stdout>|<session-start-hook>|<tick>|<goal>|\[Request interrupted by user[^\]]*\]"
    r"|\s*<ide_opened_file>[\s\S]*</ide_opened_file>\s*$|\s*<ide_selection>[\s\S]*</ide_selection>\s*$)"
)
_DROPPED_ON_FORK = ("teamName", "agentName", "slug", "sourceToolAssistantUUID")


def _texts(entry: dict[str, Any]) -> list[str]:
    """The typed texts of a user entry that is a prompt (not a tool result, meta or compaction summary)."""
    if entry.get("type") != "user" or entry.get("isMeta") is True or entry.get("isCompactSummary") is True:
        return []
    message = entry.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    if any(isinstance(block, dict) and block.get("type") == "tool_result" for block in content):
        return []
    return [
        b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]


def first_prompt_in(entries: list[dict[str, Any]]) -> str | None:
    """The first prompt a person typed, on one line, cut to 200 characters with an ellipsis.

    Slash commands and generated texts are skipped; the first command's name is the fallback.
    """
    command = ""
    for entry in entries:
        for raw in _texts(entry):
            text = raw.replace("\n", " ").strip()
            if not text:
                continue
            named = _COMMAND_NAME.search(text)
            if named:
                command = command or named.group(1)
                continue
            if _NOT_A_PROMPT.match(text):
                continue
            return text if len(text) <= _PROMPT_LIMIT else text[:_PROMPT_LIMIT].rstrip() + "\u2026"
    return command or None


def _last(entries: list[dict[str, Any]], field: str, kind: str | None = None) -> str | None:
    for entry in reversed(entries):
        value = entry.get(field)
        if isinstance(value, str) and value and (kind is None or entry.get("type") == kind):
            return value
    return None


def _first(entries: list[dict[str, Any]], field: str) -> str | None:
    return next((e[field] for e in entries if isinstance(e.get(field), str) and e[field]), None)


def listing_facts(head: list[dict[str, Any]], tail: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary fields of a transcript from the entries of its head and tail (see the module doc)."""
    custom = _last(tail, "customTitle") or _last(head, "customTitle")
    ai_title = _last(tail, "aiTitle") or _last(head, "aiTitle")
    title = custom or ai_title
    hint = _last(tail, "summary", "summary")
    tag_entry = next((e for e in reversed(tail) if e.get("type") == "tag"), None)
    tag = tag_entry.get("tag") if tag_entry is not None else None
    stamp = _first(head, "timestamp")
    facts: dict[str, Any] = {
        "title": title or hint,
        "custom_title": title,
        "ai_title": ai_title,
        "first_prompt": first_prompt_in(head),
        "first_prompt_locked": True,
        "last_prompt": _last(tail, "lastPrompt"),
        "summary_hint": hint,
        "git_branch": _last(tail, "gitBranch") or _first(head, "gitBranch"),
        "cwd": _first(head, "cwd"),
        "tag": tag if isinstance(tag, str) and tag else None,
        "created_at": epoch_ms(stamp) if stamp else None,
        "is_sidechain": bool(head) and head[0].get("isSidechain") is True,
    }
    return {name: value for name, value in facts.items() if value is not None}


def is_listed(summary: dict[str, Any]) -> bool:
    """Whether a listing shows the session: not a subagent's transcript, and something to show."""
    if summary.get("is_sidechain") is True:
        return False
    return any(summary.get(name) for name in ("title", "last_prompt", "summary_hint", "first_prompt"))


def _fork_title(entries: list[dict[str, Any]], title: str | None) -> str:
    if title and title.strip():
        return title.strip()
    derived = _last(entries, "customTitle") or _last(entries, "aiTitle") or first_prompt_in(entries)
    return f"{derived or 'Forked session'} (fork)"


def sdk_fork(
    entries: list[dict[str, Any]],
    source_session_id: str,
    new_session_id: str,
    up_to_uuid: str | None = None,
    title: str | None = None,
) -> list[dict[str, Any]]:
    """The entries of the file the Claude Agent SDK's `fork_session` writes for a transcript.

    The chain entries (sidechains left out), cut after the first entry `up_to_uuid` (inclusive),
    without `progress` entries (their children re-parented through them); every uuid is new,
    `parentUuid` and `logicalParentUuid` follow, `sessionId` is the fork's, each entry records
    `forkedFrom: {sessionId, messageUuid}`, and `teamName`, `agentName`, `slug` and
    `sourceToolAssistantUUID` are dropped; the last entry is stamped now. Then the source's
    `content-replacement` records and a `custom-title` entry (`title`, else the source's title or
    first prompt followed by " (fork)"). `EntryNotFoundError` for an unknown `up_to_uuid`,
    `ConfigurationError` when there is nothing to fork (both `ValueError`s where the SDK raises one).
    """
    chain = [
        e
        for e in entries
        if e.get("type") in CHAIN_TYPES and isinstance(e.get("uuid"), str) and not e.get("isSidechain")
    ]
    if up_to_uuid is not None:
        cut = next((i for i, entry in enumerate(chain) if entry["uuid"] == up_to_uuid), None)
        if cut is None:
            raise EntryNotFoundError(source_session_id, up_to_uuid)
        chain = chain[: cut + 1]
    by_uuid = {entry["uuid"]: entry for entry in chain}
    mapping = {uuid: new_uuid() for uuid in by_uuid}

    def parent_of(entry: dict[str, Any]) -> str | None:
        parent, hops = entry.get("parentUuid"), 0
        while isinstance(parent, str) and parent in by_uuid and hops <= len(by_uuid):
            if by_uuid[parent].get("type") != "progress":
                return mapping[parent]
            parent, hops = by_uuid[parent].get("parentUuid"), hops + 1
        return None

    now = now_iso()
    kept = [entry for entry in chain if entry.get("type") != "progress"]
    if not kept:
        raise ConfigurationError(f"session {source_session_id!r} has no messages to fork")
    forked: list[dict[str, Any]] = []
    for index, entry in enumerate(kept):
        logical = entry.get("logicalParentUuid")
        out = {key: value for key, value in entry.items() if key not in _DROPPED_ON_FORK}
        out.update(
            uuid=mapping[entry["uuid"]],
            parentUuid=parent_of(entry),
            logicalParentUuid=mapping.get(logical) if isinstance(logical, str) else logical,
            sessionId=new_session_id,
            timestamp=now if index == len(kept) - 1 else entry.get("timestamp", now),
            isSidechain=False,
            forkedFrom={"sessionId": source_session_id, "messageUuid": entry["uuid"]},
        )
        forked.append(out)
    replacements = [
        item
        for e in entries
        if e.get("type") == "content-replacement"
        and e.get("sessionId") == source_session_id
        and isinstance(e.get("replacements"), list)
        for item in e["replacements"]
    ]
    stamp = {"sessionId": new_session_id, "uuid": new_uuid(), "timestamp": now}
    if replacements:
        forked.append({"type": "content-replacement", **stamp, "replacements": replacements, "uuid": new_uuid()})
    forked.append({"type": "custom-title", **stamp, "customTitle": _fork_title(entries, title), "uuid": new_uuid()})
    return forked


def _remap_compaction(meta: Any, mapping: dict[str, str]) -> Any:
    if not isinstance(meta, dict):
        return meta
    meta = copy.deepcopy(meta)
    for name in ("preservedSegment", "preserved_segment", "preservedMessages", "preserved_messages"):
        part = meta.get(name)
        if not isinstance(part, dict):
            continue
        for field, value in list(part.items()):
            if isinstance(value, str) and value in mapping:
                part[field] = mapping[value]
            elif isinstance(value, list):
                part[field] = [mapping.get(v, v) if isinstance(v, str) else v for v in value]
    return meta


def copy_for_fork(
    entries: list[SessionStoreEntry], source_session_id: str, new_session_id: str, up_to_uuid: str | None = None
) -> list[SessionStoreEntry]:
    """The entries of a forked copy, as the Claude Agent SDK's `fork_session` writes them.

    Cut after `up_to_uuid` (inclusive, in file order); sidechain and `progress` entries are
    dropped (children of a progress entry are re-parented through it); every uuid is replaced by
    a fresh one, references to it follow, `sessionId` becomes the new id, and each copied chain
    entry records `forkedFrom: {sessionId, messageUuid}` with its original uuid.
    """
    if up_to_uuid is not None:
        positions = [i for i, entry in enumerate(entries) if entry.get("uuid") == up_to_uuid]
        if not positions:
            raise EntryNotFoundError(source_session_id, up_to_uuid)
        entries = entries[: positions[-1] + 1]
    skipped = {e["uuid"]: e.get("parentUuid") for e in entries if e.get("uuid") and e.get("type") == "progress"}
    mapping = {
        e["uuid"]: new_uuid()
        for e in entries
        if e.get("uuid") and not e.get("isSidechain") and e.get("type") != "progress"
    }

    def remap(reference: Any) -> Any:
        hops = 0
        while isinstance(reference, str) and reference in skipped and hops <= len(skipped):
            reference, hops = skipped[reference], hops + 1
        return mapping.get(reference) if isinstance(reference, str) else reference

    copied: list[SessionStoreEntry] = []
    for entry in entries:
        if entry.get("isSidechain") or entry.get("type") == "progress":
            continue
        out = {k: v for k, v in entry.items() if k not in _DROPPED_ON_FORK}
        if "sessionId" in out:
            out["sessionId"] = new_session_id
        for field in ("parentUuid", "logicalParentUuid", "leafUuid"):
            if field in out:
                out[field] = remap(out[field])
        if isinstance(out.get("messageId"), str) and out["messageId"] in mapping:
            out["messageId"] = mapping[out["messageId"]]
        if "compactMetadata" in out:
            out["compactMetadata"] = _remap_compaction(out["compactMetadata"], mapping)
        uuid = entry.get("uuid")
        if uuid:
            out["uuid"] = mapping[uuid]
            out["isSidechain"] = False
            out["forkedFrom"] = {"sessionId": source_session_id, "messageUuid": uuid}
        copied.append(out)
    return copied
