"""Glob patterns (wcmatch) for the Glob tool and permission rules.

Syntax, as ripgrep and gitignore use it: `*` and `?` stay inside one path segment, `**` as a
whole segment crosses any number of directories, `[abc]` / `[!abc]` are classes and `{a,b}`
alternatives. Matching is case-sensitive and `*` matches names that start with a dot.
"""

from __future__ import annotations

import re
from functools import lru_cache

from wcmatch import glob

from tether.errors import ToolError

__all__ = ["GLOB_FLAGS", "glob_literal_prefix", "glob_regex", "has_glob_magic"]

GLOB_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB | glob.CASE
"""The wcmatch flags of every glob tether matches."""


def has_glob_magic(text: str) -> bool:
    """Whether `text` contains glob syntax."""
    return glob.is_magic(text, flags=GLOB_FLAGS)


def glob_literal_prefix(pattern: str) -> tuple[str, str]:
    """Split a pattern into its leading directories without glob syntax and the rest.

    `src/app/**/*.py` -> (`src/app`, `**/*.py`); `*.py` -> (``, `*.py`); `/etc/*.conf` ->
    (`/etc`, `*.conf`).
    """
    parts = pattern.split("/")
    literal: list[str] = []
    for index, part in enumerate(parts[:-1]):
        if has_glob_magic(part):
            return "/".join(literal) or ("/" if pattern.startswith("/") else ""), "/".join(parts[index:])
        literal.append(part)
    prefix = "/".join(literal)
    if pattern.startswith("/") and not prefix:
        prefix = "/"
    return prefix, parts[-1]


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A compiled regex matching a whole `/`-separated path against `pattern`."""
    try:
        alternatives, _ = glob.translate(pattern, flags=GLOB_FLAGS)
    except Exception as error:  # wcmatch's PatternLimitException (not exported): too many {} expansions
        raise ToolError(f"Glob pattern {pattern!r} cannot be used: {error}") from error
    return re.compile("|".join(f"(?:{alternative})" for alternative in alternatives))
