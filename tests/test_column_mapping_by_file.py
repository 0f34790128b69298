"""[colonnes."motif"]: a buyer with two export shapes (this year's and last year's software) maps
each one's headers; [colonnes] alone applies to every file and stops the run on a file that lacks
a named header. Figures are computed by hand from the cells."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from achats.config import load_settings
from achats.errors import InputError
from achats.sources.purchases import ReadOptions, read_purchase_sources
from tests.reader_inputs import ok_total, write_export

# this year's export: the amount is « Somme payée » (the reader would not take it by itself
# beside « Montant engagé »)
NEW = ("Date;Créancier;SIRET;Montant engagé;Somme payée\n"
       "15/01/2024;ZORGLUB;81234568400003;9 999,00;1 000,00\n"
       "16/01/2024;QUINOA;81234567600009;9 999,00;250,50\n")
# last year's: « Mt réglé » beside « Mt HT »
OLD = ("Date;Tiers;SIRET;Mt HT;Mt réglé\n"
       "15/01/2023;ZORGLUB;81234568400003;100,00;120,00\n")


def _options(root: Path) -> ReadOptions:
    s = load_settings(root)
    return ReadOptions(s.column_mapping, by_file=s.column_mapping_by_file)


def _toml(root: Path, text: str) -> None:
    (root / "achats.toml").write_text(text, encoding="utf-8")


def test_each_export_shape_reads_its_own_headers(tmp_path):
    write_export(tmp_path, "export_2024.csv", NEW)
    write_export(tmp_path, "Ancien/EXPORT_2023.csv", OLD)
    _toml(tmp_path, '[colonnes]\nmontant = "Somme payée"\n\n'
                    '[colonnes."export_2023*.csv"]\nmontant = "Mt réglé"\nfournisseur = "Tiers"\n')
    lines, _ = read_purchase_sources(tmp_path, options=_options(tmp_path))
    # 1 000,00 + 250,50 (Somme payée) + 120,00 (Mt réglé; the file's name matched without case)
    assert ok_total(lines) == Decimal("1370.50")
    assert sorted(lines["amount_eur"].cast(str).to_list()) == ["1000.00", "120.00", "250.50"]
    # the run's loader passes the sections to the reader
    import duckdb

    from achats import warehouse as wh

    loaded = wh.load_purchases(duckdb.connect(), tmp_path, load_settings(tmp_path))
    assert ok_total(loaded) == Decimal("1370.50")


def test_without_its_own_section_the_other_export_stops_the_run(tmp_path):
    write_export(tmp_path, "export_2024.csv", NEW)
    write_export(tmp_path, "export_2023.csv", OLD)
    _toml(tmp_path, '[colonnes]\nmontant = "Somme payée"\n')
    with pytest.raises(InputError, match=r"export_2023\.csv.*montant = « Somme payée »") as err:
        read_purchase_sources(tmp_path, options=_options(tmp_path))
    assert 'une section [colonnes."export_2023.csv"]' in str(err.value)  # the way out, named


def test_a_file_section_naming_an_absent_header_is_named_in_the_error(tmp_path):
    write_export(tmp_path, "Ancien/export (1).csv", OLD)
    _toml(tmp_path, '[colonnes."export (1).csv"]\nmontant = "Mt payé"\n')
    with pytest.raises(InputError) as err:
        read_purchase_sources(tmp_path, options=_options(tmp_path))
    msg = str(err.value)
    assert 'purchases/Ancien/export (1).csv : achats.toml [colonnes."export (1).csv"] montant = « Mt payé »' in msg
    assert "« Mt HT », « Mt réglé »" in msg and "donnez à ce fichier" not in msg


def test_a_section_replaces_colonnes_for_its_files_only(tmp_path):
    """The [colonnes] header « Somme payée » is absent from the old export: with its own section
    it is not required there, and still required (and followed) in the others."""
    write_export(tmp_path, "export_2024.csv", NEW)
    write_export(tmp_path, "export_2023.csv", OLD)
    _toml(tmp_path, '[colonnes]\nmontant = "Somme payée"\n\n[colonnes."export_2023.csv"]\nmontant = "Mt HT"\n')
    lines, _ = read_purchase_sources(tmp_path, options=_options(tmp_path))
    assert ok_total(lines) == Decimal("1350.50")


def test_a_pattern_naming_no_file_is_warned(tmp_path):
    write_export(tmp_path, "export_2024.csv", NEW)
    _toml(tmp_path, '[colonnes."exprot_2023*.csv"]\nmontant = "Mt réglé"\n')
    warnings = load_settings(tmp_path).warnings
    assert any('[colonnes."exprot_2023*.csv"] ne désigne aucun fichier' in w for w in warnings), warnings


def test_two_sections_naming_one_file_stop_with_both_named(tmp_path):
    write_export(tmp_path, "export_2023.csv", OLD)
    _toml(tmp_path, '[colonnes."export_*.csv"]\nmontant = "Mt HT"\n\n[colonnes."*2023*"]\nmontant = "Mt réglé"\n')
    with pytest.raises(InputError) as err:
        read_purchase_sources(tmp_path, options=_options(tmp_path))
    msg = str(err.value)
    assert "purchases/export_2023.csv" in msg
    assert '[colonnes."export_*.csv"]' in msg and '[colonnes."*2023*"]' in msg


def test_a_bad_key_in_a_file_section_is_named_with_its_section(tmp_path):
    write_export(tmp_path, "export_2023.csv", OLD)
    _toml(tmp_path, '[colonnes."export_2023.csv"]\nmontant = 12\n')
    with pytest.raises(InputError, match=r'\[colonnes\."export_2023\.csv"\] montant : l\'en-tête doit être un texte'):
        load_settings(tmp_path)
