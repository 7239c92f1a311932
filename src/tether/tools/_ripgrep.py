"""The `rg` binary (from the `ripgrep` wheel, a core dependency) that Grep and Glob run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path

import anyio

from tether.errors import ToolError

__all__ = ["list_files", "pick_ripgrep", "ripgrep_binary", "run_ripgrep"]

_NAMES = ("rg.exe", "rg") if os.name == "nt" else ("rg",)
_VCS_DIRS = "!{.git,.hg,.svn,.jj}"


def _candidates() -> Iterator[Path]:
    """Where `rg` may be: the `ripgrep` wheel's own files, this interpreter's scripts, then PATH."""
    import importlib.metadata  # slow to import, needed only to find `rg`

    try:
        files = importlib.metadata.distribution("ripgrep").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name in _NAMES:
            yield Path(str(file.locate())).resolve()
    for name in _NAMES:
        yield Path(sysconfig.get_path("scripts")) / name
        found = shutil.which(name)
        if found:
            yield Path(found)


def pick_ripgrep(candidates: Iterable[Path]) -> str:
    """The first executable file among `candidates`, or a `ToolError` saying how to get `rg`."""
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ToolError(
        "ripgrep (rg) is not installed, and the Grep and Glob tools run it: reinstall tether "
        "(it depends on the `ripgrep` package, which ships rg) or put rg on PATH."
    )


@cache
def ripgrep_binary() -> str:
    """The path of `rg` (found once per process; a `ToolError` when there is none)."""
    return pick_ripgrep(_candidates())


async def run_ripgrep(arguments: Sequence[str]) -> list[str]:
    """The output lines of `rg ARGUMENTS` (user config ignored), without line ends.

    rg exits with 1 when nothing matched; exit 2 with no output (a bad regex, an unknown file
    type, ...) becomes a `ToolError` with rg's message.
    """
    command = [ripgrep_binary(), "--no-config", *arguments]
    done = await anyio.run_process(command, stdin=subprocess.DEVNULL, check=False)
    output = done.stdout.decode("utf-8", errors="replace")
    if done.returncode == 2 and not output:
        raise ToolError(f"rg failed: {done.stderr.decode('utf-8', errors='replace').strip()}")
    lines = output.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


async def list_files(root: Path, *, hidden: bool = False, max_depth: int | None = None) -> list[str]:
    """The files under `root` that ripgrep would search, as paths starting with `root`.

    `.gitignore` (also outside a git repository), `.ignore` and `.rgignore` rules apply, hidden
    files are skipped unless `hidden`, version-control directories always are, symbolic links are
    not followed. `max_depth=1` lists only the files directly in `root`.
    """
    arguments = ["--files", "--no-require-git", "--glob", _VCS_DIRS]
    if hidden:
        arguments.append("--hidden")
    if max_depth is not None:
        arguments += ["--max-depth", str(max_depth)]
    return await run_ripgrep([*arguments, "--", str(root)])
