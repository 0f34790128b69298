"""Fingerprint of every table and view of a warehouse, to show that a change left the data alone.

    python tools/warehouse_digest.py dump WAREHOUSE OUT.json
    python tools/warehouse_digest.py compare BASE_A.json BASE_B.json NEW.json...

`dump` writes, for each relation: its kind, row count, column types and comments, a hash of each
column's sorted values and a hash of the sorted rows. `compare` takes two dumps of the same code
(two runs: what differs between them — run ids, run times — is the run's own volatile part), then
reports every difference of the other dumps from the first outside that volatile part.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import duckdb


def dump(warehouse: str) -> dict:
    con = duckdb.connect(warehouse, read_only=True)
    rels = con.execute("SELECT table_name, 'table' FROM duckdb_tables() WHERE schema_name = 'main' UNION ALL "
                       "SELECT view_name, 'view' FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal "
                       "ORDER BY 1").fetchall()
    out = {}
    for name, kind in rels:
        cols = con.execute("SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
                           "WHERE table_name = ? AND schema_name = 'main' ORDER BY column_index", [name]).fetchall()
        comment = con.execute("SELECT coalesce(comment, '') FROM duckdb_tables() WHERE table_name = ? UNION ALL "
                              "SELECT coalesce(comment, '') FROM duckdb_views() WHERE view_name = ?",
                              [name, name]).fetchone()[0]
        n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        columns = {}
        for c, _, _ in cols:
            vals = con.execute(f'SELECT "{c}"::VARCHAR AS v FROM "{name}" ORDER BY v NULLS FIRST').fetchall()
            columns[c] = hashlib.md5(repr(vals).encode()).hexdigest()
        rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
        rows_hash = hashlib.md5(repr(sorted(repr(r) for r in rows)).encode()).hexdigest()
        out[name] = {"kind": kind, "rows": n, "comment": comment, "types": {c: t for c, t, _ in cols},
                     "comments": {c: cm for c, _, cm in cols}, "values": columns, "rows_hash": rows_hash}
    con.close()
    return out


def compare(base_a: dict, base_b: dict, new: dict) -> list[str]:
    """Differences of `new` from `base_a` that `base_b` (same code as `base_a`) does not show."""
    problems = []
    for name in sorted(set(base_a) | set(new)):
        if name not in new or name not in base_a:
            problems.append(f"{name}: {'absent après' if name not in new else 'nouvelle'}")
            continue
        a, b, n = base_a[name], base_b.get(name, {}), new[name]
        for key in ("kind", "rows", "comment", "types", "comments"):
            if a[key] != n[key]:
                problems.append(f"{name}: {key} {a[key]!r} -> {n[key]!r}")
        volatile = {c for c, h in a["values"].items() if b.get("values", {}).get(c) != h}
        for c, h in a["values"].items():
            if c not in volatile and n["values"].get(c) != h:
                problems.append(f"{name}.{c}: valeurs différentes")
        if not volatile and a["rows_hash"] != n["rows_hash"]:
            problems.append(f"{name}: lignes différentes")
    return problems


def main() -> int:
    if sys.argv[1] == "dump":
        with open(sys.argv[3], "w", encoding="utf-8") as f:
            json.dump(dump(sys.argv[2]), f, indent=1, sort_keys=True)
        return 0
    a, b, *news = (json.loads(Path(p).read_text(encoding="utf-8")) for p in sys.argv[2:])
    volatile = sorted(f"{t}.{c}" for t in a for c, h in a[t]["values"].items() if b.get(t, {}).get("values", {}).get(c) != h)
    print(f"{len(a)} tables et vues ; colonnes propres à chaque calcul (ignorées) : {', '.join(volatile) or 'aucune'}")
    status = 0
    for path, new in zip(sys.argv[4:], news, strict=True):
        problems = compare(a, b, new)
        print(f"{path} : " + ("identique" if not problems else f"{len(problems)} différence(s)"))
        for p in problems:
            print("  - " + p)
        status |= bool(problems)
    return status


if __name__ == "__main__":
    sys.exit(main())
