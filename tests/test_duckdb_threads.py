"""DuckDB's threads for a run: one over small inputs, DuckDB's default over large ones, the
environment's setting above both."""

from __future__ import annotations

from pathlib import Path

import pytest

from achats.pipelines.resources import (
    SMALL_INPUTS_BYTES,
    default_threads,
    input_bytes,
    resources_for,
)


def _sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)  # its size without writing it


def _threads(data: Path, tmp_path: Path, shared: Path | None = None) -> int:
    res = resources_for(data, tmp_path / "w.duckdb", tmp_path / "d", shared_dir=shared)["duckdb"]
    con = res.open()
    try:
        setting = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    finally:
        con.close()
    if res.threads:
        assert setting == res.threads
    return res.threads


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("ACHATS_DUCKDB_THREADS", raising=False)


def test_small_inputs_get_one_thread_and_large_ones_duckdbs_default(tmp_path):
    data = tmp_path / "data"
    _sparse(data / "purchases" / "a.csv", SMALL_INPUTS_BYTES - 10)
    _sparse(data / "sirene" / "s.csv", 10)
    assert input_bytes(data) == SMALL_INPUTS_BYTES
    assert _threads(data, tmp_path) == 1
    _sparse(data / "contracts" / "decp.json", 1)  # one byte over: every folder of the buyer counts
    assert _threads(data, tmp_path) == 0


def test_a_shared_stock_counts_only_where_the_buyer_reads_it(tmp_path):
    data, shared = tmp_path / "data", tmp_path / "shared"
    _sparse(data / "purchases" / "a.csv", 1000)
    _sparse(shared / "sirene" / "StockUniteLegale.parquet", 2 * SMALL_INPUTS_BYTES)
    _sparse(shared / "other" / "big.bin", 4 * SMALL_INPUTS_BYTES)  # not read by a run
    assert _threads(data, tmp_path, shared) == 0  # the buyer reads the national stock
    _sparse(data / "sirene" / "own.csv", 1000)
    assert _threads(data, tmp_path, shared) == 1  # its own extract wins over the shared stock
    assert input_bytes(data, shared) == 2000


def test_the_environment_wins(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _sparse(data / "purchases" / "a.csv", 1000)
    monkeypatch.setenv("ACHATS_DUCKDB_THREADS", "2")
    assert _threads(data, tmp_path) == 2
    _sparse(data / "purchases" / "b.csv", 2 * SMALL_INPUTS_BYTES)
    monkeypatch.setenv("ACHATS_DUCKDB_THREADS", "1")
    assert _threads(data, tmp_path) == 1


def test_a_run_opens_its_warehouse_with_the_threads_of_its_inputs(mini, tmp_path, monkeypatch):
    from achats.pipelines.resources import RunDuckDB
    from tests.conftest import run_mini

    seen = []
    original = RunDuckDB.open

    def spy(self):
        con = original(self)
        seen.append(int(con.execute("SELECT current_setting('threads')").fetchone()[0]))
        return con

    monkeypatch.setattr(RunDuckDB, "open", spy)
    _, siret = mini.unit("ASSOCIATION DES AMIS", cj="9220")
    run_mini(mini.write([{"Fournisseur": "ASSOCIATION DES AMIS", "SIRET": siret, "Montant": "100",
                          "Date": "2024-03-01"}]), tmp_path).close()
    assert seen and set(seen) == {1}


def test_a_compressed_file_counts_for_what_it_holds(tmp_path):
    data = tmp_path / "data"
    _sparse(data / "purchases" / "a.csv", 1000)
    _sparse(data / "sirene" / "StockUniteLegale.parquet", SMALL_INPUTS_BYTES // 4)  # ≈ 4 MiB, millions of rows
    assert input_bytes(data) > SMALL_INPUTS_BYTES
    assert _threads(data, tmp_path) == 0
    (data / "sirene" / "StockUniteLegale.parquet").unlink()
    _sparse(data / "sirene" / "StockUniteLegale.csv", SMALL_INPUTS_BYTES // 4)
    assert input_bytes(data) == 1000 + SMALL_INPUTS_BYTES // 4
    assert _threads(data, tmp_path) == 1


def test_a_link_back_up_is_counted_once(tmp_path):
    data = tmp_path / "data"
    _sparse(data / "purchases" / "a.csv", 1000)
    (data / "purchases" / "loop").symlink_to(data, target_is_directory=True)
    assert input_bytes(data) == 1000


# a buyer's sirene/ linked to a national stock (links allowed: [securite] liens_externes,
# --autoriser-liens): the run reads through the link, so its bytes count
def _buyer_linked_to(tmp_path, stock_file: str) -> Path:
    """A buyer whose sirene/ is a link to a national stock of one big file."""
    stock = tmp_path / "national" / "sirene"
    _sparse(stock / stock_file, 50 * SMALL_INPUTS_BYTES)
    data = tmp_path / "buyer"
    _sparse(data / "purchases" / "a.csv", 1000)
    (data / "sirene").symlink_to(stock, target_is_directory=True)
    return data


def test_a_linked_sirene_folder_counts(tmp_path):
    data = _buyer_linked_to(tmp_path, "StockEtablissement_utf8.csv")
    # what the run reads through the link: AchatsInputs.root('sirene') is data/sirene (is_dir() follows it)
    assert input_bytes(data) > SMALL_INPUTS_BYTES, f"counted {input_bytes(data)} bytes"
    assert default_threads(data) == 0


def test_a_linked_sirene_folder_counts_with_a_shared_dir_too(tmp_path):
    data = _buyer_linked_to(tmp_path, "StockUniteLegale_utf8.parquet")
    shared = tmp_path / "shared"
    _sparse(shared / "sirene" / "x.csv", 10)
    # the buyer's own (linked) stock wins over the shared one
    assert default_threads(data, shared) == 0, f"counted {input_bytes(data, shared)} bytes"
