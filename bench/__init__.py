"""Benchmarks: `python -m bench.run_all` (or `make bench`); each module also runs alone."""
