"""Open a session store from a URL, from `$TETHER_STORE_URL`, or the default SQLite file.

| URL | store |
|---|---|
| `sqlite://` | `SQLiteStore` on `$TETHER_HOME/sessions.db` (else `~/.tether/sessions.db`) |
| `sqlite:///abs/path/sessions.db` | `SQLiteStore` on that file |
| `memory://` | a new, empty `MemoryStore` (nothing outlives it; pass a store object to share one) |
| `postgresql://user:pass@host:5432/db` (`postgres://`) | `PostgresStore` (extra `tether[postgres]`) |
| `redis://host:6379/0`, `rediss://...`, `unix:///path` | `RedisStore` (extra `tether[redis]`) |
| `jsonl:///abs/dir` (`jsonl://~/.claude`) | `JsonlStore` over Claude Code's directory layout |

Every URL takes `?scope=NAME` (tenant isolation); Redis URLs also `?prefix=NAME` (the key prefix).
A malformed URL fails at once with `ConfigurationError`; the network stores connect on first use
and turn a server that cannot be reached into `ConfigurationError` too. Messages name the URL
with its password replaced by `***`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tether.errors import ConfigurationError
from tether.sessions._storecore import redact_url
from tether.sessions.memory import MemoryStore
from tether.sessions.store import SessionStore

__all__ = ["open_store", "opened_for_caller"]

_SCHEMES = "sqlite://, sqlite:///path, memory://, postgresql://..., redis://..., jsonl:///dir"


def open_store(
    spec: SessionStore | str | None, *, env: Mapping[str, str] | None = None, shared: bool = False
) -> SessionStore:
    """The store for `spec`: a store object as is, a URL, or None for `$TETHER_STORE_URL` / the default.

    With `shared`, a SQLite URL gives the process's shared store on that file (`SQLiteStore.shared`),
    which the caller must not close; every other URL gives a new store for the caller to close.
    """
    if spec is not None and not isinstance(spec, str):
        return spec
    environ = os.environ if env is None else env
    url = (spec or environ.get("TETHER_STORE_URL") or "sqlite://").strip()
    shown = redact_url(url)
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ConfigurationError(f"invalid session store URL {shown!r}: expected one of {_SCHEMES}")
    try:
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
    except ValueError as exc:
        raise ConfigurationError(f"invalid session store URL {shown!r}: {exc}") from None
    scheme = scheme.lower()
    if scheme == "memory":
        _only(options, {"scope"}, shown)
        return MemoryStore(scope=options.get("scope"))
    if scheme == "sqlite":
        return _sqlite(parts.netloc, unquote(parts.path), options, shown, environ, shared)
    if scheme in ("postgresql", "postgres"):
        return _postgres(url, options, shown)
    if scheme in ("redis", "rediss", "unix"):
        return _redis(url, options, shown)
    if scheme == "jsonl":
        return _jsonl(parts.netloc, unquote(parts.path), options, shown)
    raise ConfigurationError(f"unsupported session store URL scheme {scheme!r} in {shown!r}; use {_SCHEMES}")


def opened_for_caller(store: SessionStore, spec: SessionStore | str | None) -> bool:
    """Whether `open_store(spec, ...)` made `store` for its caller, who must then close it.

    A store object given as `spec` stays its owner's; a shared SQLite store stays open for the process.
    """
    return store is not spec and not getattr(store, "is_shared", False)


def _only(options: dict[str, str], allowed: set[str], shown: str) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigurationError(f"unknown option(s) {', '.join(unknown)} in the session store URL {shown!r}")


def _without(url: str, names: set[str]) -> str:
    """`url` with the query parameters `names` removed (they are tether's, not the driver's)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))


def _sqlite(
    netloc: str, path: str, options: dict[str, str], shown: str, env: Mapping[str, str], shared: bool
) -> SessionStore:
    from tether.sessions.sqlite import SQLiteStore, default_sqlite_path

    _only(options, {"scope"}, shown)
    if netloc:
        raise ConfigurationError(
            f"invalid SQLite URL {shown!r}: it names a host; use sqlite:///absolute/path/sessions.db"
        )
    if path.endswith("/") and path != "/":
        raise ConfigurationError(f"invalid SQLite URL {shown!r}: the path is a directory, name the file")
    # sqlite:////abs works too
    file = default_sqlite_path(env) if path in ("", "/") else Path("/" + path.lstrip("/"))
    return (SQLiteStore.shared if shared else SQLiteStore)(file, scope=options.get("scope"))


def _jsonl(netloc: str, path: str, options: dict[str, str], shown: str) -> SessionStore:
    from tether.sessions.jsonl import JsonlStore

    _only(options, set(), shown)
    if netloc not in ("", "~"):
        raise ConfigurationError(f"invalid JSONL URL {shown!r}: use jsonl:///absolute/dir or jsonl://~/.claude")
    root = Path(f"~{path}").expanduser() if netloc == "~" else Path("/" + path.lstrip("/"))
    if path in ("", "/") and netloc != "~":
        raise ConfigurationError(f"invalid JSONL URL {shown!r}: name the directory, e.g. jsonl://~/.claude")
    return JsonlStore(root)


def _postgres(url: str, options: dict[str, str], shown: str) -> SessionStore:
    try:
        from tether.sessions.postgres import PostgresStore
    except ImportError as exc:
        raise ConfigurationError(f"{shown!r} needs the PostgreSQL extra: {exc}") from exc
    return PostgresStore(_without(url, {"scope"}), scope=options.get("scope"))


def _redis(url: str, options: dict[str, str], shown: str) -> SessionStore:
    try:
        from tether.sessions.redis import RedisStore
    except ImportError as exc:
        raise ConfigurationError(f"{shown!r} needs the Redis extra: {exc}") from exc
    return RedisStore(
        _without(url, {"scope", "prefix"}), scope=options.get("scope"), prefix=options.get("prefix") or "tether"
    )
