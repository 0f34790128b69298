"""Adversarial review adv14a, defects 4, 5, 10 and 11b: which column is the supplier's name when
« Tiers » holds codes, a « TVA » column of rates without « % », plain « Débit » / « Crédit »
ledger columns, and « (100,00 €) ». Inputs are the reviewer's cases (C5b, C5c, C5d, V1, C3, N1),
figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from tests.reader_inputs import accounted, counted, read_exports

Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
P, PS = "PAMPLEMOUSSE SERVICES", "81234572600002"


def _notes(files: pl.DataFrame) -> str:
    return "\n".join(n for n in files["column_note"].to_list() if n)


# --- defect 4: « Tiers » / « Fournisseur » holding tiers codes ----------------------------------

CODES = {
    # C5b: with SIRET
    "c5b.csv": ("Tiers;Libellé tiers;Siret;Date paiement;Mandat;Montant mandat TTC\n"
                f"0012;{Z};{ZS};05/03/2024;1;1 000,00\n0045;{Q};{QS};06/03/2024;2;3 000,00\n"),
    # C5c and C5d: without SIRET, the name is all the matcher has
    "c5c.csv": ("Tiers;Libellé tiers;Date paiement;Mandat;Montant TTC\n"
                f"0012;{Z};05/03/2024;1;1 000,00\n0045;{Q};06/03/2024;2;3 000,00\n"),
    "c5d.csv": ("Tiers;Nom tiers;Date paiement;N° mandat;Montant TTC\n"
                f"F0012;{Z};05/03/2024;1;1 000,00\nF0045;{Q};06/03/2024;2;3 000,00\n"),
}


@pytest.mark.parametrize("name", sorted(CODES))
def test_a_tiers_column_of_codes_gives_way_to_the_name_column(tmp_path, name):
    lines, files = read_exports(tmp_path, {name: CODES[name]})
    accounted(lines, files)
    assert counted(lines) == Decimal("4000.00")
    assert lines.sort("source_line")["supplier_name"].to_list() == [Z, Q]
    assert "« Tiers » contient des codes de tiers" in _notes(files)


@pytest.mark.parametrize(("code_header", "name_header", "code"), [
    ("Fournisseur", "Raison sociale", "F0045"),
    ("Fournisseur", "Nom du fournisseur", "45"),
    ("Tiers", "Nom du tiers", "TIERS00045"),
    ("Tiers", "Raison sociale", "000045"),
])
def test_neighbouring_code_and_name_headers(tmp_path, code_header, name_header, code):
    text = (f"{code_header};{name_header};Date mandat;Montant TTC\n"
            f"{code};{Q};05/03/2024;3 000,00\n{code}1;{Z};06/03/2024;1 000,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert lines.sort("source_line")["supplier_name"].to_list() == [Q, Z]
    assert counted(lines) == Decimal("4000.00")


def test_names_with_digits_are_not_codes(tmp_path):
    """Counter-example: real names that hold digits (« 3M FRANCE », « A2MICILE ») stay the supplier,
    and a code column beside them is not preferred."""
    text = ("Fournisseur;Code tiers;SIRET;Date mandat;Montant TTC\n"
            "3M FRANCE;F001;;05/03/2024;100,00\nA2MICILE;F002;;06/03/2024;200,00\nSCOP 1901;F003;;07/03/2024;300,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert lines.sort("source_line")["supplier_name"].to_list() == ["3M FRANCE", "A2MICILE", "SCOP 1901"]
    assert "codes de tiers" not in _notes(files)


def test_codes_without_a_name_column_are_said(tmp_path):
    """No other supplier column: the codes stay (the SIRET identifies), loudly."""
    text = (f"Fournisseur;SIRET;Date mandat;Montant TTC\nF0012;{ZS};05/03/2024;1 000,00\n"
            f"F0045;{QS};06/03/2024;3 000,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert counted(lines) == Decimal("4000.00")
    assert lines.sort("source_line")["supplier_name"].to_list() == ["F0012", "F0045"]
    assert "À VÉRIFIER : la colonne « Fournisseur »" in _notes(files)


def test_a_named_supplier_column_is_never_changed(tmp_path):
    from achats.sources.purchases import read_purchase_sources
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "m.csv").write_text(CODES["c5b.csv"], encoding="utf-8")
    lines, files = read_purchase_sources(tmp_path, {"supplier_name": "Tiers"})
    assert lines.sort("source_line")["supplier_name"].to_list() == ["0012", "0045"]
    assert "codes de tiers" not in _notes(files)


# --- defect 5: a « TVA » column of rates written without « % » ---------------------------------

# V1: 20,00 beside 1 000,00 HT and 50,00 HT, 5,50 beside 200,00 HT: no French rate makes these
# VAT amounts (20 % of 50,00 is 10,00), so they are rates; added as euros they gave 4 295,50
V1 = ("N° mandat;Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
      f"1;05/03/2024;{Z};{ZS};1 000,00;20,00\n2;06/03/2024;{Q};{QS};3 000,00;0,00\n"
      f"3;07/03/2024;{P};{PS};200,00;5,50\n4;08/03/2024;{Z};{ZS};50,00;20,00\n")


def test_a_vat_column_of_rates_without_percent_is_applied_not_added_as_euros(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats.csv": V1})
    accounted(lines, files)
    # 1 000 × 1,2 ; 3 000 × 1 ; 200 × 1,055 ; 50 × 1,2
    assert lines.sort("source_line")["amount_eur"].cast(str).to_list() == ["1200.00", "3000.00", "211.00", "60.00"]
    assert counted(lines) == Decimal("4471.00")
    assert lines.sort("source_line")["amount_raw"].to_list()[2] == "200,00 + 5,50 %"
    assert "« TVA » donne un taux de TVA, pas un montant" in _notes(files)


def test_a_rate_is_rounded_per_line_and_a_bad_rate_is_quarantined(tmp_path):
    text = ("Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
            f"05/03/2024;{Z};{ZS};33,33;5,5 %\n06/03/2024;{Z};{ZS};-100,00;20 %\n"
            f"07/03/2024;{Z};{ZS};10,00;\n08/03/2024;{Z};{ZS};10,00;35 %\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    accounted(lines, files)
    got = lines.sort("source_line")
    # 33,33 + 1,83315 → 35,16 ; an avoir keeps its sign ; a blank rate leaves HT ; 35 % is no French rate
    assert got["amount_eur"].cast(str).to_list() == ["35.16", "-120.00", "10.00", None]
    assert got["status"].to_list()[3] == "quarantined" and "10,00 + 35 %" in got["quarantine_reason"].to_list()[3]


def test_a_rate_column_is_reread_by_the_independent_recount(mini, tmp_path, capsys):
    """The whole run on V1's shape, in CSV and in a workbook whose « TVA » cells are percent cells
    (0,2 shown « 20 % »): the published total is HT × (1 + rate), and
    recount.file_total_mismatches re-reads HT and the rate cell and agrees; a line counted HT
    only is caught."""
    import duckdb
    import openpyxl

    from achats.pipelines.cli import main
    from achats.recount import file_total_mismatches

    _, siret = mini.unit("MENUISERIE DU CANAL")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "purchases" / "mandats.csv").write_text(
        "Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
        f"05/03/2024;MENUISERIE DU CANAL;{siret};1 000,00;20,00\n"
        f"06/03/2024;MENUISERIE DU CANAL;{siret};200,00;5,50\n"
        f"07/03/2024;MENUISERIE DU CANAL;{siret};50,00;20,00\n", encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Date mandat", "Fournisseur", "SIRET", "Montant HT", "TVA"])
    for day, ht, rate in (("02/05/2024", 1000, 0.2), ("03/05/2024", 200, 0.055), ("04/05/2024", 300, 0)):
        ws.append([day, "MENUISERIE DU CANAL", siret, ht, rate])
        ws.cell(ws.max_row, 5).number_format = "0.00%"
    wb.save(data / "purchases" / "mandats_2.xlsx")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        assert str(con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]) \
            == "3182.00"  # 1 200 + 211 + 60, then 1 200 + 211 + 300
        assert file_total_mismatches(con, data) == ([], 0)
        con.execute("UPDATE src_purchase_lines SET amount_eur = 200 WHERE source_file = 'purchases/mandats.csv' "
                    "AND source_line = 3")
        bad, _ = file_total_mismatches(con, data)
    assert len(bad) == 1 and "cellule 211,00, comptée 200,00" in bad[0], bad


def test_vat_amounts_that_look_like_rates_are_still_added(tmp_path):
    """Counter-example: 20,00 on 100,00 HT (both readings agree), 5,50 on 27,50 HT (20 %), 20,00 on
    200,00 HT (10 %): VAT amounts at French rates, added to HT."""
    text = ("Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
            f"05/03/2024;{Z};{ZS};100,00;20,00\n06/03/2024;{Z};{ZS};27,50;5,50\n"
            f"07/03/2024;{Z};{ZS};200,00;20,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert counted(lines) == Decimal("373.00")  # 120,00 + 33,00 + 220,00
    assert "(HT + TVA)" in _notes(files)


# --- defect 10: plain « Débit » / « Crédit » ledger columns -------------------------------------

C3 = ("Date;Pièce;Compte;Tiers;SIRET;Libellé;Débit;Crédit;Solde\n"
      f"05/03/2024;M125;6042;{Z};{ZS};Facture 1;1 000,00;;1 000,00\n"
      f"15/03/2024;M130;6042;{Z};{ZS};Avoir 1;;250,00;750,00\n"
      f"20/04/2024;M140;6574;{Q};{QS};Subvention;3 000,00;;3 750,00\n"
      f"21/04/2024;M141;6574;{Q};{QS};Annulation partielle;;500,00;3 250,00\n")


def test_a_ledger_with_plain_debit_and_credit_is_read_debit_minus_credit(tmp_path):
    lines, files = read_exports(tmp_path, {"grand_livre_2024.csv": C3})
    accounted(lines, files)
    assert lines.sort("source_line")["amount_eur"].cast(str).to_list() == ["1000.00", "-250.00", "3000.00", "-500.00"]
    assert counted(lines) == Decimal("3250.00")
    assert counted(lines.filter(pl.col("supplier_name") == Q)) == Decimal("2500.00")
    assert "montant de chaque ligne = « Débit » − « Crédit »" in _notes(files)


@pytest.mark.parametrize(("header", "amount", "credit"), [
    (["Tiers", "Débit", "Crédit"], 1, 2),
    (["Tiers", "Crédit €", "Débit €"], 2, 1),
    (["Tiers", "Débits", "Crédits", "Solde"], 1, 2),
    (["Tiers", "Montant TTC", "Débit", "Crédit"], 1, None),  # an amount column: taken alone
    (["Tiers", "Crédit"], None, None),  # a credit alone (a budget's) is no payment
    (["Tiers", "Débit", "Crédit", "Crédit"], None, None),  # which credit: unknown, nothing guessed
])
def test_the_ledger_rule_on_neighbouring_headers(header, amount, credit):
    from achats.sources.purchases import map_headers
    cols = map_headers(header)
    assert cols.get("amount") == amount and cols.get("amount_credit") == credit


def test_debit_credit_columns_of_text_stop_the_run(tmp_path):
    from achats.errors import InputError
    text = f"Tiers;SIRET;Débit;Crédit\n{Z};{ZS};1 000,00;Compte 4011\n{Z};{ZS};500,00;Compte 4011\n"
    with pytest.raises(InputError, match=r"m\.csv : colonne\(s\) « Crédit » : ses valeurs ne sont pas des montants"):
        read_exports(tmp_path, {"m.csv": text})


def test_colonnes_can_name_the_credit_column(tmp_path):
    """[colonnes] montant = « Débit » alone leaves the credit lines quarantined (loud); with
    credit = « Crédit » they count negative."""
    from achats.config import load_settings
    from achats.sources.purchases import ReadOptions, read_purchase_sources
    text = C3.replace("Débit;Crédit", "Mouvements débit;Mouvements crédit")
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "gl.csv").write_text(text, encoding="utf-8")
    (tmp_path / "achats.toml").write_text('[colonnes]\nmontant = "Mouvements débit"\ncredit = "Mouvements crédit"\n',
                                          encoding="utf-8")
    s = load_settings(tmp_path)
    assert not s.warnings
    lines, _ = read_purchase_sources(tmp_path, options=ReadOptions(s.column_mapping))
    assert counted(lines) == Decimal("3250.00") and lines["status"].unique().to_list() == ["ok"]


# --- defect 11b: « (100,00 €) » --------------------------------------------------------------------

def test_parentheses_with_a_currency_sign_are_a_credit(tmp_path):
    text = ("N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
            f"1;05/03/2024;{Z};{ZS};10 000,00\n2;06/03/2024;{Z};{ZS};-1 234,56 €\n"
            f"3;07/03/2024;{Z};{ZS};- 1 000,00\n4;08/03/2024;{Q};{QS};5 000,00\n"
            f"5;09/03/2024;{Q};{QS};1.234,56-\n6;10/03/2024;{Q};{QS};(100,00 €)\n"
            f"7;11/03/2024;{Q};{QS};(€ 50,00)\n8;12/03/2024;{Q};{QS};(10,00 € 5)\n")
    lines, files = read_exports(tmp_path, {"mandats.csv": text})
    accounted(lines, files)
    got = dict(zip(lines["source_line"].to_list(), lines["amount_eur"].cast(str).to_list(), strict=True))
    assert got[7] == "-100.00" and got[8] == "-50.00"
    assert got[9] is None  # two numbers in the parentheses: still refused, quoted
    assert counted(lines) == Decimal("11380.88")  # 10 000 − 1 234,56 − 1 000 + 5 000 − 1 234,56 − 100 − 50


def test_a_kind_of_tiers_is_no_name(tmp_path):
    """Counter-example: « Type tiers » (Association, Entreprise) beside codes names a kind, not each
    supplier: the codes stay, and the note says so."""
    text = ("Tiers;Type tiers;SIRET;Date mandat;Montant TTC\n"
            + "".join(f"F00{k};{'Association' if k % 2 else 'Entreprise'};{ZS};0{k + 1}/03/2024;100,00\n"
                      for k in range(1, 7)))
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert lines.sort("source_line")["supplier_name"].to_list() == [f"F00{k}" for k in range(1, 7)]
    assert "À VÉRIFIER : la colonne « Tiers »" in _notes(files)


def test_rates_are_told_on_a_long_file_where_some_lines_look_like_vat_amounts(tmp_path):
    """A long export of rates: by chance some lines read as VAT amounts too (5,50 beside 55,00 HT is
    10 %, 20,00 beside 200,00 HT too); most do not, so the column is a rate."""
    rows = [("55,00", "5,50"), ("200,00", "20,00"), ("1 000,00", "20,00"), ("350,00", "5,50"), ("80,00", "20,00"),
            ("1 234,00", "10,00"), ("99,00", "5,50")]
    text = "Date mandat;Fournisseur;SIRET;Montant HT;TVA\n" + "".join(
        f"0{k + 1}/03/2024;{Z};{ZS};{ht};{vat}\n" for k, (ht, vat) in enumerate(rows))
    lines, files = read_exports(tmp_path, {"m.csv": text})
    # 58,03 + 240 + 1 200 + 369,25 + 96 + 1 357,40 + 104,45
    assert lines.sort("source_line")["amount_eur"].cast(str).to_list() == [
        "58.03", "240.00", "1200.00", "369.25", "96.00", "1357.40", "104.45"]
    assert counted(lines) == Decimal("3425.13")
