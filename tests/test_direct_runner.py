"""`achats run` runs the assets' own computations without Dagster's run machinery (the direct
runner); `--moteur dagster` runs the same `Definitions` through Dagster. Both must run the same
steps in the same order and give the same warehouse, the same errors and the same exit codes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import dagster as dg
import pytest

from achats.paths import sample_dir
from achats.pipelines import cli, direct
from achats.pipelines.checks import ALL_CHECKS
from achats.pipelines.definitions import UNPARTITIONED_ASSETS, defs, full_run_job

ROOT = Path(__file__).resolve().parents[1]
# what differs between two runs of the same code: the run's id and time
VOLATILE = {("hist_runs", "run_id"), ("hist_runs", "run_at"), ("hist_objective8", "run_id"),
            ("hist_sources", "run_id"), ("objective8_history", "run_id"), ("objective8_history", "run_at")}


def _digest_tool():
    spec = importlib.util.spec_from_file_location("warehouse_digest", ROOT / "tools" / "warehouse_digest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _differences(a: Path, b: Path) -> list[str]:
    """Every difference between two warehouses, table by table, run ids and times aside."""
    tool = _digest_tool()
    da, db = tool.dump(str(a)), tool.dump(str(b))
    out = [f"{name}: absente d'un côté" for name in sorted(set(da) ^ set(db))]
    for name in sorted(set(da) & set(db)):
        x, y = da[name], db[name]
        out += [f"{name}: {k}" for k in ("kind", "rows", "comment", "types", "comments") if x[k] != y[k]]
        out += [f"{name}.{c}" for c in x["values"] if (name, c) not in VOLATILE and x["values"][c] != y["values"].get(c)]
        if not any(t == name for t, _ in VOLATILE) and x["rows_hash"] != y["rows_hash"]:
            out.append(f"{name}: lignes")
    return out


def _tables(warehouse: Path) -> set[str]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM "
                                          "duckdb_views() WHERE NOT internal").fetchall()}


def _direct_steps(data: Path) -> list:
    from achats.pipelines.resources import AchatsInputs

    return cli.direct_steps(AchatsInputs(data_dir=str(data)))


def _planned_tables(data: Path) -> set[str]:
    return {k.to_user_string() for s in _direct_steps(data) for k in s.asset_keys}


def _stopped_by(check: str, data: Path) -> set[str]:
    """The tables of the steps that read, directly or not, the table of the failed check's step."""
    steps = _direct_steps(data)
    failed = next(s for s in steps if any(c.name == check for c in s.check_keys))
    stopped, grew = set(failed.asset_keys), True
    while grew:
        grew = False
        for s in steps:
            if s.reads & stopped and not s.asset_keys <= stopped:
                stopped |= s.asset_keys
                grew = True
    return {k.to_user_string() for k in stopped - failed.asset_keys}


def _base(step_key: str) -> str:
    return re.sub(r"_\d+$", "", step_key)


def test_the_direct_plan_is_dagster_execution_plan(monkeypatch, tmp_path):
    """Same steps (tables and checks of each), same order, every asset and check exactly once."""
    from dagster._core.execution.api import create_execution_plan

    for var in ("ACHATS_DATA_DIR", "ACHATS_WAREHOUSE", "ACHATS_DASHBOARD_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    plan = create_execution_plan(defs.resolve_job_def(full_run_job.name))
    expected = []
    for step in plan.get_steps_to_execute_in_topo_order():
        props = [o.properties for o in step.step_outputs]
        expected.append((_base(step.key), frozenset(p.asset_key for p in props if p.asset_key and not p.asset_check_key),
                         frozenset(p.asset_check_key for p in props if p.asset_check_key)))
    steps = direct.plan(UNPARTITIONED_ASSETS)
    assert [(s.name, s.asset_keys, s.check_keys) for s in steps] == expected

    done: set[dg.AssetKey] = set()
    for s in steps:  # each step after every step that writes what it reads
        assert s.reads <= done, (s.name, sorted(k.to_user_string() for k in s.reads - done))
        done |= s.asset_keys
    tables = [k for s in steps for k in s.asset_keys]
    checks = [k for s in steps for k in s.check_keys]
    assert len(tables) == len(set(tables)) and set(tables) == {k for a in UNPARTITIONED_ASSETS for k in a.keys}
    assert len(checks) == len(set(checks)) and set(checks) == {c.key for c in ALL_CHECKS}


def test_steps_that_read_each_other_are_refused():
    some = UNPARTITIONED_ASSETS[0]
    a, b = dg.AssetKey("a"), dg.AssetKey("b")
    with pytest.raises(ValueError, match="dépendance circulaire entre étapes : x, y"):
        direct._in_order([direct.Step("x", some, frozenset({a}), frozenset(), frozenset({b})),
                          direct.Step("y", some, frozenset({b}), frozenset(), frozenset({a}))])


def test_both_engines_give_the_same_warehouse_and_dashboard(sample_run, tmp_path):
    wh = cli.run_pipeline(sample_dir(), tmp_path / "wh" / "w.duckdb", tmp_path / "dash", engine="dagster")
    assert _differences(sample_run["warehouse"], wh) == []
    assert (tmp_path / "dash" / "tableau_de_bord_ess.html").read_bytes() == sample_run["dashboard"].read_bytes()


def _cli(engine: str, data: Path, out: Path, capsys) -> tuple[int, str]:
    code = cli.main(["run", "--moteur", engine, "--data-dir", str(data), "--warehouse", str(out / "wh" / "w.duckdb"),
                     "--dashboard-dir", str(out / "dash")])
    err = capsys.readouterr().err.replace(str(out), "<SORTIE>")
    return code, err[err.find("Erreur"):]  # the progress lines before it carry their durations


BLOCKING = {
    # fails in the first steps (the purchases' own step): almost nothing runs after it
    "quarantined_share_within_limit": [{"Fournisseur": "FOURNISSEUR A", "Montant": "abc", "Date": "01/02/2024"},
                                       {"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "31/02/2024"},
                                       {"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}],
    # fails in the marts: the steps that do not read them still run, as with Dagster
    "unmatched_share_within_limit": [{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"},
                                     {"Fournisseur": "QUINCAILLERIE ZEPHYR", "Montant": "1000", "Date": "01/02/2024"}],
}


@pytest.mark.parametrize("check", sorted(BLOCKING))
def test_a_failed_blocking_check_gives_the_same_error_and_diagnostic_warehouse(check, mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write(BLOCKING[check])
    results = {e: _cli(e, data, tmp_path / e, capsys) for e in cli.ENGINES}
    assert results["direct"] == results["dagster"]
    code, text = results["direct"]
    assert code == 2 and f"[contrôle {check}]" in text and "entrepôt de diagnostic" in text
    diag = {e: tmp_path / e / "wh" / "w.diagnostic.duckdb" for e in cli.ENGINES}
    assert all(p.exists() for p in diag.values()) and not (tmp_path / "direct" / "wh" / "w.duckdb").exists()
    # The direct runner's steps are finer than Dagster's (a table per step in a SQL layer; SIRENE
    # beside the purchases when no perimeter is read): after a failed blocking check it has also
    # written the tables that do not read the failed one, which Dagster's coarser steps skip.
    # Every table Dagster wrote is there and identical; each extra one is outside what the failed
    # check stops, and is written exactly when the direct plan says so.
    extra = _tables(diag["direct"]) - _tables(diag["dagster"])
    assert not _tables(diag["dagster"]) - _tables(diag["direct"])
    assert _differences(diag["dagster"], diag["direct"]) == [f"{t}: absente d'un côté" for t in sorted(extra)]
    stopped = _stopped_by(check, data)
    assert not extra & stopped
    assert extra == {t for t in _planned_tables(data) if t not in stopped} - _tables(diag["dagster"])


def test_an_input_error_gives_the_same_message_with_both_engines(mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    (data / "contracts").mkdir(exist_ok=True)
    (data / "contracts" / "b.json").write_text("{pas du json", encoding="utf-8")
    results = {e: _cli(e, data, tmp_path / e, capsys) for e in cli.ENGINES}
    assert results["direct"] == results["dagster"]
    code, text = results["direct"]
    assert code == 2 and "Données d'entrée inutilisables : contracts/b.json : JSON DECP illisible" in text
    for e in cli.ENGINES:  # nothing published, nothing left behind
        assert not [p.name for p in (tmp_path / e / "wh").iterdir() if not p.name.endswith(".lock")]


def test_a_bug_in_a_step_gives_the_same_message_with_both_engines(mini, tmp_path, capsys, monkeypatch):
    from achats import warehouse

    mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("division par zéro simulée")

    monkeypatch.setattr(warehouse, "write_run_parameters", broken)
    results = {e: _cli(e, data, tmp_path / e, capsys) for e in cli.ENGINES}
    assert results["direct"] == results["dagster"]
    code, text = results["direct"]
    assert code == 1 and "Erreur interne à l'étape « run_parameters »" in text
    assert "ZeroDivisionError : division par zéro simulée" in text


def test_an_unknown_engine_is_refused_in_french(tmp_path):
    with pytest.raises(cli.RunError, match="Moteur inconnu : « airflow »"):
        cli.run_pipeline(sample_dir(), tmp_path / "w.duckdb", tmp_path / "d", engine="airflow")
