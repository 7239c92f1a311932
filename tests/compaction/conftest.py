"""Fixtures of the compaction tests: the server stores' fixtures of tests/stores, reused."""

from __future__ import annotations

from tests.stores.conftest import postgres_url, redis_prefix, redis_url

__all__ = ["postgres_url", "redis_prefix", "redis_url"]
