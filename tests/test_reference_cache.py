"""ref_town and ref_ordinary_word from their precomputed files: the same tables as their SQL
computes, read only under the fingerprint of the current inputs and code."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest

from achats import reference_cache, registry, warehouse
from achats.paths import reference_dir
from achats.reference_cache import CACHED, cache_path, fingerprint, load_cached, write_cached
from achats.warehouse import load_reference


def _rows(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return sorted(con.execute(f'SELECT * FROM "{name}"').fetchall())


@pytest.fixture(scope="module")
def computed() -> dict[str, list[tuple]]:
    """Every cached table as its SQL computes it from the shipped nomenclatures."""
    con = duckdb.connect()
    load_reference(con, use_cache=False)
    return {name: _rows(con, name) for name in CACHED}


@pytest.mark.parametrize("name", list(CACHED))
def test_the_shipped_file_is_what_the_sql_computes_from_the_shipped_inputs(name, computed):
    con = duckdb.connect()
    saved = con.execute("SELECT decode(value) FROM parquet_kv_metadata(?) WHERE decode(key) = 'fingerprint'",
                        [str(cache_path(name))]).fetchall()
    assert saved == [(fingerprint(name),)], (
        f"{cache_path(name).name} was computed from other inputs or another SQL: run `python -m achats.reference_cache`")
    assert load_cached(con, name)
    assert _rows(con, name) == computed[name]
    assert len(computed[name]) > 1000


def test_a_run_reads_the_files_and_gets_the_same_tables(computed, monkeypatch):
    """Beneath the snapshot of the whole stage (tested below), which would copy the tables."""
    monkeypatch.setenv("ACHATS_CACHE_DIR", "off")
    used = []
    original = reference_cache.load_cached
    monkeypatch.setattr(reference_cache, "load_cached", lambda con, name: used.append(name) or original(con, name))
    con = duckdb.connect()
    counts = load_reference(con)
    assert used == list(CACHED)
    for name in CACHED:
        assert _rows(con, name) == computed[name]
        assert counts[name] == len(computed[name])
    # the declared comments are written on a table read from its file too
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'ref_town'").fetchall()[0][0]


@pytest.fixture
def ref_copy(tmp_path, monkeypatch):
    shutil.copytree(reference_dir(), tmp_path / "reference")
    monkeypatch.setattr(reference_cache, "reference_dir", lambda: tmp_path / "reference")
    return tmp_path / "reference"


def _rewrite(path, rows_sql: str, print_fp: str) -> None:
    con = duckdb.connect()
    con.execute(f"COPY ({rows_sql}) TO '{path}' (FORMAT parquet, KV_METADATA {{fingerprint: '{print_fp}'}})")


def test_under_the_right_fingerprint_the_file_is_read_as_it_is(ref_copy):
    """What keeps the file right is the first test: a run trusts a file of the right fingerprint."""
    _rewrite(cache_path("ref_town", ref_copy), "SELECT 'NULLEPART' AS town, '99' AS departement_code",
             fingerprint("ref_town", ref_copy))
    con = duckdb.connect()
    assert load_cached(con, "ref_town")
    assert con.execute("SELECT * FROM ref_town").fetchall() == [("NULLEPART", "99")]


@pytest.mark.parametrize("spoil", ["other fingerprint", "no fingerprint", "damaged", "missing", "input changed"])
def test_a_file_of_other_inputs_or_unreadable_is_left_and_the_sql_computes_the_table(ref_copy, computed, spoil):
    path = cache_path("ref_ordinary_word", ref_copy)
    if spoil == "other fingerprint":
        _rewrite(path, "SELECT 'FAUX' AS stem", "0" * 64)
    elif spoil == "no fingerprint":
        duckdb.connect().execute(f"COPY (SELECT 'FAUX' AS stem) TO '{path}' (FORMAT parquet)")
    elif spoil == "damaged":
        path.write_bytes(path.read_bytes()[:1000])
    elif spoil == "missing":
        path.unlink()
    else:  # a new CPV file: the shipped file no longer says what the SQL would compute
        before = fingerprint("ref_ordinary_word", ref_copy)
        with open(ref_copy / "cpv_2008_fr.csv", "a", encoding="utf-8") as f:
            f.write('99999999-9,"Zorglubs intergalactiques"\n')
        assert fingerprint("ref_ordinary_word", ref_copy) != before
    con = duckdb.connect()
    assert not load_cached(con, "ref_ordinary_word")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ref_ordinary_word'").fetchall() == [(0,)]
    load_reference(con)  # the run then computes it (from the shipped inputs: the copy only misleads the cache)
    assert _rows(con, "ref_ordinary_word") == computed["ref_ordinary_word"]


def _stems(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT stem FROM ref_ordinary_word").fetchall()}


def test_written_from_another_reference_folder_the_file_holds_that_folders_table(ref_copy, monkeypatch):
    """Review 17: write_cached(ref) fingerprinted `ref`'s files but computed from the shipped
    folder, and a run over `ref` then trusted a stale table."""
    with open(ref_copy / "cpv_2008_fr.csv", "a", encoding="utf-8") as f:
        f.write('99999999-9,"Zorglubs intergalactiques"\n')
    write_cached(ref_copy)
    monkeypatch.setattr(warehouse, "reference_dir", lambda: ref_copy)  # a run whose folder is the copy
    computed = duckdb.connect()
    load_reference(computed, use_cache=False)
    assert "ZORGLUB" in _stems(computed)
    cached = duckdb.connect()
    assert load_cached(cached, "ref_ordinary_word")
    assert _stems(cached) == _stems(computed)


def test_written_in_a_folder_with_an_apostrophe(tmp_path):
    """Review 17: `python -m achats.reference_cache` in « Achats de l'année/ » (the path went into
    COPY … TO '<path>' as text)."""
    ref = tmp_path / "Achats de l'année" / "reference"
    shutil.copytree(reference_dir(), ref)
    written = write_cached(ref)
    assert [p.name for p in written] == ["ref_town.parquet", "ref_ordinary_word.parquet"]


# --- the reference stage's snapshot ------------------------------------------------------------


def _stage(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything the reference stage leaves in a database: each table's row count and the digest
    of its rows (as a multiset: the tables made by SQL have no set order, even computed twice),
    its columns, types and comments, the table comments, and the macros."""
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                        "current_database() ORDER BY table_name").fetchall()]
    return {
        "tables": {t: (con.execute(f'SELECT count(*), md5(string_agg(r, chr(10) ORDER BY r)) FROM '
                                   f'(SELECT CAST(x AS VARCHAR) AS r FROM "{t}" AS x)').fetchall(),
                       con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = ? "
                                   "AND database_name = current_database() ORDER BY column_index", [t]).fetchall())
                   for t in tables},
        "comments": con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE database_name = "
                                "current_database() ORDER BY table_name").fetchall(),
        "macros": con.execute("SELECT function_name, parameters, macro_definition FROM duckdb_functions() WHERE "
                              "database_name = current_database() AND function_type LIKE '%macro%' "
                              "ORDER BY function_name").fetchall(),
    }


def test_the_digest_of_a_table_sees_one_changed_value():
    """_stage compares digests: one cell changed, or a row repeated, must show."""
    con = duckdb.connect()
    load_reference(con, use_cache=False)
    before = _stage(con)["tables"]
    con.execute("UPDATE ref_commune SET commune_nom = commune_nom || 'x' WHERE commune_code = "
                "(SELECT min(commune_code) FROM ref_commune)")
    con.execute("INSERT INTO ref_naf SELECT * FROM ref_naf LIMIT 1")
    after = _stage(con)["tables"]
    assert [t for t in before if before[t] != after[t]] == ["ref_commune", "ref_naf"]


@pytest.fixture(scope="module")
def computed_stage() -> tuple[dict, dict[str, int]]:
    con = duckdb.connect()
    counts = warehouse._compute_reference(con, True, reference_dir())
    return _stage(con), counts


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACHATS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A snapshot built once for the module (its content is checked by the first snapshot test)."""
    folder = tmp_path_factory.mktemp("built")
    stamp = reference_cache._stamp(reference_dir())
    path = folder / f"reference-{reference_cache.snapshot_key(reference_dir(), stamp)}.duckdb"
    reference_cache._build(path, lambda c: warehouse._compute_reference(c, True, reference_dir()), reference_dir(), stamp)
    return path


def _seed(cache: Path, built: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(built, cache / built.name))


@pytest.fixture
def computes(monkeypatch) -> list[int]:
    """How many times the stage is computed rather than copied."""
    calls: list[int] = []
    original = warehouse._compute_reference
    monkeypatch.setattr(warehouse, "_compute_reference", lambda *a: calls.append(1) or original(*a))
    return calls


def test_the_snapshot_gives_the_stage_the_nomenclatures_give(cache, computes, computed_stage):
    stage, counts = computed_stage
    assert len(stage["tables"]) == 16 and len(stage["macros"]) >= 4
    assert all(c for _, c in stage["comments"])  # every table commented
    first = duckdb.connect()
    assert load_reference(first) == counts  # built (computed once, into the snapshot), then copied
    assert computes == [1] and len(list(cache.glob("reference-*.duckdb"))) == 1
    again = duckdb.connect()
    assert load_reference(again) == counts  # copied, not computed
    assert computes == [1]
    assert _stage(first) == stage
    assert _stage(again) == stage


def test_inside_a_run_the_snapshot_keeps_its_comments(cache, computes, computed_stage):
    """A run defers its comments to its own connection: the snapshot is built on another one."""
    stage, _ = computed_stage
    with registry.comments_deferred():
        con = duckdb.connect()
        load_reference(con)
        assert registry.pending_comments() == 0  # nothing left to write on the run's connection
    assert computes == [1]
    assert _stage(con) == stage
    snap = duckdb.connect(str(next(cache.glob("reference-*.duckdb"))), read_only=True)
    assert _stage(snap)["comments"] == stage["comments"]


@pytest.mark.parametrize("change", ["a nomenclature", "a declaration", "DuckDB"])
def test_other_inputs_code_or_versions_make_another_snapshot(change, ref_copy, tmp_path, monkeypatch):
    before = reference_cache.snapshot_key(ref_copy)
    assert reference_cache.snapshot_key(ref_copy) == before == reference_cache.snapshot_key(reference_dir())
    if change == "a nomenclature":
        with open(ref_copy / "cpv_2008_fr.csv", "a", encoding="utf-8") as f:
            f.write('99999999-9,"Zorglubs intergalactiques"\n')
    elif change == "a declaration":
        sql = tmp_path / "sql"
        shutil.copytree(reference_cache.sql_dir(), sql)
        text = (sql / "registry.yaml").read_text(encoding="utf-8")
        (sql / "registry.yaml").write_text(text.replace("NAF", "NAF ", 1), encoding="utf-8")
        monkeypatch.setattr(reference_cache, "sql_dir", lambda: sql)
    else:
        monkeypatch.setattr(duckdb, "__version__", duckdb.__version__ + ".1")
    assert reference_cache.snapshot_key(ref_copy) != before


def test_a_nomenclature_changed_in_place_is_seen_within_one_process(ref_copy):
    before = reference_cache.snapshot_key(ref_copy)
    path = ref_copy / "categories_juridiques_niveau3.json"
    stat = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Association", b"Associatioz", 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same date
    assert path.stat().st_size == stat.st_size and path.stat().st_ino == stat.st_ino
    # same size, date and inode: the change time, which no one sets back, tells
    changed = reference_cache.snapshot_key(ref_copy)
    assert changed != before
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert reference_cache.snapshot_key(ref_copy) == before  # bytes back, the date moved: the bytes decide


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty database"])
def test_a_damaged_snapshot_is_left_aside_and_built_again(damage, cache, built, computes, computed_stage):
    stage, counts = computed_stage
    path = _seed(cache, built)
    if damage == "garbage":
        path.write_bytes(b"pas une base DuckDB" * 1000)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200_000])
    else:
        path.unlink()
        duckdb.connect(str(path)).close()
    con = duckdb.connect()
    assert load_reference(con) == counts  # computed over the run's own connection
    assert _stage(con) == stage
    assert not path.exists() and computes == [1]
    assert load_reference(duckdb.connect()) == counts  # the next run builds it again
    assert path.exists() and computes == [1, 1]


@pytest.mark.parametrize("folder", ["off", "a file"])
def test_without_a_usable_cache_folder_the_stage_is_computed(folder, tmp_path, monkeypatch, computes, computed_stage):
    stage, counts = computed_stage
    if folder == "off":
        monkeypatch.setenv("ACHATS_CACHE_DIR", "off")
    else:
        (tmp_path / "fichier").write_text("x")
        monkeypatch.setenv("ACHATS_CACHE_DIR", str(tmp_path / "fichier" / "cache"))
    con = duckdb.connect()
    assert load_reference(con) == counts
    assert computes == [1]
    assert _stage(con) == stage


def test_a_warehouse_holding_reference_tables_is_computed_over_not_half_copied(cache, built, computes, computed_stage):
    stage, counts = computed_stage
    _seed(cache, built)  # the snapshot exists
    con = duckdb.connect()
    con.execute("CREATE TABLE ref_naf AS SELECT 'vieux' AS naf, 'vieux' AS libelle")
    assert load_reference(con) == counts
    assert computes == [1]
    assert _stage(con) == stage


def test_two_processes_building_at_once_leave_one_whole_snapshot(cache, computed_stage):
    stage, counts = computed_stage
    errors: list[BaseException] = []

    def run() -> None:
        try:
            assert load_reference(duckdb.connect()) == counts
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [p.name for p in cache.iterdir()] == [f"reference-{reference_cache.snapshot_key(reference_dir())}.duckdb"]
    assert _stage(duckdb.connect(str(next(cache.iterdir())), read_only=True)) == stage


def test_snapshots_of_other_inputs_are_removed_after_a_week(cache):
    cache.mkdir(parents=True)
    old, recent = cache / "reference-ancien.duckdb", cache / "reference-recent.duckdb"
    for p in (old, recent):
        p.write_bytes(b"x")
    week = reference_cache.SNAPSHOT_KEEP_DAYS * 86400
    os.utime(old, (time.time() - week - 60,) * 2)
    os.utime(recent, (time.time() - week + 3600,) * 2)
    load_reference(duckdb.connect())
    assert not old.exists() and recent.exists()


# --- review 18: a stranger's attempts to break the snapshot (each failed on its first version) ----


def test_a_cache_folder_written_with_a_tilde_is_used_or_ignored_never_leaked(tmp_path, monkeypatch, computes):
    """ACHATS_CACHE_DIR=~/.cache/achats as a .env file, a systemd unit, docker-compose or a Dagster
    `env:` write it (no shell expands it). Python makes ./~/.cache/achats and moves the build there;
    DuckDB expands the `~` itself and writes the build under $HOME. The move fails (OSError), the
    stage is computed a second time, and the 5 MB file built under $HOME stays (a dot-file the
    week's pruning never matches; named by the process id, so one more per run): every run, the
    stage built and computed (0,83-0,93 s measured against 0,33 s computed, 0,16 s copied) and 5 MB
    more in ~/.cache/achats. Also with a backslash in the path (DuckDB reads it as a '/')."""
    home = tmp_path / "home"
    (home / ".cache" / "achats").mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.setenv("ACHATS_CACHE_DIR", "~/.cache/achats")
    for _ in range(3):
        load_reference(duckdb.connect())
    left = sorted(p.name for p in (home / ".cache" / "achats").iterdir() if not p.name.startswith("reference-"))
    assert (left, len(computes) <= 3) == ([], True), f"builds left behind: {left}; 3 runs computed the stage {len(computes)} times"


def test_a_linked_folder_inside_the_reference_folder_is_in_the_digest(tmp_path, monkeypatch):
    """`ref.rglob('*')` does not enter a linked folder (Python < 3.13 and 3.13's default), while
    `_geo_reference` reads through it: data/reference/geo as a link to a shared folder, a
    département's file added there, and the next runs keep copying the snapshot of before."""
    monkeypatch.setenv("ACHATS_CACHE_DIR", str(tmp_path / "cache"))
    ref = tmp_path / "reference"
    shutil.copytree(reference_dir(), ref, ignore=shutil.ignore_patterns("geo"))
    shared = tmp_path / "geo_shared"
    shutil.copytree(reference_dir() / "geo", shared)
    (ref / "geo").symlink_to(shared, target_is_directory=True)
    query = "SELECT count(*) FROM ref_commune_point"
    first = duckdb.connect()
    load_reference(first, ref=ref)
    points = first.execute(query).fetchone()[0]
    lines = (shared / "communes-31-haute-garonne-2026-centroides.csv").read_text(encoding="utf-8").splitlines()
    (shared / "communes-99-essai-centroides.csv").write_text(
        "\n".join([lines[0], *("99" + line[2:] for line in lines[1:])]) + "\n", encoding="utf-8")
    computed = duckdb.connect()
    load_reference(computed, use_cache=False, ref=ref)
    assert computed.execute(query).fetchone()[0] == 2 * points
    again = duckdb.connect()
    load_reference(again, ref=ref)
    assert again.execute(query).fetchone()[0] == 2 * points, "stale snapshot: the new département's points are missing"


def test_a_nomenclature_replaced_during_the_build_is_not_kept_under_the_old_digest(tmp_path, monkeypatch):
    """The key is the digest of the files read before the build; the build reads them again
    ≈ 0,35 s later. A file replaced in between (a `git checkout`/`pull`, a deployment, another
    worktree) gives a snapshot named by the old bytes holding tables of the new ones, kept and
    reused (touched at each use) by every later run with the old bytes, in any checkout sharing
    the cache folder. Without the monkeypatch: /tmp/review18/toctou.py (a writer swapping one
    file between two versions every 0,05-0,3 s): 30 of 60 snapshots built held the other version.
    Before this change such a run read a mix once; now the mix is kept."""
    monkeypatch.setenv("ACHATS_CACHE_DIR", str(tmp_path / "cache"))
    ref = tmp_path / "reference"
    shutil.copytree(reference_dir(), ref)
    path = ref / "categories_juridiques_niveau3.json"
    old = path.read_bytes()
    labels = json.loads(old)
    code = sorted(labels)[0]
    labels[code] = "LIBELLÉ DE LA NOUVELLE VERSION"
    original = reference_cache._build

    def build_while_the_file_is_replaced(*args):
        tmp = path.with_name(".nouveau")
        tmp.write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        original(*args)

    monkeypatch.setattr(reference_cache, "_build", build_while_the_file_is_replaced)
    load_reference(duckdb.connect(), ref=ref)
    monkeypatch.setattr(reference_cache, "_build", original)
    path.write_bytes(old)  # the old nomenclature again (a checkout back, another worktree)
    con = duckdb.connect()
    load_reference(con, ref=ref)
    label = con.execute("SELECT libelle FROM ref_categorie_juridique WHERE categorie_juridique = ?", [code]).fetchone()[0]
    assert label != "LIBELLÉ DE LA NOUVELLE VERSION", "the old bytes got the new version's table from the snapshot"


def test_a_snapshot_lacking_a_reference_table_is_not_copied(tmp_path, monkeypatch):
    """Hardening (needs a file written by hand): nothing checks which tables the snapshot holds.
    One missing: every run stops with « Erreur interne … KeyError : 'ref_epci' » (the Dagster
    asset's counts[table]) until someone thinks of deleting the cache; one extra: copied into the
    published warehouse."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ACHATS_CACHE_DIR", str(cache))
    load_reference(duckdb.connect())
    snapshot = next(cache.glob("reference-*.duckdb"))
    with duckdb.connect(str(snapshot)) as con:
        con.execute("DROP TABLE ref_epci")
        con.execute("CREATE TABLE autre_chose AS SELECT 1 AS x")
    con = duckdb.connect()
    counts = load_reference(con)
    assert "ref_epci" in counts and "autre_chose" not in counts


def test_a_cache_folder_duckdb_would_read_otherwise_is_not_used(tmp_path, monkeypatch, computes):
    """A backslash is a separator to DuckDB, a letter to Python: the build would land elsewhere."""
    monkeypatch.setenv("ACHATS_CACHE_DIR", str(tmp_path / "cache\\achats"))
    assert reference_cache.cache_dir() is None
    load_reference(duckdb.connect())
    assert computes == [1] and list(tmp_path.iterdir()) == []


def test_a_build_a_killed_process_left_is_removed_after_an_hour(cache, built):
    _seed(cache, built)
    dead = cache / f".{built.stem}.1234.5678.tmp"
    fresh = cache / f".{built.stem}.4321.8765.tmp"
    for p in (dead, fresh):
        p.write_bytes(b"x")
    os.utime(dead, (time.time() - 3700,) * 2)
    reference_cache._prune(cache / built.name)
    assert not dead.exists() and fresh.exists()


def test_a_copy_that_fails_for_the_connections_reason_keeps_the_snapshot(cache, built):
    """Inside a transaction of the caller's, the copy cannot start its own: nothing to do with the
    file, which stays for the next runs."""
    path = _seed(cache, built)
    con = duckdb.connect()
    con.execute("BEGIN TRANSACTION")
    assert reference_cache.restore_snapshot(con, reference_dir(), lambda c: None) is None
    assert path.exists()
