"""Adversarial review #5, defect 7: a contract's titulaire is ESS by its status on the notification
date (the SIRENE history's legal form then, not today's), and a titulaire identified by a French
VAT number (FR + key + SIREN) is that SIREN when the key checks. Built from the reviewer's case DC1;
figures computed by hand."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import duckdb

from achats.identifiers import siren_from_french_vat
from achats.recount import contracts_ess_mismatches
from tests.conftest import run_mini, write_csv

BUYER = "22310001700019"


def _vat(siren: str, shift: int = 0) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97) + shift) % 97:02d}{siren}"


def _marche(cid: str, day: str, amount: int, titulaire: dict) -> dict:
    return {"id": cid, "acheteur": {"id": BUYER}, "objet": f"Objet {cid}", "codeCPV": "90910000-9",
            "montant": amount, "dateNotification": day, "dureeMois": 12, "titulaires": [titulaire]}


def _dc1(mini):
    """KAPPA: an association (9220) until 2021-12-31, an SAS without the INSEE flag since; QUINOA:
    an association identified in the DECP by its French VAT number, once with a wrong key."""
    kappa, kappa_siret = mini.unit("KAPPA SERVICES", cj="5710", economieSocialeSolidaireUniteLegale="N")
    quinoa, _ = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([{"Fournisseur": "KAPPA SERVICES", "SIRET": kappa_siret, "Montant": "7", "Date": "01/06/2021"}])
    write_csv(data / "sirene" / "StockUniteLegaleHistorique_test.csv",
              ["siren", "dateFin", "dateDebut", "etatAdministratifUniteLegale", "categorieJuridiqueUniteLegale",
               "economieSocialeSolidaireUniteLegale"],
              [[kappa, "2021-12-31", "2015-01-01", "A", "9220", ""], [kappa, "", "2022-01-01", "A", "5710", "N"]])
    siret = {"typeIdentifiant": "SIRET", "id": kappa_siret}
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": [
        _marche("K-21", "2021-06-01", 30000, siret),
        _marche("K-24", "2024-06-01", 20000, siret),
        _marche("T-01", "2024-03-05", 10000, {"typeIdentifiant": "TVA", "id": _vat(quinoa)}),
        _marche("T-02", "2024-03-06", 5000, {"typeIdentifiant": "TVA", "id": _vat(quinoa, 1)}),
    ]}), encoding="utf-8")
    return data, quinoa


def test_french_vat_number_gives_its_siren_only_when_the_key_checks():
    assert siren_from_french_vat("FR83404833048") == "404833048"  # a published example
    assert siren_from_french_vat("fr 83 404 833 048") == "404833048"
    assert siren_from_french_vat("FR84404833048") is None  # wrong key
    assert siren_from_french_vat("FR55812345676") is None  # the reviewer's: its key is 19, not 55
    assert siren_from_french_vat("DE123456789") is None


def test_titulaire_is_ess_by_its_legal_form_on_the_notification_date(mini, tmp_path):
    data, quinoa = _dc1(mini)
    con = run_mini(data, tmp_path)
    got = {p: (n, e) for p, n, e in con.execute(
        "SELECT period, notified_amount_eur, ess_titulaire_amount_eur FROM contracts_summary").fetchall()}
    # 2021: KAPPA was an association when K-21 was notified: 30 000 € ESS
    assert got["2021"] == (Decimal("30000.00"), Decimal("30000.00"))
    # 2024: KAPPA is an SAS without the flag (K-24 not ESS); QUINOA by its VAT number 10 000 €;
    # the VAT number with a wrong key designates nobody
    assert got["2024"] == (Decimal("35000.00"), Decimal("10000.00"))
    assert got["ALL"] == (Decimal("65000.00"), Decimal("40000.00"))
    assert con.execute("SELECT titulaire_siren FROM src_contracts WHERE contract_id_raw = 'T-01'").fetchone()[0] \
        == quinoa
    assert con.execute("SELECT titulaire_siren FROM src_contracts WHERE contract_id_raw = 'T-02'").fetchone()[0] \
        is None
    assert contracts_ess_mismatches(con) == []


def test_the_contracts_recount_sees_a_wrong_ess_titulaire_amount(mini, tmp_path):
    data, _ = _dc1(mini)
    con = run_mini(data, tmp_path)
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    rw = duckdb.connect(str(copy))
    # today's legal form instead of the one on the notification date: what was published before
    rw.execute("UPDATE mart_contracts_summary SET ess_titulaire_amount_eur = 0 WHERE period = '2021'")
    assert contracts_ess_mismatches(rw) == ["2021 : montant aux titulaires ESS publié 0,00 ≠ recompté 30 000,00"]
    rw.close()
