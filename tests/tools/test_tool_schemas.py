"""The JSON schema the model sees for a `@tool`'s input, for the Python types users write, and how
arguments are checked against it before the handler runs."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from typing_extensions import TypedDict

from tether.tools.base import ToolContext, schema_from_annotation, tool
from tether.tools.mcp import McpServers
from tether.tools.sdk_server import create_sdk_mcp_server

pytestmark = pytest.mark.anyio


class Address(TypedDict):
    city: str
    zip: str


@dataclasses.dataclass
class Shipment:
    to: Address
    weights: dict[str, float]
    tags: set[str]
    extra: Any
    ship_on: datetime.date


SHIPMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "to": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city", "zip"],
        },
        "weights": {"type": "object"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "extra": {},
        "ship_on": {"type": "string"},
    },
    "required": ["to", "weights", "tags", "extra", "ship_on"],
}


def test_a_dataclass_describes_the_input_like_a_typeddict() -> None:
    assert schema_from_annotation(Shipment) == SHIPMENT_SCHEMA


def test_a_param_map_may_mix_types_and_json_schema_fragments() -> None:
    schema = schema_from_annotation({"when": {"type": "string", "format": "date"}, "count": int})
    assert schema == {
        "type": "object",
        "properties": {"when": {"type": "string", "format": "date"}, "count": {"type": "integer"}},
        "required": ["when", "count"],
    }


def test_what_describes_no_input_gives_an_empty_object_schema() -> None:
    assert schema_from_annotation(None) == {"type": "object", "properties": {}}


async def test_arguments_are_checked_against_the_derived_schema(context: ToolContext) -> None:
    received: list[dict[str, Any]] = []

    @tool("ship", "Ship a parcel", Shipment)
    async def ship(args: dict[str, Any]) -> dict[str, Any]:
        received.append(args)
        return {"content": "shipped"}

    good = {"to": {"city": "Oslo", "zip": "0150"}, "weights": {"box": 1.5}, "tags": [], "extra": 1, "ship_on": "x"}
    async with McpServers({"post": create_sdk_mcp_server("post", tools=[ship])}) as servers:
        (tool_of_server,) = servers.tools
        refused = await tool_of_server.call({**good, "to": {"city": "Oslo"}}, context)
        accepted = await tool_of_server.call(good, context)

    assert refused.is_error and "'zip' is a required property" in str(refused.content)
    assert not accepted.is_error and received == [good]
