"""The browser's guard: the token, the Host header, CSRF on actions, the headers of every page."""

from __future__ import annotations

from starlette.testclient import TestClient
from tests.ui.support import TOKEN, Made

from tether.sessions.stores.sqlite import SQLiteStore
from tether.ui import create_app
from tether.ui.security import COOKIE


def test_a_request_without_the_token_is_refused(sqlite_store: SQLiteStore, made: Made) -> None:
    app = create_app(sqlite_store, token=TOKEN, hosts=["testserver"])
    with TestClient(app) as fresh:
        for path in ("/", f"/s/{made.main}", f"/s/{made.main}/events", f"/diff?a={made.main}&b={made.fork}"):
            response = fresh.get(path)
            assert response.status_code == 403, path
            assert "token" in response.text
        assert fresh.get("/?token=wrong").status_code == 403
        assert fresh.post(f"/s/{made.main}/rename", data={"title": "x", "csrf": "wrong"}).status_code == 403


def test_the_printed_url_sets_a_strict_cookie_that_opens_the_other_pages(sqlite_store: SQLiteStore, made: Made) -> None:
    app = create_app(sqlite_store, token=TOKEN, hosts=["testserver"])
    with TestClient(app) as fresh:
        first = fresh.get(f"/?token={TOKEN}")
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert f"{COOKIE}={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert fresh.get(f"/s/{made.main}").status_code == 200  # the cookie alone, no ?token=


def test_a_foreign_host_header_is_refused_even_with_the_token(sqlite_store: SQLiteStore, made: Made) -> None:
    app = create_app(sqlite_store, token=TOKEN, hosts=["127.0.0.1:8765"])
    with TestClient(app, base_url="http://127.0.0.1:8765") as local:
        assert local.get(f"/?token={TOKEN}").status_code == 200
        rebound = local.get(f"/?token={TOKEN}", headers={"host": "attacker.example:8765"})
        assert rebound.status_code == 403
        assert "Host" in rebound.text


def test_an_action_needs_the_token_in_its_form_not_just_the_cookie(client: TestClient, made: Made) -> None:
    refused = client.post(f"/s/{made.main}/rename", data={"title": "Sneaky"})
    assert refused.status_code == 403
    assert client.post(f"/s/{made.main}/delete", data={}).status_code == 403
    assert "Sneaky" not in client.get(f"/s/{made.main}").text
    assert client.get(f"/s/{made.main}").status_code == 200  # nothing was deleted


def test_an_action_from_another_origin_is_refused(client: TestClient, made: Made) -> None:
    response = client.post(
        f"/s/{made.main}/rename", data={"title": "Cross", "csrf": TOKEN}, headers={"origin": "http://evil.example"}
    )
    assert response.status_code == 403
    same = client.post(
        f"/s/{made.main}/rename", data={"title": "Same", "csrf": TOKEN}, headers={"origin": "http://testserver"}
    )
    assert same.status_code == 303


def test_pages_forbid_framing_inline_scripts_and_referrers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_static_files_need_no_token_and_htmx_is_vendored_with_its_licence(sqlite_store: SQLiteStore) -> None:
    app = create_app(sqlite_store, token=TOKEN, hosts=["testserver"])
    with TestClient(app) as fresh:
        script = fresh.get("/static/htmx.min.js")
        assert script.status_code == 200 and "htmx" in script.text
        assert "Zero-Clause BSD" in fresh.get("/static/htmx.LICENSE").text
