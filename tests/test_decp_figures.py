"""Contract figures you can sign: hostile DECP inputs, values asserted to the cent.

Each test builds a contracts/ folder, reads it, runs the contracts mart in a small DuckDB and
checks contracts_summary against hand-computed values and against the independent recount.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from achats.decp_recount import recount_contracts
from achats.errors import InputError
from achats.sources.decp import check_amount, is_placeholder_id, read_contracts, split_cents
from achats.warehouse import run_sql, write_frame

FIXTURES = Path(__file__).parent / "data" / "decp"
BUYER = "22310001700019"


def _marche(cid: object = "M1", montant: object = 1000, date: object = "2024-03-01", tits: tuple = ("39893557700039",),
            **extra) -> dict:
    c = {"id": cid, "acheteur": {"id": BUYER}, "objet": f"Objet {cid}", "codeCPV": "90910000-9", "montant": montant,
         "dateNotification": date, "dureeMois": 12,
         "titulaires": [{"typeIdentifiant": "SIRET", "id": t} for t in tits]}
    c.update(extra)
    return c


def _folder(tmp_path: Path, files: dict[str, object]) -> Path:
    (tmp_path / "contracts").mkdir(parents=True, exist_ok=True)
    for name, doc in files.items():
        path = tmp_path / "contracts" / name
        if isinstance(doc, Path):
            shutil.copy(doc, path)
        elif isinstance(doc, bytes | str):
            path.write_bytes(doc.encode() if isinstance(doc, str) else doc)
        else:
            path.write_text(json.dumps(doc), encoding="utf-8")  # NaN / Infinity written as JS literals
    return tmp_path


def _summary(data_dir: Path, buyer: str | None = "223100017") -> dict[str, dict]:
    con = duckdb.connect()
    run_sql(con, "reference/macros.sql")
    con.execute("CREATE TABLE cls_supplier_status (siren VARCHAR, is_active BOOLEAN, ceased_date DATE, "
                "manual_is_ess BOOLEAN, is_ess_undated BOOLEAN, is_inclusive BOOLEAN, in_ess_france BOOLEAN, "
                "is_endowment_fund BOOLEAN)")
    con.execute("INSERT INTO cls_supplier_status VALUES ('398935577', true, NULL, NULL, true, false, false, false)")
    con.execute("CREATE TABLE stg_unite_legale_historique (siren VARCHAR, start_date DATE, end_date DATE, "
                "categorie_juridique VARCHAR, insee_ess_flag VARCHAR, is_active BOOLEAN)")
    con.execute("CREATE TABLE ref_categorie_juridique_ess (categorie_juridique VARCHAR, ess_family VARCHAR, "
                "is_ess_by_statute BOOLEAN)")
    con.execute("CREATE TABLE src_esus (siren VARCHAR, date_agrement DATE, date_fin_agrement DATE)")
    con.execute("CREATE TABLE stg_siae_unit (siren VARCHAR, is_whole_unit BOOLEAN, sirets VARCHAR[], "
                "unlisted_active BIGINT)")
    write_frame(con, "src_contracts", read_contracts(data_dir, buyer))
    run_sql(con, "marts/mart_contracts_summary.sql")
    run_sql(con, "views/contracts_summary.sql")
    cur = con.execute("SELECT * FROM contracts_summary")
    names = [d[0] for d in cur.description]
    out = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    _assert_periods_add_up(out)
    recount = recount_contracts(data_dir, buyer)
    assert out["ALL"]["contract_count"] == recount.contract_count
    assert Decimal(str(out["ALL"]["notified_amount_eur"])) == recount.notified_amount_eur
    return out


def _assert_periods_add_up(summary: dict[str, dict]) -> None:
    for col in ("contract_count", "unknown_amount_contract_count", "undated_contract_count",
                "quarantined_contract_count", "concession_count"):
        assert sum(r[col] for p, r in summary.items() if p != "ALL") == summary["ALL"][col], col
    for col in ("notified_amount_eur", "amount_after_modifications_eur", "ess_titulaire_amount_eur",
                "concession_amount_eur"):
        parts = sum(Decimal(str(r[col])) for p, r in summary.items() if p != "ALL")
        assert parts == Decimal(str(summary["ALL"][col])), col


@pytest.mark.parametrize("raw", ["", "   ", "0", "0000000", "000-000", "XXXX", "NC", "null", "None", "N/A", "n.c.",
                                 None, {}, []])
def test_placeholder_ids(raw):
    assert is_placeholder_id(raw)


@pytest.mark.parametrize("raw", ["2023CD310001", "20181101", "AB", "10"])
def test_real_ids(raw):
    assert not is_placeholder_id(raw)


@pytest.mark.parametrize("raw,status", [
    (999999999, "placeholder"), (9999999999, "placeholder"), ("99999999", "placeholder"), (99999999.99, "placeholder"),
    (1e17, "above_ceiling"), (1e300, "above_ceiling"), (2_000_000_000, "above_ceiling"), (float("nan"), "non_finite"),
    (float("inf"), "non_finite"), (float("-inf"), "non_finite"), ("Infinity", "non_finite"), (-5, "negative"),
    ("NC", "unreadable"), (True, "unreadable"), ({"a": 1}, "unreadable"), (None, "missing"), ("", "missing"),
    (0, "zero"), ("1 234,56", "valid"), (99999998, "valid"), (1_000_000_000, "valid"),
])
def test_amount_statuses(raw, status):
    value, got, issue = check_amount(raw)
    assert got == status
    assert (value is not None) == (status == "valid") and (issue is None) == (status == "valid")


@pytest.mark.parametrize("amount,n", [(Decimal("100000"), 3), (Decimal("0.05"), 3), (Decimal("137614.01"), 2),
                                      (Decimal("1"), 7), (Decimal("999999999.99"), 11)])
def test_split_sums_back_to_the_cent(amount, n):
    shares = split_cents(amount, n)
    assert sum(shares) == amount and max(shares) - min(shares) <= Decimal("0.01")


def test_co_titulaire_rows_sum_to_the_contract_amount(tmp_path):
    doc = {"marches": [_marche("A", 100000, tits=("39893557700039", "44892552900027", "55203253400646"))]}
    df = read_contracts(_folder(tmp_path, {"a.json": doc}), "223100017")
    assert [Decimal(str(x)) for x in df["amount_eur"]] == [Decimal("33333.34"), Decimal("33333.33"), Decimal("33333.33")]
    s = _summary(tmp_path)["ALL"]
    assert s["notified_amount_eur"] == 100000 and s["contract_count"] == 1
    assert s["ess_titulaire_amount_eur"] == Decimal("33333.34")


def test_empty_and_zero_ids_stay_distinct_contracts(tmp_path):
    contracts = [_marche(cid, 1000 + k, tits=(f"3989355770{k:04d}",)) for k, cid in
                 enumerate(["", "", "0", "0000000000", None, "NC", "null", "XXXX"])]
    df = read_contracts(_folder(tmp_path, {"a.json": {"marches": contracts}}), "223100017")
    assert set(df["identity_method"]) == {"empreinte"}
    assert df["contract_uid"].n_unique() == 8
    s = _summary(tmp_path)["ALL"]
    assert s["contract_count"] == 8 and s["notified_amount_eur"] == sum(1000 + k for k in range(8))


def test_record_with_nothing_but_a_buyer_is_identified_by_its_position(tmp_path):
    bare = {"id": "", "acheteur": {"id": BUYER}}
    df = read_contracts(_folder(tmp_path, {"a.json": {"marches": [bare, dict(bare, dateNotification="")]}}),
                        "223100017")
    assert df["contract_uid"].to_list() == ["contracts/a.json#1", "contracts/a.json#2"]
    assert _summary(tmp_path)["ALL"]["contract_count"] == 2


def test_exact_duplicates_count_once_across_and_within_files(tmp_path):
    a, b = _marche("", 1500.5), _marche("M2", 2000)
    _folder(tmp_path, {"a.json": {"marches": [a, a, b]}, "b.json": {"marches": [b, a]}})
    df = read_contracts(tmp_path, "223100017")
    assert df.height == 5 and df["is_duplicate"].sum() == 3
    assert "republication identique de contracts/a.json n° 1" in df.filter(df["is_duplicate"])["duplicate_reason"][0]
    s = _summary(tmp_path)["ALL"]
    assert s["contract_count"] == 2 and s["notified_amount_eur"] == 3500.5


def test_republication_with_a_modification_keeps_the_latest_version(tmp_path):
    v1 = _marche("M1", 50000, datePublicationDonnees="2024-03-10")
    v2 = dict(v1, datePublicationDonnees="2024-09-01", objet="Objet corrigé",
              modifications=[{"montant": 52000, "dateNotificationModification": "2024-08-01"},
                             {"montant": 55000.55, "dateNotificationModification": "2024-08-20"},
                             {"montant": 51000, "dateNotificationModification": "2024-06-01"}])
    _folder(tmp_path, {"b_later.json": {"marches": [v2]}, "a_first.json": {"marches": [v1]}})
    df = read_contracts(tmp_path, "223100017")
    current = df.filter(~df["is_duplicate"]).row(0, named=True)
    assert current["source_file"] == "contracts/b_later.json" and current["object"] == "Objet corrigé"
    assert current["amount_initial_eur"] == 50000 and current["amount_last_eur"] == 55000.55
    assert current["modification_count"] == 3
    s = _summary(tmp_path)["ALL"]
    assert s["contract_count"] == 1 and s["notified_amount_eur"] == 50000
    assert s["amount_after_modifications_eur"] == Decimal("55000.55")


def test_v2_modification_amount_is_the_last_one(tmp_path):
    c = _marche("V2", 575000, modifications=[
        {"modification": {"id": 1, "montant": 600000, "dateNotificationModification": "2024-10-18"}},
        {"modification": {"id": 2, "dureeMois": 14, "dateNotificationModification": "2024-12-01"}}])
    df = read_contracts(_folder(tmp_path, {"a.json": {"marches": {"marche": [c]}}}), "223100017")
    assert df["amount_initial_eur"][0] == 575000 and df["amount_last_eur"][0] == 600000


def test_lots_sharing_one_id_stay_apart(tmp_path):
    lots = [_marche("20181101", 34973, tits=("50283891500010",)), _marche("20181101", 87203, tits=("75349326100014",))]
    df = read_contracts(_folder(tmp_path, {"a.json": {"marches": lots}}), "223100017")
    assert df["contract_uid"].n_unique() == 2 and set(df["identity_method"]) == {"acheteur+id+lot"}
    assert _summary(tmp_path)["ALL"]["notified_amount_eur"] == 34973 + 87203


def test_hostile_amounts_count_but_are_never_summed(tmp_path):
    text = json.dumps({"marches": [
        _marche("A", 999999999), _marche("B", 9999999999), _marche("C", 1e17), _marche("D", float("nan")),
        _marche("E", float("inf")), _marche("F", float("-inf")), _marche("G", 1e300), _marche("H", -12),
        _marche("I", "NC"), _marche("J", "99999999"), _marche("K", 1234.56), _marche("L", "2 000,10")]})
    assert "NaN" in text and "Infinity" in text
    df = read_contracts(_folder(tmp_path, {"a.json": text}), "223100017")
    assert df.filter(df["amount_status"] != "valid")["amount_eur"].is_null().all()
    s = _summary(tmp_path)["ALL"]
    assert s["contract_count"] == 12 and s["unknown_amount_contract_count"] == 10
    assert s["notified_amount_eur"] == Decimal("3234.66")


def test_ceiling_is_a_parameter(tmp_path):
    _folder(tmp_path, {"a.json": {"marches": [_marche("A", 5000)]}})
    assert read_contracts(tmp_path, None, max_amount=4000)["amount_status"].to_list() == ["above_ceiling"]


def test_undated_contracts_count_in_sans_date_and_all(tmp_path):
    doc = {"marches": [_marche("A", 100, "2023-05-01"), _marche("B", 200, None), _marche("C", 300, "n/a"),
                       _marche("D", 400, "0218-05-02"), _marche("E", 500, "2024-02-30"), _marche("F", 600, "2024-01-05"),
                       {k: v for k, v in _marche("G", 700).items() if k != "dateNotification"}]}
    s = _summary(_folder(tmp_path, {"a.json": doc}))
    assert set(s) == {"2018", "2023", "2024", "sans date", "ALL"}
    assert s["sans date"]["contract_count"] == 4 and s["sans date"]["notified_amount_eur"] == 200 + 300 + 500 + 700
    assert s["sans date"]["undated_contract_count"] == 4 and s["2024"]["undated_contract_count"] == 0
    assert s["2018"]["notified_amount_eur"] == 400
    assert s["ALL"]["contract_count"] == 7 and s["ALL"]["notified_amount_eur"] == 2800


def test_unusable_records_are_quarantined_with_file_and_position(tmp_path):
    doc = {"marches": [_marche("A", 100), "texte", 42, None, {"id": "X", "montant": 5, "dateNotification": "2024-01-01"},
                       {"id": "Y", "acheteur": {"nom": "sans id"}, "montant": 7}]}
    df = read_contracts(_folder(tmp_path, {"a.json": doc}), "223100017")
    q = df.filter(df["status"] == "quarantined")
    assert q["source_index"].to_list() == [2, 3, 4, 5, 6]
    assert q["quarantine_reason"][0] == "contracts/a.json, enregistrement n° 2 : pas un objet marché (str)"
    assert q["quarantine_reason"][3] == "contracts/a.json, enregistrement n° 5 (X) : acheteur absent"
    s = _summary(tmp_path)
    assert s["ALL"]["quarantined_contract_count"] == 5 and s["ALL"]["contract_count"] == 1
    assert s["ALL"]["notified_amount_eur"] == 100


def test_other_buyers_records_are_left_out_not_quarantined(tmp_path):
    doc = {"marches": [_marche("A", 100), dict(_marche("B", 200), acheteur={"id": "21310555400017"})]}
    s = _summary(_folder(tmp_path, {"a.json": doc}))["ALL"]
    assert (s["contract_count"], s["quarantined_contract_count"], s["notified_amount_eur"]) == (1, 0, 100)


def test_concessions_are_read_and_kept_apart(tmp_path):
    s = _summary(_folder(tmp_path, {"c.json": FIXTURES / "exemple_officiel_v2_marches_concessions.json"}), None)["ALL"]
    assert s["contract_count"] == 2 and s["notified_amount_eur"] == 1150000
    assert s["concession_count"] == 2 and s["concession_amount_eur"] == Decimal("20.60")
    df = read_contracts(tmp_path, None)
    conc = df.filter(df["contract_kind"] == "concession")
    assert conc["buyer_id"].unique().sort().to_list() == ["12345678901234", "12345678901250"]
    assert conc["titulaire_siret"].unique().sort().to_list() == ["38103128500491", "38103128500574"]
    assert conc["amount_initial_eur"].unique().to_list() == [10.3] and conc["amount_last_eur"].unique().to_list() == [25.0]
    assert conc["notification_date"].cast(str).unique().to_list() == ["2024-04-02"]


def test_v1_concession_and_consolidated_marche_with_empty_concession_keys(tmp_path):
    v1_concession = {"_type": "Contrat de concession", "id": "DSP1", "autoriteConcedante": {"id": BUYER},
                     "nature": "Délégation de service public", "objet": "Piscine", "dateDebutExecution": "2022-07-01",
                     "valeurGlobale": 2500000, "concessionnaires": [{"typeIdentifiant": "SIRET", "id": "39893557700039"}]}
    marche = _marche("M", 900, autoriteConcedante="", valeurGlobale=0.0, concessionnaires=float("nan"))
    s = _summary(_folder(tmp_path, {"a.json": json.dumps({"marches": [v1_concession, marche]})}))
    assert s["ALL"]["contract_count"] == 1 and s["ALL"]["notified_amount_eur"] == 900
    assert s["2022"]["concession_count"] == 1 and s["2022"]["concession_amount_eur"] == 2500000


def test_real_anomaly_fixtures_add_up(tmp_path):
    _folder(tmp_path, {"v1.json": FIXTURES / "decp_anomalies_v1_decp-processing.json",
                       "v2.json": FIXTURES / "decp_anomalies_v2_decp-processing.json"})
    s = _summary(tmp_path, None)["ALL"]
    assert s["contract_count"] == 7 and s["concession_count"] == 0 and s["quarantined_contract_count"] == 0
    assert s["notified_amount_eur"] == 215513 + Decimal("1415445.37") and s["unknown_amount_contract_count"] == 1


XML = """<?xml version="1.0" encoding="ISO-8859-1"?>
<marches>
  <marche>
    <id>2019X01</id><acheteur><id>22310001700019</id><nom>Département</nom></acheteur>
    <nature>Marché</nature><objet>Entretien des espaces verts (insertion)</objet><codeCPV>77310000-6</codeCPV>
    <dureeMois>12</dureeMois><dateNotification>2019-03-04+01:00</dateNotification><montant>120000.50</montant>
    <titulaires>
      <titulaire><typeIdentifiant>SIRET</typeIdentifiant><id>39893557700039</id><denominationSociale>RÉGAIN</denominationSociale></titulaire>
      <titulaire><typeIdentifiant>SIRET</typeIdentifiant><id>44892552900027</id><denominationSociale>B</denominationSociale></titulaire>
    </titulaires>
    <modifications><modification><montant>130000</montant><dateNotificationModification>2019-09-01</dateNotificationModification></modification></modifications>
  </marche>
  <marche>
    <id>0000</id><acheteur><id>22310001700019</id></acheteur><objet>Sans date</objet>
    <montant>999999999</montant><titulaires><titulaire><id>44892552900027</id></titulaire></titulaires>
  </marche>
  <contrat-concession>
    <id>C1</id><autoriteConcedante><id>22310001700019</id></autoriteConcedante><nature>Concession de service</nature>
    <dateSignature>2019-01-10</dateSignature><valeurGlobale>800000</valeurGlobale>
    <concessionnaires><concessionnaire><id>39893557700039</id></concessionnaire></concessionnaires>
  </contrat-concession>
</marches>
"""


def test_decp_xml_and_upper_case_json_are_read(tmp_path):
    _folder(tmp_path, {"decp.xml": XML.encode("iso-8859-1"), "AUTRE.JSON": {"marches": [_marche("J", 10)]},
                       "Mixte.Json": {"marches": [_marche("K", 20)]}})
    df = read_contracts(tmp_path, "223100017")
    x = df.filter(df["source_file"] == "contracts/decp.xml")
    assert x["titulaire_name"].to_list()[0] == "RÉGAIN" and x["amount_eur"].to_list()[:2] == [60000.25, 60000.25]
    assert x["amount_last_eur"][0] == 130000
    s = _summary(tmp_path)
    assert s["ALL"]["contract_count"] == 4 and s["ALL"]["notified_amount_eur"] == 120030.5
    assert s["sans date"]["unknown_amount_contract_count"] == 1
    assert s["2019"]["concession_count"] == 1 and s["2019"]["concession_amount_eur"] == 800000


def test_xml_with_entity_declarations_is_refused(tmp_path):
    bomb = '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;">]><marches>&b;</marches>'
    _folder(tmp_path, {"bomb.xml": bomb})
    with pytest.raises(InputError, match="contracts/bomb.xml : XML DECP refusé"):
        read_contracts(tmp_path, None)


def test_broken_xml_is_a_clear_error(tmp_path):
    _folder(tmp_path, {"b.XML": "<marches><marche>"})
    with pytest.raises(InputError, match="contracts/b.XML : XML DECP illisible"):
        read_contracts(tmp_path, None)


def test_unknown_file_in_contracts_is_reported_not_ignored(tmp_path):
    _folder(tmp_path, {"a.json": {"marches": [_marche()]}, "export.csv": "id;montant\n1;2\n",
                       ".DS_Store": "x", "~$lock.json": "x"})
    with pytest.raises(InputError, match="contracts/export.csv : fichier non reconnu"):
        read_contracts(tmp_path, None)


def test_real_2019_files_recount_matches(tmp_path):
    """Real platform files: e-marchespublics reuses one id for several lots; PES republishes uids."""
    src = Path(__file__).resolve().parents[1] / "data" / "sample" / "contracts" / "decp_2019-04-05_data.gouv.fr_pes.json"
    s = _summary(_folder(tmp_path, {"pes.json": src}), None)["ALL"]
    assert s["contract_count"] == 1140  # 1,148 records, 8 republications of 7 uids
    assert s["unknown_amount_contract_count"] == 6  # 999999999, 99999999 (x3), 0 (x2)
    assert s["notified_amount_eur"] == Decimal("381477941.16")


@pytest.mark.parametrize("tamper", [
    "UPDATE mart_contracts_summary SET notified_amount_eur = notified_amount_eur + 0.01 WHERE period = 'ALL'",
    "UPDATE mart_contracts_summary SET contract_count = contract_count - 1, notified_amount_eur = 0 "
    "WHERE period = 'sans date'",
    "UPDATE mart_contracts_summary SET contract_count = contract_count + 1 WHERE period = 'ALL'",
])
def test_recount_check_blocks_a_wrong_summary(sample_run, tmp_path, tamper):
    import duckdb as ddb
    from dagster_duckdb import DuckDBResource

    from achats.paths import sample_dir
    from achats.pipelines import checks
    from achats.pipelines.resources import AchatsInputs

    inputs = AchatsInputs(data_dir=str(sample_dir()))
    copy = tmp_path / "copy.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    assert checks.contracts_summary_recount(inputs=inputs, duckdb=DuckDBResource(database=str(copy))).passed
    with ddb.connect(str(copy)) as con:
        con.execute(tamper)
    assert not checks.contracts_summary_recount(inputs=inputs, duckdb=DuckDBResource(database=str(copy))).passed


def test_ambiguous_text_amounts_and_french_dates():
    import datetime as dt

    from achats.sources.decp import check_amount, parse_decp_date

    assert check_amount("250,000")[0] is None and check_amount("150.000")[1] == "unreadable"
    assert check_amount("1,5.0")[0] is None
    assert str(check_amount("1234,5")[0]) == "1234.50" and str(check_amount(250000)[0]) == "250000.00"
    assert parse_decp_date("01/03/2024") == dt.date(2024, 3, 1)


def test_republication_with_another_amount_and_no_modification_counts_once(tmp_path):
    """#11 review: same id, buyer, date, titulaires and objet republished with a corrected amount
    is one contract; the latest publication is kept, the other is superseded with its reason."""
    first = _marche("M7", 12000, datePublicationDonnees="2024-03-05")
    fixed = dict(first, montant=21000, datePublicationDonnees="2024-04-02", objet="OBJET  m7.")
    _folder(tmp_path, {"a.json": {"marches": [fixed]}, "b.json": {"marches": [first]}})
    df = read_contracts(tmp_path, "223100017")
    kept = df.filter(~df["is_duplicate"])
    assert kept.height == 1 and kept["amount_initial_eur"][0] == 21000
    old = df.filter(df["is_duplicate"]).row(0, named=True)
    assert old["duplicate_kind"] == "superseded" and "contracts/a.json n° 1" in old["duplicate_reason"]
    assert "12000.00 → 21000.00" in old["duplicate_reason"]
    s = _summary(tmp_path)
    assert (s["ALL"]["contract_count"], s["ALL"]["notified_amount_eur"]) == (1, 21000)
    assert s["ALL"]["superseded_record_count"] == 1 and s["2024"]["superseded_record_count"] == 1


def test_same_publication_date_latest_in_file_order_wins(tmp_path):
    a = _marche("M8", 500, datePublicationDonnees="2024-03-05")
    _folder(tmp_path, {"a.json": {"marches": [a]}, "b.json": {"marches": [dict(a, montant=700)]}})
    s = _summary(tmp_path)["ALL"]
    assert (s["contract_count"], s["notified_amount_eur"], s["superseded_record_count"]) == (1, 700, 1)


@pytest.mark.parametrize("other", [
    {"objet": "Objet M9 lot 2", "montant": 900},  # same titulaire, another lot's objet
    {"codeCPV": "45000000-7", "montant": 900},  # same objet text, another CPV
    {"titulaires": [{"typeIdentifiant": "SIRET", "id": "75349326100014"}], "montant": 900},
    {"dateNotification": "2024-03-02", "montant": 900},
])
def test_homonym_lots_with_another_amount_stay_apart(tmp_path, other):
    """Lots of one procedure sharing an id differ by objet, CPV, titulaire or date: two contracts."""
    a = _marche("M9", 400)
    _folder(tmp_path, {"a.json": {"marches": [a, dict(a, **other)]}})
    s = _summary(tmp_path)["ALL"]
    assert (s["contract_count"], s["notified_amount_eur"], s["superseded_record_count"]) == (2, 1300, 0)


def test_republication_chain_amount_then_objet_is_one_contract(tmp_path):
    """v1 → v2 corrects the amount, v2 → v3 the objet: one contract, v3 kept, two superseded."""
    v1 = _marche("M10", 100, datePublicationDonnees="2024-01-10")
    v2 = dict(v1, montant=150, datePublicationDonnees="2024-02-10")
    v3 = dict(v2, objet="Objet M10 (rectifié)", datePublicationDonnees="2024-03-10")
    _folder(tmp_path, {"x.json": {"marches": [v3, v1, v2]}})
    s = _summary(tmp_path)["ALL"]
    assert (s["contract_count"], s["notified_amount_eur"], s["superseded_record_count"]) == (1, 150, 2)


def test_decp_numeric_dates_follow_the_files_proven_order(tmp_path):
    """A platform writing month-first (03/15/2024 proves it) has its 04/01/2024 read 1 April, not
    4 January; a file proving both orders leaves 04/01/2024 undecided: « sans date », with why."""
    us = [_marche("U1", 100, date="03/15/2024"), _marche("U2", 200, date="04/01/2024"),
          _marche("U3", 300, date="2024-07-02")]
    mixed = [_marche("X1", 10, date="15/03/2024"), _marche("X2", 20, date="03/16/2024"),
             _marche("X3", 40, date="04/01/2024")]
    _folder(tmp_path, {"us.json": {"marches": us}, "mixed.json": {"marches": mixed}})
    df = read_contracts(tmp_path, "223100017")
    got = dict(zip(df["contract_id_raw"], df["notification_date"], strict=True))
    assert [str(got[k]) for k in ("U1", "U2", "U3", "X1", "X2")] == [
        "2024-03-15", "2024-04-01", "2024-07-02", "2024-03-15", "2024-03-16"]
    assert got["X3"] is None
    issue = df.filter(df["contract_id_raw"] == "X3")["date_issue"][0]
    assert "contracts/mixed.json, enregistrement n° 3" in issue and "« 04/01/2024 » ambiguë" in issue
    s = _summary(tmp_path)
    assert s["sans date"]["contract_count"] == 1 and s["sans date"]["notified_amount_eur"] == 40
    assert s["2024"]["contract_count"] == 5


def test_decp_day_first_file_is_unchanged(tmp_path):
    df = read_contracts(_folder(tmp_path, {"fr.json": {"marches": [
        _marche("F1", 1, date="04/01/2024"), _marche("F2", 2, date="25/12/2023")]}}), "223100017")
    assert [str(d) for d in df["notification_date"]] == ["2024-01-04", "2023-12-25"]


def test_lots_with_one_amount_but_other_cpvs_stay_apart(tmp_path):
    """Two lots of one id, same titulaire, date and amount, but other CPVs: two contracts."""
    a = _marche("M11", 40000)
    _folder(tmp_path, {"a.json": {"marches": [a, dict(a, codeCPV="45000000-7", objet="Objet M11 lot 2")]}})
    s = _summary(tmp_path)["ALL"]
    assert (s["contract_count"], s["notified_amount_eur"]) == (2, 80000)


def test_recount_reads_a_single_titulaire_written_as_an_object(tmp_path):
    """`"titulaires": {"titulaire": {...}}` (no list) names a titulaire for the recount too: the
    record without titulaire is another contract."""
    a = _marche("M12", 100, titulaires={"titulaire": {"typeIdentifiant": "SIRET", "id": "39893557700039"}})
    s = _summary(_folder(tmp_path, {"a.json": {"marches": [a, dict(a, titulaires=None)]}}))["ALL"]
    assert (s["contract_count"], s["notified_amount_eur"]) == (2, 200)


@pytest.mark.parametrize("seed", range(40))
def test_reader_and_recount_agree_on_random_republications(tmp_path, seed):
    """Random sets of contracts republished with another amount, objet, publication date or
    modifications, shared or placeholder ids, ragged titulaires, both date orders, split over
    files: the summary and the independent recount give the same count and amount."""
    import random

    rng = random.Random(seed)
    records = []
    for k in range(rng.randint(1, 6)):
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        c = _marche(rng.choice([f"M{k}", "M0", "", "0000"]), rng.choice([1000 * (k + 1), 999999999, "1 234,50 €",
                                                                           0, 50.5, None]),
                    date=rng.choice([f"2024-{month:02d}-{day:02d}", f"{day:02d}/{month:02d}/2024",
                                     f"{month:02d}/{day:02d}/2024", "", None, "2024-02-30"]),
                    objet=rng.choice([f"Objet {k}", "Objet commun", f"Lot {k} travaux"]),
                    codeCPV=rng.choice(["90910000-9", "45000000-7", None]),
                    datePublicationDonnees=f"2024-0{rng.randint(1, 9)}-01",
                    titulaires=rng.choice([[{"id": "39893557700039"}], {"titulaire": {"id": "75349326100014"}},
                                           [{"titulaire": {"id": t}} for t in ("39893557700039", "75349326100014")],
                                           None]))
        records.append(c)
        for _ in range(rng.randint(0, 2)):
            change = rng.choice(["amount", "objet", "both", "same", "pub", "mods"])
            v = dict(c)
            if change in ("amount", "both"):
                v["montant"] = rng.choice([1234, 5678.9, "NC"])
            if change in ("objet", "both"):
                v["objet"] = (str(c["objet"]) + rng.choice([".", " lot 9", "  "])).upper()
            if change == "pub":
                v["datePublicationDonnees"] = "2025-01-01"
            if change == "mods":
                v["modifications"] = [{"montant": 7777, "dateNotificationModification": "2024-12-01"}]
            records.append(v)
    rng.shuffle(records)
    n = rng.randint(1, 3)
    _summary(_folder(tmp_path, {f"f{f}.json": {"marches": records[f::n]} for f in range(n)}))  # asserts agreement
