"""SQL style that sqlfluff does not check: no pass-through CTE (`x AS (SELECT * FROM t)`) and no
alias that repeats its input's name (`t AS t`, `col AS col`)."""

from __future__ import annotations

import pytest

from achats.paths import sql_dir

sqlglot = pytest.importorskip("sqlglot")
from sqlglot import exp  # noqa: E402

FILES = sorted(p.relative_to(sql_dir()).as_posix() for p in sql_dir().glob("*/*.sql"))


def style_problems(text: str) -> list[str]:
    out = []
    for stmt in sqlglot.parse(text, read="duckdb"):
        if stmt is None:
            continue
        for cte in stmt.find_all(exp.CTE):
            body = cte.this
            if (isinstance(body, exp.Select) and len(body.expressions) == 1
                    and isinstance(body.expressions[0], exp.Star) and isinstance(body.args.get("from_"), exp.From)
                    and not any(body.args.get(k) for k in ("where", "joins", "group", "qualify", "limit", "order"))):
                out.append(f"CTE de passage : {cte.alias}")
        for table in stmt.find_all(exp.Table):
            if table.alias and table.alias == table.name:
                out.append(f"alias identique à la table : {table.name}")
        for alias in stmt.find_all(exp.Alias):
            if isinstance(alias.this, exp.Column) and alias.this.name == alias.alias:
                out.append(f"alias identique à la colonne : {alias.alias}")
    return out


def test_style_checker_catches_what_it_claims():
    assert style_problems("WITH ok AS (SELECT * FROM t) SELECT * FROM ok") == ["CTE de passage : ok"]
    assert style_problems("SELECT t.a AS a FROM t AS t") == ["alias identique à la table : t",
                                                             "alias identique à la colonne : a"]
    assert style_problems("WITH ok AS (SELECT * FROM t WHERE x) SELECT a AS b FROM ok AS o") == []


@pytest.mark.parametrize("relative", FILES)
def test_sql_file_has_no_pass_through_cte_nor_self_alias(relative):
    assert style_problems((sql_dir() / relative).read_text(encoding="utf-8")) == []
