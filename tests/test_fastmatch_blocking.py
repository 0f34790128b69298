"""Cheaper paths of the blocking (achats.blocking) that must do what the former ones did."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from achats import blocking
from achats.resolution import is_in_sorted, sorted_distinct


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


def _arrays(seed: int):
    """Random integer arrays: empty, one value, duplicates, negatives, int32 and int64."""
    rng = np.random.default_rng(seed)
    yield np.zeros(0, dtype=np.int64)
    yield np.array([7], dtype=np.int64)
    for n in (2, 5, 50, 1000):
        for dtype in (np.int32, np.int64):
            yield rng.integers(-20, 20, n).astype(dtype)
            yield rng.integers(0, 10**12 if dtype == np.int64 else 10**9, n).astype(dtype)


@pytest.mark.parametrize("seed", range(5))
def test_sorted_distinct_and_is_in_sorted_are_numpys_unique_and_isin(seed):
    """The sort-based stand-ins for np.unique / np.union1d / np.isin (which import numpy.ma on first
    use): the same values, dtype and booleans on every kind of array."""
    arrays = list(_arrays(seed))
    for a in arrays:
        got = sorted_distinct(a)
        assert got.dtype == np.unique(a).dtype and np.array_equal(got, np.unique(a))
        for b in arrays:
            assert np.array_equal(sorted_distinct(np.concatenate([a, b])), np.union1d(a, b))
            assert np.array_equal(is_in_sorted(a, np.sort(b)), np.isin(a, b))
