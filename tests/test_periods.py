"""Periods add up to ALL (« sans date » included), every file's rows are accounted for, and a file's
own total is compared with what was read from it. Expected values are computed here, in plain
Python, from each test's own input."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal

import duckdb
import openpyxl
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from achats import warehouse as wh
from achats.dashboards.build import build_dashboard, eur_cents
from achats.formatting import eur
from achats.match_model import load_model
from achats.paths import sample_dir
from achats.pipelines import checks
from achats.pipelines.cli import main
from achats.sources.purchases import FILE_SCHEMA, OUTPUT_SCHEMA


def _floats(row: tuple) -> tuple:
    """Euros come back as exact Decimal; these hand-made expectations are floats."""
    return tuple(float(v) if isinstance(v, Decimal) else v for v in row)

# --- hand-built reader output -------------------------------------------------------------

# (file, sheet, status, row_kind, amount_eur, quarter)
LINES = [
    ("a.csv", None, "ok", "data", 100.10, "2024-Q1"),
    ("a.csv", None, "ok", "data", 200.20, "2024-Q2"),
    ("a.csv", None, "ok", "data", -30.05, None),            # a credit note without a date
    ("a.csv", None, "quarantined", "data", 40.00, "2024-Q2"),  # readable amount, bad SIRET say
    ("a.csv", None, "quarantined", "data", None, None),     # unreadable amount
    ("a.csv", None, "quarantined", "total", 310.25, None),  # the file's own grand total
    ("b.csv", None, "duplicate", "data", 100.10, "2024-Q1"),  # b.csv copies a.csv
    ("b.csv", None, "duplicate", "data", 200.20, "2024-Q2"),
    ("b.csv", None, "duplicate", "data", -30.05, None),
    ("b.csv", None, "duplicate", "data", 40.00, "2024-Q2"),
    ("b.csv", None, "duplicate", "data", None, None),
    ("b.csv", None, "duplicate", "total", 310.25, None),
    ("c.xlsx", "Mandats", "ok", "data", 1000.00, "2025-Q3"),
    ("c.xlsx", "Mandats", "ok", "data", 0.33, None),
    ("c.xlsx", "Mandats", "quarantined", "total", 999.99, None),  # declares a total that is wrong
]
# (file, sheet, declared_total_eur, duplicate_of)
FILES = [("a.csv", None, 310.25, None), ("b.csv", None, 310.25, "a.csv"), ("c.xlsx", "Mandats", 999.99, None)]


def _line_frame() -> pl.DataFrame:
    recs = []
    for i, (file, sheet, status, kind, amount, quarter) in enumerate(LINES):
        recs.append({"line_id": f"l{i}", "source_file": file, "source_sheet": sheet, "source_row": i + 1,
                     "amount_eur": amount, "quarter": quarter, "status": status, "row_kind": kind,
                     "fiscal_year": int(quarter[:4]) if quarter else None, "is_duplicate": False,
                     "duplicate_of": "a.csv" if status == "duplicate" else None})
    return pl.DataFrame(recs, schema={k: OUTPUT_SCHEMA[k] for k in recs[0]}).with_columns(
        [pl.lit(None, t).alias(k) for k, t in OUTPUT_SCHEMA.items() if k not in recs[0]]).select(list(OUTPUT_SCHEMA))


def _file_frame() -> pl.DataFrame:
    counts = {}
    for file, sheet, *_ in LINES:
        counts[(file, sheet)] = counts.get((file, sheet), 0) + 1
    recs = [{"source_file": f, "source_sheet": s, "data_row_count": counts[(f, s)], "decimal_mark": ",",
             "declared_total_eur": total, "declared_total_row": counts[(f, s)], "duplicate_of": dup,
             "content_sha256": None} for f, s, total, dup in FILES]
    return pl.DataFrame(recs, schema=FILE_SCHEMA)


@pytest.fixture
def hand_con(tmp_path):
    path = tmp_path / "hand.duckdb"
    con = duckdb.connect(str(path))
    wh.run_sql(con, "reference/macros.sql")
    wh.write_frame(con, "src_purchase_lines", _line_frame())
    wh.write_frame(con, "src_purchase_files", _file_frame())
    # no file or sheet name to mask here (the view shows masked names from res_file_mask, res_sheet_mask)
    con.execute("CREATE TABLE res_file_mask (source_file_md5 VARCHAR, masked_file VARCHAR)")
    con.execute("CREATE TABLE res_sheet_mask (source_file_md5 VARCHAR, source_sheet_md5 VARCHAR, masked_sheet VARCHAR)")
    wh.run_sql(con, "views/source_file_reconciliation.sql")
    yield con, path
    con.close()


def test_reconciliation_view_counts_and_sums_each_file(hand_con):
    con, _ = hand_con
    got = {r[0]: _floats(r[1:]) for r in con.execute("""
        SELECT source_file, data_row_count, accepted_line_count, accepted_amount_eur, quarantined_line_count,
               quarantined_amount_eur, total_row_count, duplicate_line_count, duplicate_amount_eur,
               declared_total_eur, expected_total_eur, has_matching_total, duplicate_of, has_all_rows_counted
        FROM source_file_reconciliation""").fetchall()}
    for file, _sheet, declared, dup in FILES:
        mine = [r for r in LINES if r[0] == file]
        amount = lambda status, m=mine: round(sum(r[4] for r in m if r[2] == status and r[3] != "total"  # noqa: E731
                                                  and r[4] is not None), 2)
        expected = round(sum(r[4] for r in mine if r[3] != "total" and r[4] is not None), 2)
        want = (len(mine), sum(r[2] == "ok" for r in mine), amount("ok"),
                sum(r[2] == "quarantined" for r in mine), amount("quarantined"),
                sum(r[3] == "total" for r in mine), sum(r[2] == "duplicate" for r in mine), amount("duplicate"),
                declared, expected, abs(expected - declared) < 0.005, dup, True)
        assert got[file] == pytest.approx(want), file
    # to the cent: a.csv's rows (100,10 + 200,20 − 30,05 + 40,00) make its declared 310,25
    assert got["a.csv"][10] is True and got["c.xlsx"][10] is False


def test_file_rows_check_passes_then_fails_when_a_row_is_lost(hand_con):
    con, path = hand_con
    con.close()
    res = DuckDBResource(database=str(path))
    assert checks.purchase_file_rows_reconcile(duckdb=res).passed
    with duckdb.connect(str(path)) as c:
        c.execute("DELETE FROM src_purchase_lines WHERE line_id = 'l13'")
    result = checks.purchase_file_rows_reconcile(duckdb=res)
    assert not result.passed
    assert "c.xlsx (feuille « Mandats ») : 1 acceptées + 1 en quarantaine + 0 en double ≠ 3" \
        in result.metadata["files_in_error"].value


def test_file_rows_check_fails_on_a_row_count_or_status_nobody_knows(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, "UPDATE src_purchase_files SET data_row_count = data_row_count + 1 "
                                          "WHERE source_file = 'purchases/mandats_2025.xlsx'")
    result = checks.purchase_file_rows_reconcile(duckdb=res)
    assert not result.passed and "purchases/mandats_2025.xlsx" in result.metadata["files_in_error"].value
    res = _tampered(sample_run, tmp_path, "UPDATE src_purchase_lines SET status = 'perdu' WHERE line_id = "
                                          "(SELECT min(line_id) FROM src_purchase_lines)")
    assert not checks.purchase_file_rows_reconcile(duckdb=res).passed


# --- objective8_summary and objective8_by_year ----------------------------------------------

def test_summary_has_a_sans_date_period_and_counts_duplicates_apart(tmp_path):
    """The mart on hand-built lines: each euro goes to its quarter or to 'sans date', never both,
    and rows of a copied file are only in duplicate_line_count."""
    path = tmp_path / "mart.duckdb"
    lines = [r for r in LINES if r[3] != "total"] + [("d.csv", None, "ok", "data", 7.0, "2024-Q1")]
    with duckdb.connect(str(path)) as con:
        wh.run_sql(con, "reference/macros.sql")
        con.execute("CREATE TABLE stg_purchase_lines (line_id VARCHAR, quarter VARCHAR, status VARCHAR, "
                    "amount_eur DOUBLE)")
        con.executemany("INSERT INTO stg_purchase_lines VALUES (?, ?, ?, ?)",
                        [(f"l{i}", q, st, a) for i, (_, _, st, _, a, q) in enumerate(lines)])
        con.execute("""CREATE TABLE mart_purchase_line_estimate AS
            SELECT line_id, quarter, amount_eur, amount_eur / 2 AS ess_point_eur, 0.0 AS ess_low_eur,
                   amount_eur AS ess_high_eur, 0.0 AS ess_all_low_eur, amount_eur AS ess_all_high_eur,
                   'matched' AS match_status, true AS is_ess_at_date,
                   false AS is_esus_at_date, false AS is_inclusive_at_date, 'S' || line_id AS siren,
                   line_id AS supplier_key, NULL::STRUCT(k INTEGER, p DOUBLE, is_ess BOOLEAN)[] AS ess_outcomes,
                   true AS is_certain, false AS has_ess_marker, 'siret' AS match_method,
                   false AS is_accepted_by_name, line_id AS draw_key
            FROM stg_purchase_lines WHERE status = 'ok'""")
        wh.run_sql(con, "marts/mart_objective8_summary.sql", {"accept_error_rate": load_model().accept_error})
        got = {r[0]: _floats(r[1:]) for r in con.execute(
            "SELECT period, total_amount_eur, line_count, quarantined_line_count, quarantined_amount_eur, "
            "duplicate_line_count, duplicate_amount_eur FROM mart_objective8_summary").fetchall()}
    periods = {q or "sans date" for *_, q in lines} | {"sans date", "ALL"}
    assert set(got) == periods
    for period in periods:
        mine = [r for r in lines if period == "ALL" or (r[5] or "sans date") == period]
        s = lambda st, m=mine: round(sum(r[4] or 0 for r in m if r[2] == st), 2)  # noqa: E731
        want = (s("ok"), sum(r[2] in ("ok", "quarantined") for r in mine), sum(r[2] == "quarantined" for r in mine),
                s("quarantined"), sum(r[2] == "duplicate" for r in mine), s("duplicate"))
        assert got[period] == pytest.approx(want), period
    assert got["sans date"][0] == pytest.approx(-30.05 + 0.33)
    assert checks.periods_mismatches(duckdb.connect(str(path), read_only=True), "mart_objective8_summary") == []


def test_sample_undated_lines_are_the_inclusion_import(sample_con):
    """The inclusion-market import has neither date nor exercice: its amount is the quarterly
    'sans date' row, and its year comes from its name (2024)."""
    with (sample_dir() / "purchases" / "import_marche_inclusion_2024.csv").open(encoding="utf-8") as fh:
        raw = round(sum(float(r["Dépense achat (€)"]) for r in csv.DictReader(fh)), 2)
    summary = sample_con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'sans date'").fetchone()
    no_year = sample_con.execute("SELECT coalesce(sum(total_amount_eur), 0) FROM objective8_by_year "
                                 "WHERE period = 'sans date'").fetchone()[0]
    assert raw == 251400.30
    assert summary[0] == Decimal(str(raw)) and no_year == 0


def _tampered(sample_run, tmp_path, *statements: str) -> DuckDBResource:
    copy = tmp_path / f"copy{len(list(tmp_path.glob('copy*.duckdb')))}.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    with duckdb.connect(str(copy)) as con:
        for stmt in statements:
            con.execute(stmt)
    return DuckDBResource(database=str(copy))


def test_periods_check_passes_on_the_sample(sample_run):
    res = DuckDBResource(database=str(sample_run["warehouse"]))
    assert checks.objective8_periods_add_up(duckdb=res).passed
    assert checks.objective8_by_year_adds_up(duckdb=res).passed
    assert checks.purchase_file_rows_reconcile(duckdb=res).passed


@pytest.mark.parametrize("column", ["total_amount_eur", "ess_amount_eur", "quarantined_line_count",
                                    "duplicate_amount_eur"])
def test_periods_check_fails_when_a_quarter_drifts_from_all(sample_run, tmp_path, column):
    delta = 0.01 if column.endswith("_eur") else 1  # one cent is already an error
    res = _tampered(sample_run, tmp_path, f"UPDATE mart_objective8_summary SET {column} = {column} + {delta} "
                                          "WHERE period = '2024-Q3'")
    result = checks.objective8_periods_add_up(duckdb=res)
    assert not result.passed and f"{column} :" in result.metadata["mismatches"].value


@pytest.mark.parametrize(("column", "sign"), [("ess_amount_extreme_low_eur", 1), ("ess_amount_extreme_high_eur", -1)])
def test_periods_check_fails_when_a_quarter_bound_crosses_all(sample_run, tmp_path, column, sign):
    """ALL's extreme bounds net the credit notes whose payment is in another quarter, so they may
    be inside the sums of the quarters' (the sample's are), never outside: a quarter that moves its
    bound one cent past that slack is caught."""
    res = _tampered(sample_run, tmp_path, f"""
        UPDATE mart_objective8_summary SET {column} = {column} + {sign} * (0.01 + {sign} * (
            (SELECT {column} FROM mart_objective8_summary WHERE period = 'ALL')
            - (SELECT sum({column}) FROM mart_objective8_summary WHERE period <> 'ALL')))
        WHERE period = '2024-Q3'""")
    result = checks.objective8_periods_add_up(duckdb=res)
    assert not result.passed and f"{column} :" in result.metadata["mismatches"].value


def test_periods_check_fails_without_the_sans_date_row(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, "DELETE FROM mart_objective8_summary WHERE period = 'sans date'")
    text = checks.objective8_periods_add_up(duckdb=res).metadata["mismatches"].value
    assert "« sans date »" in text and "total_amount_eur" in text


def _by_year_tamper(expr_2024: str, expr_all: str) -> list[str]:
    return ["CREATE TABLE by_year_copy AS SELECT * FROM objective8_by_year",
            f"""CREATE OR REPLACE VIEW objective8_by_year AS SELECT * REPLACE (
                    CASE WHEN period = '2024' THEN {expr_2024} WHEN period = 'ALL' THEN {expr_all}
                         ELSE total_amount_eur END AS total_amount_eur) FROM by_year_copy"""]


def test_by_year_check_fails_when_a_year_drifts_by_a_cent(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, *_by_year_tamper("total_amount_eur + 0.01", "total_amount_eur"))
    result = checks.objective8_by_year_adds_up(duckdb=res)
    assert not result.passed and "total_amount_eur : périodes" in result.metadata["mismatches"].value


def test_by_year_check_fails_when_all_differs_from_the_summary(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, *_by_year_tamper("total_amount_eur + 100", "total_amount_eur + 100"))
    text = checks.objective8_by_year_adds_up(duckdb=res).metadata["mismatches"].value
    assert "périodes" not in text and "ALL de objective8_summary" in text


# --- dashboard and export -------------------------------------------------------------------

def test_dashboard_shows_reconciliation_and_warns_on_copies_and_totals(sample_run, tmp_path):
    copy = tmp_path / "dash.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    with duckdb.connect(str(copy)) as con:
        kept = con.execute("SELECT sum(amount_eur) FROM src_purchase_lines WHERE source_file = "
                           "'purchases/mandats_2025.xlsx'").fetchone()[0]
        con.execute("UPDATE src_purchase_files SET declared_total_eur = ? WHERE source_file = ?",
                    [kept + Decimal("12.50"), "purchases/mandats_2025.xlsx"])
        con.execute("""INSERT INTO src_purchase_lines SELECT * REPLACE ('copie-' || line_id AS line_id,
                           'purchases/copie.csv' AS source_file, 'duplicate' AS status,
                           'purchases/import_marche_inclusion_2024.csv' AS duplicate_of)
                       FROM src_purchase_lines WHERE source_file = 'purchases/import_marche_inclusion_2024.csv'""")
        con.execute("""INSERT INTO src_purchase_files SELECT * REPLACE ('purchases/copie.csv' AS source_file,
                           'purchases/import_marche_inclusion_2024.csv' AS duplicate_of)
                       FROM src_purchase_files WHERE source_file = 'purchases/import_marche_inclusion_2024.csv'""")
        page = build_dashboard(con, tmp_path / "out").read_text(encoding="utf-8")
    assert ("Le fichier « purchases/copie.csv » est une copie exacte de « purchases/import_marche_inclusion_2024.csv » "
            ": ses 40 lignes ne sont comptées nulle part.") in page
    assert (f"({eur_cents(kept + Decimal('12.50'))}) ne correspond pas à la somme des lignes lues "
            f"({eur_cents(kept)}), écart de {eur_cents(-12.5)}") in page
    table = page[page.index('<table id="table-reconciliation">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 1 + 4  # header + one row per file read
    assert '<td class="int">1\u202f750</td>' in table and "<td class=\"text\">non</td>" in table
    assert "12,50\u202f€" in eur_cents(12.5) and eur_cents(1234.5) == "1\u202f234,50\u202f€"


def test_dashboard_states_the_undated_amount(sample_run, sample_con):
    page = sample_run["dashboard"].read_text(encoding="utf-8")
    amount, n = sample_con.execute("SELECT sum(amount_eur), count(*) FROM purchase_lines "
                                   "WHERE status = 'ok' AND quarter IS NULL").fetchone()
    assert f"Hors graphique, sans date : {eur(amount)} ({n} lignes acceptées)" in page
    assert '<option value="sans date">Sans date</option>' in page
    assert f"« Sans date » : {eur(amount)} de lignes sans date" in page


def test_xlsx_export_writes_french_period_labels(sample_run, sample_con, tmp_path):
    out = tmp_path / "export.xlsx"
    assert main(["export", "--format", "xlsx", "--warehouse", str(sample_run["warehouse"]), "--output", str(out)]) == 0
    ws = openpyxl.load_workbook(out, read_only=True)["Synthèse objectif 8"]
    table = list(ws.iter_rows(values_only=True))
    at = table[0].index("Période")
    periods = [r[at] for r in table[1:]]
    assert "ALL" not in periods and "sans date" not in periods
    assert periods[-2:] == ["Sans date", "Ensemble"]
    total = table[0].index("Dépense totale (€)")
    assert sum(r[total] for r in table[1:-1]) == pytest.approx(table[-1][total], abs=0.005)
