"""How big each part of the bench is: the full run (`make bench`) and a quick one for development."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AgentConfig:
    reps: int
    """`query()` runs for time to first message and round trip (after one warm-up run)."""
    resume_turns: list[int]
    resume_reps: int
    memory_clients: int
    memory_base_clients: int
    concurrent_sessions: int
    cold_reps: int = 3
    """Fresh processes timed from the SDK's import to the first message."""


@dataclass
class StoreConfig:
    sizes: list[int]
    """Item counts at which a growing session is measured (4 items a turn)."""
    full_at: list[int]
    """Sizes at which forks are measured too."""
    list_sessions: int
    list_reps: int
    table_sizes: tuple[int, int] = (1000, 10_000)
    """The two sizes the table shows."""
    time_cap_s: float | None = None
    bytes_cap: int | None = None


@dataclass
class Config:
    name: str
    agent: dict[str, AgentConfig]
    stores: dict[str, StoreConfig]
    worker_timeout_s: float = 600.0
    drive: dict[str, int] = field(default_factory=dict)


SIZES = [100, 250, 500, 1000, 2500, 5000, 10_000]

FULL = Config(
    name="full",
    agent={
        "tether": AgentConfig(
            reps=15,
            resume_turns=[10, 50, 200, 1000, 2500],
            resume_reps=5,
            memory_clients=100,
            memory_base_clients=10,
            concurrent_sessions=100,
            cold_reps=5,
        ),
        # Each query spawns a CLI of about 200 MB: few runs, at most 10 at once.
        "claude-agent-sdk": AgentConfig(
            reps=7,
            resume_turns=[10, 200, 1000, 2500],
            resume_reps=3,
            memory_clients=3,
            memory_base_clients=0,
            concurrent_sessions=10,
        ),
    },
    stores={
        "tether": StoreConfig(SIZES, SIZES, list_sessions=10_000, list_reps=21),
        "openai-agents": StoreConfig(SIZES, SIZES, list_sessions=0, list_reps=0),
        # LangGraph stores the whole state in every checkpoint: 10k items would take about 7 min
        # and 15 GB, so it grows until a time or disk cap and the rest is extrapolated.
        "langgraph": StoreConfig(
            SIZES, SIZES, list_sessions=10_000, list_reps=7, time_cap_s=75, bytes_cap=1_500_000_000
        ),
        "claude-agent-sdk": StoreConfig([], [], list_sessions=10_000, list_reps=5),
    },
)

QUICK = Config(
    name="quick",
    agent={
        "tether": AgentConfig(
            reps=5,
            resume_turns=[10, 200],
            resume_reps=2,
            memory_clients=20,
            memory_base_clients=5,
            concurrent_sessions=20,
        ),
        "claude-agent-sdk": AgentConfig(
            reps=2, resume_turns=[200], resume_reps=1, memory_clients=2, memory_base_clients=0, concurrent_sessions=2
        ),
    },
    stores={
        "tether": StoreConfig([100, 1000], [100, 1000], list_sessions=1000, list_reps=5, table_sizes=(100, 1000)),
        "openai-agents": StoreConfig([100, 1000], [100, 1000], list_sessions=0, list_reps=0),
        "langgraph": StoreConfig(
            [100, 500], [100, 500], list_sessions=1000, list_reps=3, time_cap_s=20, bytes_cap=300_000_000
        ),
        "claude-agent-sdk": StoreConfig([], [], list_sessions=1000, list_reps=3),
    },
    worker_timeout_s=300.0,
)
