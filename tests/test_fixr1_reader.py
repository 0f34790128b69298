"""Adversarial review adv9, defects 1, 5, 9, 12, 13 and 14b: the paid amount under the headers of
other finance software, rejected or cancelled mandates, a ledger's debit and credit columns, the
payment date among several dates, HT + TVA without TTC, and « ORV ». Inputs are the reviewer's
cases (H1, ET1, TP1, GL1, DT1, HT1), figures computed by hand, to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from achats.sources.purchases import map_headers
from tests.reader_inputs import accounted, counted, read_exports

Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"


# --- defect 1: the paid amount under other headers beats the invoice's TTC ----------------------

PAID_HEADERS = ["Montant liquidé", "Montant ordonnancé", "Montant décaissé", "Montant du mandat", "Mt mandat",
                "Montant paiement", "Montant réglé TTC", "Montant net", "Montant à payer"]


def _h1(paid: str, k: int) -> str:
    """H1: an invoice of 10 000 € TTC paid by two mandates of 5 000 €."""
    return (f"Date de paiement;N° mandat;Fournisseur;SIRET;N° facture;Montant TTC facture;{paid}\n"
            f"0{k + 1}/03/2024;{k}1;{Z};{ZS};F{k};10 000,00;5 000,00\n"
            f"0{k + 1}/04/2024;{k}2;{Z};{ZS};F{k};10 000,00;5 000,00\n")


def test_an_invoice_paid_in_two_mandates_counts_once_whatever_the_paid_header(tmp_path):
    lines, files = read_exports(tmp_path, {f"export_{k}.csv": _h1(h, k) for k, h in enumerate(PAID_HEADERS)})
    accounted(lines, files)
    assert counted(lines) == Decimal("90000.00")
    for k, h in enumerate(PAID_HEADERS):
        assert counted(lines.filter(pl.col("source_file") == f"purchases/export_{k}.csv")) == Decimal("10000.00"), h
    notes = "\n".join(n for n in files["column_note"].to_list() if n)
    assert "« Montant liquidé » choisie parmi plusieurs" in notes


@pytest.mark.parametrize(("header", "amount"), [
    (["Tiers", "Montant TTC facture", "Montant liquidé"], 2),
    (["Tiers", "Mt mandat", "Montant TTC"], 1),
    (["Tiers", "Montant HT", "Montant TTC"], 2),  # among unpaid columns, TTC over HT
    (["Tiers", "Montant liquidé HT", "Montant TTC"], 2),  # a paid column that says HT is still HT
    (["Tiers", "Montant brut", "Montant net"], 2),
    (["Tiers", "Montant TTC", "Montant net HT"], 1),
    (["Tiers", "Reste à payer", "Montant TTC"], 2),
])
def test_the_paid_rule_on_neighbouring_headers(header, amount):
    assert map_headers(header)["amount"] == amount


# --- defect 12: the payment's date among several dates -------------------------------------------

DT1 = {  # the reviewer's DT1: a 28/12/2024 date and a 06/01/2025 date in each file
    "f00.csv": ("Date d'émission", "Date de paiement"), "f01.csv": ("Date mandat", "Date règlement"),
    "f03.csv": ("Date facture", "Date mandat"), "f04.csv": ("Date de réception", "Date de paiement"),
    "f06.csv": ("Date pièce", "Date paiement"), "f07.csv": ("Date comptable", "Date de décaissement"),
    "f08.csv": ("Date de service fait", "Date du mandat"),
}


def test_the_payment_date_beats_the_mandate_or_accounting_date_and_the_choice_is_said(tmp_path):
    files_in = {name: (f"{a};{b};N° mandat;Fournisseur;SIRET;Montant\n"
                       f"28/12/2024;06/01/2025;{k};{Z};{ZS};{2 ** k},00\n")
                for k, (name, (a, b)) in enumerate(DT1.items())}
    lines, files = read_exports(tmp_path, files_in)
    accounted(lines, files)
    assert lines.filter(pl.col("quarter") != "2025-Q1").height == 0
    assert set(lines["purchase_date"].to_list()) == {dt.date(2025, 1, 6)}
    notes = dict(zip(files["source_file"], files["column_note"], strict=True))
    assert "colonne de date « Date règlement » choisie parmi plusieurs (les autres : « Date mandat »" \
        in notes["purchases/f01.csv"]
    assert "« Date de décaissement » choisie" in notes["purchases/f07.csv"]


@pytest.mark.parametrize(("header", "date"), [
    (["Tiers", "Montant", "Date mandat", "Date règlement"], 3),
    (["Tiers", "Montant", "Date", "Date facture"], 2),
    (["Tiers", "Montant", "Date de liquidation", "Date de mandatement"], 3),
    (["Tiers", "Montant", "Date de prise en charge", "Date de liquidation"], 2),
    (["Tiers", "Montant", "Date de création", "Date mandat"], 3),
    (["Tiers", "Montant", "Date d'émission du mandat", "Date de paiement du mandat"], 3),
])
def test_the_date_rule_on_neighbouring_headers(header, date):
    assert map_headers(header)["date"] == date


# --- defect 5: rejected and cancelled mandates were never paid --------------------------------------

ET1 = ("Exercice;N° mandat;Date d'émission;Tiers;SIRET;Montant;État du mandat\n"
       f"2024;1;05/03/2024;{Q};{QS};1 000,00;Payé\n"
       f"2024;2;06/03/2024;{Z};{ZS};4 000,00;Payé\n"
       f"2024;3;07/03/2024;{Q};{QS};2 500,00;Rejeté\n"
       f"2024;4;08/03/2024;{Z};{ZS};1 500,00;Annulé\n"
       f"2024;5;09/03/2024;{Z};{ZS};700,00;Pris en charge\n")
TP1_TYPES = ["Mandat ordinaire", "Mandat complémentaire", "Mandat de régularisation", "ORV", "Titre de réduction",
             "Mandat sur marché", "Mandat annulé", "Réduction/annulation", "Avoir", "Facture", "Mandat rectificatif",
             "Mandat d'ordre", "Mandat de paiement", "Annulation partielle", "Mandat rejeté"]
TP1 = "Exercice;N° mandat;Type de pièce;Date d'émission;Tiers;SIRET;Montant\n" + "".join(
    f"2024;{k + 1};{t};{k + 1:02d}/03/2024;{Z};{ZS};{2 ** k},00\n" for k, t in enumerate(TP1_TYPES))


def test_rejected_and_cancelled_mandates_are_left_out_and_accounted_for(tmp_path):
    lines, files = read_exports(tmp_path, {"etat_mandats_2024.csv": ET1})
    accounted(lines, files)
    assert counted(lines) == Decimal("5700.00")
    assert counted(lines.filter(pl.col("supplier_name") == Q)) == Decimal("1000.00")
    out = lines.filter(pl.col("row_kind") == "not_paid").sort("source_line")
    assert out["source_line"].to_list() == [4, 5] and out["status"].unique().to_list() == ["quarantined"]
    assert out["amount_eur"].to_list() == [Decimal("2500.00"), Decimal("1500.00")]  # readable: reconciled
    assert "ligne 4, champ « État du mandat » : « Rejeté » : mandat rejeté ou annulé, jamais payé" \
        in out["quarantine_reason"][0]
    from achats.sources.purchases import duplicate_warnings

    assert any("2 mandat(s) rejeté(s) ou annulé(s) (4 000,00 €)" in w
               for w in duplicate_warnings(files, lines))


def test_a_rejected_piece_is_no_payment_and_an_orv_is_a_credit(tmp_path):
    lines, files = read_exports(tmp_path, {"pieces.csv": TP1})
    accounted(lines, files)
    # debits 1+2+4+32+512+1024+2048+4096 = 7 719; credits (ORV 8, titre de réduction 16, mandat
    # annulé 64, réduction/annulation 128, avoir 256, annulation partielle 8 192) = 8 664
    assert counted(lines) == Decimal("-945.00")
    assert lines.filter(pl.col("source_line") == 5)["amount_eur"].to_list() == [Decimal("-8.00")]
    rejected = lines.filter(pl.col("row_kind") == "not_paid")
    assert rejected["source_line"].to_list() == [16] and rejected["amount_eur"].to_list() == [Decimal("16384.00")]


@pytest.mark.parametrize(("column", "value", "ok"), [
    ("Statut", "Rejeté par le comptable", False),
    ("Statut", "Supprimé", False),
    ("État", "Refusé", False),
    ("État", "Annulé partiellement", True),  # what is left of it was paid
    ("Statut", "Non rejeté", True),
    ("Statut", "Annulation", True),  # a piece, not a state: kept as written
    ("Statut", "Visé", True),
    ("Statut juridique", "Association annulée", True),  # the supplier's, not the mandate's
])
def test_the_state_rule_on_neighbouring_values(tmp_path, column, value, ok):
    text = f"Date mandat;Tiers;SIRET;Montant;{column}\n01/03/2024;{Q};{QS};100,00;{value}\n"
    lines, _ = read_exports(tmp_path, {"m.csv": text})
    assert lines["status"].to_list() == ["ok" if ok else "quarantined"]
    assert lines["row_kind"].to_list() == ["data" if ok else "not_paid"]


# --- defects 9 and 13: a ledger's debit and credit, HT + TVA without TTC ---------------------------

GL1 = ("Date;N° mandat;Tiers;SIRET;Libellé;Montant débit;Montant crédit\n"
       f"02/05/2024;1;{Q};{QS};Animation;2 000,00;\n"
       f"03/05/2024;2;{Z};{ZS};Travaux;3 000,00;\n"
       f"04/06/2024;3;{Q};{QS};Annulation partielle;;500,00\n")
HT1 = ("Date mandat;N° mandat;Fournisseur;SIRET;Montant HT;Montant TVA\n"
       f"05/03/2024;1;{Q};{QS};1 000,00;0,00\n"
       f"06/03/2024;2;{Z};{ZS};1 000,00;200,00\n")


def test_a_credit_line_of_a_ledger_is_a_negative_amount(tmp_path):
    lines, files = read_exports(tmp_path, {"grand_livre_2024.csv": GL1})
    accounted(lines, files)
    assert counted(lines) == Decimal("4500.00")
    assert counted(lines.filter(pl.col("supplier_name") == Q)) == Decimal("1500.00")
    assert "« Montant débit » − « Montant crédit »" in files["column_note"][0]


def test_ht_plus_vat_is_what_was_paid_when_no_column_is_ttc(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats.csv": HT1})
    assert counted(lines) == Decimal("2200.00")
    assert counted(lines.filter(pl.col("supplier_name") == Q)) == Decimal("1000.00")
    assert "pas de colonne TTC" in files["column_note"][0] and "« Montant HT » + « Montant TVA »" \
        in files["column_note"][0]


@pytest.mark.parametrize(("header", "pair"), [
    (["Tiers", "Montant HT", "Montant TVA", "Montant TTC"], {}),  # a TTC column: taken alone
    (["Tiers", "Montant HT", "Taux TVA"], {}),  # a rate is no amount
    (["Tiers", "Montant HT", "N° TVA intracommunautaire"], {}),
    (["Tiers", "Montant HT", "TVA"], {"amount_vat": 2}),
    (["Tiers", "Montant crédit", "Montant débit"], {"amount": 2, "amount_credit": 1}),
    (["Tiers", "Montant mandaté", "Montant débit", "Montant crédit"], {}),  # the paid amount alone
])
def test_the_pair_rule_on_neighbouring_headers(header, pair):
    cols = map_headers(header)
    got = {k: v for k, v in cols.items() if k in ("amount_vat", "amount_credit")}
    assert got == {k: v for k, v in pair.items() if k != "amount"}
    if "amount" in pair:
        assert cols["amount"] == pair["amount"]


def test_composed_amounts_are_reread_by_the_independent_recount(mini, tmp_path, capsys):
    """The whole run on HT + TVA (CSV) and a debit/credit workbook (native numbers): the published
    total is the hand figure and recount.file_total_mismatches, which re-reads the cells the
    reader names in amount_raw, agrees; a line counted HT only is caught."""
    import duckdb
    import openpyxl

    from achats.pipelines.cli import main
    from achats.recount import file_total_mismatches

    _, siret = mini.unit("MENUISERIE DU CANAL")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "purchases" / "mandats.csv").write_text(
        "Date mandat;Fournisseur;SIRET;Montant HT;Montant TVA\n"
        f"05/03/2024;MENUISERIE DU CANAL;{siret};1 000,00;200,00\n"
        f"06/03/2024;MENUISERIE DU CANAL;{siret};500,00;100,00\n", encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Date", "Tiers", "SIRET", "Montant débit", "Montant crédit"])
    ws.append(["02/05/2024", "MENUISERIE DU CANAL", siret, 2000, None])
    ws.append(["04/06/2024", "MENUISERIE DU CANAL", siret, None, 500.5])
    wb.save(data / "purchases" / "grand_livre.xlsx")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        # 1 200 + 600 + 2 000 − 500,50
        assert str(con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]) \
            == "3299.50"
        assert file_total_mismatches(con, data) == ([], 0)
        con.execute("UPDATE src_purchase_lines SET amount_eur = 1000 WHERE source_file = 'purchases/mandats.csv' "
                    "AND source_line = 2")
        bad, _ = file_total_mismatches(con, data)
    assert len(bad) == 1 and "cellule 1 200,00, comptée 1 000,00" in bad[0], bad


@pytest.mark.parametrize("vat", ["20", "20 %", "5,5"])
def test_a_vat_column_that_gives_the_rate_is_not_added_as_euros(tmp_path, vat):
    text = ("Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
            f"05/03/2024;{Z};{ZS};1 000,00;{vat}\n06/03/2024;{Z};{ZS};2 000,00;{vat}\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    # the rate is applied (adv14a #5): HT × (1 + rate), never HT + the rate as euros (3 040 / 3 011)
    assert counted(lines) == {"5,5": Decimal("3165.00")}.get(vat, Decimal("3600.00"))
    assert lines["status"].unique().to_list() == ["ok"]
    assert "donne un taux de TVA, pas un montant" in files["column_note"][0]
    assert "(HT + TVA)" not in files["column_note"][0]
