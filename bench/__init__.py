"""Benchmarks: `make bench` runs `python -m bench`. Never part of `make test`."""
