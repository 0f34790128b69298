"""Adversarial review 15, defect 1 (case BNDK): two namesake units share one supplier key, both
lines stay in review, one is a payment and the other a credit. The extreme bounds took one
outcome for the whole key (0 – 3 000 €), which excludes the truth (5 000 €: the payment went to
the association, the credit came from the company). A key without a sure unit may be several
namesakes: each line may be either, unless a credit names the payment it reverses (its mandate
n°, its invoice, its own mandate n°), which makes the pair one supplier. Figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import run_mini

_HEADER = ["Exercice", "N° mandat", "Date mandat", "Fournisseur", "Ville", "Objet", "Montant TTC"]
_TOML = """[acheteur]
siren = "216445445"
departement = "64"
[seuils]
target_precision = 0.99
review = 0.30
[controles]
max_quarantined_share = 0.9
max_unmatched_share = 1.0
"""


def _figures(con) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal, Decimal]]:
    rows = con.execute("""SELECT period, ess_amount_extreme_low_eur, ess_amount_low_eur, ess_amount_eur,
                                 ess_amount_high_eur, ess_amount_extreme_high_eur FROM objective8_summary""").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _invariants(con) -> None:
    """Order of the bounds in every period, line by line at each grain, ALL equal to the sum of its
    lines, and the blocking checks and the independent recount agree."""
    from achats.pipelines import checks
    from achats.recount import objective8_mismatches

    for xlow, low, point, high, xhigh in _figures(con).values():
        assert xlow <= low <= point <= high <= xhigh
    bad = con.execute("""SELECT count(*) FROM mart_purchase_line_estimate
                         WHERE NOT (ess_low_eur <= ess_point_eur AND ess_point_eur <= ess_high_eur
                                    AND ess_year_low_eur <= ess_point_eur AND ess_point_eur <= ess_year_high_eur
                                    AND ess_all_low_eur <= ess_point_eur AND ess_point_eur <= ess_all_high_eur)""")
    assert bad.fetchone()[0] == 0
    assert checks.periods_mismatches(con, "mart_objective8_summary") == []
    assert checks.periods_mismatches(con, "objective8_by_year") == []
    assert objective8_mismatches(con) == []


def _namesakes(mini) -> None:
    """BNDK's units: an association in Pau and a company in Bayonne, same name, same département."""
    mini.unit("LES JARDINS DU GAVE", cj="9220", commune="64445")
    mini.unit("LES JARDINS DU GAVE", cj="5499", commune="64102")
    mini.unit("TRANSPORTS PYRENEENS", cj="5710", commune="64445")


def test_a_payment_and_a_credit_under_one_namesake_key_are_bounded_line_by_line(mini, tmp_path):
    """BNDK: 5 000 € (Pau), −2 000 € « avoir sur facture F88 » (Bayonne, no payment has that
    invoice), 4 000 € to a company. Each namesake line may be the association or the company:
    extreme bounds −2 000 – 5 000 € (the truth, 5 000 €, inside; 0 – 3 000 € before), the
    estimate unchanged (1 500 €)."""
    _namesakes(mini)
    data = mini.write([
        ["2024", "1", "05/02/2024", "LES JARDINS DU GAVE", "PAU", "entretien", "5000,00"],
        ["2024", "2", "05/03/2024", "LES JARDINS DU GAVE", "BAYONNE", "avoir sur facture F88", "-2000,00"],
        ["2024", "3", "05/03/2024", "TRANSPORTS PYRENEENS", "PAU", "transport", "4000,00"],
    ], header=_HEADER)
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    con = run_mini(data, tmp_path)
    statuses = con.execute("""SELECT match_status FROM mart_purchase_line_estimate
                              WHERE supplier_name = 'LES JARDINS DU GAVE'""").fetchall()
    assert statuses == [("review",), ("review",)]
    summary = _figures(con)
    assert con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone() == (
        Decimal("7000.00"),)
    for period in ("ALL", "2024-Q1"):
        xlow, _low, point, _high, xhigh = summary[period]
        assert (xlow, point, xhigh) == (Decimal("-2000.00"), Decimal("1500.00"), Decimal("5000.00"))
    year = con.execute("""SELECT ess_amount_extreme_low_eur, ess_amount_extreme_high_eur FROM objective8_by_year
                          WHERE year = '2024'""").fetchone()
    assert year == (Decimal("-2000.00"), Decimal("5000.00"))
    _invariants(con)


def test_a_credit_that_names_its_payment_stays_one_supplier_with_it(mini, tmp_path):
    """Counter-example: the same namesakes, but the credit cites its mandate (« Annulation du
    mandat 1 ») or carries the payment's own mandate n° (3 000 € in June, reduced by 3 000 €): one
    supplier each, netted (5 000 − 2 000 €: 0 – 3 000 €; 0 – 0 €). An unrelated payment of the same
    name (1 000 €) and a credit that names nothing (−500 € in October) may each be either namesake
    on its own: ALL −500 – 4 000 € (one outcome for the whole key gave 0 – 3 500 €)."""
    _namesakes(mini)
    data = mini.write([
        ["2024", "1", "05/02/2024", "LES JARDINS DU GAVE", "PAU", "entretien", "5000,00"],
        ["2024", "2", "05/03/2024", "LES JARDINS DU GAVE", "PAU", "Annulation partielle du mandat 1", "-2000,00"],
        ["2024", "3", "05/05/2024", "LES JARDINS DU GAVE", "BAYONNE", "entretien", "1000,00"],
        ["2024", "4", "05/06/2024", "LES JARDINS DU GAVE", "BAYONNE", "entretien", "3000,00"],
        ["2024", "4", "10/06/2024", "LES JARDINS DU GAVE", "BAYONNE", "réduction", "-3000,00"],
        ["2024", "6", "10/10/2024", "LES JARDINS DU GAVE", "BAYONNE", "avoir", "-500,00"],
    ], header=_HEADER)
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    con = run_mini(data, tmp_path)
    summary = _figures(con)
    assert (summary["ALL"][0], summary["ALL"][4]) == (Decimal("-500.00"), Decimal("4000.00"))
    assert (summary["2024-Q1"][0], summary["2024-Q1"][4]) == (Decimal("0.00"), Decimal("3000.00"))
    # the June payment and its reduction (same mandate n°) net to nothing in their quarter
    assert (summary["2024-Q2"][0], summary["2024-Q2"][4]) == (Decimal("0.00"), Decimal("1000.00"))
    _invariants(con)


def test_an_unreferenced_credit_of_a_homonym_name_counts_on_its_own(mini, tmp_path):
    """The lines of tests/test_split_pair_bounds.py and tests/test_honest_bounds.py without the
    mandate n° that ties them: 1 000 € in February and −400 € in May under a name an association
    and a company share. Nothing says the credit reverses that payment: the payment may be the
    association's and the credit the company's, or the reverse. Year and ALL −400 – 1 000 €
    (0 – 600 € before, the pair taken for one supplier); the interval stays within them."""
    mini.unit("ATELIER VERMILLON", cj="9220", commune="31395")
    mini.unit("ATELIER VERMILLON", cj="5710", commune="81004")
    data = mini.write([
        {"Fournisseur": "ATELIER VERMILLON", "Montant": "1000", "Date": "01/02/2024"},
        {"Fournisseur": "ATELIER VERMILLON", "Montant": "-400", "Date": "10/05/2024"},
    ])
    con = run_mini(data, tmp_path)
    summary = _figures(con)
    assert (summary["ALL"][0], summary["ALL"][4]) == (Decimal("-400.00"), Decimal("1000.00"))
    year = con.execute("""SELECT ess_amount_extreme_low_eur, ess_amount_extreme_high_eur FROM objective8_by_year
                          WHERE year = '2024'""").fetchone()
    assert year == (Decimal("-400.00"), Decimal("1000.00"))
    _invariants(con)
