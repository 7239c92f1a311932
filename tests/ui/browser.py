"""A real headless Chromium (Debian's `chromium` and `chromium-driver`, through selenium) and the
browser served by uvicorn on 127.0.0.1, for the tests that click through the page."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
import uvicorn

from tether._vocabulary.store import SessionStore
from tether.ui import create_app

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

TOKEN = "browser-token-0123456789"


def needs_chromium() -> None:
    """Skip the test, saying why, when Debian's chromium or its driver is not installed."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install -y chromium chromium-driver)")


@contextmanager
def chrome() -> Iterator[Chrome]:
    """A headless Chromium driven by Debian's chromedriver (named, so selenium downloads nothing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Served:
    """The browser's app served on 127.0.0.1: its base URL and the URL `tether ui` would print."""

    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/?token={TOKEN}"


@contextmanager
def served(store: SessionStore, *, allow_run: bool = False) -> Iterator[Served]:
    """The app over `store`, served by uvicorn in a thread on a free port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(store, token=TOKEN, hosts=[f"127.0.0.1:{port}"], allow_run=allow_run)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(500):
        if server.started:
            started.set()
            break
        threading.Event().wait(0.01)
    assert started.is_set(), "uvicorn did not start"
    try:
        yield Served(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
