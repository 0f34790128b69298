"""The registry check's one-statement path (`_view_problems`, used for declared views: grain
and NULL counts beside `typeof` of every column) must say exactly what the former two-statement
check said (catalog query, then the counts), on any relation: odd types, names differing by case or holding quotes,
missing, extra or mistyped columns, repeated keys, NULLs, tables and views. The former check is
kept here, verbatim, as the reference."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import achats.registry as registry
from achats.registry import Column, Table, _view_problems, contract_problems, load_registry


def reference_problems(con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
    """contract_problems as it was before the one-statement path (commit 3dea8fa), verbatim."""
    try:
        actual = dict(con.execute("""SELECT name, type FROM pragma_table_info('"' || current_database()
                                     || '"."main"."' || ? || '"')""", [table.name.replace('"', '""')]).fetchall())
    except duckdb.CatalogException:
        actual = {}
    if not actual:
        return [f"{table.name} : table ou vue absente de l'entrepôt"]
    declared = {c.name: c for c in table.columns}
    out = [f"{table.name}.{c} : colonne déclarée absente" for c in declared if c not in actual]
    out += [f"{table.name}.{c} : colonne non déclarée dans sql/registry.yaml ({t})"
            for c, t in actual.items() if c not in declared]
    out += [f"{table.name}.{c} : type {actual[c]} au lieu de {col.type}"
            for c, col in declared.items() if c in actual and actual[c].replace(" ", "") != col.type]
    grain = [g for g in table.grain if g in actual]
    grain = grain if grain and len(grain) == len(table.grain) else []
    not_null = [c for c, col in declared.items() if col.not_null and c in actual]
    if not grain and not not_null:
        return out
    keys = ", ".join(f'"{g}"' for g in grain)
    counts = [f"count(*) - count(DISTINCT row({keys}))"] if grain else []
    counts += [f'count(*) FILTER (WHERE "{c}" IS NULL)' for c in not_null]
    row = con.execute(f'SELECT {", ".join(counts)} FROM "{table.name}"').fetchone()
    if grain:
        surplus, row = row[0], row[1:]
        dupes, example = con.execute(
            f'SELECT count(*), min(({keys})::VARCHAR) FROM (SELECT {keys} FROM "{table.name}" '
            "GROUP BY ALL HAVING count(*) > 1)").fetchone() if surplus else (0, None)
        if dupes:
            out.append(f"{table.name} : {dupes} valeur(s) de la clé ({', '.join(grain)}) en plusieurs lignes, "
                       f"par exemple {example}")
    out += [f"{table.name}.{c} : {n} valeur(s) NULL dans une colonne déclarée non nulle"
            for c, n in zip(not_null, row, strict=True) if n]
    return out


# (SQL type, a value as SQL text): every family the warehouse uses, and odder ones
TYPES = [
    ("INTEGER", "1"), ("BIGINT", "2"), ("HUGEINT", "3"), ("UTINYINT", "4"), ("DOUBLE", "'nan'::DOUBLE"),
    ("FLOAT", "-0.0"), ("DECIMAL(18,2)", "1.25"), ("DECIMAL(38, 6)", "2.5"), ("DECIMAL(4,1)", "1.5"),
    ("VARCHAR", "'a'"), ("BOOLEAN", "true"), ("DATE", "DATE '2024-01-31'"),
    ("TIMESTAMP", "TIMESTAMP '2024-01-01 10:00'"), ("TIMESTAMPTZ", "TIMESTAMPTZ '2024-01-01 10:00+00'"),
    ("TIMESTAMP_NS", "TIMESTAMP_NS '2024-01-01'"), ("TIME", "TIME '10:00'"), ("INTERVAL", "INTERVAL 1 DAY"),
    ("BLOB", "'\\x00'::BLOB"), ("UUID", "'3e1b7c0e-6a55-4f0e-9d5a-000000000001'"), ("VARCHAR[]", "['x', NULL]"),
    ("INTEGER[3]", "[1, 2, 3]"), ("STRUCT(a INTEGER, \"b c\" VARCHAR)", "{'a': 1, 'b c': 'z'}"),
    ("MAP(VARCHAR, INTEGER)", "MAP {'k': 1}"), ("UNION(n INTEGER, s VARCHAR)", "1::UNION(n INTEGER, s VARCHAR)"),
    ("ENUM('x', 'y')", "'x'"), ("JSON", "'{}'"), ("BIT", "'101'::BIT"), ("VARINT", "1::VARINT"),
]
NAMES = ["id", "Id", "amount_eur", "période", "a b", 'q"uote', "count_star()", "x"]


@st.composite
def relations(draw):
    """A relation (columns with types and rows) and a declaration of it, near or far from it."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4,
                          unique_by=str.casefold))  # DuckDB names ignore the case
    types = [draw(st.sampled_from(TYPES)) for _ in names]
    rows = draw(st.lists(st.tuples(*[st.booleans() for _ in names]), max_size=5))  # False: NULL
    kind = draw(st.sampled_from(["TABLE", "VIEW", "absent"]))
    layer = draw(st.sampled_from(["marts", "views"]))
    # the declaration: each actual column kept (its type, or another; its name, or its case
    # changed), dropped, or joined by an undeclared one
    declared = []
    for name, (sql_type, _) in zip(names, types, strict=True):
        if draw(st.integers(0, 5)) == 0:
            continue
        shown = name.upper() if draw(st.integers(0, 6)) == 0 else name
        kept_type = draw(st.integers(0, 5)) > 0
        declared.append(Column(shown, sql_type.replace(" ", "") if kept_type else draw(st.sampled_from(TYPES))[0],
                               not_null=draw(st.booleans())))
    if draw(st.booleans()):
        declared.append(Column("undeclared_here", "VARCHAR", not_null=draw(st.booleans())))
    declared_names = [c.name for c in declared]
    grain = tuple(draw(st.lists(st.sampled_from(declared_names), unique=True, max_size=2))) if declared_names else ()
    return names, types, rows, kind, Table("t", layer, "", tuple(declared), grain=grain)


def _build(names, types, rows, kind) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    cols = ", ".join(f'"{n.replace(chr(34), chr(34) * 2)}" {t}' for n, (t, _) in zip(names, types, strict=True))
    con.execute(f"CREATE TABLE base ({cols})")
    for row in rows:
        values = ", ".join(v if present else "NULL" for present, (_, v) in zip(row, types, strict=True))
        con.execute(f"INSERT INTO base VALUES ({values})")
    if kind == "TABLE":
        con.execute("CREATE TABLE t AS SELECT * FROM base")
    elif kind == "VIEW":
        con.execute("CREATE VIEW t AS SELECT * FROM base")
    return con


@settings(max_examples=300, deadline=None)
@given(relations())
def test_the_one_statement_check_says_what_the_former_check_said(case):
    names, types, rows, kind, table = case
    con = _build(names, types, rows, kind)
    try:
        expected = reference_problems(con, table)
    except duckdb.Error as e:  # the former check failed on it: the new one fails alike...
        if not any('"' in c for c in table.grain) and not any('"' in c.name and c.not_null for c in table.columns):
            for check in (contract_problems, _view_problems):
                with pytest.raises(type(e)):
                    check(con, table)
            return
        # ...but for a key or not-null column whose name holds a double quote, which the
        # former check wrote unescaped into its SQL: the new one quotes it
        assert isinstance(e, duckdb.ParserException)
        assert _view_problems(con, table) == contract_problems(con, table)
        return
    assert contract_problems(con, table) == expected
    assert _view_problems(con, table) == expected


def test_typeof_names_every_type_as_the_catalog_does():
    """The types come from `typeof`, no more from the catalog: both spell every type alike."""
    con = duckdb.connect()
    cols = ", ".join(f'"c{i}" {t}' for i, (t, _) in enumerate(TYPES))
    con.execute(f"CREATE TABLE t ({cols})")
    con.execute("CREATE VIEW v AS SELECT * FROM t")
    for name in ("t", "v"):
        catalog = con.execute(f"SELECT name, type FROM pragma_table_info('{name}')").fetchall()
        cur = con.execute(f"SELECT typeof(any_value(COLUMNS(*))) FROM {name}")
        assert list(zip([d[0] for d in cur.description], cur.fetchone(), strict=True)) == catalog


def test_the_sample_views_take_the_one_statement_path(sample_con, monkeypatch):
    """Every declared view of a sample run is checked in one statement (the general path, with
    its catalog query, would cost a second binding of each view)."""
    def general(con, table):
        raise AssertionError(f"{table.name} : chemin général")

    monkeypatch.setattr(registry, "_contract_problems_general", general)
    views = [t for t in load_registry().tables.values() if t.is_view]
    assert len(views) >= 10
    assert [p for t in views for p in contract_problems(sample_con, t)] == []


DEFECTS = {
    "repeated key": ("INSERT INTO t VALUES (1, 'a', 2.0)", "t : 1 valeur(s) de la clé (id) en plusieurs lignes, "
                     "par exemple 1"),
    "NULL": ("INSERT INTO t VALUES (3, 'c', NULL)", "t.amount_eur : 1 valeur(s) NULL dans une colonne déclarée non nulle"),
    "mistyped": ("ALTER TABLE t ALTER amount_eur TYPE DOUBLE", "t.amount_eur : type DOUBLE au lieu de DECIMAL(18,2)"),
    "undeclared": ("ALTER TABLE t ADD COLUMN extra INTEGER", "t.extra : colonne non déclarée dans sql/registry.yaml "
                   "(INTEGER)"),
    "missing": ("ALTER TABLE t DROP COLUMN label", "t.label : colonne déclarée absente"),
    "missing key": ("ALTER TABLE t DROP COLUMN id", "t.id : colonne déclarée absente"),
    "renamed by case": ("ALTER TABLE t RENAME COLUMN amount_eur TO Amount_EUR", "t.amount_eur : colonne déclarée absente"),
    "absent": ("DROP TABLE t", "t : table ou vue absente de l'entrepôt"),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
@pytest.mark.parametrize("view", [False, True])
def test_the_check_still_fails_on_each_defect(defect, view):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id INTEGER, label VARCHAR, amount_eur DECIMAL(18,2))")
    con.execute("INSERT INTO t VALUES (1, 'a', 1.0), (2, 'b', 2.0)")
    table = Table("t", "views" if view else "marts", "", (
        Column("id", "INTEGER", not_null=True), Column("label", "VARCHAR"),
        Column("amount_eur", "DECIMAL(18,2)", not_null=True)), grain=("id",))
    sql, message = DEFECTS[defect]
    if view:  # the same defect seen through a view
        con.execute("ALTER TABLE t RENAME TO base")
        con.execute("CREATE VIEW t AS SELECT * FROM base")
        sql = sql.replace(" t ", " base ").replace("TABLE t", "TABLE base") if defect != "absent" else "DROP VIEW t"
    assert contract_problems(con, table) == []
    con.execute(sql)
    if view and defect not in ("repeated key", "NULL", "absent"):  # a view keeps its columns: re-create it
        con.execute("CREATE OR REPLACE VIEW t AS SELECT * FROM base")
    problems = contract_problems(con, table)
    assert message in problems
    assert problems == reference_problems(con, table) == _view_problems(con, table)
