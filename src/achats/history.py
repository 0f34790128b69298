"""What each run read and what it found, kept from run to run inside the warehouse.

A run writes a new warehouse file; the history of earlier runs is copied over from the previous
file, so last year's published figure stays next to today's recomputation, with the list of
inputs that changed in between (a new overrides.csv, a new ESUS list, a corrected SIRENE).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl

from achats import __version__
from achats.db import has_table
from achats.registry import apply_comments
from achats.warehouse import write_frame

PARTIAL_HASH_ABOVE = 256 * 1024 * 1024  # national stocks: hash head, tail and size, not every byte
CHUNK = 16 * 1024 * 1024
MANIFEST_SCHEMA = {"path": pl.String, "kind": pl.String, "size_bytes": pl.Int64, "modified_at": pl.String,
                   "sha256": pl.String, "hash_scope": pl.String}


def file_fingerprint(path: Path) -> tuple[str, str]:
    """sha256 of the whole file, or of its first and last 16 MiB plus its size when it is huge."""
    h = hashlib.sha256()
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size <= PARTIAL_HASH_ABOVE:
            for block in iter(lambda: fh.read(CHUNK), b""):
                h.update(block)
            return h.hexdigest(), "complet"
        h.update(fh.read(CHUNK))
        fh.seek(size - CHUNK)
        h.update(fh.read(CHUNK))
        h.update(str(size).encode())
    return h.hexdigest(), "début, fin et taille"


def input_manifest(data_dir: Path) -> pl.DataFrame:
    rows = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(data_dir)
        if any(part.startswith(".") for part in rel.parts) or rel.parts[0] in ("warehouse", "cache", "review"):
            continue
        digest, scope = file_fingerprint(path)
        stat = path.stat()
        rows.append({"path": rel.as_posix(), "kind": rel.parts[0] if len(rel.parts) > 1 else rel.name,
                     "size_bytes": stat.st_size,
                     "modified_at": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat(timespec="seconds"),
                     "sha256": digest, "hash_scope": scope})
    return pl.DataFrame(rows, schema=MANIFEST_SCHEMA)


def write_sources_manifest(con: duckdb.DuckDBPyConnection, data_dir: Path) -> int:
    """`sources_manifest`: every input file with its fingerprint and the rows the run kept from it."""
    manifest = input_manifest(data_dir)
    write_frame(con, "_manifest", manifest)
    con.execute("""
        CREATE OR REPLACE TABLE sources_manifest AS
        WITH kept AS (
            SELECT source_file, count(*) AS rows_kept FROM (
                SELECT source_file FROM src_purchase_lines WHERE status = 'ok'
                UNION ALL SELECT source_file FROM src_sirene_unite_legale
                UNION ALL SELECT source_file FROM src_sirene_etablissement
                UNION ALL SELECT source_file FROM src_ess_france
                UNION ALL SELECT source_file FROM src_esus
                UNION ALL SELECT source_file FROM src_siae
                UNION ALL SELECT source_file FROM src_contracts WHERE status = 'ok'
            ) GROUP BY source_file
        )
        SELECT m.*, k.rows_kept FROM _manifest m LEFT JOIN kept k ON k.source_file = m.path
        ORDER BY m.path""")
    con.execute("DROP TABLE _manifest")
    apply_comments(con, "sources_manifest")
    return manifest.height


def _fingerprint(rows: list[tuple]) -> str:
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:16]


def _mask_kept_sources(con: duckdb.DuckDBPyConnection) -> None:
    """The runs kept from an earlier warehouse: each file gets its file_id (md5 of the path it was
    kept under, the real one before this version) and a path that names a non-diffusible unit is
    replaced by its masked name, the one that run showed (shown_path) or the one this run gives
    the same file (res_file_mask): the history shows no real name either."""
    con.execute("ALTER TABLE hist_sources ADD COLUMN IF NOT EXISTS shown_path VARCHAR")
    con.execute("ALTER TABLE hist_sources ADD COLUMN IF NOT EXISTS file_id VARCHAR")
    con.execute("UPDATE hist_sources SET file_id = md5(path) WHERE file_id IS NULL")
    con.execute("""UPDATE hist_sources SET path = shown_path,
                   kind = CASE WHEN contains(path, '/') THEN kind ELSE shown_path END
                   WHERE shown_path IS NOT NULL AND shown_path <> path""")
    if has_table(con, "res_file_mask"):
        con.execute("""UPDATE hist_sources AS h SET path = fm.masked_file, shown_path = fm.masked_file,
                       kind = CASE WHEN contains(h.path, '/') THEN h.kind ELSE fm.masked_file END
                       FROM res_file_mask AS fm WHERE fm.source_file_md5 = h.file_id AND h.path <> fm.masked_file""")


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, previous: Path | None) -> dict:
    """Copy the earlier runs from the previous warehouse, then add this run and what changed."""
    for table in ("hist_runs", "hist_objective8", "hist_sources"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    if previous is not None and previous.exists():
        con.execute("ATTACH ? AS prev (READ_ONLY)", [str(previous)])
        try:
            have = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'prev'").fetchall()}
            for table in ("hist_runs", "hist_objective8", "hist_sources"):
                if table in have:
                    con.execute(f"CREATE TABLE {table} AS SELECT * FROM prev.main.{table}")
        finally:
            con.execute("DETACH prev")
    con.execute("""CREATE TABLE IF NOT EXISTS hist_runs (run_id VARCHAR, run_at TIMESTAMP, code_version VARCHAR,
                   inputs_fingerprint VARCHAR, overrides_fingerprint VARCHAR, changed_inputs VARCHAR)""")
    con.execute("CREATE TABLE IF NOT EXISTS hist_sources AS SELECT ''::VARCHAR AS run_id, ''::VARCHAR AS file_id, *, "
                "''::VARCHAR AS shown_path FROM sources_manifest WHERE false")
    con.execute("CREATE TABLE IF NOT EXISTS hist_objective8 AS SELECT ''::VARCHAR AS run_id, * FROM objective8_summary WHERE false")
    # a file named after a non-diffusible unit is listed under its masked name (res_file_mask) in
    # hist_sources.path, in this run's list and in the next one's « retiré » (hist_runs.changed_inputs);
    # file_id, the md5 of the real path (res_file_mask.source_file_md5), ties one file across runs
    mask_join = "LEFT JOIN res_file_mask AS fm ON fm.source_file_md5 = md5(s.path)" \
        if has_table(con, "res_file_mask") else ""
    masked = "coalesce(fm.masked_file, s.path)" if mask_join else "s.path"
    _mask_kept_sources(con)
    manifest = con.execute(f"SELECT md5(s.path), s.sha256, {masked} FROM sources_manifest AS s {mask_join} "
                           "ORDER BY s.path").fetchall()
    sources = [(f, h) for f, h, _ in manifest]
    shown = {f: v for f, _, v in manifest}
    last = con.execute("SELECT run_id FROM hist_runs ORDER BY run_at DESC LIMIT 1").fetchall()
    changed = ""
    if last:
        earlier = con.execute("SELECT file_id, sha256, path FROM hist_sources WHERE run_id = ?",
                              [last[0][0]]).fetchall()
        before = {f: h for f, h, _ in earlier}
        now = dict(sources)
        name = {f: v for f, _, v in earlier} | shown
        parts = [f"nouveau : {name[f]}" for f in sorted(now.keys() - before.keys(), key=name.get)]
        parts += [f"retiré : {name[f]}" for f in sorted(before.keys() - now.keys(), key=name.get)]
        parts += [f"modifié : {name[f]}" for f in sorted(now.keys() & before.keys(), key=name.get)
                  if now[f] != before[f]]
        changed = " ; ".join(parts) or "aucun changement des entrées"
    plain = [(p, h) for p, h in con.execute("SELECT path, sha256 FROM sources_manifest ORDER BY path").fetchall()]
    overrides = [r for r in plain if r[0] in ("overrides.csv",)
                 or (r[0].count("/") == 1 and r[0].startswith("status/") and _is_manual_list(r[0]))]
    con.execute("INSERT INTO hist_runs VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, dt.datetime.now(dt.UTC).replace(tzinfo=None), __version__, _fingerprint(plain),
                 _fingerprint(overrides), changed or "premier calcul conservé"])
    root = f"CASE WHEN {masked} <> s.path AND NOT contains(s.path, '/') THEN {masked} ELSE s.kind END"
    con.execute(f"INSERT INTO hist_sources BY NAME SELECT ? AS run_id, md5(s.path) AS file_id, "
                f"s.* REPLACE ({masked} AS path, {root} AS kind), {masked} AS shown_path "
                f"FROM sources_manifest AS s {mask_join}", [run_id])
    add_missing_columns(con, "hist_objective8", "objective8_summary")
    con.execute("INSERT INTO hist_objective8 BY NAME SELECT ? AS run_id, * FROM objective8_summary", [run_id])
    return {"runs_kept": con.execute("SELECT count(*) FROM hist_runs").fetchall()[0][0], "changed_inputs": changed}


def add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, source: str) -> None:
    """History carried from an older warehouse lacks columns added since (e.g. duplicate_line_count):
    add them, NULL for the old runs, so that the new run can still be appended."""
    have = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                            "AND database_name = current_database()", [table]).fetchall())
    for name, typ in con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                                 "AND database_name = current_database() ORDER BY column_index", [source]).fetchall():
        if name not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {typ}')
        elif have[name] != typ:  # e.g. euros kept as DOUBLE by older versions, now DECIMAL(18, 2)
            con.execute(f'ALTER TABLE {table} ALTER COLUMN "{name}" TYPE {typ}')


def _is_manual_list(path: str) -> bool:
    """`status/ess_manuel*.csv` in any case: the status reader's own rule (status_file_kind)."""
    from achats.sources.status import status_file_kind

    return status_file_kind(Path(path)) == "ess_manuel"
