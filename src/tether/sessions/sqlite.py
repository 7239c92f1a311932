"""`SQLiteStore`, at its former path: the store lives in `tether.sessions.stores.sqlite`."""

from tether.sessions.stores.sqlite import SCHEMA_VERSION as SCHEMA_VERSION
from tether.sessions.stores.sqlite import SQLiteStore as SQLiteStore
from tether.sessions.stores.sqlite import default_sqlite_path as default_sqlite_path

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "default_sqlite_path"]
