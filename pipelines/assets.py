"""Assets by stage: sources -> staging -> resolution -> classification -> marts -> dashboards.

Asset name = table name = SQL file name. Each asset reads, calls `achats`, writes, and returns
row counts as metadata.
"""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats import warehouse as wh
from achats.paths import read_sql, sql_dir
from pipelines.resources import AchatsInputs, DashboardOutput, RunContext

# What the Dagster UI shows for the Python assets: French, one per table (the SQL assets take theirs
# from their file).
DESCRIPTIONS = {
    "reference_tables": (
        "Nomenclatures livrées avec le paquet : communes et EPCI, catégories juridiques, NAF, CPV, correspondance "
        "NAF → CPV."),
    "src_purchase_lines": (
        "Lignes de paiement de l'acheteur : une par ligne de données lue (acceptée, en quarantaine ou en double), "
        "avec fichier, ligne et raison."),
    "src_purchase_files": (
        "Fichiers et feuilles d'achats lus : format des nombres, total déclaré par le fichier, fichier qu'il copie."),
    "src_sirene_unite_legale": "Stock SIRENE des unités légales (INSEE), colonnes utiles seulement.",
    "src_sirene_etablissement": "Stock SIRENE des établissements (INSEE), colonnes utiles seulement.",
    "src_sirene_unite_legale_historique": (
        "Historique SIRENE des unités légales (facultatif) : forme juridique et indicateur ESS à chaque date."),
    "src_ess_france": "Liste ESS France (SIREN des entreprises de l'ESS).",
    "src_esus": "Entreprises agréées ESUS, avec les dates de leur agrément.",
    "src_siae": "Structures inclusives SIAE, EA et ESAT (marché de l'inclusion).",
    "src_ess_manual": "Décisions ESS manuelles (status/ess_manuel*.csv), avec leur justification.",
    "src_status_rejects": "Lignes rejetées des listes ESS France, ESUS et SIAE, avec leur raison.",
    "src_api_candidates": (
        "Candidats proposés par l'API Recherche d'entreprises pour les non rapprochés (à vérifier, jamais acceptés "
        "d'office)."),
    "src_contracts": "Marchés de l'acheteur (DECP v1 et v2) : une ligne par marché et titulaire.",
    "src_overrides": (
        "Décisions manuelles sur les fournisseurs (overrides.csv), historique compris ; elles l'emportent à chaque "
        "calcul."),
    "res_supplier_match": (
        "Chaque fournisseur distinct (nom, identifiant, lieu) rapproché une fois d'un SIREN, avec sa raison."),
    "res_match_candidates": "Meilleurs SIREN candidats de chaque fournisseur, avec leur score.",
    "res_purchase_line_supplier": "Décision de rapprochement de chaque ligne d'achat acceptée.",
    "warehouse_views": "Le contrat des analystes : vues stables aux colonnes commentées, et paramètres du calcul.",
    "sources_manifest": "Chaque fichier d'entrée avec sa taille, sa date, son empreinte et les lignes gardées.",
    "run_history": "Chiffres et entrées de ce calcul ajoutés à ceux des calculs précédents (historique).",
    "dashboard_html": "Le tableau de bord en français : un seul fichier HTML, lisible hors ligne.",
}


def _count(con, table: str) -> dg.MetadataValue:
    return dg.MetadataValue.int(wh.table_count(con, table))


# --- sources -------------------------------------------------------------------------------

@dg.asset(group_name="sources", kinds={"duckdb"}, description=DESCRIPTIONS["reference_tables"])
def reference_tables(duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Nomenclatures shipped with the package: communes/EPCI, legal forms, NAF, CPV, NAF->CPV."""
    with duckdb.get_connection() as con:
        counts = wh.load_reference(con)
    return dg.MaterializeResult(metadata={k: dg.MetadataValue.int(v) for k, v in counts.items()})


@dg.multi_asset(group_name="sources", specs=[dg.AssetSpec(t, kinds={"duckdb"}, description=DESCRIPTIONS[t])
                                             for t in ("src_purchase_lines", "src_purchase_files")])
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
    dg.AssetSpec(t, kinds={"duckdb"}, description=DESCRIPTIONS[t], deps=SIRENE_PERIMETER_DEPS)
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


@dg.multi_asset(group_name="sources", specs=[dg.AssetSpec(t, kinds={"duckdb"}, description=DESCRIPTIONS[t])
                                             for t in STATUS_TABLES])
def src_status(inputs: AchatsInputs, duckdb: DuckDBResource):
    """ESS France, ESUS and SIAE/EA/ESAT lists, manual ESS decisions, and rejected list rows."""
    with duckdb.get_connection() as con:
        counts = wh.load_status(con, inputs.reference_root("status"), inputs.settings())
    for name in STATUS_TABLES:
        yield dg.MaterializeResult(asset_key=name, metadata={"rows": counts[name]})


@dg.asset(group_name="sources", kinds={"duckdb"}, description=DESCRIPTIONS["src_contracts"])
def src_contracts(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The buyer's DECP contracts (v1 and v2), one row per contract and titulaire."""
    with duckdb.get_connection() as con:
        n = wh.load_contracts(con, inputs.path, inputs.settings())
    return dg.MaterializeResult(metadata={"rows": n})


@dg.asset(group_name="sources", kinds={"duckdb"}, description=DESCRIPTIONS["src_overrides"])
def src_overrides(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Manual supplier decisions (`overrides.csv`); they win over the matcher on every run."""
    with duckdb.get_connection() as con:
        n = wh.load_overrides(con, inputs.path)
    return dg.MaterializeResult(metadata={"rows": n})


# --- SQL assets ----------------------------------------------------------------------------

def sql_asset(name: str, layer: str, group: str, deps: list[str], needs_params: bool = False):
    """An asset that runs `sql/<layer>/<name>.sql` and reports the table's row count."""

    @dg.asset(name=name, group_name=group, deps=deps, kinds={"duckdb", "sql"},
              description=(sql_dir() / layer / f"{name}.sql").read_text(encoding="utf-8").splitlines()[0].lstrip("- "))
    def _asset(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            params = wh.mart_params(con, inputs.settings(), read_sql(f"{layer}/{name}.sql")) if needs_params else {}
            wh.run_sql(con, f"{layer}/{name}.sql", params)
            meta = {"rows": _count(con, name)}
            meta.update({k: str(v) for k, v in params.items()})
        return dg.MaterializeResult(metadata=meta)

    return _asset


stg_unite_legale = sql_asset("stg_unite_legale", "staging", "staging", ["src_sirene_unite_legale"])
stg_etablissement = sql_asset("stg_etablissement", "staging", "staging",
                              ["src_sirene_etablissement", "reference_tables"])
stg_purchase_lines = sql_asset("stg_purchase_lines", "staging", "staging", ["src_purchase_lines", "reference_tables"])
stg_unite_legale_historique = sql_asset("stg_unite_legale_historique", "staging", "staging",
                                        ["src_sirene_unite_legale_historique"])
stg_supplier_contract_cpv = sql_asset("stg_supplier_contract_cpv", "staging", "staging", ["src_contracts"])


RESOLUTION_DEPS = ["stg_purchase_lines", "stg_unite_legale", "stg_etablissement", "src_overrides", "src_api_candidates"]


@dg.multi_asset(group_name="resolution",
                specs=[dg.AssetSpec(t, kinds={"duckdb"}, deps=RESOLUTION_DEPS, description=DESCRIPTIONS[t]) for t in
                       ("res_supplier_match", "res_match_candidates", "res_purchase_line_supplier")])
def res_suppliers(inputs: AchatsInputs, duckdb: DuckDBResource):
    """Each distinct supplier (name, identifier, place) resolved once to a SIREN, with its reason."""
    with duckdb.get_connection() as con:
        stats = wh.resolve_suppliers(con, inputs.settings())
        yield dg.MaterializeResult(asset_key="res_supplier_match",
                                   metadata={k: dg.MetadataValue.int(v) for k, v in stats.items()})
        yield dg.MaterializeResult(asset_key="res_match_candidates", metadata={"rows": _count(con, "res_match_candidates")})
        yield dg.MaterializeResult(asset_key="res_purchase_line_supplier",
                                   metadata={"rows": _count(con, "res_purchase_line_supplier")})


cls_supplier_status = sql_asset("cls_supplier_status", "classification", "classification",
                                ["stg_unite_legale", "src_esus", "src_ess_france", "src_siae", "src_ess_manual",
                                 "reference_tables", "src_purchase_lines"], needs_params=True)
cls_purchase_line_status = sql_asset("cls_purchase_line_status", "classification", "classification",
                                     ["cls_supplier_status", "res_purchase_line_supplier",
                                      "stg_unite_legale_historique"], needs_params=True)
mart_purchase_line_estimate = sql_asset("mart_purchase_line_estimate", "marts", "marts",
                                        ["cls_purchase_line_status", "res_match_candidates",
                                         "stg_supplier_contract_cpv"])
mart_objective8_summary = sql_asset("mart_objective8_summary", "marts", "marts", ["mart_purchase_line_estimate"])
mart_ess_sourcing = sql_asset("mart_ess_sourcing", "marts", "marts",
                              ["cls_supplier_status", "stg_etablissement", "res_purchase_line_supplier"],
                              needs_params=True)
mart_contract_renewals = sql_asset("mart_contract_renewals", "marts", "marts",
                                   ["src_contracts", "cls_supplier_status", "mart_ess_sourcing"], needs_params=True)
mart_ess_offer_by_category = sql_asset("mart_ess_offer_by_category", "marts", "marts",
                                       ["mart_purchase_line_estimate", "mart_ess_sourcing"])
mart_opportunities = sql_asset("mart_opportunities", "marts", "marts", ["mart_ess_offer_by_category"])
mart_contracts_summary = sql_asset("mart_contracts_summary", "marts", "marts", ["src_contracts", "cls_supplier_status"])
mart_suppliers = sql_asset("mart_suppliers", "marts", "marts", ["cls_supplier_status", "res_purchase_line_supplier"])

VIEWS = ["purchase_lines", "purchase_lines_resolved", "suppliers", "objective8_summary", "ess_offer_by_category",
         "opportunities", "contracts_summary", "suppliers_public", "objective8_by_year", "source_file_reconciliation",
         "ess_sourcing", "contract_renewals"]


@dg.asset(group_name="marts", kinds={"duckdb"}, description=DESCRIPTIONS["warehouse_views"],
          deps=["mart_objective8_summary", "mart_suppliers", "mart_opportunities", "mart_ess_offer_by_category",
                "mart_contracts_summary", "src_purchase_files", "mart_contract_renewals"])
def warehouse_views(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The analysts' contract: stable views with their column comments, and the run's parameters."""
    with duckdb.get_connection() as con:
        wh.write_run_parameters(con, inputs.settings())
        for view in VIEWS:
            wh.run_sql(con, f"views/{view}.sql")
    return dg.MaterializeResult(metadata={"views": dg.MetadataValue.text(", ".join(VIEWS))})


@dg.asset(group_name="sources", kinds={"duckdb"}, description=DESCRIPTIONS["sources_manifest"],
          deps=["src_purchase_lines", "src_sirene_unite_legale", "src_sirene_etablissement", "src_ess_france",
                "src_esus", "src_siae", "src_contracts", "src_overrides"])
def sources_manifest(inputs: AchatsInputs, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Every input file with its size, date and fingerprint, and the rows the run kept from it."""
    from achats.history import write_sources_manifest

    with duckdb.get_connection() as con:
        n = write_sources_manifest(con, inputs.path)
    return dg.MaterializeResult(metadata={"files": n})


@dg.asset(group_name="marts", kinds={"duckdb"}, deps=["warehouse_views", "sources_manifest"],
          description=DESCRIPTIONS["run_history"])
def run_history(context, duckdb: DuckDBResource,
                run_context: RunContext) -> dg.MaterializeResult:
    """This run's figures and inputs appended to those of every earlier run (carried forward)."""
    from achats.history import record_run

    with duckdb.get_connection() as con:
        stats = record_run(con, context.run_id, run_context.previous)
        for view in ("objective8_history", "objective8_changes"):
            wh.run_sql(con, f"views/{view}.sql")
    return dg.MaterializeResult(metadata={"runs_kept": stats["runs_kept"],
                                          "changed_inputs": dg.MetadataValue.text(stats["changed_inputs"] or "-")})


@dg.asset(group_name="dashboards", deps=["warehouse_views", "run_history"], kinds={"html", "plotly"},
          description=DESCRIPTIONS["dashboard_html"])
def dashboard_html(duckdb: DuckDBResource, dashboard: DashboardOutput) -> dg.MaterializeResult:
    """The French dashboard, one self-contained HTML file that opens offline."""
    from dashboards.build import build_dashboard

    with duckdb.get_connection() as con:
        path = build_dashboard(con, dashboard.path)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                          "size_kb": dg.MetadataValue.int(path.stat().st_size // 1024)})
