"""Adversarial review #11, defect 1b (DECP, case DC6): a republication that writes at top level
the titulaire its own « Cession du marché » modification brought is the same contract, counted
once; the titulaire at notification stays the one judged ESS. Figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from achats.decp_recount import recount_contracts
from achats.sources.decp import read_contracts
from tests.test_decp_figures import _folder, _summary

BUYER_SIRET = "22310001700019"
INITIAL, ASSIGNEE = "39893557700039", "75349326100014"  # ESS in _summary's status table / not


def _x7(holder: str, published: str, modifications: list) -> dict:
    return {"id": "2022X7", "uid": f"{BUYER_SIRET}2022X7", "acheteur": {"id": BUYER_SIRET}, "nature": "Marché",
            "objet": "Entretien", "codeCPV": "77310000-6", "procedure": "Procédure adaptée", "dureeMois": 36,
            "dateNotification": "2022-03-01", "datePublicationDonnees": published, "montant": 20000,
            "formePrix": "Ferme", "titulaires": [{"typeIdentifiant": "SIRET", "id": holder}],
            "modifications": modifications}


CESSION = {"objetModification": "Cession du marché", "dateNotificationModification": "2023-05-01",
           "datePublicationDonneesModification": "2023-05-10",
           "titulaires": [{"typeIdentifiant": "SIRET", "id": ASSIGNEE}]}


def test_dc6_a_cession_republished_at_top_level_is_one_contract(tmp_path):
    data = _folder(tmp_path, {"decp_2022.json": {"marches": [_x7(INITIAL, "2022-03-10", [])]},
                              "decp_2023.json": {"marches": [_x7(ASSIGNEE, "2022-03-10", [CESSION])]}})
    df = read_contracts(data, "223100017")
    kept = df.filter(~df["is_duplicate"])
    assert kept.height == 1 and kept["titulaire_siret"].to_list() == [INITIAL]
    assert kept["modification_count"].to_list() == [1]  # the cession version's modifications
    assert df.filter(df["is_duplicate"])["duplicate_reason"].to_list() == [
        "republication après cession de contracts/decp_2022.json n° 1 : son titulaire à la notification est gardé, "
        "avec le montant et la durée après modifications de celle-ci"]
    s = _summary(data)  # asserts the recount agrees
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (1, Decimal("20000.00"))
    assert Decimal(str(s["ALL"]["ess_titulaire_amount_eur"])) == Decimal("20000.00")  # ESS at notification
    r = recount_contracts(data, "223100017")
    assert (r.contract_count, r.notified_amount_eur) == (1, Decimal("20000.00"))


def test_another_titulaire_without_cession_is_another_lot(tmp_path):
    # counter-example: same uid, date, amount and objet, another titulaire and no modification
    # naming it: two lots of one id, 40 000 €
    data = _folder(tmp_path, {"decp_2022.json": {"marches": [_x7(INITIAL, "2022-03-10", [])]},
                              "decp_2023.json": {"marches": [_x7(ASSIGNEE, "2022-03-10", [])]}})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("40000.00"))


def test_a_cession_with_another_amount_stays_apart(tmp_path):
    # a cession record that also changes the amount without a modification saying so is not proven
    # the same contract: counted apart (the rule needs the same amount and objet)
    other = dict(_x7(ASSIGNEE, "2023-05-10", [CESSION]), montant=25000)
    data = _folder(tmp_path, {"a.json": {"marches": [_x7(INITIAL, "2022-03-10", [])]}, "b.json": {"marches": [other]}})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("45000.00"))


def test_a_cession_to_two_cotitulaires_keeps_the_titulaire_at_notification(tmp_path):
    # the cession brings two co-titulaires: the contract keeps its one titulaire at notification
    # (one row, 20 000 € to the ESS one); the recount counts that one titulaire too
    two = [{"typeIdentifiant": "SIRET", "id": ASSIGNEE}, {"typeIdentifiant": "SIRET", "id": "81234568400003"}]
    ceded = dict(_x7(ASSIGNEE, "2023-05-10", [dict(CESSION, titulaires=two)]), titulaires=two)
    data = _folder(tmp_path, {"a.json": {"marches": [_x7(INITIAL, "2022-03-10", [])]}, "b.json": {"marches": [ceded]}})
    df = read_contracts(data, "223100017")
    assert df.filter(~df["is_duplicate"])["titulaire_siret"].to_list() == [INITIAL]
    assert recount_contracts(data, "223100017").titulaire_id_count == 1
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["ess_titulaire_amount_eur"]))) == (1, Decimal("20000.00"))
