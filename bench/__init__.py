"""Benchmarks: one command each, figures printed (not timed unit tests)."""

from __future__ import annotations

import json
import resource
import threading
import time
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


class RssSampler:
    """This process's resident memory (GiB) every `every` seconds in a thread, with wall-clock
    times (time.time(), as Dagster's event log), to tell which step the peak belongs to."""

    def __init__(self, every: float = 0.05) -> None:
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with open("/proc/self/status", encoding="ascii") as fh:
                    rss = next((int(x.split()[1]) for x in fh if x.startswith("VmRSS:")), None)
            except OSError:
                return
            if rss is not None:
                self.samples.append((time.time(), rss / 2**20))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [gib for t, gib in self.samples if start <= t <= end]
        return max(inside) if inside else None
