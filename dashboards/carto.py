"""Action 1 panels of the dashboard: the named local offer (sourcing), contracts coming up for
renewal, the drill-down, and the facts that let every panel follow the filters in the page.

Kept apart from build.py so that the page's layout and its cartography evolve separately. Reads
only contract views (names already masked there); natural persons and non-diffusible units are
never listed one by one (same rule as `suppliers_public`).
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import duckdb
from plotly.colors import sample_colorscale

from achats.db import first_row, rows
from achats.formatting import date_fr

FAMILY_LABELS = {"association": "Association", "cooperative": "Coopérative", "mutuelle": "Mutuelle",
                 "fondation": "Fondation", "societe_commerciale_ess": "Société commerciale de l'ESS"}
GREENS = sample_colorscale("Greens", [0.08 + 0.92 * i / 100 for i in range(101)])
JS_PATH = Path(__file__).with_name("carto_panels.js")
# a quarter whose data start later or stop earlier than this many days is marked incomplete
INCOMPLETE_TOLERANCE_DAYS = 15
MAX_LINES_PER_SUPPLIER = 25
MAX_QUARANTINE_ROWS = 2000
MAX_BACKLOG_ROWS = 2000


def buyer(con: duckdb.DuckDBPyConnection) -> dict:
    """The buyer's name (SIRENE), SIREN, and what "local" means for this run, for the header."""
    params = rows(con, "SELECT * FROM run_parameters")[0]
    siren = params.get("buyer_siren")
    name = None
    if siren:
        found = first_row(con, """SELECT CASE WHEN is_non_diffusible THEN 'Unité non diffusible'
                                       ELSE coalesce(legal_name, usual_name_1, sigle) END
                                  FROM stg_unite_legale WHERE siren = ?""", [siren])
        name = found[0] if found else None
    scope = params.get("local_scope") or "departement"
    if scope == "epci":
        epci = (params.get("local_epci") or "").split(",")
        names = dict(con.execute("SELECT epci_siren, epci_name FROM ref_epci").fetchall())
        local = "intercommunalités " + ", ".join(names.get(e, e) for e in epci)
    elif scope == "distance":
        local = f"à moins de {params['local_distance_km']:g} km du siège de l'acheteur"
    else:
        local = f"département {params.get('home_departement') or '–'}"
    return {"siren": siren, "name": name or ("SIREN " + siren if siren else "acheteur non renseigné"),
            "local": local, "reference_date": params.get("reference_date"),
            "window": (params.get("renewal_min_months", 6), params.get("renewal_max_months", 24)),
            "target": params.get("target_ess_share")}


def header_html(b: dict) -> str:
    return (f'<p id="buyer-header"><strong>{html.escape(b["name"])}</strong>'
            f'{" · SIREN " + html.escape(b["siren"]) if b["siren"] else ""} · offre locale : {html.escape(b["local"])}</p>')


def incomplete_quarters(con: duckdb.DuckDBPyConnection, quarters: list[str]) -> list[str]:
    """Quarters the data cover only in part (they start late or stop early): a low share there
    may only be missing payments."""
    first, last = con.execute("SELECT min(purchase_date), max(purchase_date) FROM dash_purchase_lines "
                              "WHERE status = 'ok'").fetchone()
    out = []
    for q in quarters:
        year, n = int(q[:4]), int(q[-1])
        start = dt.date(year, 3 * n - 2, 1)
        end = (dt.date(year + (n == 4), 1 if n == 4 else 3 * n + 1, 1)) - dt.timedelta(days=1)
        tol = dt.timedelta(days=INCOMPLETE_TOLERANCE_DAYS)
        if (first and first > start + tol) or (last and last < end - tol):
            out.append(q)
    return out


def distinct_sorted(expr: str, sep: str, where: str) -> str:
    """SQL for `string_agg(DISTINCT expr, sep ORDER BY expr) FILTER (WHERE where)` (NULL without a value
    to join, '' when every value is NULL: always read through coalesce(…, '')), built from a list:
    DuckDB's ordered DISTINCT aggregate costs ≈ 10 ms on the sample's 2 200 supplier groups.
    tests/test_dashboard_figures.py holds it to the string_agg it replaces."""
    literal = "'" + sep.replace("'", "''") + "'"
    return f"array_to_string(list_sort(list_distinct(list({expr}) FILTER (WHERE {where}))), {literal})"


def facts(con: duckdb.DuckDBPyConnection, b: dict) -> dict:
    """Everything the Action 1 panels and the filter-following panels need, small enough to embed.
    Amounts as DOUBLE where there are many: the page's JSON takes floats, converted once in SQL."""
    grouped = "coalesce(s.is_entrepreneur_individuel, false) OR coalesce(s.is_non_diffusible, false)"
    dims = "coalesce(p.quarter, '') AS q, coalesce(p.buying_entity, 'Non renseignée') AS e, coalesce(r.cpv_division, '') AS d"
    sup = con.execute(f"""
        SELECT {dims}, r.siren AS k, coalesce(s.epci_siren, '') AS epci,
               round(sum(p.amount_eur), 2)::DOUBLE,
               round(coalesce(sum(p.amount_eur) FILTER (WHERE r.is_ess_at_line_date), 0), 2)::DOUBLE, count(*),
               -- ESS lines, their families and legal basis on their own dates (not the status today)
               count(*) FILTER (WHERE r.is_ess_at_line_date),
               coalesce({distinct_sorted("r.ess_family", ",", "r.is_ess_at_line_date")}, ''),
               coalesce({distinct_sorted("r.ess_basis_at_line_date", " | ", "r.is_ess_at_line_date")}, '')
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id) JOIN suppliers s USING (siren)
        WHERE r.match_status = 'matched' GROUP BY ALL ORDER BY ALL""").fetchall()
    info = {}
    for r in rows(con, f"""
            SELECT s.siren, s.display_name, s.ess_family, s.evidence, s.is_ess, s.is_inclusive, s.siae_kind,
                   s.commune_code, c.commune_nom, s.epci_siren, ep.epci_name
            FROM suppliers s LEFT JOIN ref_commune c USING (commune_code) LEFT JOIN ref_epci ep ON ep.epci_siren = s.epci_siren
            WHERE NOT ({grouped})"""):
        info[r["siren"]] = [r["display_name"], FAMILY_LABELS.get(r["ess_family"], r["ess_family"] or ""),
                            r["evidence"] or "", bool(r["is_ess"]), bool(r["is_inclusive"]), r["siae_kind"] or "",
                            r["commune_code"] or "", r["commune_nom"] or "", r["epci_siren"] or "", r["epci_name"] or ""]
    # every matched supplier's place and status (no name): the map and the counts need them all
    place = {r[0]: [r[1] or "", r[2] or "", bool(r[3]), bool(r[4]), bool(r[5])] for r in con.execute(f"""
        SELECT siren, commune_code, epci_siren, is_ess, is_inclusive, {grouped.replace("s.", "")}
        FROM suppliers ORDER BY siren""").fetchall()}
    fam = con.execute(f"""
        SELECT {dims}, r.ess_family, round(sum(p.amount_eur), 2)::DOUBLE
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id)
        WHERE r.match_status = 'matched' AND r.is_ess_at_line_date GROUP BY ALL ORDER BY ALL""").fetchall()
    methods = con.execute(f"""
        SELECT {dims}, r.match_status, r.match_method, count(*), round(sum(p.amount_eur), 2)::DOUBLE
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id) GROUP BY ALL ORDER BY ALL""").fetchall()
    backlog = con.execute(f"""
        SELECT {dims}, coalesce(ps.label, m.supplier_name) AS supplier_name,  -- both masked for non-diffusible units
               m.reason, count(*), round(sum(p.amount_eur), 2)
        FROM res_purchase_line_supplier rs JOIN res_supplier_match m USING (supplier_key)
        JOIN dash_purchase_lines p USING (line_id) JOIN dash_lines_resolved r USING (line_id)
        LEFT JOIN res_private_siren ps ON ps.siren = rs.siren
        WHERE rs.match_status IN ('review', 'unmatched') GROUP BY ALL
        ORDER BY abs(sum(p.amount_eur)) DESC LIMIT {MAX_BACKLOG_ROWS}""").fetchall()
    quarantine = con.execute(f"""
        SELECT coalesce(quarter, ''), coalesce(buying_entity, 'Non renseignée'), source_file, source_line,
               quarantine_reason, amount_eur
        FROM dash_purchase_lines WHERE status = 'quarantined' ORDER BY source_file, source_row
        LIMIT {MAX_QUARANTINE_ROWS}""").fetchall()
    lines: dict[str, list] = {}
    for siren, *rest in con.execute(f"""
            SELECT r.siren, {dims}, CAST(p.purchase_date AS VARCHAR), p.amount_eur::DOUBLE, p.category, p.source_file,
                   p.source_line
            FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id) JOIN suppliers s USING (siren)
            WHERE r.match_status = 'matched' AND NOT ({grouped})
            QUALIFY row_number() OVER (PARTITION BY r.siren ORDER BY p.purchase_date DESC NULLS LAST, p.line_id)
                    <= {MAX_LINES_PER_SUPPLIER}
            ORDER BY r.siren, p.purchase_date DESC NULLS LAST, p.line_id""").fetchall():
        lines.setdefault(siren, []).append(list(rest))
    offer = {r["cpv_division"]: [r["cpv_label"] or "", r["local_ess_supplier_count"], r["local_inclusive_supplier_count"],
                                 r["legal_levers"]]
             for r in rows(con, """
        -- the same levers as mart_opportunities, for every division: the page ranks them under the filters
        SELECT cpv_division, cpv_label, local_ess_supplier_count, local_inclusive_supplier_count,
               concat_ws(' ; ',
                   CASE WHEN local_inclusive_supplier_count > 0
                       THEN 'Marché réservé aux SIAE (L2113-13) ou aux EA/ESAT (L2113-12)' END,
                   CASE WHEN cpv_division IN ('75', '79', '80', '85', '92', '98') AND local_ess_supplier_count > 0
                       THEN 'Réservation aux entreprises de l''ESS pour certains services sociaux, de santé ou culturels (L2113-15), selon les codes CPV de l''annexe' END,
                   'Clause sociale d''exécution (L2112-2)',
                   'Critère social d''attribution (R2152-7)') AS legal_levers
        FROM ess_offer_by_category""")}
    establishments: dict[str, list] = {}
    for r in rows(con, "SELECT * FROM ess_sourcing ORDER BY siret, cpv_division"):
        est = establishments.get(r["siret"])
        if est is None:
            kind = " / ".join(x for x in (FAMILY_LABELS.get(r["ess_family"], r["ess_family"] or ""),
                                          (r["inclusive_kind"] or "").replace(",", ", "),
                                          "ESUS" if r["is_esus"] else "") if x)
            est = establishments[r["siret"]] = [
                r["siret"], r["siren"], r["display_name"], r["establishment_name"] or "", kind,
                r["naf_label"] or r["naf"] or "", r["commune_name"] or "", r["commune_code"] or "",
                r["epci_siren"] or "", r["epci_name"] or "", r["headcount_label"] or "",
                round(r["supplier_amount_eur"], 2) if r["is_current_supplier"] else None,
                r["annuaire_url"], r["marche_inclusion_url"] or "", r["evidence"] or "", bool(r["is_ess"]),
                bool(r["is_inclusive"]), []]
        est[-1].append(r["cpv_division"])
    renewals = []
    for r in rows(con, "SELECT * FROM contract_renewals ORDER BY estimated_end_date NULLS LAST, contract_uid"):
        renewals.append([r["contract_uid"], r["object"] or "", r["cpv_division"] or "", r["cpv_label"] or "",
                         r["titulaires"] or "", (r["titulaire_sirens"] or "").split(",") if r["titulaire_sirens"] else [],
                         date_fr(r["notification_date"]) if r["notification_date"] else "",
                         date_fr(r["estimated_end_date"]) if r["estimated_end_date"] else "",
                         r["renewal_status"], bool(r["is_in_renewal_window"]),
                         r["amount_last_eur"] if r["amount_last_eur"] is not None else r["amount_initial_eur"],
                         _social_label(r), r["local_ess_structure_count"], r["local_inclusive_structure_count"],
                         r["untapped_structure_count"], r["legal_levers"] or ""])
    communes = {c: [lon, lat, nom] for c, lon, lat, nom in con.execute("""
        SELECT pt.commune_code, pt.lon, pt.lat, c.commune_nom FROM ref_commune_point pt
        LEFT JOIN ref_commune c USING (commune_code)
        WHERE pt.commune_code IN (SELECT commune_code FROM suppliers UNION SELECT commune_code FROM ess_sourcing)
        ORDER BY 1""").fetchall()}
    return {"sup_cols": ["q", "e", "d", "k", "epci", "t", "ess", "n", "en", "fam", "ev"], "sup": [list(r) for r in sup],
            "info": info, "place": place, "fam": [list(r) for r in fam], "methods": [list(r) for r in methods],
            "backlog": [list(r) for r in backlog], "quarantine": [list(r) for r in quarantine],
            "quarantine_capped": len(quarantine) == MAX_QUARANTINE_ROWS, "lines": lines, "offer": offer,
            "est": list(establishments.values()), "renewals": renewals, "communes": communes,
            "greens": GREENS, "window": list(b["window"]), "target": b["target"],
            "epci_names": dict(con.execute("SELECT epci_siren, epci_name FROM ref_epci ORDER BY 1").fetchall())}


def _social_label(r: dict) -> str:
    if r["social_considerations"] is None:
        return "non renseigné (DECP v1)"
    found = [label for key, label in (("has_social_clause", "clause sociale"), ("has_social_criterion", "critère social"),
                                      ("is_reserved", "marché réservé")) if r[key]]
    return ", ".join(found) or "aucune"


def panels_html(b: dict, divisions: dict[str, str]) -> str:
    """The « Sourcing », « Marchés à renouveler » and drill-down sections (filled by carto_panels.js)."""
    low, high = b["window"]
    ref = date_fr(b["reference_date"]) if b["reference_date"] else "–"
    opts = "".join(f'<option value="{d}">{d} {html.escape((lbl or "")[:60])}</option>'
                   for d, lbl in sorted(divisions.items()))
    return f"""
<section data-panel="sourcing" id="panel-sourcing"><h2>Sourcing : l'offre ESS et inclusive locale, nommée</h2>
<p class="note">Structures ESS ou inclusives actives ({html.escape(b["local"])}) dont l'activité (NAF) peut répondre à
une catégorie d'achat. Suit le filtre « Catégorie » ; l'offre ne dépend ni de la période ni de l'entité acheteuse.
Export pour les rencontres d'affaires : <code>achats export --format xlsx --sourcing</code>.</p>
<div class="controls"><label>Catégorie <select id="sourcing-division"><option value="">Toutes</option>{opts}</select></label>
<label>Mot <input id="sourcing-search" type="search" placeholder="nom, activité, commune…"></label>
<label>Intercommunalité <select id="sourcing-epci"><option value="">Toutes</option></select></label>
<label><input id="sourcing-untapped" type="checkbox"> pas encore fournisseurs</label></div>
<p id="sourcing-count" class="note"></p>
<table id="table-sourcing"><thead><tr><th>Structure</th><th>Statut</th><th>Activité</th><th>Commune</th>
<th>Intercommunalité</th><th>Effectif</th><th>Déjà fournisseur</th><th>Liens</th></tr></thead><tbody></tbody></table></section>
<section data-panel="renewals" id="panel-renewals"><h2>Marchés à renouveler</h2>
<p class="note" id="renewals-note">Marchés dont la fin estimée (notification + durée, modifications comprises) tombe
entre {low} et {high} mois après le {html.escape(ref)}. Suit le filtre « Catégorie » ; les marchés (DECP) n'ont ni
entité acheteuse ni date de paiement : les filtres période et entité ne s'y appliquent pas. Leviers : pistes pour les
acheteurs, pas un avis juridique.</p>
<table id="table-renewals"><thead><tr><th>Marché</th><th>Catégorie</th><th>Titulaires</th><th>Fin estimée</th>
<th>Montant</th><th>Considérations sociales</th><th>ESS locales</th><th>Inclusives locales</th><th>Leviers possibles</th>
</tr></thead><tbody></tbody></table></section>
<section data-panel="drill" id="panel-drill"><h2>Détail d'un fournisseur ou d'une intercommunalité</h2>
<p class="note">Cliquer un fournisseur dans le tableau des principaux fournisseurs, ou une intercommunalité sur la carte,
ou choisir ci-dessous. Suit les filtres période, entité et catégorie.</p>
<div class="controls"><label>Intercommunalité <select id="drill-epci"><option value="">–</option></select></label></div>
<div id="drill-content"><p class="note">Rien de sélectionné.</p></div></section>"""


def js() -> str:
    return JS_PATH.read_text(encoding="utf-8")
