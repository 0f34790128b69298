"""#11 review findings on what a file's name, its dates and its overlap may tell (see README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from achats.sources.purchases import duplicate_warnings, read_purchase_sources

HEADER = "Fournisseur;SIRET;Montant\n"
ROWS = "ALPHA;;100,00\nBETA;;250,50\n"


def _read(tmp_path: Path, name: str, text: str = HEADER + ROWS):
    (tmp_path / "purchases").mkdir(exist_ok=True)
    (tmp_path / "purchases" / name).write_text(text, encoding="utf-8")
    return read_purchase_sources(tmp_path)


@pytest.mark.parametrize("name", ["mandats_extrait_2025-01-15.csv", "export_20250115.csv", "mandats_15-01-2025.csv",
                                  "mandats_2025_01.csv", "extraction du 2025.csv"])
def test_an_extraction_date_in_the_name_is_no_payment_year(tmp_path, name):
    lines, files = _read(tmp_path, name)
    assert lines["fiscal_year"].null_count() == lines.height == 2
    note = files["period_note"][0]
    assert note.startswith(f"purchases/{name} : ") and "« sans date »" in note and "2 lignes" in note
    assert note in duplicate_warnings(files)


@pytest.mark.parametrize(("name", "year"), [("mandats_2024.csv", 2024), ("exercice_2024.csv", 2024),
                                            ("Exercice 2023 - extrait 2024-01-15.csv", 2023),
                                            ("mandats_T1_2024.csv", 2024), ("Année_2022.csv", 2022)])
def test_a_stated_exercice_in_the_name_is_the_year(tmp_path, name, year):
    lines, files = _read(tmp_path, name)
    assert lines["fiscal_year"].to_list() == [year, year] and files["period_note"][0] is None


def test_a_file_with_a_date_column_gets_no_name_warning(tmp_path):
    lines, files = _read(tmp_path, "extrait_2025-01-15.csv",
                         "Fournisseur;Date;Montant\nALPHA;03/02/2024;100,00\nBETA;;250,50\n")
    assert lines["fiscal_year"].to_list() == [2024, None] and files["period_note"][0] is None
