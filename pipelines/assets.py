"""Assets by stage: sources -> staging -> resolution -> classification -> marts -> dashboards.

Asset name = table name = SQL file name. Each asset reads, calls `achats`, writes, and returns
row counts as metadata.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats import warehouse as wh
from achats.paths import read_sql
from achats.registry import Registry, Table, apply_comments, load_registry
from pipelines.resources import AchatsInputs, DashboardOutput, RunContext


def _count(con, table: str) -> dg.MetadataValue:
    return dg.MetadataValue.int(wh.table_count(con, table))


def _spec(table: str) -> dg.AssetSpec:
    """A table written by a Python step, described by its declaration in sql/registry.yaml."""
    return dg.AssetSpec(table, kinds={"duckdb"}, description=load_registry()[table].description)


# --- sources -------------------------------------------------------------------------------

REFERENCE_TABLES = [t.name for t in load_registry().tables.values() if t.layer == "reference"]


@dg.multi_asset(group_name="sources", specs=[_spec(t) for t in REFERENCE_TABLES])
def reference_tables(duckdb: DuckDBResource):
    """Nomenclatures shipped with the package: communes/EPCI, legal forms, NAF, CPV, NAF->CPV."""
    with duckdb.get_connection() as con:
        counts = wh.load_reference(con)
    for table in REFERENCE_TABLES:
        yield dg.MaterializeResult(asset_key=table, metadata={"rows": dg.MetadataValue.int(counts[table])})


@dg.multi_asset(group_name="sources", specs=[_spec("src_purchase_lines"),
                                             _spec("src_purchase_files")])
def src_purchases(inputs: AchatsInputs, duckdb: DuckDBResource):
    """The buyer's payment lines, one row per input data row (ok, quarantined or duplicate), and
    one row per file and sheet read (its number format, its own total row, the file it copies)."""
    with duckdb.get_connection() as con:
        df = wh.load_purchases(con, inputs.path, inputs.settings())
        files = wh.table_count(con, "src_purchase_files")
    quarantined = df.filter(df["status"] == "quarantined").height
    yield dg.MaterializeResult(asset_key="src_purchase_lines", metadata={
        "rows": df.height, "quarantined": quarantined, "files": df["source_file"].n_unique()})
    yield dg.MaterializeResult(asset_key="src_purchase_files", metadata={"rows": files})


# What the buyer deals with decides which part of the national stocks is read (its perimeter).
SIRENE_PERIMETER_DEPS = ["src_purchase_lines", "src_contracts", "src_overrides", "src_ess_france", "src_esus",
                         "src_siae", "src_ess_manual", "src_api_candidates"]


@dg.multi_asset(group_name="sources", specs=[
    dg.AssetSpec(t, kinds={"duckdb"}, description=load_registry()[t].description, deps=SIRENE_PERIMETER_DEPS)
    for t in ("src_sirene_unite_legale", "src_sirene_etablissement", "src_sirene_unite_legale_historique")
])
def src_sirene(inputs: AchatsInputs, duckdb: DuckDBResource):
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


STATUS_TABLES = ["src_ess_france", "src_esus", "src_siae", "src_ess_manual", "src_status_rejects", "src_api_candidates"]


@dg.multi_asset(group_name="sources", specs=[_spec(t) for t in STATUS_TABLES])
def src_status(inputs: AchatsInputs, duckdb: DuckDBResource):
    """ESS France, ESUS and SIAE/EA/ESAT lists, manual ESS decisions, and rejected list rows."""
    with duckdb.get_connection() as con:
        counts = wh.load_status(con, inputs.reference_root("status"), inputs.settings())
    for name in STATUS_TABLES:
        yield dg.MaterializeResult(asset_key=name, metadata={"rows": counts[name]})


@dg.asset(group_name="sources", kinds={"duckdb"}, description=load_registry()["src_contracts"].description)
def src_contracts(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The buyer's DECP contracts (v1 and v2), one row per contract and titulaire."""
    with duckdb.get_connection() as con:
        n = wh.load_contracts(con, inputs.path, inputs.settings())
    return dg.MaterializeResult(metadata={"rows": n})


@dg.asset(group_name="sources", kinds={"duckdb"}, description=load_registry()["src_overrides"].description)
def src_overrides(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Manual supplier decisions (`overrides.csv`); they win over the matcher on every run."""
    with duckdb.get_connection() as con:
        n = wh.load_overrides(con, inputs.path)
    return dg.MaterializeResult(metadata={"rows": n})


# --- SQL assets, generated from sql/registry.yaml --------------------------------------------

# Dagster group of each layer (a view is its own asset, in the group of the analysts' contract).
GROUPS = {"staging": "staging", "classification": "classification", "marts": "marts", "views": "views"}


def sql_asset(table: Table) -> dg.AssetsDefinition:
    """An asset that runs `sql/<file>` (writing the table or view of the same name), with the
    dependencies, description and column comments of its declaration."""
    name, relative = table.name, table.sql

    @dg.asset(name=name, group_name=GROUPS[table.layer], deps=sorted(set(table.upstream) - {name}),
              kinds={"duckdb", "sql"}, description=table.description)
    def _asset(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            params = wh.mart_params(con, inputs.settings(), read_sql(relative)) if table.params else {}
            wh.run_sql(con, relative, params)
            meta = {"rows": _count(con, name)}
            meta.update({k: str(v) for k, v in params.items()})
        return dg.MaterializeResult(metadata=meta)

    return _asset


def build_sql_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """Every declared SQL file of the staging, classification, marts and views layers; reference
    and resolution SQL files run inside the Python steps that own their tables."""
    return [sql_asset(t) for t in registry.sql_tables() if t.layer in GROUPS]


REGISTRY = load_registry()
SQL_ASSETS = build_sql_assets(REGISTRY)
RESOLUTION_TABLES = ["res_supplier_match", "res_match_candidates", "res_line_supplier_key", "res_private_siren",
                     "res_purchase_line_supplier", "res_line_mask"]


def _upstream_outside(tables: list[str]) -> list[str]:
    """What a multi-asset's tables read, less the tables it writes itself."""
    return sorted({u for t in tables for u in REGISTRY[t].upstream} - set(tables))


@dg.multi_asset(group_name="resolution", specs=[
    dg.AssetSpec(t, kinds={"duckdb"}, deps=_upstream_outside(RESOLUTION_TABLES), description=REGISTRY[t].description)
    for t in RESOLUTION_TABLES])
def res_suppliers(inputs: AchatsInputs, duckdb: DuckDBResource):
    """Each distinct supplier (name, identifier, place) resolved once to a SIREN, with its reason."""
    with duckdb.get_connection() as con:
        stats = wh.resolve_suppliers(con, inputs.settings())
        yield dg.MaterializeResult(asset_key="res_supplier_match",
                                   metadata={k: dg.MetadataValue.int(v) for k, v in stats.items()})
        for table in RESOLUTION_TABLES[1:]:
            yield dg.MaterializeResult(asset_key=table, metadata={"rows": _count(con, table)})


RUN_PARAMETERS_DEPS = list(REGISTRY["run_parameters"].upstream)


@dg.asset(group_name="marts", kinds={"duckdb"}, deps=RUN_PARAMETERS_DEPS,
          description=REGISTRY["run_parameters"].description)
def run_parameters(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """What the figures depend on besides the inputs, for dashboards and reproducibility."""
    with duckdb.get_connection() as con:
        wh.write_run_parameters(con, inputs.settings())
    return dg.MaterializeResult(metadata={"rows": 1})


@dg.asset(group_name="sources", kinds={"duckdb"}, deps=list(REGISTRY["sources_manifest"].upstream),
          description=REGISTRY["sources_manifest"].description)
def sources_manifest(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Every input file with its size, date and fingerprint, and the rows the run kept from it."""
    from achats.history import write_sources_manifest

    with duckdb.get_connection() as con:
        n = write_sources_manifest(con, inputs.path)
    return dg.MaterializeResult(metadata={"files": n})


HISTORY_TABLES = ["hist_runs", "hist_objective8", "hist_sources"]


@dg.multi_asset(group_name="marts", specs=[
    dg.AssetSpec(t, kinds={"duckdb"}, deps=_upstream_outside(HISTORY_TABLES), description=REGISTRY[t].description)
    for t in HISTORY_TABLES])
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


@dg.asset(group_name="dashboards", deps=[*REGISTRY.contract_views(), "run_parameters"], kinds={"html", "plotly"},
          description="Le tableau de bord en français : un seul fichier HTML, lisible hors ligne.")
def dashboard_html(duckdb: DuckDBResource, dashboard: DashboardOutput) -> dg.MaterializeResult:
    """The French dashboard, one self-contained HTML file that opens offline."""
    from dashboards.build import build_dashboard

    with duckdb.get_connection() as con:
        path = build_dashboard(con, dashboard.path)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                          "size_kb": dg.MetadataValue.int(path.stat().st_size // 1024)})
