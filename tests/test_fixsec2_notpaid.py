"""Adversarial review 16, defect 5 (case NPOVER), figures by hand: a row of « MANDATS ANNULÉS (non
payés) » takes off a paid mandate only when it is that mandate: same n° and exercice, same
supplier (SIREN, else name) and an amount not above the mandate's."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from tests.reader_inputs import ok_total, read_with_notes

GRILLONS = ("ASSOCIATION LES GRILLONS", "90400001500001")
TRANSPORTS = ("TRANSPORTS PYRENEENS", "90400002300005")
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
PAID = (HEAD + f"2024;1;05/02/2024;{';'.join(GRILLONS)};1000,00\n"
        f"2024;2;05/03/2024;{';'.join(TRANSPORTS)};4000,00\n;;;;;\n"
        "MANDATS ANNULÉS (non payés);;;;;\n"
        "Exercice;N° mandat annulé;Date annulation;Fournisseur;SIRET;Montant annulé\n")


def _row(lines: pl.DataFrame, line: int) -> dict:
    return lines.filter(pl.col("source_line") == line).row(0, named=True)


def test_npover_a_cited_mandate_of_another_supplier_is_not_taken_off(tmp_path):
    """NPOVER: n° 1 is paid to GRILLONS (1 000); the row cites n° 1 with TRANSPORTS' SIRET and
    2 500: not that mandate, never paid: by hand 5 000 € (published 2 500 €), the row not_paid."""
    text = PAID + f"2024;1;20/03/2024;{';'.join(TRANSPORTS)};2500,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(5000)
    row = _row(lines, 7)
    assert (row["status"], row["row_kind"], row["amount_eur"]) == ("quarantined", "not_paid", Decimal("2500.00"))
    assert "mandats.csv, ligne 7, champ « N° mandat » : « 1 »" in row["quarantine_reason"]
    assert "payé à un autre fournisseur" in row["quarantine_reason"]


def test_a_cited_mandate_of_the_same_supplier_for_more_than_it_was_paid_is_not_taken_off(tmp_path):
    """The same supplier (GRILLONS) but 2 500 cancelled on a mandate of 1 000: not that mandate."""
    text = PAID + f"2024;1;20/03/2024;{';'.join(GRILLONS)};2500,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(5000)
    row = _row(lines, 7)
    assert (row["status"], row["row_kind"]) == ("quarantined", "not_paid")
    assert "moins que le montant annulé" in row["quarantine_reason"]


def test_the_same_supplier_by_siren_or_by_name_is_still_taken_off(tmp_path):
    """Counter-examples: n° 1 cited with GRILLONS' SIREN only (1 000) and n° 2 with TRANSPORTS'
    name and no SIRET, partly (1 500 of 4 000): both taken off: 5 000 − 1 000 − 1 500 = 2 500 €."""
    text = PAID + f"2024;1;20/03/2024;{GRILLONS[0]};904000015;1000,00\n" \
        f"2024;2;21/03/2024;{TRANSPORTS[0]};;1500,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(2500)
    assert [(_row(lines, n)["status"], _row(lines, n)["amount_eur"]) for n in (7, 8)] == \
        [("ok", Decimal("-1000.00")), ("ok", Decimal("-1500.00"))]


def test_a_credit_citing_a_mandate_of_another_supplier_still_counts_and_warns(tmp_path):
    """Under « ANNULATIONS ET RÉDUCTIONS » (credits on paid mandates) a row citing n° 1 with
    TRANSPORTS (n° 1 is GRILLONS') still counts −500 (4 500 €), with a warning naming the file,
    the field and the line: the n° it cites is not its mandate."""
    text = PAID.replace("MANDATS ANNULÉS (non payés)", "ANNULATIONS ET RÉDUCTIONS") + \
        f"2024;1;20/03/2024;{';'.join(TRANSPORTS)};500,00\n"
    lines, note = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(4500)
    assert "mandats.csv, champ « N° mandat » : 1 annulation(s) du second tableau de la ligne 6 citent un n° que " \
           "ce fichier paie à un autre fournisseur ou pour moins que le montant annulé (ligne 7 (n° « 1 »))" in note
