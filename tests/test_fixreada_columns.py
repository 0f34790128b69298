"""Adversarial review #5, defects 1, 4, 5 and 14 (d): which column the reader takes for the amount,
the buying entity and the debit/credit sign, and dates with a month in letters. Inputs are the
reviewer's cases (SF2, HD1, AN1, PF), figures computed by hand, to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from achats.sources.purchases import duplicate_warnings, map_headers, parse_date
from tests.conftest import run_mini
from tests.reader_inputs import accounted, counted, read_exports

Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"

# SF2: the Q1 export with a Direction, and a Jan–Apr extraction with a « Service fait le » date column
SF2_Q1 = ("Date mandat;N° mandat;Tiers;SIRET;Montant;Direction\n"
          f"15/01/2024;11;{Q};{QS};1 000,00;DSI\n"
          f"20/01/2024;12;{Z};{ZS};3 000,00;DSI\n"
          f"05/02/2024;13;{Z};{ZS};2 500,00;Voirie\n"
          f"10/03/2024;14;{Q};{QS};700,00;Voirie\n")
SF2_EXTRACT = ("Date mandat;N° mandat;Tiers;SIRET;Montant;Service fait le\n"
               f"15/01/2024;11;{Q};{QS};1 000,00;08/01/2024\n"
               f"20/01/2024;12;{Z};{ZS};3 000,00;12/01/2024\n"
               f"10/04/2024;21;{Z};{ZS};400,00;02/04/2024\n"
               f"12/04/2024;22;{Z};{ZS};600,00;03/04/2024\n")
# HD1: the paid amount is not the first amount column; HT and TTC side by side
HD1_RELEVE = ("Date de paiement;Bénéficiaire;SIRET;Montant initial;Montant annulé;Montant net payé\n"
              f"15/03/2024;{Q};{QS};1 000,00;200,00;800,00\n"
              f"16/03/2024;{Z};{ZS};3 000,00;0,00;3 000,00\n")
HD1_FACTURES = ("Date;Fournisseur;SIRET;Montant HT;TVA;Total TTC\n"
                f"10/04/2024;{Q};{QS};500,00;100,00;600,00\n"
                f"11/04/2024;{Z};{ZS};1 000,00;200,00;1 200,00\n")
# PF: English headers, where « Mandate number » is no amount
PF_PAYMENTS = ("Date,Mandate number,Supplier,SIRET,Amount\n"
               f'2022-03-15,301,"{Q}",{QS},"1,234.56"\n'
               f'2022-04-15,302,"{Z}",{ZS},"10,000.00"\n'
               f'2022-05-15,303,"{Z}",{ZS},99.90\n')
# AN1: Hélios-like pieces, cancellations and reductions written positive
AN1_PIECES = ("Exercice;N° mandat;Type de pièce;Date d'émission;Tiers;SIRET;Montant\n"
              f"2024;15;Mandat;15/03/2024;{Q};{QS};1 000,00\n"
              f"2024;15;Annulation;02/04/2024;{Q};{QS};1 000,00\n"
              f"2024;16;Mandat;16/03/2024;{Z};{ZS};3 000,00\n"
              f"2024;17;Mandat;20/03/2024;{Z};{ZS};2 000,00\n"
              f"2024;17;Réduction;25/04/2024;{Z};{ZS};500,00\n")
# PF: the months as Excel writes them in French
PF_LETTERS = ("Date;N° mandat;Fournisseur;SIRET;Montant\n"
              f"15 mars 2021;401;{Q};{QS};100,00\n"
              f"3 févr. 2021;402;{Q};{QS};200,00\n"
              f"1er avril 2021;403;{Q};{QS};300,00\n"
              f"12-janv-21;404;{Z};{ZS};400,00\n"
              f"Mardi 7 septembre 2021;405;{Z};{ZS};500,00\n")


def _quinoa(lines: pl.DataFrame) -> Decimal:
    return counted(lines.filter(pl.col("siret_raw") == QS))


# --- defect 1: « Service fait le » -------------------------------------------------------


def test_a_service_done_date_column_is_no_buying_entity_and_repeated_payments_count_once(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats_T1_2024.csv": SF2_Q1, "extraction_jan_avr_2024.csv": SF2_EXTRACT})
    # 7 200 (Q1 export) + 400 + 600 (the extraction's new lines); mandates 11 and 12 once
    assert counted(lines) == Decimal("8200.00")
    assert _quinoa(lines) == Decimal("1700.00")
    extract = lines.filter(pl.col("source_file") == "purchases/extraction_jan_avr_2024.csv").sort("source_line")
    assert extract["status"].to_list() == ["duplicate", "duplicate", "ok", "ok"]
    assert extract["buying_entity"].null_count() == 4  # never « 08/01/2024 »
    assert sorted(lines["buying_entity"].drop_nulls().unique().to_list()) == ["DSI", "Voirie"]
    accounted(lines, files)


def test_service_fait_headers_are_no_buying_entity_but_services_are():
    assert "buying_entity" not in map_headers(["Date mandat", "Date service fait", "Tiers", "Montant"])
    assert "buying_entity" not in map_headers(["Date mandat", "Tiers", "Montant", "Service fait le"])
    assert map_headers(["Tiers", "Montant", "Service gestionnaire"])["buying_entity"] == 2
    assert map_headers(["Tiers", "Montant", "Service émetteur"])["buying_entity"] == 2


def test_a_buying_entity_column_holding_dates_is_not_taken_and_the_run_says_so(tmp_path):
    text = ("Date mandat;Tiers;SIRET;Montant;Service validation\n"
            f"15/01/2024;{Q};{QS};1 000,00;08/01/2024\n"
            f"20/01/2024;{Z};{ZS};3 000,00;12/01/2024\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert lines["buying_entity"].null_count() == 2 and counted(lines) == Decimal("4000.00")
    assert any("« Service validation » n'est pas lue comme entité acheteuse" in w for w in duplicate_warnings(files))


def test_a_category_of_account_numbers_is_kept(tmp_path):
    """Five-digit accounts (« 60632 ») could be read as Excel day numbers: codes are no dates."""
    text = ("Nature;Service;Tiers;SIRET;Montant\n"
            f"60632;DSI;{Q};{QS};100,00\n6068;DSI;{Z};{ZS};200,00\n61521;20240115;{Z};{ZS};300,00\n")
    lines, files = read_exports(tmp_path, {"n.csv": text})
    assert lines.sort("source_line")["category"].to_list() == ["60632", "6068", "61521"]
    assert lines.sort("source_line")["buying_entity"].to_list() == ["DSI", "DSI", "20240115"]
    assert files["column_note"].null_count() == 1


# --- defect 4: the amount column ---------------------------------------------------------


def test_the_paid_ttc_amount_is_chosen_whatever_the_column_order(tmp_path):
    lines, files = read_exports(tmp_path, {"releve_paiements_2024.csv": HD1_RELEVE,
                                           "factures_2024.csv": HD1_FACTURES})
    # 800 + 3 000 (net payé) + 600 + 1 200 (TTC)
    assert counted(lines) == Decimal("5600.00")
    assert _quinoa(lines) == Decimal("1400.00")
    notes = duplicate_warnings(files)
    assert any("releve_paiements_2024.csv : colonne de montant « Montant net payé » choisie" in n
               and "« Montant initial »" in n for n in notes)
    assert any("factures_2024.csv : colonne de montant « Total TTC » choisie" in n and "le TTC plutôt que le HT" in n
               for n in notes)


def test_a_mandate_number_is_no_amount_and_english_headers_are_read(tmp_path):
    lines, _ = read_exports(tmp_path, {"payments_2022.csv": PF_PAYMENTS})
    assert counted(lines) == Decimal("11334.46")
    assert _quinoa(lines) == Decimal("1234.56")
    assert lines.sort("source_line")["supplier_name"].to_list() == [Q, Z, Z]
    assert lines.sort("source_line")["mandate_number"].to_list() == ["301", "302", "303"]


@pytest.mark.parametrize(("header", "amount"), [
    (["Tiers", "Montant HT", "Montant TTC", "Montant TVA"], 2),
    (["Tiers", "Montant", "Montant payé"], 2),
    (["Tiers", "Montant engagé", "Montant mandaté"], 2),
    (["Tiers", "Date mandaté", "Mt réglé"], 2),
    (["Tiers", "Prix unitaire HT", "Quantité", "Total HT"], 3),
    (["Tiers", "Montant TTC", "Montant annulé"], 1),
    (["Tiers", "N° mandat", "Montant HT"], 2),
    (["Tiers", "Dépense", "Montant"], 2),  # between exact aliases, the aliases' order
    (["Tiers", "Reste à payer", "Net à payer"], 2),
])
def test_the_amount_rule_on_neighbouring_headers(header, amount):
    assert map_headers(header)["amount"] == amount


def test_a_single_amount_column_gets_no_note_and_an_explicit_one_wins(tmp_path):
    lines, files = read_exports(tmp_path, {"a.csv": f"Tiers;SIRET;Montant\n{Q};{QS};10,00\n"})
    assert files["column_note"].null_count() == files.height
    (tmp_path / "purchases" / "a.csv").unlink()
    (tmp_path / "purchases" / "b.csv").write_text(HD1_FACTURES, encoding="utf-8")
    from achats.sources.purchases import read_purchase_sources

    lines, files = read_purchase_sources(tmp_path, {"amount": "Montant HT"})
    assert counted(lines) == Decimal("1500.00") and files["column_note"].null_count() == files.height


# --- defect 5: « Type de pièce » ---------------------------------------------------------


def test_cancellations_typed_in_a_piece_type_column_are_negative(tmp_path):
    lines, files = read_exports(tmp_path, {"pieces_2024.csv": AN1_PIECES})
    # 1 000 - 1 000 + 3 000 + 2 000 - 500
    assert counted(lines) == Decimal("4500.00")
    assert _quinoa(lines) == Decimal("0.00")
    assert lines.sort("source_line")["amount_eur"].cast(pl.String).to_list() == [
        "1000.00", "-1000.00", "3000.00", "2000.00", "-500.00"]
    assert any("« Type de pièce » est lue comme sens débit/crédit" in n for n in duplicate_warnings(files))
    accounted(lines, files)


@pytest.mark.parametrize("header", ["Type d'opération", "Type", "Nature de la pièce", "Nature de l'opération"])
def test_other_piece_type_headers_give_the_sign_too(tmp_path, header):
    lines, _ = read_exports(tmp_path, {"p.csv": AN1_PIECES.replace("Type de pièce", header)})
    assert counted(lines) == Decimal("4500.00")


def test_helios_operation_natures_give_the_sign(tmp_path):
    """« Mandat d'annulation » is a credit, as in a Sens column; « Mandat ordinaire » a debit."""
    text = AN1_PIECES.replace("Type de pièce", "Nature de l'opération").replace(";Mandat;", ";Mandat ordinaire;") \
        .replace(";Annulation;", ";Mandat d'annulation;").replace(";Réduction;", ";Mandat de réduction;")
    lines, _ = read_exports(tmp_path, {"h.csv": text})
    assert counted(lines) == Decimal("4500.00") and _quinoa(lines) == Decimal("0.00")


def test_invoices_and_credit_notes_typed_in_a_piece_type_column(tmp_path):
    """« Facture » / « Avoir », the pieces of an invoice register: a credit note written positive
    is negative, one written negative stays negative."""
    text = ("Type de pièce;Tiers;SIRET;Montant TTC\n"
            f"Facture;{Q};{QS};1 000,00\nAvoir;{Q};{QS};200,00\nFacture;{Z};{ZS};3 000,00\n"
            f"Avoir;{Z};{ZS};-300,00\n")
    lines, _ = read_exports(tmp_path, {"f.csv": text})
    assert counted(lines) == Decimal("3500.00") and _quinoa(lines) == Decimal("800.00")


def test_a_free_text_column_about_the_operation_is_no_sign(tmp_path):
    """« Libellé de l'opération » is free text, even when it speaks of payments and cancellations."""
    text = ("Libellé de l'opération;Tiers;SIRET;Montant\n"
            f"Paiement facture 12;{Q};{QS};100,00\nPaiement facture 13;{Z};{ZS};200,00\n"
            f"Annulation partielle facture 12;{Q};{QS};-40,00\n")
    lines, _ = read_exports(tmp_path, {"l.csv": text})
    assert counted(lines) == Decimal("260.00") and lines.filter(pl.col("status") != "ok").height == 0


def test_cancellations_among_unknown_piece_types_are_said_not_guessed(tmp_path):
    """Too few values are signs to read the column as one: the amounts keep their written sign,
    and the run names the column and a cancellation it holds."""
    text = AN1_PIECES.replace(";Mandat;", ";Pièce comptable;")
    lines, files = read_exports(tmp_path, {"p.csv": text})
    assert counted(lines) == Decimal("7500.00")
    assert any("« Type de pièce » contient des annulations ou réductions (« annulation »)" in n
               and "[colonnes] sens" in n for n in duplicate_warnings(files))


def test_a_type_column_of_purchase_kinds_is_no_sign(tmp_path):
    """« Type » holding Fournitures / Services is left alone: nothing turns negative."""
    text = ("Type;Tiers;SIRET;Montant\n"
            f"Fournitures;{Q};{QS};100,00\nServices;{Z};{ZS};200,00\nAvoir;{Z};{ZS};-50,00\n")
    lines, files = read_exports(tmp_path, {"t.csv": text})
    assert counted(lines) == Decimal("250.00") and lines.filter(pl.col("status") != "ok").height == 0
    assert not any("est lue comme sens" in n for n in duplicate_warnings(files))


# --- defect 14 (d): months in letters ----------------------------------------------------


@pytest.mark.parametrize(("text", "day"), [
    ("3 févr. 2021", dt.date(2021, 2, 3)), ("12-janv-21", dt.date(2021, 1, 12)),
    ("Mardi 7 septembre 2021", dt.date(2021, 9, 7)), ("1er avril 2021", dt.date(2021, 4, 1)),
    ("7-Sep-2021", dt.date(2021, 9, 7)), ("15 déc. 2023", dt.date(2023, 12, 15)),
    ("2 juil 2022", dt.date(2022, 7, 2)), ("mer. 5 août 2020", dt.date(2020, 8, 5)),
    ("3 févr. 2021 14:30", dt.date(2021, 2, 3)), ("03-FÉVR-2021", dt.date(2021, 2, 3)),
])
def test_short_french_dates_are_read(text, day):
    assert parse_date(text) == day


def test_an_impossible_lettered_date_is_still_refused():
    with pytest.raises(ValueError):
        parse_date("31 févr. 2021")
    with pytest.raises(ValueError):
        parse_date("3 foo 2021")


def test_a_file_of_lettered_dates_loses_no_line(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats_lettres_2021.csv": PF_LETTERS})
    assert counted(lines) == Decimal("1500.00") and _quinoa(lines) == Decimal("600.00")
    assert lines.sort("source_line")["purchase_date"].to_list() == [
        dt.date(2021, 3, 15), dt.date(2021, 2, 3), dt.date(2021, 4, 1), dt.date(2021, 1, 12), dt.date(2021, 9, 7)]
    accounted(lines, files)


# --- the published figures, end to end ---------------------------------------------------


def test_the_published_figures_of_the_reviewers_cases(mini, tmp_path):
    qs = mini.unit(Q, cj="9220")[1]
    zs = mini.unit(Z, cj="5499")[1]
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    for name, text in {"mandats_T1_2024.csv": SF2_Q1, "extraction_jan_avr_2024.csv": SF2_EXTRACT,
                       "releve_paiements_2024.csv": HD1_RELEVE, "factures_2024.csv": HD1_FACTURES,
                       "payments_2022.csv": PF_PAYMENTS, "pieces_2024.csv": AN1_PIECES,
                       "mandats_lettres_2021.csv": PF_LETTERS}.items():
        (data / "purchases" / name).write_text(text.replace(QS, qs).replace(ZS, zs), encoding="utf-8")
    con = run_mini(data, tmp_path)
    got = dict(con.execute("SELECT period, total_amount_eur FROM objective8_by_year").fetchall())
    ess = dict(con.execute("SELECT period, ess_amount_eur FROM objective8_by_year").fetchall())
    # 2021: 1 500 (lettered dates); 2022: 11 334,46 (English); 2024: 8 200 + 5 600 + 4 500
    assert (got["2021"], got["2022"], got["2024"]) == (Decimal("1500.00"), Decimal("11334.46"), Decimal("18300.00"))
    assert got["ALL"] == Decimal("31134.46")
    # QUINOA (an association): 600 + 1 234,56 + (1 700 + 800 + 600 + 0)
    assert (ess["2021"], ess["2022"], ess["2024"], ess["ALL"]) == (
        Decimal("600.00"), Decimal("1234.56"), Decimal("3100.00"), Decimal("4934.56"))
    assert con.execute("SELECT count(*) FROM purchase_lines WHERE buying_entity LIKE '%/%'").fetchone()[0] == 0
