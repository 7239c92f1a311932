"""`run_environment`: the environment a run sees, `AgentOptions.env` over the process's.

Copying `os.environ` decodes every variable (about 1 µs each); a run needs that copy at its start
and on some of its calls. The decoded copy is kept and made again only when the process's
environment changed since (a C-level comparison of the raw bytes `os.environ` holds).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

__all__ = ["run_environment"]

_lock = threading.Lock()
_raw: dict[object, object] = {}
"""The raw variables `os.environ` held when `_decoded` was made."""
_decoded: dict[str, str] = {}


def _process_environment() -> dict[str, str]:
    """`dict(os.environ)`, decoded again only when the process's environment changed (do not mutate)."""
    global _raw, _decoded
    raw: Mapping[object, object] | None = getattr(os.environ, "_data", None)  # CPython's `os._Environ`
    if raw is None:
        return dict(os.environ)
    with _lock:
        if raw != _raw:
            _raw = dict(raw)  # first: a change made meanwhile shows at the next call
            _decoded = dict(os.environ)
        return _decoded


def run_environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """A new dict: the process's environment updated with `overrides` (a run's `options.env`)."""
    return {**_process_environment(), **(overrides or {})}
