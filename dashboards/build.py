"""Build the French dashboard: one self-contained HTML file (plotly.js inlined) that opens offline.

Reads only the warehouse's contract views and marts; never reads names of non-diffusible units
(the `suppliers` view already masks them).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import html
import json
import os
import pkgutil
from decimal import Decimal
from pathlib import Path

import duckdb
import plotly.io
from plotly.colors import sample_colorscale, sequential

from achats.dashboards import carto
from achats.dashboards.plotly_fr import CONFIG as PLOTLY_CONFIG
from achats.dashboards.plotly_fr import LOCALE_JS as PLOTLY_LOCALE_JS
from achats.db import first_row, scalar
from achats.db import rows as exact_rows
from achats.formatting import date_fr, eur, number_fr, pct, quarter_fr
from achats.paths import reference_dir

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
FAMILY_LABELS = {"association": "Associations", "cooperative": "Coopératives", "mutuelle": "Mutuelles",
                 "fondation": "Fondations", "societe_commerciale_ess": "Sociétés commerciales de l'ESS"}
OUTPUT_NAME = "tableau_de_bord_ess.html"



def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """Sums are exact in SQL (DECIMAL); charts and the page's JSON take floats (Decimal is not JSON)."""
    return [{k: float(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in exact_rows(con, sql, params)]


def _fig_html(data: list[dict], layout: dict, div_id: str) -> str:
    """A figure given as plain dicts in plotly's own JSON schema, in the form plotly.py's validation
    would give it (title as {"text": ...}, named colour scales spelt out), serialised unvalidated:
    graph_objects check every property and value in Python, which cost more than the rest of the page.
    tests/test_dashboard_figures.py holds every figure to plotly's validated form."""
    layout = {**layout, "template": plotly_template(), "font": {"family": "Marianne, Arial, sans-serif", "size": 13},
              "margin": {"l": 40, "r": 20, "t": 40, "b": 40}, "separators": ", ", "colorway": PALETTE,
              "paper_bgcolor": "white", "plot_bgcolor": "white"}
    return plotly.io.to_html({"data": data, "layout": layout}, validate=False, full_html=False,
                             include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)


def plotly_template() -> dict:
    """plotly's default template ("plotly"), which go.Figure puts in every figure's layout, read from
    the JSON plotly ships (≈ 0.2 ms; plotly.io.templates would build plotly's validators first)."""
    return json.loads(pkgutil.get_data("plotly", "package_data/templates/plotly.json"))


def _colorscale(colors: list[str]) -> list[list]:
    """A named scale spelt out as plotly.py's validator does (plotly.js's own scales differ)."""
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


def _table(rows: list[dict], columns: list[tuple[str, str, str]], table_id: str) -> str:
    """columns: (key, French header, kind) with kind in text|eur|pct|int."""
    fmt = {"eur": eur, "pct": pct, "int": lambda v: number_fr(v), "text": lambda v: "" if v is None else str(v)}
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="{k}">{html.escape(fmt[k](r.get(c)))}</td>' for c, _, k in columns) + "</tr>"
        for r in rows)
    if not rows:
        body = f'<tr><td colspan="{len(columns)}">Aucune donnée</td></tr>'
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cards(summary: dict) -> str:
    cards = [
        ("card-ess-share", "Part ESS des dépenses", pct(summary["ess_share"]),
         f"9 chances sur 10 entre {pct(summary['ess_share_low'])} et {pct(summary['ess_share_high'])}"),
        ("card-ess-amount", "Dépense ESS (estimation)", eur(summary["ess_amount_eur"]),
         f"intervalle à 90 % (9 fois sur 10 si les probabilités de rapprochement, et le risque d'erreur des "
         f"rapprochements acceptés sur le nom, sont justes) : de "
         f"{eur(summary['ess_amount_low_eur'])} à {eur(summary['ess_amount_high_eur'])} ; "
         f"bornes extrêmes (pire des cas : seuls les fournisseurs ESS rapprochés par un identifiant ou par une "
         f"personne / tout ce qui pourrait être ESS, un fournisseur accepté sur son seul nom pouvant être une "
         f"autre unité, et une unité ESS déjà cessée pouvant encore recevoir son dû) : "
         f"de {eur(summary.get('ess_amount_extreme_low_eur'))} à {eur(summary.get('ess_amount_extreme_high_eur'))}"),
        ("card-total", "Dépense totale analysée", eur(summary["total_amount_eur"]),
         f"{number_fr(summary['line_count'])} lignes"),
        ("card-esus", "Dont ESUS", eur(summary["esus_amount_eur"]), "agrément valide à la date du paiement"),
        ("card-inclusive", "Structures inclusives", eur(summary["inclusive_amount_eur"]), "SIAE, EA, ESAT"),
        ("card-suppliers", "Fournisseurs ESS", number_fr(summary["ess_supplier_count"]), "rapprochés avec preuve"),
        ("card-review", "À vérifier", eur(summary["review_amount_eur"]), "rapprochement incertain"),
        ("card-unmatched", "Non rapproché", eur(summary["unmatched_amount_eur"]),
         f"{number_fr(summary['quarantined_line_count'])} lignes en quarantaine"),
    ]
    return "".join(
        f'<div class="card" id="{cid}"><div class="label">{html.escape(label)}</div>'
        f'<div class="value" data-value="{html.escape(value)}">{html.escape(value)}</div>'
        f'<div class="sub">{html.escape(sub)}</div></div>'
        for cid, label, value, sub in cards)


def _trend(quarters: list[dict], by_family: list[dict], incomplete: list[str] | None = None,
           target: float | None = None) -> str:
    x = [quarter_fr(q["period"]) for q in quarters]
    incomplete = incomplete or []
    data = [
        {"type": "scatter", "x": x, "y": [100 * (q["ess_share_high"] or 0) for q in quarters], "mode": "lines",
         "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "x": x, "y": [100 * (q["ess_share_low"] or 0) for q in quarters], "mode": "lines",
         "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(0,114,178,0.18)", "name": "Intervalle à 90 %",
         "hoverinfo": "skip"},
        {"type": "scatter", "x": x, "y": [100 * (q["ess_share"] or 0) for q in quarters], "mode": "lines+markers",
         "name": "Part ESS (estimation)", "line": {"color": PALETTE[0], "width": 3},
         "marker": {"symbol": ["circle-open" if q["period"] in incomplete else "circle" for q in quarters], "size": 9},
         "customdata": [" (trimestre incomplet)" if q["period"] in incomplete else "" for q in quarters],
         "hovertemplate": "%{x}%{customdata} : %{y:.1f} %<extra></extra>"},
    ]
    layout = {"title": {"text": "Part ESS des dépenses par trimestre"}, "hovermode": "x unified",
              "legend": {"orientation": "h", "y": -0.2}}
    _trend_target_and_axis(data, layout, quarters, target, incomplete)
    layout["yaxis"]["title"] = {"text": "%"}
    families = sorted({r["ess_family"] for r in by_family})
    fam = []
    for i, f in enumerate(families):
        vals = {r["quarter"]: r["amount_eur"] for r in by_family if r["ess_family"] == f}
        fam.append({"type": "bar", "x": x, "y": [vals.get(q["period"], 0) for q in quarters],
                    "name": FAMILY_LABELS.get(f, f), "marker": {"color": PALETTE[i % len(PALETTE)]},
                    "hovertemplate": "%{x} : %{y:,.0f} €<extra>" + FAMILY_LABELS.get(f, f) + "</extra>"})
    fam_layout = {"barmode": "stack", "title": {"text": "Dépense ESS certaine par famille"},
                  "yaxis": {"title": {"text": "€"}, "tickformat": ",.0f"}, "legend": {"orientation": "h", "y": -0.2}}
    return _fig_html(data, layout, "fig-trend") + _fig_html(fam, fam_layout, "fig-family")


def _trend_target_and_axis(data: list[dict], layout: dict, quarters: list[dict], target: float | None,
                           incomplete: list[str]) -> None:
    """The axis starts at 0 (a 2-point swing must not look like a collapse); the buyer's target,
    when set in achats.toml [objectifs], is a dashed line; incomplete quarters have open markers."""
    top = max([100 * (q["ess_share_high"] or 0) for q in quarters] + [100 * (target or 0), 10])
    layout["yaxis"] = {"range": [0, min(100, 10 * ((top * 1.15) // 10 + 1))], "ticksuffix": " %"}
    if target is not None:
        data.append({"type": "scatter", "x": [quarter_fr(q["period"]) for q in quarters],
                     "y": [100 * target] * len(quarters), "mode": "lines", "name": f"Objectif ({pct(target)})",
                     "meta": "target", "line": {"color": PALETTE[5], "dash": "dash", "width": 2}, "hoverinfo": "skip"})
    if incomplete:
        layout["annotations"] = [{"text": "○ trimestre incomplet (données partielles)", "xref": "paper",
                                  "yref": "paper", "x": 1, "y": 1.08, "showarrow": False,
                                  "font": {"size": 11, "color": "#555"}, "xanchor": "right"}]


def _breakdowns(entities: list[dict], divisions: list[dict]) -> str:
    ent = sorted(entities, key=lambda r: r["amount_eur"])
    names = [r["buying_entity"] for r in ent]
    bars = [{"type": "bar", "y": names, "x": [r["amount_eur"] for r in ent], "orientation": "h",
             "marker": {"color": PALETTE[4]}, "name": "Dépense", "customdata": [[pct(r["ess_share"])] for r in ent],
             "hovertemplate": "%{y}<br>%{x:,.0f} €<br>Part ESS : %{customdata[0]}<extra></extra>"},
            {"type": "bar", "y": names, "x": [r["ess_amount_eur"] for r in ent], "orientation": "h",
             "marker": {"color": PALETTE[2]}, "name": "dont ESS",
             "hovertemplate": "%{y}<br>ESS : %{x:,.0f} €<extra></extra>"}]
    bars_layout = {"title": {"text": "Dépense et dépense ESS par direction"}, "barmode": "overlay",
                   "xaxis": {"title": {"text": "€"}, "tickformat": ",.0f"}, "height": 120 + 40 * len(ent),
                   "legend": {"orientation": "h", "y": -0.15}}
    top = divisions[:25]
    tree = [{"type": "treemap", "labels": [f"{r['cpv_division']} {(r['cpv_label'] or '')[:40]}" for r in top],
             "parents": ["" for _ in top], "values": [max(r["buyer_amount_eur"], 0) for r in top],
             "customdata": [[eur(r["buyer_amount_eur"]), pct(r["ess_share"])] for r in top],
             "marker": {"colors": [100 * (r["ess_share"] or 0) for r in top], "colorscale": _colorscale(sequential.Blues),
                        "colorbar": {"title": {"text": "% ESS"}}},
             "hovertemplate": "%{label}<br>%{customdata[0]}<br>Part ESS : %{customdata[1]}<extra></extra>"}]
    tree_layout = {"title": {"text": "Dépense par division CPV (couleur : part ESS)"}, "height": 460}
    return _fig_html(bars, bars_layout, "fig-entities") + _fig_html(tree, tree_layout, "fig-cpv")


def _map(con: duckdb.DuckDBPyConnection, home: str | None) -> str:
    geo_dir = reference_dir() / "geo"
    files = sorted(geo_dir.glob(f"epci-{home}-*partie*.geojson")) if home else []
    territories = rows(con, """
        SELECT epci_siren, count(*) FILTER (WHERE is_ess) AS ess_suppliers,
               count(*) FILTER (WHERE is_inclusive) AS inclusive_suppliers,
               sum(matched_amount_eur) AS amount_eur,
               sum(matched_amount_eur) FILTER (WHERE is_ess) AS ess_amount_eur
        FROM suppliers WHERE departement_code = ? AND epci_siren IS NOT NULL GROUP BY epci_siren""", [home])
    if not files:
        return ('<p class="note">Aucun contour d\'EPCI embarqué pour ce département : '
                "la carte n'est pas disponible.</p>")
    geo = json.loads(files[0].read_text(encoding="utf-8"))
    by = {r["epci_siren"]: r for r in territories}
    values = [(by.get(f["properties"]["code"]) or {}).get("ess_amount_eur") or 0 for f in geo["features"]]
    top = max(values) or 1
    colors = sample_colorscale(sequential.Greens, [min(1.0, max(0.0, 0.08 + 0.92 * v / top)) for v in values])
    data = []
    layout = {"title": {"text": "Dépense ESS vers les fournisseurs de chaque intercommunalité"}, "height": 560,
              "xaxis": {"visible": False}, "yaxis": {"visible": False, "scaleanchor": "x", "scaleratio": 1.4}}
    # Outlines drawn as filled polygons on plain axes: no map tiles, no topojson, works offline.
    for feat, value, color in zip(geo["features"], values, colors, strict=True):
        props = feat["properties"]
        r = by.get(props["code"]) or {}
        hover = (f"{props['nom']}<br>Dépense : {eur(r.get('amount_eur') or 0)}<br>dont ESS : {eur(value)}<br>"
                 f"Fournisseurs ESS : {r.get('ess_suppliers') or 0} · inclusifs : {r.get('inclusive_suppliers') or 0}")
        polygons = feat["geometry"]["coordinates"]
        if feat["geometry"]["type"] == "Polygon":
            polygons = [polygons]
        for poly in polygons:  # every part of a multi-part territory (islands, exclaves)
            ring = poly[0]
            # plotly shows a trace's name, not its text, when hovering a fill: the name carries the figures
            data.append({"type": "scatter", "x": [p[0] for p in ring], "y": [p[1] for p in ring], "fill": "toself",
                         "mode": "lines", "fillcolor": color, "line": {"color": "#555", "width": 0.7},
                         "hoveron": "fills", "text": hover, "hoverinfo": "name", "showlegend": False, "name": hover,
                         "hoverlabel": {"namelength": -1}, "meta": "epci:" + props["code"]})
    data += _supplier_points(con, home, geo_dir, layout)
    data.append(_untapped_offer(con))
    data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "showlegend": False,
                 "hoverinfo": "skip", "marker": {"colorscale": _colorscale(sequential.Greens), "cmin": 0, "cmax": top,
                                                 "color": [0], "colorbar": {"title": {"text": "€ ESS"}}}})
    return _fig_html(data, layout, "fig-map")


def build_dashboard(con: duckdb.DuckDBPyConnection, output_dir: Path) -> Path:
    """Write the dashboard and return its path; the file is replaced atomically.

    The panels read the purchase lines and their resolution some twenty times: the two contract views
    are read once into temporary tables (seen by this connection only, dropped after), so that their
    joins and masks are not redone for each panel."""
    con.execute("CREATE OR REPLACE TEMP TABLE dash_purchase_lines AS SELECT * FROM purchase_lines")
    con.execute("CREATE OR REPLACE TEMP TABLE dash_lines_resolved AS SELECT * FROM purchase_lines_resolved")
    try:
        return _write_dashboard(con, output_dir)
    finally:
        # after a failure inside a transaction DuckDB refuses any statement: the failure's own error wins
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE temp.dash_purchase_lines")
            con.execute("DROP TABLE temp.dash_lines_resolved")


def _write_dashboard(con: duckdb.DuckDBPyConnection, output_dir: Path) -> Path:
    by_period = rows(con, "SELECT * FROM objective8_summary ORDER BY period")
    summary = [r for r in by_period if r["period"] == "ALL"][0]
    quarters = [r for r in by_period if r["period"] is not None and r["period"] not in ("ALL", "sans date")]
    undated = ([r for r in by_period if r["period"] == "sans date"] or [None])[0]
    by_family = rows(con, """
        SELECT p.quarter, r.ess_family, sum(p.amount_eur) AS amount_eur
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id)
        WHERE r.match_status = 'matched' AND r.is_ess_at_line_date AND p.quarter IS NOT NULL GROUP BY ALL""")
    entities = rows(con, """
        SELECT coalesce(p.buying_entity, 'Non renseignée') AS buying_entity, sum(p.amount_eur) AS amount_eur,
               sum(r.ess_point_eur) AS ess_amount_eur, sum(r.ess_point_eur) / nullif(sum(p.amount_eur), 0) AS ess_share
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id) GROUP BY ALL""")
    divisions = rows(con, """
        SELECT *, buyer_ess_amount_eur / nullif(buyer_amount_eur, 0) AS ess_share FROM ess_offer_by_category
        WHERE buyer_amount_eur > 0 ORDER BY buyer_amount_eur DESC""")
    offer = rows(con, "SELECT * FROM ess_offer_by_category ORDER BY local_ess_supplier_count DESC, buyer_amount_eur DESC LIMIT 30")
    opportunities = rows(con, "SELECT * FROM opportunities ORDER BY rank LIMIT 15")
    # ESS spend as counted (lines ESS at their own date), with the family and basis on those dates;
    # natural persons and non-diffusible units only as one aggregated row, as in suppliers_public
    top_ess = rows(con, """
        WITH lines AS (
            SELECT coalesce(s.is_entrepreneur_individuel, false) OR coalesce(s.is_non_diffusible, false) AS grouped,
                   s.display_name, s.siren, r.ess_family, r.ess_basis_at_line_date, p.amount_eur
            FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id) JOIN suppliers s USING (siren)
            WHERE r.match_status = 'matched' AND r.is_ess_at_line_date
        )
        SELECT CASE WHEN grouped THEN 'Entrepreneurs individuels et unités non diffusibles ('
                                      || count(DISTINCT siren) || ')' ELSE any_value(display_name) END AS display_name,
               CASE WHEN grouped THEN NULL ELSE siren END AS siren,
               CASE WHEN grouped THEN NULL ELSE string_agg(DISTINCT ess_family, ',' ORDER BY ess_family) END
                   AS ess_family,
               CASE WHEN grouped THEN 'Regroupés : personnes physiques ou unités non diffusibles'
                    ELSE string_agg(DISTINCT ess_basis_at_line_date, ' | ' ORDER BY ess_basis_at_line_date) END
                   AS evidence,
               sum(amount_eur) AS matched_amount_eur, count(*) AS matched_line_count
        FROM lines GROUP BY grouped, CASE WHEN grouped THEN NULL ELSE siren END
        ORDER BY matched_amount_eur DESC, siren LIMIT 20""")
    for r in top_ess:
        r["ess_family"] = ", ".join(FAMILY_LABELS.get(f, f) for f in (r["ess_family"] or "").split(",") if f)
    quarantine = rows(con, """
        SELECT source_file, source_line, quarantine_reason, amount_eur FROM dash_purchase_lines
        WHERE status = 'quarantined' ORDER BY source_file, source_row LIMIT 50""")
    backlog = rows(con, """
        SELECT coalesce(ps.label, m.supplier_name) AS supplier_name,  -- both masked for non-diffusible units
               m.reason, count(*) AS line_count, sum(p.amount_eur) AS amount_eur
        FROM res_purchase_line_supplier r JOIN res_supplier_match m USING (supplier_key)
        JOIN dash_purchase_lines p USING (line_id)
        LEFT JOIN res_private_siren ps ON ps.siren = r.siren
        WHERE r.match_status IN ('review', 'unmatched') GROUP BY ALL ORDER BY abs(sum(p.amount_eur)) DESC LIMIT 20""")
    methods = rows(con, """
        SELECT match_status, match_method, count(*) AS line_count, sum(p.amount_eur) AS amount_eur
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id) GROUP BY ALL ORDER BY 1, 2""")
    sources = rows(con, """
        SELECT coalesce(fm.masked_file, m.path) AS source_file, m.modified_at, m.size_bytes // 1024 AS size_kb,
               m.rows_kept, count(p.line_id) FILTER (WHERE p.status = 'quarantined') AS quarantined
        FROM sources_manifest m LEFT JOIN res_file_mask fm ON fm.source_file_md5 = md5(m.path)  -- a file naming a private unit: masked
        LEFT JOIN dash_purchase_lines p ON p.source_file = coalesce(fm.masked_file, m.path)
        GROUP BY ALL ORDER BY 1""")
    for r in sources:
        r["modified_at"] = date_fr(dt.date.fromisoformat(r["modified_at"][:10])) if r["modified_at"] else "–"
    reconciliation, warnings = _reconciliation(con)
    facts = _filter_facts(con)
    home = _home(con)
    ref_date = scalar(con, "SELECT max(purchase_date) FROM dash_purchase_lines WHERE status = 'ok'")
    periods = [q["period"] for q in quarters]
    who = carto.buyer(con)
    carto_facts = carto.facts(con, who)
    families = sorted({r["ess_family"] for r in by_family})
    carto_facts["families"] = families
    carto_facts["incomplete"] = carto.incomplete_quarters(con, periods)

    body = f"""
<header><h1>Achats auprès de l'économie sociale et solidaire — {html.escape(who["name"])}</h1>
{carto.header_html(who)}
<p>Objectif 8 — mesurer le volume d'achats auprès des structures de l'ESS et cartographier l'offre.
Période : {html.escape(quarter_fr(periods[0]) if periods else '–')} à {html.escape(quarter_fr(periods[-1]) if periods else '–')}
· données au {html.escape(date_fr(ref_date))} · département {html.escape(home or '–')}</p></header>
{_filter_bar(facts, undated)}
<section data-panel="cards" id="panel-cards"><div class="cards">{_cards(summary)}</div>
<p class="note">L'estimation tient compte des lignes à vérifier (pondérées par la confiance du rapprochement) ;
la fourchette va des seules preuves certaines (basse) à tout ce qui pourrait être ESS (haute).</p></section>
<section data-panel="trend" id="panel-trend"><h2>Évolution trimestrielle</h2>{_trend(quarters, by_family, carto_facts["incomplete"], who["target"])}
{_undated_note(undated)}</section>
<section data-panel="breakdown" id="panel-breakdown"><h2>Par direction et par catégorie d'achat</h2>{_breakdowns(entities, divisions)}</section>
<section data-panel="offer" id="panel-offer"><h2>Offre ESS locale et catégories d'achat (action 1)</h2>
{_table(offer, [("cpv_division", "Division CPV", "text"), ("cpv_label", "Catégorie", "text"),
                ("buyer_amount_eur", "Dépense", "eur"), ("buyer_ess_amount_eur", "dont ESS", "eur"),
                ("local_ess_supplier_count", "Structures ESS locales", "int"),
                ("local_inclusive_supplier_count", "Structures inclusives locales", "int")], "table-offer")}
<h3>Pistes d'achat</h3><p class="note">Pistes pour les acheteurs, pas un avis juridique.</p>
{_table(opportunities, [("rank", "Rang", "int"), ("cpv_label", "Catégorie", "text"),
                        ("buyer_amount_eur", "Dépense", "eur"), ("ess_share", "Part ESS", "pct"),
                        ("local_ess_supplier_count", "ESS locales", "int"),
                        ("local_inclusive_supplier_count", "Inclusives locales", "int"),
                        ("legal_levers", "Leviers possibles", "text")], "table-opportunities")}</section>
<section data-panel="map" id="panel-map"><h2>Carte par intercommunalité</h2>{_map(con, home)}</section>
<section data-panel="suppliers" id="panel-suppliers"><h2>Principaux fournisseurs ESS</h2>
{_table(top_ess, [("display_name", "Fournisseur", "text"), ("siren", "SIREN", "text"),
                  ("ess_family", "Famille", "text"), ("evidence", "Preuve", "text"),
                  ("matched_amount_eur", "Dépense", "eur"), ("matched_line_count", "Lignes", "int")], "table-top-ess")}</section>
<section data-panel="quality" id="panel-quality"><h2>Qualité des données</h2>
<h3>Rapprochement des fichiers d'achats</h3>{warnings}
{_table(reconciliation, [("file", "Fichier", "text"), ("data_row_count", "Lignes de données", "int"),
                         ("accepted_line_count", "Acceptées", "int"), ("quarantined_line_count", "En quarantaine", "int"),
                         ("duplicate_line_count", "En double", "int"), ("declared", "Total déclaré", "text"),
                         ("expected", "Somme des lignes lues", "text"), ("matches", "Concordance", "text")],
        "table-reconciliation")}
<h3>Sources lues</h3>{_table(sources, [("source_file", "Fichier", "text"), ("modified_at", "Date du fichier", "text"),
                                       ("size_kb", "Taille (ko)", "int"), ("rows_kept", "Lignes gardées", "int"),
                                       ("quarantined", "En quarantaine", "int")], "table-sources")}
<h3>Rapprochement des fournisseurs</h3>{_table(methods, [("match_status", "Statut", "text"), ("match_method", "Méthode", "text"),
                                                         ("line_count", "Lignes", "int"), ("amount_eur", "Montant", "eur")], "table-methods")}
<h3>À vérifier en priorité (montants les plus élevés)</h3>{_table(backlog, [("supplier_name", "Fournisseur saisi", "text"),
     ("reason", "Motif", "text"), ("line_count", "Lignes", "int"), ("amount_eur", "Montant", "eur")], "table-backlog")}
<h3>Lignes en quarantaine</h3>{_table(quarantine, [("source_file", "Fichier", "text"), ("source_line", "Ligne", "int"),
     ("quarantine_reason", "Raison", "text"), ("amount_eur", "Montant", "eur")], "table-quarantine")}</section>
{carto.panels_html(who, facts["labels"] | {d: v[0] for d, v in carto_facts["offer"].items() if d not in facts["labels"]})}
<footer>Généré le {html.escape(date_fr(dt.date.today()))} par achats · sources : SIRENE (INSEE), listes ESS France, ESUS, SIAE, DECP.</footer>
"""
    head = f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Achats ESS — {html.escape(who["name"])}</title>
<style>{CSS}</style><script type="text/javascript">"""
    tail = f"""</script>
<script type="text/javascript">{PLOTLY_LOCALE_JS}</script></head>
<body>{body}<script type="application/json" id="filter-data">{_json_for_html(facts)}</script>
<script type="application/json" id="carto-data">{_json_for_html(carto_facts)}</script>
<script type="text/javascript">{FILTER_JS}</script><script type="text/javascript">{carto.js()}</script></body></html>"""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / OUTPUT_NAME
    tmp = path.with_suffix(".html.tmp")
    _write_page(tmp, head, plotlyjs_bytes(), tail)
    tmp.replace(path)
    return path


def plotlyjs_bytes() -> bytes:
    """plotly.js as plotly ships it (what plotly.offline.get_plotlyjs returns, before its decoding):
    5 MB that pass from the package to the page untouched, never made into a Python string."""
    return pkgutil.get_data("plotly", "package_data/plotly.min.js")


def _write_page(path: Path, head: str, plotlyjs: bytes, tail: str) -> None:
    """The same bytes as writing head + plotly.js + tail in text mode (UTF-8, '\\n' written as
    os.linesep), without decoding plotly.js and re-encoding the whole 6 MB page (≈ 30 ms)."""
    data = b"".join((head.encode("utf-8"), plotlyjs, tail.encode("utf-8")))
    if os.linesep != "\n":
        data = data.replace(b"\n", os.linesep.encode("ascii"))
    path.write_bytes(data)


def eur_cents(x: float | None) -> str:
    """A declared total is compared to the cent, so it is shown to the cent."""
    return "–" if x is None else f"{number_fr(x, 2)}\u202f€"


def _reconciliation(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], str]:
    """One row per file read, and French warning lines for copied files and totals that do not match."""
    recs = rows(con, "SELECT * FROM source_file_reconciliation ORDER BY source_file, source_sheet")
    warnings = []
    for r in recs:
        r["file"] = r["source_file"] + (f" (feuille « {r['source_sheet']} »)" if r["source_sheet"] else "")
        r["declared"] = eur_cents(r["declared_total_eur"]) if r["declared_total_eur"] is not None else "aucun"
        r["expected"] = eur_cents(r["expected_total_eur"])
        r["matches"] = {True: "oui", False: "non", None: "sans total déclaré"}[r["has_matching_total"]]
        if r["duplicate_of"]:
            warnings.append(f"Le fichier « {r['source_file']} » est une copie exacte de « {r['duplicate_of']} » : "
                            f"ses {number_fr(r['duplicate_line_count'])} lignes ne sont comptées nulle part.")
        if r.get("superseded_line_count"):
            warnings.append(f"« {r['file']} » : {number_fr(r['superseded_line_count'])} paiements "
                            f"({eur_cents(r['superseded_amount_eur'])}) remplacés par leur version corrigée dans un "
                            f"export plus récent : seule la version corrigée compte.")
        if r.get("possible_overlap_of"):
            warnings.append(f"« {r['file']} » : {number_fr(r['possible_overlap_line_count'])} paiements "
                            f"({eur_cents(r['possible_overlap_amount_eur'])}) ont le même fournisseur, la même date et "
                            f"le même montant qu'un paiement de « {r['possible_overlap_of']} », sans n° de mandat "
                            f"pour le prouver : comptés dans les deux fichiers, à vérifier.")
        if r.get("overlap_of"):
            warnings.append(f"« {r['file']} » : {number_fr(r['overlap_line_count'])} paiements se retrouvent dans "
                            f"« {r['overlap_of']} » (au moins 90 % des paiements datés du fichier : même fournisseur, "
                            f"date et montant) : comptés une seule fois, en double dans ce fichier.")
        if r.get("period_note"):
            warnings.append(r["period_note"])
        if r["has_matching_total"] is False:
            warnings.append(f"Le total déclaré par « {r['file']} » ({eur_cents(r['declared_total_eur'])}) ne correspond "
                            f"pas à la somme des lignes lues ({eur_cents(r['expected_total_eur'])}), "
                            f"écart de {eur_cents(r['total_difference_eur'])}.")
        if not r["has_all_rows_counted"]:
            warnings.append(f"« {r['file']} » : {number_fr(r['accepted_line_count'])} acceptées + "
                            f"{number_fr(r['quarantined_line_count'])} en quarantaine + "
                            f"{number_fr(r['duplicate_line_count'])} en double ≠ "
                            f"{number_fr(r['data_row_count'])} lignes de données.")
    from achats.share_warnings import ess_share_warnings

    warnings += [w[0].upper() + w[1:] for w in ess_share_warnings(con)]
    html_warnings = "".join(f'<p class="warning">⚠ {html.escape(w)}</p>' for w in warnings)
    return recs, f'<div id="reconciliation-warnings">{html_warnings}</div>'


def _undated_note(undated: dict | None) -> str:
    """Lines without a date are in no quarter: say how much, so the chart is not read as the whole."""
    amount = undated["total_amount_eur"] if undated else 0.0
    n = undated["line_count"] - undated["quarantined_line_count"] if undated else 0
    return (f'<p class="note" id="trend-undated">Hors graphique, sans date : {html.escape(eur(amount))} '
            f"({html.escape(number_fr(n))} lignes acceptées), comptés dans l'ensemble mais dans aucun trimestre.</p>")


def _supplier_points(con: duckdb.DuckDBPyConnection, home: str, geo_dir: Path, layout: dict) -> list[dict]:
    """ESS and inclusive suppliers of the département, one point per commune (non-diffusible units
    have no commune in `suppliers`, so they are never placed); their legend goes under the map."""
    files = sorted(geo_dir.glob(f"communes-{home}-*centroides.csv"))
    if not files:
        return []
    with files[0].open(encoding="utf-8") as fh:
        centroids = {r["code_insee"]: r for r in csv.DictReader(fh)}
    rows = con.execute("""
        SELECT commune_code, count(*) FILTER (WHERE is_ess) AS ess, count(*) FILTER (WHERE is_inclusive) AS inc,
               sum(matched_amount_eur) AS amount_eur
        FROM suppliers WHERE departement_code = ? AND commune_code IS NOT NULL AND (is_ess OR is_inclusive)
        GROUP BY 1 ORDER BY 1""", [home]).fetchall()
    pts = [(centroids[c], ess, inc, amt) for c, ess, inc, amt in rows if c in centroids]
    traces = []
    for label, idx, color, symbol in (("Fournisseurs ESS", 1, PALETTE[0], "circle"),
                                      ("Fournisseurs inclusifs", 2, PALETTE[1], "diamond")):
        sel = [p for p in pts if p[idx] > 0]
        traces.append({
            "type": "scatter", "x": [float(p[0]["lon_point_interieur"]) for p in sel],
            "y": [float(p[0]["lat_point_interieur"]) for p in sel], "mode": "markers", "name": label,
            "marker": {"size": [6 + 3 * min(p[idx], 10) for p in sel], "color": color, "symbol": symbol,
                       "line": {"color": "white", "width": 1}},
            "text": [f"{p[0]['nom']}<br>{label} : {p[idx]}<br>Dépense rapprochée : {eur(p[3] or 0)}" for p in sel],
            "hoverinfo": "text", "meta": "points:" + ("ess" if idx == 1 else "inc")})
    layout["legend"] = {"orientation": "h", "y": -0.05}
    return traces


def _untapped_offer(con: duckdb.DuckDBPyConnection) -> dict:
    """Local ESS and inclusive structures that are not suppliers yet, one point per commune."""
    pts = con.execute("""
        SELECT pt.lon, pt.lat, c.commune_nom, count(DISTINCT s.siren)
        FROM ess_sourcing s JOIN ref_commune_point pt USING (commune_code) LEFT JOIN ref_commune c USING (commune_code)
        WHERE NOT s.is_current_supplier GROUP BY ALL ORDER BY 3""").fetchall()
    return {"type": "scatter", "x": [p[0] for p in pts], "y": [p[1] for p in pts], "mode": "markers",
            "name": "Offre locale pas encore fournisseur", "meta": "points:offer",
            "marker": {"size": [5 + 2 * min(p[3], 10) for p in pts], "color": PALETTE[3], "symbol": "triangle-up",
                       "line": {"color": "white", "width": 1}, "opacity": 0.85},
            "text": [f"{p[2]}<br>Offre locale pas encore fournisseur : {p[3]}" for p in pts], "hoverinfo": "text"}


def _filter_facts(con: duckdb.DuckDBPyConnection) -> dict:
    """Aggregates small enough to embed, from which the page recomputes cards and charts when the
    reader filters by period, buying entity or category: no server, works from a shared drive."""
    # DOUBLE: the page's JSON takes floats; the exact DECIMAL sums are converted once, here
    rows = con.execute("""
        SELECT coalesce(p.quarter, '') AS q, coalesce(p.buying_entity, 'Non renseignée') AS e,
               coalesce(r.cpv_division, '') AS d, coalesce(sum(p.amount_eur), 0)::DOUBLE AS t,
               coalesce(sum(r.ess_low_eur), 0)::DOUBLE AS lo, coalesce(sum(r.ess_point_eur), 0)::DOUBLE AS pt,
               coalesce(sum(r.ess_high_eur), 0)::DOUBLE AS hi,
               coalesce(sum(CASE WHEN r.match_status = 'matched' AND r.is_esus_at_line_date THEN p.amount_eur END), 0)::DOUBLE AS esus,
               coalesce(sum(CASE WHEN r.match_status = 'matched' AND r.is_inclusive_at_line_date THEN p.amount_eur END), 0)::DOUBLE AS inc,
               coalesce(sum(CASE WHEN r.match_status = 'review' THEN p.amount_eur END), 0)::DOUBLE AS rv,
               coalesce(sum(CASE WHEN r.match_status = 'unmatched' THEN p.amount_eur END), 0)::DOUBLE AS um,
               coalesce(sum(CASE WHEN r.match_status = 'matched' AND r.is_ess_at_line_date THEN p.amount_eur END), 0)::DOUBLE AS me,
               count(*) AS n
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id)
        GROUP BY ALL ORDER BY ALL""").fetchall()
    quarantined = con.execute("""
        SELECT coalesce(quarter, ''), coalesce(buying_entity, 'Non renseignée'), count(*) FROM dash_purchase_lines
        WHERE status = 'quarantined' GROUP BY ALL ORDER BY ALL""").fetchall()
    sirens = con.execute("""
        SELECT DISTINCT coalesce(p.quarter, ''), coalesce(p.buying_entity, 'Non renseignée'),
               coalesce(r.cpv_division, ''), r.siren
        FROM dash_lines_resolved r JOIN dash_purchase_lines p USING (line_id)
        WHERE r.match_status = 'matched' AND r.is_ess_at_line_date ORDER BY ALL""").fetchall()
    labels = dict(con.execute("SELECT cpv_division, label FROM ref_cpv_division").fetchall())
    return {
        "cols": ["q", "e", "d", "t", "lo", "pt", "hi", "esus", "inc", "rv", "um", "me", "n"],
        "rows": [list(r) for r in rows],
        "quarantined": [list(r) for r in quarantined],
        "ess_sirens": [list(r) for r in sirens],
        "labels": {d: labels.get(d, d) for d in sorted({r[2] for r in rows if r[2]})},
    }


def _json_for_html(data: dict) -> str:
    """The page's data as JSON; exact Decimal sums become numbers only here, at the page's edge."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: float(v) if isinstance(v, Decimal) else str(v)).replace("</", "<\\/")


def _filter_bar(facts: dict, undated: dict | None = None) -> str:
    quarters = sorted({r[0] for r in facts["rows"] if r[0]})
    years = sorted({q[:4] for q in quarters})
    entities = sorted({r[1] for r in facts["rows"]})
    divisions = facts["labels"]
    opt = "".join
    periods = opt(f'<option value="{y}">Année {y}</option>' for y in years) + opt(
        f'<option value="{q}">{html.escape(quarter_fr(q))}</option>' for q in quarters) + \
        '<option value="sans date">Sans date</option>'
    undated_eur = eur(undated["total_amount_eur"] if undated else 0.0)
    ents = opt(f'<option value="{html.escape(e)}">{html.escape(e)}</option>' for e in entities)
    divs = opt(f'<option value="{d}">{d} {html.escape((lbl or "")[:50])}</option>' for d, lbl in divisions.items())
    return f"""<nav class="filters" id="filters" aria-label="Filtres">
<label>Période <select id="filter-period"><option value="">Toutes</option>{periods}</select></label>
<label>Entité acheteuse <select id="filter-entity"><option value="">Toutes</option>{ents}</select></label>
<label>Catégorie <select id="filter-division"><option value="">Toutes</option>{divs}</select></label>
<span class="note" id="filter-note">Chaque panneau suit les filtres, ou dit lequel ne s'y applique pas.
« Sans date » : {html.escape(undated_eur)} de lignes sans date, comptés dans « Toutes » mais dans aucun trimestre
ni aucune année.</span></nav>"""


def _home(con: duckdb.DuckDBPyConnection) -> str | None:
    row = first_row(con, "SELECT home_departement FROM run_parameters")
    return row[0] if row else None


CSS = """
body{font-family:Marianne,Arial,sans-serif;margin:0 auto;max-width:1280px;padding:0 16px 32px;color:#1e1e1e}
header{border-bottom:3px solid #0072B2;margin-bottom:12px}h1{font-size:1.6em;margin:16px 0 4px}
h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:1.05em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:10px 12px;background:#f6f8fa}
.card .label{font-size:.85em;color:#444}.card .value{font-size:1.6em;font-weight:bold;color:#0b3d66}
.card .sub{font-size:.8em;color:#555}.note{font-size:.85em;color:#555}
table{border-collapse:collapse;width:100%;font-size:.85em;margin-bottom:12px}
th,td{border-bottom:1px solid #e1e4e8;padding:4px 6px;text-align:left;vertical-align:top}
td.eur,td.pct,td.int{text-align:right;white-space:nowrap}th{background:#f0f3f6}
.warning{background:#fff4e5;border-left:4px solid #D55E00;padding:6px 10px;margin:6px 0}
footer{margin-top:24px;font-size:.8em;color:#666}
.filters{position:sticky;top:0;background:#fff;z-index:10;padding:8px 0;border-bottom:1px solid #ddd;
display:flex;gap:16px;flex-wrap:wrap;align-items:center}.filters select{font-size:.95em;max-width:320px}
"""

FILTER_JS = r"""
(function () {
  const data = JSON.parse(document.getElementById('filter-data').textContent);
  const C = Object.fromEntries(data.cols.map((c, i) => [c, i]));
  const NB = '\u202f';
  function num(x, dec) {
    const neg = x < 0;
    const fixed = Math.abs(x).toFixed(dec);
    const [int, frac] = fixed.split('.');
    const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, NB);
    const out = frac ? grouped + ',' + frac : grouped;
    return (neg && Number(fixed) !== 0 ? '-' : '') + out;
  }
  const eur = x => num(x, 0) + NB + '€';
  const pct = x => (x === null || !isFinite(x)) ? '–' : num(100 * x, 1) + NB + '%';
  const sel = id => document.getElementById(id).value;
  function keep(q, e, d) {
    const p = sel('filter-period'), en = sel('filter-entity'), dv = sel('filter-division');
    if (p === 'sans date') { if (q !== '') return false; }
    else if (p && !(p.length === 4 ? q.startsWith(p) : q === p)) return false;
    if (en && e !== en) return false;
    if (dv && d !== dv) return false;
    return true;
  }
  function setCard(id, value, sub) {
    const v = document.querySelector('#' + id + ' .value');
    v.textContent = value; v.dataset.value = value;
    if (sub !== undefined) document.querySelector('#' + id + ' .sub').textContent = sub;
  }
  function update() {
    const s = {t: 0, lo: 0, pt: 0, hi: 0, esus: 0, inc: 0, rv: 0, um: 0, me: 0, n: 0};
    const byEntity = {}, byDiv = {};
    for (const r of data.rows) {
      if (!keep(r[C.q], r[C.e], r[C.d])) continue;
      for (const k of Object.keys(s)) s[k] += r[C[k]];
      const e = byEntity[r[C.e]] = byEntity[r[C.e]] || {t: 0, pt: 0};
      e.t += r[C.t]; e.pt += r[C.pt];
      if (r[C.d]) { const d = byDiv[r[C.d]] = byDiv[r[C.d]] || {t: 0, pt: 0, lo: 0, me: 0}; d.t += r[C.t]; d.pt += r[C.pt]; d.lo += r[C.lo]; d.me += r[C.me]; }
    }
    let quarantined = 0;
    for (const [q, e, n] of data.quarantined) if (keep(q, e, sel('filter-division') ? '\u0000' : '')) quarantined += n;
    const sirens = new Set(data.ess_sirens.filter(r => keep(r[0], r[1], r[2])).map(r => r[3]));
    const share = s.t ? s.pt / s.t : null;
    setCard('card-ess-share', pct(share), 'fourchette ' + pct(s.t ? s.lo / s.t : null) + ' – ' + pct(s.t ? s.hi / s.t : null));
    setCard('card-ess-amount', eur(s.pt), 'de ' + eur(s.lo) + ' à ' + eur(s.hi));
    // lines = accepted + quarantined, as in objective8_summary.line_count
    setCard('card-total', eur(s.t), num(s.n + quarantined, 0) + ' lignes');
    setCard('card-esus', eur(s.esus));
    setCard('card-inclusive', eur(s.inc));
    setCard('card-suppliers', num(sirens.size, 0));
    setCard('card-review', eur(s.rv));
    setCard('card-unmatched', eur(s.um), num(quarantined, 0) + ' lignes en quarantaine');
    const ents = Object.entries(byEntity).sort((a, b) => a[1].t - b[1].t);
    const fe = document.getElementById('fig-entities');
    if (fe && window.Plotly) {
      Plotly.restyle(fe, {x: [ents.map(e => e[1].t), ents.map(e => e[1].pt)], y: [ents.map(e => e[0]), ents.map(e => e[0])],
        customdata: [ents.map(e => [pct(e[1].t ? e[1].pt / e[1].t : null)]), null]}, [0, 1]);
    }
    const divs = Object.entries(byDiv).sort((a, b) => b[1].t - a[1].t).slice(0, 25);
    const fc = document.getElementById('fig-cpv');
    if (fc && window.Plotly) {
      Plotly.restyle(fc, {labels: [divs.map(d => d[0] + ' ' + (data.labels[d[0]] || '').slice(0, 40))],
        parents: [divs.map(() => '')], values: [divs.map(d => Math.max(d[1].t, 0))],
        customdata: [divs.map(d => [eur(d[1].t), pct(d[1].t ? d[1].me / d[1].t : null)])],
        'marker.colors': [divs.map(d => 100 * (d[1].t ? d[1].me / d[1].t : 0))]}, [0]);
    }
    document.dispatchEvent(new CustomEvent('achats-filter', {detail: {period: sel('filter-period'),
      entity: sel('filter-entity'), division: sel('filter-division'), byDiv: byDiv}}));
  }
  window.achatsKeep = keep;
  window.achatsFormat = {num: num, eur: eur, pct: pct};
  window.achatsUpdate = update;
  for (const id of ['filter-period', 'filter-entity', 'filter-division'])
    document.getElementById(id).addEventListener('change', update);
})();
"""
