"""Store micro-benchmarks of LangGraph's `SqliteSaver` (run in `bench/.venv`).

    bench/.venv/bin/python -m bench.store_langgraph '{"phase": "grow", "dir": "...", ...}'

A turn is what LangGraph users pay per turn: one `graph.invoke({"messages": [HumanMessage]})` on
a `MessagesState` graph whose single node answers with a tool call, the tool's output and a text
(4 messages a turn, the bench's workload), checkpointed by `SqliteSaver` with the default
durability. `load` is `graph.get_state(config)`; there is no partial read, so the last 50 are
the full state sliced. A fork is `graph.update_state(config at a checkpoint, None)`: it writes a
new checkpoint holding the whole state at that point, which becomes the thread's head; forks at
the end are taken last from the end checkpoint, so the thread goes on from the same history.

Phase `list`: threads of one turn each (checkpoints copied with `saver.put`, which is much
faster than invoking the graph), then `saver.list(None, limit=50)`: LangGraph lists
checkpoints across threads, not threads, and has no other listing outside its platform.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage, messages_to_dict
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, MessagesState, StateGraph

from bench.store_driver import drive
from bench.workload import checkpoint_sqlite, emit, json_size, summary, turn_texts, worker_args


def turn_messages(index: int) -> list[AnyMessage]:
    texts = turn_texts(index)
    call = {"name": texts["tool"], "args": json.loads(texts["arguments"]), "id": texts["call_id"]}
    return [
        HumanMessage(content=texts["prompt"], id=f"human-{index}"),
        AIMessage(content="", tool_calls=[call], id=f"ai-{index}-call"),
        ToolMessage(content=texts["output"], tool_call_id=texts["call_id"], id=f"tool-{index}"),
        AIMessage(content=texts["answer"], id=f"ai-{index}-answer"),
    ]


def _answer(state: MessagesState) -> dict[str, list[AnyMessage]]:
    prompt = str(state["messages"][-1].content)
    index = int(prompt.split("]", 1)[0].split()[-1])
    return {"messages": turn_messages(index)[1:]}


def build_graph(saver: SqliteSaver) -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _answer)
    builder.add_edge(START, "agent")
    return builder.compile(checkpointer=saver)


class LangGraphAdapter:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "langgraph.db"
        self.connection = sqlite3.connect(self.path, check_same_thread=False)
        self.saver = SqliteSaver(self.connection)
        self.graph = build_graph(self.saver)
        self.config = {"configurable": {"thread_id": "bench-main"}}
        self.turn_checkpoints: list[str] = []
        self.json_total = 0

    def append_turn(self, index: int) -> None:
        messages = turn_messages(index)
        self.graph.invoke({"messages": [messages[0]]}, self.config)
        self.json_total += json_size(messages_to_dict(messages))
        self.turn_checkpoints.append(self._head())

    def _head(self) -> str:
        row = self.connection.execute(
            "SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''", ("bench-main",)
        ).fetchone()
        return str(row[0])

    def _at(self, checkpoint_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": "bench-main", "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}

    def load_all(self) -> int:
        return len(self.graph.get_state(self.config).values["messages"])

    def load_tail(self, count: int) -> int:
        return len(self.graph.get_state(self.config).values["messages"][-count:])

    def fork_mid(self, rep: int) -> None:
        self.graph.update_state(self._at(self.turn_checkpoints[len(self.turn_checkpoints) // 2 - 1]), None)

    def fork_end(self, rep: int) -> None:
        self.graph.update_state(self._at(self.turn_checkpoints[-1]), None)

    def bytes_on_disk(self) -> int:
        self.connection.commit()
        return checkpoint_sqlite(self.path)

    def json_bytes(self) -> int:
        return self.json_total


async def grow(args: dict[str, Any]) -> dict[str, Any]:
    adapter = LangGraphAdapter(Path(args["dir"]))
    try:
        return await drive(adapter, sizes=args["sizes"], full_at=args["full_at"], **args.get("drive", {}))
    finally:
        adapter.connection.close()


async def listing(args: dict[str, Any]) -> dict[str, Any]:
    connection = sqlite3.connect(Path(args["dir"]) / "langgraph-list.db", check_same_thread=False)
    saver = SqliteSaver(connection)
    graph = build_graph(saver)
    graph.invoke({"messages": [turn_messages(0)[0]]}, {"configurable": {"thread_id": "template"}})
    template = saver.get_tuple({"configurable": {"thread_id": "template"}})
    assert template is not None
    start = time.perf_counter()
    for index in range(args["sessions"]):
        checkpoint = copy.copy(template.checkpoint)
        checkpoint["id"] = str(uuid6(clock_seq=index))
        config = {"configurable": {"thread_id": f"thread-{index}", "checkpoint_ns": ""}}
        saver.put(config, checkpoint, template.metadata, {})  # type: ignore[arg-type]
    created = time.perf_counter() - start
    times = []
    for _ in range(args["reps"]):
        started = time.perf_counter()
        page = list(saver.list(None, limit=50))
        times.append(time.perf_counter() - started)
    connection.close()
    if len(page) != 50:
        raise RuntimeError(f"saver.list returned {len(page)} checkpoints, not 50")
    return {"sessions": args["sessions"], "create_seconds": created, "first_page": summary(times)}


PHASES = {"grow": grow, "list": listing}

if __name__ == "__main__":
    arguments = worker_args()
    emit(asyncio.run(PHASES[arguments["phase"]](arguments)))
