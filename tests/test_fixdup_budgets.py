"""Two budgets' exports, each with its own numbering, both paying the same monthly fee (adversarial
review round 10, defect 2, case BUD): mandates n° 40 and 75 exist in both budgets, a few weeks
apart. Round 9's « same mandate dated otherwise » rule took them for one payment; it holds only
when one file dates the mandate and the other its payment, and never between two files whose
names say two budgets."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import _other_budgets, duplicate_warnings, read_purchase_sources
from tests.reader_inputs import ok_total, write_export

QUINOA = "ASSOCIATION QUINOA SOLIDAIRE;81234567600009"
PRINCIPAL = [("10/01/2024", "12", "Entretien espaces verts janvier"), ("12/02/2024", "40", "Entretien espaces verts février"),
             ("11/03/2024", "75", "Entretien espaces verts mars")]
ANNEXE = [("25/01/2024", "4", "Entretien station janvier"), ("04/03/2024", "40", "Entretien station février"),
          ("08/04/2024", "75", "Entretien station mars")]


def _export(rows: list[tuple[str, str, str]], date_header: str, extra: str = "") -> str:
    return (f"{date_header};N° mandat;Fournisseur;SIRET;Objet;Montant TTC\n"
            + "".join(f"{d};{n};{QUINOA};{o};1 250,00\n" for d, n, o in rows) + extra)


def _ess(lines: pl.DataFrame) -> Decimal:
    return ok_total(lines.filter(pl.col("siret_raw") == "81234567600009"))


def test_bud_two_budgets_paying_the_same_fee_are_both_counted(tmp_path):
    """The reviewer's case: both files date the payment, and their names say two budgets."""
    write_export(tmp_path, "mandats_budget_principal_2024.csv", _export(
        PRINCIPAL, "Date de paiement", "15/03/2024;80;ZORGLUB TRAVAUX PUBLICS;81234568400003;Voirie;12 345,67\n"))
    write_export(tmp_path, "mandats_budget_annexe_eau_2024.csv", _export(ANNEXE, "Date de paiement"))
    lines, files = read_purchase_sources(tmp_path)
    assert (lines["status"] == "duplicate").sum() == 0
    # the names say two budgets: neither merged nor reported as one export repeating the other
    assert not any("comptés" in w for w in duplicate_warnings(files, lines))
    assert ok_total(lines) == Decimal("19845.67")  # 3 × 1 250 + 12 345,67 + 3 × 1 250
    assert _ess(lines) == Decimal("7500.00")


def test_two_payment_dates_weeks_apart_are_two_payments(tmp_path):
    """File names that say nothing of a budget: two payment dates 21 and 28 days apart are still
    two payments (a payment is dated once by its payment)."""
    write_export(tmp_path, "export_a_2024.csv", _export(PRINCIPAL, "Date de paiement"))
    write_export(tmp_path, "export_b_2024.csv", _export(ANNEXE, "Date règlement"))
    lines, files = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("7500.00") and (lines["status"] == "duplicate").sum() == 0
    # nothing says two budgets either: both files and the two rows are named
    said = [w for w in duplicate_warnings(files, lines) if "même n° de mandat" in w]
    assert len(said) == 1 and said[0].startswith("purchases/export_b_2024.csv : 2 paiement(s) (lignes 3, 4)")
    assert "export_a_2024.csv" in said[0]


def test_mandate_and_payment_dates_of_two_budgets_named_in_the_files_are_two_payments(tmp_path):
    """One date of the mandate, one of the payment, but the names say « budget principal » and
    « BA eau »: each budget numbers its mandates from 1."""
    write_export(tmp_path, "mandats_budget_principal_2024.csv", _export(PRINCIPAL, "Date mandat"))
    write_export(tmp_path, "Mandats BA Eau 2024.csv", _export(ANNEXE, "Date de paiement"))
    lines, _ = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("7500.00") and (lines["status"] == "duplicate").sum() == 0


def test_the_same_budget_dated_by_its_mandate_and_its_payment_is_still_merged(tmp_path):
    """The counter-example: the ordonnateur's and the comptable's exports of the one budget
    (« budget annexe » and « budget annexe eau » may be one): n° 40 and 75 counted once."""
    write_export(tmp_path, "budget_annexe_eau_ordonnateur_2024.csv", _export(PRINCIPAL, "Date mandat"))
    write_export(tmp_path, "helios_budget_annexe_2024.csv", _export(ANNEXE, "Date de paiement"))
    lines, _ = read_purchase_sources(tmp_path)
    dup = lines.filter(pl.col("status") == "duplicate")
    assert sorted(dup["mandate_number"]) == ["40", "75"]
    assert ok_total(lines) == Decimal("5000.00")
    assert "date du mandat et date de son paiement" in dup["quarantine_reason"][0]


def test_budget_names():
    assert _other_budgets("purchases/mandats_budget_principal_2024.csv", "purchases/mandats_budget_annexe_eau_2024.csv")
    assert _other_budgets("mandats_BP_2024.csv", "mandats_BA_2024.csv")
    assert _other_budgets("budget_annexe_assainissement.csv", "budget_annexe_eau.csv")
    assert not _other_budgets("budget_annexe_eau_potable.csv", "Budget annexe - Eau - 2024.csv")
    assert not _other_budgets("budget_annexe_2024.csv", "budget_annexe_eau_2024.csv")
    assert not _other_budgets("export_helios_2024.csv", "mandats_budget_annexe_eau_2024.csv")
    assert not _other_budgets("bap_2024.csv", "babar_2024.csv")
