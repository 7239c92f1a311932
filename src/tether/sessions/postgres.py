"""`PostgresStore`, at its former path: the store lives in `tether.sessions.stores.postgres`."""

from tether.sessions.stores.postgres import SCHEMA_VERSION as SCHEMA_VERSION
from tether.sessions.stores.postgres import PostgresStore as PostgresStore

__all__ = ["SCHEMA_VERSION", "PostgresStore"]
