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
