"""What the SQL stores (SQLite, PostgreSQL) share: listing, from one query builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether._vocabulary.store import SessionStoreListEntry, SessionSummaryEntry
from tether.sessions.store import SessionPage
from tether.sessions.stores._core import GuardedStore, guarded
from tether.sessions.stores._listing import decode_cursor, encode_cursor, listed, listed_sessions, row_summary

__all__ = ["POSTGRES", "SQLITE", "Dialect", "RowListing", "listing_query"]


@dataclass(frozen=True)
class Dialect:
    """How a SQL store's queries differ: the parameter placeholder and the test of a live row."""

    param: str
    live: str


SQLITE = Dialect(param="?", live="deleted = 0")
POSTGRES = Dialect(param="%s", live="NOT deleted")


def listing_query(
    dialect: Dialect, columns: str, scope: str, project_key: str | None, after: int | None, limit: int | None
) -> tuple[str, list[Any]]:
    """The query (and its parameters) behind `RowListing._listing`: the live main sessions of `scope`
    (of `project_key` unless None), newest first, `seq < after` when `after` is set, at most `limit`."""
    p = dialect.param
    where = [f"scope = {p}", dialect.live, "subpath = ''"]
    params: list[Any] = [scope]
    if project_key is not None:
        where.append(f"project_key = {p}")
        params.append(project_key)
    if after is not None:
        where.append(f"seq < {p}")
        params.append(after)
    sql = f"SELECT {columns} FROM tether_sessions WHERE {' AND '.join(where)} ORDER BY seq DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


class RowListing(GuardedStore):
    """Listing for stores that keep sessions as rows: subclasses implement `_listing` only.

    `_listing(project_key, after, limit, columns)` returns the rows of `listing_query` (live main
    sessions of the store's scope, newest first), selecting `columns` from `session_id, mtime,
    summary, project_key, seq`.
    """

    async def _listing(self, project_key: str | None, after: int | None, limit: int | None, columns: str) -> list[Any]:
        raise NotImplementedError

    @guarded("list_sessions")
    async def list_sessions(self, project_key: str) -> list[SessionStoreListEntry]:
        """Every session of the project, newest first."""
        rows = await self._listing(project_key, None, None, "session_id, mtime")
        return listed_sessions(self, rows)

    @guarded("list_session_summaries")
    async def list_session_summaries(self, project_key: str) -> list[SessionSummaryEntry]:
        """Every session's summary in the project, newest first."""
        rows = await self._listing(project_key, None, None, "session_id, mtime, summary, project_key")
        return listed(self, rows, row_summary)

    @guarded("list_page")
    async def list_page(
        self, project_key: str | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> SessionPage:
        """Sessions newest first (all projects when `project_key` is None), `limit` at a time."""
        limit = max(1, int(limit))
        after = decode_cursor(cursor) if cursor else None
        rows = await self._listing(project_key, after, limit + 1, "session_id, mtime, summary, project_key, seq")
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1][4]) if len(rows) > limit else None
        return SessionPage(items=listed(self, page, row_summary), next_cursor=next_cursor)
