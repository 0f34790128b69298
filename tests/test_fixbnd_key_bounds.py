"""Adversarial review 14b, defect 2: the extreme bounds are the least and greatest ESS value over
what can be true, and every line of one supplier key takes one outcome. They were computed per
payment and the credit notes paired with it, so a credit paired with a smaller payment than the
one it cancels gave a negative worst case (case BNDX3: −22 066 – 32 976 € for one supplier that
nets 10 910 €). Figures computed by hand from the reviewer's cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import run_mini

_HEADER = ["Exercice", "N° mandat", "Date mandat", "Tiers", "SIRET", "Objet", "Montant TTC"]


def _figures(con) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    rows = con.execute("""SELECT period, ess_amount_extreme_low_eur, ess_amount_eur, ess_amount_extreme_high_eur
                          FROM objective8_summary""").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _invariants(con) -> None:
    """Line by line at each grain low <= point <= high; each period is the sum of its lines in its
    grain's column; the blocking checks and the independent recount agree."""
    from achats.pipelines import checks
    from achats.recount import objective8_mismatches

    bad = con.execute("""SELECT count(*) FROM mart_purchase_line_estimate
                         WHERE NOT (ess_low_eur <= ess_point_eur AND ess_point_eur <= ess_high_eur
                                    AND ess_year_low_eur <= ess_point_eur AND ess_point_eur <= ess_year_high_eur
                                    AND ess_all_low_eur <= ess_point_eur AND ess_point_eur <= ess_all_high_eur)""")
    assert bad.fetchone()[0] == 0
    summary = _figures(con)
    lines = con.execute("""SELECT sum(ess_all_low_eur), sum(ess_all_high_eur) FROM mart_purchase_line_estimate""")
    assert lines.fetchone() == (summary["ALL"][0], summary["ALL"][2])
    for low, point, high in summary.values():
        assert low <= point <= high
    assert checks.periods_mismatches(con, "mart_objective8_summary") == []
    assert checks.periods_mismatches(con, "objective8_by_year") == []
    assert objective8_mismatches(con) == []


def _homonyms(mini) -> None:
    """An association of the buyer's département and a company elsewhere with the same name: the
    supplier, named without identifier, stays in review."""
    mini.unit("LES JARDINIERS DU GAVE", cj="9220", commune="31395")
    mini.unit("LES JARDINIERS DU GAVE", cj="5499", commune="33063")


@pytest.mark.parametrize("name", ["LES JARDINIERS DU GAVE", "ASSOCIATION INCONNUE XYZ"])
def test_a_cancelled_payment_and_a_smaller_one_of_the_same_supplier_bound_its_net(mini, tmp_path, name):
    """BNDX3 (homonyms, review) and BNDX1 (a name no unit has): 32 976 € in March, 10 910 € in June,
    « Annulation du mandat 1 » −32 976 € in July. One supplier, one outcome: it nets 10 910 €,
    ESS or not, so ALL and the year are 0 – 10 910 €; each quarter keeps its own lines."""
    _homonyms(mini)
    data = mini.write([
        ["2024", "1", "18/03/2024", name, "", "Entretien", "32976,00"],
        ["2024", "2", "05/06/2024", name, "", "Entretien", "10910,00"],
        ["2024", "3", "28/07/2024", name, "", "Annulation du mandat 1", "-32976,00"],
    ], header=_HEADER)
    (data / "achats.toml").write_text("[controles]\nmax_unmatched_share = 1.0\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    statuses = {s for (s,) in con.execute("SELECT DISTINCT match_status FROM mart_purchase_line_estimate").fetchall()}
    assert statuses == ({"review"} if name.startswith("LES") else {"unmatched"})
    summary = _figures(con)
    low, point, high = summary["ALL"]
    assert (low, high) == (Decimal("0.00"), Decimal("10910.00")) and 0 <= point <= 10910
    year = con.execute("""SELECT ess_amount_extreme_low_eur, ess_amount_extreme_high_eur FROM objective8_by_year
                          WHERE year = '2024'""").fetchone()
    assert year == (Decimal("0.00"), Decimal("10910.00"))
    assert (summary["2024-Q1"][0], summary["2024-Q1"][2]) == (0, Decimal("32976.00"))
    assert (summary["2024-Q2"][0], summary["2024-Q2"][2]) == (0, Decimal("10910.00"))
    assert (summary["2024-Q3"][0], summary["2024-Q3"][2]) == (Decimal("-32976.00"), 0)
    _invariants(con)


def test_a_credit_dated_before_the_payment_it_cancels_and_an_earlier_payment(mini, tmp_path):
    """BNDX2: 1 578 € in February, 10 317 € on 18/09 and its cancellation dated 17/09. By hand the
    supplier nets 1 578 €: 0 – 1 578 € in ALL, and 0 – 0 € in the third quarter."""
    _homonyms(mini)
    name = "LES JARDINIERS DU GAVE"
    data = mini.write([
        ["2024", "1", "18/09/2024", name, "", "Entretien", "10317,00"],
        ["2024", "2", "17/09/2024", name, "", "Annulation du mandat 1", "-10317,00"],
        ["2024", "3", "08/02/2024", name, "", "Entretien", "1578,00"],
    ], header=_HEADER)
    con = run_mini(data, tmp_path)
    summary = _figures(con)
    assert (summary["ALL"][0], summary["ALL"][2]) == (0, Decimal("1578.00"))
    assert (summary["2024-Q3"][0], summary["2024-Q3"][2]) == (0, 0)
    _invariants(con)


def test_a_ceased_payee_is_its_own_or_not_for_all_its_lines(mini, tmp_path):
    """The RND case's negative worst case: an association ceased before every line, paid by its
    SIRET 5 000 € then 1 000 €, and 5 000 € cancelled. The money is still its own (a liquidation) or
    not, for all its lines alike: 0 – 1 000 € in ALL, not −4 000 €."""
    _s, siret = mini.unit("ENTRAIDE DU LAURAGAIS", cj="9220", etatAdministratifUniteLegale="C",
                          dateDebut="2023-06-01")
    name = "ENTRAIDE DU LAURAGAIS"
    data = mini.write([
        ["2024", "1", "15/03/2024", name, siret, "Solde", "5000,00"],
        ["2024", "2", "10/06/2024", name, siret, "Solde", "1000,00"],
        ["2024", "3", "20/07/2024", name, siret, "Annulation du mandat 1", "-5000,00"],
    ], header=_HEADER)
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT bool_and(is_ceased_payee) FROM mart_purchase_line_estimate").fetchone()[0]
    summary = _figures(con)
    assert summary["ALL"] == (0, 0, Decimal("1000.00"))
    _invariants(con)


def test_two_suppliers_do_not_net_and_a_sure_supplier_stays_exact(mini, tmp_path):
    """Counter-examples the rule must not break: a credit of one uncertain supplier does not net
    with another supplier's payment (each may be ESS or not on its own), and a supplier matched by
    its SIRET counts exactly, each line at its own date (an ESUS agreement that ends in April)."""
    _homonyms(mini)
    mini.unit("ATELIER VERMILLON", cj="9220", commune="31395")
    mini.unit("ATELIER VERMILLON", cj="5710", commune="81004")
    esus, esus_siret = mini.unit("RECYCLERIE OURANOS", cj="5710")
    data = mini.write([
        ["2024", "1", "18/03/2024", "LES JARDINIERS DU GAVE", "", "Entretien", "3000,00"],
        ["2024", "2", "20/05/2024", "ATELIER VERMILLON", "", "Annulation", "-1000,00"],
        ["2024", "3", "10/03/2024", "RECYCLERIE OURANOS", esus_siret, "Collecte", "4000,00"],
        ["2024", "4", "10/06/2024", "RECYCLERIE OURANOS", esus_siret, "Collecte", "2000,00"],
        ["2024", "5", "10/07/2024", "RECYCLERIE OURANOS", esus_siret, "Annulation du mandat 4", "-2000,00"],
    ], header=_HEADER, esus=[{"siren": esus, "raison_sociale": "RECYCLERIE OURANOS",
                             "date_agrement": "2021-05-01", "date_fin_agrement": "2024-04-30"}])
    con = run_mini(data, tmp_path)
    summary = _figures(con)
    # sure: 4 000 € ESS (March, agreed); the June payment and its credit are not ESS
    # uncertain: 0 – 3 000 € for the first supplier, −1 000 – 0 € for the second's credit alone
    assert (summary["ALL"][0], summary["ALL"][2]) == (Decimal("3000.00"), Decimal("7000.00"))
    _invariants(con)


def test_the_recount_catches_a_worst_case_below_what_the_supplier_can_weigh(mini, tmp_path):
    """The independent recount bounds each open supplier by its own outcomes: BNDX3's old
    publication (ALL −22 066 – 32 976 €, for a supplier that nets 10 910 € whatever it is) is
    reported; the published 0 – 10 910 € passes."""
    import duckdb

    from achats.recount import objective8_mismatches

    _homonyms(mini)
    name = "LES JARDINIERS DU GAVE"
    data = mini.write([
        ["2024", "1", "18/03/2024", name, "", "Entretien", "32976,00"],
        ["2024", "2", "05/06/2024", name, "", "Entretien", "10910,00"],
        ["2024", "3", "28/07/2024", name, "", "Annulation du mandat 1", "-32976,00"],
    ], header=_HEADER)
    run_mini(data, tmp_path).close()
    con = duckdb.connect(str(tmp_path / "wh" / "w.duckdb"))
    assert objective8_mismatches(con) == []
    con.execute("""UPDATE mart_objective8_summary SET ess_amount_extreme_low_eur = -22066,
                   ess_amount_extreme_high_eur = 32976 WHERE period = 'ALL'""")
    bad = objective8_mismatches(con)
    assert len(bad) == 2 and all(b.startswith("ALL : ess_amount_extreme_") for b in bad)
