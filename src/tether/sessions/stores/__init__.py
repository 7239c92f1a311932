"""The session stores tether ships, one module each, and the URL schemes that open them.

A store is one module: a class implementing the `SessionStore` protocol (`tether.sessions.store`)
and a `from_url(url: StoreUrl) -> SessionStore` function; `SCHEMES` names the module of each URL
scheme. Modules are imported when a URL asks for them, so a store's extra (`tether[postgres]`,
`tether[redis]`) is needed only by its users. `tether.sessions.urls.open_store` does the opening.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tether.errors import ConfigurationError

__all__ = ["SCHEMES", "StoreUrl"]

SCHEMES: dict[str, str] = {
    "memory": "tether.sessions.stores.memory",
    "sqlite": "tether.sessions.stores.sqlite",
    "postgresql": "tether.sessions.stores.postgres",
    "postgres": "tether.sessions.stores.postgres",
    "redis": "tether.sessions.stores.redis",
    "rediss": "tether.sessions.stores.redis",
    "unix": "tether.sessions.stores.redis",
    "jsonl": "tether.sessions.stores.jsonl",
}
"""URL scheme -> the module whose `from_url` opens it."""


@dataclass(frozen=True)
class StoreUrl:
    """A parsed store URL, as a store's `from_url` gets it."""

    url: str
    """The URL as given."""
    shown: str
    """The URL with any password replaced by `***`, for messages."""
    scheme: str
    """Lower-cased."""
    netloc: str
    path: str
    """Percent-decoded."""
    options: dict[str, str]
    """The query parameters."""
    env: Mapping[str, str]
    """The environment to read defaults from (`TETHER_HOME`, ...)."""
    shared: bool
    """Whether the caller asked for the process's shared store where there is one (SQLite)."""

    def only(self, *allowed: str) -> None:
        """Raise `ConfigurationError` for a query parameter not in `allowed`."""
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            raise ConfigurationError(f"unknown option(s) {', '.join(unknown)} in the session store URL {self.shown!r}")

    def without(self, *names: str) -> str:
        """The URL without the query parameters `names` (tether's, not the driver's)."""
        parts = urlsplit(self.url)
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))

    def invalid(self, reason: str) -> ConfigurationError:
        """The error for a malformed URL of this scheme."""
        return ConfigurationError(f"invalid session store URL {self.shown!r}: {reason}")
