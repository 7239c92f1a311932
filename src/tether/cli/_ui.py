"""`tether ui`: serve the local session browser (extra `tether[ui]`; see `tether.ui`)."""

from __future__ import annotations

from typing import Annotated

import typer

from tether.cli._common import StoreOption, fail, flag, store_spec

__all__ = ["ui_command"]


def ui_command(
    ctx: typer.Context,
    store: StoreOption = None,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")] = 0,
    no_open: Annotated[bool, flag("--no-open", help="Do not open a web browser.")] = False,
    allow_run: Annotated[bool, flag("--allow-run", help="Allow running prompts from the page.")] = False,
) -> None:
    """A local page over the session store: list, read, follow live, fork, rename, tag, export, delete.

    Prints its URL (with a secret token) as the first line, then serves until Ctrl-C.
    """
    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535, not {port}")
    spec = store_spec(ctx, store)
    try:
        from tether.ui import serve
    except ImportError as error:  # pragma: no cover - the extra is installed in the dev environment
        fail(f"tether ui needs the extra: pip install 'tether[ui]' ({error})")
    try:
        serve(spec, port=port, open_browser=not no_open, allow_run=allow_run)
    except OSError as error:
        fail(f"cannot serve on 127.0.0.1:{port}: {error}")
    except KeyboardInterrupt:
        pass
