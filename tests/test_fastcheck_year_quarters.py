"""objective8_by_year is read once by the year-vs-quarters check (a MATERIALIZED CTE) instead of
twice: the rows it finds must be those the former SQL found, on any figures (missing, repeated
or NULL periods, NULL amounts), and a year that differs from its quarters still fails the check."""

from __future__ import annotations

from decimal import Decimal

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from achats.pipelines import checks

# the former SQL (commit 3dea8fa), verbatim: the view read in both branches of y
FORMER_SQL = """
WITH q AS (
    SELECT left(period, 4) AS period, sum(total_amount_eur) AS total, sum(ess_amount_eur) AS ess
    FROM mart_objective8_summary WHERE period NOT IN ('ALL', 'sans date') GROUP BY ALL
    UNION ALL
    SELECT 'ALL', total_amount_eur, ess_amount_eur FROM mart_objective8_summary WHERE period = 'sans date'
),
y AS (
    SELECT period, total_amount_eur - undated_amount_eur AS total, ess_amount_eur - undated_ess_amount_eur AS ess
    FROM objective8_by_year WHERE period NOT IN ('ALL', 'sans date')
    UNION ALL
    SELECT 'ALL', undated_amount_eur, undated_ess_amount_eur FROM objective8_by_year WHERE period = 'ALL'
)
SELECT period, coalesce(y.total, 0), coalesce(q.total, 0), coalesce(y.ess, 0), coalesce(q.ess, 0)
FROM y FULL JOIN q USING (period)
WHERE abs(coalesce(y.total, 0) - coalesce(q.total, 0)) >= 0.005 OR abs(coalesce(y.ess, 0) - coalesce(q.ess, 0)) >= 0.005
ORDER BY 1
"""

AMOUNTS = st.one_of(st.none(), st.sampled_from([Decimal("0.00"), Decimal("0.01"), Decimal("100.00"),
                                                 Decimal("-50.00"), Decimal("1234.56")]))
QUARTERS = st.sampled_from(["2023-Q1", "2023-Q4", "2024-Q1", "2024-Q2", "sans date", "ALL", None])
YEARS = st.sampled_from(["2023", "2024", "2025", "sans date", "ALL", None])


def _warehouse(quarters, years, view: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE mart_objective8_summary (period VARCHAR, total_amount_eur DECIMAL(18,2), "
                "ess_amount_eur DECIMAL(18,2))")
    con.execute("CREATE TABLE by_year (period VARCHAR, total_amount_eur DECIMAL(18,2), ess_amount_eur DECIMAL(18,2), "
                "undated_amount_eur DECIMAL(18,2), undated_ess_amount_eur DECIMAL(18,2), line_count BIGINT)")
    if quarters:
        con.executemany("INSERT INTO mart_objective8_summary VALUES (?, ?, ?)", quarters)
    if years:
        con.executemany("INSERT INTO by_year VALUES (?, ?, ?, ?, ?, 1)", years)
    con.execute(f"CREATE {'VIEW' if view else 'TABLE'} objective8_by_year AS SELECT * FROM by_year")
    return con


@settings(max_examples=200, deadline=None)
@given(quarters=st.lists(st.tuples(QUARTERS, AMOUNTS, AMOUNTS), max_size=8),
       years=st.lists(st.tuples(YEARS, AMOUNTS, AMOUNTS, AMOUNTS, AMOUNTS), max_size=6), view=st.booleans())
def test_one_reading_finds_what_two_readings_found(quarters, years, view):
    con = _warehouse(quarters, years, view)
    new, former = (con.execute(sql).fetchall() for sql in (checks.YEAR_VS_QUARTERS_SQL, FORMER_SQL))
    # rows of one period (a period repeated) come in either order, in both
    assert sorted(new, key=repr) == sorted(former, key=repr)
    assert [r[0] for r in new] == [r[0] for r in former]


def test_a_year_off_its_quarters_still_fails():
    good = [("2024-Q1", Decimal("100.00"), Decimal("10.00")), ("2024-Q3", Decimal("50.00"), Decimal("0.00")),
            ("sans date", Decimal("7.00"), Decimal("7.00")), ("ALL", Decimal("157.00"), Decimal("17.00"))]
    year = ("2024", Decimal("157.00"), Decimal("17.00"), Decimal("7.00"), Decimal("7.00"))
    everything = ("ALL", Decimal("157.00"), Decimal("17.00"), Decimal("7.00"), Decimal("7.00"))
    for view in (False, True):
        assert checks.year_vs_quarters_mismatches(_warehouse(good, [year, everything], view)) == []
        off = ("2024", Decimal("158.00"), Decimal("17.00"), Decimal("7.00"), Decimal("7.00"))
        assert checks.year_vs_quarters_mismatches(_warehouse(good, [off, everything], view)) == [
            "année 2024 hors lignes sans date : dépense 151,00, dont ESS 10,00 ≠ somme des trimestres 2024 : "
            "150,00, dont ESS 10,00"]
        undated = ("ALL", Decimal("157.00"), Decimal("17.00"), Decimal("8.00"), Decimal("7.00"))
        assert checks.year_vs_quarters_mismatches(_warehouse(good, [year, undated], view)) == [
            "part sans date des années : dépense 8,00, dont ESS 7,00 ≠ « sans date » de objective8_summary : "
            "7,00, dont ESS 7,00"]
