"""Partitions, schedule and sensor, with Dagster's own test utilities."""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from achats.paths import sample_dir
from achats.pipelines.checks import CHECKS
from achats.pipelines.definitions import ALL_ASSETS, defs
from achats.pipelines.operations import previous_quarter_key, quarter_label
from achats.pipelines.resources import AchatsInputs, resources_for

PARIS = ZoneInfo("Europe/Paris")


def test_schedule_runs_the_quarter_that_just_closed():
    schedule = defs.get_schedule_def("achats_quarter_closed")
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 5, 6, tzinfo=PARIS))
    request = schedule(ctx)
    assert request.partition_key == "2025-10-01" and request.tags["trimestre"] == "2025-Q4"
    assert schedule.cron_schedule == "0 6 5 1,4,7,10 *"
    assert previous_quarter_key(dt.datetime(2025, 7, 5)) == "2025-04-01"
    assert previous_quarter_key(dt.datetime(2025, 4, 1)) == "2025-01-01"
    assert quarter_label("2025-04-01") == "2025-Q2"


def test_sensor_starts_a_run_for_a_new_or_changed_export_only(tmp_path):
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "a.csv").write_text("Fournisseur;Montant\nA;1\n", encoding="utf-8")
    sensor = defs.resolve_sensor_def("achats_new_payment_export")
    inputs = AchatsInputs(data_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"inputs": inputs})
        first = sensor.evaluate_tick(ctx)
        assert len(first.run_requests) == 1 and "a.csv" in first.run_requests[0].tags["nouveaux_fichiers"]
        ctx = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"inputs": inputs})
        again = sensor.evaluate_tick(ctx)
        assert not again.run_requests and again.skip_message
        (tmp_path / "purchases" / "b.xlsx").write_bytes(b"x")
        (tmp_path / "purchases" / "~$b.xlsx").write_bytes(b"lock file of Excel")
        ctx = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"inputs": inputs})
        third = sensor.evaluate_tick(ctx)
        assert len(third.run_requests) == 1 and third.run_requests[0].tags["nouveaux_fichiers"] == "b.xlsx"
        time.sleep(0.01)
        os.utime(tmp_path / "purchases" / "a.csv")
        ctx = dg.build_sensor_context(instance=instance, cursor=third.cursor, resources={"inputs": inputs})
        assert sensor.evaluate_tick(ctx).run_requests[0].tags["nouveaux_fichiers"] == "a.csv"


def test_a_quarter_partition_materializes_that_quarter_only(tmp_path):
    wh = tmp_path / "w.duckdb"
    result = dg.materialize(ALL_ASSETS + CHECKS, partition_key="2024-04-01",
                            resources=resources_for(sample_dir(), wh, tmp_path / "d"),
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.execute("SELECT * FROM mart_quarter_figures").fetchall()
        expected = con.execute("SELECT * FROM objective8_summary WHERE period = '2024-Q2'").fetchall()
    assert rows == expected


def test_partitioned_job_and_definitions_validate():
    assert defs.resolve_job_def("achats_quarterly").partitions_def is not None
    assert defs.resolve_job_def("achats_full_run").partitions_def is None
    dg.Definitions.validate_loadable(defs)
