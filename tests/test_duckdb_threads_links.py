"""Review 17: input_bytes does not follow a linked folder (os.walk's default), so a buyer whose
sirene/ is a link to a national stock (links allowed: [securite] liens_externes, --autoriser-liens)
counts that stock as 0 bytes and runs DuckDB in one thread over gigabytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from achats.pipelines.resources import SMALL_INPUTS_BYTES, default_threads, input_bytes


def _sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("ACHATS_DUCKDB_THREADS", raising=False)


def test_a_linked_sirene_folder_counts(tmp_path):
    stock = tmp_path / "national" / "sirene"
    _sparse(stock / "StockEtablissement_utf8.csv", 50 * SMALL_INPUTS_BYTES)
    data = tmp_path / "buyer"
    _sparse(data / "purchases" / "a.csv", 1000)
    (data / "sirene").symlink_to(stock, target_is_directory=True)
    # what the run reads through the link: AchatsInputs.root('sirene') is data/sirene (is_dir() follows it)
    assert input_bytes(data) > SMALL_INPUTS_BYTES, f"counted {input_bytes(data)} bytes"
    assert default_threads(data) == 0


def test_a_linked_sirene_folder_counts_with_a_shared_dir_too(tmp_path):
    stock = tmp_path / "national" / "sirene"
    _sparse(stock / "StockUniteLegale_utf8.parquet", 50 * SMALL_INPUTS_BYTES)
    shared = tmp_path / "shared"
    _sparse(shared / "sirene" / "x.csv", 10)
    data = tmp_path / "buyer"
    _sparse(data / "purchases" / "a.csv", 1000)
    (data / "sirene").symlink_to(stock, target_is_directory=True)  # the buyer's own (linked) stock wins
    assert default_threads(data, shared) == 0, f"counted {input_bytes(data, shared)} bytes"
