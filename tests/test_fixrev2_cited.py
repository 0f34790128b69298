"""Adversarial review 14b, defect 1: a credit that names the mandate it cancels (« Annulation du
mandat 1 » in its objet, or the cancelled invoice in a « N° facture » column) is judged at that
mandate's date, not at the supplier's latest payment before it. Built from the reviewer's cases
BNDX4, BNDX5 and BNDX7 (control BNDX6); figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from achats.recount import objective8_mismatches
from tests.conftest import run_mini

HEADER = ["Exercice", "N° mandat", "Date mandat", "Tiers", "SIRET", "Objet", "Montant TTC"]


def _esus_company(mini, invoices: bool = False, own_number: bool = False):
    """BNDX4 / BNDX7 / BNDX6: an ESUS company whose agreement ends 2024-03-31. Mandate 1
    (18/03, agreement valid) 32 976 €, mandate 2 (05/06, agreement over) 10 910 €, then a credit of
    −32 976 € that cancels mandate 1: by its objet (BNDX4), by the invoice it repeats (BNDX7) or by
    repeating the mandate's own n° (BNDX6)."""
    siren, siret = mini.unit("PRESSING SOLIDAIRE BEARN", cj="5710", naf="96.01B")
    esus = [{"siren": siren, "raison_sociale": "PRESSING SOLIDAIRE BEARN", "date_agrement": "2019-04-01",
             "date_fin_agrement": "2024-03-31"}]
    name = "PRESSING SOLIDAIRE BEARN"
    if invoices:
        header = [*HEADER[:6], "N° facture", HEADER[6]]
        rows = [["2024", "1", "18/03/2024", name, siret, "Nettoyage", "F118", "32976,00"],
                ["2024", "2", "05/06/2024", name, siret, "Nettoyage", "F240", "10910,00"],
                ["2024", "3", "28/07/2024", name, siret, "Avoir", "F118", "-32976,00"]]
    else:
        rows = [["2024", "1", "18/03/2024", name, siret, "Nettoyage", "32976,00"],
                ["2024", "2", "05/06/2024", name, siret, "Nettoyage", "10910,00"],
                ["2024", "1" if own_number else "3", "28/07/2024", name, siret,
                 "Annulation" if own_number else "Annulation du mandat 1", "-32976,00"]]
        header = HEADER
    return mini.write(rows, header=header, esus=esus)


def _figures(con) -> dict[str, tuple]:
    return {p: (t, e, lo, hi) for p, t, e, lo, hi in con.execute(
        "SELECT period, total_amount_eur, ess_amount_eur, ess_amount_extreme_low_eur, ess_amount_extreme_high_eur "
        "FROM objective8_summary").fetchall()}


def _credit_status_date(con) -> str:
    (d,) = con.execute("""SELECT s.status_date FROM cls_purchase_line_status s JOIN stg_purchase_lines p
                          USING (line_id) WHERE p.amount_eur < 0""").fetchone()
    return str(d)


def _check_esus_case(con) -> None:
    got = _figures(con)
    # mandate 1 never stands: the only spending is mandate 2, after the agreement: not ESS
    zero = Decimal("0.00")
    assert got["ALL"] == (Decimal("10910.00"), zero, zero, zero)
    # the credit keeps its quarter, with mandate 1's ESS status (ESUS on 18/03)
    assert got["2024-Q3"][:2] == (Decimal("-32976.00"), Decimal("-32976.00"))
    by_year = dict(con.execute("SELECT period, ess_amount_eur FROM objective8_by_year").fetchall())
    assert by_year["2024"] == zero
    (esus,) = con.execute("SELECT esus_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()
    assert esus == zero
    assert _credit_status_date(con) == "2024-03-18"
    assert objective8_mismatches(con) == []


def test_a_credit_naming_its_mandate_in_its_objet_is_judged_at_that_mandate(mini, tmp_path):
    con = run_mini(_esus_company(mini), tmp_path)
    _check_esus_case(con)
    (cited,) = con.execute("SELECT cited_mandate FROM stg_purchase_lines WHERE amount_eur < 0").fetchone()
    assert cited == "1"


def test_a_credit_repeating_the_cancelled_invoice_is_judged_at_its_mandate(mini, tmp_path):
    con = run_mini(_esus_company(mini, invoices=True), tmp_path)
    _check_esus_case(con)
    refs = con.execute("SELECT invoice_ref FROM stg_purchase_lines ORDER BY source_row").fetchall()
    assert refs == [("f118",), ("f240",), ("f118",)]


def test_a_credit_repeating_its_mandate_number_still_follows_it(mini, tmp_path):
    # control BNDX6: the rule that already held
    _check_esus_case(run_mini(_esus_company(mini, own_number=True), tmp_path))


def test_a_credit_naming_a_mandate_of_a_ceased_association(mini, tmp_path):
    """BNDX5: the association ceased 01/05/2024. Mandate 1 (15/03, active) 1 000 €, mandate 2
    (10/06, ceased) 500 €, « Annulation du mandat 1 » (20/06) −1 000 €: ESS 0 €; the extreme high
    keeps the payment to the ceased unit possible (500 €), never above the total."""
    siren, siret = mini.unit("ASSOCIATION HIRONDELLE ENVOLEE", cj="9220", naf="94.99Z",
                             etatAdministratifUniteLegale="C", dateDebut="2024-05-01")
    name = "ASSOCIATION HIRONDELLE ENVOLEE"
    rows = [["2024", "1", "15/03/2024", name, siret, "Subvention", "1000,00"],
            ["2024", "2", "10/06/2024", name, siret, "Solde", "500,00"],
            ["2024", "3", "20/06/2024", name, siret, "Annulation du mandat 1", "-1000,00"]]
    con = run_mini(mini.write(rows, header=HEADER), tmp_path)
    got = _figures(con)
    assert got["ALL"] == (Decimal("500.00"), Decimal("0.00"), Decimal("0.00"), Decimal("500.00"))
    assert _credit_status_date(con) == "2024-03-15"
    assert objective8_mismatches(con) == []


def test_a_cited_number_of_another_exercice_is_not_that_mandate(mini, tmp_path):
    """Mandate n°s restart each exercice: « Annulation du mandat 1 » of exercice 2024 does not
    cancel mandate 1 of 2023. Without a 2024 mandate 1, the credit falls back to the latest payment
    before it (05/06/2024, agreement over: not ESS)."""
    siren, siret = mini.unit("PRESSING SOLIDAIRE BEARN", cj="5710", naf="96.01B")
    esus = [{"siren": siren, "raison_sociale": "PRESSING SOLIDAIRE BEARN", "date_agrement": "2019-04-01",
             "date_fin_agrement": "2024-03-31"}]
    name = "PRESSING SOLIDAIRE BEARN"
    rows = [["2023", "1", "18/09/2023", name, siret, "Nettoyage", "2000,00"],
            ["2024", "7", "05/06/2024", name, siret, "Nettoyage", "10910,00"],
            ["2024", "9", "28/07/2024", name, siret, "Annulation du mandat 1", "-910,00"]]
    con = run_mini(mini.write(rows, header=HEADER, esus=esus), tmp_path)
    assert _credit_status_date(con) == "2024-06-05"
    got = _figures(con)
    assert got["ALL"][:2] == (Decimal("12000.00"), Decimal("2000.00"))
    assert objective8_mismatches(con) == []
