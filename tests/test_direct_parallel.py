"""The direct runner runs steps that do not read each other at the same time (two by default),
and its result reads the same whatever order they finish in."""

from __future__ import annotations

import threading
import time

import dagster as dg
import pytest

from achats.pipelines import direct
from tests.test_direct_runner import _differences


def _graph(barrier: threading.Barrier | None = None, delays: dict[str, float] | None = None,
           fail: str | None = None, log: list[str] | None = None):
    """a and b read nothing, c reads both, d reads c; a and b wait for each other at `barrier`."""
    delays, log = delays or {}, log if log is not None else []

    def body(name: str):
        log.append(f"+{name}")
        if barrier is not None and name in ("a", "b"):
            barrier.wait()
        time.sleep(delays.get(name, 0))
        if name == fail:
            raise RuntimeError(f"panne simulée dans {name}")
        log.append(f"-{name}")
        return dg.MaterializeResult(metadata={"name": name})

    @dg.asset(check_specs=[dg.AssetCheckSpec("a_ok", asset="a")])
    def a():
        yield body("a")
        yield dg.AssetCheckResult(check_name="a_ok", passed=True)

    @dg.asset(check_specs=[dg.AssetCheckSpec("b_ok", asset="b")])
    def b():
        yield body("b")
        yield dg.AssetCheckResult(check_name="b_ok", passed=True)

    @dg.asset(deps=[a, b])
    def c():
        return body("c")

    @dg.asset(deps=[c])
    def d():
        return body("d")

    return direct.plan([a, b, c, d])


def test_independent_steps_run_at_the_same_time():
    barrier = threading.Barrier(2, timeout=5)
    result = direct.run(_graph(barrier), {}, workers=2)
    assert result.success and result.failure is None
    assert result.materialized == ["a", "b", "c", "d"]
    (_, a0, a1), (_, b0, b1) = result.step_spans[:2]
    assert a0 < b1 and b0 < a1  # their spans overlap


def test_one_at_a_time_the_same_graph_cannot_meet_at_the_barrier():
    barrier = threading.Barrier(2, timeout=0.5)
    result = direct.run(_graph(barrier), {}, workers=1)
    assert not result.success and result.failure.step == "a"
    assert isinstance(result.failure.exc, threading.BrokenBarrierError)


def test_the_result_is_in_the_plan_order_whatever_finishes_first():
    log: list[str] = []
    result = direct.run(_graph(delays={"a": 0.3}, log=log), {}, workers=2)
    assert log.index("-b") < log.index("-a")  # b finished first...
    assert [s for s, *_ in result.step_spans] == ["a", "b", "c", "d"]  # ...but reads second
    assert [e.check_name for e in result.evaluations] == ["a_ok", "b_ok"]
    assert result.materialized == ["a", "b", "c", "d"]
    assert log.index("-c") > max(log.index("-a"), log.index("-b")) and log.index("+d") > log.index("-c")


def test_a_failed_step_stops_the_run_and_nothing_after_it_starts():
    log: list[str] = []
    result = direct.run(_graph(delays={"a": 0.2}, fail="b", log=log), {}, workers=2)
    assert not result.success and result.failure.step == "b"
    assert "RuntimeError" in str(result.failure) and "panne simulée dans b" in str(result.failure.exc)
    assert "-a" in log  # the step already running ends and is kept...
    assert "+c" not in log and "+d" not in log  # ...nothing reading b starts
    assert result.materialized == ["a"]


def test_the_first_failure_in_the_plan_order_is_the_one_reported():
    result = direct.run(_graph(delays={"a": 0.2}, fail="a"), {}, workers=2)
    assert result.failure.step == "a"


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("3", 3), (" 2 ", 2), ("0", 1)])
def test_the_number_of_steps_at_once_is_a_setting(monkeypatch, value, expected):
    monkeypatch.setenv("ACHATS_ETAPES_PARALLELES", value)
    assert direct.default_workers() == expected


def test_a_wrong_number_of_steps_is_refused_in_french(monkeypatch):
    monkeypatch.setenv("ACHATS_ETAPES_PARALLELES", "deux")
    with pytest.raises(ValueError, match="ACHATS_ETAPES_PARALLELES doit être un nombre entier"):
        direct.default_workers()


def test_one_step_at_a_time_gives_the_same_warehouse_and_dashboard(sample_run, tmp_path, monkeypatch):
    from achats.paths import sample_dir
    from achats.pipelines import cli

    monkeypatch.setenv("ACHATS_ETAPES_PARALLELES", "1")
    wh = cli.run_pipeline(sample_dir(), tmp_path / "wh" / "w.duckdb", tmp_path / "dash")
    assert _differences(sample_run["warehouse"], wh) == []
    assert (tmp_path / "dash" / "tableau_de_bord_ess.html").read_bytes() == sample_run["dashboard"].read_bytes()


def test_writing_comments_never_turns_the_optimizer_off_for_another_cursor():
    """A step writing its comments (optimizer off for them) must not slow the query another step
    runs at the same time: the setting stays the session's."""
    import duckdb

    from achats.registry import apply_comments, load_registry

    registry = load_registry()
    name = "src_purchase_files"
    con = duckdb.connect()
    columns = ", ".join(f'NULL::VARCHAR AS "{c.name}"' for c in registry[name].columns)
    con.execute(f'CREATE TABLE "{name}" AS SELECT {columns}')
    seen: set[bool] = set()
    stop = threading.Event()

    def watch():
        other = con.cursor()
        while not stop.is_set():
            seen.add(other.execute("SELECT current_setting('enable_optimizer')").fetchone()[0])

    watcher = threading.Thread(target=watch)
    watcher.start()
    writer = con.cursor()
    try:
        for _ in range(100):
            apply_comments(writer, name, registry)
    finally:
        stop.set()
        watcher.join()
    assert seen == {True}
    assert writer.execute("SELECT current_setting('enable_optimizer')").fetchone()[0] is True


def test_a_wrong_number_of_steps_stops_achats_run_as_a_setting_not_a_bug(monkeypatch, tmp_path, capsys):
    from achats.paths import sample_dir
    from achats.pipelines import cli

    monkeypatch.setenv("ACHATS_ETAPES_PARALLELES", "deux")
    code = cli.main(["run", "--data-dir", str(sample_dir()), "--warehouse", str(tmp_path / "wh" / "w.duckdb"),
                     "--dashboard-dir", str(tmp_path / "dash")])
    err = capsys.readouterr().err
    assert code == 2 and "ACHATS_ETAPES_PARALLELES doit être un nombre entier" in err
    assert "Erreur interne" not in err and not (tmp_path / "wh" / "w.duckdb").exists()


def _achats_plan(data_dir, shared_dir=None):
    from achats.pipelines.cli import direct_steps
    from achats.pipelines.definitions import UNPARTITIONED_ASSETS
    from achats.pipelines.resources import AchatsInputs

    inputs = AchatsInputs(data_dir=str(data_dir), shared_dir=str(shared_dir) if shared_dir else "")
    return direct.plan(UNPARTITIONED_ASSETS), direct_steps(inputs)


def test_a_sql_layer_runs_as_one_step_per_table_with_its_own_checks(tmp_path):
    from achats.paths import sample_dir

    coarse, fine = _achats_plan(sample_dir())
    assert sorted(k for s in fine for k in s.asset_keys) == sorted(k for s in coarse for k in s.asset_keys)
    assert sorted(k for s in fine for k in s.check_keys) == sorted(k for s in coarse for k in s.check_keys)
    by_table = {k.to_user_string(): s for s in fine for k in s.asset_keys}
    marts = [s for s in fine if s.name == "sql_marts"]
    assert len(marts) == 8 and all(len(s.asset_keys) == 1 for s in marts)
    for s in marts:  # each check sits with the table it checks
        specs = {cs.key: cs.asset_key for cs in s.assets_def.check_specs}
        assert all(specs[c] in s.asset_keys for c in s.check_keys)
    # the estimate's summary waits on it; the suppliers' mart does not, so both can run at once
    estimate = dg.AssetKey("mart_purchase_line_estimate")
    assert estimate in by_table["mart_objective8_summary"].reads
    assert estimate not in by_table["mart_suppliers"].reads
    # a check reading another table of the layer makes its step wait on that table too
    assert dg.AssetKey("mart_suppliers") in by_table["mart_objective8_summary"].reads
    writer = {k: i for i, s in enumerate(fine) for k in s.asset_keys}
    assert all(writer[k] < i for i, s in enumerate(fine) for k in s.reads if k in writer)


def test_sirene_waits_for_the_purchases_only_when_it_filters_on_them(tmp_path):
    from achats.paths import sample_dir

    purchases = dg.AssetKey("src_purchase_lines")
    _, own = _achats_plan(sample_dir())  # the buyer's own sirene/: already its extract, read whole
    assert not [s for s in own if s.name == "src_sirene"][0].reads & {purchases}
    (tmp_path / "buyer").mkdir()  # no sirene/ of its own: the shared (national) stock, filtered
    _, shared = _achats_plan(tmp_path / "buyer", shared_dir=sample_dir())
    assert purchases in [s for s in shared if s.name == "src_sirene"][0].reads
    (tmp_path / "achats.toml").write_text('[sirene]\nperimetre = "acheteur"\n', encoding="utf-8")
    _, asked = _achats_plan(tmp_path)
    assert purchases in [s for s in asked if s.name == "src_sirene"][0].reads


def test_without_reads_keeps_what_a_check_of_the_step_reads():
    @dg.asset
    def a():
        return None

    @dg.asset(deps=[a], check_specs=[dg.AssetCheckSpec("x_ok", asset="x", additional_deps=[a])])
    def x():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="x_ok", passed=True)

    @dg.asset(deps=[a])
    def y():
        return None

    steps = direct.without_reads(direct.plan([a, x, y]), {"x": frozenset({"a"}), "y": frozenset({"a"})})
    reads = {s.name: s.reads for s in steps}
    assert reads["x"] == {dg.AssetKey("a")} and reads["y"] == frozenset()


def test_costlier_chains_start_first():
    steps = _graph()  # a and b ready at once, a first in the plan
    result = direct.run(steps, {}, workers=1, cost={"b": 5.0})
    assert [n for n, _, _ in sorted(result.step_spans, key=lambda x: x[1])][:2] == ["b", "a"]
    result = direct.run(steps, {}, workers=1)
    assert [n for n, _, _ in sorted(result.step_spans, key=lambda x: x[1])][:2] == ["a", "b"]


def test_the_collector_leaves_the_imported_objects_alone_during_a_run_only(monkeypatch, tmp_path):
    import gc

    from achats.paths import sample_dir
    from achats.pipelines import cli

    seen = []
    real = direct.run

    def watching(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(direct, "run", watching)
    before = gc.get_freeze_count()
    cli.run_pipeline(sample_dir(), tmp_path / "wh" / "w.duckdb", tmp_path / "dash")
    assert seen and seen[0] > 100_000  # the modules' objects, frozen for the run
    assert gc.get_freeze_count() == before
