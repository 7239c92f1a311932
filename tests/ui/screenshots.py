"""Screenshots of the browser's main pages for the README: `python -m tests.ui.screenshots`.

Makes the test sessions (`tests.ui.support.make_sessions`) in a fresh SQLite file, serves the
browser over it and has headless Chromium save `docs/ui/list.png`, `docs/ui/session.png` (the
Edit call unfolded) and `docs/ui/diff.png`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from selenium.webdriver.common.by import By
from tests.ui.browser import chrome, served
from tests.ui.support import make_sessions

from tether.sessions.stores.sqlite import SQLiteStore

OUT = Path(__file__).resolve().parents[2] / "docs" / "ui"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        work = Path(home) / "work"
        work.mkdir()
        store = SQLiteStore(Path(home) / "sessions.db")
        made = anyio.run(make_sessions, store, work)
        with served(store) as site, chrome() as driver:
            driver.set_window_size(1280, 760)
            driver.get(site.url)
            driver.save_screenshot(str(OUT / "list.png"))
            driver.get(f"{site.base}/s/{made.main}")
            driver.find_element(By.CSS_SELECTOR, 'details.tool[data-tool="Edit"] summary').click()
            driver.set_window_size(1280, 1100)
            driver.save_screenshot(str(OUT / "session.png"))
            driver.set_window_size(1280, 760)
            driver.get(f"{site.base}/diff?a={made.main}&b={made.fork}")
            driver.save_screenshot(str(OUT / "diff.png"))
        anyio.run(store.close)
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
