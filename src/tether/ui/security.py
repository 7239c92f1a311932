"""The browser's guard: a Host-header check, a secret token, and headers that keep the page to itself.

- Every request must name an allowed Host (`127.0.0.1:PORT`, `localhost:PORT`): a page of
  another site that rebinds its DNS name to 127.0.0.1 is refused (403).
- Every request but the static files must carry the token: `?token=...` (the printed URL), then
  the `tether_ui_token` cookie it sets (HttpOnly, SameSite=Strict). Without it: 403.
- Every action (POST) must also carry the token in its form (`csrf` field) or the
  `X-Tether-Token` header, never the cookie alone, and a foreign `Origin` is refused: another
  site cannot make the browser act (CSRF).
- Responses forbid framing, inline scripts and styles, and sending the URL (with its token) as a
  referrer to another site (`same-origin`: `no-referrer` would make the browser send `Origin: null`
  with the page's own forms).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp

__all__ = ["COOKIE", "CSRF_FIELD", "TokenGuard", "same_token"]

COOKIE = "tether_ui_token"
CSRF_FIELD = "csrf"
HEADER = "x-tether-token"
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def same_token(given: str | None, token: str) -> bool:
    """Whether `given` is the token (compared in constant time)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def _refused(reason: str) -> Response:
    body = f"<!doctype html><title>Refused</title><h1>403 Refused</h1><p>{reason}</p>"
    return HTMLResponse(body, status_code=403, headers=_HEADERS)


class TokenGuard(BaseHTTPMiddleware):
    """Refuses requests with a foreign Host, without the token, or (for POST) from another origin."""

    def __init__(self, app: ASGIApp, *, token: str, hosts: Sequence[str]) -> None:
        super().__init__(app)
        self.token = token
        self.hosts = frozenset(host.lower() for host in hosts)

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = request.headers.get("host", "").lower()
        if host not in self.hosts:
            return _refused("This server answers only on the address it printed (unexpected Host header).")
        origin = request.headers.get("origin")
        if request.method != "GET" and origin is not None and origin.lower() not in {f"http://{h}" for h in self.hosts}:
            return _refused("Actions are accepted only from this page (foreign Origin).")
        from_url = request.query_params.get("token")
        if not request.url.path.startswith("/static/"):
            if not (same_token(from_url, self.token) or same_token(request.cookies.get(COOKIE), self.token)):
                return _refused("A token is required: open the URL `tether ui` printed (it ends with ?token=...).")
        response = await call_next(request)
        response.headers.update(_HEADERS)
        if same_token(from_url, self.token):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return response
