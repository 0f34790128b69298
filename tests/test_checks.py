"""Every check has a case that makes it fail; blocking ones keep the previous warehouse."""

from __future__ import annotations

import hashlib
import shutil

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from achats.paths import sample_dir
from achats.pipelines import checks
from achats.pipelines.cli import RunError, run_pipeline
from achats.pipelines.resources import AchatsInputs
from tests.conftest import run_mini, write_csv


def _tampered(sample_run, tmp_path, *statements: str) -> DuckDBResource:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    with duckdb.connect(str(copy)) as con:
        for stmt in statements:
            con.execute(stmt)
    return DuckDBResource(database=str(copy))


def test_reconciliation_check_fails_on_a_broken_identity(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, "UPDATE mart_objective8_summary SET total_amount_eur = total_amount_eur + 100 "
                                          "WHERE period = 'ALL'")
    result = checks.objective8_reconciles(duckdb=res)
    assert not result.passed and result.metadata["periods_in_error"].value == "ALL"


def test_every_line_resolved_check_fails_when_a_line_is_lost(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, "DELETE FROM res_purchase_line_supplier WHERE line_id = "
                                          "(SELECT min(line_id) FROM res_purchase_line_supplier)")
    assert not checks.every_ok_line_resolved(duckdb=res).passed


def test_line_id_check_fails_on_a_duplicated_id(sample_run, tmp_path):
    res = _tampered(sample_run, tmp_path, "INSERT INTO src_purchase_lines SELECT * FROM src_purchase_lines LIMIT 1")
    assert not checks.purchase_line_ids_unique(duckdb=res).passed


def test_drift_check_warns_with_the_suppliers_that_explain_it(sample_run, tmp_path):
    res = DuckDBResource(database=str(sample_run["warehouse"]))
    strict = checks.ess_share_drift(inputs=AchatsInputs(data_dir=str(sample_dir())), duckdb=res)
    assert not strict.passed and strict.severity == dg.AssetCheckSeverity.WARN
    assert "→" in strict.metadata["moves"].value and "€" in strict.metadata["moves"].value
    lax_dir = tmp_path / "lax"
    lax_dir.mkdir()
    (lax_dir / "achats.toml").write_text("[controles]\ndrift_warning_points = 0.5\n", encoding="utf-8")
    assert checks.ess_share_drift(inputs=AchatsInputs(data_dir=str(lax_dir)), duckdb=res).passed


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_too_many_quarantined_lines_block_the_run(mini, tmp_path):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "abc", "Date": "01/02/2024"},
                       {"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "31/02/2024"},
                       {"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    with pytest.raises(RunError, match="quarantined_share_within_limit"):
        run_mini(data, tmp_path)


def test_too_much_unmatched_spend_blocks_the_run(mini, tmp_path):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"},
                       {"Fournisseur": "QUINCAILLERIE ZEPHYR", "Montant": "1000", "Date": "01/02/2024"}])
    with pytest.raises(RunError, match="unmatched_share_within_limit"):
        run_mini(data, tmp_path)


def test_a_drop_in_line_count_blocks_the_run_and_keeps_the_warehouse(mini, tmp_path):
    mini.unit("FOURNISSEUR A", cj="5710")
    lines = [{"Fournisseur": "FOURNISSEUR A", "Montant": str(10 + i), "Date": "01/02/2024"} for i in range(10)]
    data = mini.write(lines)
    wh = tmp_path / "wh" / "w.duckdb"
    run_pipeline(data, wh, tmp_path / "d")
    before = _digest(wh)
    mini.write(lines[:4])  # a drop of 60 %, over the default limit of 50 %
    with pytest.raises(RunError, match="line_count_vs_previous_run"):
        run_pipeline(data, wh, tmp_path / "d")
    assert _digest(wh) == before


def test_invalid_sirene_blocks_the_run(mini, tmp_path):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    write_csv(data / "sirene" / "StockUniteLegale_bad.csv", ["siren", "denominationUniteLegale"],
              [[f"{i:09d}1"[:9], f"X{i}"] for i in range(1, 40)])
    with pytest.raises(RunError, match="sirene_schema"):
        run_mini(data, tmp_path)


def test_unreadable_status_lists_block_the_run(mini, tmp_path):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}],
                      esus=[{"siren": "123", "raison_sociale": "X", "date_agrement": "bientôt"}] * 5)
    with pytest.raises(RunError, match="status_lists_schema"):
        run_mini(data, tmp_path)
