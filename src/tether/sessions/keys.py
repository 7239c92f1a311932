"""Session ids and project keys: validation, the Claude Code directory encoding, text without invisible characters."""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from pathlib import Path

from tether.errors import InvalidSessionIdError

__all__ = [
    "MAX_PROJECT_KEY_LENGTH",
    "encode_project_path",
    "project_key_for_directory",
    "project_key_for_real_path",
    "simple_hash",
    "validate_session_id",
]

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ue000-\uf8ff]")
"""Zero-width characters, direction marks and overrides, the byte order mark, private use."""
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Co", "Cn"})  # format, private use, unassigned

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
MAX_PROJECT_KEY_LENGTH = 200
"""Longer encoded paths are cut to this length and given a hash suffix."""


def validate_session_id(session_id: object) -> str:
    """Return `session_id` if it is a safe id (letters, digits, `-`, `_`, `.`; no path parts).

    UUIDs are what tether generates; other plain ids (from other systems) are accepted too, but
    nothing that could name a path (`/`, `\\`, `..`), control characters, or over 128 characters.
    """
    if not isinstance(session_id, str):
        raise InvalidSessionIdError(session_id, "a session id must be a string")
    if not session_id:
        raise InvalidSessionIdError(session_id, "a session id must not be empty")
    if "/" in session_id or "\\" in session_id or ".." in session_id:
        raise InvalidSessionIdError(session_id, "path characters are not allowed in a session id")
    if not _ID.fullmatch(session_id):
        raise InvalidSessionIdError(
            session_id, "use letters, digits, '-', '_' or '.' (at most 128 characters), like a UUID"
        )
    return session_id


def project_key_for_directory(directory: str | os.PathLike[str] | None = None) -> str:
    """The project key of a working directory, encoded as Claude Code names its project folders.

    The real path, NFC-normalised, with every character other than `A-Z a-z 0-9` replaced by `-`;
    keys longer than 200 characters are cut and given a hash suffix.
    """
    return project_key_for_real_path(os.path.realpath(directory if directory is not None else Path.cwd()))


@functools.lru_cache(maxsize=256)
def project_key_for_real_path(path: str) -> str:
    """The project key of `path`, already a real path (`project_key_for_directory` without resolving it again)."""
    return encode_project_path(unicodedata.normalize("NFC", path))


def encode_project_path(path: str) -> str:
    """`path` as Claude Code names its project folder: every character other than `A-Z a-z 0-9` replaced by `-`,
    cut to `MAX_PROJECT_KEY_LENGTH` characters and given a hash suffix when longer."""
    encoded = re.sub(r"[^A-Za-z0-9]", "-", path)
    if len(encoded) <= MAX_PROJECT_KEY_LENGTH:
        return encoded
    return f"{encoded[:MAX_PROJECT_KEY_LENGTH]}-{simple_hash(path)}"


def simple_hash(text: str) -> str:
    """A 32-bit string hash in base 36 (the djb2 variant Claude Code's SDK uses for long paths)."""
    value = 0
    for char in text:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    if value & 0x80000000:
        value = -((~value + 1) & 0xFFFFFFFF)
    value = abs(value)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
        if value == 0:
            return out


def strip_invisible(text: str) -> str:
    """`text` NFKC-normalised without invisible characters (format, private-use and unassigned code
    points, zero-width and direction marks), repeated until nothing changes (at most 10 rounds),
    as Claude Code cleans a tag."""
    for _ in range(10):
        cleaned = unicodedata.normalize("NFKC", text)
        cleaned = _INVISIBLE.sub(
            "", "".join(c for c in cleaned if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)
        )
        if cleaned == text:
            break
        text = cleaned
    return text
