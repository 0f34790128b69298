"""Adversarial review 16, defect 4 (case ANNOF), figures by hand: a « MANDATS ANNULÉS » row whose
mandate is paid in another export of the same exercice (two half-year files) was paid, then
cancelled: it is taken off, not left out as never paid."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import ok_total, write_export

GRILLONS = ("ASSOCIATION LES GRILLONS", "90400001500001")
TRANSPORTS = ("TRANSPORTS PYRENEENS", "90400002300005")
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
S1 = (HEAD + f"2024;12;05/02/2024;{';'.join(GRILLONS)};1000,00\n"
      f"2024;13;05/03/2024;{';'.join(TRANSPORTS)};4000,00\n")
CANCEL = "MANDATS ANNULÉS;;;;;\nExercice;N° mandat annulé;Date annulation;Fournisseur;SIRET;Montant annulé\n"
S2 = HEAD + f"2024;40;05/09/2024;{';'.join(TRANSPORTS)};2000,00\n;;;;;\n" + CANCEL


def _read(root, files: dict[str, str]) -> tuple[pl.DataFrame, str]:
    for name, text in files.items():
        write_export(root, name, text)
    lines, notes = read_purchase_sources(root)
    return lines, "\n".join(n for n in notes["column_note"].to_list() if n)


def _row(lines: pl.DataFrame, name: str, line: int) -> dict:
    return lines.filter(pl.col("source_file").str.ends_with(name) & (pl.col("source_line") == line)).row(0, named=True)


def test_annof_a_mandate_paid_in_the_other_half_year_export_is_taken_off(tmp_path):
    """ANNOF: S1 pays mandate 12 (GRILLONS, 1 000); S2 lists it under « MANDATS ANNULÉS »: by hand
    6 000 € (GRILLONS 0), not 7 000 €; S2's note names S1's line."""
    lines, note = _read(tmp_path, {"mandats_2024_s1.csv": S1,
                                   "mandats_2024_s2.csv": S2 + f"2024;12;20/09/2024;{';'.join(GRILLONS)};1000,00\n"})
    assert ok_total(lines) == Decimal(6000)
    assert ok_total(lines.filter(pl.col("supplier_name") == GRILLONS[0])) == Decimal(0)
    row = _row(lines, "s2.csv", 6)
    assert (row["status"], row["row_kind"], row["amount_eur"]) == ("ok", "data", Decimal("-1000.00"))
    assert "mandats_2024_s2.csv, ligne 6 : mandat annulé (n° « 12 », exercice 2024) payé dans " \
           "purchases/mandats_2024_s1.csv, ligne(s) 2" in note


def test_another_supplier_another_year_or_more_than_paid_in_the_other_export_is_not_taken_off(tmp_path):
    """Counter-examples: the same n° 12 in S1 but cited with TRANSPORTS, or for 2 500 (more than
    the 1 000 paid), or in exercice 2023: none is that mandate; each row stays not_paid: 7 000 €."""
    for k, row in enumerate((f"2024;12;20/09/2024;{';'.join(TRANSPORTS)};1000,00",
                             f"2024;12;20/09/2024;{';'.join(GRILLONS)};2500,00",
                             f"2023;12;20/09/2023;{';'.join(GRILLONS)};1000,00")):
        lines, _ = _read(tmp_path / str(k), {"mandats_2024_s1.csv": S1, "mandats_2024_s2.csv": S2 + row + "\n"})
        assert ok_total(lines) == Decimal(7000), row
        assert _row(lines, "s2.csv", 6)["row_kind"] == "not_paid", row


def test_a_mandate_of_another_budget_file_is_not_taken_off(tmp_path):
    """Counter-example: mandate 12 paid in the principal budget's file, cancelled in the water
    annexe's (each budget numbers its mandates from 1): not that mandate: 7 000 €."""
    lines, _ = _read(tmp_path, {"mandats_2024_budget_principal.csv": S1,
                                "mandats_2024_budget_annexe_eau.csv":
                                    S2 + f"2024;12;20/09/2024;{';'.join(GRILLONS)};1000,00\n"})
    assert ok_total(lines) == Decimal(7000)
