"""The direct runner writes the warehouse's file (CHECKPOINT) while the last steps, which write
outside the warehouse (the dashboard), still read it, so that closing the connection at the end
has nothing left to write."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from achats.pipelines import direct
from achats.pipelines.resources import RunDuckDB

# declared in sql/registry.yaml: steps writing them are the warehouse's; "tableau" is not
DECLARED = ("ref_naf", "ref_cpv")


def _graph(db_path: Path, seen: dict, raises: bool = False):
    """Two steps write declared tables; the last one (outside the warehouse) reads them for a while."""

    def table(duckdb: RunDuckDB, name: str) -> None:
        with duckdb.get_connection() as con:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT range AS x FROM range(50000)')

    @dg.asset(name=DECLARED[0])
    def first(duckdb: RunDuckDB):
        table(duckdb, DECLARED[0])
        return dg.MaterializeResult()

    @dg.asset(name=DECLARED[1], deps=[first])
    def second(duckdb: RunDuckDB):
        table(duckdb, DECLARED[1])
        seen["written"] = time.perf_counter()
        return dg.MaterializeResult()

    @dg.asset(name="tableau", deps=[second])
    def last(duckdb: RunDuckDB):
        wal = db_path.with_name(db_path.name + ".wal")
        seen["wal_at_start"] = wal.exists() and wal.stat().st_size > 0
        with duckdb.get_connection() as con:
            for _ in range(40):  # reads while the file is written; a checkpoint ends well before
                con.execute(f'SELECT count(*) FROM "{DECLARED[1]}"').fetchall()
                if not (wal.exists() and wal.stat().st_size > 0):
                    break
                time.sleep(0.05)
        seen["wal_at_end"] = wal.exists() and wal.stat().st_size > 0
        if raises:
            raise RuntimeError("panne simulée du tableau")
        return dg.MaterializeResult()

    return direct.plan([first, second, last])


def _run(tmp_path: Path, workers: int = 2, raises: bool = False):
    db_path = tmp_path / "w.duckdb"
    seen: dict = {}
    result = direct.run(_graph(db_path, seen, raises), {"duckdb": RunDuckDB(database=str(db_path))},
                        workers=workers)
    return result, seen, db_path


@pytest.mark.parametrize("workers", [1, 2])
def test_the_file_is_written_while_the_last_reader_runs(tmp_path, workers):
    """Beside the steps, whatever their number: the writing of the file is one more thread's."""
    result, seen, db_path = _run(tmp_path, workers=workers)
    assert result.success, result.failure
    assert seen["wal_at_start"]  # the two tables were only in the log when the last step began
    assert not seen["wal_at_end"]  # and were in the file before it ended
    spans = {name: (start, end) for name, start, end in result.step_spans}
    last_start, last_end = spans["tableau"]
    ck_start, ck_end = spans[direct.CHECKPOINT_STEP]
    assert seen["written"] <= ck_start < last_end  # after the last table, beside the reader
    with duckdb.connect(str(db_path)) as con:  # the file holds both tables once closed
        assert con.execute(f'SELECT count(*) FROM "{DECLARED[1]}"').fetchone()[0] == 50000


def test_a_checkpoint_beside_another_writer_is_left_to_the_close(tmp_path):
    """DuckDB refuses a CHECKPOINT beside another write transaction (seen beside the dashboard
    now and then): not an error of the run; the file is written at the close, as without it."""
    db_path = tmp_path / "w.duckdb"
    db = RunDuckDB(database=str(db_path))
    db.setup_for_execution(None)
    try:
        with db.get_connection() as con:
            con.execute("CREATE TABLE t AS SELECT range AS x FROM range(100)")  # small: in the log
        with db.get_connection() as writer:
            writer.execute("BEGIN TRANSACTION")
            writer.execute("CREATE TABLE t_other AS SELECT 1 AS x")
            _, _, error = direct._checkpoint(db)
            assert error is None
            assert db_path.with_name(db_path.name + ".wal").stat().st_size > 0  # not written
            writer.execute("COMMIT")
        _, _, error = direct._checkpoint(db)
        assert error is None
        wal = db_path.with_name(db_path.name + ".wal")
        assert not wal.exists() or wal.stat().st_size == 0  # written once alone
    finally:
        db.teardown_after_execution(None)


def test_a_checkpoint_that_fails_fails_the_run(tmp_path, monkeypatch):
    def broken(_db):
        now = time.perf_counter()
        return now, now, OSError("disque plein (simulé)")

    monkeypatch.setattr(direct, "_checkpoint", broken)
    result, _, _ = _run(tmp_path)
    assert not result.success
    assert result.failure.step == direct.CHECKPOINT_STEP and "disque plein" in str(result.failure.exc)
