"""Read INSEE SIRENE stock files (CSV, CSV.gz, zipped CSV or parquet) where they lie.

Only the columns the pipeline uses are kept; a missing optional column becomes NULL so that
trimmed extracts and the full national stocks load the same way. The national stocks are never
copied whole: either the buyer's perimeter is read through a filtered scan, or the tables are
views over the files.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from achats import progress
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
    "identifiantAssociationUniteLegale",  # an association's RNA number (W…), typed by some exports as its identifier
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
    # former names, only to mask those of a non-diffusible unit in free text (res_line_mask)
    "denominationUsuelle1UniteLegale", "nomUniteLegale", "nomUsageUniteLegale",
]
REQUIRED = {"unite_legale": {"siren"}, "etablissement": {"siret"}, "historique": {"siren", "dateDebut"}}
LABELS = {"unite_legale": "unités légales", "etablissement": "établissements", "historique": "historique"}
KINDS = {
    "unite_legale": ("StockUniteLegale", UNITE_LEGALE_COLUMNS),
    "etablissement": ("StockEtablissement", ETABLISSEMENT_COLUMNS),
    "historique": ("StockUniteLegaleHistorique", HISTORY_COLUMNS),
}


SUFFIXES = (".csv", ".csv.gz", ".zip", ".parquet")


def _files(folder: Path, prefix: str, exclude: str | None) -> list[Path]:
    out = []
    for p in sorted(folder.glob(f"{prefix}*")):
        name = p.name.lower()
        if exclude and p.name.startswith(exclude):
            continue
        if name.endswith(SUFFIXES):
            out.append(p)
    return out


def _kind_by_columns(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """A file not named as INSEE names them is recognised by its columns."""
    with tempfile.TemporaryDirectory() as tmp:
        rel, params = _relation_sql(path, Path(tmp))
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


def sirene_files(con: duckdb.DuckDBPyConnection, folder: Path, kind: str) -> list[Path]:
    prefix, _ = KINDS[kind]
    exclude = "StockUniteLegaleHistorique" if kind == "unite_legale" else None
    named = _files(folder, prefix, exclude)
    if not folder.is_dir():
        return named
    known = {p for k in KINDS for p in _files(folder, KINDS[k][0], None)}
    others = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES) and p not in known)
    return named + [p for p in others if _kind_by_columns(con, p) == kind]


# the size limit for unpacking archives (achats.toml [securite] taille_max_archive_go), set per run
MAX_ARCHIVE_BYTES = DEFAULT_MAX_ARCHIVE_GB * 1e9


def _relation_sql(path: Path, tmp: Path) -> tuple[str, list]:
    """A SELECT over one file; zip archives are unpacked to a temporary folder first, within a
    size limit (a small zip can hold a disk-filling file)."""
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
        path = unpack_member(path, members[0], tmp, MAX_ARCHIVE_BYTES, f"sirene/{path.name}")
    return "read_csv(?, all_varchar = true, header = true)", [str(path)]


def _read_error(exc: duckdb.Error, files: list[Path], always: bool = False) -> str | None:
    """DuckDB's CSV errors are long English dumps: the operator gets the file's name and what to do.
    None when the error names none of `files` and is no CSV error."""
    text = str(exc)
    named = [f for f in files if str(f) in text or f.name in text] or (files if always else [])
    where = ", ".join(f"sirene/{f.name}" for f in named) or "sirene/"
    if "CSV" not in text and "sniff" not in text:
        return f"{where} : fichier illisible ({text.splitlines()[0] if text else type(exc).__name__})" if named else None
    first = next((line.strip() for line in text.splitlines()[1:] if "line" in line.lower()), "")
    line = re.search(r"\bline:? ([0-9]+)", first or text)
    at = f" (vers la ligne {line.group(1)})" if line else ""
    return (f"{where} : fichier CSV illisible{at} : son format n'a pas été reconnu (séparateur, guillemets, "
            f"fins de ligne Windows et Unix mélangées, lignes au nombre de champs différent ?) ; réenregistrez-le "
            f"en CSV UTF-8, séparateur virgule, avec des fins de ligne d'un seul type, ou téléchargez à nouveau le "
            f"stock de l'INSEE")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scan_sql(con: duckdb.DuckDBPyConnection, files: list[Path], kind: str, tmp: Path) -> tuple[str, bool]:
    """One SELECT over every file of `kind`, in place (no copy), with the pipeline's columns as
    text; a row superseded by a file of higher priority is dropped only when several files exist.
    Returns the SQL and whether a view over it is worth keeping (parquet files only)."""
    _, columns = KINDS[kind]
    parts, lasting, absent = [], True, {}
    ranked = len(files) > 1 and kind in PRIORITY
    for path in files:
        rel, p = _relation_sql(path, tmp)
        # a view is kept only over parquet: columnar, rescanned cheaply; CSV is parsed once, into a table
        lasting = lasting and path.name.lower().endswith(".parquet")
        rel = rel.replace("?", _quote(p[0]))
        try:
            types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
            present = set(types)
        except duckdb.Error as exc:
            raise InputError(_read_error(exc, [path], always=True) or "") from None
        missing = REQUIRED[kind] - present
        if kind == "etablissement" and "siret" in missing and {"siren", "nic"} <= present:
            missing = set()
        if missing:
            raise InputError(f"sirene/{path.name} : colonnes obligatoires absentes {sorted(missing)}")
        cols = []
        shown = _quote("sirene/" + path.name)
        for c in columns:
            if c in present:
                cols.append(f'CAST("{c}" AS VARCHAR) AS "{c}"')
            elif c == "siret" and {"siren", "nic"} <= present:
                cols.append('CAST(siren AS VARCHAR) || lpad(CAST(nic AS VARCHAR), 5, \'0\') AS "siret"')
            else:
                cols.append(f'CAST(NULL AS VARCHAR) AS "{c}"')
                absent.setdefault(c, []).append(shown)
        if ranked:
            _, updated, diffusion = PRIORITY[kind]
            cols.append(f'replace(CAST("{updated}" AS VARCHAR), \'T\', \' \') AS _updated' if updated in present
                        else "CAST(NULL AS VARCHAR) AS _updated")
            cols.append(f"coalesce(upper(trim(CAST(\"{diffusion}\" AS VARCHAR))) IN ('P', 'N'), false) AS _restricted"
                        if diffusion in present else "false AS _restricted")
        parts.append(f"SELECT {', '.join(cols)}, {shown} AS source_file, "
                     f"{_key_sql(kind, types, path)} AS _key FROM {rel}")
    if not parts:
        empty = ", ".join(f'CAST(NULL AS VARCHAR) AS "{c}"' for c in columns)
        return f"SELECT {empty}, CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS VARCHAR) AS _key WHERE false", lasting
    body = "\nUNION ALL ".join(parts)
    if ranked:
        body = _ranked_sql(body, kind, {c: f for c, f in absent.items() if len(f) < len(parts)})
    return body, lasting


def _ranked_sql(body: str, kind: str, absent: dict[str, list[str]]) -> str:
    """Several stocks overlap (a stock and its INSEE refresh, two monthly stocks, split files):
    each key is read from one file, duplicates inside one file staying for sirene_schema. The
    file whose row INSEE processed last (`dateDernierTraitement…`) wins, when every file holding
    the key dates it; when one does not, the two cannot be ordered and the non-diffusible row (P/N)
    wins, for privacy; then the API refresh (`StockUniteLegale_maj`), then the first by name. A
    column a winning file lacks (an older refresh without the usage names) is taken from the best
    file that has it: a missing column must not unmask a name."""
    key, _, _ = PRIORITY[kind]
    order = ("CASE WHEN _dated THEN _updated END DESC NULLS LAST, _restricted DESC, "
             "contains(source_file, 'StockUniteLegale_maj') DESC, source_file")
    fills = "".join(
        f', first_value("{c}") OVER (PARTITION BY {key} ORDER BY source_file IN ({", ".join(files)}), {order} '
        f'ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "_fill_{c}"' for c, files in absent.items())
    replace = ", ".join(f'CASE WHEN source_file IN ({", ".join(files)}) THEN "_fill_{c}" ELSE "{c}" END AS "{c}"'
                        for c, files in absent.items())
    dropped = ", ".join(["_winner", "_updated", "_restricted", "_dated", *(f'"_fill_{c}"' for c in absent)])
    return (f"SELECT * EXCLUDE ({dropped}){f' REPLACE ({replace})' if replace else ''} FROM ("
            f"SELECT *, first_value(source_file) OVER (PARTITION BY {key} ORDER BY {order}) AS _winner{fills} "
            f"FROM (SELECT *, count(_updated) OVER (PARTITION BY {key}) = count(*) OVER (PARTITION BY {key}) "
            f"AS _dated FROM ({body}))) WHERE source_file = _winner")


def _key_sql(kind: str, types: dict[str, str], path: Path) -> str:
    """The row's 9-digit SIREN, to filter on. A typed parquet (INSEE's) holds it as text already:
    used as is, which spares a string function per row of the national stock; a CSV or an integer
    column may have lost its leading zeros, and is padded."""
    typed = path.name.lower().endswith(".parquet") and types.get("siren") == "VARCHAR"
    if typed:
        return '"siren"'
    if kind == "etablissement" and "siret" in types:
        return "left(lpad(trim(CAST(\"siret\" AS VARCHAR)), 14, '0'), 9)"
    return "lpad(trim(CAST(\"siren\" AS VARCHAR)), 9, '0')"


# Which file wins when several hold the same key (see _ranked_sql): key, INSEE's processing date
# of the row, diffusion status.
PRIORITY = {
    "unite_legale": ("siren", "dateDernierTraitementUniteLegale", "statutDiffusionUniteLegale"),
    "etablissement": ("siret", "dateDernierTraitementEtablissement", "statutDiffusionEtablissement"),
}
DEP_SQL = "CASE WHEN {c} LIKE '97%' THEN left({c}, 3) ELSE nullif(left({c}, 2), '') END"


@dataclass(frozen=True)
class Perimeter:
    """What a buyer needs from the national stocks (the same rule as `achats fetch`): units with an
    establishment in its département; every SIREN it deals with (purchases, contracts, decisions,
    candidates, its own); ESS units (INSEE flag, ESS France, ESUS, SIAE/EA/ESAT lists, manual
    decisions) with an establishment in its region. Establishments kept: those of kept units in
    the region, every one of the SIRENs it deals with, and head offices."""

    departement: str
    region: tuple[str, ...]
    known: tuple[str, ...]
    ess: tuple[str, ...]


def region_departements(departement: str) -> tuple[str, ...]:
    import polars as pl

    from achats.paths import reference_dir

    cog = pl.read_parquet(reference_dir() / "cog_communes_departements_regions.parquet")
    region = cog.filter(pl.col("departement_code") == departement)["region_code"].unique().to_list()
    deps = cog.filter(pl.col("region_code").is_in(region))["departement_code"].unique().to_list()
    return tuple(sorted(set(deps) | {departement}))


def _register_list(con: duckdb.DuckDBPyConnection, name: str, column: str, values) -> None:
    import pyarrow as pa

    con.register(name, pa.table({column: pa.array(sorted(set(values)), pa.string())}))


def buyer_departement_in_stock(con: duckdb.DuckDBPyConnection, data_dir: Path, buyer_siren: str) -> str | None:
    """The département of the buyer's head office, read from the establishment stock."""
    with tempfile.TemporaryDirectory() as tmp:
        scan, _ = _scan_sql(con, sirene_files(con, data_dir / "sirene", "etablissement"), "etablissement", Path(tmp))
        row = con.execute(f"""
            SELECT {DEP_SQL.format(c="codeCommuneEtablissement")} FROM ({scan})
            WHERE _key = ? AND codeCommuneEtablissement IS NOT NULL
            ORDER BY coalesce(etablissementSiege IN ('true', 'True', 'TRUE', 'O', '1'), false) DESC LIMIT 1""",
                          [buyer_siren]).fetchall()
    return row[0][0] if row else None


def load_stocks(con: duckdb.DuckDBPyConnection, data_dir: Path, tables: dict[str, str],
                perimeter: Perimeter | None) -> dict[str, int]:
    """Fill `tables` (kind -> table name) from `sirene/`. Without a perimeter the tables are views
    over parquet files where they lie (nothing is copied; CSV is parsed once, into a table); with
    one, only the buyer's rows are read, the filters applied in the scan, and stored as tables.
    Returns row counts."""
    files = {kind: sirene_files(con, data_dir / "sirene", kind) for kind in tables}
    with tempfile.TemporaryDirectory() as tmp:
        scans = {}
        for kind, table in tables.items():
            scans[kind], lasting = _scan_sql(con, files[kind], kind, Path(tmp))
            con.execute(f"DROP VIEW IF EXISTS {table}")
            con.execute(f"DROP TABLE IF EXISTS {table}")
            if perimeter is None:
                verb = "VIEW" if lasting and files[kind] else "TABLE"
                with progress.watch_query(con, f"Chargement de SIRENE ({LABELS[kind]})"):
                    _execute(con, f"CREATE {verb} {table} AS SELECT * EXCLUDE (_key) FROM ({scans[kind]})",
                             files[kind])
        if perimeter is not None:
            _load_perimeter(con, scans, tables, perimeter, [f for fs in files.values() for f in fs])
    return {table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in tables.values()}


def _execute(con: duckdb.DuckDBPyConnection, sql: str, files: list[Path] | None = None) -> None:
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        raise InputError(_read_error(exc, files or []) or f"sirene/ : lecture impossible ({exc})") from exc


def _load_perimeter(con: duckdb.DuckDBPyConnection, scans: dict[str, str], tables: dict[str, str],
                    perimeter: Perimeter, files: list[Path] | None = None) -> None:
    """Two passes over each stock: one narrow pass finds the SIRENs to keep, one reads their rows.
    Conditions are written as constants and hash joins (no OR of subqueries, which DuckDB
    evaluates row by row)."""
    _register_list(con, "_sirene_known", "siren", perimeter.known)
    _register_list(con, "_sirene_ess", "siren", perimeter.ess)
    region = ", ".join(_quote(d) for d in perimeter.region)
    dep = DEP_SQL.format(c="codeCommuneEtablissement")
    try:
        # establishments of the region, narrow: their SIREN and whether in the buyer's département
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _sirene_region AS
            SELECT DISTINCT _key AS siren, {dep} = {_quote(perimeter.departement)} AS home
            FROM ({scans['etablissement']}) WHERE {dep} IN ({region})""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _sirene_keep AS
            SELECT siren AS keep_siren, bool_or(known) AS known FROM (
                SELECT siren, false AS known FROM _sirene_region WHERE home
                UNION ALL SELECT siren, true FROM _sirene_known
                UNION ALL SELECT r.siren, false FROM _sirene_region r JOIN _sirene_ess USING (siren)
                UNION ALL SELECT r.siren, false FROM _sirene_region r
                    JOIN (SELECT _key AS siren FROM ({scans['unite_legale']})
                          WHERE economieSocialeSolidaireUniteLegale = 'O') f USING (siren)
            ) GROUP BY siren""")
        for kind, table in tables.items():
            if kind == "etablissement":
                sql = f"""SELECT e.* EXCLUDE (_key) FROM ({scans[kind]}) e JOIN _sirene_keep k ON k.keep_siren = e._key
                    WHERE k.known OR {dep} IN ({region})
                       OR coalesce(e.etablissementSiege IN ('true', 'True', 'TRUE', 'O', '1'), false)"""
            else:
                sql = f"SELECT u.* EXCLUDE (_key) FROM ({scans[kind]}) u SEMI JOIN _sirene_keep k ON k.keep_siren = u._key"
            with progress.watch_query(con, f"Chargement de SIRENE ({LABELS[kind]})"):
                con.execute(f"CREATE TABLE {table} AS {sql}")
        con.execute("DROP TABLE _sirene_region")
        con.execute("DROP TABLE _sirene_keep")
    except duckdb.Error as exc:
        raise InputError(_read_error(exc, files or []) or f"sirene/ : lecture impossible ({exc})") from exc
    finally:
        for name in ("_sirene_known", "_sirene_ess"):
            con.unregister(name)
