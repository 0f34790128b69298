"""Benchmarks: one command each, figures printed (not timed unit tests)."""

from __future__ import annotations

import json
import resource
from pathlib import Path


def own_peak_gib() -> float:
    """This process's own peak resident memory (GiB), read from VmHWM on Linux.

    Not ru_maxrss: on Linux a child started by `subprocess` (vfork, then exec) inherits its
    parent's high-water mark in ru_maxrss, so a measured child reported the peak of the parent's
    data generation (1.5 GiB at 1/10 of the national size) whenever the data was generated in the
    same command. VmHWM belongs to the address space exec gave the child: its own peak only."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # elsewhere (KiB on Linux)


def write_results(stem: Path, results: object, text: str) -> None:
    """The figures beside the README: `stem`.json for machines, `stem`.md (quoted in the README)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
