"""Three buyers on Dagster's multiprocess executor, two at a time, one dynamic partition each, and a
national summary (DuckDB ATTACH) that reconciles with each buyer's own figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from achats.pipelines.buyers import BUYERS, SUMMARY_COLUMNS, all_buyers_run_config, run_all_buyers
from tests.conftest import MiniData, luhn_complete, write_csv

ROOT = Path(__file__).resolve().parents[1]
BUYER_KEYS = [luhn_complete(f"2131000{i}") for i in (1, 2, 3)]
LINES = {0: [("ASSOCIATION DES JARDINS", "100")],
         1: [("BOULANGERIE ORDINAIRE", "70"), ("ASSOCIATION DES JARDINS", "30")],
         2: [("BOULANGERIE ORDINAIRE", "12,50"), ("FOURNISSEUR INCONNU", "7")]}


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    shared = MiniData(tmp_path / "commun")
    shared.unit("ASSOCIATION DES JARDINS", cj="9220")
    shared.unit("BOULANGERIE ORDINAIRE", cj="5499")
    shared.write([])
    shutil.rmtree(shared.root / "purchases")
    buyers = tmp_path / "acheteurs"
    for i, siren in enumerate(BUYER_KEYS):
        write_csv(buyers / siren / "purchases" / "achats.csv", ["Fournisseur", "Montant", "Date"],
                  [[n, a, "01/03/2024"] for n, a in LINES[i]], delimiter=";")
        (buyers / siren / "achats.toml").write_text(
            f'[acheteur]\nsiren = "{siren}"\ndepartement = "31"\n\n[controles]\nmax_unmatched_share = 1.0\n',
            encoding="utf-8")
    return buyers, shared.root


def test_three_buyers_two_at_a_time_and_a_summary_that_reconciles(tmp_path):
    buyers, shared = _layout(tmp_path)
    out = tmp_path / "out"
    with dg.instance_for_test() as instance:
        result = run_all_buyers(buyers, shared, out, parallel=2, instance=instance)
        assert result.success
        assert sorted(instance.get_dynamic_partitions(BUYERS.name)) == sorted(BUYER_KEYS)
        spans, pids = {}, {}
        for rec in instance.all_logs(result.run_id):
            ev = rec.dagster_event
            if ev is None or not (ev.step_key or "").startswith("buyer_run["):
                continue
            if ev.event_type_value == "STEP_START":
                spans[ev.step_key] = [rec.timestamp, None]
                pids[ev.step_key] = ev.pid
            elif ev.event_type_value == "STEP_SUCCESS":
                spans[ev.step_key][1] = rec.timestamp
        materialized = instance.get_materialized_partitions(dg.AssetKey("buyer_warehouse"))
    assert len(spans) == 3 and all(end for _, end in spans.values())
    # each buyer in a process of its own, none in this one
    import os

    assert len(set(pids.values())) == 3 and os.getpid() not in pids.values()
    # never more than two buyers at once, and two did run together
    points = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()],
                    key=lambda p: (p[0], p[1]))
    running, most = 0, 0
    for _, step in points:
        running += step
        most = max(most, running)
    assert most == 2
    assert materialized == set(BUYER_KEYS)

    own = {}
    for key in BUYER_KEYS:
        with duckdb.connect(str(out / key / "achats.duckdb"), read_only=True) as con:
            own[key] = con.execute(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM objective8_summary "
                                   "WHERE period = 'ALL'").fetchone()
    assert own[BUYER_KEYS[0]][:2] == (100.0, 100.0)
    assert own[BUYER_KEYS[2]][:2] == (19.5, 0.0)
    with duckdb.connect(str(out / "national.duckdb"), read_only=True) as con:
        per_buyer = {r[0]: r[1:] for r in con.execute(
            f"SELECT buyer_key, {', '.join(SUMMARY_COLUMNS)} FROM buyers_objective8").fetchall()}
        sirens = dict(con.execute("SELECT buyer_key, buyer_siren FROM buyers_objective8").fetchall())
        national = con.execute(f"SELECT buyer_count, {', '.join(SUMMARY_COLUMNS)}, ess_share "
                               "FROM national_objective8").fetchone()
    assert per_buyer == own
    assert sirens == {k: k for k in BUYER_KEYS}
    assert national[0] == 3
    for i, col in enumerate(SUMMARY_COLUMNS):
        if col == "ess_supplier_count":  # distinct SIRENs: JARDINS is paid by two buyers and counts once
            assert national[1 + i] == 1 < sum(own[k][i] for k in BUYER_KEYS)
            continue
        assert national[1 + i] == pytest.approx(sum(own[k][i] for k in BUYER_KEYS), abs=0.001), col
    assert national[1:3] == (219.5, 130.0)
    assert national[-1] == pytest.approx(130.0 / 219.5)


def test_the_buyer_partitions_belong_to_the_definitions():
    from achats.pipelines.definitions import defs

    repo = defs.get_repository_def()
    job = repo.get_job("achats_all_buyers")
    assert job.executor_def.name == "multiprocess"
    for parallel in (1, 3):  # the number of buyers at a time is the run's, not fixed in the job
        config = dg.validate_run_config(job, all_buyers_run_config(Path("a"), Path("b"), Path("c"), parallel))
        assert config["execution"]["multiprocess"]["max_concurrent"] == parallel
    node = repo.asset_graph.get(dg.AssetKey("buyer_warehouse"))
    assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
    assert node.partitions_def.name == "acheteur"
    # the one-buyer jobs leave the buyers' assets alone
    full = repo.get_job("achats_full_run")
    assert not any(k.path[0].startswith("buyer") for k in full.asset_layer.executable_asset_keys)


def _walk(d: dict, path: str):
    for part in path.split("."):
        assert isinstance(d, dict) and part in d, f"{path} : clé « {part} » absente"
        d = d[part]
    return d


def test_kubernetes_deployment_file_is_valid():
    k8s = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "values.yaml").read_text(encoding="utf-8"))
    assert _walk(k8s, "runLauncher.type") == "K8sRunLauncher"
    assert _walk(k8s, "dagsterDaemon.runCoordinator.type") == "QueuedRunCoordinator"
    queue = _walk(k8s, "dagsterDaemon.runCoordinator.config.queuedRunCoordinator")
    assert isinstance(queue["maxConcurrentRuns"], int) and queue["maxConcurrentRuns"] >= 1
    assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in \
        queue["tagConcurrencyLimits"]
    deployment = _walk(k8s, "dagster-user-deployments.deployments")[0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "achats.pipelines.definitions"]
    volumes = {v["name"] for v in deployment["volumes"]}
    mounts = {m["name"]: m for m in deployment["volumeMounts"]}
    assert set(mounts) <= volumes
    assert mounts["referentiel"]["readOnly"] is True and mounts["acheteurs"]["readOnly"] is True
    env = {e["name"]: e["value"] for e in deployment["env"]}
    from achats.pipelines.resources import duckdb_resource

    assert set(env) == {"ACHATS_DUCKDB_THREADS", "ACHATS_DUCKDB_MEMORY_LIMIT", "ACHATS_DUCKDB_TEMP_DIR"}
    import os
    from unittest import mock

    with mock.patch.dict(os.environ, env):
        res = duckdb_resource("/tmp/x.duckdb")
    assert (res.threads, res.memory_limit) == (int(env["ACHATS_DUCKDB_THREADS"]), env["ACHATS_DUCKDB_MEMORY_LIMIT"])
