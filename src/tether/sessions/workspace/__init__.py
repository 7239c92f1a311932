"""Workspaces that travel with their sessions: snapshots of the working directory in the session
store (`snapshots`), the scanning and restoring of a directory (`tree`), and what carries them
between directories, stores and machines (`travel`)."""
