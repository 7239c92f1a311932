"""`tether ui`: a local browser over a session store (extra `tether[ui]`).

```python
from tether.ui import serve

serve("sqlite://", port=8765)      # prints http://127.0.0.1:8765/?token=... first, then serves
```

The page lists sessions (search, filters, newest first, paged), shows a session's transcript
(tool calls folded, Edit/Write as diffs, thinking folded, usage and cost per turn, compaction
boundaries), its fork tree and a diff of two branches, follows a running turn live, and renames,
tags, forks, exports and deletes. It binds 127.0.0.1 only and answers only requests that carry
the random token of the printed URL (see `tether.ui.security`). Running a prompt from the page
needs `allow_run=True` (`tether ui --allow-run`). Starlette, uvicorn and Jinja2 are imported here
only, when the browser is used.
"""

from __future__ import annotations

import secrets
import socket
import sys
import webbrowser
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from tether._vocabulary.store import SessionStore

__all__ = ["create_app", "serve"]

HOST = "127.0.0.1"


def create_app(
    store: SessionStore,
    *,
    token: str,
    hosts: list[str],
    allow_run: bool = False,
    claude_dir: str | None = None,
    close_store: bool = False,
) -> Starlette:
    """The browser's ASGI application over `store` (for tests and embedding; `serve` runs one)."""
    from tether.ui.app import UiConfig
    from tether.ui.app import create_app as build

    config = UiConfig(token, hosts, allow_run=allow_run, claude_dir=claude_dir, close_store=close_store)
    return build(store, config)


def _bound_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    store: SessionStore | str | None = None,
    *,
    port: int = 0,
    open_browser: bool = False,
    allow_run: bool = False,
    out: TextIO | None = None,
) -> None:
    """Serve the browser on 127.0.0.1:`port` (0: any free port) until interrupted.

    The first line written to `out` (stdout) is the URL with its token.
    """
    import anyio
    import uvicorn

    from tether.sessions.urls import open_store

    opened = open_store(store)
    sock = _bound_socket(port)
    bound = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    hosts = [f"{HOST}:{bound}", f"localhost:{bound}"]
    app = create_app(opened, token=token, hosts=hosts, allow_run=allow_run, close_store=opened is not store)
    url = f"http://{HOST}:{bound}/?token={token}"
    stream = out or sys.stdout
    print(url, file=stream, flush=True)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    anyio.run(lambda: uvicorn.Server(config).serve(sockets=[sock]))
