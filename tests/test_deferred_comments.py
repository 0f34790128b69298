"""The direct runner writes the run's COMMENT ON at once, beside its last steps, rather than in
every step of the critical chain: the comments must still be the declared ones, on every table
written (a failed run's too), written only once every step writing a declared table has ended,
and two runs in one process must keep their notes apart."""

from __future__ import annotations

import threading
import time

import dagster as dg
import duckdb
import pytest

from achats.pipelines import direct
from achats.pipelines.resources import RunDuckDB
from achats.registry import (
    apply_comments,
    comments_deferred,
    flush_comments,
    load_registry,
    pending_comments,
)


def _comments(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str | None, dict[str, str | None]]:
    own = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()
    cols = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?",
                            [table]).fetchall())
    return (own[0] if own else None), cols


def _declared(table: str) -> tuple[str, dict[str, str]]:
    t = load_registry()[table]
    return t.description, {c.name: c.description for c in t.columns}


def test_deferred_comments_are_noted_then_written_as_declared():
    con = duckdb.connect()
    con.execute("CREATE TABLE ref_naf (naf VARCHAR, libelle VARCHAR)")
    con.execute("CREATE TABLE ref_cpv (code VARCHAR, label VARCHAR)")
    with comments_deferred():
        apply_comments(con, "ref_naf")  # columns read from the catalog at the flush
        apply_comments(con, "ref_cpv", written=(["code", "label"], False))
        apply_comments(con, "pas_une_table_declaree")  # not declared: nothing to note
        assert pending_comments() == 2
        assert _comments(con, "ref_naf")[0] in (None, "")  # noted, not written
        assert flush_comments(con) == 2
        assert pending_comments() == 0
    assert _comments(con, "ref_naf") == _declared("ref_naf")
    assert _comments(con, "ref_cpv") == _declared("ref_cpv")


def test_outside_a_deferral_comments_are_written_at_once_and_notes_are_per_context():
    con = duckdb.connect()
    con.execute("CREATE TABLE ref_naf (naf VARCHAR, libelle VARCHAR)")
    apply_comments(con, "ref_naf")
    assert _comments(con, "ref_naf") == _declared("ref_naf")
    seen: list[int] = []

    def other_run() -> None:  # a thread not run in the deferring context: writes at once
        c = duckdb.connect()
        c.execute("CREATE TABLE ref_cpv (code VARCHAR, label VARCHAR)")
        with comments_deferred():
            apply_comments(c, "ref_cpv")
            seen.append(pending_comments())
        seen.append(pending_comments())

    with comments_deferred():
        apply_comments(con, "ref_naf")
        t = threading.Thread(target=other_run)
        t.start()
        t.join()
        assert pending_comments() == 1  # its own note only
    assert seen == [1, 0]


def _graph(flushed: threading.Event | None = None, fail: str | None = None):
    """Two declared tables (ref_naf, ref_cpv) written by two steps, then an undeclared step that
    reads both, like the dashboard; `fail`: the step that raises after writing its table."""

    def make(con, table: str, cols: list[str]) -> None:
        con.execute(f'CREATE OR REPLACE TABLE "{table}" ({", ".join(c + " VARCHAR" for c in cols)})')
        apply_comments(con, table, written=(cols, False))

    @dg.asset(name="ref_naf")
    def naf(duckdb: RunDuckDB):
        with duckdb.get_connection() as con:
            make(con, "ref_naf", ["naf", "libelle"])
        return dg.MaterializeResult()

    @dg.asset(name="ref_cpv")
    def cpv(duckdb: RunDuckDB):
        time.sleep(0.1)
        with duckdb.get_connection() as con:
            make(con, "ref_cpv", ["code", "label"])
        if fail == "ref_cpv":  # the run stops with a declared step not run (none here): flushed at the end
            raise RuntimeError("panne simulée dans une table déclarée")
        return dg.MaterializeResult()

    @dg.asset(deps=[naf, cpv])
    def tableau(duckdb: RunDuckDB):
        if flushed is not None:  # waits until the comments are written beside it
            deadline = time.monotonic() + 10
            while pending_comments() and time.monotonic() < deadline:
                time.sleep(0.01)
            flushed.set() if not pending_comments() else None
        if fail == "tableau":
            raise RuntimeError("panne simulée après les tables")
        return dg.MaterializeResult()

    return direct.plan([naf, cpv, tableau])


def _most_at_once(spans: list[tuple[str, float, float]]) -> int:
    events = sorted([(s, 1) for _, s, _ in spans] + [(e, -1) for _, _, e in spans])
    most = now = 0
    for _, delta in events:
        now += delta
        most = max(most, now)
    return most


@pytest.mark.parametrize("workers", [1, 2])
def test_the_run_writes_comments_beside_its_steps_and_before_it_ends(tmp_path, workers):
    """The comments are written by one more thread, beside the `workers` steps (DuckDB writes
    them without the GIL, on the processor time the steps leave), even with one worker."""
    db = RunDuckDB(database=str(tmp_path / "w.duckdb"))
    flushed = threading.Event()
    # the last step waits (up to 10 s) for the comments written beside it
    result = direct.run(_graph(flushed), {"duckdb": db}, workers=workers)
    assert result.success and result.failure is None
    assert flushed.is_set()
    assert result.materialized == ["ref_cpv", "ref_naf", "tableau"]
    flushes = [(s, e) for n, s, e in result.step_spans if n == direct.COMMENTS_STEP]
    steps = [(n, s, e) for n, s, e in result.step_spans if n in {"ref_cpv", "ref_naf", "tableau"}]
    assert flushes and _most_at_once(steps) <= workers  # never more steps at once than workers
    assert _most_at_once(result.step_spans) <= workers + 1  # and one chore beside them
    spans = {n: (s, e) for n, s, e in steps}
    assert flushes[0][0] < spans["tableau"][1]  # beside the steps, not after them
    if workers == 2:  # ref_naf ends first: its comments are written while ref_cpv still runs
        assert flushes[0][0] < spans["ref_cpv"][1]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert _comments(con, "ref_naf") == _declared("ref_naf")
        assert _comments(con, "ref_cpv") == _declared("ref_cpv")


@pytest.mark.parametrize("fail", ["tableau", "ref_cpv"])
def test_a_failed_run_still_comments_what_it_wrote(tmp_path, fail):
    db = RunDuckDB(database=str(tmp_path / "w.duckdb"))
    result = direct.run(_graph(fail=fail), {"duckdb": db}, workers=1)
    assert not result.success and result.failure.step == fail
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        written = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        # ref_cpv runs first (same chain, by name) and writes its table before raising
        assert written == ({"ref_naf", "ref_cpv"} if fail == "tableau" else {"ref_cpv"})
        for table in written:
            assert _comments(con, table) == _declared(table)


def test_a_comment_that_cannot_be_written_fails_the_run_with_its_name(tmp_path):
    @dg.asset(name="ref_naf")
    def naf(duckdb: RunDuckDB):
        with duckdb.get_connection() as con:
            con.execute("CREATE TABLE ref_naf (naf VARCHAR)")
            apply_comments(con, "ref_naf", written=(["naf", "libelle"], False))  # a column it lacks
        return dg.MaterializeResult()

    result = direct.run(direct.plan([naf]), {"duckdb": RunDuckDB(database=str(tmp_path / "w.duckdb"))}, workers=2)
    assert not result.success and result.failure.step == direct.COMMENTS_STEP
    assert isinstance(result.failure.exc, duckdb.Error)
