"""Benchmarks: each runnable with one command (python -m bench.NAME), printing its figures."""
