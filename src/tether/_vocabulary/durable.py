"""`DurableEngine`: the settings of durable turns (`AgentOptions(durable=...)`, `tether.durable`).

Plain data at the ground, so `AgentOptions` can name it without importing the engine (DBOS is
imported only when a durable turn runs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["CutCallDecision", "DurableEngine", "CutCallHook"]

CutCallDecision = Literal["rerun", "unknown"]
"""What becomes of a tool call whose process died mid-call: run it again, or tell the model its
outcome is unknown."""

CutCallHook = Callable[[str, Mapping[str, Any], str], CutCallDecision]
"""`(tool_name, tool_input, tool_use_id) -> "rerun" | "unknown"`: decides a cut call instead of
the default (run again only a tool known to be idempotent)."""


@dataclass(frozen=True, kw_only=True)
class DurableEngine:
    """How durable turns run (`AgentOptions(durable=DurableEngine(...))`; `durable=True` is the default one).

    `system_database_url`: DBOS's system database; None: the session store's PostgreSQL (schema
    `schema`), or a SQLite file beside the SQLite store. `application_version`: workers of another
    version leave this turn alone (None: tether's version). `executor_id`: this process's DBOS
    executor (None: `host:pid`). `on_cut_call`: decides a tool call cut by its process's death.
    """

    system_database_url: str | None = None
    schema: str = "tether_dbos"
    application_version: str | None = None
    executor_id: str | None = None
    on_cut_call: CutCallHook | None = None
