"""Adversarial review #5, defect 10: a payment to a unit already ceased on its date counts non-ESS
but is no longer silent (a reason on the line and a warning of `achats run`), and an identifier
set aside because its unit ceased is not said to « contradict » a name it agrees with. Built from
the reviewer's case CL2; figures computed by hand."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from achats.pipelines.cli import input_warnings
from achats.resolution import Status
from tests.conftest import luhn_complete, run_mini
from tests.test_match_model import THR, _index, _siren


def test_an_identifier_of_a_ceased_unit_is_set_aside_without_a_contradiction():
    old, new = _siren(1), _siren(2)
    index = _index({old: ("ENTRAIDE DU LAURAGAIS", None, False, "9220"),
                    new: ("ENTRAIDE ET SOLIDARITE DU LAURAGAIS", None, True, "9220")})
    r = index.resolve("ENTRAIDE ET SOLIDARITE DU LAURAGAIS", luhn_complete(old + "0001"), None, None, THR)
    assert (r.siren, r.status) == (new, Status.MATCHED)
    assert "contredit" not in r.reason and "unité cessée" in (r.id_flag or "")


def test_a_payment_to_a_ceased_unit_counts_non_ess_with_a_reason_and_a_warning(mini, tmp_path):
    _old, old_siret = mini.unit("ENTRAIDE DU LAURAGAIS", cj="9220", etatAdministratifUniteLegale="C",
                                dateDebut="2024-01-01")
    mini.unit("ENTRAIDE ET SOLIDARITE DU LAURAGAIS", cj="9220")
    _z, z_siret = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    data = mini.write([
        {"Fournisseur": "ENTRAIDE ET SOLIDARITE DU LAURAGAIS", "SIRET": old_siret, "Montant": "1000", "Date": "15/03/2024"},
        {"Fournisseur": "ENTRAIDE DU LAURAGAIS", "SIRET": old_siret, "Montant": "2000", "Date": "16/03/2024"},
        {"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z_siret, "Montant": "4000", "Date": "17/03/2024"}])
    con = run_mini(data, tmp_path)
    rows = dict(con.execute("""SELECT p.amount_eur, r.match_reason FROM purchase_lines p
                               JOIN purchase_lines_resolved r USING (line_id)""").fetchall())
    # the figure is unchanged: the successor's 1 000 € ESS, the ceased unit's 2 000 € not
    assert con.execute("SELECT ess_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0] \
        == Decimal("1000.00")
    # the unit's cessation date (01/01/2024), not the payment's (adversarial review 9, defect 14 c)
    assert "unité déjà cessée le 01/01/2024 (statut retenu au 16/03/2024)" in rows[Decimal("2000.00")]
    assert "cessée" not in rows[Decimal("4000.00")]
    assert "contredit" not in rows[Decimal("1000.00")]
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    warned = [re.sub(r"\s+", " ", w) for w in input_warnings(Path(path)) if "cessée" in w]
    assert len(warned) == 1
    assert warned[0].startswith("1 ligne(s) rapprochée(s) (2 000 €, dont 2 000 € à des unités ESS par leur statut)")


def test_the_extreme_high_keeps_a_ceased_ess_unit_paid_all_the_same(mini, tmp_path):
    """A payment to a unit already ceased counts non-ESS in the point and the interval, but the money
    may still be its own (a late invoice, its liquidation): the extreme high keeps the ESS status
    it would have if active. An association ceased on 01/01/2024 paid 2 000 € in March, then a
    credit note of 500 € (they net: 1 500 €); a ceased SARL paid 3 000 € (not ESS either way); an
    active association 1 000 €; an active SARL 4 000 €. By hand, ALL: point 1 000 €, extreme
    bounds 1 000 – 2 500 €, and the same in 2024-Q1."""
    _a, a_siret = mini.unit("ENTRAIDE DU LAURAGAIS", cj="9220", etatAdministratifUniteLegale="C",
                            dateDebut="2024-01-01")
    _b, b_siret = mini.unit("ZORGLUB ANCIENS TRAVAUX", cj="5499", etatAdministratifUniteLegale="C",
                            dateDebut="2024-01-01")
    _e, e_siret = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    _z, z_siret = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    data = mini.write([
        {"Fournisseur": "ENTRAIDE DU LAURAGAIS", "SIRET": a_siret, "Montant": "2000", "Date": "16/03/2024"},
        {"Fournisseur": "ENTRAIDE DU LAURAGAIS", "SIRET": a_siret, "Montant": "-500", "Date": "20/03/2024"},
        {"Fournisseur": "ZORGLUB ANCIENS TRAVAUX", "SIRET": b_siret, "Montant": "3000", "Date": "17/03/2024"},
        {"Fournisseur": "ASSOCIATION QUINOA SOLIDAIRE", "SIRET": e_siret, "Montant": "1000", "Date": "18/03/2024"},
        {"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z_siret, "Montant": "4000", "Date": "19/03/2024"}])
    con = run_mini(data, tmp_path)
    rows = con.execute("""SELECT period, ess_amount_eur, ess_amount_low_eur, ess_amount_high_eur,
                                 ess_amount_extreme_low_eur, ess_amount_extreme_high_eur
                          FROM objective8_summary WHERE period IN ('ALL', '2024-Q1') ORDER BY period""").fetchall()
    k = Decimal("1000.00")
    assert rows == [("2024-Q1", k, k, k, k, Decimal("2500.00")), ("ALL", k, k, k, k, Decimal("2500.00"))]
    ceased = con.execute("SELECT count(*) FROM mart_purchase_line_estimate WHERE is_ceased_payee").fetchone()[0]
    con.close()
    assert ceased == 3  # the two payments to ceased units and the credit note
