"""Outputs for people outside the warehouse: an Excel workbook with French headers, and the data
dictionary generated from the contract views' comments.

Names of non-diffusible units are never written: `suppliers` masks them, and purchase lines that
resolve to such a unit have their typed name masked here too. Text a spreadsheet would run as a
formula (a supplier named "=HYPERLINK(...)") is written with a leading apostrophe (`safe_text`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from achats.paths import read_sql

CONTRACT_VIEWS = ["purchase_lines", "purchase_lines_resolved", "suppliers", "objective8_summary",
                  "ess_offer_by_category", "opportunities", "contracts_summary", "suppliers_public",
                  "objective8_by_year", "objective8_history", "objective8_changes", "source_file_reconciliation"]
MASK = "Unité non diffusible"
# Periods that are not a quarter or a year, in the words of the people who read the workbook.
PERIOD_LABELS = {"ALL": "Ensemble", "sans date": "Sans date"}

FRENCH_HEADERS = {
    "period": "Période", "total_amount_eur": "Dépense totale (€)", "ess_amount_eur": "Dépense ESS estimée (€)",
    "ess_amount_low_eur": "Dépense ESS, intervalle à 90 %, borne basse (€)",
    "ess_amount_high_eur": "Dépense ESS, intervalle à 90 %, borne haute (€)",
    "ess_amount_extreme_low_eur": "Dépense ESS, borne extrême basse (€)",
    "ess_amount_extreme_high_eur": "Dépense ESS, borne extrême haute (€)",
    "ess_share": "Part ESS", "ess_share_low": "Part ESS basse", "ess_share_high": "Part ESS haute",
    "matched_ess_amount_eur": "ESS rapproché (€)", "matched_non_ess_amount_eur": "Non-ESS rapproché (€)",
    "unmatched_amount_eur": "Non rapproché (€)", "review_amount_eur": "À vérifier (€)",
    "esus_amount_eur": "ESUS (€)", "inclusive_amount_eur": "Structures inclusives (€)",
    "ess_or_inclusive_amount_eur": "ESS ou inclusif (€)", "ess_supplier_count": "Fournisseurs ESS",
    "line_count": "Lignes", "quarantined_line_count": "Lignes en quarantaine",
    "quarantined_amount_eur": "Montant en quarantaine (€)", "siren": "SIREN", "siret": "SIRET",
    "display_name": "Nom", "is_ess": "ESS", "ess_family": "Famille ESS", "ess_sources": "Preuves",
    "evidence": "Justification", "is_esus": "ESUS", "is_siae": "SIAE", "siae_kind": "Type de structure inclusive",
    "is_ea": "Entreprise adaptée", "is_esat": "ESAT", "is_inclusive": "Inclusif",
    "is_societe_mission": "Société à mission", "naf": "Code NAF", "commune_code": "Commune",
    "departement_code": "Département", "epci_siren": "EPCI (SIREN)", "categorie_juridique": "Catégorie juridique",
    "is_active": "Active", "is_non_diffusible": "Non diffusible", "is_entrepreneur_individuel": "Entrepreneur individuel",
    "matched_amount_eur": "Montant rapproché (€)", "matched_line_count": "Lignes rapprochées",
    "line_id": "Identifiant de ligne", "source_file": "Fichier", "source_sheet": "Feuille", "source_row": "Ligne",
    "source_line": "Ligne physique", "supplier_name": "Fournisseur saisi", "siret_raw": "SIRET saisi",
    "amount_eur": "Montant (€)", "purchase_date": "Date", "fiscal_year": "Exercice", "quarter": "Trimestre",
    "category": "Catégorie", "buying_entity": "Entité acheteuse", "mandate_number": "N° de mandat",
    "status": "Statut", "quarantine_reason": "Raison de la quarantaine", "is_duplicate": "Doublon",
    "match_method": "Méthode de rapprochement", "match_score": "Score", "match_status": "Statut du rapprochement",
    "match_reason": "Motif", "cpv_division": "Division CPV", "cpv_label": "Catégorie CPV",
    "buyer_amount_eur": "Dépense (€)", "buyer_ess_amount_eur": "dont ESS (€)",
    "buyer_inclusive_amount_eur": "dont inclusif (€)", "local_ess_supplier_count": "Structures ESS locales",
    "local_inclusive_supplier_count": "Structures inclusives locales",
    "inclusion_sector_groups": "Secteurs du marché de l'inclusion", "legal_levers": "Leviers possibles",
    "rank": "Rang", "disclaimer": "Avertissement",
}
FORMULA_STARTS = ("=", "+", "-", "@")
_BLANKS = " \t\r\n"


def _needs_quote(text: str) -> bool:
    """Text a spreadsheet could read as a formula (OWASP CSV injection), or text that already
    looks like our quoted form (so that `unquote` gives back exactly what `safe_text` was given)."""
    if text[:1] in ("\t", "\r", "\n") or text.lstrip(_BLANKS)[:1] in FORMULA_STARTS:
        return True
    return text.startswith("'") and _needs_quote(text[1:])


def safe_text(value: object) -> object:
    """A cell value no spreadsheet will run: risky text gets a leading apostrophe; numbers, dates
    and booleans are unchanged (-5.0 stays a number)."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def unquote(text: str) -> str:
    """Undo `safe_text`, so that what a review file gives back is exactly what was exported."""
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text

SHEETS = [
    ("Synthèse objectif 8", "SELECT * FROM objective8_summary"),
    ("Fournisseurs", "SELECT * FROM suppliers ORDER BY matched_amount_eur DESC NULLS LAST"),
    ("Lignes d'achat", f"""
        SELECT p.line_id, p.source_file, p.source_row, p.purchase_date, p.quarter, p.buying_entity, p.category,
               CASE WHEN s.is_non_diffusible THEN '{MASK}' ELSE p.supplier_name END AS supplier_name,
               CASE WHEN s.is_non_diffusible THEN NULL ELSE p.siret_raw END AS siret_raw,
               p.amount_eur, p.status, p.quarantine_reason, r.siren, r.match_method, r.match_status,
               r.match_score, r.is_ess, r.ess_family
        FROM purchase_lines p
        LEFT JOIN purchase_lines_resolved r USING (line_id)
        LEFT JOIN suppliers s USING (siren)
        ORDER BY p.source_file, p.source_row"""),
    ("Offre ESS par catégorie", "SELECT * FROM ess_offer_by_category"),
    ("Pistes", "SELECT * FROM opportunities"),
    ("Marchés notifiés", "SELECT * FROM contracts_summary"),
]


def export_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, int]]:
    """One workbook, one sheet per view, French headers; written beside then renamed."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook(write_only=True)
    counts = []
    for title, sql in SHEETS:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        ws = wb.create_sheet(title[:31])
        header = []
        for c in cols:
            cell = openpyxl.cell.WriteOnlyCell(ws, value=safe_text(FRENCH_HEADERS.get(c, c)))
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        at = cols.index("period") if "period" in cols else None
        for row in rows:
            row = list(row)
            if at is not None:
                row[at] = PERIOD_LABELS.get(row[at], row[at])
            ws.append([safe_text(v) for v in row])
        counts.append((title, len(rows)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return counts


def data_dictionary(con: duckdb.DuckDBPyConnection) -> str:
    """Markdown, from the views' own `COMMENT ON` texts and types: it cannot drift from the warehouse."""
    lines = ["# Dictionnaire des données de l'entrepôt `achats`", "",
             "Généré par `achats dictionary` à partir de l'entrepôt (commentaires `COMMENT ON` des vues).", ""]
    for view in CONTRACT_VIEWS:
        comment = con.execute("SELECT comment FROM duckdb_views() WHERE view_name = ?", [view]).fetchall()
        lines += [f"## `{view}`", "", (comment[0][0] or "") if comment else "", "",
                  "| colonne | type | description |", "|---|---|---|"]
        for name, typ, col_comment in con.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = ? "
                "ORDER BY column_index", [view]).fetchall():
            desc = col_comment or FRENCH_HEADERS.get(name, "")
            lines.append(f"| `{name}` | {typ} | {desc} |")
        lines.append("")
    return "\n".join(lines)


def example_queries() -> dict[str, str]:
    """The analysts' example queries shipped in sql/examples."""
    from achats.paths import sql_dir

    return {p.stem: read_sql(f"examples/{p.name}") for p in sorted((sql_dir() / "examples").glob("*.sql"))}
