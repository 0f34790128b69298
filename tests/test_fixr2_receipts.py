"""Receipts are not purchases (adversarial review round 9, defect 10, case X1): a « Titres 2024 »
sheet (header « N° titre ») beside « Mandats 2024 » lists money the buyer receives. Its lines are
left out of the spending with their reason (row kind `receipt`), shown apart in the reconciliation
and named in a warning; a sheet of « titres restaurant » bought, or a « Titre » credit in a
debit/credit column, is still read as payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import polars as pl

from achats.sources.purchases import duplicate_warnings, read_purchase_sources
from tests.conftest import run_mini
from tests.reader_inputs import ok_total, write_export


def _workbook(path, sheets: dict[str, tuple[str, list[tuple]]]) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, (number, rows) in sheets.items():
        ws = wb.create_sheet(title)
        ws.append([number, "Date", "Tiers", "SIRET", "Montant"])
        for r in rows:
            ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


X1 = {"Mandats 2024": ("N° mandat", [(1, dt.datetime(2024, 3, 5), "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009", 1000),
                                     (2, dt.datetime(2024, 3, 6), "ZORGLUB TRAVAUX PUBLICS", "81234568400003", 4000)]),
      "Titres 2024": ("N° titre", [(1, dt.datetime(2024, 4, 5), "ZORGLUB TRAVAUX PUBLICS", "81234568400003", 800),
                                   (2, dt.datetime(2024, 4, 6), "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009", 300)])}


def test_a_sheet_of_titres_is_left_out_of_the_spending(tmp_path):
    _workbook(tmp_path / "purchases" / "grand_livre_2024.xlsx", X1)
    lines, files = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("5000")
    receipts = lines.filter(pl.col("row_kind") == "receipt")
    assert receipts.height == 2 and set(receipts["status"]) == {"quarantined"}
    assert receipts["amount_eur"].sum() == Decimal("1100")
    assert "feuille « Titres 2024 »" in receipts["quarantine_reason"][0]
    assert "titre de recette" in receipts["quarantine_reason"][0]
    warnings = duplicate_warnings(files, lines)
    assert any("Titres 2024" in w and "titres de recette" in w and "1 100,00 €" in w for w in warnings)


def test_a_titres_file_or_a_titre_number_column_is_recognised(tmp_path):
    write_export(tmp_path, "titres_de_recette_2024.csv", "Date;Tiers;SIRET;Montant\n05/04/2024;ZORGLUB;;800,00\n")
    write_export(tmp_path, "export_2024.csv", "Numéro de titre;Date;Tiers;Montant\n7;05/04/2024;QUINOA;300,00\n")
    write_export(tmp_path, "mandats_2024.csv", "N° mandat;Date;Tiers;Montant\n1;05/03/2024;QUINOA;1 000,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    kinds = dict(zip(lines["source_file"], lines["row_kind"], strict=True))
    assert kinds == {"purchases/titres_de_recette_2024.csv": "receipt", "purchases/export_2024.csv": "receipt",
                     "purchases/mandats_2024.csv": "data"}
    assert ok_total(lines) == Decimal("1000")


def test_meal_vouchers_and_credit_titres_stay_payments(tmp_path):
    _workbook(tmp_path / "purchases" / "achats.xlsx", {
        "Titres restaurant": ("N° mandat", [(5, dt.datetime(2024, 2, 1), "EDENRED FRANCE", "", 2500)]),
        "Mandats et titres": ("N° mandat", [(6, dt.datetime(2024, 2, 2), "ZORGLUB", "", 700)])})
    write_export(tmp_path, "grand_livre.csv", "Sens;Date;Tiers;Montant\nD;05/03/2024;QUINOA;1 000,00\n"
                                              "Titre;06/03/2024;QUINOA;200,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert set(lines["row_kind"]) == {"data"}
    assert ok_total(lines) == Decimal("4000")


def test_x1_end_to_end(mini, tmp_path):
    """The published total leaves the receipts out, the reconciliation shows them, and they do
    not count in the quarantined share that may stop a run."""
    mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    _workbook(data / "purchases" / "grand_livre_2024.xlsx", X1)
    (data / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.05\nmax_unmatched_share = 1.0\n")
    con = run_mini(data, tmp_path)
    total, quarantined_lines = con.execute("SELECT total_amount_eur, quarantined_line_count FROM objective8_summary "
                                           "WHERE period = 'ALL'").fetchone()
    assert total == Decimal("5000.00") and quarantined_lines == 2
    rec = con.execute("SELECT receipt_line_count, receipt_amount_eur FROM source_file_reconciliation "
                      "WHERE source_sheet = 'Titres 2024'").fetchone()
    assert rec == (2, Decimal("1100.00"))
