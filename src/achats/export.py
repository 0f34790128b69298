"""Outputs for people outside the warehouse: an Excel workbook with French headers, and the data
dictionary generated from the tables' declarations (sql/registry.yaml).

Names of non-diffusible units are never written: `suppliers` masks them, and purchase lines that
resolve to such a unit have their typed name masked here too. Text a spreadsheet would run as a
formula (a supplier named "=HYPERLINK(...)") is written with a leading apostrophe (`safe_text`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from achats.paths import read_sql
from achats.registry import load_registry

CONTRACT_VIEWS = load_registry().contract_views()
MASK = "Unité non diffusible"
# Periods that are not a quarter or a year, in the words of the people who read the workbook.
PERIOD_LABELS = {"ALL": "Ensemble", "sans date": "Sans date"}


def period_label(value: object) -> object:
    """'ALL' -> 'Ensemble', 'sans date' -> 'Sans date', '2025-Q1' -> '2025-T1'; years unchanged."""
    if not isinstance(value, str):
        return value
    if value in PERIOD_LABELS:
        return PERIOD_LABELS[value]
    return value.replace("-Q", "-T") if len(value) == 7 and value[4:6] == "-Q" else value


def value_label(column: str, value: object) -> object:
    """A cell as the reader should see it: codes in French, yes/no for booleans."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if column in ("period", "quarter"):
        return period_label(value)
    labels = VALUE_LABELS.get(column)
    if labels is None or not isinstance(value, str):
        return value
    if column == "ess_sources":
        return ", ".join(labels.get(v.strip(), v.strip()) for v in value.split(","))
    return labels.get(value, value)


def column_format(column: str, sql_type: str = "") -> str | None:
    """The Excel number format of a column, from its name (and type for dates)."""
    if column.endswith("_eur"):
        return EUR_FORMAT
    if "share" in column:
        return SHARE_FORMAT
    if column == "match_score" or column.endswith("_score"):
        return SCORE_FORMAT
    if "DATE" in sql_type.upper() or column.endswith("_date") or column.startswith("date_"):
        return DATE_FORMAT
    if column.endswith("_count") or column in ("rank",):
        return COUNT_FORMAT
    return None


def column_width(header: str, values: list) -> float:
    """Wide enough for the header and most values, never a wall of text."""
    longest = max([len(str(v)) for v in values[:500] if v is not None] + [0])
    return float(min(max(len(header) + 2, min(longest, 50) + 2, 9), 60))

FRENCH_HEADERS = {
    # contract_renewals (Marchés à renouveler)
    "contract_uid": "Identifiant du marché", "object": "Objet", "cpv": "Code CPV",
    "notification_date": "Date de notification", "duration_months": "Durée initiale (mois)",
    "duration_last_months": "Durée après modifications (mois)", "estimated_end_date": "Fin estimée",
    "months_to_end": "Mois avant la fin", "renewal_status": "Échéance", "is_in_renewal_window": "Dans la fenêtre",
    "amount_initial_eur": "Montant initial (€)", "amount_last_eur": "Montant après modifications (€)",
    "modification_count": "Modifications", "titulaires": "Titulaires", "titulaire_sirens": "SIREN des titulaires",
    "has_ess_titulaire": "Titulaire ESS", "has_inclusive_titulaire": "Titulaire inclusif",
    "social_considerations": "Considérations sociales", "has_social_clause": "Clause sociale",
    "has_social_criterion": "Critère social", "is_reserved": "Marché réservé",
    "local_ess_structure_count": "Structures ESS locales", "local_inclusive_structure_count": "Structures inclusives locales",
    "untapped_structure_count": "Structures locales pas encore fournisseurs",
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
    "is_ess_at_line_date": "ESS à la date de la ligne", "is_esus_at_line_date": "ESUS à la date de la ligne",
    "is_inclusive_at_line_date": "Inclusif à la date de la ligne", "is_ea": "Entreprise adaptée", "is_esat": "ESAT", "is_inclusive": "Inclusif",
    "is_societe_mission": "Société à mission", "naf": "Code NAF", "commune_code": "Commune",
    "departement_code": "Département", "epci_siren": "EPCI (SIREN)", "categorie_juridique": "Catégorie juridique",
    "is_active": "Active", "is_non_diffusible": "Non diffusible", "is_entrepreneur_individuel": "Entrepreneur individuel",
    "matched_amount_eur": "Montant rapproché (€)", "matched_line_count": "Lignes rapprochées",
    "line_id": "Identifiant de ligne", "source_file": "Fichier", "source_sheet": "Feuille", "source_row": "Rang parmi les lignes de données",
    "source_line": "Ligne", "supplier_name": "Fournisseur saisi", "siret_raw": "SIRET saisi",
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
    "duplicate_line_count": "Lignes en double", "duplicate_amount_eur": "Montant en double (€)",
    "inclusion_sector_count": "Secteurs du marché de l'inclusion (nombre)", "non_ess_amount_eur": "Dépense hors ESS (€)",
    "contract_count": "Marchés", "notified_amount_eur": "Montant notifié (€)",
    "amount_after_modifications_eur": "Montant après modifications (€)",
    "social_consideration_amount_eur": "dont avec considération sociale (€)",
    "ess_titulaire_amount_eur": "dont titulaires ESS (€)", "inclusive_titulaire_amount_eur": "dont titulaires inclusifs (€)",
    "social_consideration_share": "Part avec considération sociale", "ess_titulaire_share": "Part aux titulaires ESS",
    "unknown_amount_contract_count": "Marchés sans montant exploitable", "undated_contract_count": "Marchés sans date",
    "unusable_date_contract_count": "dont date inexistante ou illisible",
    "quarantined_contract_count": "Marchés en quarantaine",
    "superseded_record_count": "Publications remplacées par une plus récente", "concession_count": "Concessions",
    "concession_amount_eur": "Montant des concessions (€)",
    "concession_unknown_amount_count": "Concessions sans montant exploitable",
}
# Codes stored in the warehouse, in the words of the people who read the workbook.
VALUE_LABELS = {
    "status": {"ok": "accepté", "quarantined": "en quarantaine", "duplicate": "en double"},
    "match_status": {"matched": "rapproché", "review": "à vérifier", "unmatched": "non rapproché"},
    "match_method": {"siret": "SIRET", "siren": "SIREN", "name_exact": "nom identique", "name_fuzzy": "nom proche",
                     "override": "décision manuelle", "unmatched": "aucune"},
    "ess_family": {"association": "Association", "cooperative": "Coopérative", "mutuelle": "Mutuelle",
                   "fondation": "Fondation", "societe_commerciale_ess": "Société commerciale de l'ESS",
                   "esus": "Entreprise agréée ESUS"},
    "ess_sources": {"legal_form": "forme juridique", "cooperative_name": "coopérative par son nom légal",
                    "insee_flag": "indicateur INSEE", "ess_france": "liste ESS France",
                    "esus": "agrément ESUS", "manual": "décision manuelle"},
}
EUR_FORMAT = '#,##0.00 "€"'
SHARE_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
DATE_FORMAT = "DD/MM/YYYY"
SCORE_FORMAT = "0.00"
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
        SELECT p.line_id, p.source_file, p.source_line, p.purchase_date, p.quarter, p.buying_entity, p.category,
               CASE WHEN s.is_non_diffusible THEN '{MASK}' ELSE p.supplier_name END AS supplier_name,
               CASE WHEN s.is_non_diffusible THEN NULL ELSE p.siret_raw END AS siret_raw,
               p.amount_eur, p.status, p.quarantine_reason, r.siren, r.match_method, r.match_status,
               r.match_score, r.is_ess_at_line_date, r.ess_family
        FROM purchase_lines p
        LEFT JOIN purchase_lines_resolved r USING (line_id)
        LEFT JOIN suppliers s USING (siren)
        ORDER BY p.source_file, p.source_row"""),
    ("Offre ESS par catégorie", "SELECT * FROM ess_offer_by_category"),
    ("Pistes", "SELECT * FROM opportunities"),
    ("Marchés notifiés", "SELECT * FROM contracts_summary"),
    ("Marchés à renouveler", "SELECT * FROM contract_renewals"),
]


def export_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, int]]:
    """One workbook, one sheet per view: French headers and labels, euro / percentage / date
    formats, a frozen header row and a filter on every column; written beside then renamed."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    counts = []
    for title, sql in SHEETS:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        types = [str(d[1]) for d in cur.description]
        rows = [[safe_text(value_label(c, v)) for c, v in zip(cols, row, strict=True)] for row in cur.fetchall()]
        ws = wb.create_sheet(title[:31])
        write_table(ws, [FRENCH_HEADERS.get(c, c) for c in cols],
                    [column_format(c, t) for c, t in zip(cols, types, strict=True)], rows)
        counts.append((title, len(rows)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return counts


def write_table(ws, headers: list[str], formats: list[str | None], rows: list[list],
                header_fills: dict[int, str] | None = None, freeze: str = "A2") -> None:
    """A header row (bold, frozen, with filters) and formatted rows, in a write-only or normal sheet."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column_width(header, [r[i - 1] for r in rows])
    ws.freeze_panes = freeze
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    header_cells = []
    for i, h in enumerate(headers):
        cell = WriteOnlyCell(ws, value=safe_text(h))
        cell.font, cell.alignment = bold, wrap
        if header_fills and i in header_fills:
            cell.fill = PatternFill("solid", fgColor=header_fills[i])
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        out = []
        for value, fmt in zip(row, formats, strict=True):
            if fmt is not None and value is not None and not isinstance(value, str):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = fmt
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)


def data_dictionary(con: duckdb.DuckDBPyConnection | None = None) -> str:
    """Markdown from sql/registry.yaml, the same declarations the warehouse's `COMMENT ON` come
    from (the connection is not needed any more; kept for callers that pass one)."""
    from achats.registry import data_dictionary as from_registry

    return from_registry()


def example_queries() -> dict[str, str]:
    """The analysts' example queries shipped in sql/examples."""
    from achats.paths import sql_dir

    return {p.stem: read_sql(f"examples/{p.name}") for p in sorted((sql_dir() / "examples").glob("*.sql"))}


# --- Action 1: the sourcing list for business meetings ------------------------------------

SOURCING_COLUMNS = [
    ("cpv_division", "Division CPV"), ("cpv_label", "Catégorie d'achat (CPV)"), ("display_name", "Structure"),
    ("establishment_name", "Établissement (enseigne)"), ("siren", "SIREN"), ("siret", "SIRET"),
    ("family", "Famille ESS"), ("inclusive_kind", "Structure inclusive"), ("is_esus", "ESUS"),
    ("evidence", "Preuve du statut"), ("naf", "Code NAF"), ("naf_label", "Activité (NAF)"),
    ("commune_name", "Commune"), ("commune_code", "Code commune"), ("epci_name", "Intercommunalité"),
    ("epci_siren", "EPCI (SIREN)"), ("distance_km", "Distance du siège (km)"), ("headcount_label", "Effectif"),
    ("is_current_supplier", "Déjà fournisseur"), ("supplier_amount_eur", "Montant payé (€)"),
    ("last_payment_date", "Dernier paiement"), ("annuaire_url", "Annuaire des entreprises"),
    ("marche_inclusion_url", "Marché de l'inclusion"),
]
FAMILY_FR = {"association": "Association", "cooperative": "Coopérative", "mutuelle": "Mutuelle",
             "fondation": "Fondation", "societe_commerciale_ess": "Société commerciale de l'ESS"}


def export_sourcing_xlsx(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """`ess_sourcing` as one filterable sheet for business meetings: French headers, frozen header
    row, an autofilter, clickable links. Returns the number of rows written."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    cur = con.execute("SELECT *, ess_family AS family FROM ess_sourcing ORDER BY cpv_division, is_ess DESC, "
                      "display_name, siret")
    names = [d[0] for d in cur.description]
    data = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Offre ESS locale"
    ws.append([label for _, label in SOURCING_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    yes_no = {True: "oui", False: "non", None: ""}
    for rec in data:
        rec["family"] = FAMILY_FR.get(rec["family"], rec["family"])
        row = []
        for key, _ in SOURCING_COLUMNS:
            value = rec.get(key)
            row.append(yes_no[value] if isinstance(value, bool) else safe_text(value))
        ws.append(row)
        r = ws.max_row
        for key in ("annuaire_url", "marche_inclusion_url"):
            col = [k for k, _ in SOURCING_COLUMNS].index(key) + 1
            url = rec.get(key)
            if url and url.startswith("https://"):
                cell = ws.cell(row=r, column=col)
                cell.hyperlink = url
                cell.value = "Fiche" if key == "annuaire_url" else "Page"
                cell.style = "Hyperlink"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(SOURCING_COLUMNS))}{max(ws.max_row, 2)}"
    for i, (_key, label) in enumerate(SOURCING_COLUMNS, start=1):
        width = max([len(label)] + [len(str(ws.cell(row=r, column=i).value or "")) for r in range(2, min(ws.max_row, 200) + 1)])
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 50)
    money = [k for k, _ in SOURCING_COLUMNS].index("supplier_amount_eur") + 1
    paid_on = [k for k, _ in SOURCING_COLUMNS].index("last_payment_date") + 1
    for r in range(2, ws.max_row + 1):
        ws.cell(row=r, column=money).number_format = '#,##0.00 "€"'
        ws.cell(row=r, column=paid_on).number_format = "DD/MM/YYYY"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)
    return len(data)
