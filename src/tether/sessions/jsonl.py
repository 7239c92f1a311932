"""`JsonlStore`, at its former path: the store lives in `tether.sessions.stores.jsonl`."""

from tether.sessions.stores.jsonl import FORK_SIDECAR as FORK_SIDECAR
from tether.sessions.stores.jsonl import HEAD_TAIL_BYTES as HEAD_TAIL_BYTES
from tether.sessions.stores.jsonl import JsonlStore as JsonlStore
from tether.sessions.stores.jsonl import copy_for_fork as copy_for_fork
from tether.sessions.stores.jsonl import encode_lines as encode_lines

__all__ = ["FORK_SIDECAR", "HEAD_TAIL_BYTES", "JsonlStore", "copy_for_fork", "encode_lines"]
