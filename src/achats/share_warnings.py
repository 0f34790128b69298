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
    # above 100 % on a positive total: the period's credits cancel non-ESS payments of another
    # period (ess_within_total stops a year or ALL so, never a quarter: there it is arithmetic)
    return [(f"part ESS de {number_fr(100 * share, 1, ' ')} % pour la période {period} : hors de 0–100 %"
             if share is not None and not 0 <= share <= 1 else
             f"dépense totale négative ({eur(total, ' ')}) pour la période {period}")
            + (" : des avoirs de cette période annulent des paiements non ESS d'une autre période, si bien que la "
               "dépense ESS y dépasse la dépense totale" if share is not None and share > 1 and total > 0 else
               " : des annulations ou réductions dépassent les paiements")
            + " ; ce chiffre n'est pas une part, vérifiez les lignes négatives (purchase_lines, montant < 0)"
            for period, share, total in rows]


def ceased_payee_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Matched lines paid to a unit already ceased on their date: counted non-ESS by the rule, yet
    the money went to someone (a successor, a liquidator) whom a person should identify. No name
    is printed (a non-diffusible unit may be among them): counts and amounts only."""
    if not has_table(con, "cls_purchase_line_status"):
        return []
    n, amount, ess_amount = con.execute("""
        SELECT count(*), sum(p.amount_eur),
               coalesce(sum(p.amount_eur) FILTER (WHERE coalesce(s.manual_is_ess, s.is_ess_undated OR s.is_esus)), 0)
        FROM cls_purchase_line_status AS c
        JOIN res_purchase_line_supplier AS r USING (line_id)
        JOIN stg_purchase_lines AS p USING (line_id)
        LEFT JOIN cls_supplier_status AS s ON s.siren = c.siren
        WHERE r.match_status = 'matched' AND c.is_known_unit AND NOT c.is_active_at_date""").fetchone()
    if not n:
        return []
    ess = f", dont {eur(ess_amount, ' ')} à des unités ESS par leur statut" if ess_amount else ""
    return [f"{number_fr(n, 0, ' ')} ligne(s) rapprochée(s) ({eur(amount, ' ')}{ess}) payée(s) à une unité déjà "
            "cessée à leur date : comptées non ESS (la borne extrême haute garde possibles celles des unités "
            "ESS par leur statut) ; le bénéficiaire réel (successeur, liquidateur) est à "
            "vérifier (motif « unité déjà cessée » dans purchase_lines_resolved.match_reason)"]
