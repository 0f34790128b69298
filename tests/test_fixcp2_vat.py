"""Adversarial review 16, defect 7 (case TVA7): a « TVA » column in euros below 2,1 % of its HT
(partly exempt invoices, typical of an association) was read as rates with no doubt said: 8 955 €
counted where the euros give 8 035,50 €. Values alone cannot tell a rate from such an amount: the
rate reading stays, and every value that could be a VAT amount (at most 20 % of its HT) is said
« À VÉRIFIER » with both totals."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import accounted, counted, read_exports

T, TS = "TRANSPORTS PYRENEENS", "90400002300005"
G, GS = "ASSOCIATION LES GRILLONS", "90400001500001"
TVA7 = ("Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
        f"2024;1;05/02/2024;{G};{GS};2000,00;20,00\n2024;2;06/02/2024;{G};{GS};5000,00;10,00\n"
        f"2024;3;07/02/2024;{T};{TS};1000,00;5,50\n")


def _notes(files: pl.DataFrame) -> str:
    return "\n".join(n for n in files["column_note"].to_list() if n)


def test_tva7_small_vat_amounts_are_said_with_both_totals(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats.csv": TVA7})
    accounted(lines, files)
    # as rates: 2 000 × 1,2 + 5 000 × 1,1 + 1 000 × 1,055
    assert counted(lines) == Decimal("8955.00")
    notes = _notes(files)
    assert "À VÉRIFIER" in notes and "« TVA »" in notes and "en partie exonérée" in notes
    # by hand, as euros: 2 020 + 5 010 + 1 005,50
    assert "ces lignes comptent 8 955,00 €" in notes and "elles compteraient 8 035,50 €" in notes
    assert 'montant_tva = "TVA"' in notes


def test_tva7_named_as_euros_counts_the_hand_total(tmp_path):
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "mandats.csv").write_text(TVA7, encoding="utf-8")
    lines, files = read_purchase_sources(tmp_path, {"amount_vat": "TVA"})
    assert counted(lines) == Decimal("8035.50") and "À VÉRIFIER" not in _notes(files)


def test_a_value_above_a_fifth_of_its_ht_still_leaves_no_doubt(tmp_path):
    """20,00 beside 50,00 HT (40 %) is no VAT amount: the whole column is rates, nothing to check."""
    text = TVA7 + f"2024;4;09/02/2024;{T};{TS};50,00;20,00\n"
    lines, files = read_exports(tmp_path, {"mandats.csv": text})
    assert counted(lines) == Decimal("9015.00")
    assert "donne un taux de TVA" in _notes(files) and "À VÉRIFIER" not in _notes(files)
