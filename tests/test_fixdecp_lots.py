"""Adversarial review #11, defect 1 (DECP): lots sharing an id, titulaire, notification date and
amount, whose objets name their lot (« Lot 1 », « lot 2 »), are other contracts, also inside one
publication; the independent recount tells them apart by its own reading of the objets.
Inputs are the reviewer's cases DC4 and DC3; figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from achats.decp_recount import _lots_named, recount_contracts
from achats.sources.decp import lot_labels, read_contracts
from tests.test_decp_figures import _folder, _summary

QUINOA = "81234567600009"  # the ESS titulaire of _summary's status table is 398935577: not this one
BUYER_SIRET = "22310001700019"


def _rec(cid: str, objet: str, amount: int, notified: str, published: str, cpv: str = "90910000-9",
         nature: str = "Marché") -> dict:
    return {"id": cid, "acheteur": {"id": BUYER_SIRET}, "nature": nature, "objet": objet, "codeCPV": cpv,
            "procedure": "Appel d'offres ouvert", "dureeMois": 12, "dateNotification": notified,
            "datePublicationDonnees": published, "montant": amount, "formePrix": "Ferme",
            "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": QUINOA}}]}


def _nettoyage(published: str, lots: dict[int, str], upper: bool = False) -> list[dict]:
    out = []
    for k, where in lots.items():
        objet = f"Nettoyage des locaux - Lot {k} : {where}"
        out.append(_rec("2024NET", objet.upper() if upper else objet, 8000, "2024-07-01", published))
    return out


def _dc4(tmp_path):
    consolidated = _nettoyage("2024-07-12", {1: "sites nord", 2: "sites sud"}, upper=True) \
        + _nettoyage("2024-07-12", {3: "sites est"})
    ac = [_rec("2024AC", "Espaces verts lot 1 secteur A", 40000, "2024-09-01", "2024-09-10", "77310000-6",
               "Accord-cadre"),
          _rec("2024AC", "Espaces verts lot 2 secteur B", 40000, "2024-09-01", "2024-09-11", "77310000-6",
               "Accord-cadre")]
    return _folder(tmp_path, {"b_decp_consolide.json": {"marches": {"marche": consolidated}},
                              "c_ac_espaces_verts.json": {"marches": {"marche": ac}}})


def test_dc4_lots_of_one_publication_and_of_an_accord_cadre_are_five_contracts(tmp_path):
    # 3 nettoyage lots × 8 000 € (one publication) + 2 accord-cadre lots × 40 000 € = 104 000 €
    data = _dc4(tmp_path)
    df = read_contracts(data, "223100017")
    assert df["is_duplicate"].sum() == 0
    assert df["contract_uid"].n_unique() == 5
    s = _summary(data)  # asserts the recount agrees
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (5, Decimal("104000.00"))
    assert s["ALL"]["superseded_record_count"] == 0


def test_dc4_recount_disagrees_with_the_merged_figure(tmp_path):
    """The recount is a second reading: it finds 5 contracts and 104 000 €, so the merged
    2 contracts / 48 000 € published before would have failed contracts_summary_recount."""
    r = recount_contracts(_dc4(tmp_path), "223100017")
    assert (r.contract_count, r.notified_amount_eur) == (5, Decimal("104000.00"))
    assert r.notified_amount_eur != Decimal("48000.00")


def test_dc3_a_profile_republished_by_the_consolidated_file_is_three_lots(tmp_path):
    # the profile publishes lots 1 and 2; the consolidated file republishes them (upper case) with
    # lot 3: three contracts of 8 000 €, the profile's two records are earlier versions
    profile = _nettoyage("2024-07-10", {1: "sites nord", 2: "sites sud"})
    consolidated = _nettoyage("2024-07-12", {1: "sites nord", 2: "sites sud"}, upper=True) \
        + _nettoyage("2024-07-12", {3: "sites est"})
    data = _folder(tmp_path, {"a_profil_acheteur.json": {"marches": {"marche": profile}},
                              "b_decp_consolide.json": {"marches": {"marche": consolidated}}})
    df = read_contracts(data, "223100017")
    dup = df.filter(df["is_duplicate"])
    assert sorted(dup["source_file"].to_list()) == ["contracts/a_profil_acheteur.json"] * 2
    assert sorted(dup["duplicate_reason"].to_list()) == [
        "version antérieure remplacée par contracts/b_decp_consolide.json n° 1",
        "version antérieure remplacée par contracts/b_decp_consolide.json n° 2"]
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (3, Decimal("24000.00"))
    assert s["ALL"]["superseded_record_count"] == 2


def test_a_record_without_lot_cannot_join_two_lots(tmp_path):
    # lot 1 and lot 2 of one publication, and a later republication whose objet names no lot, same
    # amount: it may be either lot's version, never both: still two contracts, 16 000 €
    recs = _nettoyage("2024-07-12", {1: "nord", 2: "sud"})
    later = dict(recs[0], objet="Nettoyage des locaux", datePublicationDonnees="2024-08-01")
    data = _folder(tmp_path, {"a.json": {"marches": recs}, "b.json": {"marches": [later]}})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("16000.00"))


def test_a_batch_of_goods_is_no_lot(tmp_path):
    # counter-example: « un lot de 50 chaises » names no lot; a republication retyping the objet
    # with the same amount stays one contract
    a = _rec("2024CH", "Achat d'un lot de 50 chaises", 3000, "2024-03-01", "2024-03-05")
    b = dict(a, objet="Achat d'un lot de 50 chaises pliantes", datePublicationDonnees="2024-04-05")
    s = _summary(_folder(tmp_path, {"a.json": {"marches": [a]}, "b.json": {"marches": [b]}}))
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (1, Decimal("3000.00"))


@pytest.mark.parametrize(("objet", "lots"), [
    ("Nettoyage des locaux - Lot 1 : sites nord", {"1"}), ("lot n°2 voirie", {"2"}), ("LOT 03 – éclairage", {"3"}),
    ("Lot B : espaces verts", {"b"}), ("Lot numéro 5", {"5"}), ("Lot nº 4", {"4"}), ("lot1 peinture", {"1"}),
    ("Marché alloti en 3 lots - Lot 2 : signalisation", {"2"}), ("Achat d'un lot de 50 chaises", set()),
    ("lot d'outillage", set()), ("Lotissement 12 rue des Lilas", set()), ("lot à bons de commande", set()),
    ("Travaux 2024", set())])
def test_reader_and_recount_read_the_same_lots(objet, lots):
    """Two readings written apart (a pattern in the reader, word by word in the recount) name the
    same lots on the spellings of real DECP objets."""
    assert set(lot_labels(objet)) == lots
    assert set(_lots_named(objet)) == lots
