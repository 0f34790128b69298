"""`achats` command line: run the pipeline, rebuild the dashboard.

Messages are in French: the people who run this are the buyer's staff.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import gc
import logging
import os
import re
import shutil
import sys
import textwrap
import time
import traceback
from pathlib import Path

from achats.db import has_table, rows
from achats.errors import InputError
from achats.formatting import eur, number_fr, pct
from achats.paths import sample_dir
from achats.progress import duration_fr

DEFAULT_WAREHOUSE = Path("data/warehouse/achats.duckdb")
DEFAULT_DASHBOARD_DIR = Path("dashboards/output")


EXIT_CODES = {
    0: "tout s'est bien passé",
    1: "erreur interne (un défaut du programme : relancez avec --verbose et signalez la trace)",
    2: "données ou réglages inutilisables, source indisponible, ou contrôle bloquant en échec",
    3: "un autre calcul écrit déjà dans le même entrepôt (verrou tenu)",
    4: "écriture impossible (disque plein, droits, support en lecture seule)",
    130: "interrompu (Ctrl+C)",
}
VERBOSE_ENV = "ACHATS_VERBOSE"


class RunError(Exception):
    """A run that cannot go on; the message is for the user, `code` is the exit code."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        user = getattr(exc, "user_exception", None)
        if user is not None and id(user) not in seen:
            yield user
        exc = exc.__cause__ or exc.__context__


def _find_input_error(exc: BaseException | None) -> InputError | None:
    return next((e for e in _chain(exc) if isinstance(e, InputError)), None)


OS_REASONS = {errno.ENOSPC: "disque plein", errno.EROFS: "support en lecture seule", errno.EACCES: "accès refusé",
              errno.EPERM: "opération non permise", errno.ENOTDIR: "le chemin traverse un fichier",
              errno.EEXIST: "un fichier porte déjà ce nom"}


def _os_reason(exc: OSError) -> str:
    return OS_REASONS.get(exc.errno, exc.strerror or str(exc))


@contextlib.contextmanager
def _run_lock(warehouse: Path):
    """One writer at a time: a second run refuses clearly instead of corrupting the first."""
    try:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        lock_path = warehouse.with_name(warehouse.name + ".lock")
        fh = open(lock_path, "w")  # noqa: SIM115 - closed by the `with` below
    except OSError as exc:
        raise RunError(f"Destination de l'entrepôt inutilisable ({warehouse.parent}) : {_os_reason(exc)}. "
                       "Choisissez un autre dossier avec --warehouse.", code=4) from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunError(f"Un autre calcul écrit déjà dans {warehouse} (verrou {lock_path.name}) : "
                           "réessayez quand il sera terminé.", code=3) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _check_warehouse_file(path: Path, for_run: bool) -> None:
    """A damaged or foreign file in place of the warehouse gets a French message, not an IOException."""
    import duckdb

    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        todo = ("Déplacez-le ou renommez-le, puis relancez : le calcul repartira d'un entrepôt neuf (l'historique "
                "des calculs précédents qu'il contenait ne sera pas repris)." if for_run else
                "Relancez « achats run » pour le reconstruire, ou indiquez le bon fichier avec --warehouse.")
        raise RunError(f"L'entrepôt {path} est illisible : ce n'est pas un fichier DuckDB valide (fichier "
                       f"endommagé, tronqué, ou écrit par une autre version de DuckDB). {todo}") from exc


def diagnostic_path(warehouse: Path) -> Path:
    """Where a run that failed a blocking check leaves what it computed: beside, never in place."""
    return warehouse.with_name(f"{warehouse.stem}.diagnostic{warehouse.suffix}")


# Blocking checks whose limit the buyer sets: French name, metadata (measured, limit), achats.toml key.
CHECK_LIMITS = {
    "quarantined_share_within_limit": ("part des lignes d'achat en quarantaine", "share", "limit",
                                       "[controles] max_quarantined_share"),
    "unmatched_share_within_limit": ("part de la dépense non rapprochée", "share", "limit",
                                     "[controles] max_unmatched_share"),
    "line_count_vs_previous_run": ("baisse du nombre de lignes d'achat depuis le calcul précédent", "drop", "limit",
                                   "[controles] max_line_count_drop"),
    "status_lists_schema": ("part des lignes rejetées des listes ESS France / ESUS / SIAE", "share", "limit",
                            "[controles] max_status_rejected_share"),
}
CHECK_NAMES = {
    "objective8_reconciles": "les montants de l'objectif 8 se recoupent",
    "objective8_periods_add_up": "les trimestres et « sans date » font l'ensemble",
    "objective8_by_year_adds_up": "les années et « sans date » font l'ensemble",
    "ess_within_total": "la dépense ESS ne dépasse pas la dépense totale",
    "purchase_file_rows_reconcile": "chaque ligne de chaque fichier d'achats est comptée",
    "every_ok_line_resolved": "chaque ligne acceptée est rapprochée une fois",
    "purchase_line_ids_unique": "identifiants de ligne uniques",
    "sirene_schema": "fichiers SIRENE valides",
    "contracts_summary_recount": "recompte indépendant des marchés",
    "ess_share_drift": "variation de la part ESS d'un trimestre à l'autre",
}
METADATA_NAMES = {
    "share": "mesuré", "limit": "limite", "drop": "baisse", "units": "unités", "duplicate_sirens": "SIREN en double",
    "invalid_siren_share": "part de SIREN invalides", "ok_lines": "lignes acceptées", "resolved_rows": "lignes rapprochées",
    "distinct_lines": "lignes distinctes", "duplicate_ids": "identifiants en double",
    "periods_in_error": "périodes en erreur", "mismatches": "écarts", "files_in_error": "fichiers en erreur",
    "contracts_warehouse": "marchés dans l'entrepôt", "contracts_recount": "marchés recomptés",
    "amount_warehouse": "montant dans l'entrepôt (€)", "amount_recount": "montant recompté (€)", "buyers_recount": "acheteurs (SIREN) recomptés",
    "periods_minus_all": "périodes moins ensemble", "rejected": "lignes rejetées", "lines_now": "lignes de ce calcul",
    "lines_previous_run": "lignes du calcul précédent", "first_reasons": "premières raisons",
    "cells_not_plain_amounts": "cellules non vérifiées (pas un montant simple)",
}


def _meta_value(value):
    """A check's metadata value: Dagster's MetadataValue (Dagster engine) or the plain value (direct)."""
    return getattr(value, "value", value)


def _meta_text(value) -> str:
    value = _meta_value(value)
    if isinstance(value, float):
        return number_fr(value, 2, " ")
    if isinstance(value, int) and not isinstance(value, bool):
        return number_fr(value, 0, " ")
    return str(value).replace("**", "").strip()


def check_label(name: str) -> str:
    if name in CHECK_LIMITS:
        return CHECK_LIMITS[name][0]
    if name in CHECK_NAMES:
        return CHECK_NAMES[name]
    from achats.pipelines.checks import ALL_CHECKS

    return next((c.description for c in ALL_CHECKS if c.name == name and c.description), name)


def check_failure_text(evaluation) -> str:
    """One failed blocking check, in French: what was measured, the limit, the setting to change."""
    name, meta = evaluation.check_name, evaluation.metadata
    if name in CHECK_LIMITS:
        label, measured, limit, key = CHECK_LIMITS[name]
        text = (f"{label} : {_meta_text(meta.get(measured, '?'))} mesurés pour une limite de "
                f"{_meta_text(meta.get(limit, '?'))} (réglage achats.toml : {key})")
        if "first_reasons" in meta and _meta_text(meta["first_reasons"]) not in ("", "-"):
            text += f". Premières raisons :\n{_meta_text(meta['first_reasons'])}"
        return text + f"\n  [contrôle {name}]"
    details = "; ".join(f"{METADATA_NAMES.get(k, k)} : {_meta_text(v)}" for k, v in meta.items()
                        if _meta_text(v) not in ("", "-"))
    return f"{check_label(name)}" + (f" ({details})" if details else "") + f"\n  [contrôle {name}]"


def _error_chain(info):
    """A Dagster SerializableErrorInfo and its causes."""
    seen = set()
    stack = [info]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack += [e.cause, e.context]


def _error_message(info) -> str:
    text = (info.message or "").strip()
    head = f"{info.cls_name}: "
    at = text.find(head)
    return text[at + len(head):].strip() if at >= 0 else text


class _StepFailure(Exception):
    """An unexpected error inside a step: a bug (exit 1), with its trace. `user` is the error the
    step's code raised (under Dagster's "Error occurred while executing op" wrapper, if any)."""

    def __init__(self, step: str, info):
        user = next((e for e in _error_chain(info) if not e.cls_name.startswith("Dagster")), info)
        super().__init__(f"{step} : {user.cls_name}")
        self.step, self.info, self.user = step, info, user


def _step_failure(result, tmp: Path) -> Exception | None:
    """The reason a Dagster step failed, as the exception the command line reports."""
    for event in result.get_step_failure_events():
        info = event.step_failure_data.error
        if any(e.cls_name == "DagsterAssetCheckFailedError" for e in _error_chain(info)):
            continue  # reported from the check's own evaluation
        # the step's op: Dagster names the parts of a cut layer sql_views_2, sql_views_3...
        return _failure_of(re.sub(r"_\d+$", "", event.step_key or "?"), info, tmp)
    return None


def _failure_of(step: str, info, tmp: Path) -> Exception:
    """A step's error (Dagster's serialized error and its causes), whichever engine ran it."""
    chain = list(_error_chain(info))
    found = next((e for e in chain if e.cls_name == "InputError"), None)
    if found is not None:
        return InputError(_error_message(found))
    text = " ".join(_error_message(e) for e in chain)
    for marker, reason in (("No space left", "disque plein"), ("Read-only file system", "support en lecture seule"),
                           ("Permission denied", "accès refusé")):
        if marker in text:
            return RunError(f"Écriture impossible dans {tmp.parent} : {reason}. L'entrepôt précédent est conservé.",
                            code=4)
    return _StepFailure(step, info)


ENGINES = ("direct", "dagster")


def _run_dagster(resources: dict, quiet: bool, tmp: Path):
    """Every asset materialized by Dagster (its run, its events, its event log)."""
    import dagster as dg

    from achats.pipelines.checks import CHECKS
    from achats.pipelines.definitions import UNPARTITIONED_ASSETS
    from achats.pipelines.instance import run_instance

    level = "INFO" if not quiet else "CRITICAL"
    if quiet:
        logging.getLogger("dagster").setLevel(logging.CRITICAL)
    result = dg.materialize(UNPARTITIONED_ASSETS + CHECKS, resources=resources,
                            run_config={"loggers": {"console": {"config": {"log_level": level}}}},
                            raise_on_error=False, instance=run_instance())
    failed = [e for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    return result, failed, _step_failure(result, tmp) if not result.success else None


def direct_steps(inputs) -> list:
    """The steps `achats run` takes for these inputs: Dagster's plan, less the reads this run will
    not make (`assets.reads_not_needed`), each SQL layer cut into one step per table."""
    from achats.pipelines import direct
    from achats.pipelines.assets import reads_not_needed
    from achats.pipelines.definitions import UNPARTITIONED_ASSETS

    return direct.one_step_per_table(direct.without_reads(direct.plan(UNPARTITIONED_ASSETS),
                                                          reads_not_needed(inputs)))


def _run_direct(resources: dict, quiet: bool, tmp: Path):
    """The same asset computations and checks, in the same steps, without Dagster's run machinery."""
    import dagster as dg

    from achats.pipelines import direct
    from achats.pipelines.assets import STEP_COST

    logging.getLogger("achats.run").setLevel(logging.CRITICAL if quiet else logging.INFO)
    if not quiet and not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(message)s", stream=sys.stderr)
    # every output of the run is written aside and published only if it succeeds (the warehouse
    # into `tmp`, the dashboard into its staged folder): any step may run ahead of the checks
    result = direct.run(direct_steps(resources["inputs"]), resources, cost=STEP_COST, ahead=lambda step: True)
    failed = [e for e in result.evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    problem = None
    if result.failure is not None:
        from dagster._utils.error import serializable_error_info_from_exc_info

        exc = result.failure.exc
        problem = _failure_of(result.failure.step, serializable_error_info_from_exc_info(
            (type(exc), exc, exc.__traceback__)), tmp)
    return result, failed, problem


@contextlib.contextmanager
def _gc_frozen():
    """Python's collector leaves alone what exists before the run (the ≈ 250 000 objects of
    Dagster, polars, plotly... imported once): a full collection walks them all, ≈ 0,2 s each,
    for no garbage. What the run makes is collected as usual; all goes back after the run."""
    if gc.get_freeze_count():  # frozen by the caller already: theirs to undo
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_pipeline(data_dir: Path, warehouse: Path, dashboard_dir: Path, quiet: bool = True,
                 shared_dir: Path | None = None, allow_links: bool = False, engine: str = "direct") -> Path:
    """Run every asset into a new file, then swap it in: readers never see half a run.
    A failed blocking check leaves what was computed beside the warehouse, for the analyst.
    `engine`: "direct" (the assets' computations and checks without Dagster's run machinery,
    see `pipelines/direct.py`) or "dagster" (one Dagster run, with its event log)."""
    from achats.config import load_settings
    from achats.pipelines.resources import resources_for
    from achats.safety import check_links

    if engine not in ENGINES:
        raise RunError(f"Moteur inconnu : « {engine} » (choisir parmi : {', '.join(ENGINES)}).")
    if engine == "direct":  # a setting of the user's, said as such before anything runs
        from achats.pipelines.direct import default_workers

        try:
            default_workers()
        except ValueError as exc:
            raise RunError(str(exc)) from None
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise RunError(f"Dossier de données introuvable : {data_dir}. Indiquez-le avec --data-dir : il contient "
                       "purchases/, sirene/, status/ et, s'il y a lieu, contracts/ et achats.toml.")
    settings = load_settings(data_dir)  # a bad achats.toml stops here, before any work
    allow = allow_links or settings.security.allow_external_links
    check_links(data_dir, allow=allow)
    if shared_dir is not None:
        for folder in ("sirene", "status"):
            check_links(Path(shared_dir) / folder, Path(shared_dir), allow=allow)
    with _run_lock(warehouse):
        if warehouse.exists():
            _check_warehouse_file(warehouse, for_run=True)
        tmp = warehouse.with_name(warehouse.name + ".tmp")
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            stale.unlink(missing_ok=True)
        # the dashboard is written beside the new warehouse and published with it: a failed run
        # publishes neither, and a step may run ahead of the checks of what it reads (direct.run)
        staged = tmp.with_name(tmp.name + ".tableau")
        shutil.rmtree(staged, ignore_errors=True)
        previous = warehouse if warehouse.exists() else None
        resources = resources_for(data_dir, tmp, staged, previous, shared_dir, sync_each_commit=False)
        try:
            return _run_and_publish(engine, resources, quiet, allow, tmp, staged, warehouse, dashboard_dir, previous)
        finally:
            shutil.rmtree(staged, ignore_errors=True)


def _run_and_publish(engine: str, resources: dict, quiet: bool, allow: bool, tmp: Path, staged: Path,
                     warehouse: Path, dashboard_dir: Path, previous: Path | None) -> Path:
    """The run into `tmp` (and the dashboard into `staged`), then both published, or neither."""
    try:
        with _links_env(allow), _gc_frozen():
            result, failed, problem = (_run_dagster(resources, quiet, tmp) if engine == "dagster"
                                       else _run_direct(resources, quiet, tmp))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not result.success and problem is None and not failed:
        problem = RunError("Le calcul s'est arrêté sans publier, sans erreur identifiable (défaut du programme) : "
                           "relancez avec --verbose pour le journal complet. L'entrepôt précédent est conservé.",
                           code=1)
    if problem is not None or failed:
        kept = "L'entrepôt précédent est conservé." if previous else "Aucun entrepôt n'est écrit à sa place."
        if problem is not None:
            tmp.unlink(missing_ok=True)
            if isinstance(problem, InputError):
                raise RunError(f"Données d'entrée inutilisables : {_sentence(str(problem))} Corrigez le fichier "
                               "puis relancez ; "
                               f"{kept[0].lower()}{kept[1:]}") from None
            raise problem
        diag = diagnostic_path(warehouse)
        try:
            os.replace(tmp, diag)
            where = (f"Ce que le calcul a produit jusque-là est dans l'entrepôt de diagnostic {diag} "
                     "(à ouvrir en lecture pour comprendre ; il n'est pas publié).")
        except OSError:
            tmp.unlink(missing_ok=True)
            where = ""
        items = "\n".join(f"- {check_failure_text(e)}" for e in failed)
        raise RunError(f"Contrôle de qualité bloquant en échec, le calcul s'arrête avant de publier :\n{items}\n"
                       f"{kept} {where} Corrigez les données en cause, ou, si ce niveau est normal pour vos "
                       "données, ajustez la limite indiquée dans achats.toml.")
    for e in result.get_asset_check_evaluations():
        if not e.passed:
            moves = e.metadata.get("moves")
            detail = _meta_value(moves).replace("**", "") if moves is not None else ""
            print(f"Avertissement ({check_label(e.check_name)}) : la part ESS bouge de plus de "
                  f"{_meta_value(e.metadata['limit_points'])} d'un trimestre à l'autre ([controles] drift_warning_points) :"
                  f"\n{detail}" if moves is not None else f"Avertissement : {check_failure_text(e)}",
                  file=sys.stderr)
    try:
        _sync_to_disk(tmp)  # the run's commits were not synced one by one: once, before publishing
        os.replace(tmp, warehouse)
        _sync_to_disk(warehouse.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"Impossible d'écrire l'entrepôt {warehouse} : {_os_reason(exc)}. "
                       "L'entrepôt précédent est conservé.", code=4) from exc
    diagnostic_path(warehouse).unlink(missing_ok=True)
    _publish_dashboard(staged, dashboard_dir)
    return warehouse


def _publish_dashboard(staged: Path, dashboard_dir: Path) -> None:
    """Move the run's dashboard files into the dashboard folder, each replacing its old one."""
    if not staged.is_dir():
        return
    try:
        dashboard_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(staged.iterdir()):
            if path.is_file():
                shutil.move(str(path), str(dashboard_dir / path.name))  # a rename on one file system
    except OSError as exc:
        raise RunError(f"Entrepôt publié, mais impossible d'écrire le tableau de bord dans {dashboard_dir} : "
                       f"{_os_reason(exc)}. Relancez « achats dashboard » pour l'écrire.", code=4) from exc


def _sync_to_disk(path: Path) -> None:
    """fsync a file (or a folder, for a rename in it) so that what is published survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _links_env(allow: bool):
    """--autoriser-liens reaches the loaders inside Dagster's steps through the environment."""
    from achats.safety import LINKS_ENV

    before = os.environ.get(LINKS_ENV)
    if allow:
        os.environ[LINKS_ENV] = "1"
    try:
        yield
    finally:
        if allow:
            if before is None:
                os.environ.pop(LINKS_ENV, None)
            else:
                os.environ[LINKS_ENV] = before


def summary_text(warehouse: Path) -> str:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        s = rows(con, "SELECT * FROM objective8_summary WHERE period = 'ALL'")[0]
        # recognised total rows are quarantined too, but count nowhere and stop nothing: said apart
        totals, not_paid, receipts, layout = con.execute(
            "SELECT count(*) FILTER (WHERE row_kind = 'total' AND status = 'quarantined'), "
            "count(*) FILTER (WHERE row_kind = 'not_paid' AND status = 'quarantined'), "
            "count(*) FILTER (WHERE row_kind = 'receipt' AND status = 'quarantined'), "
            "count(*) FILTER (WHERE row_kind = 'layout' AND status = 'quarantined') "
            "FROM purchase_lines").fetchone() if has_table(con, "purchase_lines") else (0, 0, 0, 0)
    sep = " "
    return "\n".join([
        "Objectif 8 — achats auprès de l'économie sociale et solidaire",
        f"  Dépense totale analysée : {eur(s['total_amount_eur'], sep)}"
        f" ({number_fr(s['line_count'] - s['quarantined_line_count'], 0, sep)} lignes comptées)",
        f"  Dépense ESS (estimation) : {eur(s['ess_amount_eur'], sep)}"
        f" [intervalle à 90 % : {eur(s['ess_amount_low_eur'], sep)} – {eur(s['ess_amount_high_eur'], sep)} ;"
        f" bornes extrêmes : {eur(s['ess_amount_extreme_low_eur'], sep)} – {eur(s['ess_amount_extreme_high_eur'], sep)}]",
        f"  Part ESS : {pct(s['ess_share'], sep)} [{pct(s['ess_share_low'], sep)} – {pct(s['ess_share_high'], sep)}]",
        f"  Dépense non rapprochée : {eur(s['unmatched_amount_eur'], sep)} ; à vérifier : {eur(s['review_amount_eur'], sep)}",
        f"  Lignes en quarantaine : {number_fr(s['quarantined_line_count'], 0, sep)}"
        + (f" (dont {number_fr(totals, 0, sep)} ligne{'s' if totals > 1 else ''} de total, hors du contrôle de la "
           f"part en quarantaine)" if totals else "")
        + (f" (dont {number_fr(layout, 0, sep)} ligne{'s' if layout > 1 else ''} de mise en page sans montant : "
           f"numéros de page, titres, unités ; hors du contrôle de la part en quarantaine)" if layout else "")
        + (f" (dont {number_fr(not_paid, 0, sep)} mandat{'s' if not_paid > 1 else ''} non payé{'s' if not_paid > 1 else ''}"
           f" — rejeté, annulé ou pas encore payé à la date de l'export —, hors de la dépense et "
           f"du contrôle de la part en quarantaine)" if not_paid else "")
        + (f" (dont {number_fr(receipts, 0, sep)} ligne{'s' if receipts > 1 else ''} de titres de recette, qui ne "
           f"sont pas des achats, hors du contrôle de la part en quarantaine)" if receipts else ""),
    ])


def input_warnings(warehouse: Path, data_dir: Path | None = None) -> list[str]:
    """What the reader kept but counted nowhere: files that repeat another one, DECP files with
    none of the buyer's contracts; an ESS share outside 0–100 % (credits larger than payments);
    and stored decisions that applied to no supplier."""
    from achats.review import rejected_decision_warnings, unused_decision_warning
    from achats.share_warnings import ceased_payee_warnings, ess_share_warnings
    from achats.sources.purchases import duplicate_warnings, unread_file_warnings
    from achats.status_warnings import (
        cooperative_word_warnings,
        inclusive_establishment_warnings,
        status_reject_warnings,
    )

    with _open_read_only(warehouse) as con:
        files = con.sql("SELECT * FROM src_purchase_files").pl()
        # superseded payments, hidden rows and repeated parts of a file: named in the run log
        superseded = con.sql("SELECT row_kind, quarantine_reason, source_file, source_sheet, status, amount_eur, "
                             "duplicate_of FROM src_purchase_lines WHERE row_kind IN ('superseded', 'hidden', 'repeated', 'not_paid', 'receipt') "
                             "OR (status = 'duplicate' AND duplicate_of IS DISTINCT FROM source_file AND source_file "
                             "NOT IN (SELECT source_file FROM src_purchase_files WHERE duplicate_of IS NOT NULL "
                             "OR overlap_of IS NOT NULL)) "
                             "ORDER BY source_file, source_sheet, source_row").pl()
        empty_decp = [r[0] for r in con.execute(
            "SELECT path FROM sources_manifest WHERE kind = 'contracts' AND rows_kept IS NULL ORDER BY path"
        ).fetchall()] if data_dir is not None and has_table(con, "sources_manifest") else []
        # files of purchases/ the reader left out (a note, a .pdf, a .txt without a payment header)
        unread = [r[0] for r in con.execute(
            "SELECT path FROM sources_manifest WHERE kind = 'purchases' AND path NOT IN "
            "(SELECT source_file FROM src_purchase_files) ORDER BY path").fetchall()] \
            if has_table(con, "sources_manifest") else []
        shares = ess_share_warnings(con) + ceased_payee_warnings(con)
        status_lists = (status_reject_warnings(con) + inclusive_establishment_warnings(con)
                        + cooperative_word_warnings(con))
        unused = unused_decision_warning(con)
        masked = _masked_file_names(con)
        rejected = rejected_decision_warnings(con)
        declared = declared_total_warnings(con)
    out = unread_file_warnings(unread) + duplicate_warnings(files, superseded) + declared
    if empty_decp:
        from achats.config import load_settings
        from achats.sources.decp import foreign_file_warning

        siren = load_settings(data_dir).buyer_siren
        out += [w for p in empty_decp if (data_dir / p).is_file()
                and (w := foreign_file_warning(data_dir / p, data_dir, siren))]
    if data_dir is not None:
        from achats.sources.status import unread_status_warnings

        out += unread_status_warnings(data_dir)
    return [_mask_paths(w, masked) for w in out + status_lists + shares + rejected + ([unused] if unused else [])]


def declared_total_warnings(con) -> list[str]:
    """A file whose own total row differs from the sum of the amounts read from its lines: a total
    counted as a payment, a line lost or misread. The view and the dashboard show it; a run read
    on the console alone must say it too."""
    if not has_table(con, "source_file_reconciliation"):
        return []
    found = con.execute("SELECT source_file, source_sheet, declared_total_eur, expected_total_eur, "
                        "total_difference_eur FROM source_file_reconciliation WHERE has_matching_total = false "
                        "ORDER BY source_file, source_sheet").fetchall()

    def amount(x) -> str:
        return f"{number_fr(x, 2, ' ')} €"

    return [f"{name}{f' (feuille « {sheet} »)' if sheet else ''} : le total déclaré par le fichier "
            f"({amount(declared)}) diffère de la somme des montants lus sur ses lignes ({amount(read)}, lignes de "
            f"total exclues, lignes en quarantaine comprises) : écart (somme lue − total déclaré) de {amount(gap)} ; une ligne de total comptée "
            f"comme un paiement, ou une ligne perdue ? Vérifiez le fichier (vue source_file_reconciliation)"
            for name, sheet, declared, read, gap in found]


def _masked_file_names(con) -> dict[str, str]:
    """Real path -> shown path of the input files whose name names a non-diffusible unit
    (res_file_mask), with their bare names too: the warnings quote either."""
    if not (has_table(con, "res_file_mask") and has_table(con, "sources_manifest")):
        return {}
    # every input file, read or not, is in the manifest: an unread one is named in a warning too
    pairs = con.execute("""SELECT DISTINCT s.path, m.masked_file FROM res_file_mask AS m
                           JOIN sources_manifest AS s ON md5(s.path) = m.source_file_md5""").fetchall()
    out = dict(pairs)
    out.update({real.rsplit("/", 1)[-1]: shown.rsplit("/", 1)[-1] for real, shown in pairs})
    if has_table(con, "res_sheet_mask"):  # a sheet naming one, as the messages quote it
        out.update({f"feuille « {real} »": f"feuille « {shown} »" for real, shown in con.execute("""
            SELECT DISTINCT f.source_sheet, m.masked_sheet FROM res_sheet_mask AS m JOIN (
                SELECT source_file, source_sheet FROM src_purchase_files
                UNION SELECT source_file, unnest(unread_sheets) FROM src_purchase_files) AS f
            ON md5(f.source_file) = m.source_file_md5 AND md5(f.source_sheet) = m.source_sheet_md5""").fetchall()})
    return out


def _mask_paths(text: str, masked: dict[str, str]) -> str:
    """Longest first, so that a path is replaced whole before its bare name is looked for."""
    for real in sorted(masked, key=len, reverse=True):
        text = text.replace(real, masked[real])
    return text


def cmd_run(args: argparse.Namespace) -> int:
    from achats.config import load_settings

    start = time.perf_counter()
    if Path(args.data_dir).is_dir():
        for warning in load_settings(Path(args.data_dir)).warnings:
            print(f"Avertissement : {warning}", file=sys.stderr)
    warehouse = run_pipeline(Path(args.data_dir), Path(args.warehouse), Path(args.dashboard_dir),
                             quiet=not args.verbose, shared_dir=Path(args.shared_dir) if args.shared_dir else None,
                             allow_links=args.autoriser_liens, engine=args.moteur)
    _stop_progress()
    for warning in input_warnings(warehouse, Path(args.data_dir)):
        print(f"Avertissement : {warning}", file=sys.stderr)
    print(summary_text(warehouse))
    print(f"Entrepôt : {warehouse}")
    print(f"Tableau de bord : {Path(args.dashboard_dir) / 'tableau_de_bord_ess.html'}")
    print(f"Durée : {duration_fr(time.perf_counter() - start)}")
    return 0


def cmd_run_all(args: argparse.Namespace) -> int:
    """Every buyer folder of --buyers-dir, each into its own warehouse, --parallele at a time on
    Dagster's multiprocess executor (one dynamic partition per buyer), then the national summary."""
    import duckdb

    from achats.pipelines.buyers import BuyersLayout, run_all_buyers

    root = Path(args.buyers_dir)
    if not root.is_dir():
        raise RunError(f"Dossier des acheteurs introuvable : {root}")
    if args.autoriser_liens:  # read by each buyer's run, in its own process
        os.environ["ACHATS_LIENS_EXTERNES"] = "1"
    layout = BuyersLayout(buyers_dir=args.buyers_dir, shared_dir=args.shared_dir, output_dir=args.output_dir)
    if not layout.buyers():
        raise RunError(f"Aucun dossier d'acheteur (avec purchases/) dans {args.buyers_dir}")
    result = run_all_buyers(Path(args.buyers_dir), Path(args.shared_dir), Path(args.output_dir), args.parallele)
    failures = 0
    for key in layout.buyers():
        step = f"buyer_run[{key}]" if f"buyer_run[{key}]" in result.failed_steps else None
        wh = layout.warehouse(key)
        if step is None and wh.exists():
            print(f"{key} : " + summary_text(wh).splitlines()[3].strip())
        else:
            failures += 1
            print(f"{key} : échec (voir le journal de Dagster)", file=sys.stderr)
    if layout.summary_path().exists() and not failures:
        with duckdb.connect(str(layout.summary_path()), read_only=True) as con:
            n, total, ess = con.execute("SELECT buyer_count, total_amount_eur, ess_amount_eur "
                                        "FROM national_objective8").fetchone()
        print(f"Ensemble ({n} acheteurs) : part ESS {pct(ess / total if total else 0, ' ')} "
              f"de {eur(total, ' ')} — résumé : {layout.summary_path()}")
    return 2 if failures or not result.success else 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from achats.dashboards.build import build_dashboard

    with _open_read_only(args.warehouse) as con:
        path = build_dashboard(con, Path(args.dashboard_dir))
    print(f"Tableau de bord : {path}")
    return 0


def cmd_review_export(args: argparse.Namespace) -> int:
    from achats.review import export_review

    with _open_read_only(args.warehouse) as con:
        n = export_review(con, Path(args.output))
    print(f"{n} fournisseurs à vérifier, ceux dont la décision peut le plus changer le montant ESS d'abord : {args.output}")
    print("Remplissez la colonne « Décision » (SIREN, SIRET ou « aucun »), puis : achats review import FICHIER")
    return 0


def _purchase_files_elsewhere(con, data_dir: Path) -> str | None:
    """The first payment file the warehouse was computed on that `data_dir` does not hold as it
    was (absent, or another size): decisions must not be checked against another buyer's run."""
    if not has_table(con, "sources_manifest"):
        return "sources_manifest"
    for path, size in con.execute("SELECT path, size_bytes FROM sources_manifest WHERE kind = 'purchases' "
                                  "ORDER BY path").fetchall():
        file = data_dir / path
        if not file.is_file() or (size is not None and file.stat().st_size != size):
            return path
    return None


def cmd_review_import(args: argparse.Namespace) -> int:
    from achats.review import REVIEWER_ENV, import_decisions

    reviewer = (args.by or os.environ.get(REVIEWER_ENV) or "").strip()
    if not reviewer:
        raise RunError(f"Qui a pris ces décisions ? Indiquez --by PRENOM.NOM ou la variable d'environnement "
                       f"{REVIEWER_ENV} : une décision sans auteur n'est pas enregistrée.")
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise RunError(f"Dossier de données introuvable : {data_dir}")
    from achats.review import keys_without_group, read_decisions

    known = None
    if Path(args.warehouse).exists():
        with _open_read_only(args.warehouse) as con:
            other = _purchase_files_elsewhere(con, data_dir)
            if not other:
                known = {k for (k,) in con.execute("SELECT supplier_key FROM res_supplier_match").fetchall()}
        if other:
            print(f"Avertissement : l'entrepôt {args.warehouse} n'a pas été calculé sur les fichiers d'achats de "
                  f"{data_dir} (« {other} » absent ou modifié) : les clés fournisseur du fichier ne sont pas "
                  "vérifiées (indiquez l'entrepôt de ce calcul avec --warehouse).", file=sys.stderr)
    else:
        print(f"Avertissement : entrepôt {args.warehouse} introuvable : les clés fournisseur du fichier ne sont pas "
              "vérifiées (indiquez-le avec --warehouse).", file=sys.stderr)
    stale = keys_without_group(read_decisions(Path(args.file), reviewer), known)
    for row, key in stale:
        print(f"Avertissement : {Path(args.file).name}, ligne {row}, champ « Clé fournisseur » : la clé « {key} » "
              f"ne correspond à aucun fournisseur de l'entrepôt {args.warehouse} ; décision ignorée (non "
              "enregistrée).", file=sys.stderr)
    read, added, total = import_decisions(Path(args.file), data_dir / "overrides.csv", reviewer, known)
    print(import_summary(read, added, len(stale), total, data_dir / "overrides.csv"))
    return 0


def import_summary(read: int, added: int, ignored: int, total: int, overrides: Path) -> str:
    """What `review import` did, in French with agreement; « déjà en vigueur » only counts the
    decisions that were neither new nor ignored (none on a first import)."""
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'s' if count > 1 else ''}"

    parts = [n(read, "décision") + (" lues" if read > 1 else " lue"), n(added, "nouvelle")]
    if ignored:
        parts.append(n(ignored, "ignorée") + " (clé fournisseur inconnue)")
    unchanged = read - added - ignored
    if unchanged:
        parts.append(f"{unchanged} déjà en vigueur (non {'réécrites' if unchanged > 1 else 'réécrite'})")
    after = ("Elles s'appliqueront" if added > 1 else "Elle s'appliquera") + " au prochain « achats run »." \
        if added else f"{overrides.name} n'est pas modifié."
    return f"{', '.join(parts)} ; {overrides} en garde {total}, historique compris. {after}"


def _open_read_only(path: str | Path):
    import duckdb

    warehouse = Path(path)
    if not warehouse.exists():
        raise RunError(f"Entrepôt introuvable : {warehouse} (lancez d'abord « achats run », ou indiquez le fichier "
                       "avec --warehouse)")
    _check_warehouse_file(warehouse, for_run=False)
    return duckdb.connect(str(warehouse), read_only=True)


def cmd_export(args: argparse.Namespace) -> int:
    from achats.export import export_xlsx

    if getattr(args, "sourcing", False):
        return _export_sourcing(args)
    args.output = args.output or "dashboards/output/achats_ess.xlsx"
    with _open_read_only(args.warehouse) as con:
        counts = export_xlsx(con, Path(args.output))
    print(f"Classeur écrit : {args.output}")
    for title, n in counts:
        print(f"  {title} : {n} lignes")
    return 0


def _export_sourcing(args: argparse.Namespace) -> int:
    """`achats export --sourcing`: the named local ESS offer, one filterable sheet."""
    from achats.export import export_sourcing_xlsx

    output = Path(args.output or "dashboards/output/sourcing_ess.xlsx")
    with _open_read_only(args.warehouse) as con:
        n = export_sourcing_xlsx(con, output)
    print(f"Offre ESS locale écrite : {output} ({n} lignes : une structure × une division CPV)")
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from achats.export import data_dictionary

    with _open_read_only(args.warehouse) as con:
        text = data_dictionary(con)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text + "\n", encoding="utf-8")
    print(f"Dictionnaire des données : {args.output}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from achats.config import load_settings
    from achats.report import build_report

    settings = load_settings(Path(args.data_dir))
    with _open_read_only(args.warehouse) as con:
        text = build_report(con, args.year, settings)
    out = Path(args.output or f"dashboards/output/bilan_spaser_{args.year}.html")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"Bilan SPASER {args.year} : {out}")
    return 0


# `--sources` names, and the entries of sources.toml / achats.toml [sources] behind each.
FETCH_SOURCES = {
    "sirene": ("sirene_unite_legale", "sirene_etablissement"),
    "ess_france": ("ess_france",),
    "esus": ("esus",),
    "decp": ("decp",),
    "siae": ("annuaire_unites_legales",),  # or the marché de l'inclusion API when its token is set
}
FETCH_LABELS = {"sirene": "stocks SIRENE des unités légales et des établissements",
                "siae": "structures inclusives SIAE/EA/ESAT"}


def _fetch_selection(asked: str | None, data_dir: Path) -> tuple[set[str], list[str]]:
    """The sources to fetch, and warnings for configured-out ones; an unknown name, or one asked
    for by name but without an address, stops here (exit 2) before anything is downloaded."""
    import difflib

    from achats.fetch.config import load_sources

    sources = load_sources(data_dir)

    def described(name: str) -> str:
        return f"{name} ({FETCH_LABELS.get(name) or sources[FETCH_SOURCES[name][0]].label})"

    known = ", ".join(described(n) for n in FETCH_SOURCES)
    if asked:
        wanted = [w.strip().lower() for w in asked.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in FETCH_SOURCES]
        if unknown or not wanted:
            close = {w: difflib.get_close_matches(w, FETCH_SOURCES, n=1) for w in unknown}
            hint = "".join(f" (« {w} » : vouliez-vous dire « {c[0]} » ?)" for w, c in close.items() if c)
            raise RunError(f"Source inconnue : {', '.join(f'« {w} »' for w in unknown) or '(aucune)'}{hint}. "
                           f"Sources connues : {known}. Exemple : --sources sirene,ess_france")
    else:
        wanted = list(FETCH_SOURCES)
    missing = [w for w in wanted if any(not sources[k].url for k in FETCH_SOURCES[w])]
    if asked and missing:
        raise RunError("Source sans adresse : " + " ; ".join(
            f"{described(w)} — indiquez son adresse dans achats.toml, section [sources] : "
            f"{FETCH_SOURCES[w][0]} = \"https://…\"" for w in missing) + ". Rien n'a été téléchargé.")
    warnings = [f"source {described(w)} non configurée, ignorée : indiquez son adresse dans achats.toml, "
                f"[sources] {FETCH_SOURCES[w][0]} = \"https://…\"" for w in missing]
    return {w for w in wanted if w not in missing}, warnings


def cmd_fetch(args: argparse.Namespace) -> int:
    from achats.config import load_settings
    from achats.fetch.build import fetch_all
    from achats.fetch.http import FetchError

    data_dir = Path(args.data_dir)
    settings = load_settings(data_dir)  # no folder yet: no achats.toml, the defaults
    buyer = args.buyer_siren or settings.buyer_siren
    departement = args.departement or settings.home_departement
    if args.recherche or args.insee_depuis:
        only, skipped = set(), []
    else:
        only, skipped = _fetch_selection(args.sources, data_dir)
    if not buyer:
        raise RunError("Indiquez le SIREN de l'acheteur : --buyer-siren 223100017, ou dans achats.toml, "
                       "section [acheteur], siren = \"…\"")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"Dossier de données inutilisable ({data_dir}) : {_os_reason(exc)}", code=4) from exc
    for warning in skipped:
        print(f"Avertissement : {warning}", file=sys.stderr)
    try:
        if args.recherche:
            return _fetch_recherche(data_dir, Path(args.warehouse), departement)
        if args.insee_depuis:
            from achats.fetch.apis import InseeSirene
            from achats.fetch.build import insee_units_csv
            from achats.fetch.config import load_sources

            units = InseeSirene(load_sources(data_dir)["insee_sirene_api"]).updated_since(args.insee_depuis)
            n = insee_units_csv(units, data_dir / "sirene" / "StockUniteLegale_maj.csv")
            print(f"{number_fr(n, 0, ' ')} unités mises à jour depuis le {args.insee_depuis} "
                  "(sirene/StockUniteLegale_maj.csv)")
            return 0
        if not only:
            raise RunError("Aucune source configurée à télécharger.")
        manifest = fetch_all(data_dir, Path(args.cache_dir), buyer, departement, only)
    except FetchError as exc:
        raise RunError(f"Source indisponible : {exc}. Réessayez plus tard ; les données déjà présentes dans "
                       f"{data_dir} sont conservées.") from exc
    _stop_progress()
    from achats.fetch.config import load_sources

    sources = load_sources(data_dir)
    for m in manifest:
        kept = f", {number_fr(m['rows_kept'], 0, ' ')} lignes gardées" if m.get("rows_kept") is not None else ""
        label = sources[m["source"]].label if m["source"] in sources else m["source"]
        print(f"{label} ({m['source']}) : {m['status']}{kept}")
    rest = f", sauf {', '.join(sorted(set(FETCH_SOURCES) - only))}" if skipped else ""
    print(f"Dossier de données prêt{rest} : {data_dir} (achats run --data-dir {data_dir})")
    return 0


def _fetch_recherche(data_dir: Path, warehouse: Path, departement: str | None) -> int:
    from achats.fetch.apis import RechercheEntreprises, write_candidates
    from achats.fetch.config import load_sources

    with _open_read_only(str(warehouse)) as con:
        names = [r[0] for r in con.execute("SELECT DISTINCT supplier_name FROM res_supplier_match "
                                           "WHERE match_status = 'unmatched' AND supplier_name IS NOT NULL").fetchall()]
    client = RechercheEntreprises(load_sources(data_dir)["recherche_entreprises"])
    n = write_candidates(names, client, data_dir / "status" / "recherche_candidats.csv", departement)
    print(f"{len(names)} fournisseurs non rapprochés cherchés ; {n} candidats proposés à la vérification "
          f"(status/recherche_candidats.csv, jamais acceptés automatiquement)")
    return 0


# argparse's own words, in French (it looks them up through gettext at the time it prints them).
ARGPARSE_FR = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "affiche cette aide et s'arrête",
    "show program's version number and exit": "affiche la version et s'arrête",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "commande inconnue %(parser_name)r (possibles : %(choices)s)",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur %r ignorée : cette option n'en prend pas",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "expected one argument": "une valeur est attendue",
    "expected at most one argument": "une valeur au plus est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "expected %s argument": "%s valeur attendue",
    "expected %s arguments": "%s valeurs attendues",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "unexpected option string: %s": "option inattendue : %s",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (possibles : %(choices)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
}


def _fr(text: str) -> str:
    return ARGPARSE_FR.get(text, text)


def _fr_plural(singular: str, plural: str, n: int) -> str:
    return _fr(singular if n == 1 else plural)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks; the usage line in French."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="utilisation : " if prefix is None else prefix)


def _year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas une année (par exemple 2025)")
    return int(text)


def _date(text: str) -> str:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas une date AAAA-MM-JJ (par exemple 2026-10-01)") from None


def _version() -> str:
    from achats import __version__

    return f"achats {__version__}"


def _sub(sub, name: str, help_text: str, example: str, description: str | None = None) -> argparse.ArgumentParser:
    text = description or help_text[:1].upper() + help_text[1:] + "."
    text = "\n\n".join(par if "\n" in par else textwrap.fill(par, 79) for par in text.split("\n\n"))
    p = sub.add_parser(name, help=help_text, description=text,
                       epilog="Exemple :\n  " + example.replace("\n", "\n  "), formatter_class=_Formatter,
                       add_help=False)
    p.add_argument("-h", "--help", action="help", help="affiche cette aide et s'arrête")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help=f"journal détaillé et trace complète des erreurs (ou {VERBOSE_ENV}=1)")
    return p


EXIT_TEXT = "Codes de sortie :\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())


def build_parser() -> argparse.ArgumentParser:
    argparse._ = _fr  # type: ignore[attr-defined]  # argparse's own messages (errors, titles)
    argparse.ngettext = _fr_plural  # type: ignore[attr-defined]
    parser = argparse.ArgumentParser(
        prog="achats", formatter_class=_Formatter, add_help=False,
        description="Part des achats d'un acheteur public auprès de l'économie sociale et solidaire (ESS).",
        epilog="Exemples :\n  achats run --data-dir mes_donnees\n  achats run --help\n\n" + EXIT_TEXT)
    parser.add_argument("-h", "--help", action="help", help="affiche cette aide et s'arrête")
    parser.add_argument("--version", action="version", version=_version(), help="affiche la version et s'arrête")
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help=f"journal détaillé et trace complète des erreurs (ou {VERBOSE_ENV}=1)")
    sub = parser.add_subparsers(dest="command", required=True, title="commandes", metavar="COMMANDE",
                                help="la commande à lancer (achats COMMANDE --help pour la sienne)")

    run = _sub(sub, "run", "calcule tout à partir d'un dossier de données",
               "achats run --data-dir mes_donnees --warehouse entrepot/achats.duckdb",
               "Lit le dossier de données, rapproche les fournisseurs, calcule les chiffres de l'objectif 8, "
               "vérifie les contrôles bloquants, puis remplace l'entrepôt et le tableau de bord d'un coup.\n\n"
               + EXIT_TEXT)
    run.add_argument("--data-dir", default=str(sample_dir()), metavar="DOSSIER",
                     help="dossier de données : purchases/, sirene/, status/, contracts/, achats.toml "
                          "(défaut : l'échantillon embarqué)")
    run.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                     help=f"entrepôt DuckDB produit (défaut : {DEFAULT_WAREHOUSE})")
    run.add_argument("--dashboard-dir", default=str(DEFAULT_DASHBOARD_DIR), metavar="DOSSIER",
                     help=f"dossier du tableau de bord (défaut : {DEFAULT_DASHBOARD_DIR})")
    run.add_argument("--shared-dir", default=None, metavar="DOSSIER",
                     help="dossier commun (sirene/, status/) partagé entre acheteurs, lu quand le dossier de "
                          "données n'a pas les siens")
    run.add_argument("--autoriser-liens", action="store_true",
                     help="accepte les liens symboliques qui mènent hors du dossier de données (refusés sinon)")
    run.add_argument("--moteur", choices=ENGINES, default="direct",
                     help="qui exécute le calcul : « direct » (défaut : les mêmes étapes et contrôles, sans la "
                          "machinerie de Dagster) ou « dagster » (un calcul Dagster, avec son journal d'événements)")
    run.set_defaults(func=cmd_run)

    run_all = _sub(sub, "run-all", "un calcul par dossier d'acheteur, avec un référentiel commun",
                   "achats run-all --buyers-dir acheteurs --shared-dir commun --output-dir entrepots")
    run_all.add_argument("--buyers-dir", required=True, metavar="DOSSIER",
                         help="dossier qui contient un sous-dossier par acheteur (chacun avec purchases/)")
    run_all.add_argument("--shared-dir", required=True, metavar="DOSSIER",
                         help="dossier commun : sirene/ et status/ partagés")
    run_all.add_argument("--output-dir", default="data/warehouse/acheteurs", metavar="DOSSIER",
                         help="où écrire un entrepôt et un tableau de bord par acheteur "
                              "(défaut : data/warehouse/acheteurs)")
    run_all.add_argument("--autoriser-liens", action="store_true",
                         help="accepte les liens symboliques qui mènent hors des dossiers de données "
                              "(pour chaque acheteur : variable ACHATS_LIENS_EXTERNES=1)")
    run_all.add_argument("--parallele", type=int, default=2, metavar="N",
                         help="acheteurs calculés en même temps, chacun dans son processus (défaut : 2)")
    run_all.set_defaults(func=cmd_run_all)

    dash = _sub(sub, "dashboard", "reconstruit le tableau de bord depuis l'entrepôt",
                "achats dashboard --warehouse entrepot/achats.duckdb --dashboard-dir tableau")
    dash.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                      help=f"entrepôt à lire (défaut : {DEFAULT_WAREHOUSE})")
    dash.add_argument("--dashboard-dir", default=str(DEFAULT_DASHBOARD_DIR), metavar="DOSSIER",
                      help=f"dossier où écrire tableau_de_bord_ess.html (défaut : {DEFAULT_DASHBOARD_DIR})")
    dash.set_defaults(func=cmd_dashboard)

    fetch = _sub(sub, "fetch", "télécharge les sources et prépare le dossier de données",
                 "achats fetch --data-dir mes_donnees --buyer-siren 223100017 --departement 31\n"
                 "achats fetch --data-dir mes_donnees --sources sirene,ess_france")
    fetch.add_argument("--data-dir", required=True, metavar="DOSSIER", help="dossier de données à remplir")
    fetch.add_argument("--buyer-siren", default=None, metavar="SIREN",
                       help="SIREN de l'acheteur (sinon achats.toml [acheteur] siren)")
    fetch.add_argument("--departement", default=None, metavar="CODE",
                       help="département de l'acheteur, par exemple 31 (sinon achats.toml [acheteur] departement)")
    fetch.add_argument("--cache-dir", default="data/cache", metavar="DOSSIER",
                       help="où garder les fichiers téléchargés (défaut : data/cache)")
    fetch.add_argument("--sources", default=None, metavar="LISTE",
                       help=f"sources à télécharger, séparées par des virgules, parmi {','.join(FETCH_SOURCES)} "
                            "(défaut : toutes celles qui ont une adresse)")
    fetch.add_argument("--recherche", action="store_true",
                       help="cherche les fournisseurs non rapprochés dans l'API Recherche d'entreprises "
                            "(après un calcul)")
    fetch.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                       help="entrepôt où lire les fournisseurs non rapprochés (avec --recherche)")
    fetch.add_argument("--insee-depuis", default=None, metavar="AAAA-MM-JJ", type=_date,
                       help="rafraîchit par l'API Sirene les unités modifiées depuis cette date")
    fetch.set_defaults(func=cmd_fetch)

    export = _sub(sub, "export", "exporte les vues principales dans un classeur Excel",
                  "achats export --output achats_ess.xlsx")
    export.add_argument("--format", choices=["xlsx"], default="xlsx", help="format du fichier (xlsx seulement)")
    export.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                        help=f"entrepôt à lire (défaut : {DEFAULT_WAREHOUSE})")
    export.add_argument("--output", default=None, metavar="FICHIER",
                        help="classeur à écrire (défaut : dashboards/output/achats_ess.xlsx, "
                             "sourcing_ess.xlsx avec --sourcing)")
    export.add_argument("--sourcing", action="store_true",
                        help="écrit seulement l'offre ESS locale nommée (une feuille filtrable, liens cliquables)")
    export.set_defaults(func=cmd_export)

    report = _sub(sub, "report", "bilan annuel SPASER (HTML)", "achats report --year 2025 --data-dir mes_donnees")
    report.add_argument("--year", type=_year, required=True, metavar="ANNÉE", help="année du bilan, par exemple 2025")
    report.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                        help=f"entrepôt à lire (défaut : {DEFAULT_WAREHOUSE})")
    report.add_argument("--data-dir", default=str(sample_dir()), metavar="DOSSIER",
                        help="dossier de données, pour lire achats.toml (paramètres de la méthode)")
    report.add_argument("--output", default=None, metavar="FICHIER",
                        help="page à écrire (défaut : dashboards/output/bilan_spaser_ANNÉE.html)")
    report.set_defaults(func=cmd_report)

    dictionary = _sub(sub, "dictionary", "écrit le dictionnaire des données (Markdown)",
                      "achats dictionary --output docs/dictionnaire_donnees.md")
    dictionary.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                            help=f"entrepôt à lire (défaut : {DEFAULT_WAREHOUSE})")
    dictionary.add_argument("--output", default="docs/dictionnaire_donnees.md", metavar="FICHIER",
                            help="fichier à écrire (défaut : docs/dictionnaire_donnees.md)")
    dictionary.set_defaults(func=cmd_dictionary)

    review_parser = _sub(sub, "review", "file de vérification des fournisseurs",
                         "achats review export --output revue.xlsx\n"
                         "achats review import revue.xlsx --data-dir mes_donnees --by prenom.nom")
    review = review_parser.add_subparsers(dest="review_command", required=True, title="commandes",
                                          metavar="COMMANDE", help="export ou import")
    rexp = _sub(review, "export", "écrit les fournisseurs à vérifier (.xlsx ou .csv)",
                "achats review export --output revue.xlsx")
    rexp.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                      help=f"entrepôt à lire (défaut : {DEFAULT_WAREHOUSE})")
    rexp.add_argument("--output", default="data/review/revue_fournisseurs.xlsx", metavar="FICHIER",
                      help="fichier à écrire, .xlsx ou .csv (défaut : data/review/revue_fournisseurs.xlsx)")
    rexp.set_defaults(func=cmd_review_export)
    rimp = _sub(review, "import", "reporte les décisions dans overrides.csv",
                "achats review import revue.xlsx --data-dir mes_donnees --by prenom.nom")
    rimp.add_argument("file", metavar="FICHIER", help="fichier de revue rempli (colonne « Décision »)")
    rimp.add_argument("--data-dir", default=str(sample_dir()), metavar="DOSSIER",
                      help="dossier de données dont overrides.csv reçoit les décisions")
    rimp.add_argument("--by", default=None, metavar="PRENOM.NOM",
                      help="auteur des décisions (sinon la variable d'environnement ACHATS_REVIEWER)")
    rimp.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), metavar="FICHIER",
                      help=f"entrepôt dont les clés fournisseur sont vérifiées (défaut : {DEFAULT_WAREHOUSE})")
    rimp.set_defaults(func=cmd_review_import)
    return parser


_REPORTER = None


def _stop_progress() -> None:
    """Close the bars before the summary is printed below them."""
    global _REPORTER
    from achats import progress

    if _REPORTER is not None:
        _REPORTER.close()
        progress.set_reporter(progress.Reporter())
        _REPORTER = None


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) or "\n" in text else text + "."


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure is one French paragraph and an exit code (see EXIT_CODES)."""
    global _REPORTER
    from achats import progress

    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False)) or os.environ.get(VERBOSE_ENV, "").strip() not in ("", "0")
    args.verbose = verbose
    if args.command in ("run", "run-all", "fetch"):
        _REPORTER = progress.reporter_for(sys.stderr)
        progress.set_reporter(_REPORTER)
    if not verbose:
        import warnings

        warnings.filterwarnings("ignore")  # Dagster's beta/deprecation notices are not for the operator
    try:
        return args.func(args)
    except (RunError, InputError) as exc:
        _stop_progress()
        if verbose:
            traceback.print_exc()
        print(f"Erreur : {_sentence(str(exc))}", file=sys.stderr)
        return getattr(exc, "code", 2)
    except _StepFailure as exc:
        _stop_progress()
        if verbose:
            print(exc.info.to_string(), file=sys.stderr)
        print(f"Erreur interne à l'étape « {exc.step} » ({exc.user.cls_name} : {_error_message(exc.user)}). "
              "C'est un défaut du programme, pas de vos données : relancez avec --verbose pour obtenir la trace "
              "complète et transmettez-la à l'équipe qui maintient achats. L'entrepôt précédent est conservé.",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _stop_progress()
        print("Interrompu : rien n'a été publié, l'entrepôt précédent est conservé.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, said in French, trace on demand
        _stop_progress()
        if verbose:
            traceback.print_exc()
        print(f"Erreur interne inattendue ({type(exc).__name__} : {exc}). C'est un défaut du programme : relancez "
              "avec --verbose (ou ACHATS_VERBOSE=1) pour obtenir la trace complète et transmettez-la à l'équipe qui "
              "maintient achats.", file=sys.stderr)
        return 1
    finally:
        _stop_progress()


if __name__ == "__main__":
    sys.exit(main())
