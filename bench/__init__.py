"""Benchmarks: one command each, figures printed (not timed unit tests)."""
