"""What a store keeps of an entry's values: JSON's, and a TypeError (nothing written) for what JSON has not."""

from __future__ import annotations

import datetime
import decimal
import enum
import math
import uuid
from pathlib import Path
from typing import Any

import pytest

from tether._vocabulary.store import SessionKey
from tether.sessions.stores._core import decode_entries
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


class _Color(enum.Enum):
    RED = 1


class _Level(enum.IntEnum):
    HIGH = 3


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "sessions.db")


def _key() -> SessionKey:
    return SessionKey(project_key="-json", session_id=str(uuid.uuid4()))


async def _stored(store: Any, value: Any) -> Any:
    key = _key()
    await store.append(key, [{"type": "user", "uuid": "u1", "value": value}])
    loaded = await store.load(key)
    assert loaded is not None and len(loaded) == 1
    return loaded[0]["value"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e16, 1e16),
        (1e-5, 1e-5),
        (-0.0, -0.0),
        (2**70, 2**70),
        ('é \u2028 \n\t\x00 "q" \\', 'é \u2028 \n\t\x00 "q" \\'),
        ("\ud800 lone", "\ud800 lone"),
        ((1, [2, (3,)]), [1, [2, [3]]]),
        ({1: "a", None: "b", 2.5: "c"}, {"1": "a", "null": "b", "2.5": "c"}),
        (_Level.HIGH, 3),
        ({"nested": [{"deep": [None, True, 1.5]}]}, {"nested": [{"deep": [None, True, 1.5]}]}),
    ],
)
async def test_values_come_back_as_json_reads_them(store: Any, value: Any, expected: Any) -> None:
    loaded = await _stored(store, value)
    assert loaded == expected
    assert type(loaded) is type(expected)
    if isinstance(expected, float):
        assert math.copysign(1, loaded) == math.copysign(1, expected)


async def test_nan_and_infinities_come_back(store: Any) -> None:
    loaded = await _stored(store, [math.nan, math.inf, -math.inf])
    assert math.isnan(loaded[0]) and loaded[1:] == [math.inf, -math.inf]


@pytest.mark.parametrize(
    "value", [datetime.datetime(2026, 1, 1), b"bytes", {1, 2}, decimal.Decimal("1.5"), _Color.RED, object()]
)
async def test_values_json_has_not_are_refused_and_write_nothing(store: Any, value: Any) -> None:
    key = _key()
    good = {"type": "user", "uuid": "u0"}
    with pytest.raises(TypeError, match="entry 1 cannot be stored as JSON"):
        await store.append(key, [good, {"type": "user", "uuid": "u1", "value": value}])
    assert await store.load(key) is None


def test_a_stored_text_reads_the_same_as_str_and_as_utf8_bytes() -> None:
    texts = [
        '{"type":"user","uuid":"u1","text":"café ✓"}',
        '{"uuid":"u2","v":NaN,"s":"\\ud800"}',
        "not json {",
        "[1, 2]",
        '{"uuid": 7}',
        "\ufeff{}",  # a byte order mark: not JSON
        "[" * 5_000 + "]" * 5_000,
    ]
    as_str = decode_entries(texts)
    as_bytes = decode_entries([text.encode("utf-8", "surrogatepass") for text in texts])
    assert repr(as_bytes) == repr(as_str)  # NaN included
    assert [entry["uuid"] for entry in as_str[0]] == ["u1", "u2"]
    assert len(as_str[1]) == 5
