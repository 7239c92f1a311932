"""The SDK's reference session stores (`examples/session_stores/`) on tether, only the imports changed.

Each adapter (Redis, PostgreSQL, S3) is loaded from the SDK's examples, passes tether's store
conformance suite, and serves a query then its resume, as the adapters' README shows:
`query(prompt="Hello!", options=ClaudeAgentOptions(session_store=store))`, then `resume=`.
"""

from __future__ import annotations

import inspect
import itertools
import sys
import types
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from tests.fakes import FakeAnthropicServer
from tests.sdk_examples.harness import port, prompt_of

from tether import ClaudeAgentOptions, ResultMessage, project_key_for_directory, query

pytestmark = pytest.mark.anyio


def load_adapter(examples_dir: Path, name: str) -> types.ModuleType:
    """`session_stores/<name>.py` of the SDK, its imports pointed at tether, as a module."""
    path = examples_dir / "session_stores" / f"{name}.py"
    module = types.ModuleType(f"sdk_session_stores_{name}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclasses look their module up while being built
    try:
        exec(compile(port(path.read_text(encoding="utf-8")), str(path), "exec"), module.__dict__)
    except BaseException:
        del sys.modules[module.__name__]
        raise
    return module


@pytest.fixture
async def redis_stores(
    sdk_examples_source: Path, redis_url: str, redis_prefix: str
) -> AsyncIterator[Callable[[], Any]]:
    """Stores of the SDK's Redis adapter, each under its own key prefix (the keys are deleted after)."""
    redis_asyncio = pytest.importorskip("redis.asyncio")
    client = redis_asyncio.Redis.from_url(redis_url, decode_responses=True)
    module = load_adapter(sdk_examples_source, "redis_session_store")
    names = (f"{redis_prefix}:{n}" for n in itertools.count())
    try:
        yield lambda: module.RedisSessionStore(client=client, prefix=next(names))
    finally:
        await client.aclose()


@pytest.fixture
async def postgres_stores(sdk_examples_source: Path, postgres_url: str) -> AsyncIterator[Callable[[], Any]]:
    """Stores of the SDK's PostgreSQL adapter, each in its own table of the module's database."""
    asyncpg = pytest.importorskip("asyncpg", reason="the SDK's PostgreSQL adapter needs asyncpg")
    module = load_adapter(sdk_examples_source, "postgres_session_store")
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=4)

    async def make() -> Any:
        store = module.PostgresSessionStore(pool=pool, table=f"sessions_{uuid.uuid4().hex[:10]}")
        await store.create_schema()
        return store

    try:
        yield make
    finally:
        await pool.close()


@pytest.fixture
def s3_stores(sdk_examples_source: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Any]]:
    boto3 = pytest.importorskip("boto3", reason="the SDK's S3 adapter needs boto3")
    moto = pytest.importorskip("moto", reason="the S3 adapter is tested against moto's in-process S3")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    module = load_adapter(sdk_examples_source, "s3_session_store")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="sessions")
        names = (f"transcripts-{n}" for n in itertools.count())
        yield lambda: module.S3SessionStore(bucket="sessions", prefix=next(names), client=client)


@pytest.fixture(params=["redis", "postgres", "s3"])
def make_store(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """Makes stores of each of the SDK's reference adapters in turn, each in a fresh namespace."""
    return cast("Callable[[], Any]", request.getfixturevalue(f"{request.param}_stores"))


async def test_reference_store_passes_the_conformance_suite(make_store: Callable[[], Any]) -> None:
    """The adapters' README: "validate with `run_session_store_conformance`" (from the testing module)."""
    import tether.testing

    run_session_store_conformance = tether.testing.run_session_store_conformance
    await run_session_store_conformance(make_store)


async def _made(store: Any) -> Any:
    return await store if inspect.isawaitable(store) else store


def reply_with_history(body: dict[str, Any]) -> str:
    prompt, _ = prompt_of(body)
    return "Hi there!" if prompt == "Hello!" else f"We had {len(body['messages'])} messages so far."


async def test_reference_store_serves_a_query_and_its_resume(
    make_store: Callable[[], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter_store = await _made(make_store())
    monkeypatch.chdir(tmp_path)
    with FakeAnthropicServer([reply_with_history, reply_with_history]) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
        results = []
        async for message in query(prompt="Hello!", options=ClaudeAgentOptions(session_store=adapter_store)):
            if isinstance(message, ResultMessage) and message.subtype == "success":
                results.append(message)
        (first,) = results
        assert first.result == "Hi there!"

        options = ClaudeAgentOptions(session_store=adapter_store, resume=first.session_id)
        async for message in query(prompt="Continue where we left off", options=options):
            if isinstance(message, ResultMessage) and message.subtype == "success":
                results.append(message)
        assert results[-1].result == "We had 3 messages so far."
        assert [m["role"] for m in server.requests[-1]["messages"]] == ["user", "assistant", "user"]

    key = {"project_key": project_key_for_directory(str(tmp_path)), "session_id": first.session_id}
    stored = await adapter_store.load(key)
    assert stored is not None
    texts = [str(entry.get("message", {}).get("content")) for entry in stored if entry.get("type") == "assistant"]
    assert any("Hi there!" in text for text in texts) and any("We had 3 messages" in text for text in texts)
