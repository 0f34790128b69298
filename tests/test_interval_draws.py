"""The 90 % interval's draws (mart_objective8_summary): each key's uniform number is computed once
per draw and compared with its outcomes' intervals in a list, instead of a join that hashed the
key twice per draw and outcome. The published table must be the same, to the cent and the bit, as
with the join: compared here on generated estimates (hostile probabilities: zero, tiny, repeated
outcome ranks, keys with quotes, undated lines, credit notes)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from achats.paths import read_sql
from achats.warehouse import _statements

# The draws as the join computed them before (the general form the list form must equal).
JOIN_DRAWS = """draws AS (
    SELECT ko.supplier_key, d.sim, ko.k
    FROM (SELECT unnest(range(1000)) AS sim) AS d
    CROSS JOIN (SELECT DISTINCT supplier_key FROM uncertain_keys) AS uk
    JOIN key_outcomes AS ko
        ON
            ko.supplier_key = uk.supplier_key
            AND (hash(uk.supplier_key || ':' || d.sim) % 1000003) / 1000003.0 >= ko.lo
            AND (hash(uk.supplier_key || ':' || d.sim) % 1000003) / 1000003.0 < ko.hi
    JOIN key_mode AS m ON m.supplier_key = ko.supplier_key AND ko.k <> m.k_mode
),
"""

ESTIMATE = """CREATE TABLE mart_purchase_line_estimate (
    line_id VARCHAR, quarter VARCHAR, draw_key VARCHAR, siren VARCHAR, amount_eur DECIMAL(18, 2),
    ess_outcomes STRUCT(k INTEGER, p DOUBLE, is_ess BOOLEAN)[], ess_point_eur DECIMAL(18, 2),
    ess_low_eur DECIMAL(18, 2), ess_high_eur DECIMAL(18, 2), ess_all_low_eur DECIMAL(18, 2),
    ess_all_high_eur DECIMAL(18, 2), is_certain BOOLEAN, is_accepted_by_name BOOLEAN, is_ess_at_date BOOLEAN,
    match_status VARCHAR, is_esus_at_date BOOLEAN, is_inclusive_at_date BOOLEAN)"""
LINES = "CREATE TABLE stg_purchase_lines (line_id VARCHAR, quarter VARCHAR, status VARCHAR, amount_eur DECIMAL(18, 2))"

probability = st.one_of(st.just(0.0), st.just(1e-12), st.just(1.0), st.floats(0, 1, allow_nan=False))
outcome = st.tuples(st.sampled_from([0, 1, 2, 3, 96, 98, 99]), probability, st.booleans())
cents = st.integers(-500_000, 2_000_000).map(lambda c: Decimal(c).scaleb(-2))
line = st.tuples(st.sampled_from([None, "2024-T1", "2024-T2", "2025-T4"]), st.integers(0, 5), cents,
                 st.booleans(), st.booleans(), st.booleans(), st.sampled_from(["matched", "review", "unmatched"]))
KEYS = ["k0", "K'1", "clé 2", "", "k 4", "k5"]


def _objective8(con: duckdb.DuckDBPyConnection, text: str) -> list[tuple]:
    for statement in _statements(text):
        con.execute(statement)
    return con.execute("SELECT * FROM mart_objective8_summary ORDER BY period").fetchall()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcomes=st.lists(st.lists(outcome, max_size=5), min_size=6, max_size=6), lines=st.lists(line, max_size=40))
def test_list_draws_equal_the_join_draws(outcomes, lines):
    text = read_sql("marts/mart_objective8_summary.sql")
    start, end = text.index("other_outcomes AS ("), text.index("mode_values AS (")
    reference = text[:start] + JOIN_DRAWS + text[end:]
    con = duckdb.connect()
    for statement in _statements(read_sql("reference/macros.sql")):
        con.execute(statement)
    con.execute(ESTIMATE)
    con.execute(LINES)
    for i, (quarter, key, amount, certain, by_name, ess, status) in enumerate(lines):
        outs = [{"k": k, "p": p, "is_ess": e} for k, p, e in outcomes[key]]
        point = (amount * Decimal(sum(p for _, p, e in outcomes[key] if e) / max(sum(p for _, p, _ in outcomes[key]), 1e-9))
                 ).quantize(Decimal("0.01"))
        con.execute("INSERT INTO mart_purchase_line_estimate VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [f"l{i}", quarter, KEYS[key], f"{key:09d}", amount, outs, point, min(point, 0), max(point, amount),
                     min(point, 0), max(point, amount), certain, by_name, ess, status, ess and certain, by_name])
        con.execute("INSERT INTO stg_purchase_lines VALUES (?, ?, 'ok', ?)", [f"l{i}", quarter, amount])
    assert _objective8(con, text) == _objective8(con, reference)
