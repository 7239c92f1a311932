"""Test doubles and suites for code built on tether (public API)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tether.sessions.stores.memory import MemoryStore
from tether.testing.models import (
    FunctionModel,
    Reply,
    ScriptedModel,
    override_model,
    text_reply,
    tool_use_reply,
)
from tether.testing.runs import RunResult, run_query

if TYPE_CHECKING:
    from tether.testing.conformance import run_store_conformance as run_store_conformance
    from tether.testing.sdk_conformance import run_session_store_conformance as run_session_store_conformance

__all__ = [
    "FunctionModel",
    "MemoryStore",
    "Reply",
    "RunResult",
    "ScriptedModel",
    "override_model",
    "run_query",
    "run_session_store_conformance",
    "run_store_conformance",
    "text_reply",
    "tool_use_reply",
]


def __getattr__(name: str) -> object:
    # The conformance suites are imported lazily: only store authors' tests need them.
    if name == "run_store_conformance":
        from tether.testing.conformance import run_store_conformance

        return run_store_conformance
    if name == "run_session_store_conformance":
        from tether.testing.sdk_conformance import run_session_store_conformance

        return run_session_store_conformance
    raise AttributeError(f"module 'tether.testing' has no attribute {name!r}")
