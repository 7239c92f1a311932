"""Every example of the SDK is run by a test here, or named below with where it is covered."""

from __future__ import annotations

from pathlib import Path

from tests.sdk_examples.harness import port

HERE = Path(__file__).parent
ELSEWHERE = {
    "streaming_mode.py": "tests/client/test_client_streaming_examples.py",
    "streaming_mode_ipython.py": "tests/client/test_client_streaming_examples.py",
    "streaming_mode_trio.py": "tests/client/test_client_streaming_examples.py",
}


def test_every_sdk_example_is_accounted_for(sdk_examples_source: Path) -> None:
    tested = {path.name for path in HERE.glob("test_example_*.py")}
    for example in sorted(sdk_examples_source.glob("*.py")):
        stem = example.stem.removesuffix("_example")
        if example.name not in ELSEWHERE:
            assert f"test_example_{stem}.py" in tested, f"{example.name} has no test (new in the SDK?)"
    stores = {path.name for path in (sdk_examples_source / "session_stores").glob("*_session_store.py")}
    assert stores == {"postgres_session_store.py", "redis_session_store.py", "s3_session_store.py"}


def test_port_changes_the_import_lines_and_nothing_else() -> None:
    source = (
        "import anyio\n"
        "from claude_agent_sdk import (\n    query,\n)\n"
        "from claude_agent_sdk.types import HookMatcher\n"
        "import claude_agent_sdk\n"
        "def f():\n    from claude_agent_sdk import tool\n"
        "text = 'from claude_agent_sdk import x'\n"
    )
    assert port(source) == (
        "import anyio\n"
        "from tether import (\n    query,\n)\n"
        "from tether.types import HookMatcher\n"
        "import tether as claude_agent_sdk\n"
        "def f():\n    from tether import tool\n"
        "text = 'from claude_agent_sdk import x'\n"
    )
