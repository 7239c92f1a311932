"""`RedisStore`, at its former path: the store lives in `tether.sessions.stores.redis`."""

from tether.sessions.stores.redis import SCHEMA_VERSION as SCHEMA_VERSION
from tether.sessions.stores.redis import RedisStore as RedisStore

__all__ = ["SCHEMA_VERSION", "RedisStore"]
