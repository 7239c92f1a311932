"""Open a session store from a URL (`sqlite:///path`, `memory://`, ...) or the default."""

from __future__ import annotations

import os
from collections.abc import Mapping

from tether.errors import ConfigurationError
from tether.sessions.memory import MemoryStore
from tether.sessions.store import SessionStore

__all__ = ["open_store"]


def open_store(spec: SessionStore | str | None, *, env: Mapping[str, str] | None = None) -> SessionStore:
    """The store for `spec`: a store object as is, a URL, or None for `$TETHER_STORE_URL` / the default."""
    if spec is not None and not isinstance(spec, str):
        return spec
    environ = os.environ if env is None else env
    url = spec or environ.get("TETHER_STORE_URL") or "memory://"
    if url.startswith("memory:"):
        return MemoryStore()
    raise ConfigurationError(f"unsupported session store URL scheme in {url.split(':', 1)[0]!r}")
