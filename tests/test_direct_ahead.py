"""The direct runner starts a step as soon as the tables it reads are written, while the step that
wrote them still evaluates its checks (the recounts), and takes it back if one of those checks
then blocks or the step fails: the run must then read exactly as if the step had waited (the
same tables in the warehouse, evaluations, steps not run and failure as one step at a time)."""

from __future__ import annotations

import threading
import time

import dagster as dg
import duckdb
import pytest

from achats.pipelines import direct
from achats.pipelines.resources import RunDuckDB


def _graph(check_passes: bool = True, b_raises: bool = False, log: dict | None = None,
           names: tuple[str, str, str, str] = ("a", "b", "c", "d")):
    """a writes its table then runs a slow blocking check; b reads a; c reads nothing; d reads b."""
    log = log if log is not None else {}
    na, nb, nc, nd = names

    def table(duckdb: RunDuckDB, name: str) -> None:
        with duckdb.get_connection() as con:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT 1 AS x')

    def mark(name: str, when: str) -> None:
        log[f"{name}:{when}"] = time.perf_counter()

    @dg.asset(name=na, check_specs=[dg.AssetCheckSpec("recount", asset=na, blocking=True)])
    def a(duckdb: RunDuckDB):
        mark(na, "start")
        table(duckdb, na)
        yield dg.MaterializeResult()
        time.sleep(0.4)  # the recount
        mark(na, "checked")
        yield dg.AssetCheckResult(check_name="recount", passed=check_passes)

    @dg.asset(name=nb, deps=[a], check_specs=[dg.AssetCheckSpec("b_ok", asset=nb)])
    def b(duckdb: RunDuckDB):
        mark(nb, "start")
        table(duckdb, nb)
        if b_raises:
            raise RuntimeError("panne simulée dans b")
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="b_ok", passed=True)

    @dg.asset(name=nc)
    def c(duckdb: RunDuckDB):
        mark(nc, "start")
        table(duckdb, nc)
        return dg.MaterializeResult()

    @dg.asset(name=nd, deps=[b])
    def d(duckdb: RunDuckDB):
        mark(nd, "start")
        table(duckdb, nd)
        return dg.MaterializeResult()

    return direct.plan([a, b, c, d])


def _run(tmp_path, label: str, workers: int, **kw):
    db = RunDuckDB(database=str(tmp_path / f"{label}.duckdb"))
    log: dict = {}
    result = direct.run(_graph(log=log, **kw), {"duckdb": db}, workers=workers, ahead=lambda step: True)
    with duckdb.connect(str(tmp_path / f"{label}.duckdb")) as con:
        tables = sorted(t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())
    return result, tables, log


def _reads(result) -> tuple:
    return (result.success, result.materialized, result.not_run,
            [(e.check_name, e.asset_key.to_user_string(), e.passed) for e in result.evaluations],
            None if result.failure is None else (result.failure.step, str(result.failure.exc)))


def test_a_reader_starts_while_the_writer_still_checks(tmp_path):
    result, tables, log = _run(tmp_path, "w", workers=2)
    assert result.success and tables == ["a", "b", "c", "d"]
    assert log["b:start"] < log["a:checked"]  # b did not wait for a's recount
    assert _reads(result) == _reads(_run(tmp_path, "one", workers=1)[0])


@pytest.mark.parametrize("b_raises", [False, True])
def test_a_blocking_check_that_fails_takes_back_what_ran_ahead(tmp_path, b_raises):
    result, tables, log = _run(tmp_path, "w", workers=2, check_passes=False, b_raises=b_raises)
    assert log["b:start"] < log["a:checked"]  # b ran ahead, then was taken back
    one, one_tables, _ = _run(tmp_path, "one", workers=1, check_passes=False, b_raises=b_raises)
    assert tables == one_tables == ["a", "c"]  # b's table dropped, d never run
    assert _reads(result) == _reads(one)
    assert not result.success and result.failure is None  # b's own error is not reported
    assert result.not_run == ["b", "d"] and result.materialized == ["a", "c"]


def test_an_error_ahead_counts_once_the_writer_ends_well(tmp_path):
    """A step that raises stops the run once confirmed; the steps already started (c, beside a)
    end, as in a run without running ahead at the same number of workers."""
    result, tables, log = _run(tmp_path, "w", workers=2, b_raises=True)
    assert log["b:start"] < log["a:checked"]
    assert not result.success and (result.failure.step, str(result.failure.exc)) == ("b", "panne simulée dans b")
    assert result.materialized == ["a", "c"] and "d" not in tables and "b" in tables  # b's own table stays
    waited = direct.run(_graph(b_raises=True), {"duckdb": RunDuckDB(database=str(tmp_path / "x.duckdb"))},
                        workers=2, ahead=lambda step: False)
    assert _reads(result) == _reads(waited)


def test_a_step_writing_outside_the_warehouse_waits_for_the_checks(tmp_path):
    """By default only steps whose every table is declared in sql/registry.yaml run ahead: the
    graph's tables here are not, so b waits for a's recount (the dashboard waits likewise)."""
    log: dict = {}
    db = RunDuckDB(database=str(tmp_path / "w.duckdb"))
    result = direct.run(_graph(log=log), {"duckdb": db}, workers=2)
    assert result.success
    assert log["b:start"] >= log["a:checked"]
    declared: dict = {}
    db2 = RunDuckDB(database=str(tmp_path / "w2.duckdb"))
    names = ("ref_naf", "ref_cpv", "ref_epci", "ref_commune")  # declared tables: b may run ahead
    result = direct.run(_graph(log=declared, names=names), {"duckdb": db2}, workers=2)
    assert result.success and declared["ref_cpv:start"] < declared["ref_naf:checked"]


def test_runs_ahead_read_the_same_as_one_at_a_time(tmp_path):
    """A blocked check or none, b raising or not (a blocked run goes on with what does not read
    the blocked table, so it reads as one step at a time; a raised error is compared above)."""
    for n, (fails, raises) in enumerate([(True, False), (True, True), (False, False), (True, False)]):
        got = _run(tmp_path, f"w{n}", workers=2, check_passes=not fails, b_raises=raises)
        one = _run(tmp_path, f"o{n}", workers=1, check_passes=not fails, b_raises=raises)
        assert _reads(got[0]) == _reads(one[0]) and got[1] == one[1], n


def test_no_thread_is_left_running(tmp_path):
    before = threading.active_count()
    _run(tmp_path, "w", workers=2, check_passes=False, b_raises=True)
    assert threading.active_count() == before
