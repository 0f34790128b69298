"""Review 17 (slow, REVIEW17_SLOW=1 to run): a buyer's input under 16 MiB can hold more than one
DuckDB row group (122 880 rows): the sample's 1 750 payment lines copied 80 times (140 000 lines,
two CSV files, 14,98 MB in all) get threads=1, although the rationale "no table has several row
groups" does not hold for them. This held up: every table is the same multiset as with 2 threads
(run_id/run_at aside), the dashboard is byte-identical, and one thread was not slower (review
machine, 2 shared cores, noisy: 3 min 11 s then 2 min 01 s with one thread, 2 min 10 s and 2 min 15 s
with two)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


def _run(data: Path, out: Path, threads: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ACHATS_DUCKDB_THREADS"}
    if threads:
        env["ACHATS_DUCKDB_THREADS"] = threads
    subprocess.run([sys.executable, "-m", "achats.pipelines.cli", "run", "--data-dir", str(data), "--warehouse",
                    str(out / "w.duckdb"), "--dashboard-dir", str(out / "d")], env=env, check=True)


RUN_COLUMNS = {"run_id", "run_at"}


def test_over_one_row_group_under_16_mib_same_figures(tmp_path):
    data = make_big(tmp_path / "big")
    assert default_threads(data) == 1
    assert sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) <= SMALL_INPUTS_BYTES
    _run(data, tmp_path / "one", None)
    _run(data, tmp_path / "two", "2")
    con = duckdb.connect()
    con.execute(f"ATTACH '{tmp_path / 'one' / 'w.duckdb'}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{tmp_path / 'two' / 'w.duckdb'}' AS b (READ_ONLY)")
    assert con.execute("SELECT count(*) FROM a.stg_purchase_lines").fetchone()[0] > 122_880
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'a'").fetchall()]
    differ = []
    for t in tables:
        cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = 'a' "
                                          "AND table_name = ?", [t]).fetchall() if r[0] not in RUN_COLUMNS]
        sel = ", ".join(f'"{c}"' for c in cols)
        n = con.execute(f'SELECT count(*) FROM ((SELECT {sel} FROM a."{t}" EXCEPT ALL SELECT {sel} FROM b."{t}") '
                        f'UNION ALL (SELECT {sel} FROM b."{t}" EXCEPT ALL SELECT {sel} FROM a."{t}"))').fetchone()[0]
        if n:
            differ.append(t)
    assert differ == []
    assert ((tmp_path / "one" / "d" / "tableau_de_bord_ess.html").read_bytes()
            == (tmp_path / "two" / "d" / "tableau_de_bord_ess.html").read_bytes())
