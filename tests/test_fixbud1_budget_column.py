"""Adversarial review 17, defect 1 (cases BNDBUDCOL, CRBUDCOL): two budgets in one file with a
« Budget » column. Each budget numbers its mandates from 1 and pays its own invoices, so a credit of
the annexe budget never names the principal budget's mandate of the same n°. Figures computed by
hand, as in tests/test_fixpair2_books.py where the budgets were two files."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import run_mini
from tests.test_fixkey_namesakes import _HEADER, _TOML, _figures, _invariants, _namesakes

_BUDGET_HEADER = ["Budget", *_HEADER]
_PAU = ["LES JARDINS DU GAVE", "PAU", "entretien espaces verts", "5000,00"]
_TRANSPORT = ["TRANSPORTS PYRENEENS", "PAU", "transport", "4000,00"]
_CREDIT = ["LES JARDINS DU GAVE", "BAYONNE", "avoir trop perçu", "-2000,00"]


def _run(mini, tmp_path, credit_budget: str):
    """BNDBUDCOL: the principal budget pays the association of Pau 5 000 € (mandate 5) and a
    carrier 4 000 €; `credit_budget`'s line n° 5 is a −2 000 € credit of the Bayonne namesake."""
    _namesakes(mini)
    data = mini.write([["Budget principal", "2024", "5", "10/03/2024", *_PAU],
                       ["Budget principal", "2024", "6", "10/03/2024", *_TRANSPORT],
                       [credit_budget, "2024", "5", "10/04/2024", *_CREDIT]], header=_BUDGET_HEADER)
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    return run_mini(data, tmp_path)


def _named(con) -> int:
    return con.execute("SELECT count(*) FROM cls_line_reversal WHERE is_named_reversal").fetchone()[0]


def test_bndbudcol_an_annexe_budgets_credit_does_not_name_the_principal_budgets_mandate(mini, tmp_path):
    """The annexe's n° 5 is another mandate: nothing ties the credit to Pau's payment, so ALL is
    −2 000 – 5 000 € (the truth, Pau's 5 000 € and Bayonne's credit, 5 000 €, inside), the same
    as with the budgets in two files, and ALL's bounds are the sum of the quarters'."""
    con = _run(mini, tmp_path, "Budget annexe eau")
    got = _figures(con)
    assert (got["ALL"][0], got["ALL"][4]) == (Decimal("-2000.00"), Decimal("5000.00"))
    quarters = [v for k, v in got.items() if k.startswith("2024")]
    assert (sum(v[0] for v in quarters), sum(v[4] for v in quarters)) == (Decimal("-2000.00"), Decimal("5000.00"))
    assert _named(con) == 0
    _invariants(con)


def test_the_same_budget_cell_still_ties_the_credit(mini, tmp_path):
    """Counter-example: the credit n° 5 of the principal budget is its mandate 5's reduction:
    one supplier, netted (0 – 3 000 €), as in one file without a « Budget » column."""
    con = _run(mini, tmp_path, "Budget principal")
    got = _figures(con)["ALL"]
    assert (got[0], got[4]) == (Decimal("0.00"), Decimal("3000.00"))
    assert _named(con) == 1
    _invariants(con)


def test_a_blank_budget_cell_may_be_either_budget(mini, tmp_path):
    """Counter-example: a credit whose budget cell is blank may be the principal budget's: its
    n° 5 still names mandate 5 (0 – 3 000 €); a blank cell says no other budget."""
    con = _run(mini, tmp_path, "")
    got = _figures(con)["ALL"]
    assert (got[0], got[4]) == (Decimal("0.00"), Decimal("3000.00"))
    assert _named(con) == 1
    _invariants(con)


def test_crbudcol_an_annexe_budgets_credit_is_judged_without_the_principal_budgets_payment(mini, tmp_path):
    """CRBUDCOL: an ESUS company from 2024-07-01, paid 3 000 € by the principal budget (mandate 5,
    March, before its agreement) and a carrier 5 000 €; the annexe budget's « réduction » n° 5 of
    −3 000 € in September. The annexe paid the company nothing before it: the credit is judged at its
    own date (ESUS), ESS −3 000 €, not at March's (0 €)."""
    siren, siret = mini.unit("PAMPLEMOUSSE INSERTION", cj="5710", naf="81.29A", commune="64445")
    _, carrier = mini.unit("TRANSPORTS BASQUES", cj="5710", naf="49.41A", commune="64102")
    esus = [{"siren": siren, "raison_sociale": "PAMPLEMOUSSE INSERTION", "date_agrement": "2024-07-01",
             "date_fin_agrement": ""}]
    header = ["Budget", "Exercice", "N° mandat", "Date mandat", "Fournisseur", "SIRET", "Objet", "Montant TTC"]
    data = mini.write([
        ["Budget principal", "2024", "5", "10/03/2024", "PAMPLEMOUSSE INSERTION", siret, "entretien", "3000,00"],
        ["Budget principal", "2024", "6", "10/03/2024", "TRANSPORTS BASQUES", carrier, "transport", "5000,00"],
        ["Budget annexe eau", "2024", "5", "10/09/2024", "PAMPLEMOUSSE INSERTION", siret, "réduction", "-3000,00"],
    ], header=header, esus=esus)
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    con = run_mini(data, tmp_path)
    (total, ess) = con.execute("""SELECT total_amount_eur, ess_amount_eur FROM objective8_summary
                                  WHERE period = 'ALL'""").fetchone()
    assert (total, ess) == (Decimal("5000.00"), Decimal("-3000.00"))
    (day,) = con.execute("""SELECT CAST(r.status_date AS VARCHAR) FROM cls_line_reversal r
                            JOIN stg_purchase_lines p USING (line_id) WHERE p.amount_eur < 0""").fetchone()
    assert day == "2024-09-10"
    assert _named(con) == 0
    _invariants(con)


def test_two_services_share_their_budgets_numbering(mini, tmp_path):
    """Counter-example: a « Direction » cell is no budget; two services of one budget share its
    mandate n°s, so the credit n° 5 of another service still names mandate 5 (0 – 3 000 €)."""
    _namesakes(mini)
    header = ["Direction", *_HEADER]
    data = mini.write([["Direction des espaces verts", "2024", "5", "10/03/2024", *_PAU],
                       ["Direction des transports", "2024", "6", "10/03/2024", *_TRANSPORT],
                       ["Direction de l'eau", "2024", "5", "10/04/2024", *_CREDIT]], header=header)
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    con = run_mini(data, tmp_path)
    got = _figures(con)["ALL"]
    assert (got[0], got[4]) == (Decimal("0.00"), Decimal("3000.00"))
    assert _named(con) == 1
    _invariants(con)
