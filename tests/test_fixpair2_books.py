"""Adversarial review 16, defect 1 (cases OWNEX, BNDEX, BNDEX2, BNDBUD, BNDCIT, BNDINV): a credit
was paired with a payment by a mandate n° (its own, or the one its text cites) of another exercice
or another budget's file, and by an invoice n° two namesakes share. Mandate n°s restart each
exercice and per budget (a buyer may export each budget apart); an invoice n° is the supplier's
own numbering. Figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import run_mini, write_csv
from tests.test_fixkey_namesakes import _HEADER, _TOML, _figures, _invariants, _namesakes

_PAU = ["LES JARDINS DU GAVE", "PAU", "entretien espaces verts", "5000,00"]
_TRANSPORT = ["TRANSPORTS PYRENEENS", "PAU", "transport", "4000,00"]


def _credit(objet: str) -> list[str]:
    return ["LES JARDINS DU GAVE", "BAYONNE", objet, "-2000,00"]


def _run(mini, tmp_path, rows, other: list | None = None, header=_HEADER):
    """The rows in the mini export; `other` in a second file, the annexe budget's."""
    data = mini.write(rows, header=header)
    if other is not None:
        write_csv(data / "purchases" / "achats_budget_annexe_eau_2024.csv", header, other, delimiter=";")
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    return run_mini(data, tmp_path)


def _check_namesake_pair_open(con) -> None:
    """5 000 € to the association (ESS) or the company, −2 000 € from either: nothing ties the
    credit to that payment, so ALL is −2 000 – 5 000 € (the truth, 5 000 €, inside)."""
    got = _figures(con)["ALL"]
    assert (got[0], got[4]) == (Decimal("-2000.00"), Decimal("5000.00"))
    (named,) = con.execute("SELECT count(*) FROM cls_line_reversal WHERE is_named_reversal").fetchone()
    assert named == 0
    _invariants(con)


def test_ownex_a_credits_own_number_of_another_exercice_is_another_mandate(mini, tmp_path):
    """OWNEX: an ESUS company from 2024-01-01; 2023 mandate 5 (3 000 €), 2024 mandate 3 (3 000 €),
    a 2024 « avoir » numbered 5 (−3 000 €) citing nothing, a carrier 5 000 €. It reverses the 2024 payment (ESUS), not
    2023's mandate 5: ESS 3 000 − 3 000 = 0 € (the 2023 payment predates the agreement)."""
    _namesakes(mini)
    siren, siret = mini.unit("PAMPLEMOUSSE INSERTION", cj="5710", naf="81.29A", commune="64445")
    _, carrier = mini.unit("TRANSPORTS BASQUES", cj="5710", naf="49.41A", commune="64102")
    esus = [{"siren": siren, "raison_sociale": "PAMPLEMOUSSE INSERTION", "date_agrement": "2024-01-01",
             "date_fin_agrement": ""}]
    header = ["Exercice", "N° mandat", "Date mandat", "Fournisseur", "SIRET", "Objet", "Montant TTC"]
    data = mini.write([
        ["2023", "5", "10/03/2023", "PAMPLEMOUSSE INSERTION", siret, "entretien", "3000,00"],
        ["2024", "3", "10/02/2024", "PAMPLEMOUSSE INSERTION", siret, "entretien", "3000,00"],
        ["2024", "5", "10/03/2024", "PAMPLEMOUSSE INSERTION", siret, "avoir", "-3000,00"],
        ["2024", "6", "10/02/2024", "TRANSPORTS BASQUES", carrier, "transport", "5000,00"],
    ], header=header, esus=esus)
    (data / "achats.toml").write_text(_TOML, encoding="utf-8")
    con = run_mini(data, tmp_path)
    (total, ess) = con.execute("""SELECT total_amount_eur, ess_amount_eur FROM objective8_summary
                                  WHERE period = 'ALL'""").fetchone()
    assert (total, ess) == (Decimal("8000.00"), Decimal("0.00"))
    got = _figures(con)["ALL"]
    assert (got[0], got[4]) == (Decimal("0.00"), Decimal("0.00"))
    (day,) = con.execute("""SELECT CAST(r.status_date AS VARCHAR) FROM cls_line_reversal r
                            JOIN stg_purchase_lines p USING (line_id) WHERE p.amount_eur < 0""").fetchone()
    assert day == "2024-02-10"
    _invariants(con)


def test_bndex_the_same_number_in_another_exercice_does_not_tie_namesakes(mini, tmp_path):
    _namesakes(mini)
    con = _run(mini, tmp_path, [["2023", "5", "10/03/2023", *_PAU],
                                ["2024", "5", "10/03/2024", *_credit("avoir trop perçu")],
                                ["2024", "6", "10/03/2024", *_TRANSPORT]])
    _check_namesake_pair_open(con)


def test_bndbud_the_same_number_in_another_budgets_file_does_not_tie_namesakes(mini, tmp_path):
    _namesakes(mini)
    con = _run(mini, tmp_path, [["2024", "5", "10/03/2024", *_PAU], ["2024", "6", "10/03/2024", *_TRANSPORT]],
               other=[["2024", "5", "10/04/2024", *_credit("avoir trop perçu")]])
    _check_namesake_pair_open(con)


def test_bndcit_a_cited_number_absent_from_the_credits_own_budget_names_nothing(mini, tmp_path):
    """BNDCIT: the annexe budget's credit cites « mandat 5 », which only the principal budget has."""
    _namesakes(mini)
    con = _run(mini, tmp_path, [["2024", "5", "10/03/2024", *_PAU], ["2024", "6", "10/03/2024", *_TRANSPORT]],
               other=[["2024", "9", "10/04/2024", *_credit("annulation partielle du mandat 5")]])
    _check_namesake_pair_open(con)


def test_bndinv_an_invoice_number_two_namesakes_share_does_not_tie_them(mini, tmp_path):
    """BNDINV: both namesakes number an invoice « 2024-003 »; the company's credit names its own."""
    _namesakes(mini)
    header = [*_HEADER[:5], "N° facture", *_HEADER[5:]]
    con = _run(mini, tmp_path, [
        ["2024", "11", "05/02/2024", "LES JARDINS DU GAVE", "PAU", "2024-003", "entretien espaces verts", "5000,00"],
        ["2024", "12", "05/03/2024", "LES JARDINS DU GAVE", "BAYONNE", "2024-003", "avoir sur facture 2024-003",
         "-2000,00"],
        ["2024", "13", "05/03/2024", "TRANSPORTS PYRENEENS", "PAU", "T-77", "transport", "4000,00"],
    ], header=header)
    _check_namesake_pair_open(con)


def test_the_same_budget_and_exercice_still_tie_namesakes(mini, tmp_path):
    """Counter-example: the credit cites mandate 5 of its own file and exercice: one supplier with
    that payment, netted (0 – 3 000 €), as before."""
    _namesakes(mini)
    con = _run(mini, tmp_path, [["2024", "5", "10/03/2024", *_PAU],
                                ["2024", "9", "10/04/2024", *_credit("annulation partielle du mandat 5")],
                                ["2024", "6", "10/03/2024", *_TRANSPORT]])
    got = _figures(con)["ALL"]
    assert (got[0], got[4]) == (Decimal("0.00"), Decimal("3000.00"))
    _invariants(con)
