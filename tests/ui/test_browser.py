"""The browser in a real headless Chromium: the list, a session, a fork in the tree, a rename, a live turn.

Skipped (with the reason) only where Debian's `chromium` and `chromium-driver` are absent; CI
installs them (`.ci/run`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from tests.ui.browser import Served, chrome, needs_chromium, served
from tests.ui.live_turn import ANSWER, PROMPT, LiveTurn
from tests.ui.support import Made

from tether.sessions.helpers import get_session_info_async
from tether.sessions.stores.sqlite import SQLiteStore

WAIT = 15.0
"""The longest a step waits for the page (a bound, not a speed goal)."""


@pytest.fixture
def site(sqlite_store: SQLiteStore, made: Made) -> Iterator[Served]:
    needs_chromium()
    with served(sqlite_store) as serving:
        yield serving


def test_list_open_a_session_follow_a_fork_and_rename(site: Served, made: Made, sqlite_store: SQLiteStore) -> None:
    with chrome() as driver:
        wait = WebDriverWait(driver, WAIT)
        driver.get(site.url)
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.session-row")
        assert [row.get_attribute("data-session") for row in rows] == [made.plain, made.fork, made.main]

        driver.find_element(By.CSS_SELECTOR, f'tr[data-session="{made.main}"] a').click()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "tree")))
        assert driver.current_url == f"{site.base}/s/{made.main}"  # the token now rides in the cookie
        tool = driver.find_element(By.CSS_SELECTOR, 'details.tool[data-tool="Edit"]')
        assert tool.get_attribute("open") is None  # folded
        tool.find_element(By.TAG_NAME, "summary").click()
        assert "+gamma" in tool.find_element(By.CSS_SELECTOR, "pre.diff").text

        driver.find_element(By.CSS_SELECTOR, f'#tree a.branch[data-session="{made.fork}"]').click()
        wait.until(expected_conditions.url_to_be(f"{site.base}/s/{made.fork}"))
        assert driver.find_element(By.ID, "session-title").text == "Other way"
        assert "The other way." in driver.find_element(By.ID, "transcript").text

        title = driver.find_element(By.ID, "rename-title")
        title.clear()
        title.send_keys("Renamed in Chromium")
        driver.find_element(By.ID, "rename-button").click()
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "session-title"), "Renamed in Chromium"))
    info = anyio.run(lambda: get_session_info_async(made.fork, store=sqlite_store))
    assert info.title == "Renamed in Chromium"


def test_search_as_you_type_swaps_the_rows(site: Served, made: Made) -> None:
    with chrome() as driver:
        driver.get(site.url)
        driver.find_element(By.ID, "q").send_keys("demo")
        WebDriverWait(driver, WAIT).until(
            lambda d: (
                [r.get_attribute("data-session") for r in d.find_elements(By.CSS_SELECTOR, "tr.session-row")]
                == [made.plain]
            )
        )


def test_reading_works_with_javascript_off(site: Served, made: Made, tmp_path: Path) -> None:
    from selenium import webdriver

    with chrome() as driver:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        driver.get(site.url)
        driver.find_element(By.CSS_SELECTOR, f'tr[data-session="{made.main}"] a').click()
        assert "Create notes.txt with two lines" in driver.find_element(By.ID, "transcript").text
        assert isinstance(driver, webdriver.Chrome)


def test_watch_a_live_turn_arrive_without_reloading(site: Served, made: Made, tmp_path: Path) -> None:
    turn = LiveTurn(tmp_path / "sessions.db", made.plain, tmp_path / "work")
    with chrome() as driver:
        wait = WebDriverWait(driver, WAIT)
        driver.get(site.url)
        driver.get(f"{site.base}/s/{made.plain}")
        assert PROMPT not in driver.find_element(By.ID, "transcript").text
        driver.execute_script("window.notReloaded = true")  # gone if the page reloads
        turn.start()
        try:
            wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "transcript"), PROMPT))
            wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "lease-owner"), "lease held by"))
            assert driver.find_elements(By.CSS_SELECTOR, '#transcript details.tool[data-tool="Write"]')
            turn.go.set()
            wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "transcript"), ANSWER))
            wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "lease-owner"), "idle"))
        finally:
            turn.join()
        assert driver.execute_script("return window.notReloaded") is True
