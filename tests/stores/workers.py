"""Worker processes for the multi-process store tests (run as a script, never collected).

python workers.py race URL SESSION_ID      answer `read` / `write` commands on stdin
python workers.py burst URL SESSION_ID     append turns until killed, print each acknowledged uuid
python workers.py open URL SESSION_ID      open an (empty) store and append one entry
python workers.py fleet URL WORKER ROUNDS SESSIONS SEED   the fleet test's worker
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from typing import Any

import anyio

from tether._vocabulary.store import SessionKey
from tether.errors import SessionConflictError
from tether.sessions.store import NO_LEAF
from tether.sessions.urls import open_store

PROJECT = "-fleet"


def entry(session_id: str, parent: str | None, text: str) -> dict[str, Any]:
    return {
        "type": "user",
        "uuid": str(uuid.uuid4()),
        "parentUuid": parent,
        "sessionId": session_id,
        "message": {"role": "user", "content": text},
    }


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def race(url: str, session_id: str) -> None:
    store: Any = open_store(url)
    key = SessionKey(project_key=PROJECT, session_id=session_id)
    leaf: str | None = None
    for command in sys.stdin:
        if command.strip() == "read":
            found = await store.find(session_id)
            leaf = found.leaf if found else None
            say(str(leaf))
        elif command.startswith("write"):
            new = entry(session_id, leaf, command.split()[1])
            try:
                await store.append(key, [new], expected_leaf=leaf or NO_LEAF)
                say(f"won {new['uuid']}")
            except SessionConflictError:
                say("conflict")
    await store.close()


async def burst(url: str, session_id: str) -> None:
    store: Any = open_store(url)
    key = SessionKey(project_key=PROJECT, session_id=session_id)
    parent = None
    for index in range(10**9):
        turn = []
        for part in range(4):
            turn.append(entry(session_id, parent, f"turn {index} part {part} " + "x" * 300))
            parent = turn[-1]["uuid"]
        await store.append(key, turn)
        say(str(parent))


async def open_and_append(url: str, session_id: str) -> None:
    store: Any = open_store(url)
    await store.append(SessionKey(project_key=PROJECT, session_id=session_id), [entry(session_id, None, "hello")])
    await store.close()
    say("ok")


async def fleet(url: str, worker: int, rounds: int, sessions: int, seed: int) -> None:
    """Resume a random session, append a turn (2 entries) on its leaf; retry on conflict."""
    rng = random.Random(seed * 1000 + worker)
    store: Any = open_store(url)
    await store.load(SessionKey(project_key=PROJECT, session_id="fleet-warmup"))  # connect, migrate
    say("ready")
    sys.stdin.readline()  # start together with the other workers
    conflicts = 0
    for round_ in range(rounds):
        session_id = f"fleet-{rng.randrange(sessions)}"
        key = SessionKey(project_key=PROJECT, session_id=session_id)
        while True:
            loaded = await store.load(key) or []
            leaf = next((e["uuid"] for e in reversed(loaded) if e.get("uuid")), None)
            first = entry(session_id, leaf, f"w{worker} r{round_} prompt")
            second = entry(session_id, first["uuid"], f"w{worker} r{round_} answer")
            try:
                await store.append(key, [first, second], expected_leaf=leaf or NO_LEAF)
            except SessionConflictError:
                conflicts += 1
                continue
            say(json.dumps({"session": session_id, "turn": [first["uuid"], second["uuid"]]}))
            break
    await store.close()
    say(json.dumps({"conflicts": conflicts}))


def main() -> None:
    command, url, *rest = sys.argv[1:]
    if command == "race":
        anyio.run(race, url, rest[0])
    elif command == "burst":
        anyio.run(burst, url, rest[0])
    elif command == "open":
        anyio.run(open_and_append, url, rest[0])
    elif command == "fleet":
        anyio.run(fleet, url, int(rest[0]), int(rest[1]), int(rest[2]), int(rest[3]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
