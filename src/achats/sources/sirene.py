"""Load INSEE SIRENE stock files (CSV, CSV.gz, zipped CSV or parquet) into DuckDB.

Only the columns the pipeline uses are kept; a missing optional column becomes NULL so that
trimmed extracts and the full national stocks load the same way.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import duckdb

from achats import progress
from achats.db import scalar
from achats.errors import InputError
from achats.safety import DEFAULT_MAX_ARCHIVE_GB, unpack_member

UNITE_LEGALE_COLUMNS = [
    "siren", "statutDiffusionUniteLegale", "dateCreationUniteLegale", "sigleUniteLegale",
    "denominationUniteLegale", "denominationUsuelle1UniteLegale", "denominationUsuelle2UniteLegale",
    "denominationUsuelle3UniteLegale", "nomUniteLegale", "nomUsageUniteLegale", "prenom1UniteLegale",
    "prenomUsuelUniteLegale",  # only to recognise and mask a non-diffusible person's name in free text
    "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale", "etatAdministratifUniteLegale",
    "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale", "nicSiegeUniteLegale",
    "trancheEffectifsUniteLegale", "dateDebut",
]
ETABLISSEMENT_COLUMNS = [
    "siren", "nic", "siret", "statutDiffusionEtablissement", "etablissementSiege",
    "etatAdministratifEtablissement", "codePostalEtablissement", "codeCommuneEtablissement",
    "libelleCommuneEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
    "enseigne3Etablissement", "denominationUsuelleEtablissement", "activitePrincipaleEtablissement",
    "dateCreationEtablissement", "dateDebut",
    "trancheEffectifsEtablissement",  # size of a local establishment, for the sourcing list
]
HISTORY_COLUMNS = [
    "siren", "dateFin", "dateDebut", "etatAdministratifUniteLegale", "categorieJuridiqueUniteLegale",
    "economieSocialeSolidaireUniteLegale", "denominationUniteLegale", "activitePrincipaleUniteLegale",
]
REQUIRED = {"unite_legale": {"siren"}, "etablissement": {"siret"}, "historique": {"siren", "dateDebut"}}
KINDS = {
    "unite_legale": ("StockUniteLegale", UNITE_LEGALE_COLUMNS),
    "etablissement": ("StockEtablissement", ETABLISSEMENT_COLUMNS),
    "historique": ("StockUniteLegaleHistorique", HISTORY_COLUMNS),
}


SUFFIXES = (".csv", ".csv.gz", ".zip", ".parquet")
LABELS = {"unite_legale": "unités légales", "etablissement": "établissements", "historique": "historique"}


def _files(folder: Path, prefix: str, exclude: str | None) -> list[Path]:
    out = []
    for p in sorted(folder.glob(f"{prefix}*")):
        name = p.name.lower()
        if exclude and p.name.startswith(exclude):
            continue
        if name.endswith(SUFFIXES):
            out.append(p)
    return out


def _kind_by_columns(con: duckdb.DuckDBPyConnection, path: Path, max_bytes: float = DEFAULT_MAX_ARCHIVE_GB * 1e9
                     ) -> str | None:
    """A file not named as INSEE names them is recognised by its columns."""
    with tempfile.TemporaryDirectory() as tmp:
        rel, params = _relation_sql(path, Path(tmp), max_bytes)
        try:
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}", params).fetchall()}
        except duckdb.Error:
            return None
    if "siret" in cols or {"siren", "nic"} <= cols:
        return "etablissement"
    if {"siren", "dateFin", "dateDebut"} <= cols:
        return "historique"
    if "siren" in cols:
        return "unite_legale"
    return None


def sirene_files(con: duckdb.DuckDBPyConnection, folder: Path, kind: str,
                 max_bytes: float = DEFAULT_MAX_ARCHIVE_GB * 1e9) -> list[Path]:
    prefix, _ = KINDS[kind]
    exclude = "StockUniteLegaleHistorique" if kind == "unite_legale" else None
    named = _files(folder, prefix, exclude)
    if not folder.is_dir():
        return named
    known = {p for k in KINDS for p in _files(folder, KINDS[k][0], None)}
    others = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES) and p not in known)
    return named + [p for p in others if _kind_by_columns(con, p, max_bytes) == kind]


def _relation_sql(path: Path, tmp: Path, max_bytes: float = DEFAULT_MAX_ARCHIVE_GB * 1e9) -> tuple[str, list]:
    """A SELECT over one file; zip archives are unpacked to a temporary folder first, within a size limit."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "read_parquet(?)", [str(path)]
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if m.lower().endswith(".csv")]
        except zipfile.BadZipFile as exc:
            raise InputError(f"sirene/{path.name} : archive zip illisible ou incomplète") from exc
        if not members:
            raise InputError(f"{path.name} : l'archive ne contient aucun fichier CSV")
        path = unpack_member(path, members[0], tmp, max_bytes, f"sirene/{path.name}")
    return "read_csv(?, all_varchar = true, header = true)", [str(path)]


def load_stock(con: duckdb.DuckDBPyConnection, data_dir: Path, kind: str, table: str,
               max_archive_bytes: float = DEFAULT_MAX_ARCHIVE_GB * 1e9) -> int:
    """Create `table` from every matching file of `sirene/`; return its row count."""
    _, columns = KINDS[kind]
    files = sirene_files(con, data_dir / "sirene", kind, max_archive_bytes)
    select_parts = []
    params: list = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            rel, p = _relation_sql(path, Path(tmp), max_archive_bytes)
            try:
                present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}", p).fetchall()}
            except duckdb.Error as exc:
                raise InputError(f"sirene/{path.name} : fichier illisible ({exc})") from exc
            missing = REQUIRED[kind] - present
            if kind == "etablissement" and "siret" in missing and {"siren", "nic"} <= present:
                missing = set()
            if missing:
                raise InputError(f"sirene/{path.name} : colonnes obligatoires absentes {sorted(missing)}")
            cols = []
            for c in columns:
                if c in present:
                    cols.append(f'CAST("{c}" AS VARCHAR) AS "{c}"')
                elif c == "siret" and {"siren", "nic"} <= present:
                    cols.append('CAST(siren AS VARCHAR) || lpad(CAST(nic AS VARCHAR), 5, \'0\') AS "siret"')
                else:
                    cols.append(f'CAST(NULL AS VARCHAR) AS "{c}"')
            select_parts.append(f"SELECT {', '.join(cols)}, ? AS source_file FROM {rel}")
            params.extend([f"sirene/{path.name}", *p])
        empty = ", ".join(f'CAST(NULL AS VARCHAR) AS "{c}"' for c in columns)
        body = " UNION ALL ".join(select_parts) if select_parts else f"SELECT {empty}, CAST(NULL AS VARCHAR) AS source_file WHERE false"
        try:
            with progress.watch_query(con, f"Chargement de SIRENE ({LABELS[kind]})"):
                con.execute(f"CREATE OR REPLACE TABLE {table} AS {body}", params)
        except duckdb.Error as exc:
            raise InputError(f"sirene/ : lecture impossible ({exc})") from exc
    return scalar(con, f"SELECT count(*) FROM {table}")
