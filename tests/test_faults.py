"""Faults: killed runs, full disks, unusable destinations and concurrent runs never corrupt the
last good warehouse."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from achats.paths import sample_dir
from achats.pipelines import cli
from achats.pipelines.cli import RunError, run_pipeline

FIGURES = "SELECT * FROM objective8_summary ORDER BY period"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_killed_runs_leave_the_last_good_warehouse_and_the_next_run_completes(sample_run, tmp_path):
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_run["warehouse"], wh)
    good = _digest(wh)
    rng = random.Random(8)
    cmd = [sys.executable, "-m", "achats.pipelines.cli", "run", "--data-dir", str(sample_dir()), "--warehouse", str(wh),
           "--dashboard-dir", str(tmp_path / "d")]
    with duckdb.connect(str(wh), read_only=True) as con:
        expected = con.execute(FIGURES).fetchall()
    killed = 0
    for delay in sorted(rng.uniform(0.5, 3.0) for _ in range(4)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=Path(__file__).resolve().parents[1])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if _digest(wh) == good:
            killed += 1
        else:  # the kill came after the swap: the new warehouse must then be whole
            with duckdb.connect(str(wh), read_only=True) as con:
                assert con.execute(FIGURES).fetchall() == expected, f"half-written warehouse after {delay:.1f} s"
            shutil.copy(sample_run["warehouse"], wh)
        with duckdb.connect(str(wh), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM objective8_summary").fetchone()[0] > 0
    assert killed >= 2, "the runs ended before they could be killed: the test proved nothing"
    run_pipeline(sample_dir(), wh, tmp_path / "d")
    with duckdb.connect(str(wh), read_only=True) as a, duckdb.connect(str(sample_run["warehouse"]), read_only=True) as b:
        assert a.execute(FIGURES).fetchall() == b.execute(FIGURES).fetchall()
    assert not (tmp_path / "w.duckdb.tmp").exists()


def test_a_second_run_refuses_while_one_is_writing(tmp_path):
    wh = tmp_path / "w.duckdb"
    with open(tmp_path / "w.duckdb.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunError, match="Un autre calcul écrit déjà"):
            run_pipeline(sample_dir(), wh, tmp_path / "d")
    assert not wh.exists()


def test_disk_full_when_swapping_gives_a_clear_error_and_keeps_the_warehouse(sample_run, tmp_path, monkeypatch):
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_run["warehouse"], wh)
    good = _digest(wh)

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cli.os, "replace", full)
    with pytest.raises(RunError, match="disque plein"):
        run_pipeline(sample_dir(), wh, tmp_path / "d")
    assert _digest(wh) == good and not (tmp_path / "w.duckdb.tmp").exists()


def test_unusable_destination_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(RunError, match="Destination de l'entrepôt inutilisable"):
        run_pipeline(sample_dir(), blocker / "w.duckdb", tmp_path / "d")
