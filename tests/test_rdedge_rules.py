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


def _esus(tmp_path: Path, rows: str):
    from achats.sources.status import read_esus

    (tmp_path / "status").mkdir(exist_ok=True)
    (tmp_path / "status" / "esus_liste.csv").write_text("siren,raison_sociale,date_agrement,date_fin_agrement\n"
                                                        + rows, encoding="utf-8")
    return read_esus(tmp_path)


def test_esus_month_first_list_is_read_month_first(tmp_path):
    ok, bad = _esus(tmp_path, "552100554,A,03/15/2022,\n356000000,B,04/01/2023,03/31/2028\n")
    assert bad.height == 0
    assert [str(d) for d in ok["date_agrement"]] == ["2022-03-15", "2023-04-01"]
    assert [str(d) for d in ok["date_fin_agrement"]] == ["2027-03-14", "2028-03-31"]


def test_esus_list_proving_both_orders_quarantines_the_undecidable_cell(tmp_path):
    ok, bad = _esus(tmp_path, "552100554,A,15/03/2022,\n356000000,B,03/16/2023,\n443061841,C,04/01/2023,\n")
    assert ok["siren"].to_list() == ["552100554", "356000000"]
    assert bad["reason"].to_list() == [
        "status/esus_liste.csv, ligne 3, champ « date_agrement » : date « 04/01/2023 » ambiguë : ce fichier écrit "
        "des dates jour/mois (« 15/03/2022 ») et mois/jour (« 03/16/2023 »), l'ordre du jour et du mois ne peut "
        "être décidé"]
