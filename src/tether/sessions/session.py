"""`Session`: the runtime's handle on one open session.

It knows where the session lives, its history (the active chain as API messages), the uuid the
next entry hangs from, and the leaf the store must still have when we write (optimistic
concurrency). Every entry goes through `append`, which writes it to the store before returning:
the agent loop yields a message only after that.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from tether._vocabulary.store import SessionKey, SessionStore
from tether.errors import (
    ConfigurationError,
    EntryNotFoundError,
    ResumeRejectedError,
    SessionExistsError,
    SessionNotFoundError,
)
from tether.sessions.capabilities import StoreAccess, store_access
from tether.sessions.entries import (
    active_chain,
    leaf_of,
    make_entry,
    make_meta_entry,
    new_uuid,
)
from tether.sessions.history import history_of
from tether.sessions.keys import project_key_for_directory, validate_session_id
from tether.sessions.store import NO_LEAF
from tether.sessions.store_capabilities import StoreDeadline
from tether.sessions.stored_view import read_active
from tether.sessions.summary import first_prompt_of

__all__ = ["INTERRUPTED_TOOL_RESULT", "EntryLedger", "Session", "SessionOrigin"]

INTERRUPTED_TOOL_RESULT = "The tool call was interrupted before it returned a result; it may or may not have run."


class EntryLedger(Protocol):
    """Gives the entries of a replayed durable turn their ids (`tether.durable`)."""

    def unwritten(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stamp `entries` with deterministic uuids (in place); return those the store lacks."""
        ...


@dataclass
class SessionOrigin:
    """How a session was opened: `startup`, `resume` or `fork` (and from where)."""

    source: str
    forked_from: dict[str, Any] | None = None


@dataclass
class Session:
    """An open session. Create with `start`, `resume` or `fork`."""

    store: SessionStore | None
    """None when nothing is persisted (`persist_session=False`)."""
    key: SessionKey
    """Where the session lives: its project (not always the one of `cwd`, for a resumed session) and id."""
    cwd: str
    origin: SessionOrigin
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The history as Anthropic API messages, kept in step with every append."""
    parent_uuid: str | None = None
    """The uuid the next chain entry hangs from."""
    expected_leaf: str = NO_LEAF
    """The store's leaf as of our last read or write."""
    totals: dict[str, Any] = field(default_factory=dict)
    """The latest `cost-state` of the session: cumulative cost, usage and per-model usage."""
    state: dict[str, Any] = field(default_factory=dict)
    """Process-local state shared by the tools of this session."""
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The newest metadata entry of each type (`system-prompt`, `cost-state`, ...), as loaded or started."""
    deadline: StoreDeadline | None = field(default=None, repr=False)
    """How long the session's store calls may take (a run's; None: the store's default)."""
    access: StoreAccess | None = field(default=None, init=False, repr=False)
    """The store through its capability layer (None when nothing is persisted)."""
    branch_at: str | None = field(default=None, init=False, repr=False)
    """The uuid a resume at a message branches from, until the branch's first entry is written."""
    ledger: EntryLedger | None = field(default=None, init=False, repr=False)
    """Set by a durable turn: entries get deterministic uuids and one already stored is not written again."""
    _unanswered: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.access = _access(self.store, self.deadline) if self.store is not None else None

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.key["session_id"]

    @property
    def project_key(self) -> str:
        """The project the session lives in."""
        return self.key["project_key"]

    @classmethod
    async def start(
        cls,
        store: SessionStore | None,
        *,
        cwd: str,
        session_id: str | None = None,
        permission_mode: str = "default",
        metadata: Mapping[str, Mapping[str, Any]] | None = None,
        deadline: StoreDeadline | None = None,
        project_key: str | None = None,
    ) -> Session:
        """Create a new session in the project of `cwd`, recorded in the store at once so its id can be resumed.

        A chosen `session_id` that the project already holds raises `SessionExistsError`.
        `metadata` maps entry types to fields: one metadata entry each, written with the first.
        `project_key`: that of `cwd`, when the caller has worked it out (else it is, from `cwd`).
        """
        new_id = validate_session_id(session_id) if session_id else new_uuid()
        key = SessionKey(project_key=project_key or project_key_for_directory(cwd), session_id=new_id)
        session = cls(store=store, key=key, cwd=cwd, origin=SessionOrigin("startup"), deadline=deadline)
        entries = [make_meta_entry("permission-mode", session_id=new_id, permissionMode=permission_mode)]
        entries += [make_meta_entry(kind, session_id=new_id, **fields) for kind, fields in (metadata or {}).items()]
        session.meta = {entry["type"]: entry for entry in entries}
        if session.access is not None:
            if session_id and await session.access.exists(key):
                raise SessionExistsError(new_id)
            await session.access.append(key, entries, expected_leaf=NO_LEAF)
        return session

    @classmethod
    async def resume(
        cls,
        store: SessionStore,
        session_id: str,
        *,
        cwd: str,
        at_uuid: str | None = None,
        persist: bool = True,
        close_unanswered: bool = True,
        drops_turn: str | None = None,
        deadline: StoreDeadline | None = None,
    ) -> Session:
        """Open an existing session to continue it (from `at_uuid` on a new branch, if given).

        The session of the project of `cwd` when it holds one, else the most recently updated
        session with this id in any project (when the store can `find`). Tool calls left
        unanswered get an error result now, or with `close_unanswered=False` at `catch_up()`
        (the agent does that once it holds the session's lease, so a live turn's calls stay open).
        `drops_turn` (with `at_uuid`): refuse unless what follows `at_uuid` is that prompt's turn.
        """
        access = _access(store, deadline)
        found = await access.locate(validate_session_id(session_id), project_key_for_directory(cwd))
        origin = SessionOrigin("resume")
        session = cls(store=store if persist else None, key=found.key, cwd=cwd, origin=origin, deadline=deadline)
        stored = await access.load_texts(found.key) if drops_turn is None else None
        view = read_active(stored, at_uuid) if stored is not None else None
        if view is not None:  # the chain's messages decoded, the rest left as stored
            session._take(view.leaf, view.chain, view.whole, clean=view.clean)
        else:
            entries = await access.load(found.key)
            if entries is None:
                raise SessionNotFoundError(session_id)
            if drops_turn is not None:
                check_dropped_turn(found.key["session_id"], entries, at_uuid, drops_turn)
            session._adopt(entries, at_uuid)
        session.branch_at = at_uuid
        if close_unanswered:
            await session.close_unanswered()
        return session

    @classmethod
    async def fork(
        cls,
        store: SessionStore,
        source_id: str,
        *,
        cwd: str,
        new_session_id: str | None = None,
        at_uuid: str | None = None,
        persist: bool = True,
        drops_turn: str | None = None,
        deadline: StoreDeadline | None = None,
    ) -> Session:
        """Branch a new session (in the project of `cwd`) off `source_id` (at `at_uuid`, else at its leaf).

        The source is found as `resume` finds it and stays untouched. Copy-on-write where the
        store can fork, else a copy.
        """
        access = _access(store, deadline)
        project_key = project_key_for_directory(cwd)
        source = await access.locate(validate_session_id(source_id), project_key)
        if drops_turn is not None:
            check_dropped_turn(source_id, await access.load(source.key) or [], at_uuid, drops_turn)
        new_id = validate_session_id(new_session_id) if new_session_id else new_uuid()
        key = SessionKey(project_key=project_key, session_id=new_id)
        if not persist:
            entries = await access.load(source.key) or []
            origin = SessionOrigin("fork", {"sessionId": source_id, "messageUuid": at_uuid or leaf_of(entries)})
            session = cls(store=None, key=key, cwd=cwd, origin=origin)
            session._adopt(entries, at_uuid)
            await session.close_unanswered()
            return session
        forked = await access.fork(source.key, key, at_uuid)
        session = cls(store=store, key=key, cwd=cwd, origin=SessionOrigin("fork", forked.origin), deadline=deadline)
        session._adopt(forked.entries, None)
        await session.close_unanswered()
        return session

    async def reload(self) -> None:
        """Read the session back from the store (after a cut: a write in flight may or may not have
        landed): history and leaf; tool calls left unanswered get an error result."""
        if self.access is None:
            return
        entries = await self.access.load(self.key)
        if entries is None:
            raise SessionNotFoundError(self.session_id)
        self._adopt(entries, None, totals=False)
        await self.close_unanswered()

    async def catch_up(self, *, reread: bool = False) -> None:
        """Before a turn, holding the session's lease: close the tool calls left unanswered (by a
        turn that died: a live one would still hold the lease). With `reread` (the turn waited for
        another process's), first take in what was written since the session was read; otherwise
        such writes make the turn's first write fail with `SessionConflictError`."""
        if reread and self.access is not None:
            entries = await self.access.load(self.key)
            if entries is None:
                raise SessionNotFoundError(self.session_id)
            self._adopt(entries, self.branch_at)
        await self.close_unanswered()

    def _adopt(self, entries: list[dict[str, Any]], at_uuid: str | None, *, totals: bool = True) -> None:
        """Take over loaded entries: history, leaf, totals, metadata (tool calls left unanswered
        are closed by `close_unanswered`)."""
        self.expected_leaf = leaf_of(entries) or NO_LEAF
        if at_uuid is not None and not any(e.get("uuid") == at_uuid for e in entries):
            raise EntryNotFoundError(self.session_id, at_uuid)
        self._take(self.expected_leaf, active_chain(entries, at_uuid), entries, totals=totals)

    def _take(
        self,
        leaf: str | None,
        chain: list[dict[str, Any]],
        entries: list[dict[str, Any]],
        *,
        totals: bool = True,
        clean: Container[int] = (),
    ) -> None:
        """Take over a read session: its leaf, its active chain and (among `entries`) its metadata."""
        self.expected_leaf = leaf or NO_LEAF
        self.parent_uuid = chain[-1]["uuid"] if chain else None
        self.messages, self._unanswered = history_of(chain, clean)
        self.meta = {e["type"]: e for e in entries if not e.get("uuid") and isinstance(e.get("type"), str)}
        if totals:
            self.totals = _latest_totals(entries) or self.totals

    def rewind(self, entries: list[dict[str, Any]], at_uuid: str | None) -> None:
        """Hold the history as of `at_uuid` (None: before the first chain entry) while the store's
        leaf stays the one to write after: a durable turn replayed from its start (`ledger` set)."""
        chain = active_chain(entries, at_uuid) if at_uuid is not None else []
        self.parent_uuid = chain[-1]["uuid"] if chain else None
        self.messages, self._unanswered = history_of(chain)
        self.expected_leaf = leaf_of(entries) or NO_LEAF
        self.branch_at = at_uuid

    async def close_unanswered(self) -> None:
        """Give each tool call the history leaves unanswered an error result (it may or may not have run)."""
        pending, self._unanswered = self._unanswered, []
        if pending:
            results = [
                {
                    "type": "tool_result",
                    "tool_use_id": block.get("id"),
                    "content": INTERRUPTED_TOOL_RESULT,
                    "is_error": True,
                }
                for block in pending
            ]
            await self.append_message("user", {"role": "user", "content": results})

    async def append_message(self, kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Write a chain entry holding an API message; returns the entry once it is stored."""
        entry = make_entry(
            kind, message, session_id=self.session_id, parent_uuid=self.parent_uuid, cwd=self.cwd, **extra
        )
        await self.append_entries([entry])
        return entry

    async def append_entries(self, entries: list[dict[str, Any]]) -> None:
        """Write entries (chain or metadata) and update the history; raises on a conflicting writer."""
        unwritten = entries if self.ledger is None else self.ledger.unwritten(entries)
        if self.access is not None and unwritten:
            await self.access.append(self.key, unwritten, expected_leaf=self.expected_leaf)
        for entry in entries:
            uuid = entry.get("uuid")
            if not uuid:
                continue
            self.parent_uuid = self.expected_leaf = uuid
            self.branch_at = None
            message = entry.get("message")
            if entry.get("type") in ("user", "assistant") and isinstance(message, dict):
                _extend_history(self.messages, entry["type"], message)


def _access(store: SessionStore, deadline: StoreDeadline | None) -> StoreAccess:
    access = store_access(store)
    return access if deadline is None else access.bounded(deadline)


def check_dropped_turn(session_id: str, entries: list[dict[str, Any]], at_uuid: str | None, drops_turn: str) -> None:
    """`resume_drops_turn`: `ResumeRejectedError` unless every entry of the session's current
    branch after `at_uuid` belongs to the turn of the prompt `drops_turn` (it comes first, and no
    other prompt, such as one queued mid-turn, follows)."""
    if at_uuid is None:
        raise ConfigurationError("resume_drops_turn needs resume_session_at (the point the resume truncates to)")
    chain = active_chain(entries)
    uuids = [entry.get("uuid") for entry in chain]
    if at_uuid not in uuids:
        raise ResumeRejectedError(session_id, f"{at_uuid} is not on the session's current branch")
    after = chain[uuids.index(at_uuid) + 1 :]
    if not after or after[0].get("uuid") != drops_turn or first_prompt_of(after[0]) is None:
        found = after[0].get("uuid") if after else None
        raise ResumeRejectedError(session_id, f"what follows {at_uuid} is {found!r}, not the prompt {drops_turn}")
    other = next((entry for entry in after[1:] if first_prompt_of(entry) is not None), None)
    if other is not None:
        raise ResumeRejectedError(session_id, f"{other.get('uuid')} after {at_uuid} is the prompt of another turn")


def _latest_totals(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    for entry in reversed(entries):
        if entry.get("type") == "cost-state":
            return {k: v for k, v in entry.items() if k not in ("type", "sessionId", "timestamp")}
    return None


def _extend_history(messages: list[dict[str, Any]], role: str, message: dict[str, Any]) -> None:
    content = message.get("content", "")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})
