"""Adversarial review 14b, defect 1, guard: the ESS spending of a year or of ALL never exceeds its
total spending (a share above 100 %), a blocking check; a quarter may (a credit cancelling an
earlier quarter's non-ESS payment), and is not held to it."""

from __future__ import annotations

import shutil
from decimal import Decimal

import duckdb

from achats.pipelines import checks
from tests.conftest import run_mini
from tests.test_fixrev2_cited import HEADER, _esus_company


def test_the_guard_stops_an_ess_spending_above_the_total(mini, tmp_path):
    con = run_mini(_esus_company(mini), tmp_path)
    assert checks._ess_within_total(con, None, None).passed
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    with duckdb.connect(str(copy)) as bad:
        # the published figures of the defect: the credit judged non-ESS (at mandate 2's date)
        bad.execute("""UPDATE mart_purchase_line_estimate SET ess_point_eur = 0
                       WHERE line_id IN (SELECT line_id FROM stg_purchase_lines WHERE amount_eur < 0)""")
        bad.execute("UPDATE mart_objective8_summary SET ess_amount_eur = 32976, ess_share = 32976 / 10910 "
                    "WHERE period = 'ALL'")
        result = checks._ess_within_total(bad, None, None)
        assert not result.passed
        text = result.metadata["periods_in_error"].value
        assert "période 2024 : dépense ESS 32 976,00 € supérieure à la dépense totale 10 910,00 €" in text
        assert "ensemble (ALL) : dépense ESS 32 976,00 €" in text


def test_a_quarter_more_ess_than_spent_is_no_error(mini, tmp_path):
    """Q1: an association 1 000 € (ESS) and a company 2 000 €; Q2: « Annulation du mandat 2 »
    −2 000 € and the association 100 €. Q2 spends −1 900 € with 100 € ESS, which is right; the
    exercice 2024 and ALL spend 1 100 €, all ESS (share 100 %)."""
    _a, asso = mini.unit("ASSOCIATION LES GLANEURS", cj="9220", naf="94.99Z")
    _c, company = mini.unit("TRAVAUX ZORGLUB", cj="5499", naf="43.99C")
    rows = [["2024", "1", "15/02/2024", "ASSOCIATION LES GLANEURS", asso, "Animation", "1000,00"],
            ["2024", "2", "20/02/2024", "TRAVAUX ZORGLUB", company, "Travaux", "2000,00"],
            ["2024", "3", "10/05/2024", "TRAVAUX ZORGLUB", company, "Annulation du mandat 2", "-2000,00"],
            ["2024", "4", "12/05/2024", "ASSOCIATION LES GLANEURS", asso, "Animation", "100,00"]]
    con = run_mini(mini.write(rows, header=HEADER), tmp_path)
    got = {p: (t, e) for p, t, e in con.execute(
        "SELECT period, total_amount_eur, ess_amount_eur FROM objective8_summary").fetchall()}
    assert got["2024-Q2"] == (Decimal("-1900.00"), Decimal("100.00"))
    assert got["ALL"] == (Decimal("1100.00"), Decimal("1100.00"))
    assert checks._ess_within_total(con, None, None).passed


def test_a_quarter_above_100_percent_is_explained_by_credits_of_another_period():
    """A quarter spending 1 000 € with 3 000 € ESS (a non-ESS payment of the previous quarter
    cancelled in it): no cancellation exceeds the payments, the warning says what happened."""
    from achats.share_warnings import ess_share_warnings

    con = duckdb.connect()
    con.execute("CREATE TABLE mart_objective8_summary (period VARCHAR, ess_share DOUBLE, total_amount_eur DECIMAL(18,2))")
    con.execute("INSERT INTO mart_objective8_summary VALUES ('2024-Q2', 3.0, 1000), ('2024-Q3', -0.5, -200)")
    q2, q3 = ess_share_warnings(con)
    assert q2.startswith("part ESS de 300,0 % pour la période 2024-Q2 : hors de 0–100 % : des avoirs de cette "
                         "période annulent des paiements non ESS d'une autre période")
    assert "dépassent les paiements" not in q2
    assert "des annulations ou réductions dépassent les paiements" in q3
