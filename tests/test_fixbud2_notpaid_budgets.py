"""Adversarial review 17, defects 2 and 3 (cases NPCCAS, NPBA, NPBUDCOL), figures by hand: a row of
« MANDATS ANNULÉS (non payés) » of one budget never takes off another budget's paid mandate of
the same n° (each budget numbers its mandates from 1); a file whose name states no budget is the
principal one (README), never a CCAS or an annexe."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from tests.reader_inputs import counted, read_exports

SAUR = "SAUR;90410003900018"
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant TTC\n"
TOWN = (HEAD + f"2024;7;10/03/2024;{SAUR};eau mairie;2000,00\n"
        "2024;8;10/03/2024;TRANSPORTS PYRENEENS;90410002100008;transport;5000,00\n")
UNPAID = (HEAD + f"2024;1;10/02/2024;{SAUR};eau résidence;800,00\n;;;;;;\n"
          "MANDATS ANNULÉS (non payés);;;;;;\n"
          "Exercice;N° mandat annulé;Date annulation;Fournisseur;SIRET;Motif;Montant annulé\n"
          f"2024;7;20/03/2024;{SAUR};facture erronée;2000,00\n")


def _cancelled(lines: pl.DataFrame, name: str) -> dict:
    return lines.filter((pl.col("source_file").str.ends_with(name)) & (pl.col("source_line") == 6)).row(0, named=True)


@pytest.mark.parametrize("other", ["ccas_mandats_2024.csv", "budget_annexe_eau_2024.csv"])
def test_npccas_a_ccas_or_annexe_unpaid_row_keeps_the_unnamed_towns_payment(tmp_path, other):
    """NPCCAS / NPBA: the town's n° 7 (2 000, file naming no budget) is paid; the CCAS's (or the
    annexe's) n° 7 was never paid: 2 000 + 5 000 + 800 = 7 800 € (published 5 800 €)."""
    lines, _ = read_exports(tmp_path, {"mandats_2024.csv": TOWN, other: UNPAID})
    assert counted(lines) == Decimal("7800.00")
    row = _cancelled(lines, other)
    assert (row["status"], row["row_kind"], row["amount_eur"]) == ("quarantined", "not_paid", Decimal("2000.00"))
    assert f"{other}, ligne 6, champ « N° mandat »" in row["quarantine_reason"]


def test_two_exports_naming_no_budget_still_take_off_the_paid_mandate(tmp_path):
    """Counter-example: two files naming no budget (two exports of one budget): the n° 7 paid in
    one and cancelled in the other is taken off: 7 800 − 2 000 = 5 800 €."""
    lines, _ = read_exports(tmp_path, {"mandats_2024.csv": TOWN, "mandats_2024_s2.csv": UNPAID})
    assert counted(lines) == Decimal("5800.00")
    assert _cancelled(lines, "mandats_2024_s2.csv")["amount_eur"] == Decimal("-2000.00")


BUDGETS = ("Budget;Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant TTC\n"
           f"Budget principal;2024;7;10/03/2024;{SAUR};eau mairie;2000,00\n"
           "Budget principal;2024;8;10/03/2024;TRANSPORTS PYRENEENS;90410002100008;transport;5000,00\n"
           f"Budget annexe eau;2024;1;10/02/2024;{SAUR};exploitation;800,00\n;;;;;;;\n"
           "MANDATS ANNULÉS (non payés);;;;;;;\n"
           "Budget;Exercice;N° mandat annulé;Date annulation;Fournisseur;SIRET;Motif;Montant annulé\n")


def test_npbudcol_an_annexe_unpaid_row_keeps_the_principals_payment_in_one_file(tmp_path):
    """NPBUDCOL: one file with a « Budget » column; the annexe's n° 7 was never paid, the
    principal's n° 7 was: 2 000 + 5 000 + 800 = 7 800 € (published 5 800 €); the row not_paid."""
    text = BUDGETS + f"Budget annexe eau;2024;7;20/03/2024;{SAUR};facture erronée;2000,00\n"
    lines, _ = read_exports(tmp_path, {"mandats_2024.csv": text})
    assert counted(lines) == Decimal("7800.00")
    row = lines.filter(pl.col("source_line") == 8).row(0, named=True)
    assert (row["status"], row["row_kind"], row["amount_eur"]) == ("quarantined", "not_paid", Decimal("2000.00"))
    assert "mandats_2024.csv, ligne 8, champ « N° mandat »" in row["quarantine_reason"]
    assert "budget « Budget annexe eau »" in row["quarantine_reason"]


def test_the_same_budget_cell_still_takes_off_its_paid_mandate(tmp_path):
    """Counter-example: the row names the principal budget: its n° 7 is paid, then cancelled:
    7 800 − 2 000 = 5 800 €."""
    text = BUDGETS + f"Budget principal;2024;7;20/03/2024;{SAUR};facture erronée;2000,00\n"
    lines, _ = read_exports(tmp_path, {"mandats_2024.csv": text})
    assert counted(lines) == Decimal("5800.00")
    assert lines.filter(pl.col("source_line") == 8)["amount_eur"].to_list() == [Decimal("-2000.00")]
