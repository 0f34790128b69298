"""Adversarial review #12, defect 10 (DECP): one lot republished with an amended objet and a new
amount (« … Lot 1 - Gros oeuvre » 100 000 €, then « … Lot 1 - Gros œuvre (maçonnerie) » 110 000 €,
same id, titulaire and notification date, another publication) is one contract of 110 000 €, not
two of 210 000 €. Records of one publication, or naming no lot, keep their rules. Input is the
reviewer's case DCL5; figures computed by hand; the recount must agree by its own reading."""

from __future__ import annotations

from decimal import Decimal

import pytest

from achats.decp_recount import _lots_named, recount_contracts
from achats.sources.decp import lot_labels, read_contracts
from tests.test_decp_figures import _folder, _summary

BUYER_SIRET = "22310001700019"
HOLDER = "81234568400003"
ECOLE = "Travaux de rénovation de l'école Jean Jaurès"


def _rec(objet: str, amount: int, published: str, holder: str = HOLDER, notified: str = "2024-02-01") -> dict:
    return {"id": "2024T9", "acheteur": {"id": BUYER_SIRET}, "nature": "Marché", "objet": objet,
            "codeCPV": "45000000-7", "procedure": "Appel d'offres ouvert", "dureeMois": 12,
            "dateNotification": notified, "datePublicationDonnees": published, "montant": amount,
            "formePrix": "Ferme", "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": holder}}]}


def _files(tmp_path, first: list[dict], second: list[dict] | None = None):
    files = {"a_2024_03.json": {"marches": {"marche": first}}}
    if second is not None:
        files["b_2024_09.json"] = {"marches": {"marche": second}}
    return _folder(tmp_path, files)


def _figures(data) -> tuple[int, Decimal]:
    s = _summary(data)  # also asserts that the independent recount agrees
    return s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))


def test_dcl5_lot_republished_with_amended_objet_and_amount_is_one_contract(tmp_path):
    data = _files(tmp_path, [_rec(f"{ECOLE} - Lot 1 - Gros oeuvre", 100000, "2024-03-10")],
                  [_rec(f"{ECOLE} - Lot 1 - Gros œuvre (maçonnerie)", 110000, "2024-09-10")])
    df = read_contracts(data, "223100017")
    kept = df.filter(~df["is_duplicate"])
    assert kept["source_file"].to_list() == ["contracts/b_2024_09.json"]
    dup = df.filter(df["is_duplicate"])
    assert dup["source_file"].to_list() == ["contracts/a_2024_03.json"]
    assert dup["duplicate_kind"].to_list() == ["superseded"]
    reason = dup["duplicate_reason"][0]
    assert reason.startswith("version antérieure remplacée par contracts/b_2024_09.json n° 1 "
                             "(montant 100000.00 → 110000.00")
    assert "même lot 1" in reason
    assert _figures(data) == (1, Decimal("110000.00"))
    r = recount_contracts(data, "223100017")
    assert (r.contract_count, r.notified_amount_eur) == (1, Decimal("110000.00"))


def test_neighbouring_spellings_of_the_same_lot_merge_latest_wins(tmp_path):
    # « LOT N°01 » then « Lot 1 – » with a new objet and amount, the latest publication first in file order
    data = _files(tmp_path, [_rec(f"{ECOLE} - Lot 1 : gros œuvre, maçonnerie et VRD", 95000, "2024-11-02")],
                  [_rec(f"{ECOLE.upper()} LOT N°01 GROS OEUVRE", 90000, "2024-02-20")])
    assert _figures(data) == (1, Decimal("95000.00"))


def test_one_publication_listing_the_same_lot_twice_with_other_objets_stays_two(tmp_path):
    # one file, one publication date: a file lists records, it does not republish its own
    data = _files(tmp_path, [_rec(f"{ECOLE} - Lot 1 - Gros oeuvre", 100000, "2024-03-10"),
                             _rec(f"{ECOLE} - Lot 1 - Gros œuvre (maçonnerie)", 110000, "2024-03-10")])
    assert _figures(data) == (2, Decimal("210000.00"))


def test_objets_naming_no_lot_keep_the_rule_amount_or_objet(tmp_path):
    data = _files(tmp_path, [_rec(f"{ECOLE} - gros oeuvre", 100000, "2024-03-10")],
                  [_rec(f"{ECOLE} - gros œuvre (maçonnerie)", 110000, "2024-09-10")])
    assert _figures(data) == (2, Decimal("210000.00"))


def test_other_lot_other_titulaire_or_other_date_stay_apart(tmp_path):
    data = _files(tmp_path, [_rec(f"{ECOLE} - Lot 1 - Gros oeuvre", 100000, "2024-03-10"),
                             _rec(f"{ECOLE} - Lot 2 - Charpente", 40000, "2024-03-10")],
                  [_rec(f"{ECOLE} - Lot 2 - Charpente et couverture", 45000, "2024-09-10"),
                   _rec(f"{ECOLE} - Lot 1 - Gros œuvre (maçonnerie)", 110000, "2024-09-10", holder="81234567600009"),
                   _rec(f"{ECOLE} - Lot 1 - Gros œuvre", 120000, "2024-09-10", notified="2024-05-01")])
    # lot 2 republished (one contract, 45 000); lot 1 of another titulaire or date: other contracts
    assert _figures(data) == (4, Decimal("375000.00"))


def test_lot_1bis_and_lots_1_et_2_are_not_lot_1(tmp_path):
    # « Lot 1 bis » and « Lots 1 et 2 » name other lots than « Lot 1 »: the same-lot rule must not
    # merge them with it (three contracts: 100 000 + 50 000 + 150 000)
    data = _files(tmp_path, [_rec(f"{ECOLE} - Lot 1 - Gros oeuvre", 100000, "2024-03-10")],
                  [_rec(f"{ECOLE} - Lot 1 bis - Reprise en sous-œuvre", 50000, "2024-09-10"),
                   _rec(f"{ECOLE} - Lots 1 et 2 - Gros œuvre et charpente", 150000, "2024-09-10")])
    assert _figures(data) == (3, Decimal("300000.00"))


@pytest.mark.parametrize("objet,lots", [
    ("Lots 1, 2 et 3 - voirie", {"1", "2", "3"}), ("LOTS N°1 ET N°2", {"1", "2"}), ("Lots 1 & 2", {"1", "2"}),
    ("Lot 1bis", {"1bis"}), ("Lot 1 bis : VRD", {"1bis"}), ("lot 2b", {"2b"}), ("Lots 1 bis et 2", {"1bis", "2"}),
    ("Lots 3 et 4 ; 250 chaises", {"3", "4"}), ("Lots 1 - Gros oeuvre 2024", {"1"}), ("Lot 1, gros oeuvre", {"1"}),
    ("Lot de 3 ordinateurs", set()), ("Lot-et-Garonne", set()), ("LOT B, voirie", {"b"}),
])
def test_both_readers_read_the_same_lots(objet, lots):
    assert lot_labels(objet) == _lots_named(objet) == frozenset(lots)
