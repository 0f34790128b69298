"""The registry's grain check reads a relation once (rows less distinct keys, beside the NULL
counts) and groups it only when a key repeats. The one aggregate must see a repeated key exactly
when the grouping does, whatever the keys hold (NULLs, NaN, -0.0, empty text, several columns),
and the check must report what the grouping reports."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from achats.registry import Column, Table, contract_problems

FLOATS = st.one_of(st.none(), st.sampled_from([0.0, -0.0, float("nan"), float("inf"), 1.5]))
TEXTS = st.one_of(st.none(), st.sampled_from(["", "a", "A", "a ", "é", "NULL"]))
INTS = st.one_of(st.none(), st.integers(-2, 2))


def _grouped(con, name: str, keys: list[str]) -> tuple[int, str | None]:
    """The general form: every key value in several rows, and the first of them as text (the
    message names the same one at every run)."""
    cols = ", ".join(f'"{k}"' for k in keys)
    return con.execute(f'SELECT count(*), min(({cols})::VARCHAR) FROM (SELECT {cols} FROM "{name}" '
                       "GROUP BY ALL HAVING count(*) > 1)").fetchone()


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(INTS, TEXTS, FLOATS), max_size=12), grain=st.sampled_from(
    [("i",), ("s",), ("f",), ("i", "s"), ("s", "f"), ("i", "s", "f")]), view=st.booleans())
def test_one_aggregate_finds_a_repeated_key_exactly_when_grouping_does(rows, grain, view):
    con = duckdb.connect()
    con.execute('CREATE TABLE base ("i" INTEGER, "s" VARCHAR, "f" DOUBLE)')
    if rows:
        con.executemany("INSERT INTO base VALUES (?, ?, ?)", rows)
    con.execute(f"CREATE {'VIEW' if view else 'TABLE'} t AS SELECT * FROM base")
    table = Table(name="t", layer="marts", description="",
                  columns=(Column("i", "INTEGER"), Column("s", "VARCHAR"), Column("f", "DOUBLE", not_null=True)),
                  grain=grain)
    dupes, example = _grouped(con, "t", list(grain))
    nulls = sum(f is None for _, _, f in rows)
    expected = []
    if dupes:
        expected.append(f"t : {dupes} valeur(s) de la clé ({', '.join(grain)}) en plusieurs lignes, par exemple {example}")
    if nulls:
        expected.append(f"t.f : {nulls} valeur(s) NULL dans une colonne déclarée non nulle")
    assert contract_problems(con, table) == expected
