"""The recount's frames come through Arrow (`recount._frame`) instead of Python rows: the same
frame, values and types, as the former construction (kept here verbatim) on hostile values, and
the objective-8 recount still fails on a published figure that is off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from achats import recount


def former_frame(con, sql: str, schema: dict, params: dict | None = None) -> pl.DataFrame:
    """_frame before Arrow (commit 3dea8fa), verbatim."""
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


COLUMNS = {  # SQL type, polars type, values
    "s": ("VARCHAR", pl.String, st.one_of(st.none(), st.text(max_size=6))),
    "d": ("DECIMAL(18,2)", pl.Decimal(18, 2), st.one_of(st.none(), st.decimals(
        min_value=Decimal("-9999999999999999.99"), max_value=Decimal("9999999999999999.99"), places=2))),
    "b": ("BOOLEAN", pl.Boolean, st.one_of(st.none(), st.booleans())),
    "i": ("INTEGER", pl.Int32, st.one_of(st.none(), st.integers(-2 ** 31, 2 ** 31 - 1))),
    "l": ("BIGINT", pl.Int64, st.one_of(st.none(), st.integers(-2 ** 63, 2 ** 63 - 1))),
    "t": ("DATE", pl.Date, st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))),
}


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({k: v[2] for k, v in COLUMNS.items()}), max_size=20),
       picked=st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=6))
def test_the_arrow_frame_is_the_former_frame(rows, picked):
    con = duckdb.connect()
    con.execute("CREATE TABLE x (" + ", ".join(f"{k} {v[0]}" for k, v in COLUMNS.items()) + ")")
    if rows:
        con.executemany(f"INSERT INTO x VALUES ({', '.join('?' for _ in COLUMNS)})",
                        [[r[k] for k in COLUMNS] for r in rows])
    # the frame's names are not the query's (a column read twice, an expression), nor always its
    # types (an INTEGER read as Int64, as cls_line_unit_status's flags)
    sql = "SELECT " + ", ".join(picked) + ", s IS NULL, i FROM x WHERE coalesce(i, 0) >= $low"
    schema = {f"c{n}": COLUMNS[k][1] for n, k in enumerate(picked)} | {"is_null": pl.Boolean, "wide": pl.Int64}
    new, former = recount._frame(con, sql, schema, {"low": -5}), former_frame(con, sql, schema, {"low": -5})
    assert new.schema == former.schema
    assert new.equals(former)


def test_a_published_figure_off_the_recount_still_fails(sample_run, tmp_path):
    import shutil

    copy = tmp_path / "w.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    con = duckdb.connect(str(copy))
    assert recount.objective8_mismatches(con) == []
    con.execute("UPDATE mart_objective8_summary SET review_amount_eur = review_amount_eur + 1 WHERE period = 'ALL'")
    bad = recount.objective8_mismatches(con)
    assert len(bad) == 1 and bad[0].startswith("ALL : review_amount_eur publié")
