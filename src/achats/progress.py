"""Progress of long steps (reading files, loading SIRENE, resolving names, downloading).

The library only announces its work (`task`, `track`, `watch_query`); what the operator sees is
chosen once by the command line: bars on a terminal, dated log lines when the output goes to a
file (scheduled runs), nothing at all by default (library calls, Dagster UI runs, tests).
Numbers are written the French way (« 1 234 lignes », « 12,5 Mo/s »).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TextIO

from achats.formatting import number_fr

BYTES = "octets"


def size_fr(n: float) -> str:
    """Bytes as a French size: « 950 octets », « 12,5 Mo », « 2,1 Go »."""
    for unit, scale in (("Go", 1e9), ("Mo", 1e6), ("ko", 1e3)):
        if abs(n) >= scale:
            return f"{number_fr(n / scale, 1, ' ')} {unit}"
    return f"{number_fr(n, 0, ' ')} octets"


def amount_fr(n: float, unit: str) -> str:
    return size_fr(n) if unit == BYTES else f"{number_fr(n, 0, ' ')}{' ' + unit if unit else ''}"


def rate_fr(per_second: float, unit: str) -> str:
    if unit == BYTES:
        return f"{size_fr(per_second)}/s"
    return f"{number_fr(per_second, 0 if per_second >= 10 else 1, ' ')}/s"


def duration_fr(seconds: float) -> str:
    """« 7,7 s », « 2 min 05 s »."""
    if seconds < 60:
        return f"{number_fr(seconds, 1, ' ')} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s"


class Task:
    """One step's progress; `total` may stay unknown (a spinner, a count without percentage)."""

    def __init__(self, label: str, total: float | None = None, unit: str = ""):
        self.label, self.total, self.unit = label, total, unit
        self.completed = 0.0
        self.started = time.monotonic()

    def advance(self, n: float = 1) -> None:
        self.update(completed=self.completed + n)

    def update(self, completed: float | None = None, total: float | None = None) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        self._changed()

    def _changed(self) -> None:
        """Reporters redraw here."""

    def close(self) -> None:
        """Reporters write the step's last line here."""

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Reporter:
    """Shows nothing: the default, so that library calls and tests stay silent."""

    def task(self, label: str, total: float | None = None, unit: str = "") -> Task:
        return Task(label, total, unit)

    def close(self) -> None:
        pass


_current: Reporter = Reporter()


def set_reporter(reporter: Reporter) -> Reporter:
    """Install `reporter` for the whole process; return the previous one (to put it back)."""
    global _current
    previous, _current = _current, reporter
    return previous


def task(label: str, total: float | None = None, unit: str = "") -> Task:
    return _current.task(label, total, unit)


def track(items: Iterable, label: str, total: int | None = None, unit: str = "") -> Iterator:
    """Yield `items`, advancing a task by one for each."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(label, total, unit) as t:
        for item in items:
            yield item
            t.advance()


@contextlib.contextmanager
def watch_query(con, label: str, interval: float = 0.25) -> Iterator[None]:
    """Percentage of one long DuckDB statement, polled from a side thread (DuckDB's own
    `query_progress`), for loads that are a single statement over gigabytes."""
    if type(_current) is Reporter:
        yield  # nobody is watching: no thread, no setting changed
        return
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    done = threading.Event()
    with task(label, 100, "%") as t:
        def poll() -> None:
            while not done.wait(interval):
                with contextlib.suppress(Exception):
                    value = con.query_progress()
                    if value is not None and value >= 0:
                        t.update(completed=min(float(value), 100.0))
        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
            t.update(completed=100.0)
        finally:
            done.set()
            thread.join()


class LogReporter(Reporter):
    """Dated plain lines for logs: when a step starts, at most one line per `every` seconds while
    it runs, and when it ends (with its count, duration and rate)."""

    def __init__(self, stream: TextIO | None = None, every: float = 15.0):
        self.stream = stream or sys.stderr
        self.every = every

    def _write(self, text: str) -> None:
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp}  {text}", file=self.stream, flush=True)

    def task(self, label: str, total: float | None = None, unit: str = "") -> Task:
        reporter = self

        class _LogTask(Task):
            last = time.monotonic()

            def _state(self) -> str:
                if self.unit == "%":
                    return f"{number_fr(self.completed, 0, ' ')} %"
                done = amount_fr(self.completed, self.unit)
                if self.total:
                    share = number_fr(100 * self.completed / self.total, 0, " ")
                    return f"{done} sur {amount_fr(self.total, self.unit)} ({share} %)"
                return done

            def _changed(self) -> None:
                now = time.monotonic()
                if now - self.last >= reporter.every:
                    self.last = now
                    elapsed = now - self.started
                    rate = f", {rate_fr(self.completed / elapsed, self.unit)}" \
                        if elapsed > 0 and self.unit != "%" else ""
                    reporter._write(f"{self.label} : {self._state()}{rate}")

            def close(self) -> None:
                elapsed = time.monotonic() - self.started
                count = "" if self.unit == "%" else f"{amount_fr(self.completed, self.unit)}, "
                reporter._write(f"{self.label} : terminé ({count}{duration_fr(elapsed)})")

        self._write(f"{label} …")
        return _LogTask(label, total, unit)


class RichReporter(Reporter):
    """Bars with counts, rate and time left, on a terminal (rich, installed with Dagster)."""

    def __init__(self, stream: TextIO | None = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            ProgressColumn,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Counts(ProgressColumn):
            def render(self, t) -> Text:
                unit = t.fields.get("unit", "")
                if unit == "%":
                    return Text(f"{number_fr(t.completed, 0, ' ')} %")
                if t.total is None:
                    return Text(amount_fr(t.completed, unit))
                done = size_fr(t.completed) if unit == BYTES else number_fr(t.completed, 0, " ")
                return Text(f"{done} / {amount_fr(t.total, unit)}")

        class Rate(ProgressColumn):
            def render(self, t) -> Text:
                unit = t.fields.get("unit", "")
                speed = t.finished_speed or t.speed
                return Text("" if not speed or unit == "%" else rate_fr(speed, unit), style="progress.data.speed")

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), Counts(), Rate(),
                                 TimeRemainingColumn(), console=Console(file=stream or sys.stderr), transient=False)
        self.progress.start()

    def task(self, label: str, total: float | None = None, unit: str = "") -> Task:
        progress = self.progress
        task_id = progress.add_task(label, total=total, unit=unit)

        class _RichTask(Task):
            def _changed(self) -> None:
                progress.update(task_id, completed=self.completed, total=self.total)

            def close(self) -> None:
                if self.total is None:
                    progress.update(task_id, total=self.completed or 1, completed=self.completed or 1)
                progress.stop_task(task_id)

        return _RichTask(label, total, unit)

    def close(self) -> None:
        self.progress.stop()


def reporter_for(stream: TextIO | None = None) -> Reporter:
    """Bars on a terminal, dated lines otherwise."""
    stream = stream or sys.stderr
    return RichReporter(stream) if stream.isatty() else LogReporter(stream)
