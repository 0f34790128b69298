"""Benchmarks: one command each, figures printed (not timed unit tests)."""

from __future__ import annotations

import json
from pathlib import Path


def write_results(stem: Path, results: object, text: str) -> None:
    """The figures beside the README: `stem`.json for machines, `stem`.md (quoted in the README)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
