"""What the workspace tests share: the file-rewinding tests' helpers, with snapshots on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.checkpoints import support
from tests.checkpoints.support import ECHO, ask

from tether import AgentOptions
from tether._vocabulary.store import SessionStore

__all__ = ["ECHO", "ask", "options_for"]


def options_for(cwd: Path, store: SessionStore, replies: list[Any], **extra: Any) -> AgentOptions:
    """The checkpoint tests' options with workspace snapshots on and every tool allowed."""
    return support.options_for(
        cwd, store, replies, **{"permission_mode": "bypassPermissions", "workspace_snapshots": True, **extra}
    )
