"""`TurnLedger`: the entries of a durable turn get deterministic uuids, and each is written once.

A durable turn that runs again after its worker died replays its workflow from the start: the
steps that completed return their recorded results, so the turn makes the same entries in the
same order. The n-th chain entry of the turn gets `uuid5(turn namespace, n)`; an entry whose uuid
the store already holds (written before the crash) is not written again, and the turn goes on
from it. Metadata entries (no uuid) are written again on a replay that reaches them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

__all__ = ["TurnLedger"]

_NAMESPACE = uuid.UUID("6f0b5f4e-4d1e-4c59-9d3e-2f7a1c0e9b21")
_LINKS = ("parentUuid", "logicalParentUuid", "leafUuid")
"""Fields of an entry that name another entry's uuid."""


class TurnLedger:
    """The entry ids of one durable turn (`workflow_id`), knowing the uuids the store holds."""

    def __init__(self, workflow_id: str, stored: Iterable[dict[str, Any]]) -> None:
        self._namespace = uuid.uuid5(_NAMESPACE, workflow_id)
        self._stored = {str(entry["uuid"]) for entry in stored if entry.get("uuid")}
        self._count = 0
        self._renamed: dict[str, str] = {}
        self.skipped = 0
        """Entries found in the store already (a replay's), not written again."""

    def unwritten(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stamp `entries` in place; return those the store does not hold yet."""
        fresh: list[dict[str, Any]] = []
        for entry in entries:
            for link in _LINKS:
                target = entry.get(link)
                if isinstance(target, str) and target in self._renamed:
                    entry[link] = self._renamed[target]
            old = entry.get("uuid")
            if not old:
                fresh.append(entry)
                continue
            self._count += 1
            new = str(uuid.uuid5(self._namespace, str(self._count)))
            self._renamed[str(old)] = new
            entry["uuid"] = new
            if new in self._stored:
                self.skipped += 1
            else:
                fresh.append(entry)
        return fresh
