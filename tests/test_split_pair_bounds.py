"""A credit note and the payment it reverses, in two different quarters (adv8, defect 5): they are
one supplier, ESS or not together, so every period that holds both (the year, ALL) counts them
net in its extreme bounds; a quarter that holds one of them keeps that line's own worst case. ALL's
extreme bounds then lie within the sums of the periods' (no longer equal to them)."""

from __future__ import annotations

import pytest

from tests.conftest import run_mini

_HEADER = ["Date mandat", "N° mandat", "Type de pièce", "Fournisseur", "Objet", "Montant TTC"]


def _bounds(con, table: str) -> dict[str, tuple[float, ...]]:
    extra = ", ess_amount_low_eur, ess_amount_high_eur" if table == "mart_objective8_summary" else ""
    rows = con.execute(f"""SELECT period, ess_amount_extreme_low_eur, ess_amount_eur, ess_amount_extreme_high_eur
                                  {extra} FROM {table}""").fetchall()
    return {r[0]: tuple(float(v) for v in r[1:]) for r in rows}


def _checks_pass(con) -> None:
    from achats.pipelines import checks
    from achats.recount import objective8_mismatches

    assert checks.periods_mismatches(con, "mart_objective8_summary") == []
    assert checks.periods_mismatches(con, "objective8_by_year") == []
    assert objective8_mismatches(con) == []


def test_a_payment_accepted_by_name_cancelled_the_next_quarter_nets_to_zero_in_the_year_and_all(mini, tmp_path):
    """The reviewer's case C2: an ESS association accepted by its name alone, paid 1 000 € in March
    and cancelled in full (« Annulation », written positive) in April, and a non-ESS supplier. In
    every scenario the pair weighs 0: the year and ALL have extreme bounds 0 – 0 €, not −1 000 –
    1 000 € (the sum of the two quarters' worst cases, a negative ESS spending)."""
    mini.unit("ASSOCIATION BERGAMOTE SOLIDAIRE", cj="9220")
    mini.unit("TERRASSEMENTS OURANOS", cj="5710")
    data = mini.write([
        ["15/03/2024", "101", "Mandat", "ASSOCIATION BERGAMOTE SOLIDAIRE", "Repas mars", "1000,00"],
        ["10/04/2024", "140", "Annulation", "ASSOCIATION BERGAMOTE SOLIDAIRE", "Annulation mandat 101", "1000,00"],
        ["20/03/2024", "103", "Mandat", "TERRASSEMENTS OURANOS", "Voirie", "5000,00"],
    ], header=_HEADER)
    con = run_mini(data, tmp_path)
    by_name = con.execute("""SELECT count(*) FROM mart_purchase_line_estimate
                             WHERE is_accepted_by_name AND is_ess_at_date""").fetchone()[0]
    assert by_name == 2  # the case is the reviewer's: the payment and its credit note accepted by name
    summary, years = _bounds(con, "mart_objective8_summary"), _bounds(con, "objective8_by_year")
    assert summary["ALL"][:3] == (0.0, 0.0, 0.0) and summary["ALL"][3:] == (0.0, 0.0)
    assert years["2024"] == years["ALL"] == (0.0, 0.0, 0.0)
    # each quarter keeps its own line's worst case: ESS or not, the payment alone, the credit alone
    assert (summary["2024-Q1"][0], summary["2024-Q1"][2]) == (0.0, 1000.0)
    assert (summary["2024-Q2"][0], summary["2024-Q2"][2]) == (-1000.0, 0.0)
    for xlow, point, xhigh, low, high in summary.values():
        assert xlow <= low <= point <= high <= xhigh
    _checks_pass(con)


@pytest.mark.parametrize(("paid", "credited", "years_apart"), [
    ("01/02/2024", "10/05/2024", False),
    ("01/12/2023", "10/01/2024", True),
])
def test_a_payment_in_review_partly_cancelled_in_another_period_nets_where_both_fall(
        mini, tmp_path, paid, credited, years_apart):
    """A payment in review between an ESS and a non-ESS homonym, 1 000 €, reduced by 400 € in a
    later quarter (of the same year, or of the next one): ALL counts the net 600 € (0 – 600 €), the
    year too when both fall in it; a year holding one line alone keeps that line's worst case. The
    reduction carries the payment's mandate n°: under a name two units share, only that makes it
    surely the same supplier (review 15, defect 1: a credit that names no payment may come from the
    other namesake, tests/test_fixkey_namesakes.py)."""
    mini.unit("ATELIER VERMILLON", cj="9220", commune="31395")
    mini.unit("ATELIER VERMILLON", cj="5710", commune="81004")
    data = mini.write([
        {"Fournisseur": "ATELIER VERMILLON", "N° mandat": "17", "Montant": "1000", "Date": paid},
        {"Fournisseur": "ATELIER VERMILLON", "N° mandat": "17", "Montant": "-400", "Date": credited},
    ], header=["Fournisseur", "N° mandat", "Montant", "Date"])
    con = run_mini(data, tmp_path)
    statuses = {s for (s,) in con.execute("SELECT DISTINCT match_status FROM mart_purchase_line_estimate").fetchall()}
    assert statuses == {"review"}
    summary, years = _bounds(con, "mart_objective8_summary"), _bounds(con, "objective8_by_year")
    xlow, point, xhigh, low, high = summary["ALL"]
    assert (xlow, xhigh) == (0.0, 600.0) and 0 < point < 600
    assert xlow <= low <= point <= high <= xhigh
    assert (years["ALL"][0], years["ALL"][2]) == (0.0, 600.0)
    if years_apart:
        assert (years["2023"][0], years["2023"][2]) == (0.0, 1000.0)
        assert (years["2024"][0], years["2024"][2]) == (-400.0, 0.0)
    else:
        assert (years["2024"][0], years["2024"][2]) == (0.0, 600.0)
    quarters = [v for k, v in summary.items() if k not in ("ALL", "sans date") and v != (0.0,) * 5]
    assert sorted((q[0], q[2]) for q in quarters) == [(-400.0, 0.0), (0.0, 1000.0)]
    # line by line, each grain's columns add up to its figure
    sums = con.execute("""SELECT sum(ess_all_low_eur), sum(ess_all_high_eur), sum(ess_year_low_eur),
                                 sum(ess_year_high_eur), sum(ess_low_eur), sum(ess_high_eur)
                          FROM mart_purchase_line_estimate""").fetchone()
    assert [float(v) for v in sums[:2]] == [0.0, 600.0]
    assert [float(v) for v in sums[4:]] == [-400.0, 1000.0]
    _checks_pass(con)


def test_the_additivity_check_takes_all_within_the_sums_and_catches_it_outside(mini, tmp_path):
    """ALL's extreme bounds inside the quarters' sums (a split pair netted) pass the blocking check;
    an ALL low bound under the quarters' sum, or an ALL high bound over it, is reported."""
    import duckdb

    from achats.pipelines import checks

    mini.unit("ATELIER VERMILLON", cj="9220", commune="31395")
    mini.unit("ATELIER VERMILLON", cj="5710", commune="81004")
    data = mini.write([
        {"Fournisseur": "ATELIER VERMILLON", "Montant": "1000", "Date": "01/02/2024"},
        {"Fournisseur": "ATELIER VERMILLON", "Montant": "-400", "Date": "10/05/2024"},
    ])
    run_mini(data, tmp_path).close()
    con = duckdb.connect(str(tmp_path / "wh" / "w.duckdb"))
    sums = con.execute("""SELECT sum(ess_amount_extreme_low_eur), sum(ess_amount_extreme_high_eur)
                          FROM mart_objective8_summary WHERE period <> 'ALL'""").fetchone()
    assert [float(v) for v in sums] == [-400.0, 1000.0]
    con.execute("""UPDATE mart_objective8_summary SET ess_amount_extreme_low_eur = -399.99,
                   ess_amount_extreme_high_eur = 999.99 WHERE period = 'ALL'""")
    assert checks.periods_mismatches(con, "mart_objective8_summary") == []
    con.execute("UPDATE mart_objective8_summary SET ess_amount_extreme_low_eur = -500 WHERE period = 'ALL'")
    con.execute("UPDATE mart_objective8_summary SET ess_amount_extreme_high_eur = 1100 WHERE period = 'ALL'")
    bad = checks.periods_mismatches(con, "mart_objective8_summary")
    assert len(bad) == 2 and "ess_amount_extreme_low_eur" in bad[0] and "ess_amount_extreme_high_eur" in bad[1]
