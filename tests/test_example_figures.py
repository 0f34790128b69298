"""Each analysts' example of sql/examples gives, on the sample, the published figure it says it
explains, recounted here from the lines (or from the internal tables) rather than read back from
the same view."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from achats.export import example_queries


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _unlimited(sql: str) -> str:
    """The example without its final LIMIT: what its rows add up to."""
    out, n = re.subn(r"\s+LIMIT\s+[0-9]+\s*;?\s*$", "", sql.strip())
    assert n == 1, "the example has no final LIMIT"
    return out


def _all(con, column: str):
    return con.execute(f"SELECT {column} FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]


def check_top_ess_suppliers(con, sql):
    full = _rows(con, _unlimited(sql))
    # every supplier counted in the published ESS spending, and nothing else
    assert sum(r["ess_amount_eur"] for r in full) == _all(con, "matched_ess_amount_eur")
    assert len(full) == _all(con, "ess_supplier_count")
    assert _rows(con, sql) == full[:20]
    # each supplier's amount recounted from the internal line estimate, ESS at the line's date (a
    # supplier ESS today but not when it was paid has no ESS spending)
    recount = dict(con.execute("""
        SELECT siren, sum(amount_eur) FROM mart_purchase_line_estimate
        WHERE match_status = 'matched' AND is_ess_at_date GROUP BY siren""").fetchall())
    assert {r["siren"]: r["ess_amount_eur"] for r in full} == recount


def check_lines_behind_ess_figure(con, sql):
    rows = _rows(con, sql)
    quarter = con.execute("SELECT max(period) FROM objective8_summary WHERE period NOT IN ('ALL', 'sans date')"
                          ).fetchone()[0]
    published = con.execute("""SELECT ess_amount_eur, ess_amount_extreme_low_eur, ess_amount_extreme_high_eur
                               FROM objective8_summary WHERE period = ?""", [quarter]).fetchone()
    assert (sum(r["ess_point_eur"] for r in rows), sum(r["ess_low_eur"] for r in rows),
            sum(r["ess_high_eur"] for r in rows)) == published
    # the lines are the quarter's: their count recounted from the internal estimate
    n = con.execute("""SELECT count(*) FROM mart_purchase_line_estimate WHERE quarter = ?
                       AND (ess_low_eur <> 0 OR ess_point_eur <> 0 OR ess_high_eur <> 0)""", [quarter]).fetchone()[0]
    assert len(rows) == n


def check_spend_by_buying_entity(con, sql):
    rows = _rows(con, sql)
    tolerance = Decimal("0.5") * len(rows)  # each row rounded to the euro
    assert abs(sum(r["depense_eur"] for r in rows) - _all(con, "total_amount_eur")) <= tolerance
    assert abs(sum(r["depense_ess_eur"] for r in rows) - _all(con, "ess_amount_eur")) <= tolerance


def check_review_backlog(con, sql):
    full = _rows(con, _unlimited(sql))
    tolerance = Decimal("0.5") * len(full)
    for status, column in (("review", "review_amount_eur"), ("unmatched", "unmatched_amount_eur")):
        shown = sum((r["montant_eur"] for r in full if r["match_status"] == status), Decimal(0))
        assert abs(shown - _all(con, column)) <= tolerance, status
    assert {r["match_status"] for r in full} <= {"review", "unmatched"}


def check_ess_share_by_quarter(con, sql):
    rows = _rows(con, sql)
    recount = {r["period"]: r for r in _rows(con, """
        SELECT coalesce(quarter, 'sans date') AS period, round(sum(amount_eur)) AS total, round(sum(ess_point_eur)) AS ess,
               round(100 * sum(ess_point_eur) / nullif(sum(amount_eur), 0), 1) AS share
        FROM mart_purchase_line_estimate GROUP BY ALL""")}
    assert {r["trimestre"] for r in rows} == set(recount)
    for r in rows:
        q = recount[r["trimestre"]]
        assert (r["depense_totale_eur"], r["depense_ess_eur"], r["part_ess_pct"]) == (q["total"], q["ess"], q["share"])
        assert r["part_basse_pct"] <= r["part_ess_pct"] <= r["part_haute_pct"]


def check_local_ess_offer_gaps(con, sql):
    rows = _rows(con, sql)
    recount = {r["cpv_division"]: r for r in _rows(con, """
        SELECT cpv_division, round(sum(amount_eur)) AS total,
               round(100 * coalesce(sum(amount_eur) FILTER (WHERE match_status = 'matched' AND is_ess_at_date), 0)
                     / nullif(sum(amount_eur), 0), 1) AS share
        FROM mart_purchase_line_estimate GROUP BY ALL""")}
    assert rows
    for r in rows:
        q = recount[r["cpv_division"]]
        assert (r["depense_eur"], r["part_ess_pct"]) == (q["total"], q["share"]), r["cpv_division"]
        assert r["local_ess_supplier_count"] + r["local_inclusive_supplier_count"] > 0


CHECKS = {name.removeprefix("check_"): fn for name, fn in globals().items() if name.startswith("check_")}


def test_every_example_says_which_figure_it_explains():
    assert set(example_queries()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_gives_the_published_figure(sample_con, name):
    CHECKS[name](sample_con, example_queries()[name])
