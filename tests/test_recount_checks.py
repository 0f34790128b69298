"""Blocking checks that do not trust the published SQL: objective 8 recomputed from the line level
in polars, and each purchase file's accepted total re-read from the raw file."""

from __future__ import annotations

import shutil

import duckdb
import openpyxl
import pytest

from achats.pipelines import checks as C
from achats.pipelines.cli import main
from achats.recount import file_total_mismatches, parse_amount

MOVE = """
UPDATE mart_objective8_summary SET
    matched_ess_amount_eur = matched_ess_amount_eur + 5000, matched_non_ess_amount_eur = matched_non_ess_amount_eur - 5000,
    ess_amount_eur = ess_amount_eur + 5000, ess_amount_low_eur = ess_amount_low_eur + 5000,
    ess_amount_high_eur = ess_amount_high_eur + 5000, ess_amount_extreme_low_eur = ess_amount_extreme_low_eur + 5000,
    ess_amount_extreme_high_eur = ess_amount_extreme_high_eur + 5000
WHERE period IN ($q, 'ALL')"""


@pytest.fixture
def copy_of_sample(sample_run, tmp_path):
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_run["warehouse"], wh)
    con = duckdb.connect(str(wh))
    yield con
    con.close()


def test_recount_passes_on_the_published_sample(copy_of_sample):
    assert C._objective8_recount(copy_of_sample, None, None).passed


def test_moving_5000_eur_from_non_ess_to_ess_fails_a_blocking_check(copy_of_sample):
    """The published totals stay self-consistent (the older checks pass): only a second computation sees it."""
    con = copy_of_sample
    quarter = con.execute("SELECT min(period) FROM mart_objective8_summary WHERE period LIKE '____-Q_'").fetchone()[0]
    con.execute(MOVE, {"q": quarter})
    assert C._objective8_reconciles(con, None, None).passed
    assert C._objective8_periods_add_up(con, None, None).passed
    result = C._objective8_recount(con, None, None)
    assert not result.passed
    assert next(c for c in C.TABLE_CHECKS if c.name == "objective8_recount").blocking
    text = result.metadata["mismatches"].value
    assert f"{quarter} : matched_ess_amount_eur publié" in text and "ALL : matched_non_ess_amount_eur publié" in text


def test_a_line_dropped_from_the_mart_source_is_seen(copy_of_sample):
    """A published total that lost a line (here: ALL's total and line count lowered by one line)."""
    con = copy_of_sample
    amount = con.execute("SELECT amount_eur FROM stg_purchase_lines WHERE status = 'ok' ORDER BY line_id LIMIT 1"
                         ).fetchone()[0]
    con.execute("UPDATE mart_objective8_summary SET total_amount_eur = total_amount_eur - $a, "
                "unmatched_amount_eur = unmatched_amount_eur - $a WHERE period = 'ALL'", {"a": amount})
    assert not C._objective8_recount(con, None, None).passed


@pytest.mark.parametrize(("text", "mark", "expected"), [
    ("1 234,56", ",", "1234.56"), ("1\u202f234,56", ",", "1234.56"), ("1234.565", ".", "1234.57"),
    (1234.565, None, "1234.57"), (10.125, None, "10.13"), (0.375, None, "0.38"), ("(50,00)", ",", "-50.00"),
    ("150,00-", ",", "-150.00"), ("-50 €", ",", "-50.00"), ("1.234,50", ",", "1234.50"), ("1,234", ".", "1234.00"),
    ("douze cents", ",", None), ("", ",", None)])
def test_independent_amount_parser(text, mark, expected):
    got = parse_amount(text, mark)
    assert (None if got is None else str(got)) == expected


def test_hidden_row_and_half_cents_reread_to_the_cent(mini, tmp_path, capsys):
    """A workbook with a hidden (filtered) row and half-cent cells: the reader quarantines the
    hidden row and rounds half away from zero, so the re-read agrees (expected by hand: 1 234,57 +
    10,13 + 0,38 + 300,00 = 1 545,08, the hidden 2 000,00 not counted). The earlier reader's
    figures (hidden row counted, half-cents rounded half-to-even), written into the warehouse,
    are caught with the cells named."""
    _, siret = mini.unit("MENUISERIE DU CANAL")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats"
    ws.append(["Fournisseur", "SIRET", "Montant", "Date"])
    for amount in (1234.565, 10.125, 0.375, 2000, 300):
        ws.append(["MENUISERIE DU CANAL", siret, amount, "15/03/2024"])
    ws.row_dimensions[5].hidden = True  # the 2 000 € row
    wb.save(data / "purchases" / "mandats.xlsx")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        assert str(con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]) \
            == "1545.08"
        assert file_total_mismatches(con, data) == ([], 0)
        con.execute("UPDATE src_purchase_lines SET status = 'ok' WHERE source_line = 5")
        con.execute("UPDATE src_purchase_lines SET amount_eur = 1234.56 WHERE source_line = 2")
        bad, _ = file_total_mismatches(con, data)
    assert len(bad) == 1, bad
    assert "ligne 5 masquée, comptée 2 000,00" in bad[0]
    assert "cellule 1 234,57" in bad[0]


def test_plain_csv_rereads_equal(mini, tmp_path, capsys):
    _, siret = mini.unit("MENUISERIE DU CANAL")
    data = mini.write([{"Fournisseur": "MENUISERIE DU CANAL", "SIRET": siret, "Montant": m, "Date": "15/03/2024"}
                       for m in ("1 234,56", "(50,00)", "10,10", "douze cents")])
    assert main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--dashboard-dir", str(tmp_path / "dash")]) == 0
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert C._purchase_file_totals_reread(con, type("I", (), {"path": data})(), None).passed
        # 1 234,56 − 50,00 + 10,10 (« douze cents » in quarantine)
        assert str(con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]) \
            == "1194.66"
