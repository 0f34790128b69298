"""DECP v1 and v2 with their real-world quirks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from achats.errors import InputError
from achats.sources.decp import normalize_cpv, parse_decp_date, read_contracts

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "contracts"


@pytest.mark.parametrize("raw,expected", [
    ("45000000-7", "45000000"), ("45314000", "45314000"), ("3000000", "03000000"), ("", None), (None, None),
    ("4531", None),
])
def test_cpv_quirks(raw, expected):
    assert normalize_cpv(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("2018-12-17+01:00", dt.date(2018, 12, 17)), ("2018-12-03", dt.date(2018, 12, 3)),
    ("0218-05-02", dt.date(2018, 5, 2)), ("2019-01-01Z", dt.date(2019, 1, 1)), ("n/a", None), (None, None),
])
def test_dates(raw, expected):
    assert parse_decp_date(raw) == expected


def _write(tmp_path: Path, doc) -> Path:
    (tmp_path / "contracts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "contracts" / "x.json").write_text(json.dumps(doc), encoding="utf-8")
    return tmp_path


def test_v2_co_contractors_split_the_amount_and_social_consideration(tmp_path):
    doc = {"marches": {"marche": [{
        "id": "A1", "acheteur": {"id": "22310001700019"}, "codeCPV": "90910000-9", "montant": 90000,
        "dateNotification": "2024-02-01", "considerationsSociales": {"considerationSociale": ["Clause sociale"]},
        "titulaires": [{"titulaire": {"id": "55203253400646", "typeIdentifiant": "SIRET"}},
                       {"titulaire": {"id": "FR12345678901", "typeIdentifiant": "TVA"}},
                       {"titulaire": {"id": "35600000012305", "typeIdentifiant": "SIRET"}}]}]}}
    df = read_contracts(_write(tmp_path, doc), "223100017")
    assert df.height == 3
    assert df["amount_eur"].sum() == pytest.approx(90000)
    assert df["titulaire_siren"].to_list() == ["552032534", None, "356000000"]
    assert df["has_social_consideration"].all() and df["cpv_division"][0] == "90"


def test_v1_file_of_other_buyers_is_filtered_out():
    df = read_contracts(SAMPLE.parent, "223100017")
    assert df.height > 0
    assert df["buyer_id"].str.starts_with("223100017").all()


def test_real_2019_file_parses_with_all_its_quirks(tmp_path):
    src = SAMPLE / "decp_2019-04-05_data.gouv.fr_pes.json"
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / src.name).write_bytes(src.read_bytes())
    df = read_contracts(tmp_path, None)
    assert df["source_index"].n_unique() == 1148  # (some uids are published twice in the real file)
    assert df.filter(df["status"] == "ok").height >= 0.95 * df.height
    assert (df.filter(df["titulaire_id_type"] == "TVA")["titulaire_siren"].is_null()).all()


def test_broken_json_is_a_clear_error(tmp_path):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "b.json").write_text('{"marches": [', encoding="utf-8")
    with pytest.raises(InputError, match="contracts/b.json : JSON DECP illisible"):
        read_contracts(tmp_path, None)


def test_contract_without_amount_still_counts_with_an_unknown_amount(tmp_path):
    doc = {"marches": [{"id": "X", "acheteur": {"id": "22310001700019"}, "codeCPV": "", "montant": None,
                        "dateNotification": "2024-01-01", "titulaires": []}]}
    df = read_contracts(_write(tmp_path, doc), "223100017")
    assert df["status"].to_list() == ["ok"]
    assert df["amount_status"].to_list() == ["missing"] and df["amount_eur"].to_list() == [None]
    assert "montant absent" in df["amount_issue"][0]


def test_official_v2_example_parses(tmp_path):
    src = Path(__file__).parent / "data" / "decp" / "exemple_officiel_v2_marches_avec_modifications.json"
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / src.name).write_bytes(src.read_bytes())
    df = read_contracts(tmp_path, None)
    assert df.height >= 1 and set(df["format_version"]) == {"v2"}
    first = df.row(0, named=True)
    assert first["cpv"] == "45000000" and first["has_social_consideration"] is True
    assert first["titulaire_siret"] == "55204599900869"
