"""Adversarial review #3, findings 3, 11 and 14: whose contracts a DECP file holds. The reader and
the independent recount must agree with figures computed by hand, not with each other only."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from achats.config import Settings
from achats.decp_recount import recount_contracts
from achats.errors import InputError
from achats.sources.decp import foreign_file_warning, read_contracts
from achats.warehouse import load_contracts

BUYER = "223100017"


def _marche(buyer_siret: str, cid: str, amount: float, uid: str | None = None) -> dict:
    m = {"id": cid, "acheteur": {"id": buyer_siret}, "nature": "Marché", "objet": "Nettoyage des collèges",
         "codeCPV": "90910000-9", "dureeMois": 24, "dateNotification": "2024-03-01",
         "datePublicationDonnees": "2024-04-01", "montant": amount,
         "titulaires": [{"titulaire": {"id": "81234567600009", "typeIdentifiant": "SIRET"}}]}
    if uid:
        m["uid"] = uid
    return m


def _write(tmp_path: Path, files: dict[str, list[dict]]) -> Path:
    (tmp_path / "contracts").mkdir()
    for name, marches in files.items():
        (tmp_path / "contracts" / name).write_text(json.dumps({"marches": marches}), encoding="utf-8")
    return tmp_path


def _counted(df) -> tuple[int, Decimal]:
    kept = df.filter((df["status"] == "ok") & ~df["is_duplicate"])
    total = sum((Decimal(str(a)) for a in kept["amount_eur"].drop_nulls().to_list()), Decimal(0))
    return kept["contract_uid"].n_unique(), total.quantize(Decimal("0.01"))


def _recount(data: Path, siren: str | None) -> tuple[int, Decimal]:
    got = recount_contracts(data, siren)
    return got.contract_count, got.notified_amount_eur


@pytest.mark.parametrize("uids", [False, True])
def test_one_contract_under_two_sirets_of_the_buyer_counts_once(tmp_path, uids):
    a, b = BUYER + "00019", BUYER + "00027"
    data = _write(tmp_path, {
        "decp_consolide.json": [_marche(b, "2024CD31TEST", 120000.0, b + "2024CD31TEST" if uids else None)],
        "decp_profil.json": [_marche(a, "2024CD31TEST", 120000.0, a + "2024CD31TEST" if uids else None),
                             _marche(a, "2024CD31AUTRE", 3000.5)]})
    assert _counted(read_contracts(data, BUYER)) == (2, Decimal("123000.50"))
    assert _recount(data, BUYER) == (2, Decimal("123000.50"))


def test_recount_does_not_share_a_siret_identity(tmp_path):
    """The recount alone, on two SIRETs: it must not count the contract twice either."""
    data = _write(tmp_path, {"a.json": [_marche(BUYER + "00019", "X1", 10.0)],
                             "b.json": [_marche(BUYER + "00027", "X1", 10.0)]})
    got = recount_contracts(data, BUYER)
    assert (got.contract_count, got.notified_amount_eur) == (1, Decimal("10.00"))


def test_without_buyer_siren_several_buyers_stop_with_a_french_error(tmp_path):
    data = _write(tmp_path, {"decp_national.json": [_marche(BUYER + "00019", "A1", 100.0),
                                                    _marche("21310555400017", "B1", 200.0),
                                                    _marche("21310555400017", "B2", 300.0)]})
    with pytest.raises(InputError) as err:
        load_contracts(duckdb.connect(), data, Settings())
    message = str(err.value)
    assert "contracts/decp_national.json" in message and "[acheteur]" in message and "siren" in message
    assert "213105554 (2 marchés)" in message and f"{BUYER} (1 marchés)" in message
    # the recount sees the several buyers on its own (the check then fails without a SIREN)
    assert recount_contracts(data, None).buyer_sirens == {BUYER, "213105554"}
    # with the SIREN, only the buyer's
    assert _counted(read_contracts(data, BUYER)) == (1, Decimal("100.00"))
    assert _recount(data, BUYER) == (1, Decimal("100.00"))


def test_without_buyer_siren_one_buyer_is_the_buyer(tmp_path):
    data = _write(tmp_path, {"a.json": [_marche(BUYER + "00019", "A1", 100.0)],
                             "b.json": [_marche(BUYER + "00027", "A2", 50.25)]})
    con = duckdb.connect()
    assert load_contracts(con, data, Settings()) == 2
    assert _counted(con.sql("SELECT * FROM src_contracts").pl()) == (2, Decimal("150.25"))
    assert _recount(data, None) == (2, Decimal("150.25"))


def test_a_file_without_the_buyers_contracts_is_named_with_its_buyers(tmp_path):
    data = _write(tmp_path, {"autre.json": [_marche("21310555400017", "B1", 200.0),
                                            _marche("21310555400017", "B2", 300.0),
                                            _marche("13001898900017", "C1", 1.0)],
                             "mien.json": [_marche(BUYER + "00019", "A1", 100.0)]})
    warning = foreign_file_warning(data / "contracts" / "autre.json", data, BUYER)
    assert warning.startswith("contracts/autre.json : aucun marché de l'acheteur (SIREN 223100017)")
    assert "213105554 (2)" in warning and "130018989 (1)" in warning and "3 enregistrements" in warning
    assert foreign_file_warning(data / "contracts" / "mien.json", data, BUYER) is None


def test_the_sample_run_warns_about_its_file_of_other_buyers(sample_run):
    from achats.paths import sample_dir
    from achats.pipelines.cli import input_warnings

    warnings = input_warnings(sample_run["warehouse"], sample_dir())
    foreign = [w for w in warnings if "aucun marché de l'acheteur" in w]
    assert len(foreign) == 1 and foreign[0].startswith("contracts/decp_2019-04-05_data.gouv.fr_pes.json : ")
    assert "ses 1 148 enregistrements" in foreign[0] and "216901231 (119)" in foreign[0]
