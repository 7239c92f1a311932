"""The harness of `run_store_conformance`: fresh stores, keys and entries for each check, the
assertions that name the contract they check, and the list checks register in."""

from __future__ import annotations

import inspect
import uuid as uuid_module
from collections.abc import Awaitable, Callable
from typing import Any

from tether._vocabulary.store import SessionKey, SessionStore
from tether.sessions.capabilities import store_access
from tether.sessions.entries import make_entry
from tether.sessions.store_capabilities import Capability, capabilities_of

__all__ = [
    "SUMMARY_FIELDS",
    "CheckList",
    "Harness",
    "MakeStore",
    "Skip",
    "expect",
    "expect_raises",
    "leaf_of",
    "make_turns",
    "store_capabilities",
]

MakeStore = Callable[[str | None], SessionStore | Awaitable[SessionStore]]
"""`make_store(scope)` -> a store (or an awaitable of one) over the shared test backend."""

SUMMARY_FIELDS = (
    "title",
    "first_prompt",
    "tag",
    "cwd",
    "created_at",
    "message_count",
    "total_cost_usd",
    "forked_from",
)


class Harness:
    """Fresh stores, ids and keys for one check; closes the stores it made."""

    def __init__(self, make_store: MakeStore, run: str, check: str, scopes: bool) -> None:
        self._make_store = make_store
        self._stores: list[Any] = []
        self.scopes = scopes
        self.tag = f"{run}-{check}"
        self.project = f"-conformance-{self.tag}"

    async def store(self, scope: str | None = None) -> Any:
        made = self._make_store(scope)
        store = await made if inspect.isawaitable(made) else made
        self._stores.append(store)
        return store

    def scope(self, name: str) -> str:
        return f"conformance-{self.tag}-{name}"

    def key(self, session_id: str | None = None, project: str | None = None, subpath: str | None = None) -> SessionKey:
        key = SessionKey(project_key=project or self.project, session_id=session_id or str(uuid_module.uuid4()))
        if subpath is not None:
            key["subpath"] = subpath
        return key

    async def close(self) -> None:
        for store in self._stores:
            await store_access(store).close()


def expect(condition: object, contract: str, detail: str) -> None:
    if not condition:
        raise AssertionError(f"[{contract}] {detail}")


async def expect_raises(
    error: type[BaseException], contract: str, call: Callable[[], Awaitable[Any]], what: str
) -> BaseException:
    try:
        await call()
    except error as exc:
        return exc
    except Exception as exc:
        raise AssertionError(f"[{contract}] {what} raised {type(exc).__name__} ({exc}), not {error.__name__}") from exc
    raise AssertionError(f"[{contract}] {what} did not raise {error.__name__}")


def make_turns(session_id: str, count: int, parent: str | None = None, *, label: str = "turn") -> list[dict[str, Any]]:
    """`count` chain entries alternating user and assistant, each hanging from the previous one."""
    entries: list[dict[str, Any]] = []
    for index in range(count):
        message: dict[str, Any]
        if index % 2 == 0:
            kind, message = "user", {"role": "user", "content": f"{label} {index}: a question"}
        else:
            message = {
                "id": f"msg_{label}_{index}",
                "role": "assistant",
                "model": "conformance",
                "content": [{"type": "text", "text": f"{label} {index}: an answer"}],
            }
            kind = "assistant"
        entry = make_entry(kind, message, session_id=session_id, parent_uuid=parent, cwd="/conformance")
        parent = entry["uuid"]
        entries.append(entry)
    return entries


def leaf_of(entries: list[dict[str, Any]]) -> str:
    return str(entries[-1]["uuid"])


def store_capabilities(store: Any) -> frozenset[Capability]:
    return capabilities_of(store)


Check = Callable[[Harness], Awaitable[None]]


class CheckList(list[tuple[str, tuple[str, ...], Check]]):
    """Contract checks in the order they run: `(name, capabilities needed, check)`."""

    def register(self, name: str, *needs: str) -> Callable[[Check], Check]:
        """A decorator adding a check named `name` that runs only on stores with every capability of `needs`."""

        def register(function: Check) -> Check:
            self.append((name, needs, function))
            return function

        return register


class Skip(Exception):
    """A check that does not apply to this run."""
