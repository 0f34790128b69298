"""The SPASER annual pack: one French HTML report for a year.

HTML rather than XLSX: it opens anywhere without Office, prints to PDF from any browser for the
elected officials' file, carries the method in prose next to the figures, and shares the
dashboard's formats. The figures themselves go to Excel with `achats export`.
"""

from __future__ import annotations

import datetime as dt
import html

import duckdb

from achats.config import Settings
from achats.db import rows
from achats.errors import InputError
from achats.export import VALUE_LABELS
from achats.formatting import date_fr, eur, number_fr, pct, quarter_fr
from achats.match_model import load_model

YEAR_SQL = """
SELECT
    sum(p.amount_eur) AS total,
    sum(r.ess_point_eur) AS ess, sum(r.ess_low_eur) AS low, sum(r.ess_high_eur) AS high,
    sum(CASE WHEN r.match_status = 'matched' AND r.is_esus_at_line_date THEN p.amount_eur END) AS esus,
    sum(CASE WHEN r.match_status = 'matched' AND r.is_inclusive_at_line_date THEN p.amount_eur END) AS inclusive,
    sum(CASE WHEN r.match_status = 'matched' AND (r.is_ess_at_line_date OR r.is_inclusive_at_line_date) THEN p.amount_eur END) AS ess_or_inclusive,
    sum(CASE WHEN r.match_status = 'matched' THEN p.amount_eur END) AS matched,
    sum(CASE WHEN r.match_status = 'review' THEN p.amount_eur END) AS review,
    sum(CASE WHEN r.match_status = 'unmatched' THEN p.amount_eur END) AS unmatched,
    count(*) AS lines,
    count(DISTINCT CASE WHEN r.match_status = 'matched' AND r.is_ess_at_line_date THEN r.siren END) AS ess_suppliers
FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)
WHERE coalesce(p.fiscal_year, year(p.purchase_date)) = ?
"""

# grade: (label, value, thresholds for A, B, C — higher is better unless reversed)
GRADES = [
    ("Part de la dépense rapprochée d'un SIREN", "matched_share", (0.95, 0.85, 0.70), False),
    ("Part de la dépense encore à vérifier", "review_share", (0.02, 0.05, 0.10), True),
    ("Part des lignes en quarantaine", "quarantined_share", (0.005, 0.02, 0.05), True),
    ("Écart relatif entre bornes haute et basse de la dépense ESS", "bound_gap", (0.05, 0.15, 0.30), True),
]


def grade(value: float | None, cuts: tuple[float, float, float], lower_is_better: bool) -> str:
    if value is None:
        return "–"
    for letter, cut in zip("ABC", cuts, strict=True):
        if (value <= cut) if lower_is_better else (value >= cut):
            return letter
    return "D"



def _table(rows: list[dict], cols: list[tuple[str, str, str]]) -> str:
    fmt = {"eur": eur, "pct": pct, "int": number_fr, "text": lambda v: "" if v is None else str(v),
           "quarter": quarter_fr}
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in cols)
    body = "".join("<tr>" + "".join(f"<td class='{k}'>{html.escape(fmt[k](r.get(c)))}</td>" for c, _, k in cols)
                   + "</tr>" for r in rows) or f"<tr><td colspan='{len(cols)}'>Aucune donnée</td></tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def method_html(settings: Settings) -> str:
    """The method in plain French, with the parameters this run actually used."""
    t = settings.thresholds
    accept = t.accept if t.accept is not None else load_model().accept_threshold(t.target_precision)
    added = ("" if t.added_word_similarity <= 0 else
             ", et un nom saisi qui contient un mot distinctif absent du nom de l'unité (« X PLOMBERIE » pour une "
             "unité nommée « X ») : dans un répertoire dense, c'est aussi souvent un autre fournisseur")
    return f"""
<p><strong>Qui est ESS.</strong> Selon la loi n° 2014-856 (art. 1) : par leur statut, les associations, coopératives,
mutuelles et fondations (table des catégories juridiques retenues, avec la raison de chaque choix) ; les sociétés
commerciales inscrites comme telles (indicateur ESS de l'INSEE, liste ESS France) ou agréées ESUS. Chaque preuve est
gardée à part et résumée en une phrase pour chaque fournisseur.</p>
<p><strong>À la date du paiement.</strong> Un agrément ESUS ne compte que pendant sa validité (du début à la fin
d'agrément, ou {settings.esus_default_years} ans sans date de fin) ; une unité cessée avant la date du paiement ne compte
pas ; quand l'historique SIRENE est fourni, la forme juridique et l'indicateur ESS sont ceux en vigueur à cette date.
Les structures inclusives (SIAE, EA, ESAT) sont comptées à part, sans double compte.</p>
<p><strong>Rapprochement des fournisseurs.</strong> SIRET/SIREN vérifiés (clé de Luhn) ; les candidats sont les unités
qui partagent un mot rare avec le nom saisi, ou que l'identifiant désigne. Un modèle estimé sur un banc d'essai étiqueté
donne à chaque candidat la probabilité d'être le bon fournisseur (ressemblance des noms, forme juridique, identifiant,
lieu, activité, homonymes). Accepté d'office à partir d'une probabilité de {number_fr(accept, 3)} (précision visée
{number_fr(t.target_precision, 3)}) ; non rapproché quand aucun nom candidat n'atteint {number_fr(t.review, 2)} de
probabilité ; entre les deux, à vérifier. Deux homonymes sans lieu pour les départager se partagent la probabilité et vont
donc en vérification, comme un identifiant que le nom saisi contredit{added}.</p>
<p><strong>Fourchette.</strong> Estimation : chaque ligne compte pour son montant multiplié par la probabilité que son
fournisseur soit ESS à la date (somme, sur ses candidats, de la probabilité du candidat s'il est ESS ; pour une ligne non
rapprochée dont le nom porte un marqueur ESS, la part d'ESS observée parmi les lignes rapprochées qui portent un tel
marqueur ; pour un fournisseur accepté sur son seul nom, l'unité acceptée avec une probabilité de 1 moins le taux
d'acceptations fausses mesuré sur le banc d'essai, sinon une autre unité). Intervalle à 90 % : les bornes basse et haute
entre lesquelles le montant ESS se trouve 9 fois sur 10 si ces probabilités sont justes (tirage de Monte-Carlo du
fournisseur de chaque clé, acceptations sur le nom comprises, toutes les lignes d'une clé et les avoirs qui annulent
l'une d'elles ensemble). Bornes extrêmes : le pire des cas, lignes rapprochées par un identifiant ou par une personne
avec une preuve ESS seules d'un côté, tout ce qui pourrait être ESS de l'autre (un fournisseur accepté sur son seul nom
peut être une autre unité ; un paiement à une unité ESS déjà cessée peut encore lui revenir) ; un avoir et le paiement qu'il annule y comptent ensemble, pour leur montant net, dans
toute période qui contient les deux (leur trimestre, leur année, l'ensemble) : les bornes extrêmes de l'ensemble sont
donc au plus aussi larges que la somme de celles des trimestres ; l'intervalle reste entre elles. Les avoirs réduisent la dépense de leur période. Total = ESS rapproché + non-ESS
rapproché + à vérifier + non rapproché ; les lignes en quarantaine sont comptées à part.</p>"""


def _undated_html(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """Say where the lines without a date went, so that nobody adds them to the year by mistake."""
    undated = rows(con, "SELECT total_amount_eur, line_count FROM objective8_by_year WHERE period = 'sans date'")
    amount, n = (undated[0]["total_amount_eur"], undated[0]["line_count"]) if undated else (0.0, 0)
    text = (f"<p id='sans-date'>Sur l'ensemble des données, {html.escape(number_fr(n))} lignes acceptées, pour "
            f"{html.escape(eur(amount))}, n'ont ni date ni exercice : ce montant n'est compté dans aucune année, "
            f"ni dans ce bilan ; il figure seulement dans l'ensemble des données, en « sans date ».</p>")
    year_only = rows(con, """SELECT coalesce(sum(amount_eur), 0) AS amount, count(*) AS n FROM purchase_lines
                             WHERE status = 'ok' AND quarter IS NULL AND fiscal_year = ?""", [year])[0]
    if year_only["n"]:
        text += (f"<p class='note'>Lignes de l'année sans trimestre : {html.escape(eur(year_only['amount']))} "
                 f"({html.escape(number_fr(year_only['n']))} lignes) ont l'exercice {year} mais pas de date ; "
                 f"ils comptent dans l'année, pas dans les trimestres ci-dessus.</p>")
    return text


def _share_range(low: float | None, high: float | None, total: float | None) -> str:
    """« a – b » with a <= b: when credits exceed spend (total < 0), the higher amount is the lower share."""
    if not total or low is None or high is None:
        return f"{pct(None)} – {pct(None)}"
    a, b = sorted((float(low) / float(total), float(high) / float(total)))
    return f"{pct(a)} – {pct(b)}"


def build_report(con: duckdb.DuckDBPyConnection, year: int, settings: Settings) -> str:
    y = rows(con, YEAR_SQL, [year])[0]
    if not y["lines"]:
        raise InputError(f"Aucune ligne d'achat pour l'année {year} dans l'entrepôt")
    total = y["total"] or 0.0
    # rows of a file that copies another file (status 'duplicate') count nowhere, not even here
    quarantined = con.execute("""SELECT count(*) FILTER (WHERE status = 'quarantined'),
                                        count(*) FILTER (WHERE status IN ('ok', 'quarantined')) FROM purchase_lines
                                 WHERE coalesce(fiscal_year, year(purchase_date)) = ?""", [year]).fetchall()[0]
    values = {
        "matched_share": (y["matched"] or 0) / total if total else None,
        "review_share": (y["review"] or 0) / total if total else None,
        "quarantined_share": quarantined[0] / quarantined[1] if quarantined[1] else None,
        "bound_gap": ((y["high"] or 0) - (y["low"] or 0)) / y["ess"] if y["ess"] else None,
    }
    grades = [{"criterion": label, "value": pct(values[key]), "grade": grade(values[key], cuts, rev)}
              for label, key, cuts, rev in GRADES]
    quarters = rows(con, "SELECT * FROM objective8_summary WHERE period LIKE ? ORDER BY period", [f"{year}-Q%"])
    # the basis of each ESS line on its own date (family, evidence), not the unit's status today;
    # the amount is the ESS spend as counted in the year's figure
    top = rows(con, """
        WITH lines AS (
            SELECT coalesce(s.is_entrepreneur_individuel, false) OR coalesce(s.is_non_diffusible, false) AS grouped,
                   s.display_name, s.siren,
                   r.ess_family, r.ess_basis_at_line_date AS evidence, p.amount_eur
            FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id) JOIN suppliers s USING (siren)
            WHERE r.match_status = 'matched' AND r.is_ess_at_line_date AND coalesce(p.fiscal_year, year(p.purchase_date)) = ?
        ),
        published AS (  -- natural persons and non-diffusible units only as one aggregated row
            SELECT CASE WHEN grouped THEN 'Entrepreneurs individuels et unités non diffusibles' ELSE display_name END
                       AS display_name,
                   CASE WHEN grouped THEN NULL ELSE siren END AS siren,
                   CASE WHEN grouped THEN NULL ELSE ess_family END AS ess_family,
                   CASE WHEN grouped THEN 'Regroupés' ELSE evidence END AS evidence,
                   amount_eur
            FROM lines
        )
        SELECT display_name, siren, ess_family, evidence, sum(amount_eur) AS amount_eur
        FROM published GROUP BY ALL ORDER BY amount_eur DESC, display_name, evidence LIMIT 15""", [year])
    for r in top:
        r["ess_family"] = VALUE_LABELS["ess_family"].get(r["ess_family"], r["ess_family"] or "")
    undated_html = _undated_html(con, year)
    opportunities = year_leads(con, year)
    contracts = rows(con, "SELECT * FROM contracts_summary WHERE period = ?", [str(year)])
    run = rows(con, "SELECT run_id, run_at, inputs_fingerprint, overrides_fingerprint FROM hist_runs "
                     "ORDER BY run_at DESC LIMIT 1")
    run_line = (f"Calcul {run[0]['run_id']} du {date_fr(run[0]['run_at'].date())}, empreinte des entrées "
                f"{run[0]['inputs_fingerprint']}, des décisions manuelles {run[0]['overrides_fingerprint']}") if run else ""
    cards = [("Dépense totale", eur(total)), ("Dépense ESS (estimation)", eur(y["ess"])),
             ("Bornes extrêmes ESS (pire des cas)", f"{eur(y['low'])} – {eur(y['high'])}"),
             ("Part ESS", pct(y["ess"] / total if total else None)),
             ("Part ESS, bornes extrêmes", _share_range(y["low"], y["high"], total)),
             ("ESUS", eur(y["esus"] or 0)), ("Structures inclusives", eur(y["inclusive"] or 0)),
             ("ESS ou inclusif", eur(y["ess_or_inclusive"] or 0)), ("Fournisseurs ESS", number_fr(y["ess_suppliers"])),
             ("À vérifier", eur(y["review"] or 0)), ("Non rapproché", eur(y["unmatched"] or 0)),
             ("Lignes en quarantaine", number_fr(quarantined[0]))]
    card_html = "".join(f"<div class='card'><div class='label'>{html.escape(k)}</div>"
                        f"<div class='value' data-key='{html.escape(k)}'>{html.escape(v)}</div></div>" for k, v in cards)
    contract_html = (f"<p>Marchés notifiés en {year} : {eur(contracts[0]['notified_amount_eur'])}, dont "
                     f"{pct(contracts[0]['social_consideration_share'])} avec une considération sociale et "
                     f"{pct(contracts[0]['ess_titulaire_share'])} attribués à des titulaires ESS (montants notifiés, "
                     "distincts des montants payés).</p>") if contracts and contracts[0]["contract_count"] else \
        "<p>Aucun marché notifié cette année dans les données DECP fournies.</p>"
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>Bilan SPASER {year} — achats auprès de l'ESS</title><style>{CSS}</style></head><body>
<h1>Bilan annuel SPASER {year} — achats auprès de l'économie sociale et solidaire</h1>
<p class="note">Objectif 8. Rapport produit le {date_fr(dt.date.today())} par achats. {html.escape(run_line)}</p>
<section id="chiffres"><h2>Les chiffres de l'année</h2><div class="cards">{card_html}</div>
{_table(quarters, [("period", "Trimestre", "quarter"), ("total_amount_eur", "Dépense", "eur"),
                   ("ess_amount_eur", "ESS (estimation)", "eur"), ("ess_share", "Part ESS", "pct"),
                   ("ess_share_low", "Part basse", "pct"), ("ess_share_high", "Part haute", "pct"),
                   ("review_amount_eur", "À vérifier", "eur"), ("unmatched_amount_eur", "Non rapproché", "eur")])}
{undated_html}
{contract_html}</section>
<section id="qualite"><h2>Qualité des données</h2>
<p>Notes de A (très bonne) à D (insuffisante) ; les seuils sont écrits dans le code (achats.report.GRADES).</p>
{_table(grades, [("criterion", "Critère", "text"), ("value", "Valeur", "text"), ("grade", "Note", "text")])}</section>
<section id="fournisseurs"><h2>Principaux fournisseurs ESS de l'année</h2>
{_table(top, [("display_name", "Fournisseur", "text"), ("siren", "SIREN", "text"), ("ess_family", "Famille", "text"),
              ("evidence", "Preuve", "text"), ("amount_eur", "Dépense", "eur")])}</section>
<section id="pistes"><h2>Pistes d'achat auprès de l'offre ESS locale</h2>
<p class="note">Pistes pour les acheteurs, pas un avis juridique.</p>
{_table(opportunities, [("rank", "Rang", "int"), ("cpv_label", "Catégorie", "text"), ("buyer_amount_eur", "Dépense", "eur"),
                        ("ess_share", "Part ESS", "pct"), ("local_ess_supplier_count", "ESS locales", "int"),
                        ("local_inclusive_supplier_count", "Inclusives locales", "int"),
                        ("legal_levers", "Leviers possibles", "text")])}</section>
{action1_html(con, year, opportunities)}
<section id="methode"><h2>Méthode</h2>{method_html(settings)}</section>
</body></html>"""


YEAR_LEADS_SQL = """
-- the rule of mart_opportunities, on the year's lines only
WITH spend AS (
    SELECT r.cpv_division, sum(p.amount_eur) AS buyer_amount_eur,
           coalesce(sum(p.amount_eur) FILTER (WHERE r.match_status = 'matched' AND r.is_ess_at_line_date), 0) AS buyer_ess_amount_eur
    FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)
    WHERE coalesce(p.fiscal_year, year(p.purchase_date)) = ? AND r.cpv_division IS NOT NULL
    GROUP BY 1
)
SELECT s.cpv_division, o.cpv_label, s.buyer_amount_eur, s.buyer_ess_amount_eur,
       s.buyer_ess_amount_eur / nullif(s.buyer_amount_eur, 0) AS ess_share,
       o.local_ess_supplier_count, o.local_inclusive_supplier_count,
       concat_ws(' ; ',
           CASE WHEN o.local_inclusive_supplier_count > 0
               THEN 'Marché réservé aux SIAE (L2113-13) ou aux EA/ESAT (L2113-12)' END,
           CASE WHEN s.cpv_division IN ('75', '79', '80', '85', '92', '98') AND o.local_ess_supplier_count > 0
               THEN 'Réservation aux entreprises de l''ESS pour certains services sociaux, de santé ou culturels (L2113-15), selon les codes CPV de l''annexe' END,
           'Clause sociale d''exécution (L2112-2)', 'Critère social d''attribution (R2152-7)') AS legal_levers,
       row_number() OVER (ORDER BY (s.buyer_amount_eur - s.buyer_ess_amount_eur)
           * ln(1 + o.local_ess_supplier_count + o.local_inclusive_supplier_count) DESC, s.cpv_division) AS rank
FROM spend s JOIN ess_offer_by_category o USING (cpv_division)
WHERE s.buyer_amount_eur > 0 AND o.local_ess_supplier_count + o.local_inclusive_supplier_count > 0
    AND coalesce(s.buyer_ess_amount_eur / nullif(s.buyer_amount_eur, 0), 0) < 0.5
ORDER BY rank LIMIT 10
"""


def year_leads(con: duckdb.DuckDBPyConnection, year: int) -> list[dict]:
    """Leads from the year's own spending (not all years), beside today's local offer."""
    return rows(con, YEAR_LEADS_SQL, [year])


def action1_html(con: duckdb.DuckDBPyConnection, year: int, leads: list[dict]) -> str:
    """Sourcing for the year's first leads (named local structures not yet suppliers) and the
    contracts whose estimated end falls in the next year."""
    blocks = []
    for lead in leads[:5]:
        named = rows(con, """
            SELECT display_name, any_value(commune_name) AS commune_name, any_value(inclusive_kind) AS inclusive_kind,
                   bool_or(is_ess) AS is_ess, any_value(headcount_label) AS headcount_label
            FROM ess_sourcing WHERE cpv_division = ? AND NOT is_current_supplier
            GROUP BY siren, display_name ORDER BY display_name LIMIT 8""", [lead["cpv_division"]])
        for r in named:
            r["status"] = ", ".join(x for x in ("ESS" if r["is_ess"] else "", r["inclusive_kind"] or "") if x)
        blocks.append(f"<h3>{html.escape(lead['cpv_division'])} {html.escape(lead['cpv_label'] or '')}</h3>"
                      + _table(named, [("display_name", "Structure", "text"), ("status", "Statut", "text"),
                                       ("commune_name", "Commune", "text"), ("headcount_label", "Effectif", "text")]))
    renewals = rows(con, """SELECT object, cpv_division, cpv_label, titulaires, estimated_end_date,
                                   coalesce(amount_last_eur, amount_initial_eur) AS amount_eur,
                                   local_ess_structure_count, local_inclusive_structure_count, legal_levers
                            FROM contract_renewals WHERE year(estimated_end_date) = ? ORDER BY estimated_end_date""",
                    [year + 1])
    for r in renewals:
        r["end"] = date_fr(r["estimated_end_date"])
    return f"""<section id="sourcing"><h2>Sourcing : structures locales pas encore fournisseurs, pour les premières pistes</h2>
<p class="note">Liste complète : <code>achats export --format xlsx --sourcing</code>.</p>{''.join(blocks) or '<p>Aucune piste cette année.</p>'}</section>
<section id="renouvellements"><h2>Marchés dont la fin estimée tombe en {year + 1}</h2>
<p class="note">Fin estimée = notification + durée (modifications comprises), d'après les DECP. Pistes, pas un avis juridique.</p>
{_table(renewals, [("object", "Marché", "text"), ("cpv_label", "Catégorie", "text"), ("titulaires", "Titulaires", "text"),
                   ("end", "Fin estimée", "text"), ("amount_eur", "Montant", "eur"),
                   ("local_ess_structure_count", "ESS locales", "int"),
                   ("local_inclusive_structure_count", "Inclusives locales", "int"),
                   ("legal_levers", "Leviers possibles", "text")])}</section>"""


CSS = """body{font-family:Marianne,Arial,sans-serif;max-width:1100px;margin:0 auto;padding:16px;color:#1e1e1e}
h1{font-size:1.5em;border-bottom:3px solid #0072B2}h2{font-size:1.2em;border-bottom:1px solid #ddd}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin-bottom:12px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px;background:#f6f8fa}.label{font-size:.8em;color:#444}
.value{font-size:1.3em;font-weight:bold;color:#0b3d66}.note{font-size:.85em;color:#555}
table{border-collapse:collapse;width:100%;font-size:.85em;margin-bottom:12px}th,td{border-bottom:1px solid #e1e4e8;
padding:4px 6px;text-align:left;vertical-align:top}td.eur,td.pct,td.int{text-align:right;white-space:nowrap}
@media print{section{page-break-inside:avoid}}"""
