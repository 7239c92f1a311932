"""`make bench`: tether beside its peers (see `bench/run.py` and `docs/performance.md`)."""
