"""Steps that fill the DuckDB warehouse. Each takes a connection and returns what it wrote.

Dagster assets call these one by one; nothing here knows about Dagster.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl

from achats import progress, reference_cache
from achats.blocking import build_blocked_index, private_sirens, rna_sirens
from achats.config import Settings
from achats.db import first_row, has_table, scalar
from achats.errors import InputError
from achats.identifiers import clean_identifier, rna_number
from achats.match_model import is_uninformative, load_model
from achats.names import GENERIC, LEGAL_FORMS, STOP_WORDS, has_ess_marker, normalize
from achats.paths import read_sql, reference_dir
from achats.registry import apply_comments
from achats.resolution import (
    Candidate,
    Method,
    Resolution,
    ResolverIndex,
    Status,
    legacy_supplier_key,
    private_label,
    settle_by_outcome,
    supplier_key,
    typed_signature,
)
from achats.review import current_decisions, identity, parse_overrides
from achats.safety import check_links
from achats.sources import decp, purchases, sirene, status


def write_frame(con: duckdb.DuckDBPyConnection, table: str, df: pl.DataFrame) -> int:
    """Replace `table` with a polars frame (through Arrow, no copy through Python objects)."""
    con.register("_frame", df.to_arrow())
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _frame')
    finally:
        con.unregister("_frame")
    apply_comments(con, table, written=(df.columns, False))  # the table just made: the frame's columns
    return df.height


def run_sql(con: duckdb.DuckDBPyConnection, relative: str, params: dict | None = None) -> None:
    """Run one SQL file; values go in as DuckDB named parameters, never as formatted text."""
    text = read_sql(relative)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in text}
    for statement in _statements(text):
        stmt_params = {k: v for k, v in used.items() if f"${k}" in statement}
        con.execute(statement, stmt_params or None)
    name = Path(relative).stem  # a SQL file writes the table or view of its name
    kinds = {kind.upper() for kind, made in _CREATES.findall(text) if made == name}
    written = None
    if len(kinds) == 1:  # what it made, read from the result's header rather than the whole catalog
        with contextlib.suppress(duckdb.CatalogException):
            written = ([d[0] for d in con.execute(f'SELECT * FROM "{name}" LIMIT 0').description], kinds == {"VIEW"})
    apply_comments(con, name, written=written)


_CREATES = re.compile(r'^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|VIEW)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?[\s(]',
                      re.IGNORECASE | re.MULTILINE)


def _statements(text: str) -> list[str]:
    """Split a file on ';' at line ends (our SQL files put one statement per ';\\n')."""
    parts, buf = [], []
    for line in text.splitlines():
        buf.append(line)
        if line.rstrip().endswith(";") and not line.lstrip().startswith("--"):
            stmt = "\n".join(buf).strip()
            if any(ln.strip() and not ln.strip().startswith("--") for ln in stmt.splitlines()):
                parts.append(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if any(ln.strip() and not ln.strip().startswith("--") for ln in rest.splitlines()):
        parts.append(rest)
    return parts


def table_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return scalar(con, f'SELECT count(*) FROM "{table}"')


# --- reference ---------------------------------------------------------------------------


def load_reference(con: duckdb.DuckDBPyConnection, use_cache: bool = True, ref: Path | None = None) -> dict[str, int]:
    """The nomenclatures, read from `ref` (data/reference): with `use_cache`, copied from the
    snapshot of the whole stage when one was built from the same files and code (built now
    otherwise), else `ref_town` and `ref_ordinary_word` from their precomputed files when these
    were computed from the same inputs (achats.reference_cache)."""
    ref = ref or reference_dir()
    if use_cache:
        counts = reference_cache.restore_snapshot(con, ref, lambda c: _compute_reference(c, True, ref))
        if counts is not None:
            return counts
    return _compute_reference(con, use_cache, ref)


def _compute_reference(con: duckdb.DuckDBPyConnection, use_cache: bool, ref: Path) -> dict[str, int]:
    communes = pl.read_parquet(ref / "cog_communes_departements_regions.parquet")
    epci = json.loads((ref / "commune_to_epci_siren.json").read_text(encoding="utf-8"))
    communes = communes.with_columns(
        pl.col("commune_code").replace_strict(epci, default=None).alias("epci_siren"))
    cj = json.loads((ref / "categories_juridiques_niveau3.json").read_text(encoding="utf-8"))
    naf = json.loads((ref / "naf_rev2_sous_classes.json").read_text(encoding="utf-8"))
    cpv = pl.read_csv(ref / "cpv_2008_fr.csv", infer_schema=False).rename({"CODE": "code", "FR": "label"})
    cpv_div = (cpv.filter(pl.col("code").str.slice(2, 6) == "000000")
               .select(pl.col("code").str.slice(0, 2).alias("cpv_division"), "label"))
    curated = _curated_naf_cpv(ref / "naf_division_to_cpv_division_curated.csv", set(naf))
    derived = pl.read_csv(ref / "naf_division_to_cpv_division.csv",
                          schema_overrides={"naf_division": pl.String, "cpv_division": pl.String,
                                            "nace_a64": pl.String})
    ess_cj = pl.read_csv(ref / "categories_juridiques_ess.csv", infer_schema=False).with_columns(
        pl.col("is_ess_by_statute") == "true")
    sectors = pl.read_csv(ref / "marche_inclusion_secteurs.csv", infer_schema=False)
    sector_groups = pl.read_csv(ref / "marche_inclusion_groupes_cpv.csv", infer_schema=False)
    tables = {
        "ref_inclusion_sector": sectors,
        "ref_inclusion_group_cpv": sector_groups,
        "ref_commune": communes,
        "ref_categorie_juridique": pl.DataFrame(
            {"categorie_juridique": list(cj), "libelle": [v.strip() for v in cj.values()]}),
        "ref_naf": pl.DataFrame({"naf": list(naf), "libelle": [" ".join(v.split()) for v in naf.values()]}),
        "ref_cpv": cpv,
        "ref_cpv_division": cpv_div,
        "ref_naf_cpv_curated": curated,
        "ref_naf_cpv_derived": derived,
        "ref_categorie_juridique_ess": ess_cj,
        **_geo_reference(ref / "geo"),
    }
    counts = {name: write_frame(con, name, df) for name, df in tables.items()}
    run_sql(con, "reference/macros.sql")
    for name in ("ref_naf_cpv_primary", "ref_naf_cpv_all", "ref_town", "ref_ordinary_word"):
        if use_cache and name in reference_cache.CACHED and reference_cache.load_cached(con, name):
            apply_comments(con, name)
        else:
            run_sql(con, f"reference/{name}.sql")
        counts[name] = table_count(con, name)
    return counts


def _curated_naf_cpv(path: Path, naf_codes: set[str]) -> pl.DataFrame:
    """The hand-written NAF → CPV map. A row may name NAF classes or sous-classes (`naf_codes`)
    when its reason covers only part of the division (81.30Z landscaping, not 81.21Z cleaning):
    each must be a real code, or the beginning of one, inside the row's division."""
    curated = pl.read_csv(path, infer_schema=False).with_row_index("ord")
    for i, row in enumerate(curated.iter_rows(named=True), start=2):
        for code in (row["naf_codes"] or "").split():
            if not code.startswith(f"{row['naf_division']}.") or not any(k.startswith(code) for k in naf_codes):
                raise ValueError(f"{path.name}, ligne {i}, champ « naf_codes » : « {code} » n'est ni une classe ni "
                                 f"une sous-classe NAF rév. 2 de la division {row['naf_division']}")
    return curated


def _geo_reference(geo: Path) -> dict[str, pl.DataFrame]:
    """EPCI names and commune points from whatever département files `data/reference/geo` holds
    (none for most départements: names and distances are then unknown, never guessed)."""
    epci = {}
    for path in sorted(geo.glob("epci-*.geojson")):
        for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
            epci.setdefault(str(feat["properties"]["code"]), str(feat["properties"]["nom"]))
    points = [pl.read_csv(p, infer_schema=False).select(
        pl.col("code_insee").alias("commune_code"), pl.col("lat_point_interieur").cast(pl.Float64).alias("lat"),
        pl.col("lon_point_interieur").cast(pl.Float64).alias("lon")) for p in sorted(geo.glob("communes-*-centroides.csv"))]
    return {
        "ref_epci": pl.DataFrame({"epci_siren": list(epci), "epci_name": list(epci.values())},
                                 schema={"epci_siren": pl.String, "epci_name": pl.String}),
        "ref_commune_point": pl.concat(points).unique("commune_code", keep="first").sort("commune_code") if points
        else pl.DataFrame(schema={"commune_code": pl.String, "lat": pl.Float64, "lon": pl.Float64}),
    }


# --- sources -----------------------------------------------------------------------------


def load_purchases(con: duckdb.DuckDBPyConnection, data_dir: Path, settings: Settings) -> pl.DataFrame:
    from decimal import Decimal

    check_links(data_dir, allow=settings.security.allow_external_links)
    options = purchases.ReadOptions(settings.column_mapping,
                                    Decimal(str(settings.controls.max_line_amount_eur)),
                                    settings.column_mapping_by_file)
    df, files = purchases.read_purchase_sources(data_dir, options=options)
    _refuse_nothing_to_count(df)
    write_frame(con, "src_purchase_lines", df)
    write_frame(con, "src_purchase_files", files)
    return df


def _refuse_nothing_to_count(df: pl.DataFrame) -> None:
    """Lines were read but none is a payment to count, and none is a malformed one the quarantine
    check would stop on (every line a total, an unpaid mandate, a receipt, a duplicate...): a
    published spending of 0 € would be the reader's word against the files. Said, with the count of
    each kind of line, rather than left to fail further down."""
    if df.is_empty() or (df["status"] == "ok").any():
        return
    if df.filter((df["status"] == "quarantined") & (df["row_kind"].fill_null("data") == "data")).height:
        return  # the quarantine share check stops the run, naming them
    kinds = df.group_by("row_kind", "status").len().sort("len", descending=True)
    detail = ", ".join(f"{n} {kind or 'data'} ({status})" for kind, status, n in kinds.iter_rows())
    raise InputError(f"purchases/ : aucune ligne de paiement à compter parmi les {df.height} lignes lues ({detail}) : "
                     f"vérifiez que la colonne du montant payé est la bonne (par exemple une colonne « Montant payé » "
                     f"vide sur toutes les lignes : les mandats sont lus comme non payés), ou nommez-la dans "
                     f"achats.toml ([colonnes] montant = …)")


SIRENE_TABLES = {"unite_legale": "src_sirene_unite_legale", "etablissement": "src_sirene_etablissement",
                 "historique": "src_sirene_unite_legale_historique"}


def perimeter_wanted(settings: Settings, shared: bool) -> bool:
    """Whether the stocks are filtered to the buyer at all: decided by the settings alone, before
    any source is read, so a run can read the stocks while the sources are still loading."""
    return not (settings.sirene_perimeter == "complet" or (settings.sirene_perimeter == "auto" and not shared))


def sirene_perimeter(con: duckdb.DuckDBPyConnection, data_dir: Path, settings: Settings,
                     shared: bool) -> sirene.Perimeter | None:
    """The buyer's filter on the stocks, from the sources already loaded (purchases, contracts,
    decisions, status lists). None (read everything): with `[sirene] perimetre = "complet"`; by
    default (`auto`) for the buyer's own `sirene/`, which is already its extract (`achats fetch`
    writes it with the same rule), while a stock shared between buyers (`--shared-dir`) is the
    national one; and when the buyer's département is unknown (its suppliers cannot be told)."""
    if not perimeter_wanted(settings, shared):
        return None
    dep = settings.home_departement
    if not dep and settings.buyer_siren:
        dep = sirene.buyer_departement_in_stock(con, data_dir, settings.buyer_siren)
    if not dep:
        return None

    def column(table: str, col: str) -> list[str]:
        return [r[0] for r in con.execute(f'SELECT DISTINCT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL'
                                          ).fetchall()] if has_table(con, table) else []

    known = {settings.buyer_siren} if settings.buyer_siren else set()
    for raw in column("src_purchase_lines", "siret_raw") + column("src_overrides", "decision"):
        siren = clean_identifier(raw)[1]
        if siren:
            known.add(siren)
    known.update(column("src_contracts", "titulaire_siren"))
    known.update(modified_titulaires(con))
    known.update(column("src_api_candidates", "siren"))
    ess = set()
    for table in ("src_ess_france", "src_esus", "src_siae", "src_ess_manual"):
        ess.update(column(table, "siren"))
    return sirene.Perimeter(dep, sirene.region_departements(dep), tuple(sorted(known)), tuple(sorted(ess)))


def load_sirene(con: duckdb.DuckDBPyConnection, data_dir: Path, perimeter: sirene.Perimeter | None = None,
                settings: Settings | None = None) -> dict[str, int]:
    security = (settings or Settings()).security
    check_links(data_dir / "sirene", data_dir, allow=security.allow_external_links)
    sirene.MAX_ARCHIVE_BYTES = security.max_archive_bytes
    counts = sirene.load_stocks(con, data_dir, SIRENE_TABLES, perimeter)
    for table in SIRENE_TABLES.values():
        apply_comments(con, table)
    if counts["src_sirene_unite_legale"] == 0:
        raise InputError(f"{data_dir / 'sirene'} : aucun fichier StockUniteLegale* lisible")
    return counts


API_CANDIDATE_SCHEMA = {"supplier_name": pl.String, "rank": pl.Int64, "siren": pl.String, "name": pl.String}


def read_api_candidate_file(data_dir: Path) -> pl.DataFrame:
    path = data_dir / "status" / "recherche_candidats.csv"
    if not path.exists():
        return pl.DataFrame(schema=API_CANDIDATE_SCHEMA)
    df = pl.read_csv(path, infer_schema=False)
    return df.select(pl.col("supplier_name"), pl.col("rank").cast(pl.Int64), pl.col("siren"), pl.col("name"))


MANUAL_SCHEMA = {"siren": pl.String, "is_ess": pl.Boolean, "justification": pl.String,
                 "source_file": pl.String, "source_row": pl.Int64}


def read_manual_status(data_dir: Path) -> pl.DataFrame:
    """`status/ess_manuel*.csv`: siren, est_ess (oui/non), justification — a reviewed decision."""
    rows = []
    for path in status.status_files(data_dir, "ess_manuel"):
        display = path.relative_to(data_dir).as_posix()
        text = purchases.decode(path.read_bytes(), display)
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=purchases.sniff_delimiter(text))
        for n, rec in enumerate(reader, start=1):
            rec = {purchases.header_key(k): (v or "").strip() for k, v in rec.items() if k}
            _, siren = clean_identifier(rec.get("siren"))
            value = rec.get("est ess", "").lower()
            if not siren or value not in ("oui", "non", "o", "n", "true", "false", "1", "0"):
                raise InputError(f"{display}, ligne {reader.line_num} : SIREN ou champ « est_ess » invalide")
            rows.append({"siren": siren, "is_ess": value in ("oui", "o", "true", "1"),
                         "justification": rec.get("justification") or None,
                         "source_file": display, "source_row": n})
    return pl.DataFrame(rows, schema=MANUAL_SCHEMA)


def load_status(con: duckdb.DuckDBPyConnection, data_dir: Path, settings: Settings) -> dict[str, int]:
    check_links(data_dir / "status", data_dir, allow=settings.security.allow_external_links)
    ess_france, bad1 = status.read_ess_france(data_dir)
    esus, bad2 = status.read_esus(data_dir, settings.esus_default_years)
    siae, bad3 = status.read_siae(data_dir)
    return {
        "src_ess_france": write_frame(con, "src_ess_france", ess_france),
        "src_esus": write_frame(con, "src_esus", esus),
        "src_siae": write_frame(con, "src_siae", siae),
        "src_ess_manual": write_frame(con, "src_ess_manual", read_manual_status(data_dir)),
        "src_status_rejects": write_frame(con, "src_status_rejects", pl.concat([bad1, bad2, bad3])),
        "src_api_candidates": write_frame(con, "src_api_candidates", read_api_candidate_file(data_dir)),
    }


def load_contracts(con: duckdb.DuckDBPyConnection, data_dir: Path, settings: Settings) -> int:
    check_links(data_dir / "contracts", data_dir, allow=settings.security.allow_external_links)
    return write_frame(con, "src_contracts", decp.read_contracts(data_dir, settings.buyer_siren, one_buyer=True))


OVERRIDE_SCHEMA = {"supplier_key": pl.String, "supplier_name": pl.String, "siret": pl.String,
                   "decision": pl.String, "decided_by": pl.String, "decided_at": pl.String, "note": pl.String,
                   "source_row": pl.Int64, "rejected_reason": pl.String, "is_current": pl.Boolean}
NO_MATCH = {"aucun", "aucune", "none", "non trouve", "introuvable", "-"}


def read_overrides(data_dir: Path) -> pl.DataFrame:
    """`overrides.csv`: every decision ever imported (the history). `is_current` marks, for each
    supplier key (or, in older rows, name and identifier), the one in force: the latest."""
    path = data_dir / "overrides.csv"
    if not path.exists():
        return pl.DataFrame(schema=OVERRIDE_SCHEMA)
    rows = []
    for n, rec in enumerate(parse_overrides(purchases.decode(path.read_bytes(), "overrides.csv")), start=1):
        decision = rec["decision"]
        reason = None
        line = rec.pop("line", n + 1)
        if decision.lower() not in NO_MATCH and not clean_identifier(decision)[1]:
            reason = (f"overrides.csv, ligne {line}, champ « decision » : « {decision} » n'est ni un SIREN/SIRET "
                      "valide ni « aucun » ; décision ignorée")
        rows.append({**{k: v or None for k, v in rec.items()}, "supplier_name": rec["supplier_name"],
                     "source_row": n, "rejected_reason": reason, "is_current": False})
    valid = [r for r in rows if not r["rejected_reason"]]
    for i in current_decisions(valid).values():
        valid[i]["is_current"] = True
    return pl.DataFrame(rows, schema=OVERRIDE_SCHEMA)


def load_overrides(con: duckdb.DuckDBPyConnection, data_dir: Path) -> int:
    return write_frame(con, "src_overrides", read_overrides(data_dir))


# --- resolution --------------------------------------------------------------------------


def reference_date(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The data's own 'today': the last purchase date, so reruns give identical figures."""
    d = scalar(con, "SELECT max(purchase_date) FROM src_purchase_lines WHERE status = 'ok'")
    if d is None:
        y = scalar(con, "SELECT max(fiscal_year) FROM src_purchase_lines")
        d = dt.date(int(y), 12, 31) if y else dt.date.today()
    return d


def buyer_departement(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    """Configured, else the buyer's head office in SIRENE (known before resolution)."""
    if settings.home_departement:
        return settings.home_departement
    if settings.buyer_siren:
        row = first_row(con, "SELECT departement_code FROM stg_etablissement WHERE siren = ? "
                          "ORDER BY is_siege DESC LIMIT 1", [settings.buyer_siren])
        if row and row[0]:
            return row[0]
    return None


def home_departement(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    """The buyer's département, else where most matched suppliers are."""
    known = buyer_departement(con, settings)
    if known:
        return known
    row = first_row(con, """
        SELECT e.departement_code FROM res_purchase_line_supplier r
        JOIN stg_etablissement e ON e.siren = r.siren AND e.is_siege
        WHERE r.match_status = 'matched' AND e.departement_code IS NOT NULL
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")
    return row[0] if row else None


MATCH_SCHEMA = {"supplier_key": pl.String, "supplier_name": pl.String, "siret_raw": pl.String,
                "line_departement": pl.String, "siren": pl.String, "siret": pl.String,
                "match_method": pl.String, "match_score": pl.Float64, "match_status": pl.String,
                "margin": pl.Float64, "reason": pl.String, "id_flag": pl.String,
                "has_ess_marker": pl.Boolean, "has_uninformative_name": pl.Boolean,
                "override_row": pl.Int64, "id_siren": pl.String,
                "is_decided_without_review": pl.Boolean, "undecided_siren": pl.String,
                "undecided_best_siren": pl.String}
CANDIDATE_SCHEMA = {"supplier_key": pl.String, "rank": pl.Int32, "siren": pl.String,
                    "score": pl.Float64, "name": pl.String}


def _override_lookup(overrides: pl.DataFrame) -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """Decisions in force: by supplier key, and (older rows) by normalised name and identifier."""
    by_key, by_name = {}, {}
    for rec in overrides.filter(pl.col("is_current")).iter_rows(named=True):
        if rec["supplier_key"]:
            by_key[rec["supplier_key"]] = rec
        else:
            by_name[(normalize(rec["supplier_name"]), identity(rec["siret"]))] = rec
    return by_key, by_name


def _reviewed_spelling(rec: dict, name: str, masked_ok: bool) -> bool:
    """The decision's reviewed spelling (« Fournisseur saisi ») states the same typed legal form
    as `name`: a decision taken on « LE PETIT JARDIN » does not decide « LE PETIT JARDIN SARL ».
    A masked or missing spelling tells nothing: accepted for the decision's own key only."""
    shown = rec.get("supplier_name") or ""
    if not shown or shown.startswith("unité non diffusible (SIREN "):
        return masked_ok
    return typed_signature(shown) == typed_signature(name)


def _override_for(lookup: tuple[dict, dict], key: str, name: str, siret_raw: str | None,
                  dep: str | None = None) -> dict | None:
    """The decision for exactly these lines: their key; else a decision stored under their former
    key (legacy_supplier_key, before typed legal forms counted) whose reviewed spelling has the
    same typed legal form; else their name and identifier; else a decision on the name alone,
    which never reaches a line carrying a valid SIRET or SIREN."""
    by_key, by_name = lookup
    if key in by_key and _reviewed_spelling(by_key[key], name, masked_ok=True):
        return by_key[key]
    old = by_key.get(legacy_supplier_key(name, siret_raw, dep)) if by_key else None
    if old is not None and _reviewed_spelling(old, name, masked_ok=False):
        return old
    if not by_name:  # no decision by name: spare normalising every supplier's name
        return None
    found = by_name.get((normalize(name), identity(siret_raw)))
    if found is None and not any(clean_identifier(siret_raw)):
        found = by_name.get((normalize(name), ""))
    return found


def resolve_suppliers(con: duckdb.DuckDBPyConnection, settings: Settings, cache_dir: Path | None = None) -> dict[str, int]:
    """Resolve each distinct (name, identifier, place) once, then map every ok line to it (the
    reference's token tables cached in `cache_dir`, beside the SIRENE stock, see achats.blocking)."""
    lines = con.sql("""
        SELECT line_id, supplier_name, siret_raw, line_departement, amount_eur
        FROM stg_purchase_lines WHERE status = 'ok'""").pl()
    index = build_blocked_index(con, lines.select("supplier_name", "siret_raw").unique().rows(), cache_dir)
    overrides = _override_lookup(con.sql("SELECT * FROM src_overrides").pl())
    buyer_dep = buyer_departement(con, settings)
    keys: dict[str, tuple] = {}
    key_of: dict[tuple, str] = {}  # a national export repeats each (name, identifier, place) many times
    line_keys = []
    key_amount: Counter[str] = Counter()  # total amount of each key: what a decision can move
    for line_id, name, siret_raw, dep, amount in lines.iter_rows():
        key = key_of.get((name, siret_raw, dep))
        if key is None:
            key = key_of[(name, siret_raw, dep)] = supplier_key(name, siret_raw, dep)
            keys.setdefault(key, (name, siret_raw, dep))
        line_keys.append((line_id, key))
        key_amount[key] += float(amount or 0)
    api_candidates = read_api_candidates(con)
    index.prime(name for name, _, _ in keys.values())  # every pair of every block, in C, in batches
    matches, candidates = [], []
    resolved: dict[str, Resolution] = {}
    undecided: dict[str, Resolution] = {}
    decision_of = {}  # each key's manual decision, looked up once (both loops below need it)
    for key, (name, siret_raw, dep) in progress.track(keys.items(), "Rapprochement des fournisseurs",
                                                      unit="fournisseurs"):
        decision_of[key] = _override_for(overrides, key, name, siret_raw, dep)
        if decision_of[key] is None:
            resolved[key] = index.resolve(name, siret_raw, dep, buyer_dep, settings.thresholds)
        else:  # only to mask names as if undecided: a decision must not unmask a line
            undecided[key] = index.resolve(name, siret_raw, dep, buyer_dep, settings.thresholds)
    outcome_of = ess_outcomes(con, {c.siren for r in resolved.values() if r.status == "review" for c in r.candidates}
                              | {i for k, (_, s, _) in keys.items() if k in resolved
                                 for i in [index.check_identifier(s).siren] if i})
    accept = settings.thresholds.accept if settings.thresholds.accept is not None \
        else index.model.accept_threshold(settings.thresholds.target_precision)
    for key, (name, siret_raw, dep) in keys.items():
        ov = decision_of[key]
        if ov is not None:
            _, dec_siren = clean_identifier(ov["decision"])
            dec_siret = clean_identifier(ov["decision"])[0]
            who = f"{ov['decided_by'] or '?'} le {ov['decided_at'] or '?'}"
            rec = dict(siren=dec_siren, siret=dec_siret, match_method="override",
                       match_score=1.0, match_status="matched" if dec_siren else "unmatched",
                       margin=None, reason=f"Décision manuelle ({who})" + (f" : {ov['note']}" if ov["note"] else ""),
                       id_flag=None, override_row=ov["source_row"], id_siren=None, is_decided_without_review=False,
                       **_undecided_sirens(undecided[key]))
        else:
            res = resolved[key]
            id_siren = _id_siren_set_aside(index, siret_raw, res.siren)
            res = settle_by_outcome(res, outcome_of, accept, id_siren=id_siren, amount_eur=key_amount[key],
                                    materiality_eur=settings.thresholds.materiality_eur)
            if res.status == "unmatched" and name in api_candidates:
                res = Resolution(siren=None, method=Method.NAME_FUZZY, score=0.5, status=Status.REVIEW,
                                 reason="Candidats proposés par l'API Recherche d'entreprises : à vérifier",
                                 id_flag=res.id_flag, candidates=api_candidates[name])
            if res.status == "review" and res.siren is None and res.candidates:
                res.siren = res.candidates[0].siren  # proposed, to be confirmed
            rec = dict(siren=res.siren, siret=res.siret, match_method=str(res.method), match_score=round(res.score, 4),
                       match_status=str(res.status), margin=None if res.margin is None else round(res.margin, 4),
                       reason=res.reason, id_flag=res.id_flag, override_row=None,
                       id_siren=_id_siren_set_aside(index, siret_raw, res.siren),
                       is_decided_without_review=res.without_review)
            candidates.extend({"supplier_key": key, "rank": i, "siren": c.siren, "score": round(c.score, 4),
                               "name": c.name} for i, c in enumerate(res.candidates, start=1))
        rec.update(supplier_key=key, supplier_name=name, siret_raw=siret_raw, line_departement=dep,
                   has_ess_marker=has_ess_marker(name), has_uninformative_name=is_uninformative(normalize(name)))
        matches.append(rec)
    _mask_private(con, matches, candidates)
    write_frame(con, "res_supplier_match", pl.DataFrame(matches, schema=MATCH_SCHEMA))
    write_frame(con, "res_match_candidates", pl.DataFrame(candidates, schema=CANDIDATE_SCHEMA))
    # typed: with no line to resolve (every line quarantined or unpaid) the columns would be of type NULL
    write_frame(con, "res_line_supplier_key", pl.DataFrame(line_keys, schema={"line_id": pl.String,
                                                                             "supplier_key": pl.String}, orient="row"))
    run_sql(con, "resolution/res_purchase_line_supplier.sql")
    run_sql(con, "resolution/res_line_mask.sql", {"name_filler": sorted(LEGAL_FORMS | STOP_WORDS),
                                                  "common_surname_count": COMMON_SURNAME_COUNT,
                                                  "generic_words": sorted(GENERIC),
                                                  "common_name_words": common_name_words(con)})
    apply_comments(con, "res_text_mask")  # written by the same file as res_line_mask
    run_sql(con, "resolution/res_file_mask.sql")
    apply_comments(con, "res_sheet_mask")  # written by the same file as res_file_mask
    statuses = Counter(m["match_status"] for m in matches)
    return {"supplier_keys": len(keys), "comparisons": index.comparisons, **{f"keys_{k}": v for k, v in statuses.items()}}


def common_name_words(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Words carried by more than COMMON_SURNAME_COUNT names of the loaded SIRENE (the matching's
    token counts): such a word of a non-diffusible unit's name names no one on its own, so
    res_line_mask's rule 8 masks it only in the unit's own lines. Without the counts, none: every
    distinctive word is then masked everywhere (the safe side)."""
    if not has_table(con, "_ref_vocab"):
        return []
    return [t for (t,) in con.execute("SELECT token FROM _ref_vocab WHERE df > ? ORDER BY token",
                                      [COMMON_SURNAME_COUNT]).fetchall()]


def _undecided_sirens(res: Resolution) -> dict[str, str | None]:
    """The unit the automatic resolution retains or proposes, and its best candidate, for a key
    decided by hand: res_line_mask masks its names as before the decision."""
    proposed = res.siren or (res.candidates[0].siren if res.candidates else None)
    return {"undecided_siren": proposed if str(res.status) in ("matched", "review") else None,
            "undecided_best_siren": res.candidates[0].siren if res.candidates else None}


def ess_outcomes(con: duckdb.DuckDBPyConnection, sirens: set[str]) -> dict[str, str | None]:
    """ESS outcome of each unit, for deciding without review (settle_by_outcome): « ess:<basis> »
    (manual decision, legal form family, INSEE flag or ESS France list, as cls_supplier_status
    orders the evidence) or « non_ess », « :inclusive » appended for an inclusive structure, and
    None when it may change with the payment date (an ESUS agreement, a ceased ESS unit, a SIRENE
    history with several states) or is unknown."""
    if not sirens:
        return {}
    rows = con.execute("""
        WITH wanted AS (SELECT unnest(?::VARCHAR[]) AS siren),
        manual AS (SELECT siren, last(is_ess ORDER BY source_row) AS is_ess FROM src_ess_manual GROUP BY siren),
        hist AS (
            SELECT siren FROM stg_unite_legale_historique
            GROUP BY siren HAVING count(DISTINCT (coalesce(categorie_juridique, ''), coalesce(insee_ess_flag, ''),
                                                  is_active)) > 1)
        SELECT
            w.siren,
            CASE
                WHEN u.siren IS NULL OR h.siren IS NOT NULL OR w.siren IN (SELECT siren FROM src_esus) THEN NULL
                WHEN m.is_ess IS NOT NULL AND NOT m.is_ess THEN 'non_ess'
                WHEN u.ceased_date IS NOT NULL OR NOT coalesce(u.is_active, TRUE) THEN
                    CASE WHEN m.is_ess OR lf.ess_family IS NOT NULL OR u.has_cooperative_name OR u.insee_ess_flag = 'O'
                              OR w.siren IN (SELECT siren FROM src_ess_france) THEN NULL ELSE 'non_ess' END
                WHEN m.is_ess THEN 'ess:manuel'
                WHEN lf.ess_family IS NOT NULL THEN 'ess:' || lf.ess_family
                WHEN u.has_cooperative_name THEN 'ess:cooperative'
                WHEN u.insee_ess_flag = 'O' THEN 'ess:insee'
                WHEN w.siren IN (SELECT siren FROM src_ess_france) THEN 'ess:ess_france'
                ELSE 'non_ess'
            END
            -- the inclusive figure beside the ESS one (SIAE, EA, ESAT) must not move either
            || CASE WHEN w.siren IN (SELECT siren FROM src_siae) OR u.naf = '88.10C' THEN ':inclusive' ELSE '' END
        FROM wanted AS w
        LEFT JOIN stg_unite_legale AS u USING (siren)
        LEFT JOIN ref_categorie_juridique_ess AS lf ON lf.categorie_juridique = u.categorie_juridique
            AND lf.is_ess_by_statute AND NOT u.is_endowment_fund
        LEFT JOIN manual AS m USING (siren)
        LEFT JOIN hist AS h USING (siren)""", [sorted(sirens)]).fetchall()
    return dict(rows)


def _id_siren_set_aside(index: ResolverIndex, siret_raw: str | None, siren: str | None) -> str | None:
    """The unit a valid identifier designates when the decision is another unit: a possible
    outcome the extreme bounds keep (mart_purchase_line_estimate)."""
    ident = index.check_identifier(siret_raw)
    return ident.siren if ident.siren and ident.siren != siren else None


# A surname carried by more units of SIRENE than this is common: alone in free text it does not
# designate a person, so it is masked only in the lines linked to the non-diffusible person who
# bears it; a rarer surname is masked in every free text (res_line_mask, rule 4).
COMMON_SURNAME_COUNT = 100


def typed_sirens(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The SIREN every typed SIRET/SIREN designates, on every line whatever its status: a
    quarantined line naming a non-diffusible unit is masked like a matched one. Digits only (a
    wrong check digit still points at the unit); lost leading zeros are restored (a SIRET typed
    with 10 to 13 digits); a French VAT number (FR, key, SIREN) gives its SIREN; an association's
    RNA number the one unit of SIRENE that carries it."""
    by_digits = [r[0] for r in con.execute("""
        WITH d AS (SELECT DISTINCT regexp_replace(siret_raw, '[^0-9]', '', 'g') AS digits,
                          contains(upper(siret_raw), 'FR') AS is_vat
                   FROM stg_purchase_lines WHERE siret_raw IS NOT NULL)
        SELECT DISTINCT CASE WHEN length(digits) = 11 AND is_vat THEN right(digits, 9)
                             WHEN length(digits) BETWEEN 10 AND 14 THEN left(lpad(digits, 14, '0'), 9)
                             ELSE lpad(digits, 9, '0') END
        FROM d WHERE length(digits) BETWEEN 8 AND 14""").fetchall()]
    typed = con.execute("SELECT DISTINCT siret_raw FROM stg_purchase_lines WHERE siret_raw ILIKE '%W%'").fetchall()
    return by_digits + list(rna_sirens(con, sorted({r for (raw,) in typed for r in [rna_number(raw)] if r})).values())


def modified_titulaires(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The SIREN of every titulaire a DECP modification names (cession, avenant de transfert), even
    one replaced later: such a unit is a titulaire of the run like those of the notification."""
    if not has_table(con, "src_contracts") or "titulaire_ids_modified" not in {
            r[0] for r in con.execute("DESCRIBE src_contracts").fetchall()}:
        return []
    rows = con.execute("""SELECT DISTINCT unnest(string_split(titulaire_ids_modified, ',')) FROM src_contracts
                          WHERE titulaire_ids_modified IS NOT NULL""").fetchall()
    return sorted({r[0] for r in rows if r[0] and len(r[0]) == 9 and r[0].isdigit()})


def _mask_private(con: duckdb.DuckDBPyConnection, matches: list[dict], candidates: list[dict]) -> None:
    """Names of non-diffusible units never leave the raw tables: a supplier resolved (matched, or
    in review with a proposed SIREN) to such a unit keeps its key but not its typed name, and a
    candidate of such a unit is shown as its SIREN. `res_private_siren` lists them for the SQL,
    DECP titulaires and units of the status lists included (their names are masked in contract
    free text, manual justifications and marché de l'inclusion slugs, res_text_mask)."""
    titulaires = [r[0] for r in con.execute("SELECT DISTINCT titulaire_siren FROM src_contracts").fetchall()]
    titulaires += modified_titulaires(con)  # a holder by cession only may be named in the objet
    # units the status lists name in free text (manual justification, marché de l'inclusion slug)
    listed = [r[0] for r in con.execute("SELECT siren FROM src_ess_manual UNION SELECT siren FROM src_siae"
                                        ).fetchall() if r[0]]
    undecided = [s for m in matches for s in (m.get("undecided_siren"), m.get("undecided_best_siren")) if s]
    private = private_sirens(con, [m["siren"] for m in matches] + [c["siren"] for c in candidates] + titulaires
                             + typed_sirens(con) + undecided + listed)
    for m in matches:
        if m["siren"] in private and m["match_status"] in ("matched", "review"):
            m["supplier_name"] = private_label(m["siren"])
        elif m.get("undecided_siren") in private:  # a decision does not unmask the typed name
            m["supplier_name"] = private_label(m["undecided_siren"])
    for c in candidates:
        if c["siren"] in private:
            c["name"] = private_label(c["siren"])
    write_frame(con, "res_private_siren", pl.DataFrame(
        {"siren": sorted(private), "label": [private_label(s) for s in sorted(private)]},
        schema={"siren": pl.String, "label": pl.String}))


def read_api_candidates(con: duckdb.DuckDBPyConnection) -> dict[str, list[Candidate]]:
    """Candidates the API Recherche d'entreprises proposed for unmatched names (review only)."""
    rows = con.execute("SELECT supplier_name, siren, name FROM src_api_candidates ORDER BY supplier_name, rank"
                       ).fetchall() if has_table(con, "src_api_candidates") else []
    out: dict[str, list[Candidate]] = {}
    for name, siren, label in rows:
        out.setdefault(name, []).append(Candidate(siren, 0.5, label or siren))
    return out


def mart_params(con: duckdb.DuckDBPyConnection, settings: Settings, sql_text: str | None = None) -> dict:
    """The named parameters a SQL file uses, computed only when it uses them (the home
    département may be inferred from resolved suppliers, which early steps do not have yet)."""
    carto = settings.cartography
    wanted = {"reference_date": reference_date, "home_departement": lambda c: home_departement(c, settings),
              "buyer_siren": lambda c: settings.buyer_siren or "", "local_scope": lambda c: carto.local_scope,
              "local_epci": lambda c: list(carto.local_epci) or [""],
              "local_distance_km": lambda c: carto.local_distance_km,
              "renewal_min_months": lambda c: carto.renewal_min_months,
              "renewal_max_months": lambda c: carto.renewal_max_months,
              "missed_share_review": lambda c: load_model().missed_share.get("review", 0.0),
              "missed_share_unmatched": lambda c: load_model().missed_share.get("unmatched", 0.0),
              "missed_share_uninformative": lambda c: load_model().missed_share.get("uninformative", 0.0),
              # a wrong acceptance by the name is another real unit (the former rule) unless measured
              "missed_share_accepted": lambda c: load_model().missed_share.get("accepted", 1.0),
              "accept_error_rate": lambda c: load_model().accept_error}
    return {name: fn(con) for name, fn in wanted.items() if sql_text is None or f"${name}" in sql_text}


def write_run_parameters(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """What the figures depend on besides the inputs, for dashboards and reproducibility."""
    params = mart_params(con, settings)
    t = settings.thresholds
    write_frame(con, "run_parameters", pl.DataFrame([{
        "buyer_siren": settings.buyer_siren, "home_departement": params["home_departement"],
        "reference_date": params["reference_date"], "target_precision": t.target_precision,
        "accept_threshold": t.accept if t.accept is not None else load_model().accept_threshold(t.target_precision),
        "review_threshold": t.review,
        **_cartography_parameters(settings),
    }], schema_overrides={"buyer_siren": pl.String, "home_departement": pl.String, "local_epci": pl.String,
                          "target_ess_share": pl.Float64}))


def _cartography_parameters(settings: Settings) -> dict:
    c = settings.cartography
    return {"local_scope": c.local_scope, "local_epci": ",".join(c.local_epci) or None,
            "local_distance_km": c.local_distance_km, "renewal_min_months": c.renewal_min_months,
            "renewal_max_months": c.renewal_max_months, "target_ess_share": c.target_ess_share}
