"""Open a session store from a URL, from `$TETHER_STORE_URL`, or the default SQLite file.

| URL | store |
|---|---|
| `sqlite://` | `SQLiteStore` on `$TETHER_HOME/sessions.db` (else `~/.tether/sessions.db`) |
| `sqlite:///sessions.db` (`sqlite:///~/x.db`) | `SQLiteStore` on that file, relative to the current (home) directory |
| `sqlite:////abs/path/sessions.db` | `SQLiteStore` on that absolute file |
| `memory://` | a new, empty `MemoryStore` (nothing outlives it; pass a store object to share one) |
| `postgresql://user:pass@host:5432/db` (`postgres://`) | `PostgresStore` (extra `tether[postgres]`) |
| `redis://host:6379/0`, `rediss://...`, `unix:///path` | `RedisStore` (extra `tether[redis]`) |
| `jsonl:///abs/dir` (`jsonl://~/.claude`) | `JsonlStore` over Claude Code's directory layout |

SQLite URLs read as SQLAlchemy reads them (three slashes, then the path). The directory of a named
file must exist (only the default one is created), and the file and its directory be writable.
Every URL takes `?scope=NAME` (tenant isolation); Redis URLs also `?prefix=NAME` (the key prefix).
A malformed URL fails at once with `ConfigurationError`; the network stores connect on first use
and turn a server that cannot be reached into `ConfigurationError` too. Messages name the URL
with its password replaced by `***`.

`store_override` (set by `tether.testing.override_model`) replaces the default store, and
`$TETHER_STORE_URL`, for code that names no store. With no URL at all, the default store comes
with Claude Code's sessions beside it (`$CLAUDE_CONFIG_DIR`, default `~/.claude`): see
`tether.sessions.stores.layered`; `TETHER_CLAUDE_CODE_SESSIONS=0` turns that off.

The schemes are a registry (`tether.sessions.stores.SCHEMES`): a store is one module with a
`from_url` function, and one line there.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Mapping
from contextvars import ContextVar
from urllib.parse import parse_qsl, unquote, urlsplit

from tether._vocabulary.store import SessionStore
from tether.errors import ConfigurationError
from tether.sessions.capabilities import store_access
from tether.sessions.stores import SCHEMES, StoreUrl
from tether.sessions.stores._core import redact_url
from tether.sessions.stores.layered import with_claude_code

__all__ = ["open_store", "opened_for_caller", "parse_store_url", "store_override"]

_SCHEMES = (
    "sqlite://, sqlite:///relative.db, sqlite:////absolute.db, memory://, postgresql://..., redis://..., jsonl:///dir"
)

store_override: ContextVar[SessionStore | str | None] = ContextVar("tether_store_override", default=None)
"""The store (object or URL) used where none is named, instead of `$TETHER_STORE_URL` or the default file."""


def open_store(
    spec: SessionStore | str | None, *, env: Mapping[str, str] | None = None, shared: bool = False
) -> SessionStore:
    """The store for `spec`: a store object as is, a URL, or None (`store_override`, `$TETHER_STORE_URL`, the default).

    None gives that store with Claude Code's sessions beside it (`LayeredStore`, see
    `tether.sessions.stores.layered`) unless `$TETHER_CLAUDE_CODE_SESSIONS` is `0`.

    With `shared`, a SQLite URL gives the process's shared store on that file (`SQLiteStore.shared`),
    which the caller must not close; every other URL gives a new store for the caller to close.
    """
    if spec is None:
        spec = store_override.get()
    if spec is not None and not isinstance(spec, str):
        return spec
    environ = os.environ if env is None else env
    url = parse_store_url(spec or environ.get("TETHER_STORE_URL") or "sqlite://", env=environ, shared=shared)
    try:
        module = importlib.import_module(SCHEMES[url.scheme])
    except ImportError as exc:
        raise ConfigurationError(f"{url.shown!r} needs an extra: {exc}") from exc
    store: SessionStore = module.from_url(url)
    return store if spec is not None else with_claude_code(store, environ, shared=shared)


def parse_store_url(text: str, *, env: Mapping[str, str] | None = None, shared: bool = False) -> StoreUrl:
    """`text` parsed; `ConfigurationError` for a malformed URL or a scheme no store registered."""
    url, shown, scheme, netloc, path, options = _parsed(text)
    environ = os.environ if env is None else env
    return StoreUrl(url, shown, scheme, netloc, path, dict(options), environ, shared)


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> tuple[str, str, str, str, str, tuple[tuple[str, str], ...]]:
    """The parts of a store URL (parsed once per text: a query opens the same URL each time)."""
    url = text.strip()
    shown = redact_url(url)
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ConfigurationError(f"invalid session store URL {shown!r}: expected one of {_SCHEMES}")
    try:
        parts = urlsplit(url)
        options = tuple(dict(parse_qsl(parts.query, keep_blank_values=True)).items())
    except ValueError as exc:
        raise ConfigurationError(f"invalid session store URL {shown!r}: {exc}") from None
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigurationError(f"unsupported session store URL scheme {scheme!r} in {shown!r}; use {_SCHEMES}")
    return url, shown, scheme, parts.netloc, unquote(parts.path), options


def opened_for_caller(store: SessionStore, spec: SessionStore | str | None) -> bool:
    """Whether `open_store(spec, ...)` made `store` for its caller, who must then close it.

    A store object given as `spec` (or as `store_override`) stays its owner's; a shared SQLite store
    stays open for the process.
    """
    return store is not spec and store is not store_override.get() and not store_access(store).shared
