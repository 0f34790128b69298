"""Many buyers: one dynamic partition per buyer, each writing its own warehouse from the shared
reference folder, and a national summary over every buyer's warehouse (DuckDB ATTACH).

Two ways to run them. On one machine, the `achats_all_buyers` job fans the buyers out on Dagster's
multiprocess executor (two at a time by default: DuckDB already uses every core a run is given).
On a cluster, each partition of `buyer_warehouse` is a run of its own (one pod with the
Kubernetes run launcher, or one worker with Celery), see deploy/ and the README.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dagster as dg
import duckdb

BUYERS = dg.DynamicPartitionsDefinition(name="acheteur")
# extreme bounds, not the 90 % interval: a sum of per-buyer quantiles is no quantile of the sum
SUMMARY_COLUMNS = ["total_amount_eur", "ess_amount_eur", "ess_amount_extreme_low_eur", "ess_amount_extreme_high_eur",
                   "matched_ess_amount_eur", "unmatched_amount_eur", "review_amount_eur", "quarantined_amount_eur",
                   "line_count", "quarantined_line_count", "ess_supplier_count"]


class BuyersLayout(dg.ConfigurableResource):
    """buyers_dir/<buyer>/ holds each buyer's inputs; shared_dir the reference (sirene/, status/);
    output_dir/<buyer>/achats.duckdb each warehouse, output_dir/national.duckdb the summary."""

    buyers_dir: str
    shared_dir: str
    output_dir: str

    def buyers(self) -> list[str]:
        root = Path(self.buyers_dir)
        return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "purchases").is_dir())

    def warehouse(self, key: str) -> Path:
        return Path(self.output_dir) / key / "achats.duckdb"

    def summary_path(self) -> Path:
        return Path(self.output_dir) / "national.duckdb"


def default_layout() -> BuyersLayout:
    """For `dagster dev` and the cluster: folders from the environment at run time."""
    return BuyersLayout(buyers_dir=dg.EnvVar("ACHATS_BUYERS_DIR"), shared_dir=dg.EnvVar("ACHATS_SHARED_DIR"),
                        output_dir=dg.EnvVar("ACHATS_OUTPUT_DIR"))


def run_buyer(layout: BuyersLayout, key: str) -> dict:
    """The whole pipeline for one buyer (as `achats run --shared-dir`); returns its ALL figures."""
    from achats.pipelines.cli import run_pipeline

    out = layout.warehouse(key)
    wh = run_pipeline(Path(layout.buyers_dir) / key, out, out.parent / "tableau_de_bord",
                      shared_dir=Path(layout.shared_dir))
    with duckdb.connect(str(wh), read_only=True) as con:
        row = con.execute("SELECT total_amount_eur, ess_amount_eur, ess_share FROM objective8_summary "
                          "WHERE period = 'ALL'").fetchone()
    # exact sums are DECIMAL in the warehouse; Dagster's metadata takes floats
    return {"total_amount_eur": float(row[0]), "ess_amount_eur": float(row[1]),
            "ess_share": row[2] if row[2] is not None else 0.0,
            "warehouse": str(wh), "pid": os.getpid()}


def build_national_summary(layout: BuyersLayout, keys: list[str]) -> Path:
    """`buyers_objective8`: each buyer's ALL figures read from its own warehouse (ATTACH, read
    only), `buyers_ess_suppliers`: each buyer's matched ESS SIRENs, and `national_objective8`: the
    sums of the amounts and line counts, and the distinct ESS suppliers. Written aside, then
    swapped in."""
    target = layout.summary_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    cols = ", ".join(f's."{c}"' for c in SUMMARY_COLUMNS)
    with duckdb.connect(str(tmp)) as con:
        selects, suppliers = [], []
        for i, key in enumerate(keys):
            wh = layout.warehouse(key)
            if not wh.exists():
                continue
            con.execute(f"ATTACH '{str(wh).replace(chr(39), chr(39) * 2)}' AS b{i} (READ_ONLY)")
            selects.append(f"""SELECT '{key.replace(chr(39), '')}' AS buyer_key, p.buyer_siren, p.home_departement,
                p.reference_date, {cols}, s.ess_share
                FROM b{i}.objective8_summary s, b{i}.run_parameters p WHERE s.period = 'ALL'""")
            suppliers.append(f"""SELECT DISTINCT '{key.replace(chr(39), '')}' AS buyer_key, siren
                FROM b{i}.purchase_lines_resolved WHERE match_status = 'matched' AND is_ess_at_line_date""")
        if not selects:
            raise ValueError("aucun entrepôt d'acheteur à résumer")
        con.execute("CREATE TABLE buyers_objective8 AS " + " UNION ALL ".join(selects) + " ORDER BY buyer_key")
        con.execute("CREATE TABLE buyers_ess_suppliers AS " + " UNION ALL ".join(suppliers) + " ORDER BY ALL")
        _check_ess_suppliers(con)
        sums = ", ".join(f'sum("{c}")::DECIMAL(18, 2) AS "{c}"' if c.endswith("_eur")
                         else f'sum("{c}")::BIGINT AS "{c}"' for c in SUMMARY_COLUMNS if c != "ess_supplier_count")
        # a supplier paid by two buyers is one supplier: distinct SIRENs, not the sum of the counts
        con.execute(f"""CREATE TABLE national_objective8 AS
            SELECT count(*) AS buyer_count, {sums},
                   (SELECT count(DISTINCT siren) FROM buyers_ess_suppliers) AS ess_supplier_count,
                   sum(ess_amount_eur) / nullif(sum(total_amount_eur), 0) AS ess_share
            FROM buyers_objective8""")
        for i in range(len(selects)):
            con.execute(f"DETACH b{i}")
    os.replace(tmp, target)
    return target


def _check_ess_suppliers(con: duckdb.DuckDBPyConnection) -> None:
    """Each buyer's ESS suppliers listed from its lines must number its published count, or the
    national distinct count would not be the same figure."""
    bad = con.execute("""
        SELECT o.buyer_key, o.ess_supplier_count, count(s.siren) FROM buyers_objective8 AS o
        LEFT JOIN buyers_ess_suppliers AS s USING (buyer_key)
        GROUP BY ALL HAVING count(s.siren) <> o.ess_supplier_count ORDER BY 1""").fetchall()
    if bad:
        key, published, listed = bad[0]
        raise ValueError(f"acheteur « {key} » : objective8_summary.ess_supplier_count vaut {published}, mais "
                         f"purchase_lines_resolved liste {listed} fournisseurs ESS rapprochés ; résumé national non écrit")


# --- one partition per buyer (a run each: a pod or a Celery worker on a cluster) ---------------

@dg.asset(partitions_def=BUYERS, group_name="acheteurs", kinds={"duckdb"})
def buyer_warehouse(context, layout: BuyersLayout) -> dg.MaterializeResult:
    """Le calcul complet d'un acheteur (une partition par acheteur), dans son propre entrepôt."""
    figures = run_buyer(layout, context.partition_key)
    return dg.MaterializeResult(metadata={k: v for k, v in figures.items() if k != "pid"})


@dg.asset(group_name="acheteurs", deps=[buyer_warehouse], kinds={"duckdb"})
def buyers_national_summary(context, layout: BuyersLayout) -> dg.MaterializeResult:
    """Résumé national : les chiffres de chaque acheteur, lus dans son entrepôt, et leurs totaux."""
    keys = context.instance.get_dynamic_partitions(BUYERS.name) or layout.buyers()
    path = build_national_summary(layout, keys)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "buyers": len(keys)})


# --- all buyers on one machine: the multiprocess executor, N at a time --------------------------

def mapping_key(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


@dg.op(out=dg.DynamicOut(str))
def discover_buyers(context, layout: BuyersLayout):
    """Every buyer folder becomes a partition of `buyer_warehouse`, and a branch of this run."""
    keys = layout.buyers()
    if not keys:
        raise dg.Failure(f"Aucun dossier d'acheteur (avec purchases/) dans {layout.buyers_dir}")
    new = [k for k in keys if not context.instance.has_dynamic_partition(BUYERS.name, k)]
    if new:
        context.instance.add_dynamic_partitions(BUYERS.name, new)
    for key in keys:
        yield dg.DynamicOutput(key, mapping_key=mapping_key(key))


@dg.op
def buyer_run(context, layout: BuyersLayout, key: str) -> str:
    """One buyer, in a process of its own; a failure here leaves the other buyers running."""
    figures = run_buyer(layout, key)
    context.log_event(dg.AssetMaterialization(asset_key="buyer_warehouse", partition=key,
                                              metadata={k: v for k, v in figures.items() if k != "pid"}))
    return key


@dg.op
def national_summary(context, layout: BuyersLayout, keys: list[str]) -> str:
    path = build_national_summary(layout, sorted(keys))
    context.log_event(dg.AssetMaterialization(asset_key="buyers_national_summary",
                                              metadata={"path": dg.MetadataValue.path(str(path)),
                                                        "buyers": len(keys)}))
    return str(path)


@dg.job(executor_def=dg.multiprocess_executor,
        resource_defs={"layout": BuyersLayout.configure_at_launch()},
        description="Tous les acheteurs, execution.config.max_concurrent à la fois (exécuteur multiprocessus ; "
                    "2 avec « achats run-all »), puis le résumé national.")
def achats_all_buyers():
    national_summary(discover_buyers().map(buyer_run).collect())


def all_buyers_run_config(buyers_dir: Path, shared_dir: Path, output_dir: Path, parallel: int = 2) -> dict:
    return {"resources": {"layout": {"config": {"buyers_dir": str(buyers_dir.resolve()),
                                                "shared_dir": str(shared_dir.resolve()),
                                                "output_dir": str(output_dir.resolve())}}},
            "execution": {"config": {"max_concurrent": parallel}}}


class AllBuyersResult:
    """What the command line needs of the run, read before its temporary instance goes away."""

    def __init__(self, result: dg.ExecutionResult):
        self.success = result.success
        self.run_id = result.run_id
        self.failed_steps = {e.step_key for e in result.all_events if e.is_step_failure}


def run_all_buyers(buyers_dir: Path, shared_dir: Path, output_dir: Path, parallel: int = 2,
                   instance: dg.DagsterInstance | None = None) -> AllBuyersResult:
    """`achats_all_buyers` on the multiprocess executor; needs a persistent instance (a temporary
    one by default) because each step runs in a process of its own."""
    import contextlib

    cm = contextlib.nullcontext(instance) if instance is not None else dg.DagsterInstance.local_temp()
    with cm as inst, dg.execute_job(dg.reconstructable(achats_all_buyers), instance=inst, raise_on_error=False,
                                    run_config=all_buyers_run_config(buyers_dir, shared_dir, output_dir,
                                                                     parallel)) as result:
        return AllBuyersResult(result)
