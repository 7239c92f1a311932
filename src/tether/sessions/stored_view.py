"""A resume read from the stored JSON: only what the active chain needs is decoded.

`load` decodes every entry of a session into dicts (the store contract). A resume needs less: the
links of every entry (uuid, parent, type, whether it is on the main chain), the metadata entries
whole, and the messages of the active chain. `read_active` decodes each stored text into a small
struct holding the links and the message content as raw JSON (msgspec skips the rest without
building it), walks the active chain over those, and decodes the content of the chain's messages
only: what a compaction left behind, and the envelope fields (`cwd`, `version`, `timestamp`, usage,
...), stay bytes.

It gives what `active_chain` gives, or None where it would differ or cannot tell: an assistant
response written as several entries (Claude Code's split responses), a compaction segment to
relink, a damaged text (`load` skips and logs those), a stored leaf that disagrees with the
entries (`load` repairs it). The caller then loads as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from tether.sessions.entries import MAX_CONTENT_DEPTH, preserved_segment
from tether.sessions.store import StoredTexts
from tether.sessions.stores._core import decode_entries

__all__ = ["ActiveView", "read_active", "read_chain_page"]

_MESSAGE_TYPES = frozenset({"user", "assistant"})
_ABSENT = msgspec.Raw()


class _Message(msgspec.Struct, gc=False):
    id: Any = None
    content: msgspec.Raw = _ABSENT


class _Head(msgspec.Struct, gc=False):
    """What the chain walk reads of an entry; the message content stays raw JSON."""

    type: Any = None
    uuid: Any = None
    parentUuid: Any = None  # the stored fields' names
    isSidechain: Any = None
    teamName: Any = None
    isMeta: Any = None
    sessionId: Any = None
    message: _Message | None = None


_HEADS = msgspec.json.Decoder(_Head)
_VALUES = msgspec.json.Decoder()


@dataclass
class ActiveView:
    """A session read for a resume: its active chain (entries as dicts whose `message` holds only
    `id` and `content`), its leaf, and the entries outside the chain walk (metadata, system), whole."""

    chain: list[dict[str, Any]]
    leaf: str | None
    whole: list[dict[str, Any]]
    clean: set[int]
    """`id()`s of chain contents known to be sendable JSON (`history.history_of`'s `clean`): decoded by
    msgspec (string keys, finite numbers) from JSON with fewer brackets than `MAX_CONTENT_DEPTH`."""


class _Unsure(Exception):
    """The stored view needs `load` and `active_chain` (see the module's docstring)."""


def read_active(stored: StoredTexts, at_uuid: str | None = None) -> ActiveView | None:
    """The active chain of a stored view up to `at_uuid` (else its newest message), or None when
    `load` and `active_chain` must do it."""
    walked = _walk(stored)
    if walked is None:
        return None
    items, walk = walked
    start = walk.default_leaf() if at_uuid is None else at_uuid
    if at_uuid is not None and at_uuid not in walk.by_uuid:
        return None  # `load`'s path names the missing entry
    clean: set[int] = set()
    try:
        chain = [_as_entry(items[at], clean) for at in walk.chain(start)]
    except _Unsure:
        return None
    return ActiveView(chain, walk.leaf, [item for item in items if type(item) is dict], clean)


def read_chain_page(stored: StoredTexts, limit: int | None, offset: int) -> list[dict[str, Any]] | None:
    """The main-chain messages of the active chain (`get_session_messages`'s list), sliced by
    `offset` and `limit`, each entry decoded whole; the others are not. None where `load` and
    `active_chain` must do it (as `read_active`)."""
    walked = _walk(stored)
    if walked is None:
        return None
    items, walk = walked
    listed = [at for at in walk.chain(walk.default_leaf()) if _listed(items[at])]
    page = listed[offset:] if limit is None else listed[offset : offset + limit]
    entries, skipped = decode_entries([stored.texts[at] for at in page])
    return None if skipped else entries


def _walk(stored: StoredTexts) -> tuple[list[_Head | dict[str, Any]], _Walk] | None:
    """The items of the stored texts and their walk, or None where `load` and `active_chain` must
    read the view (a damaged text, a stored leaf to repair, split responses, a segment to relink)."""
    try:
        items = [_item(text) for text in stored.texts]
        walk = _Walk(items)
    except _Unsure:
        return None
    if walk.leaf != stored.leaf or walk.split or walk.relinks():
        return None
    return items, walk


def _listed(item: _Head | dict[str, Any]) -> bool:
    """Whether a chain item is one of the session's messages (`helpers.chain_messages`): a main-chain
    user or assistant entry with a message, not a meta one."""
    if type(item) is dict:
        kind, message = item.get("type"), item.get("message")
        if kind not in _MESSAGE_TYPES or not isinstance(message, dict):
            return False
        return not (item.get("isMeta") or item.get("isSidechain") or item.get("teamName"))
    assert isinstance(item, _Head)
    return item.message is not None and not (item.isMeta or item.isSidechain or item.teamName)


def _item(text: str | bytes) -> _Head | dict[str, Any]:
    """A message entry's head, or any other entry whole."""
    try:
        head = _HEADS.decode(text)
    except msgspec.DecodeError:
        raise _Unsure from None
    uuid = head.uuid
    if type(uuid) is str and uuid and head.type in _MESSAGE_TYPES:
        return head
    if uuid is not None and type(uuid) is not str:
        raise _Unsure
    try:
        entry = _VALUES.decode(text)
    except msgspec.DecodeError:
        raise _Unsure from None
    if type(entry) is not dict:
        raise _Unsure
    return entry


def _as_entry(item: _Head | dict[str, Any], clean: set[int]) -> dict[str, Any]:
    if type(item) is dict:
        return item
    assert isinstance(item, _Head)
    entry: dict[str, Any] = {
        "type": item.type,
        "uuid": item.uuid,
        "parentUuid": item.parentUuid,
        "isSidechain": item.isSidechain,
        "sessionId": item.sessionId,
    }
    message = item.message
    if message is not None:
        if message.content is _ABSENT or not len(message.content):
            entry["message"] = {"id": message.id}
        else:
            try:
                content = _VALUES.decode(message.content)
            except msgspec.DecodeError:
                raise _Unsure from None
            entry["message"] = {"id": message.id, "content": content}
            if _shallow(message.content):
                clean.add(id(content))
    return entry


def _shallow(raw: msgspec.Raw) -> bool:
    """Whether JSON nests fewer than `MAX_CONTENT_DEPTH` levels, as its length or its count of
    brackets bounds it (each level takes two characters, and a bracket)."""
    if len(raw) < 2 * MAX_CONTENT_DEPTH:
        return True
    data = bytes(raw)
    return data.count(b"[") + data.count(b"{") < MAX_CONTENT_DEPTH


class _Walk:
    """One pass over the items: uuids, the leaf, the default leaf's candidates, split responses."""

    def __init__(self, items: list[_Head | dict[str, Any]]) -> None:
        self.by_uuid: dict[str, int] = {}
        """Each uuid's position among the items (the last one holding it)."""
        self._items = items
        self.leaf: str | None = None
        self.split = False
        self.boundaries: list[dict[str, Any]] = []
        self._any_leaf: str | None = None
        self._message_leaf: tuple[int, str] | None = None
        self._prompt_leaf: tuple[int, str] | None = None
        message_ids: set[str] = set()
        for position, item in enumerate(items):
            if type(item) is dict:
                message_id = self._whole(position, item)
            else:
                assert isinstance(item, _Head)
                message_id = self._head(position, item)
            if message_id is not None:
                self.split = self.split or message_id in message_ids
                message_ids.add(message_id)

    def _head(self, position: int, head: _Head) -> str | None:
        uuid: str = head.uuid
        self.by_uuid[uuid] = position
        if not head.isSidechain:
            self.leaf = uuid
            if not head.teamName:
                self._any_leaf = uuid
                if not head.isMeta:
                    self._message_leaf = (position, uuid)
        message = head.message
        if head.type == "assistant" and message is not None and type(message.id) is str and message.id:
            return message.id
        return None

    def _whole(self, position: int, entry: dict[str, Any]) -> str | None:
        uuid = entry.get("uuid")
        if uuid:
            self.by_uuid[uuid] = position
            if not entry.get("isSidechain"):
                self.leaf = uuid
        if uuid and not entry.get("isSidechain") and not entry.get("teamName"):
            self._any_leaf = uuid
            if entry.get("type") in _MESSAGE_TYPES and not entry.get("isMeta"):
                self._message_leaf = (position, uuid)
        elif entry.get("type") == "last-prompt" and isinstance(entry.get("leafUuid"), str):
            self._prompt_leaf = (position, entry["leafUuid"])
        if entry.get("type") == "system":
            self.boundaries.append(entry)
        message = entry.get("message")
        if entry.get("type") == "assistant" and isinstance(message, dict):
            message_id = message.get("id")
            return message_id if isinstance(message_id, str) and message_id else None
        return None

    def relinks(self) -> bool:
        """Whether a compaction's preserved segment must be moved (`active_chain`'s relinking)."""
        for boundary in self.boundaries:
            segment = preserved_segment(boundary, self.by_uuid)
            if segment is not None and _parent(self._items[self.by_uuid[segment[0]]]) != segment[1]:
                return True
        return False

    def default_leaf(self) -> str | None:
        """`active_chain`'s default leaf: the newest main-chain message, or a later `last-prompt.leafUuid`."""
        message_position, message_leaf = self._message_leaf or (-1, None)
        prompt = self._prompt_leaf
        if prompt is not None and prompt[0] > message_position and prompt[1] in self.by_uuid:
            return prompt[1]
        return message_leaf or self._any_leaf

    def chain(self, leaf: str | None) -> list[int]:
        """The positions of the items from the root to `leaf`, following the parents."""
        chain: list[int] = []
        seen: set[str] = set()
        current = leaf
        by_uuid, items = self.by_uuid, self._items
        while current and current in by_uuid and current not in seen:
            seen.add(current)
            position = by_uuid[current]
            chain.append(position)
            current = _parent(items[position])
        chain.reverse()
        return chain


def _parent(item: _Head | dict[str, Any]) -> Any:
    return item.get("parentUuid") if type(item) is dict else item.parentUuid  # type: ignore[union-attr]
