"""The run's Dagster instance (held SQLite connections) records what Dagster's ephemeral one does."""

from __future__ import annotations

import threading
from collections import Counter

import dagster as dg

from achats.pipelines.instance import run_instance


@dg.multi_asset(specs=[dg.AssetSpec("a"), dg.AssetSpec("b", deps=["a"])],
                check_specs=[dg.AssetCheckSpec("a_ok", asset="a", blocking=True),
                             dg.AssetCheckSpec("b_ok", asset="b", additional_deps=["a"])])
def _two():
    yield dg.MaterializeResult(asset_key="a", metadata={"rows": 3})
    yield dg.AssetCheckResult(asset_key="a", check_name="a_ok", passed=True)
    yield dg.MaterializeResult(asset_key="b", metadata={"rows": 2})
    yield dg.AssetCheckResult(asset_key="b", check_name="b_ok", passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(deps=["b"])
def _c() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 1})


def _events(instance: dg.DagsterInstance) -> tuple[Counter, dg.ExecuteInProcessResult]:
    result = dg.materialize([_two, _c], instance=instance)
    run_id = instance.get_runs()[0].run_id
    kinds = Counter(r.dagster_event.event_type_value for r in instance.all_logs(run_id) if r.dagster_event)
    return kinds, result


def test_same_events_as_the_ephemeral_instance():
    held, result = _events(run_instance())
    stock, _ = _events(dg.DagsterInstance.ephemeral())
    assert held == stock
    assert held["ASSET_MATERIALIZATION"] == 3 and held["ASSET_CHECK_EVALUATION"] == 2
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {"a_ok": True, "b_ok": False}


def test_latest_materializations_and_check_targets_are_recorded():
    instance = run_instance()
    _, result = _events(instance)
    latest = instance.get_asset_records([dg.AssetKey("b")])[0].asset_entry.last_materialization_record
    assert latest is not None and latest.run_id == result.run_id
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "b_ok")
    assert evaluation.target_materialization_data is not None
    assert evaluation.target_materialization_data.storage_id == latest.storage_id


def test_usable_from_another_thread():
    """SQLite refuses a connection used by another thread than its own: other threads get theirs."""
    instance = run_instance()
    _events(instance)
    seen, errors = [], []

    def read() -> None:
        try:
            run_id = instance.get_runs()[0].run_id
            seen.append(len(instance.all_logs(run_id)))
            _events(instance)  # and write: a second run, from this thread
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert not errors and seen and seen[0] > 0
    assert len(instance.get_runs()) == 2
