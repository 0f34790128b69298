"""`town_key` (sql/reference/macros.sql) keys every French commune at each run: written for speed
(plain-text replacements, the article's expression only where a ')' is), it must give exactly
what its definition by regular expressions gives, on the COG's names and on hostile text; and
`ref_town` must keep exactly the names one département carries."""

from __future__ import annotations

import random

import duckdb
import pytest

from achats import warehouse as wh

# the definition, every step a regular expression (the macro before it was made faster)
DEFINITION = r"""CREATE OR REPLACE MACRO town_key_spec(X) AS
trim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    ' ' || regexp_replace(
        upper(strip_accents(replace(replace(x, 'œ', 'oe'), 'Œ', 'OE'))),
        '^\s*(.*?)\s*\(\s*(LE|LA|LES|L)\s*''?\s*\)\s*$', '\2 \1'
    ) || ' ',
    '[^A-Z]+', ' ', 'g'), ' CEDEX ', ' ', 'g'), ' STE ', ' SAINTE ', 'g'), ' ST ', ' SAINT ', 'g'))"""

PIECES = [*"ABCÉÈÊœŒaéèç()' -.,/0123456789", " ST ", " STE ", " CEDEX ", "(LE)", "(LA)", "(L')", " (LES) ",
          "( le )", "  ", "\t", "\n", "Sainte", "St-", "ST ST ", "CEDEX CEDEX", "ß", "ﬁ", "Ⅻ", "İ", "\u00a0", "）"]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    wh.load_reference(c)
    c.execute(DEFINITION)
    return c


def test_town_key_equals_its_definition_on_every_commune_and_hostile_text(con):
    rng = random.Random(20261130)
    hostile = ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14))) for _ in range(30_000)]
    hostile += ["HAVRE (LE)", "Le Havre", "ST ETIENNE CEDEX 2", "PARIS 15", "L'ISLE-JOURDAIN (L')", "", " ", None]
    con.execute("CREATE OR REPLACE TEMP TABLE t AS SELECT unnest($1::VARCHAR[]) AS x "
                "UNION ALL SELECT commune_nom FROM ref_commune", [hostile])
    n, differ, example = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE town_key(x) IS DISTINCT FROM town_key_spec(x)), "
        "min(x) FILTER (WHERE town_key(x) IS DISTINCT FROM town_key_spec(x)) FROM t").fetchone()
    assert n > 60_000 and differ == 0, example
    assert con.execute("SELECT town_key('HAVRE (LE)'), town_key('ST ETIENNE CEDEX 2'), "
                       "town_key('Sainte-Foy-lès-Lyon')").fetchone() == ("LE HAVRE", "SAINT ETIENNE", "SAINTE FOY LES LYON")


def test_ref_town_keeps_exactly_the_names_of_one_departement(con):
    expected = con.execute("""
        SELECT town_key_spec(commune_nom) AS town, min(departement_code)
        FROM ref_commune WHERE commune_nom IS NOT NULL AND departement_code IS NOT NULL
        GROUP BY 1 HAVING count(DISTINCT departement_code) = 1 AND town_key_spec(commune_nom) <> ''
        ORDER BY 1""").fetchall()
    got = con.execute("SELECT town, departement_code FROM ref_town ORDER BY 1").fetchall()
    assert len(got) > 30_000 and got == expected


def test_ref_ordinary_word_equals_its_definition(con):
    """Written for speed (each distinct label and word folded once, the stem without a regular
    expression): the same words, in the same order, as its plain definition."""
    expected = con.execute("""
        WITH labels AS (
            SELECT libelle AS v FROM ref_naf UNION ALL SELECT label FROM ref_cpv
            UNION ALL SELECT unnest([departement_nom, region_nom]) FROM ref_commune
            UNION ALL SELECT commune_nom FROM ref_commune
            WHERE NOT regexp_matches(trim(regexp_replace(upper(strip_accents(commune_nom)), '[^A-Z0-9]+', ' ', 'g')), ' ')
        )
        SELECT DISTINCT regexp_replace(token, '[SX]$', '') AS stem
        FROM (SELECT unnest(string_split(trim(regexp_replace(upper(strip_accents(v)), '[^A-Z0-9]+', ' ', 'g')), ' '))
              AS token FROM labels WHERE v IS NOT NULL)
        WHERE length(token) >= 4 ORDER BY stem""").fetchall()
    got = con.execute("SELECT stem FROM ref_ordinary_word").fetchall()  # in the table's own order
    assert len(got) > 10_000 and got == expected
    assert {("TRAVAU",), ("NETTOYAGE",), ("TOULOUSE",)} <= set(got)
