"""Reference tables computed in advance: `ref_town` and `ref_ordinary_word`.

Both are functions of the shipped nomenclatures alone (the COG's communes, NAF and CPV labels),
yet computing them costs ≈ 0,2 s of regular expressions over every French commune at each run,
where reading them back costs ≈ 0,01 s: a tenth of a small buyer's whole run. Each is written
once, as parquet beside the nomenclatures, under the fingerprint of everything it is computed
from (the input files, its SQL, the macros, DuckDB's version). A run reads a file only under the
fingerprint of its own files and code, and computes the table by its SQL otherwise: never stale,
only slower. `python -m achats.reference_cache` writes the files again (after a new COG, NAF or
CPV file, or a change of the SQL); tests/test_reference_cache.py says when.

Above these files, the whole reference stage is kept as a DuckDB file in a local cache folder
(`ACHATS_CACHE_DIR`, by default `$XDG_CACHE_HOME/achats` or `~/.cache/achats`): every `ref_*`
table with its comments, and the macros. A run copies it into its warehouse in one statement
(≈ 0,07 s) instead of reading the nomenclatures and writing sixteen tables (≈ 0,35 s, a sixth of
a small buyer's run). Its name is the digest of the reference folder's bytes, of the code and SQL
that build it and of the library versions: another input or code, another file, built at the
first run that needs it. No cache folder (`ACHATS_CACHE_DIR=off`), an unwritable or damaged one:
the stage is computed as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from achats.paths import files_under, reference_dir, sql_dir
from achats.registry import comments_now, load_registry

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


# --- the reference stage as one DuckDB file -------------------------------------------------

SNAPSHOT_PREFIX = "reference-"
SNAPSHOT_ALIAS = "_achats_reference_snapshot"
SNAPSHOT_KEEP_DAYS = 7  # snapshots of other inputs or code unused this long are removed
OFF = {"", "0", "off", "non", "no", "false"}
_SRC = Path(__file__).resolve().parent
# the code and declarations the stage is built by: warehouse.load_reference and its helpers, this
# module, the comments (registry.py, registry.yaml), the reference SQL files
_CODE = ("warehouse.py", "reference_cache.py", "registry.py")
_keys: dict[tuple, str] = {}
_keys_lock = threading.Lock()


def cache_dir() -> Path | None:
    """Where snapshots are kept; None when the environment turns the cache off, or names a folder
    DuckDB would read otherwise than Python (a backslash is a separator to DuckDB)."""
    value = os.environ.get("ACHATS_CACHE_DIR")
    if value is not None:
        if value.strip().lower() in OFF:
            return None
        folder = Path(value).expanduser()  # « ~/.cache/achats » as an .env file or a unit writes it
    else:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "achats"
    return None if os.sep == "/" and "\\" in str(folder) else folder


def _inputs(ref: Path) -> list[tuple[str, Path]]:
    files = [(f"reference/{p.relative_to(ref).as_posix()}", p) for p in sorted(files_under(ref))]
    files += [(f"src/{name}", _SRC / name) for name in _CODE]
    files += [("sql/registry.yaml", sql_dir() / "registry.yaml")]
    files += [(f"sql/reference/{p.name}", p) for p in sorted((sql_dir() / "reference").glob("*.sql"))]
    return files


def _stamp(ref: Path) -> tuple:
    """The versions, and each input's name, size, dates (change time included: it moves at every
    write, and no one can set it back) and inode."""
    import polars
    import pyarrow

    versions = f"{duckdb.__version__}|{polars.__version__}|{pyarrow.__version__}|{sys.version_info[:2]}"
    return (versions, *((name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                        for name, st in ((n, p.stat()) for n, p in _inputs(ref))))


def snapshot_key(ref: Path, stamp: tuple | None = None) -> str:
    """The digest of everything the reference stage is built from: the folder's files (names and
    bytes, linked folders followed), the code and SQL, and the versions of DuckDB, polars and
    pyarrow. Hashing the ≈ 4 MB costs ≈ 0,01 s; within a process it is done again only when the
    stamp (`_stamp`, taken now unless given) changed."""
    stamp = stamp or _stamp(ref)
    with _keys_lock:
        if stamp in _keys:
            return _keys[stamp]
    digest = hashlib.blake2b(stamp[0].encode(), digest_size=16)
    for name, path in _inputs(ref):
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    key = digest.hexdigest()
    with _keys_lock:
        _keys[stamp] = key
    return key


class _NotKept(Exception):
    """A build not to publish: its inputs moved while it read them, or DuckDB wrote it elsewhere."""


def _build(path: Path, build: Callable[[duckdb.DuckDBPyConnection], object], ref: Path, stamp: tuple) -> None:
    """Build the stage in a file of its own, then move it in place: a reader never sees half a
    file, and two processes building at once leave one whole file. Published only when no input
    changed from `stamp`, the one `path` was named from, to the end of the build (a checkout or a
    deployment meanwhile would put other bytes' tables under this name, for every later run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        con = duckdb.connect(str(tmp), config={"threads": "1"})
        try:
            with comments_now():  # into this file, not noted for the run's connection
                build(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if not tmp.exists():
            raise _NotKept(f"{tmp} : écrit ailleurs par DuckDB")
        if _stamp(ref) != stamp:
            raise _NotKept("nomenclatures modifiées pendant la construction")
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    _prune(path)


def _prune(kept: Path) -> None:
    """Remove the snapshots of other inputs or code left unused SNAPSHOT_KEEP_DAYS days, and the
    builds a killed process left (a build takes a second)."""
    now = time.time()
    old = [(p, SNAPSHOT_KEEP_DAYS * 86400) for p in kept.parent.glob(f"{SNAPSHOT_PREFIX}*.duckdb") if p != kept]
    old += [(p, 3600) for p in kept.parent.glob(f".{SNAPSHOT_PREFIX}*.tmp*")]
    for other, age in old:
        with contextlib.suppress(OSError):
            if other.stat().st_mtime < now - age:
                other.unlink()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def expected_tables() -> set[str]:
    return {t.name for t in load_registry().tables.values() if t.layer == "reference"}


class _Unfit(duckdb.IOException):
    """A snapshot whose tables are not the declared reference tables (written by hand, or by a
    defect): treated as a damaged file."""


def _copy_in(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, int]:
    """Every table, comment and macro of the snapshot into the connection's database, in one
    transaction: all of it or nothing. Raises duckdb.Error when the file is unreadable or holds
    other tables than the declared reference ones, or the database already holds one of its
    objects (a warehouse run again over its old tables: CatalogException)."""
    con.execute(f"ATTACH {_quote(str(path))} AS {SNAPSHOT_ALIAS} (READ_ONLY)")
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY table_name",
            [SNAPSHOT_ALIAS]).fetchall()]
        if set(names) != expected_tables():
            raise _Unfit(f"{path.name} : tables {sorted(set(names) ^ expected_tables())} en trop ou absentes")
        target = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f'COPY FROM DATABASE {SNAPSHOT_ALIAS} TO "{target.replace(chr(34), chr(34) * 2)}"')
            counts = con.execute(" UNION ALL ".join(
                f"SELECT {_quote(n)}, count(*) FROM \"{n}\"" for n in names)).fetchall()
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.execute(f"DETACH {SNAPSHOT_ALIAS}")
    return dict(counts)


def _fit(path: Path) -> bool:
    """Whether the file opens on its own and holds the declared reference tables: a failed copy
    into a run's connection may come from that connection (its transaction), not from the file."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} \
                == expected_tables()
    except duckdb.Error:
        return False


def restore_snapshot(con: duckdb.DuckDBPyConnection, ref: Path,
                     build: Callable[[duckdb.DuckDBPyConnection], object]) -> dict[str, int] | None:
    """The reference stage copied from its snapshot (built first by `build` when missing): its
    tables' row counts; None when the run must compute the stage itself (no cache folder, a
    folder it cannot write, a damaged or unfit file, inputs changing during the build, a
    warehouse already holding reference objects)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        stamp = _stamp(ref)
        path = folder / f"{SNAPSHOT_PREFIX}{snapshot_key(ref, stamp)}.duckdb"
        if not path.exists():
            _build(path, build, ref, stamp)
    except (OSError, duckdb.Error, _NotKept):
        return None
    try:
        counts = _copy_in(con, path)
    except duckdb.CatalogException:  # the warehouse already holds some of them: computed over them
        return None
    except duckdb.Error:  # unreadable or unfit: removed, built again by the next run
        if not _fit(path):
            with contextlib.suppress(OSError):
                path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # in use: kept by _prune
    return counts


if __name__ == "__main__":
    for p in write_cached():
        print(f"écrit : {p}", file=sys.stderr)
