"""adv15 #7 (case SIAEMOV): an inclusive structure listed under its current SIRET keeps its status
for the payments made to its former establishment, now closed, when the unit has no active
establishment outside the lists and a listed one already existed at the payment's date; not when
another establishment is unlisted, nor when the listed ones all opened after the payment."""

from __future__ import annotations

from decimal import Decimal

from achats.pipelines.cli import input_warnings
from achats.recount import objective8_expected
from tests.conftest import ET_COLS, luhn_complete, run_mini, write_csv


def _establishment(mini, siren: str, nic: str, state: str, created: str, since: str = "") -> str:
    siret = luhn_complete(siren + nic)
    mini.etabs.append({"siren": siren, "nic": siret[9:], "siret": siret, "etablissementSiege": "false",
                       "etatAdministratifEtablissement": state, "codeCommuneEtablissement": "64445",
                       "codePostalEtablissement": "64000", "statutDiffusionEtablissement": "O",
                       "activitePrincipaleEtablissement": "81.21Z", "dateCreationEtablissement": created,
                       "dateDebut": since or created})
    return siret


def _siae(siret: str, name: str) -> dict:
    return {"siret": siret, "name": name, "kind": "EI", "naf": "8121Z", "post_code": "64000", "department": "64"}


def test_payments_to_the_closed_establishment_of_a_moved_structure_stay_inclusive(mini, tmp_path):
    # the reviewer's case: listed current SIRET (siège since 2010), former establishment closed on 2024-01-01
    moved, moved_siege = mini.unit("TREMPLIN PYRENEES INSERTION", cj="5710", naf="81.21Z", commune="64445")
    old = _establishment(mini, moved, "0002", "F", "2010-01-01", "2024-01-01")
    # counter-example: another establishment of the unit is active and unlisted
    mixed, mixed_siege = mini.unit("PROPRETE ET SERVICES DU BEARN", cj="5710", naf="81.21Z", commune="64445")
    mixed_old = _establishment(mini, mixed, "0002", "F", "2010-01-01", "2024-01-01")
    _establishment(mini, mixed, "0003", "A", "2012-01-01")
    # counter-example: the listed establishment opened after the payment (moved then, or became inclusive then)
    late, late_siege = mini.unit("ATELIERS DU GAVE", cj="5710", naf="81.21Z", commune="64445")
    late_new = _establishment(mini, late, "0002", "A", "2024-01-01")
    other, other_siege = mini.unit("TRANSPORTS PYRENEENS", cj="5710", naf="49.41A", commune="64445")
    for etab in mini.etabs:
        if etab["etablissementSiege"] == "true":
            etab["dateCreationEtablissement"] = "2010-01-01"
        if etab["siret"] == late_siege:  # the old siège, closed when the new one opened
            etab["etatAdministratifEtablissement"], etab["dateDebut"] = "F", "2024-01-01"
    purchases = [
        {"Fournisseur": "TREMPLIN PYRENEES INSERTION", "SIRET": old, "Montant": "5000,00", "Date": "05/06/2023"},
        {"Fournisseur": "TREMPLIN PYRENEES INSERTION", "SIRET": moved_siege, "Montant": "3000,00",
         "Date": "05/06/2024"},
        {"Fournisseur": "TRANSPORTS PYRENEENS", "SIRET": other_siege, "Montant": "2000,00", "Date": "05/06/2024"},
        {"Fournisseur": "PROPRETE ET SERVICES DU BEARN", "SIRET": mixed_old, "Montant": "1000,00",
         "Date": "05/06/2023"},
        {"Fournisseur": "ATELIERS DU GAVE", "SIRET": late_siege, "Montant": "700,00", "Date": "05/06/2023"},
        {"Fournisseur": "ATELIERS DU GAVE", "SIRET": late_new, "Montant": "300,00", "Date": "05/06/2024"},
    ]
    data = mini.write(purchases, siae_marche_inclusion=[
        _siae(moved_siege, "TREMPLIN PYRENEES INSERTION"), _siae(mixed_siege, "PROPRETE ET SERVICES DU BEARN"),
        _siae(late_new, "ATELIERS DU GAVE")])
    write_csv(data / "sirene" / "StockEtablissement_test.csv",
              [*ET_COLS, "dateCreationEtablissement", "dateDebut"], mini.etabs)
    con = run_mini(data, tmp_path)
    flags = {(r[0], r[1]): r[2:] for r in con.execute("""
        SELECT r.siren, p.amount_eur::INTEGER, c.is_inclusive_at_date, u.is_inclusive_possible_at_date
        FROM res_purchase_line_supplier AS r JOIN stg_purchase_lines AS p USING (line_id)
        JOIN cls_purchase_line_status AS c USING (line_id)
        JOIN cls_line_unit_status AS u ON u.line_id = r.line_id AND u.siren = r.siren""").fetchall()}
    assert flags[(moved, 5000)] == (True, False) and flags[(moved, 3000)] == (True, False)
    assert flags[(mixed, 1000)] == (False, False)  # the closed one may have been the unlisted activity's
    assert flags[(late, 700)] == (False, True) and flags[(late, 300)] == (True, False)
    by_quarter = dict(con.execute("SELECT period, inclusive_amount_eur FROM objective8_summary").fetchall())
    # by hand: 5 000 (2023, old SIRET) + 3 000 + 300 (2024, listed SIRETs)
    assert by_quarter["ALL"] == Decimal("8300.00")
    assert by_quarter["2023-Q2"] == Decimal("5000.00") and by_quarter["2024-Q2"] == Decimal("3300.00")
    # the independent recount reads SIRENE's establishments again, with the same hand figures
    recount = objective8_expected(con)
    assert recount["ALL"]["inclusive_amount_eur"] == Decimal("8300.00")
    assert recount["2023-Q2"]["inclusive_amount_eur"] == Decimal("5000.00")
    con.close()
    warnings = [w for w in input_warnings(tmp_path / "wh" / "w.duckdb", data) if "SIAE / EA" in w]
    assert len(warnings) == 1
    assert "1 ligne(s) rapprochée(s) (700 €) payée(s) à un établissement aujourd'hui fermé" in warnings[0]
    assert "jusqu'à 9 000 €" in warnings[0] and "purchases/achats.csv, ligne 6" in warnings[0]
