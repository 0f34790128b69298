"""Two budgets' exports whose mandates share a n°, a date and a payee (adversarial review round 11,
defects 2 and 7, cases BUD2–BUD5): each budget numbers its mandates from 1 and the comptable pays
all budgets in the same run, so neither the same-payment rule, nor the corrected re-export rule,
nor the 45-day rule may merge them once the files (name or « Budget » column) say two budgets.
Genuine repeats of one budget are still counted once."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import (
    _name_budget,
    _other_budgets,
    duplicate_warnings,
    read_purchase_sources,
)
from tests.reader_inputs import ok_total, write_export

HEAD = "Exercice;N° mandat;Date de paiement;Fournisseur;SIRET;Objet;Montant TTC\n"
QUINOA = "ASSOCIATION QUINOA SOLIDAIRE;81234567600009"
ZORGLUB = "ZORGLUB TRAVAUX PUBLICS;81234568400003"


def _ess(lines: pl.DataFrame) -> Decimal:
    return ok_total(lines.filter(pl.col("siret_raw") == "81234567600009"))


def test_bud4_same_payment_in_the_principal_and_an_annexe_is_two_payments(tmp_path):
    write_export(tmp_path, "mandats_2024_budget_principal.csv", HEAD
                 + f"2024;3;12/01/2024;{QUINOA};Entretien espaces verts janvier;1 250,00\n"
                 + f"2024;4;12/01/2024;{ZORGLUB};Voirie;10 000,00\n")
    write_export(tmp_path, "mandats_2024_budget_annexe_assainissement.csv", HEAD
                 + f"2024;3;12/01/2024;{QUINOA};Entretien abords STEP janvier;1 250,00\n"
                 + f"2024;5;12/01/2024;{ZORGLUB};Curage;2 000,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert (lines["status"] != "ok").sum() == 0
    assert ok_total(lines) == Decimal("14500.00") and _ess(lines) == Decimal("2500.00")


def test_bud3_another_amount_in_an_annexe_is_no_corrected_version(tmp_path):
    write_export(tmp_path, "mandats_2024_budget_principal.csv", HEAD
                 + f"2024;12;15/01/2024;{QUINOA};Entretien espaces verts;1 250,00\n"
                 + f"2024;13;15/01/2024;{ZORGLUB};Voirie;10 000,00\n")
    write_export(tmp_path, "mandats_2024_budget_annexe_eau.csv", HEAD
                 + f"2024;12;15/01/2024;{QUINOA};Entretien station;980,00\n"
                 + f"2024;14;15/01/2024;{QUINOA};Entretien station bis;1 250,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert (lines["row_kind"] == "superseded").sum() == 0 and (lines["status"] != "ok").sum() == 0
    assert ok_total(lines) == Decimal("13480.00") and _ess(lines) == Decimal("3480.00")


def test_bud5_a_file_without_budget_does_not_borrow_an_annexe_and_is_said(tmp_path):
    write_export(tmp_path, "mandats_2024.csv", HEAD
                 + f"2024;3;12/01/2024;{QUINOA};Entretien espaces verts janvier;1 250,00\n"
                 + f"2024;4;12/01/2024;{ZORGLUB};Voirie;10 000,00\n")
    write_export(tmp_path, "mandats_eau_2024.csv", "Exercice;Budget;N° mandat;Date de paiement;Fournisseur;SIRET;"
                 "Objet;Montant TTC\n"
                 f"2024;Budget annexe eau;3;12/01/2024;{QUINOA};Entretien abords STEP janvier;1 250,00\n"
                 f"2024;Budget annexe eau;5;12/01/2024;{ZORGLUB};Curage;2 000,00\n")
    lines, files = read_purchase_sources(tmp_path)
    assert (lines["status"] != "ok").sum() == 0
    assert ok_total(lines) == Decimal("14500.00") and _ess(lines) == Decimal("2500.00")
    said = [w for w in duplicate_warnings(files, lines) if "ne dit pas son budget" in w]
    assert len(said) == 1 and said[0].startswith("purchases/mandats_2024.csv : 1 paiement(s) (lignes 2)")
    assert "mandats_eau_2024.csv" in said[0] and "budget annexe eau" in said[0]


def test_bud2_general_and_water_budgets_are_not_one_mandate_dated_twice(tmp_path):
    months = range(1, 7)
    write_export(tmp_path, "paiements_2024_budget_general.csv", HEAD
                 + "".join(f"2024;{7 * m};15/{m:02d}/2024;{QUINOA};Entretien espaces verts;1 250,00\n" for m in months)
                 + f"2024;100;20/06/2024;{ZORGLUB};Voirie;10 000,00\n")
    write_export(tmp_path, "mandats_2024_budget_eau.csv", HEAD.replace("Date de paiement", "Date mandat")
                 + "".join(f"2024;{7 * m};01/{m:02d}/2024;{QUINOA};Entretien station d'épuration;1 250,00\n"
                           for m in months))
    lines, _ = read_purchase_sources(tmp_path)
    assert (lines["status"] != "ok").sum() == 0
    assert ok_total(lines) == Decimal("25000.00") and _ess(lines) == Decimal("15000.00")


def test_one_budget_exported_twice_is_still_counted_once(tmp_path):
    """Counter-examples: the same budget's export saved twice (« BA_eau » and « budget annexe eau »),
    and a 2024 principal export with a 2025 export that states no budget, overlapping on January."""
    body = f"2024;3;12/01/2024;{QUINOA};Entretien;1 250,00\n2024;4;12/01/2024;{ZORGLUB};Voirie;10 000,00\n"
    write_export(tmp_path, "BA_eau_2024.csv", HEAD + body)
    write_export(tmp_path, "mandats_budget_annexe_eau_2024_copie.csv", HEAD + body)
    write_export(tmp_path, "mandats_budget_principal_2024.csv", HEAD
                 + f"2024;30;10/01/2025;{QUINOA};Entretien décembre;900,00\n")
    write_export(tmp_path, "paiements_2025.csv", HEAD + f"2024;30;10/01/2025;{QUINOA};Entretien décembre;900,00\n"
                 + f"2025;1;20/01/2025;{ZORGLUB};Voirie;500,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert (lines["status"] == "duplicate").sum() == 3
    assert ok_total(lines) == Decimal("12650.00")  # 1 250 + 10 000 + 900 + 500


def test_a_corrected_re_export_of_one_named_budget_still_replaces_the_old_one(tmp_path):
    write_export(tmp_path, "mandats_budget_annexe_eau_2024.csv", HEAD + f"2024;12;15/01/2024;{QUINOA};Station;980,00\n")
    write_export(tmp_path, "mandats_budget_annexe_eau_2024_corrige.csv", HEAD
                 + f"2024;12;15/01/2024;{QUINOA};Station;890,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert (lines["row_kind"] == "superseded").sum() == 1 and ok_total(lines) == Decimal("890.00")


def test_budget_names_of_real_exports():
    assert _name_budget("paiements_2024_budget_general.csv") == "budget principal"
    assert _name_budget("mandats_2024_budget_eau.csv") == "budget annexe eau"
    assert _name_budget("BA_eau.csv") == _name_budget("Budget annexe de l'eau 2024.xlsx") == "budget annexe eau"
    assert _other_budgets("paiements_2024_budget_general.csv", "mandats_2024_budget_eau.csv")
    assert _other_budgets("BP_2024.csv", "budget_assainissement_2024.csv")
    assert _other_budgets("budget_assainissement_2024.csv", "SPANC 2024.csv")
    assert _other_budgets("BP 2024.csv", "régie transports 2024.csv")
    assert _other_budgets("mandats_M49_2024.csv", "mandats_budget_principal_2024.csv")
    assert _other_budgets("mandats_CCAS_2024.csv", "mandats_budget_principal_2024.csv")
    assert _other_budgets("budget_01_2024.csv", "budget_02_2024.csv")
    assert _other_budgets("budget_lotissement_les_pins.csv", "budget_eau.csv")
    # the same budget written otherwise, or nothing said: not two budgets
    assert not _other_budgets("budget_principal_2024.csv", "Budget général 2024.csv")
    assert not _other_budgets("budget_de_la_commune_2024.csv", "BP_2024.csv")
    assert not _other_budgets("BA_eau_2024.csv", "budget_annexe_eau_potable_2024.csv")
    assert not _other_budgets("budget_annexe_eau_ordonnateur.csv", "budget_annexe_eau_comptable.csv")
    assert not _other_budgets("M49 2024.csv", "budget annexe assainissement 2024.csv")
    assert not _other_budgets("mandats_2024_01.csv", "mandats_2024_02.csv")  # months, not budget codes
    assert not _other_budgets("mandats_tous_budgets_2024.csv", "mandats_budget_principal_2024.csv")
    assert not _other_budgets("regie_d_avances_2024.csv", "budget_principal_2024.csv")
    assert _name_budget("suivi_budget_2024.csv") is None and _name_budget("factures_eau_2024.csv") is None
