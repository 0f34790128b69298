"""ref_town and ref_ordinary_word from their precomputed files: the same tables as their SQL
computes, read only under the fingerprint of the current inputs and code."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from achats import reference_cache, warehouse
from achats.paths import reference_dir
from achats.reference_cache import CACHED, cache_path, fingerprint, load_cached, write_cached
from achats.warehouse import load_reference


def _rows(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return sorted(con.execute(f'SELECT * FROM "{name}"').fetchall())


@pytest.fixture(scope="module")
def computed() -> dict[str, list[tuple]]:
    """Every cached table as its SQL computes it from the shipped nomenclatures."""
    con = duckdb.connect()
    load_reference(con, use_cache=False)
    return {name: _rows(con, name) for name in CACHED}


@pytest.mark.parametrize("name", list(CACHED))
def test_the_shipped_file_is_what_the_sql_computes_from_the_shipped_inputs(name, computed):
    con = duckdb.connect()
    saved = con.execute("SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = 'fingerprint'",
                        [str(cache_path(name))]).fetchall()
    assert saved == [(fingerprint(name),)], (
        f"{cache_path(name).name} was computed from other inputs or another SQL: run `python -m achats.reference_cache`")
    assert load_cached(con, name)
    assert _rows(con, name) == computed[name]
    assert len(computed[name]) > 1000


def test_a_run_reads_the_files_and_gets_the_same_tables(computed, monkeypatch):
    used = []
    original = reference_cache.load_cached
    monkeypatch.setattr(reference_cache, "load_cached", lambda con, name: used.append(name) or original(con, name))
    con = duckdb.connect()
    counts = load_reference(con)
    assert used == list(CACHED)
    for name in CACHED:
        assert _rows(con, name) == computed[name]
        assert counts[name] == len(computed[name])
    # the declared comments are written on a table read from its file too
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'ref_town'").fetchall()[0][0]


@pytest.fixture
def ref_copy(tmp_path, monkeypatch):
    shutil.copytree(reference_dir(), tmp_path / "reference")
    monkeypatch.setattr(reference_cache, "reference_dir", lambda: tmp_path / "reference")
    return tmp_path / "reference"


def _rewrite(path, rows_sql: str, print_fp: str) -> None:
    con = duckdb.connect()
    con.execute(f"COPY ({rows_sql}) TO '{path}' (FORMAT parquet, KV_METADATA {{fingerprint: '{print_fp}'}})")


def test_under_the_right_fingerprint_the_file_is_read_as_it_is(ref_copy):
    """What keeps the file right is the first test: a run trusts a file of the right fingerprint."""
    _rewrite(cache_path("ref_town", ref_copy), "SELECT 'NULLEPART' AS town, '99' AS departement_code",
             fingerprint("ref_town", ref_copy))
    con = duckdb.connect()
    assert load_cached(con, "ref_town")
    assert con.execute("SELECT * FROM ref_town").fetchall() == [("NULLEPART", "99")]


@pytest.mark.parametrize("spoil", ["other fingerprint", "no fingerprint", "damaged", "missing", "input changed"])
def test_a_file_of_other_inputs_or_unreadable_is_left_and_the_sql_computes_the_table(ref_copy, computed, spoil):
    path = cache_path("ref_ordinary_word", ref_copy)
    if spoil == "other fingerprint":
        _rewrite(path, "SELECT 'FAUX' AS stem", "0" * 64)
    elif spoil == "no fingerprint":
        duckdb.connect().execute(f"COPY (SELECT 'FAUX' AS stem) TO '{path}' (FORMAT parquet)")
    elif spoil == "damaged":
        path.write_bytes(path.read_bytes()[:1000])
    elif spoil == "missing":
        path.unlink()
    else:  # a new CPV file: the shipped file no longer says what the SQL would compute
        before = fingerprint("ref_ordinary_word", ref_copy)
        with open(ref_copy / "cpv_2008_fr.csv", "a", encoding="utf-8") as f:
            f.write('99999999-9,"Zorglubs intergalactiques"\n')
        assert fingerprint("ref_ordinary_word", ref_copy) != before
    con = duckdb.connect()
    assert not load_cached(con, "ref_ordinary_word")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ref_ordinary_word'").fetchall() == [(0,)]
    load_reference(con)  # the run then computes it (from the shipped inputs: the copy only misleads the cache)
    assert _rows(con, "ref_ordinary_word") == computed["ref_ordinary_word"]


def _stems(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT stem FROM ref_ordinary_word").fetchall()}


def test_written_from_another_reference_folder_the_file_holds_that_folders_table(ref_copy, monkeypatch):
    """Review 17: write_cached(ref) fingerprinted `ref`'s files but computed from the shipped
    folder, and a run over `ref` then trusted a stale table."""
    with open(ref_copy / "cpv_2008_fr.csv", "a", encoding="utf-8") as f:
        f.write('99999999-9,"Zorglubs intergalactiques"\n')
    write_cached(ref_copy)
    monkeypatch.setattr(warehouse, "reference_dir", lambda: ref_copy)  # a run whose folder is the copy
    computed = duckdb.connect()
    load_reference(computed, use_cache=False)
    assert "ZORGLUB" in _stems(computed)
    cached = duckdb.connect()
    assert load_cached(cached, "ref_ordinary_word")
    assert _stems(cached) == _stems(computed)


def test_written_in_a_folder_with_an_apostrophe(tmp_path):
    """Review 17: `python -m achats.reference_cache` in « Achats de l'année/ » (the path went into
    COPY … TO '<path>' as text)."""
    ref = tmp_path / "Achats de l'année" / "reference"
    shutil.copytree(reference_dir(), ref)
    written = write_cached(ref)
    assert [p.name for p in written] == ["ref_town.parquet", "ref_ordinary_word.parquet"]
