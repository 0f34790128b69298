"""Adversarial review 16, defects 3 and 8 (cases REGIE, RT6, RT3, RECNP), figures by hand: a
table under the detail is a recap by supplier only when it looks like one (a count column or a
recap title, else rows that each repeat their supplier's sum); a table of payments (« DÉPENSES
PAYÉES PAR LA RÉGIE », an « Objet » column, sums that differ) is never taken for totals."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from achats.errors import InputError
from tests.reader_inputs import ok_total, read_with_notes

GRILLONS = ("ASSOCIATION LES GRILLONS", "90400001500001")
TRANSPORTS = ("TRANSPORTS PYRENEENS", "90400002300005")
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
PAID = (HEAD + f"2024;1;05/02/2024;{';'.join(GRILLONS)};1000,00\n"
        f"2024;2;05/03/2024;{';'.join(TRANSPORTS)};4000,00\n;;;;;\n")
DETAIL = (HEAD + f"2024;1;05/02/2024;{';'.join(GRILLONS)};1000,00\n"
          f"2024;2;05/03/2024;{';'.join(GRILLONS)};2000,00\n"
          f"2024;3;05/04/2024;{';'.join(TRANSPORTS)};4000,00\n;;;;;\n")


def _kind(lines: pl.DataFrame, line: int) -> tuple[str, str]:
    row = lines.filter(pl.col("source_line") == line).row(0, named=True)
    return row["status"], row["row_kind"]


def test_regie_a_table_of_payments_is_no_recap_and_stops_the_run(tmp_path):
    """REGIE: « DÉPENSES PAYÉES PAR LA RÉGIE D'AVANCES », « Fournisseur;SIRET;Objet;Montant total »:
    the 1 000 € membership equal to GRILLONS' sum above is a payment, not a total (by hand 6 250 €).
    Its columns are not under the first header's: it cannot be read with their meaning, so the run
    stops naming the file, the line and the header, rather than publish 5 000 €."""
    text = PAID + "DÉPENSES PAYÉES PAR LA RÉGIE D'AVANCES;;;;;\nFournisseur;SIRET;Objet;Montant total\n" + \
        f"{';'.join(GRILLONS)};adhésion 2024;1000,00\n{';'.join(TRANSPORTS)};navette;250,00\n"
    with pytest.raises(InputError, match=r"mandats\.csv, ligne 6 : un second tableau commence.*"
                                         r"Fournisseur \| SIRET \| Objet \| Montant total.*"
                                         r"ce n'est pas un récapitulatif par fournisseur"):
        read_with_notes(tmp_path, "mandats.csv", text)
    # no title, the « Objet » column alone says payments
    text = PAID + "Fournisseur;SIRET;Objet;Montant total\n" + \
        f"{';'.join(GRILLONS)};adhésion 2024;1000,00\n{';'.join(TRANSPORTS)};navette;250,00\n"
    with pytest.raises(InputError, match=r"mandats\.csv, ligne 5 : un second tableau commence"):
        read_with_notes(tmp_path / "b", "mandats.csv", text)


def test_a_recap_title_still_makes_the_same_rows_totals(tmp_path):
    """Counter-example: the same rows under « RÉCAPITULATIF PAR FOURNISSEUR » with « Montant
    total »: a recap; 1 000 is GRILLONS' sum (total), 250 is not (quarantined with both amounts)."""
    text = PAID + "RÉCAPITULATIF PAR FOURNISSEUR;;;;;\nFournisseur;SIRET;Montant total\n" + \
        f"{';'.join(GRILLONS)};1000,00\n{';'.join(TRANSPORTS)};4000,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(5000)
    assert [_kind(lines, n) for n in (7, 8)] == [("quarantined", "total")] * 2


def test_montant_total_with_a_sum_that_differs_is_no_recap(tmp_path):
    """Untitled « Fournisseur;SIRET;Montant total » whose 250 € row is not TRANSPORTS' sum (4 000):
    some rows match sums and others do not, so it is no recap: the run stops naming the line."""
    text = PAID + "Fournisseur;SIRET;Montant total\n" + \
        f"{';'.join(GRILLONS)};1000,00\n{';'.join(TRANSPORTS)};250,00\n"
    with pytest.raises(InputError, match=r"mandats\.csv, ligne 5 : un second tableau commence"):
        read_with_notes(tmp_path, "mandats.csv", text)


def test_rt6_an_untitled_second_table_with_its_own_header_stops_the_run(tmp_path):
    """RT6: « Fournisseur;SIRET;Montant TTC » (500 and 250, no supplier's sum) under the detail,
    its columns not under the first header's: it stops naming the line, as the README says; its
    rows were quarantined as « montant manquant ; ni fournisseur ni SIRET »."""
    text = DETAIL + f"Fournisseur;SIRET;Montant TTC;;;\n{';'.join(GRILLONS)};500,00;;;\n" \
        f"{';'.join(TRANSPORTS)};250,00;;;\n"
    with pytest.raises(InputError, match=r"mandats\.csv, ligne 6 : un second tableau commence, avec son propre "
                                         r"en-tête \(« Fournisseur \| SIRET \| Montant TTC »\)"):
        read_with_notes(tmp_path, "mandats.csv", text)


def test_rt3_an_untitled_recap_whose_rows_repeat_each_sum_is_total_rows(tmp_path):
    """RT3: an untitled « Fournisseur;SIRET;Montant » whose rows are 3 000 and 4 000, each
    supplier's sum above: total rows, outside the quarantine share; 7 000 € counted. They were
    quarantined data lines (« 3 champs au lieu de 6 »)."""
    text = DETAIL + f"Fournisseur;SIRET;Montant\n{';'.join(GRILLONS)};3000,00\n{';'.join(TRANSPORTS)};4000,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(7000)
    assert [_kind(lines, n) for n in (6, 7, 8)] == [("quarantined", "header"), ("quarantined", "total"),
                                                    ("quarantined", "total")]
    # a single row equal to a sum, untitled and without « total », is not enough: it stops
    text = DETAIL + f"Fournisseur;SIRET;Montant\n{';'.join(GRILLONS)};3000,00\n"
    with pytest.raises(InputError, match=r"mandats\.csv, ligne 6 : un second tableau commence"):
        read_with_notes(tmp_path / "b", "mandats.csv", text)


def test_recnp_a_recap_of_paid_sums_beside_mandated_ones_is_checked_on_the_paid_sum(tmp_path):
    """RECNP: « Nombre de mandats;Montant mandaté;Montant payé », GRILLONS 3 000 mandated (with an
    unpaid 2 000) and 1 000 paid: its paid sum is the sum of its paid lines, so a total row (it was
    quarantined, « 3 000,00 € … n'est pas la somme »)."""
    head = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC;Montant payé\n"
    text = head + f"2024;1;05/02/2024;{';'.join(GRILLONS)};1000,00;1000,00\n" \
        f"2024;2;05/03/2024;{';'.join(GRILLONS)};2000,00;\n" \
        f"2024;3;05/04/2024;{';'.join(TRANSPORTS)};4000,00;4000,00\n;;;;;;\nRÉCAPITULATIF PAR FOURNISSEUR;;;;;;\n" \
        "Fournisseur;SIRET;Nombre de mandats;Montant mandaté;Montant payé;;\n" \
        f"{';'.join(GRILLONS)};2;3000,00;1000,00;;\n{';'.join(TRANSPORTS)};1;4000,00;4000,00;;\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(5000)
    assert [_kind(lines, n) for n in (8, 9)] == [("quarantined", "total")] * 2
    assert "son montant (1 000,00 €) est la somme des 1 ligne(s)" in \
        lines.filter(pl.col("source_line") == 8)["quarantine_reason"].item()


def test_regie_under_the_first_header_columns_is_read_as_payments(tmp_path):
    """REGIE's table written under the first header's columns (Fournisseur, SIRET and amount where
    the detail has them, an Exercice on each row): a second table of payments, read with that meaning: the
    1 000 € membership and the 250 € shuttle both count, by hand 6 250 € (GRILLONS 2 000 €)."""
    text = PAID + "DÉPENSES PAYÉES PAR LA RÉGIE D'AVANCES;;;;;\n;;;Fournisseur;SIRET;Montant total\n" + \
        f"2024;;;{';'.join(GRILLONS)};1000,00\n2024;;;{';'.join(TRANSPORTS)};250,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(6250)
    assert ok_total(lines.filter(pl.col("supplier_name") == GRILLONS[0])) == Decimal(2000)
    assert [_kind(lines, n) for n in (7, 8)] == [("ok", "data")] * 2
