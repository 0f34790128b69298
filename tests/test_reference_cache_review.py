"""Review 17: reference_cache.write_cached(ref) fingerprints `ref`'s files but computes the tables
from the shipped reference_dir() (load_reference ignores `ref`): the file it writes claims inputs
it was not computed from, and a run over those inputs then reads a stale table."""

from __future__ import annotations

import shutil

import duckdb

from achats import paths, reference_cache, warehouse
from achats.reference_cache import cache_path, write_cached
from achats.warehouse import load_reference


def _stems(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT stem FROM ref_ordinary_word").fetchall()}


def test_write_cached_of_another_reference_dir_computes_from_that_dir(tmp_path, monkeypatch):
    ref = tmp_path / "reference"
    shutil.copytree(paths.reference_dir(), ref)
    with open(ref / "cpv_2008_fr.csv", "a", encoding="utf-8") as f:
        f.write('99999999-9,"Zorglubs intergalactiques"\n')
    write_cached(ref)  # the public API: "compute every cached table ... and write it with its fingerprint"

    # a run whose reference folder is `ref` (as in a wheel or a checkout holding this CPV file)
    monkeypatch.setattr(warehouse, "reference_dir", lambda: ref)
    monkeypatch.setattr(reference_cache, "reference_dir", lambda: ref)
    computed = duckdb.connect()
    load_reference(computed, use_cache=False)
    assert "ZORGLUB" in _stems(computed)  # what the SQL computes from these inputs

    cached = duckdb.connect()
    assert reference_cache.load_cached(cached, "ref_ordinary_word")  # fingerprint accepted ...
    # ... for a table computed from the shipped CPV file: expected the same stems, got no ZORGLUB
    assert _stems(cached) == _stems(computed), f"stale {cache_path('ref_ordinary_word', ref)}"


def test_write_cached_in_a_folder_with_an_apostrophe(tmp_path):
    """`python -m achats.reference_cache` in a checkout under « Achats de l'année/ »: the path is
    formatted into COPY ... TO '<path>' instead of passed as a parameter. Expected the two files
    written; got duckdb.ParserException."""
    ref = tmp_path / "Achats de l'année" / "reference"
    shutil.copytree(paths.reference_dir(), ref)
    written = write_cached(ref)
    assert [p.name for p in written] == ["ref_town.parquet", "ref_ordinary_word.parquet"]
