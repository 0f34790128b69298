"""French warnings for an ESS « share » that is no share: cancellations larger than payments."""

from __future__ import annotations

import duckdb

from achats.db import has_table
from achats.formatting import eur, number_fr


def ess_share_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per period of mart_objective8_summary whose ESS share falls outside 0–100 % or
    whose total is negative: reductions and cancellations net with payments (a reversal in
    another export is no corrected version), so a period can end below zero, and such a figure
    must not be published as a percentage without a word."""
    if not has_table(con, "mart_objective8_summary"):
        return []
    rows = con.execute("SELECT period, ess_share, total_amount_eur FROM mart_objective8_summary "
                       "WHERE ess_share < 0 OR ess_share > 1 OR total_amount_eur < 0 ORDER BY period").fetchall()
    return [(f"part ESS de {number_fr(100 * share, 1, ' ')} % pour la période {period} : hors de 0–100 %"
             if share is not None and not 0 <= share <= 1 else
             f"dépense totale négative ({eur(total, ' ')}) pour la période {period}")
            + " : des annulations ou réductions dépassent les paiements ; ce chiffre n'est pas une part, vérifiez "
              "les lignes négatives (purchase_lines, montant < 0)" for period, share, total in rows]
