"""`tether ui`'s session list over 10,000 sessions in SQLite: how long the page takes.

    .venv/bin/python -m bench.ui_list [--sessions 10000] [--repeat 20]

A fresh SQLite file gets `--sessions` sessions (a prompt, a reply with a model and usage, a
`cost-state`, as a run writes them; every 100th tagged `bench`), through the store's own
`append`. Then the browser app (the ASGI app `tether ui` serves, driven in process by
Starlette's TestClient, token and Host check included) is asked for: the first page (50 rows,
newest first), a deep page (the store's cursor after 100 pages), a search for a word of the
first prompts that 1 in 10 sessions has (walks the summaries newest first until a page of 50
matches), a tag filter (1 in 100: walks them all), a session's page (transcript, lease and the
fork tree, which reads every summary). Figures are medians in ms.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import anyio

from bench.sessions import median_ms
from tether.sessions.capabilities import store_access
from tether.sessions.entries import make_meta_entry
from tether.sessions.stores.sqlite import SQLiteStore

TOKEN = "bench-token"


def _entries(session_id: str, index: int) -> list[dict[str, object]]:
    prompt_id, reply_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = "2026-12-07T12:00:00.000Z"
    word = "needle" if index % 10 == 0 else "hay"
    common = {"sessionId": session_id, "timestamp": stamp, "cwd": f"/work/project{index % 20}", "version": "0.1"}
    entries: list[dict[str, object]] = [
        {**common, "type": "user", "uuid": prompt_id, "parentUuid": None,
         "message": {"role": "user", "content": f"question {index} about {word}"}},
        {**common, "type": "assistant", "uuid": reply_id, "parentUuid": prompt_id,
         "message": {"role": "assistant", "model": "claude-sonnet-4-5",
                     "content": [{"type": "text", "text": "an answer " * 20}],
                     "usage": {"input_tokens": 120, "output_tokens": 40}}},
        make_meta_entry("cost-state", session_id=session_id, totalCostUSD=0.0012, usage={}, modelUsage={}),
    ]  # fmt: skip
    if index % 100 == 0:
        entries.append(make_meta_entry("tag", session_id=session_id, tag="bench"))
    return entries


async def fill(store: SQLiteStore, sessions: int) -> str:
    access = store_access(store)
    last = ""
    for index in range(sessions):
        last = str(uuid.uuid4())
        await access.append({"project_key": f"-work-project{index % 20}", "session_id": last}, _entries(last, index))
    return last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from starlette.testclient import TestClient

    from tether.ui import create_app

    with tempfile.TemporaryDirectory() as home:
        store = SQLiteStore(Path(home) / "sessions.db")
        started = time.perf_counter()
        newest = anyio.run(fill, store, args.sessions)
        print(f"filled {args.sessions:,} sessions in {time.perf_counter() - started:.1f} s")
        app = create_app(store, token=TOKEN, hosts=["testserver"])
        with TestClient(app) as client:
            client.get(f"/?token={TOKEN}")
            cursor = ""
            for _ in range(100):  # the pager's "Older sessions" link, followed 100 times
                page = client.get(f"/?cursor={cursor}")
                cursor = page.text.split('id="next-page" href="')[1].split('"')[0].split("cursor=")[1]

            def timed(path: str) -> float:
                samples = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    response = client.get(path)
                    samples.append(time.perf_counter() - start)
                    assert response.status_code == 200, (path, response.status_code)
                    assert "list-error" not in response.text, path
                return median_ms(samples)

            rows = {
                "first page (50 rows)": "/",
                "page 101 (store cursor)": f"/?cursor={cursor}",
                "search 'needle' (1 in 10)": "/?q=needle",
                "tag filter 'bench' (1 in 100)": "/?tag=bench",
                "a session's page": f"/s/{newest}",
            }
            for label, path in rows.items():
                shown = client.get(path).text.count('class="session-row"')
                print(f"{label:32} {timed(path):8.1f} ms  ({shown} rows)")
        anyio.run(store.close)


if __name__ == "__main__":
    main()
