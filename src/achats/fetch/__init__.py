"""Bring the real sources in: download, check, cache, and lay them out as a data directory."""
