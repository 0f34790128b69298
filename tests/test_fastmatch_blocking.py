"""Cheaper paths of the blocking (achats.blocking) that must do what the former ones did."""

from __future__ import annotations

import duckdb

from achats import blocking


def test_drop_removes_the_temporary_tables_and_views_only():
    """One catalog query for the token tables instead of two per name: a temporary table or view
    of each name goes (whichever it is), a table of the warehouse with the same name stays, a name
    absent is no error."""
    con = duckdb.connect()
    con.execute("CREATE TABLE _ref_name AS SELECT 'kept' AS v")  # the warehouse's own, not the matcher's
    con.execute("CREATE TEMP VIEW _ref_name AS SELECT 'temp view' AS v")
    con.execute("CREATE TEMP TABLE _ref_vocab AS SELECT 1 AS tid")
    blocking._drop(con, ("_ref_name", "_ref_vocab", "_ref_token"))
    assert con.execute("SELECT table_catalog, table_name FROM information_schema.tables").fetchall() == [
        ("memory", "_ref_name")]
    assert con.execute("SELECT v FROM _ref_name").fetchall() == [("kept",)]
    blocking._drop(con, ("_ref_name",))  # nothing temporary left: the warehouse's table stays
    assert con.execute("SELECT v FROM _ref_name").fetchall() == [("kept",)]
