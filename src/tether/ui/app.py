"""The Starlette application of `tether ui`: its routes, over one open store.

Reading pages are plain server-rendered HTML (they work with JavaScript off); htmx (vendored
in `static/`) only swaps the list rows as one types a search, and `static/live.js` adds live
entries. Every action is a form POST that carries the token (see `tether.ui.security`) and
answers with a redirect (303) to the page to look at next.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tether._vocabulary.store import SessionStore
from tether.errors import InvalidSessionIdError, SessionNotFoundError, TetherError
from tether.sessions.capabilities import store_access
from tether.sessions.claude_code import export_session
from tether.sessions.helpers import (
    delete_session_async,
    fork_session_async,
    locate_session,
    rename_session_async,
    tag_session_async,
)
from tether.ui.data import Browser, ListFilters
from tether.ui.live import stream_entries
from tether.ui.security import CSRF_FIELD, HEADER, TokenGuard, same_token

__all__ = ["UiConfig", "create_app"]

_HERE = Path(__file__).parent
_log = logging.getLogger("tether.ui")


class UiConfig:
    """How the app runs: its token, the Host names it answers, and what it may do."""

    def __init__(
        self,
        token: str,
        hosts: Sequence[str],
        *,
        allow_run: bool = False,
        claude_dir: str | None = None,
        close_store: bool = False,
    ) -> None:
        self.token = token
        self.hosts = list(hosts)
        self.allow_run = allow_run
        self.claude_dir = claude_dir
        """Where "export to Claude Code" writes (default `$CLAUDE_CONFIG_DIR`, else `~/.claude`)."""
        self.close_store = close_store


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def _cost(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["when"] = _when
    env.filters["cost"] = _cost
    return env


class _Pages:
    """The route handlers, sharing the store, the templates and the config."""

    def __init__(self, store: SessionStore, config: UiConfig) -> None:
        self.browser = Browser(store_access(store))
        self.store = store
        self.config = config
        self.env = _templates()

    def html(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("csrf", self.config.token)
        context.setdefault("allow_run", self.config.allow_run)
        context.setdefault("request", request)
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    def message(self, request: Request, title: str, text: str, status: int) -> HTMLResponse:
        return self.html(request, "message.html", status, title=title, text=text)

    async def form(self, request: Request) -> FormData:
        """The action's form, after checking it carries the token (403 otherwise)."""
        form = await request.form()
        given = form.get(CSRF_FIELD)
        if not (
            same_token(given if isinstance(given, str) else None, self.config.token)
            or same_token(request.headers.get(HEADER), self.config.token)
        ):
            raise HTTPException(403, "this action did not carry the page's token")
        return form

    # -- reading ------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        params = request.query_params
        filters = ListFilters(
            q=params.get("q", "").strip(),
            tag=params.get("tag", "").strip(),
            model=params.get("model", "").strip(),
            forks=params.get("forks") == "1",
        )
        page = await self.browser.list_page(filters, params.get("cursor"))
        name = "_rows.html" if request.headers.get("hx-request") else "list.html"
        return self.html(request, name, filters=filters, page=page, cursor=params.get("cursor", ""))

    async def session(self, request: Request) -> Response:
        view = await self.browser.session(request.path_params["session_id"])
        return self.html(request, "session.html", view=view)

    async def events(self, request: Request) -> Response:
        found = await locate_session(self.browser.access, request.path_params["session_id"])
        session_id = found.key["session_id"]
        items_template = self.env.get_template("_items.html")
        lease_template = self.env.get_template("_lease.html")
        stream = stream_entries(
            self.browser,
            found.key,
            request.query_params.get("after") or found.leaf,
            lambda items: items_template.render(items=items, csrf=self.config.token, session_id=session_id),
            lambda lease: lease_template.render(lease=lease),
        )
        return StreamingResponse(stream, media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    async def diff(self, request: Request) -> Response:
        left, right = request.query_params.get("a", ""), request.query_params.get("b", "")
        result = await self.browser.diff(left, right)
        return self.html(request, "diff.html", left=left, right=right, diff=result)

    # -- actions ------------------------------------------------------------------------------

    def _back(self, session_id: str) -> RedirectResponse:
        return RedirectResponse(f"/s/{session_id}", status_code=303)

    async def rename(self, request: Request) -> Response:
        form = await self.form(request)
        session_id = request.path_params["session_id"]
        await rename_session_async(session_id, str(form.get("title", "")), store=self.store)
        return self._back(session_id)

    async def tag(self, request: Request) -> Response:
        form = await self.form(request)
        session_id = request.path_params["session_id"]
        tag = str(form.get("tag", "")).strip()
        await tag_session_async(session_id, tag or None, store=self.store)
        return self._back(session_id)

    async def fork(self, request: Request) -> Response:
        form = await self.form(request)
        at = str(form.get("at", "")) or None
        title = str(form.get("title", "")) or None
        new_id = await fork_session_async(request.path_params["session_id"], None, at, title, store=self.store)
        return self._back(str(new_id))

    async def export(self, request: Request) -> Response:
        await self.form(request)
        session_id = request.path_params["session_id"]
        root = self.config.claude_dir
        path = await export_session(session_id, self.store, root if root is not None else _claude_dir(), overwrite=True)
        text = f"Exported to {path}. Resume it in Claude Code with: claude --resume {session_id}"
        return self.message(request, "Exported", text, 200)

    async def confirm_delete(self, request: Request) -> Response:
        view = await self.browser.session(request.path_params["session_id"])
        return self.html(request, "confirm.html", view=view)

    async def delete(self, request: Request) -> Response:
        await self.form(request)
        await delete_session_async(request.path_params["session_id"], store=self.store)
        return RedirectResponse("/", status_code=303)

    async def run(self, request: Request) -> Response:
        if not self.config.allow_run:
            return self.message(request, "Not allowed", "Running prompts needs `tether ui --allow-run`.", 403)
        form = await self.form(request)
        prompt = str(form.get("prompt", "")).strip()
        session_id = request.path_params["session_id"]
        if not prompt:
            return self.message(request, "Nothing to run", "The prompt was empty.", 400)
        await self.browser.session(session_id)  # 404 before starting anything
        request.app.state.runs.start_soon(_run_prompt, self.store, session_id, prompt)
        return self._back(session_id)


def _claude_dir() -> str:
    import os

    return os.environ.get("CLAUDE_CONFIG_DIR") or os.path.expanduser("~/.claude")


async def _run_prompt(store: SessionStore, session_id: str, prompt: str) -> None:
    """One turn of the session with `prompt` (its messages go to the store, where the page sees them)."""
    from tether._query import query
    from tether.options import AgentOptions

    try:
        async for _ in query(prompt=prompt, options=AgentOptions(resume=session_id, session_store=store)):
            pass
    except Exception:  # the page must keep serving; what the run stored shows on it
        _log.exception("the prompt run from the page for session %s failed", session_id)


def _errors(pages: _Pages) -> dict[Any, Any]:
    async def not_found(request: Request, exc: Exception) -> Response:
        text = f"No session {request.path_params.get('session_id') or request.query_params.get('a', '')!s} here: {exc}"
        return pages.message(request, "Not found", text, 404)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        return pages.message(request, "Not found" if status == 404 else "Refused", str(exc.detail), status)

    async def failed(request: Request, exc: Exception) -> Response:
        return pages.message(request, "That did not work", str(exc), 400)

    return {
        SessionNotFoundError: not_found,
        InvalidSessionIdError: not_found,
        HTTPException: refused,
        TetherError: failed,
    }


def create_app(store: SessionStore, config: UiConfig) -> Starlette:
    """The browser over `store`, guarded by `config.token` and `config.hosts`."""
    pages = _Pages(store, config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as runs:
            app.state.runs = runs
            yield
            runs.cancel_scope.cancel()
        if config.close_store:
            await pages.browser.access.close()

    sid = "/s/{session_id}"
    routes = [
        Route("/", pages.index),
        Route("/diff", pages.diff),
        Route(sid, pages.session),
        Route(f"{sid}/events", pages.events),
        Route(f"{sid}/rename", pages.rename, methods=["POST"]),
        Route(f"{sid}/tag", pages.tag, methods=["POST"]),
        Route(f"{sid}/fork", pages.fork, methods=["POST"]),
        Route(f"{sid}/export", pages.export, methods=["POST"]),
        Route(f"{sid}/delete", pages.confirm_delete, methods=["GET"]),
        Route(f"{sid}/delete", pages.delete, methods=["POST"]),
        Route(f"{sid}/run", pages.run, methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    middleware = [Middleware(TokenGuard, token=config.token, hosts=config.hosts)]
    return Starlette(routes=routes, middleware=middleware, exception_handlers=_errors(pages), lifespan=lifespan)
