"""Asset checks that block a bad run: nothing lost, figures that add up."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats.db import first_row, scalar


@dg.asset_check(asset="mart_objective8_summary", blocking=True,
                description="total = ESS rapproché + non-ESS rapproché + à vérifier + non rapproché ; basse ≤ point ≤ haute")
def objective8_reconciles(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad = con.execute("""
            SELECT period FROM mart_objective8_summary
            WHERE abs(total_amount_eur - (matched_ess_amount_eur + matched_non_ess_amount_eur
                                          + review_amount_eur + unmatched_amount_eur)) > 0.01
               OR ess_amount_low_eur > ess_amount_eur + 0.01
               OR ess_amount_eur > ess_amount_high_eur + 0.01""").fetchall()
    return dg.AssetCheckResult(passed=not bad, metadata={"periods_in_error": ", ".join(p for (p,) in bad)})


@dg.asset_check(asset="res_purchase_line_supplier", blocking=True,
                description="Chaque ligne acceptée a exactement une décision de rapprochement")
def every_ok_line_resolved(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        ok, resolved, distinct = first_row(con, """
            SELECT (SELECT count(*) FROM stg_purchase_lines WHERE status = 'ok'),
                   (SELECT count(*) FROM res_purchase_line_supplier),
                   (SELECT count(DISTINCT line_id) FROM res_purchase_line_supplier)""")
    return dg.AssetCheckResult(passed=ok == resolved == distinct,
                               metadata={"ok_lines": ok, "resolved_rows": resolved, "distinct_lines": distinct})


@dg.asset_check(asset="src_purchase_lines", blocking=True,
                description="Identifiants de ligne uniques (aucune ligne comptée deux fois)")
def purchase_line_ids_unique(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        dupes = scalar(con, "SELECT count(*) - count(DISTINCT line_id) FROM src_purchase_lines")
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_ids": dupes})


CHECKS = [objective8_reconciles, every_ok_line_resolved, purchase_line_ids_unique]
