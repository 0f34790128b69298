"""Asset checks. Blocking ones (severity ERROR) stop the run before the warehouse is replaced;
the drift check only warns, with the suppliers that explain the move."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats.db import first_row, scalar
from achats.formatting import number_fr, pct
from achats.registry import Registry, Table, contract_problems, load_registry
from pipelines.resources import AchatsInputs, RunContext


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
    return dg.AssetCheckResult(passed=not bad, metadata={"periods_in_error": ", ".join(p for (p,) in bad) or "-"})


# Distinct counts (ess_supplier_count) and shares do not add up across periods; every euro amount
# and every line count must.
NOT_ADDITIVE = {"ess_supplier_count", "ess_amount_low_eur", "ess_amount_high_eur"}  # 90 % interval: quantiles do not add up


def additive_columns(con, table: str) -> list[str]:
    names = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND "
                                       "database_name = current_database() ORDER BY column_index", [table]).fetchall()]
    return [c for c in names if c.endswith(("_eur", "_count")) and c not in NOT_ADDITIVE]


def periods_mismatches(con, table: str) -> list[str]:
    """Columns whose sum over the periods (quarters or years, and 'sans date') differs from 'ALL'
    by a cent or more, as French text; a missing 'ALL' or 'sans date' row is a mismatch too."""
    cols = additive_columns(con, table)
    parts = ", ".join(f'sum("{c}") FILTER (WHERE period <> \'ALL\')' for c in cols)
    alls = ", ".join(f'sum("{c}") FILTER (WHERE period = \'ALL\')' for c in cols)
    row = con.execute(f"SELECT count(*) FILTER (WHERE period = 'ALL'), count(*) FILTER (WHERE period = 'sans date'), "
                      f"{parts}, {alls} FROM {table}").fetchone()
    n_all, n_undated, sums, totals = row[0], row[1], row[2:2 + len(cols)], row[2 + len(cols):]
    out = [] if n_all == 1 else [f"{n_all} ligne(s) ALL au lieu d'une"]
    if n_undated != 1:
        out.append(f"{n_undated} ligne(s) « sans date » au lieu d'une")
    for c, part, total in zip(cols, sums, totals, strict=True):
        if abs(round((part or 0) - (total or 0), 2)) >= 0.005:
            out.append(f"{c} : périodes {number_fr(part, 2, ' ')} ≠ ALL {number_fr(total, 2, ' ')}")
    return out


@dg.asset_check(asset="mart_objective8_summary", blocking=True,
                description="Les trimestres et « sans date » s'additionnent pour donner ALL, au centime, "
                            "pour chaque montant et chaque nombre de lignes")
def objective8_periods_add_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad = periods_mismatches(con, "mart_objective8_summary")
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatches": dg.MetadataValue.md(
        "\n".join(f"- {b}" for b in bad) or "-")})


BY_YEAR_VS_SUMMARY = ["total_amount_eur", "ess_amount_eur", "ess_amount_extreme_low_eur", "ess_amount_extreme_high_eur",
                      "esus_amount_eur", "inclusive_amount_eur", "ess_or_inclusive_amount_eur",
                      "review_amount_eur", "unmatched_amount_eur"]


@dg.asset_check(asset="objective8_by_year", blocking=True,
                description="objective8_by_year : les années et « sans date » s'additionnent pour donner ALL, "
                            "et ALL égale l'ensemble de objective8_summary, au centime")
def objective8_by_year_adds_up(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad = periods_mismatches(con, "objective8_by_year")
        cols = ", ".join(f'y."{c}" - s."{c}"' for c in BY_YEAR_VS_SUMMARY)
        diffs = con.execute(f"""SELECT {cols} FROM objective8_by_year y, mart_objective8_summary s
                                WHERE y.period = 'ALL' AND s.period = 'ALL'""").fetchone() or ()
    bad += [f"{c} : ALL par année ≠ ALL de objective8_summary (écart {number_fr(d, 2, ' ')})"
            for c, d in zip(BY_YEAR_VS_SUMMARY, diffs, strict=False) if abs(round(d or 0, 2)) >= 0.005]
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatches": dg.MetadataValue.md(
        "\n".join(f"- {b}" for b in bad) or "-")})


FILE_ROWS_SQL = """
WITH lines AS (
    SELECT source_file, coalesce(source_sheet, '') AS sheet,
           count(*) FILTER (WHERE status = 'ok') AS accepted,
           count(*) FILTER (WHERE status = 'quarantined') AS quarantined,
           count(*) FILTER (WHERE status = 'duplicate') AS duplicates,
           count(*) FILTER (WHERE status NOT IN ('ok', 'quarantined', 'duplicate') OR status IS NULL) AS other
    FROM src_purchase_lines GROUP BY ALL
)
SELECT coalesce(f.source_file, l.source_file) AS source_file, coalesce(f.source_sheet, nullif(l.sheet, '')) AS sheet,
       f.data_row_count, coalesce(l.accepted, 0), coalesce(l.quarantined, 0), coalesce(l.duplicates, 0),
       coalesce(l.other, 0)
FROM src_purchase_files AS f
FULL JOIN lines AS l ON l.source_file = f.source_file AND l.sheet = coalesce(f.source_sheet, '')
WHERE f.data_row_count IS NULL OR coalesce(l.other, 0) > 0
   OR coalesce(l.accepted, 0) + coalesce(l.quarantined, 0) + coalesce(l.duplicates, 0) <> f.data_row_count
ORDER BY 1, 2
"""


@dg.asset_check(asset="src_purchase_files", blocking=True,
                description="Pour chaque fichier d'achats : lignes acceptées + en quarantaine + en double "
                            "= lignes de données du fichier (aucune ligne perdue ni inventée)")
def purchase_file_rows_reconcile(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        bad = con.execute(FILE_ROWS_SQL).fetchall()
    text = []
    for file, sheet, rows_, ok, quarantined, dupes, other in bad:
        where = file + (f" (feuille « {sheet} »)" if sheet else "")
        if rows_ is None:
            text.append(f"- {where} : lignes lues pour un fichier absent de src_purchase_files")
        else:
            text.append(f"- {where} : {ok} acceptées + {quarantined} en quarantaine + {dupes} en double"
                        + (f" (+ {other} de statut inconnu)" if other else "") + f" ≠ {rows_} lignes de données")
    return dg.AssetCheckResult(passed=not bad, metadata={"files_in_error": dg.MetadataValue.md("\n".join(text) or "-")})


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


@dg.asset_check(asset="src_purchase_lines", blocking=True,
                description="Part des lignes en quarantaine sous la limite de achats.toml [controles]")
def quarantined_share_within_limit(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_quarantined_share
    with duckdb.get_connection() as con:
        n, bad = first_row(con, "SELECT count(*), count(*) FILTER (WHERE status = 'quarantined') FROM src_purchase_lines")
        reasons = con.execute("""
            SELECT quarantine_reason FROM src_purchase_lines WHERE status = 'quarantined'
            ORDER BY source_file, source_row LIMIT 5""").fetchall()
    share = bad / n if n else 0.0
    return dg.AssetCheckResult(passed=share <= limit, metadata={
        "share": pct(share, " "), "limit": pct(limit, " "),
        "first_reasons": dg.MetadataValue.md("\n".join(f"- {r}" for (r,) in reasons) or "-")})


@dg.asset_check(asset="mart_objective8_summary", blocking=True,
                description="Part de la dépense non rapprochée sous la limite de achats.toml [controles]")
def unmatched_share_within_limit(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_unmatched_share
    with duckdb.get_connection() as con:
        total, unmatched = first_row(con, "SELECT total_amount_eur, unmatched_amount_eur FROM mart_objective8_summary "
                                          "WHERE period = 'ALL'")
    share = unmatched / total if total else 0.0
    return dg.AssetCheckResult(passed=share <= limit, metadata={"share": pct(share, " "), "limit": pct(limit, " ")})


@dg.asset_check(asset="src_purchase_lines", blocking=True,
                description="Pas de chute du nombre de lignes d'achat par rapport au calcul précédent")
def line_count_vs_previous_run(inputs: AchatsInputs, duckdb: DuckDBResource,
                               run_context: RunContext) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_line_count_drop
    previous = run_context.previous
    with duckdb.get_connection() as con:
        now = scalar(con, "SELECT count(*) FROM src_purchase_lines")
        before = None
        if previous is not None and previous.exists():
            con.execute("ATTACH ? AS prev_check (READ_ONLY)", [str(previous)])
            try:
                has = scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'prev_check' "
                                  "AND table_name = 'src_purchase_lines'")
                before = scalar(con, "SELECT count(*) FROM prev_check.main.src_purchase_lines") if has else None
            finally:
                con.execute("DETACH prev_check")
    drop = (before - now) / before if before else 0.0
    return dg.AssetCheckResult(passed=drop <= limit, metadata={
        "lines_now": now, "lines_previous_run": before if before is not None else "aucun calcul précédent",
        "drop": pct(max(drop, 0.0), " "), "limit": pct(limit, " ")})


@dg.asset_check(asset="src_sirene_unite_legale", blocking=True,
                description="SIRENE : colonnes attendues, SIREN valides (clé de Luhn), pas de doublon")
def sirene_schema(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    from achats.identifiers import siren_valid

    with duckdb.get_connection() as con:
        # the same SIREN twice in one file is an error; in a stock and its INSEE refresh it is expected
        n, distinct = first_row(con, "SELECT count(*), count(DISTINCT (source_file, siren)) FROM src_sirene_unite_legale")
        sample = [r[0] for r in con.execute(
            "SELECT siren FROM src_sirene_unite_legale USING SAMPLE 10000 ROWS (reservoir, 1)").fetchall()]
    invalid = sum(1 for s in sample if not siren_valid(str(s).zfill(9)))
    share = invalid / len(sample) if sample else 0.0
    return dg.AssetCheckResult(passed=n > 0 and share <= 0.01 and distinct == n, metadata={
        "units": n, "duplicate_sirens": n - distinct, "invalid_siren_share": pct(share, " ")})


@dg.asset_check(asset="src_status_rejects", blocking=True,
                description="Listes ESS France / ESUS / SIAE : part des lignes rejetées sous la limite [controles]")
def status_lists_schema(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_status_rejected_share
    with duckdb.get_connection() as con:
        kept = scalar(con, "SELECT (SELECT count(*) FROM src_ess_france) + (SELECT count(*) FROM src_esus) "
                           "+ (SELECT count(*) FROM src_siae)")
        rejected = scalar(con, "SELECT count(*) FROM src_status_rejects")
        first = con.execute("SELECT reason FROM src_status_rejects LIMIT 5").fetchall()
    share = rejected / (kept + rejected) if kept + rejected else 0.0
    return dg.AssetCheckResult(passed=share <= limit, metadata={
        "rejected": rejected, "share": pct(share, " "), "limit": pct(limit, " "),
        "first_reasons": dg.MetadataValue.md("\n".join(f"- {r}" for (r,) in first) or "-")})


DRIFT_SQL = """
WITH q AS (
    SELECT period, ess_share, lag(period) OVER (ORDER BY period) AS prev_period,
           lag(ess_share) OVER (ORDER BY period) AS prev_share
    FROM mart_objective8_summary WHERE period NOT IN ('ALL', 'sans date')
)
SELECT period, prev_period, ess_share, prev_share FROM q
WHERE prev_share IS NOT NULL AND abs(ess_share - prev_share) > ?
ORDER BY period
"""
EXPLAIN_SQL = """
SELECT coalesce(s.display_name, 'SIREN ' || e.siren) AS supplier,
       sum(CASE WHEN e.quarter = $cur THEN e.ess_point_eur ELSE 0 END)
     - sum(CASE WHEN e.quarter = $prev THEN e.ess_point_eur ELSE 0 END) AS change_eur
FROM mart_purchase_line_estimate e LEFT JOIN mart_suppliers s USING (siren)
WHERE e.quarter IN ($cur, $prev) AND e.siren IS NOT NULL
GROUP BY ALL HAVING abs(change_eur) > 0 ORDER BY abs(change_eur) DESC LIMIT 5
"""


@dg.asset_check(asset="mart_objective8_summary", blocking=False,
                description="Avertit quand la part ESS bouge de plus de [controles] drift_warning_points d'un trimestre à l'autre")
def ess_share_drift(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.drift_warning_points
    lines = []
    with duckdb.get_connection() as con:
        for period, prev, share, prev_share in con.execute(DRIFT_SQL, [limit]).fetchall():
            lines.append(f"**{period}** : {pct(prev_share, ' ')} → {pct(share, ' ')}")
            for supplier, change in con.execute(EXPLAIN_SQL, {"cur": period, "prev": prev}).fetchall():
                lines.append(f"  - {supplier} : {change:+,.0f} €".replace(",", " "))
    return dg.AssetCheckResult(passed=not lines, severity=dg.AssetCheckSeverity.WARN, metadata={
        "limit_points": f"{number_fr(100 * limit, 1, ' ')} points", "moves": dg.MetadataValue.md("\n".join(lines) or "-")})


@dg.asset_check(asset="mart_contracts_summary", blocking=True,
                description="Recompte indépendant des marchés depuis les fichiers DECP (nombre et montant notifié "
                            "de ALL) ; la somme des périodes égale ALL")
def contracts_summary_recount(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.AssetCheckResult:
    from achats.decp_recount import recount_contracts

    expected = recount_contracts(inputs.path, inputs.settings().buyer_siren)
    with duckdb.get_connection() as con:
        count, amount = first_row(con, "SELECT contract_count, notified_amount_eur FROM mart_contracts_summary "
                                       "WHERE period = 'ALL'")
        gaps = first_row(con, """
            SELECT sum(contract_count) FILTER (WHERE period <> 'ALL') - max(contract_count) FILTER (WHERE period = 'ALL'),
                   sum(notified_amount_eur::DECIMAL(24, 2)) FILTER (WHERE period <> 'ALL')
                       - max(notified_amount_eur::DECIMAL(24, 2)) FILTER (WHERE period = 'ALL')
            FROM mart_contracts_summary""")
    passed = count == expected.contract_count and round(amount * 100) == expected.notified_amount_eur * 100 \
        and not any(gaps)
    return dg.AssetCheckResult(passed=passed, metadata={
        "contracts_warehouse": count, "contracts_recount": expected.contract_count,
        "amount_warehouse": float(amount), "amount_recount": float(expected.notified_amount_eur),
        "periods_minus_all": f"{gaps[0] or 0} marchés, {gaps[1] or 0} €"})


def contract_check(table: Table) -> dg.AssetChecksDefinition:
    """Types, grain and not-null of one declared table: blocking for a contract view, a warning
    elsewhere (an internal table may change; the analysts' views are the promise)."""
    what = "vue du contrat" if table.contract else "table interne (avertissement)"

    @dg.asset_check(asset=table.name, name=f"{table.name}_matches_registry", blocking=table.contract,
                    description=f"{what} : colonnes et types, unicité de ({', '.join(table.grain) or '-'}) "
                                "et colonnes non nulles conformes à sql/registry.yaml")
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            problems = contract_problems(con, table)
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR if table.contract else dg.AssetCheckSeverity.WARN,
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:50]) or "-")})

    return _check


def build_contract_checks(registry: Registry) -> list[dg.AssetChecksDefinition]:
    # the quarterly partitions are not part of a full run; their table copies objective8_summary
    return [contract_check(t) for t in registry.tables.values() if t.name != "mart_quarter_figures"]


CONTRACT_CHECKS = build_contract_checks(load_registry())

CHECKS = [*CONTRACT_CHECKS, objective8_reconciles, objective8_periods_add_up, objective8_by_year_adds_up, purchase_file_rows_reconcile,
          every_ok_line_resolved, purchase_line_ids_unique, quarantined_share_within_limit,
          unmatched_share_within_limit, line_count_vs_previous_run, sirene_schema, status_lists_schema,
          ess_share_drift, contracts_summary_recount]
