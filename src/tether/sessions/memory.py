"""`MemoryStore`, at its former path: the store lives in `tether.sessions.stores.memory`."""

from tether.sessions.stores.memory import MemoryStore as MemoryStore

__all__ = ["MemoryStore"]
