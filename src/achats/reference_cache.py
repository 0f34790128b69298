"""Reference tables computed in advance: `ref_town` and `ref_ordinary_word`.

Both are functions of the shipped nomenclatures alone (the COG's communes, NAF and CPV labels),
yet computing them costs ≈ 0,2 s of regular expressions over every French commune at each run,
where reading them back costs ≈ 0,01 s: a tenth of a small buyer's whole run. Each is written
once, as parquet beside the nomenclatures, under the fingerprint of everything it is computed
from (the input files, its SQL, the macros, DuckDB's version). A run reads a file only under the
fingerprint of its own files and code, and computes the table by its SQL otherwise: never stale,
only slower. `python -m achats.reference_cache` writes the files again (after a new COG, NAF or
CPV file, or a change of the SQL); tests/test_reference_cache.py says when.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import duckdb

from achats.paths import reference_dir, sql_dir

# table → the shipped files it is computed from (as load_reference reads them)
CACHED = {
    "ref_town": ("cog_communes_departements_regions.parquet",),
    "ref_ordinary_word": ("cog_communes_departements_regions.parquet", "naf_rev2_sous_classes.json",
                          "cpv_2008_fr.csv"),
}
FOLDER = "precalcul"


def cache_path(name: str, ref: Path | None = None) -> Path:
    return (ref or reference_dir()) / FOLDER / f"{name}.parquet"


def fingerprint(name: str, ref: Path | None = None) -> str:
    """What the table depends on besides load_reference's code: its inputs' bytes, its SQL file,
    the macros it calls, and DuckDB's version (its regular expressions and accent stripping)."""
    ref = ref or reference_dir()
    digest = hashlib.sha256(duckdb.__version__.encode())
    for part in [*(ref / f for f in CACHED[name]), sql_dir() / "reference" / f"{name}.sql",
                 sql_dir() / "reference" / "macros.sql"]:
        digest.update(part.name.encode() + b"\0" + part.read_bytes() + b"\0")
    return digest.hexdigest()


def load_cached(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Make `name` from its precomputed file when the file's fingerprint is the current one;
    False (nothing made) when the file is missing, damaged or computed from other inputs."""
    path = cache_path(name)
    try:
        saved = con.execute("SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = 'fingerprint'",
                            [str(path)]).fetchall()
    except duckdb.Error:
        return False
    if saved != [(fingerprint(name),)]:
        return False
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM read_parquet(?)', [str(path)])
    return True


def write_cached(ref: Path | None = None) -> list[Path]:
    """Compute every cached table by its SQL (load_reference with the files left aside) and write
    it with its fingerprint."""
    from achats.warehouse import load_reference

    ref = ref or reference_dir()
    con = duckdb.connect()
    try:
        load_reference(con, use_cache=False, ref=ref)  # from the files it fingerprints, not the shipped ones
        written = []
        for name in CACHED:
            path = cache_path(name, ref)
            path.parent.mkdir(parents=True, exist_ok=True)
            quoted = str(path).replace("'", "''")  # COPY takes no parameter for its path
            con.execute(f"COPY \"{name}\" TO '{quoted}' (FORMAT parquet, KV_METADATA {{fingerprint: "
                        f"'{fingerprint(name, ref)}'}})")
            written.append(path)
        return written
    finally:
        con.close()


if __name__ == "__main__":
    for p in write_cached():
        print(f"écrit : {p}", file=sys.stderr)
