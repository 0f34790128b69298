"""`apply_comments` writes its COMMENT statements with DuckDB's optimizer off (nothing to optimize
in a COMMENT, half of each statement's cost): the optimizer must be on again afterwards, whether
the batch succeeds or fails, and the comments must be the declared ones."""

from __future__ import annotations

import duckdb
import pytest

from achats.registry import apply_comments, load_registry


def _optimizer_on(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT current_setting('enable_optimizer')").fetchone()[0]


def test_comments_are_the_declared_ones_and_the_optimizer_is_back_on():
    table = load_registry()["ref_naf"]
    con = duckdb.connect()
    con.execute("CREATE TABLE ref_naf (naf VARCHAR, libelle VARCHAR)")
    apply_comments(con, "ref_naf")
    assert _optimizer_on(con)
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'ref_naf'").fetchone()[0] == \
        table.description
    got = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'ref_naf'").fetchall())
    assert got == {c.name: c.description for c in table.columns}


def test_a_failed_batch_leaves_no_comment_and_the_optimizer_on():
    con = duckdb.connect()
    con.execute("CREATE TABLE ref_naf (naf VARCHAR)")
    with pytest.raises(duckdb.Error):  # told the table has a column it lacks: its COMMENT fails
        apply_comments(con, "ref_naf", written=(["naf", "libelle"], False))
    assert _optimizer_on(con)
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'ref_naf'").fetchone()[0] in (None, "")
    con.execute("SELECT 1").fetchall()  # no transaction left open or aborted
