"""The purchase readers: every data row comes out once, ok or quarantined with file, row and field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from achats.errors import InputError
from achats.sources.purchases import map_headers, parse_amount, parse_date, read_purchases


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / "purchases" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode(encoding))
    return tmp_path


@pytest.mark.parametrize("text,value", [
    ("1 234,56", Decimal("1234.56")), ("1234.56", Decimal("1234.56")), ("1 234,56 €", Decimal("1234.56")),
    ("1\u00a0234,56\u00a0€", Decimal("1234.56")), ("1\u202f234,56", Decimal("1234.56")),
    ("-85,87", Decimal("-85.87")), ("(100,00)", Decimal("-100.00")), ("100,00-", Decimal("-100.00")),
    ("1.234.567,89", Decimal("1234567.89")), ("1,234,567.89", Decimal("1234567.89")), ("12", Decimal("12")),
    ("EUR 15,5", Decimal("15.5")),
])
def test_amount_formats(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["douze cents", "12a", "1,2,3.4.5x", "--5"])
def test_amount_with_letters_is_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize("text,value", [
    ("15/03/2024", dt.date(2024, 3, 15)), ("2024-03-15", dt.date(2024, 3, 15)),
    ("15-03-2024", dt.date(2024, 3, 15)), ("15.03.2024", dt.date(2024, 3, 15)),
    ("2024-03-15 00:00:00", dt.date(2024, 3, 15)), ("45366", dt.date(2024, 3, 15)),
    ("15 mars 2024", dt.date(2024, 3, 15)), ("1er février 2024", dt.date(2024, 2, 1)),
])
def test_date_formats(text, value):
    assert parse_date(text) == value


def test_impossible_date_is_refused():
    with pytest.raises(ValueError):
        parse_date("31/02/2024")


def test_headers_are_recognised_by_alias_case_and_accent_insensitive():
    cols = map_headers(["N° MANDAT", "date de mandatement", "NOM DU TIERS", "siret du tiers", "MONTANT TTC",
                        "direction", "Code CPV"])
    assert cols == {"mandate_number": 0, "date": 1, "supplier_name": 2, "siret": 3, "amount": 4,
                    "buying_entity": 5, "category": 6}


def test_marche_inclusion_upload_format_loads_as_is(tmp_path):
    src = Path(__file__).parent / "data" / "marche_inclusion_format.csv"
    d = _write(tmp_path, "mi.csv", src.read_text(encoding="utf-8"))
    df = read_purchases(d)
    assert df.height == 5
    assert df["status"].to_list() == ["ok"] * 5
    assert df["amount_eur"].to_list() == [15000.50, 2500.00, 75000.00, 1200.75, 50000.00]
    assert df["buying_entity"][0] == "Service IT" and df["category"][0] == "Services informatiques"


def test_cp1252_semicolon_french_amounts(tmp_path):
    text = "Tiers;Montant TTC;Date mandat\r\nCRÈCHE LES PETITS;1 234,56;15/03/2024\r\nÉCOLE;-10,00;16/03/2024\r\n"
    df = read_purchases(_write(tmp_path, "a.csv", text, "cp1252"))
    assert df["supplier_name"].to_list() == ["CRÈCHE LES PETITS", "ÉCOLE"]
    assert df["amount_eur"].to_list() == [Decimal("1234.56"), Decimal("-10.00")]
    assert df.schema["amount_eur"] == pl.Decimal(18, 2)
    assert df["quarter"].to_list() == ["2024-Q1", "2024-Q1"]


def test_utf8_bom_and_quoted_separators_and_line_breaks(tmp_path):
    text = '\ufeffFournisseur,Montant,Date\n"DUPONT, MARTIN ET FILS",100,2024-01-02\n"ATELIER\nDU LIVRE",50,2024-04-02\n'
    df = read_purchases(_write(tmp_path, "a.csv", text))
    assert df["supplier_name"].to_list() == ["DUPONT, MARTIN ET FILS", "ATELIER\nDU LIVRE"]
    assert df["source_row"].to_list() == [1, 2]
    # the line where the record starts, the one the user finds it on (README « ligne N »)
    assert df["source_line"].to_list() == [2, 3]


def test_every_bad_row_is_quarantined_with_file_row_and_field(tmp_path):
    text = ("Fournisseur;Montant;Date\n"
            "A;douze;01/01/2024\n"          # 1 amount with letters
            "B;10;31/02/2024\n"             # 2 impossible date
            "C;10;01/01/1850\n"             # 3 out of range
            ";10;01/01/2024\n"              # 4 no supplier, no SIRET
            "Fournisseur;Montant;Date\n"    # 5 header repeated
            ";;\n"                          # 6 empty row
            "D;10;\n"                       # 7 missing date
            "E;;01/01/2024\n"               # 8 missing amount
            "F;10;01/01/2024\n")            # 9 fine
    df = read_purchases(_write(tmp_path, "bad.csv", text))
    assert df.height == 9
    reasons = dict(zip(df["source_row"], df["quarantine_reason"], strict=True))
    assert df.filter(df["status"] == "ok")["source_row"].to_list() == [9]
    assert reasons[1].startswith("purchases/bad.csv, ligne 2, champ « Montant » : montant illisible « douze »")
    assert "champ « Date » : date illisible" in reasons[2]
    assert "date hors plage" in reasons[3]
    assert "ni fournisseur ni SIRET" in reasons[4]
    assert "ligne d'en-tête répétée" in reasons[5]
    assert "ligne vide" in reasons[6]
    assert "date manquante" in reasons[7]
    assert "montant manquant" in reasons[8]


def test_exact_duplicates_are_flagged_not_removed(tmp_path):
    text = "Fournisseur;Montant\nA;10\nA;10\nA;11\n"
    df = read_purchases(_write(tmp_path, "d.csv", text))
    assert df["is_duplicate"].to_list() == [False, True, False]
    assert df["line_id"].n_unique() == 3


def test_line_ids_are_stable_when_rows_are_inserted_elsewhere(tmp_path):
    a = read_purchases(_write(tmp_path / "a", "x.csv", "Fournisseur;Montant\nA;10\nB;20\n"))
    b = read_purchases(_write(tmp_path / "b", "x.csv", "Fournisseur;Montant\nZ;5\nA;10\nB;20\n"))
    assert set(a["line_id"]) <= set(b["line_id"])


def test_total_row_is_quarantined_but_a_supplier_named_total_is_not(tmp_path):
    text = "Fournisseur;Montant\nTOTAL ENERGIES;100\nB;50\nTotal;150\n"
    df = read_purchases(_write(tmp_path, "t.csv", text))
    assert df["status"].to_list() == ["ok", "ok", "quarantined"]
    assert "ligne de total" in df["quarantine_reason"][2]


def test_unknown_columns_are_ignored_and_title_rows_skipped(tmp_path):
    text = "Export du 01/02/2025\n\nFoo;Fournisseur;Bar;Montant HT\n1;A;x;10\n"
    df = read_purchases(_write(tmp_path, "u.csv", text))
    assert df["supplier_name"].to_list() == ["A"] and df["amount_eur"].to_list() == [10.0]


def test_unusable_files_stop_with_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="fichier vide"):
        read_purchases(_write(tmp_path / "1", "e.csv", ""))
    with pytest.raises(InputError, match="aucune ligne d'en-tête reconnue"):
        read_purchases(_write(tmp_path / "2", "h.csv", "Nom;Prix\nA;1\n"))
    with pytest.raises(InputError, match="aucun fichier d'achats"):
        read_purchases(tmp_path / "nothing")


def test_header_only_file_gives_no_line(tmp_path):
    assert read_purchases(_write(tmp_path, "h.csv", "Fournisseur;Montant\n")).height == 0


def test_xlsx_with_title_merged_cells_and_a_notes_sheet(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats"
    ws.append(["Export des mandats 2025"])
    ws.merge_cells("A1:D1")
    ws.append(["Exercice", "Date de paiement", "Nom du tiers", "Montant mandaté"])
    ws.append([2025, dt.datetime(2025, 2, 3), "ASSOCIATION A", 120.5])
    ws.append([2025, dt.datetime(2025, 5, 3), "B", "1 000,00"])
    wb.create_sheet("Notes").append(["rien à voir"])
    (tmp_path / "purchases").mkdir()
    wb.save(tmp_path / "purchases" / "m.xlsx")
    df = read_purchases(tmp_path)
    assert df["quarter"].to_list() == ["2025-Q1", "2025-Q2"]
    assert df["amount_eur"].to_list() == [120.5, 1000.0]
    assert df["source_sheet"].to_list() == ["Mandats", "Mandats"]


def test_explicit_column_mapping_from_settings(tmp_path):
    text = "Libellé du créancier;Somme payée\nA;10\n"
    df = read_purchases(_write(tmp_path, "m.csv", text),
                        {"supplier_name": "Libellé du créancier", "amount": "Somme payée"})
    assert df["supplier_name"].to_list() == ["A"] and df["amount_eur"].to_list() == [10.0]


def test_headers_found_by_a_telling_word_when_no_alias_matches():
    cols = map_headers(["N° fournisseur", "Nom du fournisseur / tiers", "Montant HT en €", "Montant TTC en €",
                        "Date d'émission du mandat", "Code SIRET fournisseur"])
    assert cols["supplier_name"] == 1 and cols["amount"] == 3 and cols["date"] == 4 and cols["siret"] == 5
