"""Review 17 (slow, REVIEW17_SLOW=1 to run): a buyer's input under 16 MiB can hold more than one
DuckDB row group (122 880 rows): the sample's 1 750 payment lines copied 80 times (140 000 lines,
two CSV files, 14,98 MB in all) get threads=1. Figures are the same as with 2 threads (checked), but
the rationale "no table has several row groups" does not hold: measured on the review machine
(2 cores, shared, noisy) 3 min 11 s with one thread against 2 min 10 s with two."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from achats.paths import sample_dir
from achats.pipelines.resources import SMALL_INPUTS_BYTES, default_threads

pytestmark = pytest.mark.skipif(not os.environ.get("REVIEW17_SLOW"), reason="slow: REVIEW17_SLOW=1")


def make_big(dest: Path) -> Path:
    shutil.copytree(sample_dir(), dest)
    purchases = dest / "purchases"
    src = (purchases / "mandats_2023_2024.csv").read_bytes().split(b"\n")
    head, rows = src[0], [r for r in src[1:] if r.strip()]
    for part in range(2):
        out = [head]
        for k in range(40):
            kk = part * 40 + k
            for r in rows:
                f = r.split(b";")
                f[0] += b"-%d" % kk
                m = re.match(rb"^(.*),(\d\d)$", f[4])
                if m:
                    f[4] = m.group(1) + b"," + b"%02d" % ((int(m.group(2)) + kk) % 100)
                out.append(b";".join(f))
        (purchases / f"mandats_big_{part}.csv").write_bytes(b"\n".join(out) + b"\n")
    (purchases / "mandats_2023_2024.csv").unlink()
    return dest


def _run(data: Path, out: Path, threads: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "ACHATS_DUCKDB_THREADS"}
    if threads:
        env["ACHATS_DUCKDB_THREADS"] = threads
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "achats.pipelines.cli", "run", "--data-dir", str(data), "--warehouse",
                    str(out / "w.duckdb"), "--dashboard-dir", str(out / "d")], env=env, check=True)
    return time.monotonic() - t


def test_over_one_row_group_under_16_mib(tmp_path):
    data = make_big(tmp_path / "big")
    assert default_threads(data) == 1
    con = duckdb.connect(str(_run_and_open(data, tmp_path / "one", None)), read_only=True)
    assert con.execute("SELECT count(*) FROM stg_purchase_lines").fetchone()[0] > 122_880
    one = _elapsed
    two = _run(data, tmp_path / "two", "2")
    assert sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) <= SMALL_INPUTS_BYTES
    assert one <= 1.1 * two, f"threads=1: {one:.0f} s, threads=2: {two:.0f} s"


_elapsed = 0.0


def _run_and_open(data: Path, out: Path, threads: str | None) -> Path:
    global _elapsed
    _elapsed = _run(data, out, threads)
    return out / "w.duckdb"
