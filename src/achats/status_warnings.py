"""French warnings about the status lists: rows they reject, and inclusive lines left uncertain.

A rejected row of the ESS France, ESUS or SIAE list takes a unit's status away without changing
any figure's look, so each one is named (file, row, field) in the run's output, as the purchase
quarantine is. A line paid to a listed unit without saying which establishment is counted not
inclusive, and the amount it could add is printed beside the figure. A company whose name says
« COOPERATIVE » without a reserved term is counted non-ESS, and its lines are named for checking.
"""

from __future__ import annotations

import duckdb

from achats.db import has_table
from achats.formatting import eur, number_fr

MAX_NAMED_LINES = 5


def status_reject_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One warning per rejected row of src_status_rejects (its reason names file, row and field;
    reasons never quote a name)."""
    if not has_table(con, "src_status_rejects"):
        return []
    rows = con.execute("SELECT reason FROM src_status_rejects ORDER BY source_file, source_row").fetchall()
    return [f"liste de statuts, ligne écartée : {reason} ; ses structures ne tirent aucun statut de cette ligne "
            "(lignes écartées : table src_status_rejects)" for (reason,) in rows]


def inclusive_establishment_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Matched lines not counted inclusive though they may be, with the upper figure: lines without
    a SIRET paid to a unit whose SIAE / EA / ESAT listing names another of its establishments, and
    lines paid to a closed establishment of a listed unit whose listed establishments opened after
    the payment (it may have moved, or become inclusive only then)."""
    if not (has_table(con, "cls_line_unit_status") and has_table(con, "mart_objective8_summary")):
        return []
    lines = con.execute("""
        SELECT r.siret IS NULL, p.source_file, p.source_sheet, p.source_line, p.amount_eur
        FROM cls_line_unit_status AS c
        JOIN res_purchase_line_supplier AS r ON r.line_id = c.line_id AND r.siren = c.siren
        JOIN stg_purchase_lines AS p ON p.line_id = c.line_id
        WHERE r.match_status = 'matched' AND c.is_inclusive_possible_at_date
        ORDER BY p.source_file, p.source_sheet, p.source_line""").fetchall()
    if not lines:
        return []
    (inclusive,) = con.execute(
        "SELECT inclusive_amount_eur FROM mart_objective8_summary WHERE period = 'ALL'").fetchone() or (0,)
    upper = f"{eur(inclusive + sum(line[-1] for line in lines), ' ')}"
    warnings = []
    for no_siret in (True, False):
        group = [line[1:] for line in lines if line[0] == no_siret]
        if not group:
            continue
        amount = sum(a for *_, a in group)
        named = ", ".join(f"{f}{f', feuille « {s} »' if s else ''}, ligne {n}"
                          for f, s, n, _ in group[:MAX_NAMED_LINES])
        more = (f" et {number_fr(len(group) - MAX_NAMED_LINES, 0, ' ')} autre(s)"
                if len(group) > MAX_NAMED_LINES else "")
        head = f"{number_fr(len(group), 0, ' ')} ligne(s) rapprochée(s) ({eur(amount, ' ')}) "
        tail = f"la dépense inclusive ({eur(inclusive, ' ')}) peut aller jusqu'à {upper}"
        if no_siret:
            warnings.append(f"{head}sans SIRET, payée(s) à une unité dont la liste SIAE / EA / ESAT ne nomme qu'une "
                            f"partie des établissements actifs : comptée(s) non inclusive(s) ; {tail}. Indiquez le "
                            f"SIRET de l'établissement payé ({named}{more} ; champ « SIRET »)")
        else:
            warnings.append(f"{head}payée(s) à un établissement aujourd'hui fermé d'une unité dont la liste SIAE / EA "
                            "/ ESAT nomme les établissements actifs, tous ouverts après le paiement : la structure a pu "
                            "déménager, ou ne devenir inclusive qu'alors ; comptée(s) non inclusive(s) ; "
                            f"{tail} ({named}{more} ; champ « SIRET »)")
    return warnings


def cooperative_word_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Matched lines paid to a company (catégorie juridique 5…) whose legal name says « COOP » or
    « COOPERATIVE » but no term the law reserves (stg_unite_legale.has_cooperative_name) and that no
    other proof makes ESS: counted non-ESS, though the unit may be a coopérative registered under a
    plain form. No name is printed (files and rows only)."""
    if not (has_table(con, "cls_purchase_line_status") and has_table(con, "stg_unite_legale")):
        return []
    lines = con.execute("""
        SELECT p.source_file, p.source_sheet, p.source_line, p.amount_eur
        FROM res_purchase_line_supplier AS r
        JOIN cls_purchase_line_status AS c USING (line_id)
        JOIN stg_purchase_lines AS p USING (line_id)
        JOIN stg_unite_legale AS u ON u.siren = r.siren
        WHERE r.match_status = 'matched' AND NOT c.is_ess_at_date AND c.is_active_at_date
            AND u.categorie_juridique LIKE '5%' AND NOT u.has_cooperative_name
            AND regexp_matches(' ' || regexp_replace(upper(strip_accents(concat_ws(' ', u.legal_name, u.sigle))),
                                                     '[^A-Z0-9]+', ' ', 'g') || ' ', ' (COOP|COOPERATIVES?) ')
        ORDER BY p.source_file, p.source_sheet, p.source_line""").fetchall()
    if not lines:
        return []
    named = ", ".join(f"{f}{f', feuille « {s} »' if s else ''}, ligne {n}" for f, s, n, _ in lines[:MAX_NAMED_LINES])
    more = f" et {number_fr(len(lines) - MAX_NAMED_LINES, 0, ' ')} autre(s)" if len(lines) > MAX_NAMED_LINES else ""
    return [f"{number_fr(len(lines), 0, ' ')} ligne(s) rapprochée(s) ({eur(sum(a for *_, a in lines), ' ')}) payée(s) "
            "à une société dont le nom légal dit « COOP » ou « COOPERATIVE » sans autre preuve ESS : comptée(s) non "
            "ESS ; si c'est une coopérative (SCOP, SCIC… inscrite comme SAS ou SARL), consignez-le dans "
            f"status/ess_manuel.csv ({named}{more})"]
