"""The browser over each kind of store URL `tether ui --store` takes: list, session, tree, rename."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import anyio
import pytest
from starlette.testclient import TestClient
from tests.ui.support import HOSTS, TOKEN, make_sessions

from tether.sessions.capabilities import store_access
from tether.sessions.urls import open_store
from tether.ui import create_app


@pytest.fixture(
    params=[
        "sqlite",
        "jsonl",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    if kind == "jsonl":
        return f"jsonl://{tmp_path / 'claude'}"
    if kind == "postgres":
        return f"{request.getfixturevalue('postgres_url')}?scope=ui-{uuid.uuid4().hex[:8]}"
    return f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"


def test_the_browser_reads_and_acts_on_any_store_url(store_url: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()

    async def fill() -> tuple[str, str]:
        store = open_store(store_url)
        try:
            made = await make_sessions(store, work)
        finally:
            await store_access(store).close()
        return made.main, made.fork

    main, fork = anyio.run(fill)
    app = create_app(open_store(store_url), token=TOKEN, hosts=HOSTS, close_store=True)
    with TestClient(app, follow_redirects=False) as client:
        listing = client.get(f"/?token={TOKEN}")
        assert listing.status_code == 200
        listed = re.findall(r'class="session-row" data-session="([^"]+)"', listing.text)
        assert set(listed) >= {main, fork} and len(listed) == 3
        assert listing.text.count("<td>scripted-model</td>") == 3  # the model, from each store's summaries
        page = client.get(f"/s/{main}").text
        assert 'data-tool="Edit"' in page and f'href="/s/{fork}"' in page
        renamed = client.post(f"/s/{fork}/rename", data={"title": "Renamed here", "csrf": TOKEN})
        assert renamed.status_code == 303
        assert '<h1 id="session-title">Renamed here</h1>' in client.get(f"/s/{fork}").text
