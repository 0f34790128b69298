"""The one declaration per table (sql/registry.yaml): it matches the SQL, it generates the asset
dependencies, comments, checks and dictionary, and its checks stop a run that breaks it."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from achats.paths import sample_dir, sql_dir
from achats.pipelines.assets import build_sql_assets
from achats.pipelines.checks import build_contract_checks
from achats.pipelines.resources import resources_for
from achats.registry import (
    PARAM_READS,
    contract_problems,
    data_dictionary,
    load_registry,
    registry_path,
)

sqlglot = pytest.importorskip("sqlglot")
from sqlglot import exp  # noqa: E402

REGISTRY = load_registry()


def sql_reads(text: str) -> set[str]:
    """Tables a SQL file reads: every table named, less its CTEs and what the file creates."""
    reads, creates = set(), set()
    for stmt in sqlglot.parse(text, read="duckdb"):
        if stmt is None:
            continue
        ctes = {c.alias_or_name for c in stmt.find_all(exp.CTE)}
        target = None
        if isinstance(stmt, exp.Create):
            target = stmt.this.this if isinstance(stmt.this, exp.Schema) else stmt.this
            if isinstance(target, exp.Table):
                creates.add(target.name)
        reads |= {t.name for t in stmt.find_all(exp.Table) if t is not target and t.name not in ctes}
    return reads - creates


def test_every_sql_file_is_declared_once():
    files = {p.relative_to(sql_dir()).as_posix() for p in sql_dir().glob("*/*.sql")
             if p.parent.name != "examples" and p.name != "macros.sql"}
    declared = {t.sql for t in REGISTRY.sql_tables()}
    assert files == declared
    assert all(Path(t.sql).stem == t.name for t in REGISTRY.sql_tables()), "fichier SQL = nom de la table"


@pytest.mark.parametrize("name", sorted(t.name for t in REGISTRY.sql_tables()))
def test_declared_upstream_is_what_the_sql_reads(name):
    table = REGISTRY[name]
    text = (sql_dir() / table.sql).read_text(encoding="utf-8")
    params = {p for p in PARAM_READS if f"${p}" in text}
    assert set(table.params) == params, f"{name}: params déclarés {table.params}, utilisés {params}"
    expected = sql_reads(text) | {t for p in params for t in PARAM_READS[p]}
    assert set(table.upstream) == expected - {name}


def test_every_upstream_table_is_declared():
    for table in REGISTRY.tables.values():
        assert set(table.upstream) <= set(REGISTRY.tables), table.name


def test_asset_dependencies_come_from_the_registry():
    from achats.pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for table in REGISTRY.sql_tables():
        if table.layer in ("reference", "resolution"):
            continue  # run inside the Python steps that write those tables
        node = graph.get(dg.AssetKey(table.name))
        assert {k.to_user_string() for k in node.parent_keys} == set(table.upstream), table.name
        assert node.description == table.description


def test_every_view_column_has_a_french_description_in_duckdb_and_in_the_dictionary(sample_con):
    views = [v for (v,) in sample_con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    assert sorted(views) == sorted(t.name for t in REGISTRY.tables.values() if t.is_view)
    missing = sample_con.execute(f"""
        SELECT table_name || '.' || column_name FROM duckdb_columns()
        WHERE table_name IN ({', '.join('?' * len(views))}) AND coalesce(comment, '') = ''""", views).fetchall()
    assert not missing
    assert all(c for (c,) in sample_con.execute("SELECT comment FROM duckdb_views() WHERE NOT internal").fetchall())
    text = data_dictionary()
    for view in views:
        for col, comment in sample_con.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?", [view]).fetchall():
            assert f"| `{col}` |" in text and comment.replace("|", "\\|") in text


def test_every_declared_column_of_every_table_has_a_description_in_duckdb_and_in_the_dictionary(sample_con):
    """Internal tables too (src_, stg_, res_, cls_, mart_, ref_, hist_): the dictionary is the map
    of the whole warehouse, and a column without a meaning cannot be checked."""
    missing = [f"{t.name}.{c.name}" for t in REGISTRY.tables.values() for c in t.columns if not c.description.strip()]
    assert missing == []
    text = data_dictionary()
    for t in REGISTRY.tables.values():
        assert f"### `{t.name}`" in text
        for c in t.columns:
            row = (f"| `{c.name}` | {c.type} | {c.unit or ''} | {'oui' if c.not_null else ''} | "
                   f"{c.description.replace('|', chr(92) + '|')} |")
            assert row in text, row
    written = {(t, c): m for t, c, m in sample_con.execute(
        "SELECT table_name, column_name, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main'").fetchall()}
    assert {t for t, _ in written} >= set(REGISTRY.tables) - {"mart_quarter_figures"}  # partitioned: not in a run
    assert [f"{t}.{c}" for (t, c), m in written.items() if t in REGISTRY and not m] == []
    relations = dict(sample_con.execute(
        "SELECT table_name, coalesce(comment, '') FROM duckdb_tables() WHERE schema_name = 'main' UNION ALL "
        "SELECT view_name, coalesce(comment, '') FROM duckdb_views() WHERE NOT internal").fetchall())
    assert [t for t, m in relations.items() if t in REGISTRY and not m] == []


def test_the_sample_warehouse_keeps_every_declaration(sample_con):
    problems = [p for t in REGISTRY.tables.values() if t.name != "mart_quarter_figures"
                for p in contract_problems(sample_con, t)]
    assert problems == []


def test_changing_one_declaration_changes_checks_dictionary_and_dependencies(tmp_path, sample_con):
    """Edit only the YAML: the dependencies, the dictionary and the checks follow."""
    doc = yaml.safe_load(registry_path().read_text(encoding="utf-8"))
    view = doc["tables"]["opportunities"]
    view["upstream"] = [*view["upstream"], "stg_purchase_lines"]
    view["columns"]["cpv_label"]["description"] = "Libellé modifié pour le test"
    view["columns"]["cpv_label"]["not_null"] = True
    view["grain"] = ["legal_levers"]
    view["columns"]["rank"]["type"] = "INTEGER"
    changed = tmp_path / "registry.yaml"
    changed.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    reg = load_registry(changed)

    before = next(a for a in build_sql_assets(REGISTRY) if a.key.to_user_string() == "opportunities")
    after = next(a for a in build_sql_assets(reg) if a.key.to_user_string() == "opportunities")
    deps = {k.to_user_string() for k in after.asset_deps[after.key]}
    assert "stg_purchase_lines" in deps
    assert "stg_purchase_lines" not in {k.to_user_string() for k in before.asset_deps[before.key]}

    assert "Libellé modifié pour le test" in data_dictionary(reg)
    assert "Libellé modifié pour le test" not in data_dictionary(REGISTRY)

    assert contract_problems(sample_con, REGISTRY["opportunities"]) == []
    problems = contract_problems(sample_con, reg["opportunities"])
    assert any("opportunities.rank : type BIGINT au lieu de INTEGER" in p for p in problems)
    assert any("clé (legal_levers)" in p for p in problems)
    spec = next(s for c in build_contract_checks(reg) for s in c.check_specs
                if s.asset_key.to_user_string() == "opportunities")
    assert "(legal_levers)" in spec.description


def _run_view_with_its_check(warehouse: Path, tmp_path: Path, view: str, downstream: str | None = None):
    assets = [a for a in build_sql_assets(REGISTRY) if a.key.to_user_string() in (view, downstream)]
    checks = [c for c in build_contract_checks(REGISTRY)
              if next(iter(c.check_specs)).asset_key.to_user_string() == view]
    assert next(iter(checks[0].check_specs)).blocking
    return dg.materialize([*assets, *checks], resources=resources_for(sample_dir(), warehouse, tmp_path / "d"),
                          raise_on_error=False, instance=dg.DagsterInstance.ephemeral())


@pytest.fixture
def warehouse_copy(sample_run, tmp_path) -> Path:
    copy = tmp_path / "copie.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    return copy


def _failed_blocking(result) -> list[str]:
    return [e.check_name for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]


def test_untampered_copy_passes_its_contract_check(warehouse_copy, tmp_path):
    result = _run_view_with_its_check(warehouse_copy, tmp_path, "purchase_lines")
    assert result.success and not _failed_blocking(result)


def test_a_grain_violation_fails_a_blocking_check_and_stops_downstream(warehouse_copy, tmp_path):
    import duckdb

    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("INSERT INTO stg_purchase_lines SELECT * FROM stg_purchase_lines WHERE status = 'ok' LIMIT 1")
    result = _run_view_with_its_check(warehouse_copy, tmp_path, "purchase_lines", downstream="objective8_by_year")
    assert _failed_blocking(result) == ["purchase_lines_matches_registry"]
    problems = next(e for e in result.get_asset_check_evaluations()).metadata["problems"].value
    assert "clé (line_id)" in problems
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "objective8_by_year" not in materialized


def test_a_null_in_a_not_null_column_fails_a_blocking_check(warehouse_copy, tmp_path):
    import duckdb

    with duckdb.connect(str(warehouse_copy)) as con:
        con.execute("UPDATE mart_suppliers SET display_name = NULL WHERE siren = (SELECT min(siren) FROM mart_suppliers)")
    result = _run_view_with_its_check(warehouse_copy, tmp_path, "suppliers")
    assert _failed_blocking(result) == ["suppliers_matches_registry"]
    problems = next(e for e in result.get_asset_check_evaluations()).metadata["problems"].value
    assert "suppliers.display_name : 1 valeur(s) NULL" in problems
