"""Quarterly partitions, the schedule that runs a quarter once it has closed, and the sensor that
starts a run when a new payment export lands in the purchases folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats.db import first_row
from achats.history import add_missing_columns
from achats.pipelines.resources import AchatsInputs
from achats.registry import apply_comments, load_registry

QUARTERS = dg.TimeWindowPartitionsDefinition(cron_schedule="0 0 1 1,4,7,10 *", start="2020-01-01",
                                             fmt="%Y-%m-%d", timezone="Europe/Paris")
PURCHASE_SUFFIXES = (".csv", ".xlsx", ".xlsm")


def quarter_label(partition_key: str) -> str:
    """'2025-04-01' (the partition key, first day of the quarter) -> '2025-Q2'."""
    d = dt.date.fromisoformat(partition_key)
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


@dg.asset(group_name="marts", partitions_def=QUARTERS, deps=["mart_objective8_summary"], kinds={"duckdb"},
          description=load_registry()["mart_quarter_figures"].description)
def mart_quarter_figures(context, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The quarter's published figures, one partition per quarter (delete-then-insert: idempotent)."""
    quarter = quarter_label(context.partition_key)
    with duckdb.get_connection() as con:
        con.execute("CREATE TABLE IF NOT EXISTS mart_quarter_figures AS "
                    "SELECT * FROM mart_objective8_summary WHERE false")
        con.execute("DELETE FROM mart_quarter_figures WHERE period = ?", [quarter])
        add_missing_columns(con, "mart_quarter_figures", "mart_objective8_summary")
        con.execute("INSERT INTO mart_quarter_figures BY NAME SELECT * FROM mart_objective8_summary WHERE period = ?",
                    [quarter])
        apply_comments(con, "mart_quarter_figures")
        row = first_row(con, "SELECT total_amount_eur, ess_amount_eur, ess_share, line_count "
                             "FROM mart_quarter_figures WHERE period = ?", [quarter])
    total, ess, share, lines = row or (0.0, 0.0, None, 0)
    return dg.MaterializeResult(metadata={"quarter": quarter, "total_amount_eur": float(total), "ess_amount_eur": float(ess),
                                          "ess_share": share if share is not None else "aucune ligne",
                                          "line_count": lines})


def previous_quarter_key(when: dt.datetime) -> str:
    """Partition key of the last quarter that closed before `when`."""
    first_month = 3 * ((when.month - 1) // 3) + 1
    start_this = dt.date(when.year, first_month, 1)
    prev = (start_this - dt.timedelta(days=1)).replace(day=1)
    return dt.date(prev.year, 3 * ((prev.month - 1) // 3) + 1, 1).isoformat()


def build_jobs(all_assets: list) -> tuple[dg.UnresolvedAssetJobDefinition, dg.UnresolvedAssetJobDefinition]:
    one_buyer = dg.AssetSelection.all() - dg.AssetSelection.groups("acheteurs")  # many buyers: achats.pipelines.buyers
    full = dg.define_asset_job("achats_full_run", selection=one_buyer - dg.AssetSelection.assets(
        mart_quarter_figures), executor_def=dg.in_process_executor,
        description="Tout calculer (comme « achats run ») : toutes les tables, sans partition, sauf les chiffres "
                    "trimestriels publiés (mart_quarter_figures).")
    quarterly = dg.define_asset_job("achats_quarterly", selection=one_buyer, partitions_def=QUARTERS,
                                    executor_def=dg.in_process_executor,
                                    description="Tout calculer puis publier les chiffres d'un trimestre : choisir "
                                                "la partition (premier jour du trimestre).")
    return full, quarterly


def quarterly_schedule(job) -> dg.ScheduleDefinition:
    @dg.schedule(job=job, cron_schedule="0 6 5 1,4,7,10 *", execution_timezone="Europe/Paris",
                 name="achats_quarter_closed", default_status=dg.DefaultScheduleStatus.STOPPED)
    def _schedule(context: dg.ScheduleEvaluationContext):
        """Le 5 du mois qui suit la fin d'un trimestre, à 6 h : calcule le trimestre clos."""
        key = previous_quarter_key(context.scheduled_execution_time)
        return dg.RunRequest(run_key=f"trimestre-{key}", partition_key=key, tags={"trimestre": quarter_label(key)})

    return _schedule


def purchases_fingerprint(inputs: AchatsInputs) -> dict[str, str]:
    folder = inputs.path / "purchases"
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): f"{p.stat().st_size}:{p.stat().st_mtime_ns}"
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in PURCHASE_SUFFIXES
            and not p.name.startswith(("~$", "."))}


def inbox_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=300, name="achats_new_payment_export",
               default_status=dg.DefaultSensorStatus.STOPPED)
    def _sensor(context: dg.SensorEvaluationContext, inputs: AchatsInputs):
        """Lance un calcul complet quand un export de paiement arrive (ou change) dans purchases/."""
        seen = json.loads(context.cursor) if context.cursor else {}
        now = purchases_fingerprint(inputs)
        changed = sorted(name for name, fp in now.items() if seen.get(name) != fp)
        if not changed:
            return dg.SkipReason("Aucun nouvel export de paiement.")
        context.update_cursor(json.dumps(now, sort_keys=True))
        key = hashlib.sha1(json.dumps({n: now[n] for n in changed}, sort_keys=True).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=key, tags={"nouveaux_fichiers": ", ".join(changed)[:200]})

    return _sensor
