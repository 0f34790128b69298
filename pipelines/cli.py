"""`achats` command line: run the pipeline, rebuild the dashboard.

Messages are in French: the people who run this are the buyer's staff.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import logging
import os
import sys
import time
from pathlib import Path

from achats.db import rows
from achats.errors import InputError
from achats.formatting import eur, number_fr, pct
from achats.paths import sample_dir

DEFAULT_WAREHOUSE = Path("data/warehouse/achats.duckdb")
DEFAULT_DASHBOARD_DIR = Path("dashboards/output")


class RunError(Exception):
    """A run that cannot go on; the message is for the user."""


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
        raise RunError(f"Destination de l'entrepôt inutilisable ({warehouse.parent}) : {_os_reason(exc)}") from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunError(f"Un autre calcul écrit déjà dans {warehouse} : réessayez quand il sera terminé.") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_pipeline(data_dir: Path, warehouse: Path, dashboard_dir: Path, quiet: bool = True,
                 shared_dir: Path | None = None) -> Path:
    """Materialize every asset into a new file, then swap it in: readers never see half a run."""
    import dagster as dg

    from pipelines.checks import CHECKS
    from pipelines.definitions import UNPARTITIONED_ASSETS
    from pipelines.resources import resources_for

    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise RunError(f"Dossier de données introuvable : {data_dir}")
    with _run_lock(warehouse):
        tmp = warehouse.with_name(warehouse.name + ".tmp")
        for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
            stale.unlink(missing_ok=True)
        run_config = {"loggers": {"console": {"config": {"log_level": "ERROR" if quiet else "INFO"}}}}
        if quiet:
            logging.getLogger("dagster").setLevel(logging.ERROR)
        try:
            previous = warehouse if warehouse.exists() else None
            result = dg.materialize(UNPARTITIONED_ASSETS + CHECKS,
                                    resources=resources_for(data_dir, tmp, dashboard_dir, previous, shared_dir),
                                    run_config=run_config, raise_on_error=True,
                                    instance=dg.DagsterInstance.ephemeral())
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            found = _find_input_error(exc)
            if found:
                raise RunError(f"Données d'entrée inutilisables : {found}") from exc
            disk = next((e for e in _chain(exc) if isinstance(e, OSError)), None)
            if disk is not None or "No space left" in str(exc) or "Read-only" in str(exc):
                reason = _os_reason(disk) if disk is not None else str(exc).splitlines()[-1]
                raise RunError(f"Écriture impossible dans {tmp.parent} : {reason}. L'entrepôt précédent est conservé."
                               ) from exc
            if type(exc).__name__ == "DagsterAssetCheckFailedError" or "check" in str(exc).lower():
                raise RunError(f"Contrôle de qualité bloquant en échec : {exc}. L'entrepôt précédent est conservé."
                               ) from exc
            raise
        failed = [e for e in result.get_asset_check_evaluations()
                  if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
        if failed:
            tmp.unlink(missing_ok=True)
            names = ", ".join(e.check_name for e in failed)
            raise RunError(f"Contrôles de qualité en échec ({names}) : l'entrepôt précédent est conservé.")
        for e in result.get_asset_check_evaluations():
            if not e.passed:
                moves = e.metadata.get("moves")
                detail = moves.value.replace("**", "") if moves is not None else ""
                print(f"Avertissement ({e.check_name}) : la part ESS bouge de plus de "
                      f"{e.metadata['limit_points'].value} d'un trimestre à l'autre :\n{detail}"
                      if moves is not None else f"Avertissement ({e.check_name})", file=sys.stderr)
        try:
            os.replace(tmp, warehouse)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise RunError(f"Impossible d'écrire l'entrepôt {warehouse} : {_os_reason(exc)}. "
                           "L'entrepôt précédent est conservé.") from exc
    return warehouse


def summary_text(warehouse: Path) -> str:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        s = rows(con, "SELECT * FROM objective8_summary WHERE period = 'ALL'")[0]
    sep = " "
    return "\n".join([
        "Objectif 8 — achats auprès de l'économie sociale et solidaire",
        f"  Dépense totale analysée : {eur(s['total_amount_eur'], sep)} ({number_fr(s['line_count'], 0, sep)} lignes)",
        f"  Dépense ESS (estimation) : {eur(s['ess_amount_eur'], sep)}"
        f" [fourchette {eur(s['ess_amount_low_eur'], sep)} – {eur(s['ess_amount_high_eur'], sep)}]",
        f"  Part ESS : {pct(s['ess_share'], sep)} [{pct(s['ess_share_low'], sep)} – {pct(s['ess_share_high'], sep)}]",
        f"  Dépense non rapprochée : {eur(s['unmatched_amount_eur'], sep)} ; à vérifier : {eur(s['review_amount_eur'], sep)}",
        f"  Lignes en quarantaine : {number_fr(s['quarantined_line_count'], 0, sep)}",
    ])


def input_warnings(warehouse: Path) -> list[str]:
    """What the reader kept but counted nowhere: files that repeat another one."""
    from achats.sources.purchases import duplicate_warnings

    with _open_read_only(warehouse) as con:
        files = con.sql("SELECT * FROM src_purchase_files").pl()
    return duplicate_warnings(files)


def cmd_run(args: argparse.Namespace) -> int:
    from achats.config import load_settings

    start = time.perf_counter()
    if Path(args.data_dir).is_dir():
        for warning in load_settings(Path(args.data_dir)).warnings:
            print(f"Avertissement : {warning}", file=sys.stderr)
    warehouse = run_pipeline(Path(args.data_dir), Path(args.warehouse), Path(args.dashboard_dir),
                             quiet=not args.verbose, shared_dir=Path(args.shared_dir) if args.shared_dir else None)
    for warning in input_warnings(warehouse):
        print(f"Avertissement : {warning}", file=sys.stderr)
    print(summary_text(warehouse))
    print(f"Entrepôt : {warehouse}")
    print(f"Tableau de bord : {Path(args.dashboard_dir) / 'tableau_de_bord_ess.html'}")
    print(f"Durée : {time.perf_counter() - start:.1f} s")
    return 0


def cmd_run_all(args: argparse.Namespace) -> int:
    """Every buyer folder of --buyers-dir, each into its own warehouse: the local form of the
    per-buyer fan-out described in the README (one partition per buyer SIREN)."""
    buyers = sorted(p for p in Path(args.buyers_dir).iterdir() if p.is_dir() and (p / "purchases").is_dir())
    if not buyers:
        raise RunError(f"Aucun dossier d'acheteur (avec purchases/) dans {args.buyers_dir}")
    failures = 0
    for folder in buyers:
        out = Path(args.output_dir) / folder.name
        try:
            wh = run_pipeline(folder, out / "achats.duckdb", out / "tableau_de_bord", shared_dir=Path(args.shared_dir))
            print(f"{folder.name} : " + summary_text(wh).splitlines()[3].strip())
        except (RunError, InputError) as exc:
            failures += 1
            print(f"{folder.name} : échec — {exc}", file=sys.stderr)
    return 2 if failures else 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from dashboards.build import build_dashboard

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


def cmd_review_import(args: argparse.Namespace) -> int:
    from achats.review import REVIEWER_ENV, import_decisions

    reviewer = (args.by or os.environ.get(REVIEWER_ENV) or "").strip()
    if not reviewer:
        raise RunError(f"Qui a pris ces décisions ? Indiquez --by PRENOM.NOM ou la variable d'environnement "
                       f"{REVIEWER_ENV} : une décision sans auteur n'est pas enregistrée.")
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise RunError(f"Dossier de données introuvable : {data_dir}")
    read, added, total = import_decisions(Path(args.file), data_dir / "overrides.csv", reviewer)
    print(f"{read} décisions lues, {added} nouvelles (les autres étaient déjà en vigueur) ; "
          f"{data_dir / 'overrides.csv'} en garde {total}, historique compris. "
          "Elles s'appliqueront au prochain « achats run ».")
    return 0


def _open_read_only(path: str):
    import duckdb

    warehouse = Path(path)
    if not warehouse.exists():
        raise RunError(f"Entrepôt introuvable : {warehouse} (lancez d'abord « achats run »)")
    return duckdb.connect(str(warehouse), read_only=True)


def cmd_export(args: argparse.Namespace) -> int:
    from achats.export import export_xlsx

    with _open_read_only(args.warehouse) as con:
        counts = export_xlsx(con, Path(args.output))
    print(f"Classeur écrit : {args.output}")
    for title, n in counts:
        print(f"  {title} : {n} lignes")
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


def cmd_fetch(args: argparse.Namespace) -> int:
    from achats.config import load_settings
    from achats.fetch.build import fetch_all
    from achats.fetch.http import FetchError

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir)
    buyer = args.buyer_siren or settings.buyer_siren
    departement = args.departement or settings.home_departement
    if not buyer:
        raise RunError("Indiquez le SIREN de l'acheteur (--buyer-siren ou achats.toml [acheteur] siren)")
    try:
        if args.recherche:
            return _fetch_recherche(data_dir, Path(args.warehouse), departement)
        if args.insee_depuis:
            from achats.fetch.apis import InseeSirene
            from achats.fetch.build import insee_units_csv
            from achats.fetch.config import load_sources

            units = InseeSirene(load_sources(data_dir)["insee_sirene_api"]).updated_since(args.insee_depuis)
            n = insee_units_csv(units, data_dir / "sirene" / "StockUniteLegale_maj.csv")
            print(f"{n} unités mises à jour depuis le {args.insee_depuis} (sirene/StockUniteLegale_maj.csv)")
            return 0
        only = set(args.sources.split(",")) if args.sources else None
        manifest = fetch_all(data_dir, Path(args.cache_dir), buyer, departement, only)
    except FetchError as exc:
        raise RunError(f"Source indisponible : {exc}") from exc
    for m in manifest:
        kept = f", {m['rows_kept']} lignes gardées" if m.get("rows_kept") is not None else ""
        print(f"{m['source']} : {m['status']}{kept}")
    print(f"Dossier de données prêt : {data_dir} (achats run --data-dir {data_dir})")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="achats", description="Part des achats publics auprès de l'ESS.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="calcule tout à partir d'un dossier de données")
    run.add_argument("--data-dir", default=str(sample_dir()), help="dossier de données (défaut : l'échantillon embarqué)")
    run.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE), help="fichier DuckDB produit")
    run.add_argument("--dashboard-dir", default=str(DEFAULT_DASHBOARD_DIR), help="dossier du tableau de bord")
    run.add_argument("--verbose", action="store_true", help="affiche le journal de Dagster")
    run.add_argument("--shared-dir", default=None, help="dossier commun (sirene/, status/) partagé entre acheteurs")
    run.set_defaults(func=cmd_run)
    run_all = sub.add_parser("run-all", help="un calcul par dossier d'acheteur, avec un référentiel commun")
    run_all.add_argument("--buyers-dir", required=True)
    run_all.add_argument("--shared-dir", required=True)
    run_all.add_argument("--output-dir", default="data/warehouse/acheteurs")
    run_all.set_defaults(func=cmd_run_all)
    dash = sub.add_parser("dashboard", help="reconstruit le tableau de bord depuis l'entrepôt")
    dash.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE))
    dash.add_argument("--dashboard-dir", default=str(DEFAULT_DASHBOARD_DIR))
    dash.set_defaults(func=cmd_dashboard)
    fetch = sub.add_parser("fetch", help="télécharge les sources et prépare le dossier de données")
    fetch.add_argument("--data-dir", required=True)
    fetch.add_argument("--buyer-siren", default=None)
    fetch.add_argument("--departement", default=None)
    fetch.add_argument("--cache-dir", default="data/cache")
    fetch.add_argument("--sources", default=None, help="liste parmi sirene,ess_france,esus,decp,siae")
    fetch.add_argument("--recherche", action="store_true",
                       help="cherche les fournisseurs non rapprochés dans l'API Recherche d'entreprises")
    fetch.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE))
    fetch.add_argument("--insee-depuis", default=None, metavar="AAAA-MM-JJ",
                       help="rafraîchit par l'API Sirene les unités modifiées depuis cette date")
    fetch.set_defaults(func=cmd_fetch)
    export = sub.add_parser("export", help="exporte les vues principales dans un classeur Excel")
    export.add_argument("--format", choices=["xlsx"], default="xlsx")
    export.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE))
    export.add_argument("--output", default="dashboards/output/achats_ess.xlsx")
    export.set_defaults(func=cmd_export)
    report = sub.add_parser("report", help="bilan annuel SPASER (HTML)")
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE))
    report.add_argument("--data-dir", default=str(sample_dir()), help="pour lire achats.toml (paramètres de la méthode)")
    report.add_argument("--output", default=None)
    report.set_defaults(func=cmd_report)
    dictionary = sub.add_parser("dictionary", help="écrit le dictionnaire des données (Markdown)")
    dictionary.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE))
    dictionary.add_argument("--output", default="docs/dictionnaire_donnees.md")
    dictionary.set_defaults(func=cmd_dictionary)
    review = sub.add_parser("review", help="file de vérification des fournisseurs").add_subparsers(
        dest="review_command", required=True)
    rexp = review.add_parser("export", help="écrit les fournisseurs à vérifier (.xlsx ou .csv)")
    rexp.add_argument("--warehouse", default=str(DEFAULT_WAREHOUSE))
    rexp.add_argument("--output", default="data/review/revue_fournisseurs.xlsx")
    rexp.set_defaults(func=cmd_review_export)
    rimp = review.add_parser("import", help="reporte les décisions dans overrides.csv")
    rimp.add_argument("file", help="fichier de revue rempli")
    rimp.add_argument("--data-dir", default=str(sample_dir()))
    rimp.add_argument("--by", default=None,
                      help="auteur des décisions (sinon la variable d'environnement ACHATS_REVIEWER)")
    rimp.set_defaults(func=cmd_review_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RunError, InputError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
