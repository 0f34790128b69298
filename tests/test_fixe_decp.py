"""Adversarial review #4, findings 5 and 6 (DECP): a month-first file's publication dates are
read month-first when deciding which version of a republished contract is the latest; and two
lots sharing one id in one file are two contracts. Figures computed by hand, to the cent, and
checked against the independent recount (its own code)."""

from __future__ import annotations

from decimal import Decimal

from achats.decp_recount import recount_contracts
from achats.sources.decp import read_contracts
from tests.test_decp_figures import _folder, _marche, _summary


def test_a_month_first_file_publication_date_is_read_month_first(tmp_path):
    # the platform writes month/day: « 04/22/2024 » proves it; the 2nd record was published on
    # 9 March (« 03/09/2024 », not 3 September), before the consolidated file's version of 2024-05-06
    platform = {"marches": [
        _marche("P-1", 4000, date="04/22/2024", datePublicationDonnees="04/25/2024"),
        _marche("P-2", 7000, date="02/03/2024", datePublicationDonnees="03/09/2024")]}
    consolidated = {"marches": [_marche("P-2", 7500, date="2024-02-03", datePublicationDonnees="2024-05-06")]}
    data = _folder(tmp_path, {"plateforme.json": platform, "consolide.json": consolidated})
    df = read_contracts(data, "223100017")
    kept = df.filter(~df["is_duplicate"])
    assert sorted(kept["amount_eur"].to_list()) == [4000.0, 7500.0]  # the later version of P-2
    old = df.filter(df["is_duplicate"]).row(0, named=True)
    assert old["source_file"] == "contracts/plateforme.json" and old["duplicate_kind"] == "superseded"
    s = _summary(data)  # also checks the recount
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("11500.00"))
    assert recount_contracts(data, "223100017").notified_amount_eur == Decimal("11500.00")


def test_a_day_first_file_publication_date_stays_day_first(tmp_path):
    # control: « 25/04/2024 » proves day/month; « 06/05/2024 » is 6 May, after 2024-03-02
    platform = {"marches": [_marche("P-1", 4000, date="25/04/2024"),
                            _marche("P-2", 7000, date="03/02/2024", datePublicationDonnees="06/05/2024")]}
    consolidated = {"marches": [_marche("P-2", 7500, date="2024-02-03", datePublicationDonnees="2024-03-02")]}
    data = _folder(tmp_path, {"plateforme.json": platform, "consolide.json": consolidated})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("11000.00"))


def _lot(amount: int, **extra) -> dict:
    """One lot of a procedure whose lots share an id, holder, objet, CPV and notification date."""
    return _marche("AO-7", amount, date="2024-05-02", objet="Travaux de voirie", **extra)


def test_two_lots_of_one_id_in_one_file_are_two_contracts(tmp_path):
    # the 12 000 € lot is listed twice, once with another duration: the same amount in one
    # publication is one record listed twice, not a third lot
    data = _folder(tmp_path, {"decp.json": {"marches": [
        _lot(12000, datePublicationDonnees="2024-05-20"), _lot(18500.5, datePublicationDonnees="2024-05-20"),
        _lot(12000, datePublicationDonnees="2024-05-20", dureeMois=24),
        _marche("AU-1", 3000, date="2023-11-02")]}})
    df = read_contracts(data, "223100017")
    kept = df.filter(~df["is_duplicate"])
    assert df["is_duplicate"].sum() == 1 and sorted(kept["amount_eur"].to_list()) == [3000.0, 12000.0, 18500.5]
    s = _summary(data)  # also checks the recount
    assert (s["2024"]["contract_count"], Decimal(str(s["2024"]["notified_amount_eur"]))) == (2, Decimal("30500.50"))
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (3, Decimal("33500.50"))
    assert s["ALL"]["superseded_record_count"] == 1
    # the holder (ESS in _summary's status table) holds both lots
    assert Decimal(str(s["ALL"]["ess_titulaire_amount_eur"])) == Decimal("33500.50")


def test_another_files_republication_joins_the_lot_it_repeats(tmp_path):
    # the consolidated file repeats the 18 500,50 € lot, published later: one version of that lot;
    # the 12 000 € lot stays; a later file's corrected amount of a lone record is still a version
    data = _folder(tmp_path, {
        "a_profil.json": {"marches": [_lot(12000, datePublicationDonnees="2024-05-20"),
                                      _lot(18500.5, datePublicationDonnees="2024-05-20")]},
        "b_consolide.json": {"marches": [_lot(18500.5, datePublicationDonnees="2024-06-03")]}})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (2, Decimal("30500.50"))
    assert s["ALL"]["superseded_record_count"] == 1


def test_one_files_records_of_other_publication_dates_stay_versions(tmp_path):
    # same file, another datePublicationDonnees: a corrected amount, the later publication is kept
    data = _folder(tmp_path, {"decp.json": {"marches": [
        _lot(12000, datePublicationDonnees="2024-05-20"), _lot(21000, datePublicationDonnees="2024-07-01")]}})
    s = _summary(data)
    assert (s["ALL"]["contract_count"], Decimal(str(s["ALL"]["notified_amount_eur"]))) == (1, Decimal("21000.00"))
    assert s["ALL"]["superseded_record_count"] == 1


def test_a_month_first_files_latest_modification_is_read_month_first(tmp_path):
    # « 04/22/2024 » proves month/day; the modifications of 10 January (« 01/10/2024 ») and of
    # 3 February (« 02/03/2024 »): the latest is February's, 9 500 € — not « 1 October »'s 8 000 €
    mods = [{"modification": {"id": 1, "montant": 8000, "dateNotificationModification": "01/10/2024"}},
            {"modification": {"id": 2, "montant": 9500, "dateNotificationModification": "02/03/2024"}}]
    data = _folder(tmp_path, {"plateforme.json": {"marches": [
        _marche("Q-1", 4000, date="04/22/2024"), _marche("Q-2", 7000, date="01/05/2024", modifications=mods[::-1])]}})
    s = _summary(data)
    assert Decimal(str(s["ALL"]["notified_amount_eur"])) == Decimal("11000.00")
    assert Decimal(str(s["ALL"]["amount_after_modifications_eur"])) == Decimal("13500.00")  # 4 000 + 9 500
