"""`achats fetch`: download every configured source into a cache, then write the data directory.

What is kept of the national files (the filter, also in the README):
- SIRENE establishments located in the buyer's home département, and their units;
- every unit whose SIREN appears in the buyer's purchase lines (SIRET/SIREN column) or contracts;
- the ESS units (INSEE flag `O` or ESS France list) and inclusive structures of the buyer's region,
  with their establishments — the local ESS offer of Objective 8, action 1.
Suppliers typed without an identifier and located elsewhere are searched through the API
Recherche d'entreprises (`achats fetch --recherche`) and proposed for review.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import polars as pl

from achats import progress
from achats.errors import InputError
from achats.fetch.config import Source, load_sources
from achats.fetch.http import FetchError, FetchResult, download, session
from achats.identifiers import clean_identifier
from achats.paths import reference_dir
from achats.sources.decp import is_placeholder_id, read_contracts
from achats.sources.purchases import purchase_files, read_purchase_file
from achats.sources.sirene import UNITE_LEGALE_COLUMNS

ESS_FRANCE_SIREN_COLUMNS = ("SIREN", "siren", "Siren")


def _known_sirens(data_dir: Path, buyer_siren: str | None) -> list[str]:
    sirens: set[str] = set()
    for path in progress.track(purchase_files(data_dir), "SIREN cités par les achats", unit="fichiers"):
        for line in read_purchase_file(path, data_dir):
            _, siren = clean_identifier(line.get("siret_raw"))
            if siren:
                sirens.add(siren)
    if (data_dir / "contracts").is_dir():
        df = read_contracts(data_dir, buyer_siren)
        sirens.update(s for s in df["titulaire_siren"].drop_nulls().to_list())
    return sorted(sirens)


def _region_departements(departement: str) -> list[str]:
    cog = pl.read_parquet(reference_dir() / "cog_communes_departements_regions.parquet")
    region = cog.filter(pl.col("departement_code") == departement)["region_code"].unique().to_list()
    return sorted(cog.filter(pl.col("region_code").is_in(region))["departement_code"].unique().to_list())


def filter_sirene(units: Path, etabs: Path, out_dir: Path, departement: str, known: list[str],
                  ess_france: list[str], siae_sirens: list[str]) -> dict[str, int]:
    """Stream the national parquet files through DuckDB, keeping the rows the buyer needs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    region = _region_departements(departement)
    con = duckdb.connect()
    con.register("_known", pl.DataFrame({"siren": known}, schema={"siren": pl.String}).to_arrow())
    con.register("_ess", pl.DataFrame({"siren": ess_france + siae_sirens}, schema={"siren": pl.String}).to_arrow())
    con.register("_region", pl.DataFrame({"d": region}, schema={"d": pl.String}).to_arrow())
    with progress.watch_query(con, "SIRENE : choix des unités à garder"):
        con.execute("""
        CREATE TEMP TABLE keep AS
        SELECT DISTINCT CAST(e.siren AS VARCHAR) AS siren FROM read_parquet(?) e
        WHERE left(CAST(e.codeCommuneEtablissement AS VARCHAR), 2) = ?
        UNION SELECT siren FROM _known
        UNION SELECT CAST(e.siren AS VARCHAR) FROM read_parquet(?) e JOIN _ess ON _ess.siren = CAST(e.siren AS VARCHAR)
            WHERE left(CAST(e.codeCommuneEtablissement AS VARCHAR), 2) IN (SELECT d FROM _region)
        UNION SELECT CAST(u.siren AS VARCHAR) FROM read_parquet(?) u
            JOIN read_parquet(?) e ON CAST(e.siren AS VARCHAR) = CAST(u.siren AS VARCHAR)
            WHERE u.economieSocialeSolidaireUniteLegale = 'O'
              AND left(CAST(e.codeCommuneEtablissement AS VARCHAR), 2) IN (SELECT d FROM _region)""",
                    [str(etabs), departement, str(etabs), str(units), str(etabs)])
    unit_out, etab_out = out_dir / "StockUniteLegale_filtre.parquet", out_dir / "StockEtablissement_filtre.parquet"
    for src, dst, extra in ((units, unit_out, ""), (etabs, etab_out,
                            " AND (left(CAST(codeCommuneEtablissement AS VARCHAR), 2) IN (SELECT d FROM _region)"
                            " OR CAST(siren AS VARCHAR) IN (SELECT siren FROM _known)"
                            " OR CAST(etablissementSiege AS VARCHAR) IN ('true', 'True', '1', 'O'))")):
        tmp = dst.with_name(dst.name + ".tmp")
        with progress.watch_query(con, f"SIRENE : écriture de {dst.name}"):
            con.execute(f"COPY (SELECT * FROM read_parquet(?) WHERE CAST(siren AS VARCHAR) IN (SELECT siren FROM keep)"
                        f"{extra}) TO '{tmp}' (FORMAT parquet)", [str(src)])
        tmp.replace(dst)
    counts = {"units": con.execute("SELECT count(*) FROM read_parquet(?)", [str(unit_out)]).fetchall()[0][0],
              "establishments": con.execute("SELECT count(*) FROM read_parquet(?)", [str(etab_out)]).fetchall()[0][0]}
    con.close()
    return counts


def decp_to_json(parquet: Path, buyer_siren: str, out: Path) -> int:
    """The consolidated DECP (one row per contract and titulaire) as the JSON the loader reads."""
    con = duckdb.connect()
    cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(parquet)]).fetchall()}
    name_col = next((c for c in ("titulaire_denominationSociale", "titulaire_nom") if c in cols), None)
    current = " AND coalesce(CAST(donneesActuelles AS VARCHAR), 'true') IN ('true', '1')" \
        if "donneesActuelles" in cols else ""

    def col(name: str) -> str:
        return f'CAST("{name}" AS VARCHAR)' if name in cols else "NULL"

    rows = con.execute(f"""
        SELECT {col('uid')}, {col('id')}, {col('acheteur_id')}, {col('objet')}, {col('codeCPV')},
               {col('montant')}, {col('dateNotification')}, {col('considerationsSociales')},
               {col('titulaire_id')}, {col('titulaire_typeIdentifiant')}, {col(name_col) if name_col else 'NULL'}
        FROM read_parquet(?) WHERE CAST(acheteur_id AS VARCHAR) LIKE ? || '%'{current}
        ORDER BY 1, 9""", [str(parquet), buyer_siren]).fetchall()
    con.close()
    contracts: dict[str, dict] = {}
    for n, (uid, cid, buyer, objet, cpv, montant, date, social, tid, ttype, tname) in enumerate(rows):
        # an empty or placeholder id identifies nothing: such rows are never merged into one contract
        if not is_placeholder_id(uid):
            key = str(uid)
        elif not is_placeholder_id(cid):
            key = f"{buyer}{cid}"
        else:  # co-titulaires of one contract share buyer, object, date and amount
            key = f"#{buyer}|{objet}|{date}|{montant}|{cpv}" if (objet or date or montant) else f"#{n}"
        c = contracts.setdefault(key, {
            "uid": uid, "id": cid, "acheteur": {"id": buyer}, "objet": objet, "codeCPV": cpv,
            "montant": float(montant) if montant not in (None, "") else None, "dateNotification": date,
            "considerationsSociales": {"considerationSociale": [social]} if social else None, "titulaires": []})
        if tid:
            c["titulaires"].append({"id": tid, "typeIdentifiant": ttype, "denominationSociale": tname})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps({"marches": list(contracts.values())}, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out)
    return len(contracts)


def _siren_list(path: Path, columns: tuple[str, ...]) -> list[str]:
    con = duckdb.connect()
    try:
        cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_csv(?, all_varchar = true)",
                                          [str(path)]).fetchall()}
        col = next((c for c in columns if c in cols), None)
        if col is None:
            raise FetchError(f"{path.name} : colonne SIREN absente")
        values = [r[0] for r in con.execute(f'SELECT DISTINCT "{col}" FROM read_csv(?, all_varchar = true)',
                                            [str(path)]).fetchall()]
    finally:
        con.close()
    return sorted({s for v in values if (s := clean_identifier(v)[1])})


SIAE_COLUMNS = ["siret", "name", "kind", "naf", "post_code", "department", "slug"]


def fetch_siae_marche(source: Source, client=None) -> list[dict]:
    """Every structure of the marché de l'inclusion API (paginated; token from the environment)."""
    from achats.fetch.apis import secret
    from achats.fetch.http import ApiClient

    token = secret(source)
    if not token and client is None:
        raise FetchError(f"marché de l'inclusion : jeton absent ({source.key_env})")
    client = client or ApiClient(source.url, source.requests_per_second, label=source.label)
    rows, page = [], 1
    while True:
        data = client.get("", {"token": token, "page": page} if token else {"page": page})
        items = data if isinstance(data, list) else data.get("results", [])
        for it in items:
            rows.append({"siret": it.get("siret"), "name": it.get("name"), "kind": it.get("kind"),
                         "naf": it.get("naf"), "post_code": it.get("post_code"), "department": it.get("department"),
                         "slug": it.get("slug")})  # its page on the marché: /prestataires/<slug>/
        if isinstance(data, list) or not data.get("next") or not items:
            return rows
        page += 1


def siae_from_annuaire(parquet: Path) -> list[dict]:
    """Without a marché de l'inclusion token: the Annuaire export's `est_siae` / `type_siae`."""
    con = duckdb.connect()
    try:
        rows = con.execute("""
            SELECT CAST(siret_siege AS VARCHAR), CAST(nom_complet AS VARCHAR), CAST(type_siae AS VARCHAR)
            FROM read_parquet(?) WHERE est_siae""", [str(parquet)]).fetchall()
    finally:
        con.close()
    return [{"siret": s, "name": n, "kind": (k or "SIAE").upper(), "naf": None, "post_code": None, "department": None}
            for s, n, k in rows if s]


def annuaire_parquet_url(dataset: dict) -> str:
    """The `unites_legales*.parquet` resource of the Annuaire dataset (data.gouv API answer)."""
    for res in dataset.get("resources", []):
        title, url = res.get("title") or "", res.get("url") or ""
        is_parquet = title.endswith(".parquet") or url.endswith(".parquet") or res.get("format") == "parquet"
        if ("unites_legales" in title or "unites_legales" in url) and is_parquet:
            return url
    raise FetchError("export de l'Annuaire des entreprises : aucune ressource unites_legales*.parquet")


def write_siae(rows: list[dict], out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema={c: pl.String for c in SIAE_COLUMNS}).write_csv(out)
    return len(rows)


def insee_units_csv(units: list[dict], out: Path) -> int:
    """Units refreshed through the INSEE API, in every stock column the pipeline reads (unit
    fields, then those of the current period) and the date INSEE processed them, which orders
    them against a stock (achats.sources.sirene._ranked_sql). A column left out here would be
    missing from the refresh that wins over the stock: a usage name lost is a name left unmasked."""
    columns = [*UNITE_LEGALE_COLUMNS, "dateDernierTraitementUniteLegale"]
    rows = []
    for u in units:
        periods = [p for p in u.get("periodesUniteLegale") or [] if isinstance(p, dict)] or [{}]
        current = [p for p in periods if not p.get("dateFin")]
        period = max(current or periods, key=lambda p: str(p.get("dateDebut") or ""))
        rows.append({c: _api_text(u[c] if c in u else period.get(c)) for c in columns})
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows, schema={c: pl.String for c in columns}).write_csv(out)
    return len(rows)


def _api_text(value: object) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def fetch_all(data_dir: Path, cache_dir: Path, buyer_siren: str, departement: str,
              only: set[str] | None = None, http=None) -> list[dict]:
    """Download, check and lay out every source; record each in `sources_fetch.json`."""
    if not departement:
        raise InputError("Indiquez le département de l'acheteur (--departement ou achats.toml [acheteur])")
    sources = load_sources(data_dir)
    http = http or session()
    wanted = only or {"sirene", "ess_france", "esus", "decp", "siae"}
    fetched: dict[str, FetchResult] = {}
    manifest = []

    def get(name: str, filename: str) -> FetchResult | None:
        src: Source = sources[name]
        if not src.url:
            manifest.append({"source": name, "status": "non configurée", "description": src.description})
            return None
        res = download(src.url, cache_dir / filename, src.kind, http=http, label=src.label)
        fetched[name] = res
        return res

    if "ess_france" in wanted:
        get("ess_france", "ess_france.csv")
    if "esus" in wanted:
        get("esus", "esus.xlsx")
    if "decp" in wanted:
        get("decp", "decp.parquet")
    if "sirene" in wanted:
        get("sirene_unite_legale", "StockUniteLegale.parquet")
        get("sirene_etablissement", "StockEtablissement.parquet")
    kept: dict[str, int] = {}
    status_dir = data_dir / "status"
    ess_sirens: list[str] = []
    if "ess_france" in fetched:
        status_dir.mkdir(parents=True, exist_ok=True)
        (status_dir / "ess_france.csv").write_bytes(fetched["ess_france"].path.read_bytes())
        ess_sirens = _siren_list(fetched["ess_france"].path, ESS_FRANCE_SIREN_COLUMNS)
        kept["ess_france"] = len(ess_sirens)
    if "esus" in fetched:
        status_dir.mkdir(parents=True, exist_ok=True)
        (status_dir / "esus_tresor.xlsx").write_bytes(fetched["esus"].path.read_bytes())
    if "siae" in wanted:
        from achats.fetch.apis import secret
        from achats.fetch.http import ApiClient

        src = sources["marche_inclusion_api"]
        if secret(src):
            rows = fetch_siae_marche(src)
            origin = src.url
        else:  # no token: the Annuaire export says which units are SIAE
            annuaire = sources["annuaire_unites_legales"]
            listing = ApiClient(annuaire.url, 5, http=http, label=annuaire.label).get("")
            url = annuaire_parquet_url(listing)
            res = download(url, cache_dir / "annuaire_unites_legales.parquet", "parquet", http=http,
                           label=annuaire.label)
            fetched["annuaire_unites_legales"] = res
            rows, origin = siae_from_annuaire(res.path), url
        kept["siae"] = write_siae(rows, status_dir / "siae_fetch.csv")
        manifest.append({"source": "siae", "url": origin, "status": "téléchargé", "rows_kept": kept["siae"],
                         "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    if "decp" in fetched:
        kept["decp"] = decp_to_json(fetched["decp"].path, buyer_siren, data_dir / "contracts" / f"decp_{buyer_siren}.json")
    if "sirene_unite_legale" in fetched and "sirene_etablissement" in fetched:
        siae = []
        for p in sorted(status_dir.glob("siae*.csv")):
            siae += _siren_list(p, ("siret", "SIRET"))
        counts = filter_sirene(fetched["sirene_unite_legale"].path, fetched["sirene_etablissement"].path,
                               data_dir / "sirene", departement, _known_sirens(data_dir, buyer_siren),
                               ess_sirens, siae)
        kept["sirene_unite_legale"], kept["sirene_etablissement"] = counts["units"], counts["establishments"]
    for name, res in fetched.items():
        manifest.append({"source": name, "url": res.url, "status": res.status, "fetched_at": res.fetched_at,
                         "publisher_date": res.publisher_date, "size_bytes": res.size_bytes, "sha256": res.sha256,
                         "rows_kept": kept.get(name)})
    out = data_dir / "sources_fetch.json"
    out.write_text(json.dumps({"fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                               "buyer_siren": buyer_siren, "departement": departement, "sources": manifest},
                              ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest
