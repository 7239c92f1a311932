"""What the pages show, read from the store: listing pages, a session's view, its fork tree, a branch diff.

`Browser` holds one open store (through `StoreAccess`) and answers the routes' questions. The
plain listing is the store's own `list_page` (a keyset page at any depth); a search or a filter
walks the summaries newest first and stops once it has a page of matches. Nothing here loads a
transcript to list sessions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tether._vocabulary.store import SessionKey, SessionSummaryEntry
from tether.errors import SessionNotFoundError, TetherError
from tether.sessions.capabilities import StoreAccess
from tether.sessions.entries import full_chain
from tether.sessions.helpers import SessionInfo, locate_session, session_info_from_summary
from tether.sessions.lease import LeaseHolder, lease_holder
from tether.ui.render import BranchDiff, Item, branch_diff, transcript_items

__all__ = ["Browser", "ListFilters", "ListPage", "Row", "SessionView", "TreeNode"]

PAGE_SIZE = 50
_SEARCHED = ("title", "first_prompt", "tag", "cwd", "custom_title", "ai_title", "last_prompt", "summary_hint")
"""The summary fields a search looks in."""


@dataclass(frozen=True)
class ListFilters:
    """What the list page asks for: words to find, a tag, a model, forks only."""

    q: str = ""
    tag: str = ""
    model: str = ""
    forks: bool = False

    @property
    def active(self) -> bool:
        return bool(self.q or self.tag or self.model or self.forks)

    def matches(self, data: dict[str, Any]) -> bool:
        """Whether a session's summary passes the filters (the search is case-blind, every word must be found)."""
        if self.tag and data.get("tag") != self.tag:
            return False
        if self.model and self.model.lower() not in str(data.get("model") or "").lower():
            return False
        if self.forks and not isinstance(data.get("forked_from"), dict):
            return False
        if self.q:
            haystack = " ".join(str(data[k]) for k in _SEARCHED if isinstance(data.get(k), str)).lower()
            return all(word in haystack for word in self.q.lower().split())
        return True


@dataclass
class ListPage:
    """One page of the session list, and the cursor of the next (None at the end)."""

    rows: list[Row]
    next_cursor: str | None
    damaged: int = 0
    error: str = ""


@dataclass
class TreeNode:
    """A session in a fork tree, with its forks."""

    session_id: str
    title: str
    fork_point: str
    children: list[TreeNode] = field(default_factory=list)


@dataclass
class SessionView:
    """Everything the session page shows."""

    info: SessionInfo
    key: SessionKey
    items: list[Item]
    leaf: str | None
    damaged: str = ""
    lease: LeaseHolder | None = None
    tree: TreeNode | None = None
    missing_parent: str = ""
    branches: list[TreeNode] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """A session in the list: what the helpers know of it, and the model it last used."""

    info: SessionInfo
    model: str


def _row(item: SessionSummaryEntry) -> Row:
    data = item["data"] if isinstance(item["data"], dict) else {}
    info = session_info_from_summary(item["session_id"], item["mtime"], data, item.get("project_key"))
    return Row(info, str(data.get("model") or ""))


class Browser:
    """The store the browser shows, and the reads its pages make."""

    def __init__(self, access: StoreAccess) -> None:
        self.access = access

    async def list_page(self, filters: ListFilters, cursor: str | None, limit: int = PAGE_SIZE) -> ListPage:
        """A page of sessions newest first: the store's page, or the next `limit` matches of the filters."""
        try:
            if not filters.active:
                page = await self.access.list_page(None, limit=limit, cursor=cursor or None)
                return ListPage([_row(item) for item in page.items], page.next_cursor)
            return await self._search(filters, cursor, limit)
        except TetherError as error:
            return ListPage([], None, error=str(error))

    async def _search(self, filters: ListFilters, cursor: str | None, limit: int) -> ListPage:
        skip = int(cursor[1:]) if cursor and cursor.startswith("m") and cursor[1:].isdigit() else 0
        rows: list[Row] = []
        seen = damaged = 0
        async for item in self.access.summaries(None):
            if not isinstance(item.get("data"), dict):
                damaged += 1
                continue
            if not filters.matches(item["data"]):
                continue
            seen += 1
            if seen <= skip:
                continue
            if len(rows) == limit:
                return ListPage(rows, f"m{skip + limit}", damaged)
            rows.append(_row(item))
        return ListPage(rows, None, damaged)

    async def all_summaries(self) -> AsyncIterator[SessionSummaryEntry]:
        async for item in self.access.summaries(None):
            if isinstance(item.get("data"), dict):
                yield item

    async def session(self, session_id: str) -> SessionView:
        """The session's view; `SessionNotFoundError` for an unknown id. A session whose entries
        cannot be read is shown as damaged, with what could be read."""
        found = await locate_session(self.access, session_id)
        info = session_info_from_summary(found.key["session_id"], found.mtime, found.summary, found.key["project_key"])
        damaged = ""
        entries: list[dict[str, Any]] = []
        try:
            entries = await self.access.load(found.key) or []
            again = await self.access.find(
                found.key["session_id"], found.key["project_key"]
            )  # counts what load skipped
            if again is not None and again.skipped_entries:
                damaged = f"{again.skipped_entries} unreadable entries were skipped"
        except TetherError as error:
            damaged = f"its transcript could not be read: {error}"
        try:
            chain = full_chain(entries)
            items = transcript_items(chain, entries)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            chain, items = [], []
            damaged = f"its transcript could not be put in order: {error!r}"
        if any(item.kind == "damaged" for item in items):
            damaged = damaged or "some entries are damaged (shown as such below)"
        view = SessionView(info, found.key, items, str(chain[-1].get("uuid")) if chain else None, damaged)
        view.lease = await self.lease(found.key)
        await self._fill_tree(view)
        return view

    async def lease(self, key: SessionKey) -> LeaseHolder | None:
        """The live holder of the session's lease (a running turn), None when free or unknown."""
        try:
            return await lease_holder(self.access, key)
        except TetherError:
            return None

    async def _fill_tree(self, view: SessionView) -> None:
        """The fork tree the session belongs to, from the session it descends from."""
        by_id: dict[str, SessionSummaryEntry] = {}
        children: dict[str, list[str]] = {}
        async for item in self.all_summaries():
            by_id[item["session_id"]] = item
            origin = item["data"].get("forked_from")
            if isinstance(origin, dict) and isinstance(origin.get("sessionId"), str):
                children.setdefault(origin["sessionId"], []).append(item["session_id"])
        root = view.info.session_id
        for _ in range(len(by_id)):
            origin = by_id[root]["data"].get("forked_from") if root in by_id else None
            parent = origin.get("sessionId") if isinstance(origin, dict) else None
            if not isinstance(parent, str):
                break
            if parent not in by_id:
                view.missing_parent = parent
                break
            root = parent
        view.tree = _node(root, by_id, children, set())
        view.branches = _flatten(view.tree) if view.tree else []

    async def entries_of(self, session_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A session's full chain and all its entries; `SessionNotFoundError` for an unknown id."""
        found = await locate_session(self.access, session_id)
        entries = await self.access.load(found.key)
        if entries is None:
            raise SessionNotFoundError(session_id)
        return full_chain(entries), entries

    async def diff(self, left: str, right: str) -> BranchDiff:
        """Two sessions compared from their fork point."""
        left_chain, left_entries = await self.entries_of(left)
        right_chain, right_entries = await self.entries_of(right)
        return branch_diff(left_chain, left_entries, right_chain, right_entries)


def _node(
    session_id: str, by_id: dict[str, SessionSummaryEntry], children: dict[str, list[str]], seen: set[str]
) -> TreeNode:
    seen.add(session_id)
    data = by_id[session_id]["data"] if session_id in by_id else {}
    origin = data.get("forked_from") if isinstance(data.get("forked_from"), dict) else {}
    title = str(data.get("title") or data.get("first_prompt") or session_id[:8])
    node = TreeNode(session_id, title, str(origin.get("messageUuid") or "") if origin else "")
    kids = sorted(children.get(session_id, []), key=lambda k: by_id[k]["mtime"])
    node.children = [_node(kid, by_id, children, seen) for kid in kids if kid not in seen]
    return node


def _flatten(node: TreeNode) -> list[TreeNode]:
    return [node, *(n for child in node.children for n in _flatten(child))]
