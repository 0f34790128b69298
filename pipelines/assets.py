"""Assets by stage: sources -> staging -> resolution -> classification -> marts -> dashboards.

Asset name = table name = SQL file name. Each asset reads, calls `achats`, writes, and returns
row counts as metadata. Every check of a table (its registry contract and the hand-written ones
of `pipelines/checks.py`) is a check spec of the asset that writes it, evaluated in the same step;
the SQL files of one layer run in one step (a subsettable multi-asset, each table still its own
asset): a Dagster step costs tens of milliseconds, which made most of the sample's run.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats import warehouse as wh
from achats.blocking import REFERENCE_CACHE
from achats.paths import read_sql
from achats.pipelines.checks import StepChecks, check_specs, checks_of
from achats.pipelines.resources import AchatsInputs, DashboardOutput, RunContext
from achats.registry import Registry, Table, apply_comments, load_registry


def _count(con, table: str) -> dg.MetadataValue:
    return dg.MetadataValue.int(wh.table_count(con, table))


def _spec(table: str) -> dg.AssetSpec:
    """A table written by a Python step, described by its declaration in sql/registry.yaml."""
    return dg.AssetSpec(table, kinds={"duckdb"}, description=load_registry()[table].description)


# --- sources -------------------------------------------------------------------------------

REFERENCE_TABLES = [t.name for t in load_registry().tables.values() if t.layer == "reference"]


def _written(context, con, tables: list[str], inputs: AchatsInputs | None = None,
             run_context: RunContext | None = None):
    """The checks of tables a Python step has just written, evaluated in that step."""
    return StepChecks(context, con, inputs, run_context, checks_of(tables), tables).written(*tables)


@dg.multi_asset(group_name="sources", specs=[_spec(t) for t in REFERENCE_TABLES],
                check_specs=check_specs(REFERENCE_TABLES))
def reference_tables(context, duckdb: DuckDBResource):
    """Nomenclatures shipped with the package: communes/EPCI, legal forms, NAF, CPV, NAF->CPV."""
    with duckdb.get_connection() as con:
        counts = wh.load_reference(con)
        for table in REFERENCE_TABLES:
            yield dg.MaterializeResult(asset_key=table, metadata={"rows": dg.MetadataValue.int(counts[table])})
        yield from _written(context, con, REFERENCE_TABLES)


PURCHASE_TABLES = ["src_purchase_lines", "src_purchase_files"]


@dg.multi_asset(group_name="sources", specs=[_spec(t) for t in PURCHASE_TABLES],
                check_specs=check_specs(PURCHASE_TABLES))
def src_purchases(context, inputs: AchatsInputs, duckdb: DuckDBResource,
                  run_context: RunContext):
    """The buyer's payment lines, one row per input data row (ok, quarantined or duplicate), and
    one row per file and sheet read (its number format, its own total row, the file it copies)."""
    with duckdb.get_connection() as con:
        df = wh.load_purchases(con, inputs.path, inputs.settings())
        files = wh.table_count(con, "src_purchase_files")
        quarantined = df.filter(df["status"] == "quarantined").height
        yield dg.MaterializeResult(asset_key="src_purchase_lines", metadata={
            "rows": df.height, "quarantined": quarantined, "files": df["source_file"].n_unique()})
        yield dg.MaterializeResult(asset_key="src_purchase_files", metadata={"rows": files})
        yield from _written(context, con, PURCHASE_TABLES, inputs, run_context)


# What the buyer deals with decides which part of the national stocks is read (its perimeter).
SIRENE_PERIMETER_DEPS = ["src_purchase_lines", "src_contracts", "src_overrides", "src_ess_france", "src_esus",
                         "src_siae", "src_ess_manual", "src_api_candidates"]


# Relative cost of the longer steps (the others weigh 1), as measured on the embedded sample
# (bench/sample_run.py): the direct runner starts the ready step heading the costliest chain
# first, e.g. the purchases before the nomenclatures. Only the order of ready steps depends on it.
STEP_COST = {"src_purchases": 4.0, "src_sirene": 2.0, "reference_tables": 2.0, "res_suppliers": 8.0,
             "dashboard_html": 3.0}


def reads_not_needed(inputs: AchatsInputs) -> dict[str, frozenset[str]]:
    """Tables a step is declared to read but will not, given these inputs (the graph is static;
    a run is not): without a perimeter, the SIRENE step reads the stocks alone, so the direct
    runner may read them beside the purchases rather than after."""
    root = inputs.reference_root("sirene")
    if wh.perimeter_wanted(inputs.settings(), shared=root != inputs.path):
        return {}
    return {"src_sirene": frozenset(SIRENE_PERIMETER_DEPS)}


SIRENE_TABLES = ["src_sirene_unite_legale", "src_sirene_etablissement", "src_sirene_unite_legale_historique"]


@dg.multi_asset(group_name="sources", specs=[
    dg.AssetSpec(t, kinds={"duckdb"}, description=load_registry()[t].description, deps=SIRENE_PERIMETER_DEPS)
    for t in SIRENE_TABLES
], check_specs=check_specs(SIRENE_TABLES))
def src_sirene(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """INSEE SIRENE stock files (units, establishments, history), read where they lie: only the
    buyer's perimeter, filtered in the scan (or views over the files with `perimetre = "complet"`)."""
    root = inputs.reference_root("sirene")
    with duckdb.get_connection() as con:
        perimeter = wh.sirene_perimeter(con, root, inputs.settings(), shared=root != inputs.path)
        counts = wh.load_sirene(con, root, perimeter, inputs.settings())
        scope = (f"département {perimeter.departement} et région ({len(perimeter.region)} départements), "
                 f"{len(perimeter.known)} SIREN connus, {len(perimeter.ess)} SIREN des listes ESS/SIAE"
                 if perimeter else "stock complet")
        for name, n in counts.items():
            yield dg.MaterializeResult(asset_key=name, metadata={"rows": n, "perimeter": dg.MetadataValue.text(scope)})
        yield from _written(context, con, SIRENE_TABLES, inputs)


STATUS_TABLES = ["src_ess_france", "src_esus", "src_siae", "src_ess_manual", "src_status_rejects", "src_api_candidates"]


@dg.multi_asset(group_name="sources", specs=[_spec(t) for t in STATUS_TABLES], check_specs=check_specs(STATUS_TABLES))
def src_status(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """ESS France, ESUS and SIAE/EA/ESAT lists, manual ESS decisions, and rejected list rows."""
    with duckdb.get_connection() as con:
        counts = wh.load_status(con, inputs.reference_root("status"), inputs.settings())
        for name in STATUS_TABLES:
            yield dg.MaterializeResult(asset_key=name, metadata={"rows": counts[name]})
        yield from _written(context, con, STATUS_TABLES, inputs)


@dg.asset(group_name="sources", kinds={"duckdb"}, description=load_registry()["src_contracts"].description,
          check_specs=check_specs(["src_contracts"]))
def src_contracts(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """The buyer's DECP contracts (v1 and v2), one row per contract and titulaire."""
    with duckdb.get_connection() as con:
        n = wh.load_contracts(con, inputs.path, inputs.settings())
        yield dg.MaterializeResult(metadata={"rows": n})
        yield from _written(context, con, ["src_contracts"], inputs)


@dg.asset(group_name="sources", kinds={"duckdb"}, description=load_registry()["src_overrides"].description,
          check_specs=check_specs(["src_overrides"]))
def src_overrides(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """Manual supplier decisions (`overrides.csv`); they win over the matcher on every run."""
    with duckdb.get_connection() as con:
        n = wh.load_overrides(con, inputs.path)
        yield dg.MaterializeResult(metadata={"rows": n})
        yield from _written(context, con, ["src_overrides"], inputs)


# --- SQL assets, generated from sql/registry.yaml --------------------------------------------

# Dagster group of each layer (a view is its own asset, in the group of the analysts' contract).
GROUPS = {"staging": "staging", "classification": "classification", "marts": "marts", "views": "views"}


def run_sql_table(con, inputs: AchatsInputs, table: Table) -> dict:
    """Run `sql/<file>` (writing the table or view of the same name); its metadata."""
    params = wh.mart_params(con, inputs.settings(), read_sql(table.sql)) if table.params else {}
    wh.run_sql(con, table.sql, params)
    meta: dict = {"rows": _count(con, table.name)}
    meta.update({k: str(v) for k, v in params.items()})
    return meta


def _sql_spec(table: Table) -> dg.AssetSpec:
    return dg.AssetSpec(table.name, group_name=GROUPS[table.layer], deps=sorted(set(table.upstream) - {table.name}),
                        kinds={"duckdb", "sql"}, description=table.description, skippable=True)


def sql_asset(table: Table) -> dg.AssetsDefinition:
    """One SQL file as an asset of its own (step of its own, no checks): with the dependencies,
    description and column comments of its declaration. A run uses `stage_asset` instead."""

    @dg.asset(name=table.name, group_name=GROUPS[table.layer], deps=sorted(set(table.upstream) - {table.name}),
              kinds={"duckdb", "sql"}, description=table.description)
    def _asset(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            return dg.MaterializeResult(metadata=run_sql_table(con, inputs, table))

    return _asset


def build_sql_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """Every declared SQL file of the staging, classification, marts and views layers, one asset
    each; reference and resolution SQL files run inside the Python steps that own their tables."""
    return [sql_asset(t) for t in registry.sql_tables() if t.layer in GROUPS]


def _in_order(tables: list[Table]) -> list[Table]:
    """The tables of one layer, each after the tables of the layer it reads."""
    names, done, out = {t.name for t in tables}, set(), []
    by_name = {t.name: t for t in tables}

    def visit(t: Table, path: tuple[str, ...] = ()) -> None:
        if t.name in done:
            return
        if t.name in path:
            raise ValueError(f"sql/registry.yaml : dépendance circulaire {' -> '.join((*path, t.name))}")
        for u in sorted(set(t.upstream) & names - {t.name}):
            visit(by_name[u], (*path, t.name))
        done.add(t.name)
        out.append(t)

    for t in tables:
        visit(t)
    return out


def stage_asset(layer: str, registry: Registry) -> dg.AssetsDefinition:
    """Every SQL file of one layer in one step: one asset per table (graph, UI, lineage unchanged),
    each with its checks evaluated right after it. Subsettable: Dagster runs a subset (a table
    chosen alone, or the part of a layer on either side of another step) in a step of its own."""
    tables = _in_order([t for t in registry.sql_tables() if t.layer == layer])
    names = [t.name for t in tables]
    checks = checks_of(names, registry)

    @dg.multi_asset(name=f"sql_{layer}", specs=[_sql_spec(t) for t in tables],
                    check_specs=[c.spec() for c in checks], can_subset=True)
    def _stage(context, inputs: AchatsInputs, duckdb: DuckDBResource,
               run_context: RunContext):
        selected = {k.to_user_string() for k in context.selected_asset_keys}
        todo = [t for t in tables if t.name in selected]
        with duckdb.get_connection() as con:
            step = StepChecks(context, con, inputs, run_context, checks, [t.name for t in todo])
            for table in todo:
                if set(table.upstream) & step.blocked:  # a blocking check failed upstream, in this step
                    step.skipped(table.name)
                    continue
                yield dg.MaterializeResult(asset_key=table.name, metadata=run_sql_table(con, inputs, table))
                yield from step.written(table.name)

    return _stage


def build_stage_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """One multi-asset per layer of SQL files (staging, classification, marts, views)."""
    return [stage_asset(layer, registry) for layer in GROUPS]


REGISTRY = load_registry()
STAGE_ASSETS = build_stage_assets(REGISTRY)
RESOLUTION_TABLES = ["res_supplier_match", "res_match_candidates", "res_line_supplier_key", "res_private_siren",
                     "res_purchase_line_supplier", "res_line_mask", "res_file_mask", "res_text_mask",
                     "res_sheet_mask"]


def _upstream_outside(tables: list[str]) -> list[str]:
    """What a multi-asset's tables read, less the tables it writes itself."""
    return sorted({u for t in tables for u in REGISTRY[t].upstream} - set(tables))


@dg.multi_asset(group_name="resolution", specs=[
    dg.AssetSpec(t, kinds={"duckdb"}, deps=_upstream_outside(RESOLUTION_TABLES), description=REGISTRY[t].description)
    for t in RESOLUTION_TABLES], check_specs=check_specs(RESOLUTION_TABLES))
def res_suppliers(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """Each distinct supplier (name, identifier, place) resolved once to a SIREN, with its reason."""
    with duckdb.get_connection() as con:
        stats = wh.resolve_suppliers(con, inputs.settings(),
                                     inputs.reference_root("sirene") / "sirene" / REFERENCE_CACHE)
        yield dg.MaterializeResult(asset_key="res_supplier_match",
                                   metadata={k: dg.MetadataValue.int(v) for k, v in stats.items()})
        for table in RESOLUTION_TABLES[1:]:
            yield dg.MaterializeResult(asset_key=table, metadata={"rows": _count(con, table)})
        yield from _written(context, con, RESOLUTION_TABLES, inputs)


RUN_PARAMETERS_DEPS = list(REGISTRY["run_parameters"].upstream)


@dg.asset(group_name="marts", kinds={"duckdb"}, deps=RUN_PARAMETERS_DEPS,
          description=REGISTRY["run_parameters"].description, check_specs=check_specs(["run_parameters"]))
def run_parameters(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """What the figures depend on besides the inputs, for dashboards and reproducibility."""
    with duckdb.get_connection() as con:
        wh.write_run_parameters(con, inputs.settings())
        yield dg.MaterializeResult(metadata={"rows": 1})
        yield from _written(context, con, ["run_parameters"], inputs)


@dg.asset(group_name="sources", kinds={"duckdb"}, deps=list(REGISTRY["sources_manifest"].upstream),
          description=REGISTRY["sources_manifest"].description, check_specs=check_specs(["sources_manifest"]))
def sources_manifest(context, inputs: AchatsInputs, duckdb: DuckDBResource):
    """Every input file with its size, date and fingerprint, and the rows the run kept from it."""
    from achats.history import write_sources_manifest

    with duckdb.get_connection() as con:
        n = write_sources_manifest(con, inputs.path)
        yield dg.MaterializeResult(metadata={"files": n})
        yield from _written(context, con, ["sources_manifest"], inputs)


HISTORY_TABLES = ["hist_runs", "hist_objective8", "hist_sources"]


@dg.multi_asset(group_name="marts", specs=[
    dg.AssetSpec(t, kinds={"duckdb"}, deps=_upstream_outside(HISTORY_TABLES), description=REGISTRY[t].description)
    for t in HISTORY_TABLES], check_specs=check_specs(HISTORY_TABLES))
def run_history(context, duckdb: DuckDBResource, run_context: RunContext):
    """This run's figures and inputs appended to those of every earlier run (carried forward)."""
    from achats.history import record_run

    with duckdb.get_connection() as con:
        stats = record_run(con, context.run_id, run_context.previous)
        for table in HISTORY_TABLES:
            apply_comments(con, table)
        yield dg.MaterializeResult(asset_key="hist_runs", metadata={
            "runs_kept": stats["runs_kept"], "changed_inputs": dg.MetadataValue.text(stats["changed_inputs"] or "-")})
        for table in HISTORY_TABLES[1:]:
            yield dg.MaterializeResult(asset_key=table)
        yield from _written(context, con, HISTORY_TABLES, None, run_context)


@dg.asset(group_name="dashboards", deps=[*REGISTRY.contract_views(), "run_parameters"], kinds={"html", "plotly"},
          description="Le tableau de bord en français : un seul fichier HTML, lisible hors ligne.")
def dashboard_html(duckdb: DuckDBResource, dashboard: DashboardOutput) -> dg.MaterializeResult:
    """The French dashboard, one self-contained HTML file that opens offline."""
    from achats.dashboards.build import build_dashboard

    with duckdb.get_connection() as con:
        path = build_dashboard(con, dashboard.path)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                          "size_kb": dg.MetadataValue.int(path.stat().st_size // 1024)})
