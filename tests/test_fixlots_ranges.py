"""Adversarial review #13, defect 7 (DECP): a range of lots (« Lots 2 à 4 ») names the same lots as
their enumeration (« Lots 2, 3 et 4 »), so a republication writing one for the other amends the
same contract. Input is the reviewer's case DLOT; figures computed by hand: lots 1 (10 000),
1 bis (30 000), 10 amended (25 000) and 2 to 4 amended (45 000) = 4 contracts, 110 000 €."""

from __future__ import annotations

from decimal import Decimal

import pytest

from achats.decp_recount import _lots_named, recount_contracts
from achats.sources.decp import lot_labels, read_contracts
from tests.test_decp_figures import _folder, _summary
from tests.test_fixdecp_lots import _rec


def _dlot(tmp_path):
    first = [_rec("2024X1", f"Travaux école - {lot}", amount, "2024-02-01", "2024-03-10", cpv="45000000-7")
             for lot, amount in (("Lot 1 - Gros oeuvre", 10000), ("Lot 10 - Peinture", 20000),
                                 ("Lot 1 bis - Gros oeuvre annexe", 30000), ("Lots 2 à 4 - Menuiseries", 40000))]
    again = [_rec("2024X1", f"Travaux école - {lot}", amount, "2024-02-01", "2024-09-10", cpv="45000000-7")
             for lot, amount in (("Lot 10 - Peinture et revêtements", 25000), ("Lots 2, 3 et 4 - Menuiseries", 45000))]
    return _folder(tmp_path, {"a.json": {"marches": {"marche": first}}, "b.json": {"marches": {"marche": again}}})


def test_a_range_republished_as_an_enumeration_is_one_contract(tmp_path):
    data = _dlot(tmp_path)
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (4, Decimal("110000.00"))
    df = read_contracts(data, "223100017")
    reasons = df.filter(df["is_duplicate"] & df["object"].str.contains("Lots 2"))["duplicate_reason"].to_list()
    assert reasons == ["version antérieure remplacée par contracts/b.json n° 2 (montant 40000.00 → 45000.00 ; "
                       "objet modifié, mêmes lots 2, 3, 4)"]


def test_the_recount_reads_the_range_too(tmp_path):
    r = recount_contracts(_dlot(tmp_path), "223100017")
    assert (r.contract_count, r.notified_amount_eur) == (4, Decimal("110000.00"))


@pytest.mark.parametrize(("objet", "lots"), [
    ("Travaux école - Lots 2 à 4 - Menuiseries", {"2", "3", "4"}), ("lots 2-4", {"2", "3", "4"}),
    ("LOTS 02 À 04 : voirie", {"2", "3", "4"}), ("Lots n°2 au n°4", {"2", "3", "4"}),
    ("lots 2 a 4", {"2", "3", "4"}), ("Lots 1, 3 à 5 et 8", {"1", "3", "4", "5", "8"}),
    ("Lots 2 à 4, 6", {"2", "3", "4", "6"}),
    # counter-examples: a street number, the singular, a backward or huge span, a lot « bis »
    ("Réfection des lots 2 à 4 rue Victor Hugo", {"2"}), ("Lot 2 à 4 rue des Lilas", {"2"}),
    ("Lots 4 à 2", {"4"}), ("Lots 1 à 500", {"1"}), ("Lots 2 bis à 4", {"2bis"}), ("Lots 2 à 4bis", {"2"}),
    ("lot à bons de commande", set())])
def test_reader_and_recount_read_the_same_ranges(objet, lots):
    assert set(lot_labels(objet)) == lots
    assert set(_lots_named(objet)) == lots


def test_a_range_and_one_of_its_lots_stay_two_contracts(tmp_path):
    # counter-example: « Lots 2 à 4 » and « Lot 2 » only overlap (lots 3 and 4 are not in the
    # second): other lots, as « Lot 1 » and « Lots 1 et 2 » are; read as lot 2 alone they merged
    data = _folder(tmp_path, {
        "a.json": {"marches": [_rec("2024X2", "Voirie - Lots 2 à 4 - Enrobés", 40000, "2024-02-01", "2024-03-10")]},
        "b.json": {"marches": [_rec("2024X2", "Voirie - Lot 2 - Enrobés et bordures", 15000, "2024-02-01",
                                    "2024-09-10")]}})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("55000.00"))
    r = recount_contracts(data, "223100017")
    assert (r.contract_count, r.notified_amount_eur) == (2, Decimal("55000.00"))
