"""Readers for each input source: they turn files into typed frames and never drop a row."""
