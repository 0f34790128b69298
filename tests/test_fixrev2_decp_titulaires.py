"""Adversarial review 14b, defect 11: a titulaire listed twice in one DECP record is one titulaire
and takes one share of the amount (case DEC2, record A2: [association, the same association,
SARL], 2 000 €: 1 000 € to the association, not 1 333,34 €). Figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from achats.decp_recount import recount_contracts
from achats.sources.decp import read_contracts
from tests.test_decp_figures import _folder, _marche, _summary

ESS = "39893557700039"  # ESS in _summary's status table
OTHER = "55210055400013"


def test_a_titulaire_listed_twice_takes_one_share(tmp_path):
    data = _folder(tmp_path, {"decp.json": {"marches": [
        _marche("A2", 2000, tits=(ESS, ESS, OTHER)),
        # the same SIRET written with a space is the same titulaire
        _marche("A3", 3000, tits=(ESS, "398935577 00039")),
    ]}})
    out = _summary(data)
    # A2: 2 000 € / 2 distinct titulaires = 1 000 € ESS; A3: one titulaire, 3 000 € ESS
    assert Decimal(str(out["ALL"]["ess_titulaire_amount_eur"])) == Decimal("4000.00")
    assert out["ALL"]["contract_count"] == 2
    df = read_contracts(data, "223100017")
    kept = df.filter(~df["is_duplicate"])
    assert sorted(kept["amount_eur"].to_list()) == [1000.0, 1000.0, 3000.0]
    assert kept["titulaire_count"].to_list() == [2, 2, 1]
    repeats = df.filter(df["is_duplicate"])
    assert repeats["duplicate_kind"].to_list() == ["titulaire_repete", "titulaire_repete"]
    assert repeats["amount_eur"].to_list() == [None, None]
    assert repeats["duplicate_reason"][0] == (
        "contracts/decp.json, enregistrement n° 1, champ « titulaires » : titulaire « 39893557700039 » cité deux "
        "fois : compté une fois, sa part du montant n'est pas doublée")
    # the recount counts each identified titulaire once per record as well
    assert recount_contracts(data, "223100017").titulaire_id_count == 3


def test_distinct_titulaires_keep_their_shares(tmp_path):
    # counter-example: two establishments of one unit and another company are three titulaires
    data = _folder(tmp_path, {"decp.json": {"marches": [
        _marche("B1", 3000, tits=(ESS, "39893557700047", OTHER))]}})
    out = _summary(data)
    assert Decimal(str(out["ALL"]["ess_titulaire_amount_eur"])) == Decimal("2000.00")
    df = read_contracts(data, "223100017")
    assert not df["is_duplicate"].any() and df["amount_eur"].to_list() == [1000.0, 1000.0, 1000.0]
