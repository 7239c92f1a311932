"""What every `tether` command shares: consoles, error reporting, stores, session ids, durations."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import anyio
import typer

from tether._vocabulary.store import SessionStore
from tether.errors import ConfigurationError, SessionBusyError, SessionNotFoundError, TetherError
from tether.sessions.capabilities import store_access
from tether.sessions.keys import project_key_for_directory, validate_session_id
from tether.sessions.urls import open_store

if TYPE_CHECKING:
    from rich.console import Console  # imported by the commands that draw: `tether -p` prints plain text
    from rich.status import Status

__all__ = [
    "StoreOption",
    "StoreSpec",
    "split_tool_rules",
    "claude_config_dir",
    "err_console",
    "escape",
    "fail",
    "flag",
    "has_session_here",
    "note",
    "opened_session",
    "format_age",
    "out_console",
    "parse_duration",
    "resolve_session_id",
    "run_async",
    "showing_model_progress",
    "store_from",
    "store_spec",
]

_T = TypeVar("_T")


def out_console() -> Console:
    """A console on the current stdout (made per call, so test runners that swap stdout see it)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def err_console() -> Console:
    """A console on the current stderr."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


MODEL_PROGRESS_LOGGER = "tether.models.local"
"""The logger of the embedded model, which logs its progress reading a long prompt (records with a
`progress` attribute, `(done, total)` tokens)."""


class _ProgressOnStatus(logging.Handler):
    def __init__(self, status: Status, text: str) -> None:
        super().__init__(logging.INFO)
        self.status, self.text = status, text

    def emit(self, record: logging.LogRecord) -> None:
        progress = getattr(record, "progress", None)
        if isinstance(progress, tuple) and len(progress) == 2:
            done, total = progress
            self.status.update(f"[dim]{self.text} reading the prompt: {done:,} of {total:,} tokens[/]")


@contextmanager
def showing_model_progress(status: Status, text: str) -> Iterator[None]:
    """While inside: the embedded model's progress reading a long prompt shown on `status` after `text`."""
    logger = logging.getLogger(MODEL_PROGRESS_LOGGER)
    handler, level = _ProgressOnStatus(status, text), logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def escape(text: str) -> str:
    """`text` with its rich markup escaped, to print it as it is."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def fail(message: str) -> NoReturn:
    """Print a one-line red error on stderr and exit with status 1."""
    line = " ".join(str(message).split())
    err_console().print(f"[bold red]Error:[/] {escape(line)}")
    raise typer.Exit(1)


def note(message: str) -> None:
    """A dim line on stderr, for people: what happened beside the output (stdout stays for scripts)."""
    typer.secho(message, err=True, dim=True)  # no rich: `tether -p` does not import it


def flag(*names: str, help: str, **extra: Any) -> Any:
    """A boolean option: shown in `--help` without a value placeholder (it takes none)."""
    return typer.Option(*names, help=help, metavar="", **extra)


def run_async(function: Callable[[], Awaitable[_T]]) -> _T:
    """Run a command's async body; tether errors (and OS errors) become a one-line message, exit 1."""
    try:
        return anyio.run(function)
    except SessionBusyError as error:
        fail(
            f"session {error.session_id} is busy: {error.holder} is running a turn on it (its lease lapses in "
            f"{error.seconds_left:.0f} s unless renewed); nothing was written. Retry later, or wait for it with "
            "--session-busy-timeout SECONDS"
        )
    except (TetherError, OSError) as error:
        fail(str(error) or type(error).__name__)


StoreSpec = SessionStore | str | None
"""`--store`: a URL, or a store object handed to the app (`app(obj={"store": store})`), or None."""

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Session store URL (default: $TETHER_STORE_URL, else the SQLite file under $TETHER_HOME or ~/.tether).",
        show_default=False,
    ),
]
"""A command's own `--store` (it wins over `tether --store`: see `store_spec`)."""


def store_spec(ctx: typer.Context, store: str | None) -> StoreSpec:
    """`--store` of the command, else of `tether --store`, else a store object given to the app."""
    if store is not None:
        return store
    parent = ctx.obj if isinstance(ctx.obj, dict) else {}
    value: StoreSpec = parent.get("store")
    return value


@asynccontextmanager
async def store_from(spec: StoreSpec) -> AsyncIterator[SessionStore]:
    """The store for `spec` (see `StoreSpec`); closed afterwards if it was opened here."""
    store = open_store(spec)
    try:
        yield store
    finally:
        if store is not spec:
            await store_access(store).close()


@asynccontextmanager
async def opened_session(
    ctx: typer.Context, store: str | None, session: str
) -> AsyncIterator[tuple[SessionStore, str]]:
    """A command's store (`store_spec`) and the full id of its `session` argument in it (an id or a
    unique prefix: `resolve_session_id`); the store is closed afterwards if it was opened here."""
    async with store_from(store_spec(ctx, store)) as opened:
        yield opened, await resolve_session_id(opened, session)


async def resolve_session_id(store: SessionStore, text: str) -> str:
    """A full session id from an id or a unique prefix of one (at least 4 characters).

    An id held by several projects is the current directory's project's session, else the newest.
    """
    text = text.strip()
    validate_session_id(text)
    access = store_access(store)
    try:
        found = await access.locate(text, project_key_for_directory())
        return found.key["session_id"]
    except SessionNotFoundError:
        if len(text) < 4 or not access.can("list_page"):
            raise
    matches = sorted({item["session_id"] async for item in access.summaries() if item["session_id"].startswith(text)})
    if not matches:
        raise SessionNotFoundError(text)
    if len(matches) > 1:
        shown = ", ".join(matches[:5])
        raise ConfigurationError(f"{text!r} matches {len(matches)} sessions ({shown}); give more of the id")
    return matches[0]


async def has_session_here(store: SessionStore, cwd: str | os.PathLike[str] | None) -> bool:
    """Whether `--continue` in `cwd` (default: the current directory) has a session to go on with."""
    return await store_access(store).newest_session_id(project_key_for_directory(cwd)) is not None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in a duration like `30d`, `12h`, `2w`, `1d12h`, `90m`, `45s`."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or "".join(f"{n}{u}" for n, u in parts) != compact:
        raise ConfigurationError(f"invalid duration {text!r}: use a number and a unit (s, m, h, d, w), e.g. 30d")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def format_age(epoch_ms: int | None, now: float | None = None) -> str:
    """`just now`, `5m ago`, `3h ago`, `2d ago`, or the date for anything older than a month."""
    if not epoch_ms:
        return "-"
    seconds = (now if now is not None else time.time()) - epoch_ms / 1000
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)}d ago"
    return time.strftime("%Y-%m-%d", time.localtime(epoch_ms / 1000))


def claude_config_dir() -> Path:
    """Claude Code's configuration directory: `$CLAUDE_CONFIG_DIR`, else `~/.claude`."""
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or "~/.claude").expanduser()


def split_tool_rules(values: list[str] | None) -> list[str]:
    """Tool rules from `--allowed-tools` values, split on commas and spaces outside parentheses.

    `"Read,Bash(git log *)" "Edit"` gives `["Read", "Bash(git log *)", "Edit"]`.
    """
    rules: list[str] = []
    for value in values or []:
        rules.extend(part for part in re.findall(r"(?:[^\s,(]|\([^)]*\))+", value) if part)
    return rules
