"""A run is a few Dagster steps, not one per table and check: each check is evaluated in the step
that writes its table, each layer of SQL files runs in one step, and a blocking check that fails
in such a step still stops what depends on its table."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from achats.paths import sample_dir
from achats.pipelines.assets import GROUPS, STAGE_ASSETS
from achats.pipelines.checks import ALL_CHECKS, CHECKS
from achats.pipelines.definitions import defs, full_run_job
from achats.pipelines.resources import resources_for
from achats.registry import load_registry

REGISTRY = load_registry()


def test_every_check_is_evaluated_in_the_step_that_writes_its_table():
    job = defs.resolve_job_def(full_run_job.name)
    assert CHECKS == []
    for node in job.graph.node_defs:  # no op made of checks alone
        assert node.name not in {c.name for c in ALL_CHECKS}
    graph = defs.resolve_asset_graph()
    for check in ALL_CHECKS:
        writer = graph.assets_def_for_key(dg.AssetKey(check.asset))
        assert check.key in writer.check_keys, check.name
        spec = writer.get_spec_for_check_key(check.key)
        assert spec.blocking == check.blocking, check.name
    names = {c.name for c in ALL_CHECKS}
    assert {f"{t.name}_matches_registry" for t in REGISTRY.tables.values() if t.name != "mart_quarter_figures"} <= names


def test_a_full_run_has_far_fewer_steps_than_tables():
    job = defs.resolve_job_def(full_run_job.name)
    sql_tables = [t for t in REGISTRY.sql_tables() if t.layer in GROUPS]
    assert len(job.graph.node_defs) < len(sql_tables)
    for layer in GROUPS:  # one multi-asset per layer; Dagster may cut it where another step sits between
        ops = [n for n in job.graph.node_defs if n.name.startswith(f"sql_{layer}")]
        assert 1 <= len(ops) <= len([t for t in sql_tables if t.layer == layer]) // 2 + 1, layer


@pytest.fixture
def warehouse_copy(sample_run, tmp_path) -> Path:
    copy = tmp_path / "copie.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    return copy


def _views_stage() -> dg.AssetsDefinition:
    return next(a for a in STAGE_ASSETS if a.op.name == "sql_views")


def _run(warehouse: Path, tmp_path: Path, *views: str):
    return dg.materialize([_views_stage()], selection=list(views),
                          resources=resources_for(sample_dir(), warehouse, tmp_path / "d"),
                          raise_on_error=False, instance=dg.DagsterInstance.ephemeral())


def test_an_untampered_layer_step_materializes_and_passes_its_checks(warehouse_copy, tmp_path):
    result = _run(warehouse_copy, tmp_path, "purchase_lines", "objective8_by_year")
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"purchase_lines", "objective8_by_year"}
    evaluated = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluated == {"purchase_lines_matches_registry": True, "objective8_by_year_matches_registry": True,
                         "objective8_by_year_adds_up": True, "ess_within_total": True}


def test_a_failed_blocking_check_stops_the_tables_after_it_in_the_same_step(warehouse_copy, tmp_path):
    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("INSERT INTO stg_purchase_lines SELECT * FROM stg_purchase_lines WHERE status = 'ok' LIMIT 1")
    result = _run(warehouse_copy, tmp_path, "purchase_lines", "objective8_by_year")
    assert not result.success
    failed = [e.check_name for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed == ["purchase_lines_matches_registry"]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"purchase_lines"}


def test_the_runs_temporary_warehouse_skips_per_commit_syncs_and_a_plain_one_keeps_them(tmp_path):
    from achats.pipelines.resources import duckdb_resource

    for sync, expected in ((False, "NONE"), (True, "STANDARD")):
        con = duckdb_resource(str(tmp_path / f"w{sync}.duckdb"), sync_each_commit=sync).open()
        try:
            assert con.execute("SELECT current_setting('fsync_mode')").fetchone()[0] == expected
        finally:
            con.close()
