"""Asset checks. Blocking ones (severity ERROR) stop the run before the warehouse is replaced;
the drift check only warns, with the suppliers that explain the move.

Each check is a `TableCheck`: a function of the open warehouse connection. In a run it is
evaluated inside the step that writes its table (a check spec of that asset, see
`pipelines/assets.py`), so ~80 checks cost no Dagster step of their own; the same check is also
a standalone `AssetChecksDefinition` (module attribute of its name), for tests and ad hoc runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats.db import first_row, scalar
from achats.formatting import number_fr, pct
from achats.pipelines.resources import AchatsInputs, RunContext
from achats.registry import Registry, Table, contract_problems, load_registry

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
CheckFn = Callable[[object, "AchatsInputs | None", "RunContext | None"], dg.AssetCheckResult]
TABLE_CHECKS: list[TableCheck] = []  # the hand-written checks below, in their order


@dataclass(frozen=True)
class TableCheck:
    """One check of one table: `fn(con, inputs, run_context)` on the open warehouse. `needs` says
    which resources its standalone definition takes ("duckdb"; "inputs": and duckdb; "run": all
    three); `reads`, the other tables it reads (they must be written before it runs)."""

    name: str
    asset: str
    blocking: bool
    fn: CheckFn
    description: str
    needs: str = "duckdb"
    reads: tuple[str, ...] = ()

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.asset), self.name)

    def spec(self) -> dg.AssetCheckSpec:
        """The check as a spec of the asset that writes its table (evaluated in that step)."""
        return dg.AssetCheckSpec(self.name, asset=self.asset, description=self.description, blocking=self.blocking,
                                 additional_deps=list(self.reads))

    def evaluate(self, con, inputs: AchatsInputs | None, run_context: RunContext | None) -> dg.AssetCheckResult:
        r = self.fn(con, inputs, run_context)
        return dg.AssetCheckResult(asset_key=self.asset, check_name=self.name, passed=r.passed, severity=r.severity,
                                   metadata=r.metadata, description=r.description)

    def definition(self) -> dg.AssetChecksDefinition:
        """The same check as an `AssetChecksDefinition` of its own (tests, partial runs)."""
        kw = {"asset": self.asset, "name": self.name, "blocking": self.blocking, "description": self.description,
              "additional_deps": list(self.reads)}
        fn = self.fn
        if self.needs == "run":
            @dg.asset_check(**kw)
            def _run(inputs: AchatsInputs, duckdb: DuckDBResource, run_context: RunContext) -> dg.AssetCheckResult:
                with duckdb.get_connection() as con:
                    return fn(con, inputs, run_context)
            return _run
        if self.needs == "inputs":
            @dg.asset_check(**kw)
            def _inputs(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.AssetCheckResult:
                with duckdb.get_connection() as con:
                    return fn(con, inputs, None)
            return _inputs

        @dg.asset_check(**kw)
        def _duckdb(duckdb: DuckDBResource) -> dg.AssetCheckResult:
            with duckdb.get_connection() as con:
                return fn(con, None, None)
        return _duckdb

    def register(self) -> dg.AssetChecksDefinition:
        TABLE_CHECKS.append(self)
        return self.definition()


def _objective8_reconciles(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    bad = con.execute("""
        SELECT period FROM mart_objective8_summary
        WHERE abs(total_amount_eur - (matched_ess_amount_eur + matched_non_ess_amount_eur
                                      + review_amount_eur + unmatched_amount_eur)) > 0.01
           OR ess_amount_low_eur > ess_amount_eur + 0.01
           OR ess_amount_eur > ess_amount_high_eur + 0.01""").fetchall()
    return dg.AssetCheckResult(passed=not bad, metadata={"periods_in_error": ", ".join(p for (p,) in bad) or "-"})


objective8_reconciles = TableCheck(
    "objective8_reconciles", "mart_objective8_summary", blocking=True, fn=_objective8_reconciles,
    description="total = ESS rapproché + non-ESS rapproché + à vérifier + non rapproché ; basse ≤ point ≤ haute").register()


# Distinct counts (ess_supplier_count) and shares do not add up across periods; every euro amount
# and every line count must.
NOT_ADDITIVE = {"ess_supplier_count", "ess_amount_low_eur", "ess_amount_high_eur"}  # 90 % interval: quantiles do not add up


# Extreme bounds: each period counts its own lines, a credit note netted with its payment when the
# period holds both, so a pair split across two periods nets in ALL only: ALL's low bound is at
# least the periods' sum, its high bound at most (equality when no pair is split).
AT_LEAST_THE_SUM = {"ess_amount_extreme_low_eur"}
AT_MOST_THE_SUM = {"ess_amount_extreme_high_eur"}


def additive_columns(con, table: str) -> list[str]:
    names = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND "
                                       "database_name = current_database() ORDER BY column_index", [table]).fetchall()]
    return [c for c in names if c.endswith(("_eur", "_count")) and c not in NOT_ADDITIVE]


def periods_mismatches(con, table: str) -> list[str]:
    """Columns whose sum over the periods (quarters or years, and 'sans date') differs from 'ALL'
    by a cent or more (for the extreme bounds: ALL outside the sums' side), as French text; a
    missing 'ALL' or 'sans date' row is a mismatch too."""
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
        gap = round((total or 0) - (part or 0), 2)
        if c in AT_LEAST_THE_SUM:
            if gap <= -0.005:
                out.append(f"{c} : ALL {number_fr(total, 2, ' ')} < somme des périodes {number_fr(part, 2, ' ')}")
        elif c in AT_MOST_THE_SUM:
            if gap >= 0.005:
                out.append(f"{c} : ALL {number_fr(total, 2, ' ')} > somme des périodes {number_fr(part, 2, ' ')}")
        elif abs(gap) >= 0.005:
            out.append(f"{c} : périodes {number_fr(part, 2, ' ')} ≠ ALL {number_fr(total, 2, ' ')}")
    return out


def _objective8_periods_add_up(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    bad = periods_mismatches(con, "mart_objective8_summary")
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatches": dg.MetadataValue.md(
        "\n".join(f"- {b}" for b in bad) or "-")})


objective8_periods_add_up = TableCheck(
    "objective8_periods_add_up", "mart_objective8_summary", blocking=True, fn=_objective8_periods_add_up,
    description="Les trimestres et « sans date » s'additionnent pour donner ALL, au centime, "
    "pour chaque montant et chaque nombre de lignes ; bornes extrêmes : celles de ALL entre les sommes "
    "de celles des trimestres (un avoir et son paiement de deux trimestres ne sont nets qu'en ALL)").register()


def _objective8_recount(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    from achats.recount import objective8_mismatches

    bad = objective8_mismatches(con)
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatches": dg.MetadataValue.md(
        "\n".join(f"- {b}" for b in bad[:20]) or "-")})


objective8_recount = TableCheck(
    "objective8_recount", "mart_objective8_summary", blocking=True, fn=_objective8_recount,
    reads=("stg_purchase_lines", "res_purchase_line_supplier", "cls_purchase_line_status"),
    description="Chaque chiffre de objective8_summary recompté à part (polars) depuis les lignes d'achat, leur "
    "rapprochement et le statut de leur fournisseur, au centime ; la dépense ESS et ses bornes entre l'ESS "
    "rapproché et l'ESS rapproché plus les lignes incertaines").register()


BY_YEAR_VS_SUMMARY = ["total_amount_eur", "ess_amount_eur", "ess_amount_extreme_low_eur", "ess_amount_extreme_high_eur",
                      "esus_amount_eur", "inclusive_amount_eur", "ess_or_inclusive_amount_eur",
                      "review_amount_eur", "unmatched_amount_eur"]


def _objective8_by_year_adds_up(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    bad = periods_mismatches(con, "objective8_by_year")
    cols = ", ".join(f'y."{c}" - s."{c}"' for c in BY_YEAR_VS_SUMMARY)
    diffs = con.execute(f"""SELECT {cols} FROM objective8_by_year y, mart_objective8_summary s
                            WHERE y.period = 'ALL' AND s.period = 'ALL'""").fetchone() or ()
    bad += [f"{c} : ALL par année ≠ ALL de objective8_summary (écart {number_fr(d, 2, ' ')})"
            for c, d in zip(BY_YEAR_VS_SUMMARY, diffs, strict=False) if abs(round(d or 0, 2)) >= 0.005]
    bad += year_vs_quarters_mismatches(con)
    return dg.AssetCheckResult(passed=not bad, metadata={"mismatches": dg.MetadataValue.md(
        "\n".join(f"- {b}" for b in bad) or "-")})


# objective8_by_year read once (MATERIALIZED): the view is recomputed at each reading (≈ 25 ms)
YEAR_VS_QUARTERS_SQL = """
WITH b AS MATERIALIZED (SELECT period, total_amount_eur, ess_amount_eur, undated_amount_eur, undated_ess_amount_eur
                        FROM objective8_by_year),
q AS (
    SELECT left(period, 4) AS period, sum(total_amount_eur) AS total, sum(ess_amount_eur) AS ess
    FROM mart_objective8_summary WHERE period NOT IN ('ALL', 'sans date') GROUP BY ALL
    UNION ALL
    SELECT 'ALL', total_amount_eur, ess_amount_eur FROM mart_objective8_summary WHERE period = 'sans date'
),
y AS (
    SELECT period, total_amount_eur - undated_amount_eur AS total, ess_amount_eur - undated_ess_amount_eur AS ess
    FROM b WHERE period NOT IN ('ALL', 'sans date')
    UNION ALL
    SELECT 'ALL', undated_amount_eur, undated_ess_amount_eur FROM b WHERE period = 'ALL'
)
SELECT period, coalesce(y.total, 0), coalesce(q.total, 0), coalesce(y.ess, 0), coalesce(q.ess, 0)
FROM y FULL JOIN q USING (period)
WHERE abs(coalesce(y.total, 0) - coalesce(q.total, 0)) >= 0.005 OR abs(coalesce(y.ess, 0) - coalesce(q.ess, 0)) >= 0.005
ORDER BY 1
"""


def year_vs_quarters_mismatches(con) -> list[str]:
    """Each year of objective8_by_year minus its undated part against the sum of its quarters in
    mart_objective8_summary, and the years' undated parts against its « sans date » row: the
    years and the periods each add up to ALL, which alone does not tie a year to its quarters."""
    out = []
    for period, y_total, q_total, y_ess, q_ess in con.execute(YEAR_VS_QUARTERS_SQL).fetchall():
        what = ("part sans date des années" if period == "ALL" else f"année {period} hors lignes sans date")
        where = "« sans date » de objective8_summary" if period == "ALL" else f"somme des trimestres {period}"
        out.append(f"{what} : dépense {number_fr(y_total, 2, ' ')}, dont ESS {number_fr(y_ess, 2, ' ')} ≠ {where} : "
                   f"{number_fr(q_total, 2, ' ')}, dont ESS {number_fr(q_ess, 2, ' ')}")
    return out


objective8_by_year_adds_up = TableCheck(
    "objective8_by_year_adds_up", "objective8_by_year", blocking=True, fn=_objective8_by_year_adds_up, reads=("mart_objective8_summary",),
    description="objective8_by_year : les années et « sans date » s'additionnent pour donner ALL "
    "(bornes extrêmes : celles de ALL entre les sommes de celles des années), "
    "ALL égale l'ensemble de objective8_summary, et chaque année, hors ses lignes sans date, égale la "
    "somme de ses trimestres (ses lignes sans date sont dans « sans date » de objective8_summary), "
    "au centime").register()


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


def ess_above_total(con) -> list[str]:
    """Periods whose ESS spending (positive) exceeds the total spending: a share above 100 %. Every
    ESS euro is a euro of the total, so over a year (an exercice, whose credits cancel its own
    mandates) and over ALL this can only come from a credit judged at another payment's status than
    the one it cancels, or from a credit whose payment is missing. A quarter is not held to it: a
    credit of a non-ESS payment made in an earlier quarter may leave a quarter more ESS than spent."""
    rows = con.execute("""
        SELECT period, total_amount_eur, ess_amount_eur FROM objective8_by_year
        WHERE ess_amount_eur > 0 AND ess_amount_eur > total_amount_eur
        UNION
        SELECT period, total_amount_eur, ess_amount_eur FROM mart_objective8_summary
        WHERE period = 'ALL' AND (ess_share > 1 OR (ess_amount_eur > 0 AND ess_amount_eur > total_amount_eur))
        ORDER BY period""").fetchall()
    return [f"{'ensemble (ALL)' if period == 'ALL' else f'période {period}'} : dépense ESS "
            f"{number_fr(ess, 2, ' ')} € supérieure à la dépense totale {number_fr(total, 2, ' ')} € (part ESS au-delà "
            f"de 100 %) : un avoir est sans doute jugé au statut d'un autre paiement que celui qu'il annule "
            f"(cls_line_reversal), ou le paiement qu'il annule manque aux données ; vérifiez les lignes négatives "
            f"(purchase_lines, montant < 0)" for period, total, ess in rows]


def _ess_within_total(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    bad = ess_above_total(con)
    return dg.AssetCheckResult(passed=not bad, metadata={"periods_in_error": dg.MetadataValue.md(
        "\n".join(f"- {b}" for b in bad) or "-")})


ess_within_total = TableCheck(
    "ess_within_total", "objective8_by_year", blocking=True, fn=_ess_within_total, reads=("mart_objective8_summary",),
    description="La dépense ESS d'une année et de l'ensemble (ALL) ne dépasse jamais leur dépense totale : une part "
    "ESS au-delà de 100 % arrête le calcul (un trimestre n'y est pas tenu : un avoir y peut annuler un paiement "
    "non ESS d'un trimestre antérieur)").register()


def _purchase_file_rows_reconcile(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
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


purchase_file_rows_reconcile = TableCheck(
    "purchase_file_rows_reconcile", "src_purchase_files", blocking=True, fn=_purchase_file_rows_reconcile,
    description="Pour chaque fichier d'achats : lignes acceptées + en quarantaine + en double "
    "= lignes de données du fichier (aucune ligne perdue ni inventée)").register()


def _purchase_file_totals_reread(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    from achats.recount import file_total_mismatches

    return _reread_result(*file_total_mismatches(con, inputs.path), unchecked_key="cells_not_plain_amounts")


def _reread_result(bad: list[str], unchecked: int, unchecked_key: str) -> dg.AssetCheckResult:
    """A re-read of the raw files: passed when no file differs, each difference listed."""
    return dg.AssetCheckResult(passed=not bad, metadata={
        "files_in_error": dg.MetadataValue.md("\n".join(f"- {b}" for b in bad) or "-"), unchecked_key: unchecked})


purchase_file_totals_reread = TableCheck(
    "purchase_file_totals_reread", "src_purchase_files", blocking=True, fn=_purchase_file_totals_reread,
    needs="inputs",
    description="Pour chaque fichier d'achats : total des lignes acceptées = cellules de montant de ces lignes "
    "relues dans le fichier brut (lecteur à part), au centime ; une ligne masquée comptée est une erreur").register()


def _not_paid_amounts_reread(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    from achats.recount import not_paid_mismatches

    return _reread_result(*not_paid_mismatches(con, inputs.path), unchecked_key="lines_not_plain_amounts")


not_paid_amounts_reread = TableCheck(
    "not_paid_amounts_reread", "source_file_reconciliation", blocking=True, fn=_not_paid_amounts_reread,
    needs="inputs",
    description="Pour chaque fichier d'achats : montant publié des mandats non payés (rejetés, annulés ou pas encore "
    "payés : not_paid_amount_eur) = leurs cellules de montant relues dans le fichier brut (lecteur à part), "
    "au centime").register()


def _every_ok_line_resolved(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    ok, resolved, distinct = first_row(con, """
        SELECT (SELECT count(*) FROM stg_purchase_lines WHERE status = 'ok'),
               (SELECT count(*) FROM res_purchase_line_supplier),
               (SELECT count(DISTINCT line_id) FROM res_purchase_line_supplier)""")
    return dg.AssetCheckResult(passed=ok == resolved == distinct,
                               metadata={"ok_lines": ok, "resolved_rows": resolved, "distinct_lines": distinct})


every_ok_line_resolved = TableCheck(
    "every_ok_line_resolved", "res_purchase_line_supplier", blocking=True, fn=_every_ok_line_resolved, reads=("stg_purchase_lines",),
    description="Chaque ligne acceptée a exactement une décision de rapprochement").register()


def _purchase_line_ids_unique(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    dupes = scalar(con, "SELECT count(*) - count(DISTINCT line_id) FROM src_purchase_lines")
    return dg.AssetCheckResult(passed=dupes == 0, metadata={"duplicate_ids": dupes})


purchase_line_ids_unique = TableCheck(
    "purchase_line_ids_unique", "src_purchase_lines", blocking=True, fn=_purchase_line_ids_unique,
    description="Identifiants de ligne uniques (aucune ligne comptée deux fois)").register()


# « <file> (feuille « S »), ligne N, champ « F » » : where the reader found the line
_LOCATION = re.compile(r"^(?P<where>.*?, ligne [0-9]+(?:, champ « [^«»]* »)?)(?P<rest>.*)$", re.DOTALL)


def elide_cells(reason: str) -> str:
    """A quarantine reason for the blocking check's message, written before the names are masked
    (res_line_mask): the cells it quotes become « … », as a shifted column may have put a
    non-diffusible unit's name there; the location stays readable, so the operator can open the
    line — the file (as in every message that stops a run), the sheet, the line and the field,
    which is a header the reader recognised (an alias of its role or the one set in achats.toml),
    not a cell."""
    m = _LOCATION.match(reason)
    where, rest = (m["where"], m["rest"]) if m else ("", reason)
    return where + re.sub(r"«[^«»]*»", "« … »", rest)


# rows left out that lose nothing of the spending: totals, never-paid mandates, receipts, and the
# printed page's lines without an amount (page numbers, repeated titles and headers, a unit row,
# blank lines between pages)
NOT_LOST_KINDS = ("total", "not_paid", "receipt", "layout", "header", "blank")


def _quarantined_share_within_limit(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_quarantined_share
    # recognised total and subtotal rows repeat amounts already read: they are no data lost, and
    # an export with Excel's subtotals (one per group) would otherwise stop the run on its layout;
    # nor are rejected or cancelled mandates (row_kind 'not_paid'): known non-payments, not errors;
    # receipts (titres de recette) are no purchases either: nothing of the spending is lost there
    counted = f"coalesce(row_kind, '') NOT IN ({', '.join(map(repr, NOT_LOST_KINDS))})"
    n, bad, totals = first_row(con, f"""
        SELECT count(*) FILTER (WHERE {counted}), count(*) FILTER (WHERE status = 'quarantined' AND {counted}),
               count(*) FILTER (WHERE row_kind = 'total') FROM src_purchase_lines""")
    reasons = [(elide_cells(r),) for (r,) in con.execute(f"""
        SELECT quarantine_reason FROM src_purchase_lines WHERE status = 'quarantined' AND {counted}
        ORDER BY source_file, source_row LIMIT 5""").fetchall()]
    share = bad / n if n else 0.0
    return dg.AssetCheckResult(passed=share <= limit, metadata={
        "share": pct(share, " "), "limit": pct(limit, " "), "total_rows_left_out": totals,
        "first_reasons": dg.MetadataValue.md("\n".join(f"- {r}" for (r,) in reasons) or "-")})


quarantined_share_within_limit = TableCheck(
    "quarantined_share_within_limit", "src_purchase_lines", blocking=True, fn=_quarantined_share_within_limit, needs="inputs",
    description="Part des lignes en quarantaine (hors lignes de total reconnues et mandats rejetés ou annulés) sous "
                "la limite de achats.toml "
                "[controles]").register()


def _unmatched_share_within_limit(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_unmatched_share
    total, unmatched = first_row(con, "SELECT total_amount_eur, unmatched_amount_eur FROM mart_objective8_summary "
                                      "WHERE period = 'ALL'")
    share = unmatched / total if total else 0.0
    return dg.AssetCheckResult(passed=share <= limit, metadata={"share": pct(share, " "), "limit": pct(limit, " ")})


unmatched_share_within_limit = TableCheck(
    "unmatched_share_within_limit", "mart_objective8_summary", blocking=True, fn=_unmatched_share_within_limit, needs="inputs",
    description="Part de la dépense non rapprochée sous la limite de achats.toml [controles]").register()


def _line_count_vs_previous_run(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_line_count_drop
    previous = run_context.previous
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


line_count_vs_previous_run = TableCheck(
    "line_count_vs_previous_run", "src_purchase_lines", blocking=True, fn=_line_count_vs_previous_run, needs="run",
    description="Pas de chute du nombre de lignes d'achat par rapport au calcul précédent").register()


def _sirene_schema(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    from achats.identifiers import siren_valid

    # the same SIREN twice in one file is an error; in a stock and its INSEE refresh it is expected
    n, distinct = first_row(con, "SELECT count(*), count(DISTINCT (source_file, siren)) FROM src_sirene_unite_legale")
    sample = [r[0] for r in con.execute(
        "SELECT siren FROM src_sirene_unite_legale USING SAMPLE 10000 ROWS (reservoir, 1)").fetchall()]
    invalid = sum(1 for s in sample if not siren_valid(str(s).zfill(9)))
    share = invalid / len(sample) if sample else 0.0
    return dg.AssetCheckResult(passed=n > 0 and share <= 0.01 and distinct == n, metadata={
        "units": n, "duplicate_sirens": n - distinct, "invalid_siren_share": pct(share, " ")})


sirene_schema = TableCheck(
    "sirene_schema", "src_sirene_unite_legale", blocking=True, fn=_sirene_schema,
    description="SIRENE : colonnes attendues, SIREN valides (clé de Luhn), pas de doublon").register()


def _status_lists_schema(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.max_status_rejected_share
    kept = scalar(con, "SELECT (SELECT count(*) FROM src_ess_france) + (SELECT count(*) FROM src_esus) "
                       "+ (SELECT count(*) FROM src_siae)")
    rejected = scalar(con, "SELECT count(*) FROM src_status_rejects")
    first = con.execute("SELECT reason FROM src_status_rejects LIMIT 5").fetchall()
    share = rejected / (kept + rejected) if kept + rejected else 0.0
    return dg.AssetCheckResult(passed=share <= limit, metadata={
        "rejected": rejected, "share": pct(share, " "), "limit": pct(limit, " "),
        "first_reasons": dg.MetadataValue.md("\n".join(f"- {r}" for (r,) in first) or "-")})


status_lists_schema = TableCheck(
    "status_lists_schema", "src_status_rejects", blocking=True, fn=_status_lists_schema, needs="inputs", reads=("src_ess_france", "src_esus", "src_siae"),
    description="Listes ESS France / ESUS / SIAE : part des lignes rejetées sous la limite [controles]").register()


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
SELECT e.siren, any_value(s.display_name) AS display_name,
       coalesce(bool_or(s.is_non_diffusible), FALSE) AS is_non_diffusible,
       sum(CASE WHEN e.quarter = $cur THEN e.ess_point_eur ELSE 0 END)
     - sum(CASE WHEN e.quarter = $prev THEN e.ess_point_eur ELSE 0 END) AS change_eur
FROM mart_purchase_line_estimate e LEFT JOIN mart_suppliers s USING (siren)
WHERE e.quarter IN ($cur, $prev) AND e.siren IS NOT NULL
GROUP BY e.siren HAVING abs(change_eur) > 0 ORDER BY abs(change_eur) DESC, e.siren LIMIT 5
"""


def _drift_suppliers(rows: list[tuple]) -> list[tuple[str, object]]:
    """One line per SIREN: a non-diffusible unit by its masked label and SIREN (two are two units,
    never one merged line), a name shared by two SIRENs followed by each SIREN."""
    from collections import Counter

    from achats.resolution import private_label

    def private(name: str | None, nd: bool) -> bool:
        return nd or (name or "").casefold().startswith("unité non diffusible")

    shared = Counter(name for _, name, nd, _ in rows if name and not private(name, nd))
    out = []
    for siren, name, nd, change in rows:
        label = private_label(siren) if private(name, nd) else f"SIREN {siren}" if not name else \
            f"{name} (SIREN {siren})" if shared[name] > 1 else name
        out.append((label, change))
    return out


def _ess_share_drift(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    limit = inputs.settings().controls.drift_warning_points
    lines = []
    for period, prev, share, prev_share in con.execute(DRIFT_SQL, [limit]).fetchall():
        lines.append(f"**{period}** : {pct(prev_share, ' ')} → {pct(share, ' ')}")
        for supplier, change in _drift_suppliers(con.execute(EXPLAIN_SQL, {"cur": period, "prev": prev}).fetchall()):
            lines.append(f"  - {supplier} : {change:+,.0f} €".replace(",", " "))
    return dg.AssetCheckResult(passed=not lines, severity=dg.AssetCheckSeverity.WARN, metadata={
        "limit_points": f"{number_fr(100 * limit, 1, ' ')} points", "moves": dg.MetadataValue.md("\n".join(lines) or "-")})


ess_share_drift = TableCheck(
    "ess_share_drift", "mart_objective8_summary", blocking=False, fn=_ess_share_drift, needs="inputs", reads=("mart_purchase_line_estimate", "mart_suppliers"),
    description="Avertit quand la part ESS bouge de plus de [controles] drift_warning_points d'un trimestre à l'autre").register()


def _contracts_summary_recount(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    from achats.decp_recount import recount_contracts

    expected = recount_contracts(inputs.path, inputs.settings().buyer_siren)
    count, amount = first_row(con, "SELECT contract_count, notified_amount_eur FROM mart_contracts_summary "
                                   "WHERE period = 'ALL'")
    gaps = first_row(con, """
        SELECT sum(contract_count) FILTER (WHERE period <> 'ALL') - max(contract_count) FILTER (WHERE period = 'ALL'),
               sum(notified_amount_eur::DECIMAL(24, 2)) FILTER (WHERE period <> 'ALL')
                   - max(notified_amount_eur::DECIMAL(24, 2)) FILTER (WHERE period = 'ALL')
        FROM mart_contracts_summary""")
    # without [acheteur] siren, the files must hold one buyer's marchés (else everyone's are counted)
    one_buyer = bool(inputs.settings().buyer_siren) or len(expected.buyer_sirens) <= 1
    from achats.recount import contracts_ess_mismatches

    ess_gaps = contracts_ess_mismatches(con)  # ESS titulaires judged on the notification date
    # each co-titulaire of the raw files is a row of its own (a lost holder loses its share)
    titulaires = first_row(con, "SELECT count(*) FROM src_contracts WHERE NOT is_duplicate AND status = 'ok' "
                                "AND contract_kind = 'marche' AND nullif(trim(titulaire_id_raw), '') IS NOT NULL")[0]
    passed = count == expected.contract_count and round(amount * 100) == expected.notified_amount_eur * 100 \
        and not any(gaps) and one_buyer and not ess_gaps and titulaires == expected.titulaire_id_count
    return dg.AssetCheckResult(passed=passed, metadata={
        "buyers_recount": len(expected.buyer_sirens),
        "contracts_warehouse": count, "contracts_recount": expected.contract_count,
        "amount_warehouse": float(amount), "amount_recount": float(expected.notified_amount_eur),
        "titulaires_warehouse": titulaires, "titulaires_recount": expected.titulaire_id_count,
        "periods_minus_all": f"{gaps[0] or 0} marchés, {gaps[1] or 0} €",
        "ess_titulaires": dg.MetadataValue.md("\n".join(ess_gaps) or "-")})


contracts_summary_recount = TableCheck(
    "contracts_summary_recount", "mart_contracts_summary", blocking=True, fn=_contracts_summary_recount, needs="inputs",
    description="Recompte indépendant des marchés depuis les fichiers DECP (nombre et montant notifié "
    "de ALL) ; la somme des périodes égale ALL ; montant aux titulaires ESS recompté à la date de notification").register()


def _ess_offer_recount(con, inputs: AchatsInputs, run_context: RunContext | None) -> dg.AssetCheckResult:
    from achats.offer_recount import offer_mismatches

    mismatches = offer_mismatches(con)
    return dg.AssetCheckResult(passed=not mismatches, metadata={
        "mismatch_count": len(mismatches), "first_mismatches": " ; ".join(mismatches[:5]) or "aucun"})


ess_offer_recount = TableCheck(
    "ess_offer_recount", "mart_ess_offer_by_category", blocking=True, fn=_ess_offer_recount,
    reads=("mart_ess_sourcing",),
    description="Recompte indépendant de l'offre locale : les divisions CPV de chaque structure et le "
    "nombre de structures ESS et inclusives par division, d'après les fichiers de correspondance NAF → CPV "
    "relus en Python").register()


def contract_table_check(table: Table) -> TableCheck:
    """Types, grain and not-null of one declared table: blocking for a contract view, a warning
    elsewhere (an internal table may change; the analysts' views are the promise)."""
    what = "vue du contrat" if table.contract else "table interne (avertissement)"

    def _check(con, inputs: AchatsInputs | None, run_context: RunContext | None) -> dg.AssetCheckResult:
        problems = contract_problems(con, table)
        return dg.AssetCheckResult(
            passed=not problems, severity=ERROR if table.contract else WARN,
            metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:50]) or "-")})

    return TableCheck(f"{table.name}_matches_registry", table.name, blocking=table.contract, fn=_check,
                      description=f"{what} : colonnes et types, unicité de ({', '.join(table.grain) or '-'}) "
                                  "et colonnes non nulles conformes à sql/registry.yaml")


def contract_table_checks(registry: Registry) -> list[TableCheck]:
    # the quarterly partitions are not part of a full run; their table copies objective8_summary
    return [contract_table_check(t) for t in registry.tables.values() if t.name != "mart_quarter_figures"]


def contract_check(table: Table) -> dg.AssetChecksDefinition:
    return contract_table_check(table).definition()


def build_contract_checks(registry: Registry) -> list[dg.AssetChecksDefinition]:
    """The registry's checks as standalone definitions (a run evaluates them inside the assets' steps)."""
    return [c.definition() for c in contract_table_checks(registry)]


def checks_of(tables: Iterable[str], registry: Registry | None = None) -> list[TableCheck]:
    """Every check of these tables: the registry's contract check, then the hand-written ones."""
    names = set(tables)
    contract = contract_table_checks(registry) if registry is not None else CONTRACT_TABLE_CHECKS
    return [c for c in [*contract, *TABLE_CHECKS] if c.asset in names]


def check_specs(tables: Iterable[str], registry: Registry | None = None) -> list[dg.AssetCheckSpec]:
    return [c.spec() for c in checks_of(tables, registry)]


class StepChecks:
    """The checks of the tables one step writes, evaluated in that step as soon as their table and
    the tables they read are written. A failed blocking check marks its table blocked: the step
    writes nothing downstream of it, and Dagster fails the step once it ends (so no later step
    runs on it either, and `achats run` keeps the diagnostic warehouse)."""

    def __init__(self, context, con, inputs: AchatsInputs | None, run_context: RunContext | None,
                 checks: list[TableCheck], writes: Iterable[str]):
        selected = context.selected_asset_check_keys
        self.pending = [c for c in checks if c.key in selected]
        self.todo = set(writes)
        self.blocked: set[str] = set()
        self.con, self.inputs, self.run_context = con, inputs, run_context

    def written(self, *tables: str) -> Iterator[dg.AssetCheckResult]:
        self.todo -= set(tables)
        ready = [c for c in self.pending if c.asset not in self.todo and not set(c.reads) & self.todo]
        for c in ready:
            self.pending.remove(c)
            result = c.evaluate(self.con, self.inputs, self.run_context)
            if c.blocking and not result.passed and result.severity == ERROR:
                self.blocked.add(c.asset)
            yield result

    def skipped(self, table: str) -> None:
        """A table not written because a table it reads failed a blocking check."""
        self.blocked.add(table)
        self.todo.discard(table)
        self.pending = [c for c in self.pending if c.asset != table]


CONTRACT_TABLE_CHECKS = contract_table_checks(load_registry())
CONTRACT_CHECKS = [c.definition() for c in CONTRACT_TABLE_CHECKS]

# Checks that run in steps of their own: none, every check runs in the step that writes its table
# (`pipelines/assets.py` gives each asset the specs of `checks_of` its tables).
CHECKS: list[dg.AssetChecksDefinition] = []
ALL_CHECKS: list[TableCheck] = [*CONTRACT_TABLE_CHECKS, *TABLE_CHECKS]
