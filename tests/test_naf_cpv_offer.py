"""The local ESS offer per CPV division only names units whose activity the map row's reason
covers (adversarial review round 3, case OF1): « Aménagement paysager » → CPV 77 is 81.30Z, not
the cleaning companies of the same NAF division 81; « ESAT : sous-traitance » → CPV 98 is 88.10C,
not every social-action association. The offer is recounted here from the two reference files
with separate code, and the curated file's NAF codes are checked."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import luhn_complete, run_mini, write_csv

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
UL = ["siren", "statutDiffusionUniteLegale", "denominationUniteLegale", "categorieJuridiqueUniteLegale",
      "activitePrincipaleUniteLegale", "etatAdministratifUniteLegale", "nicSiegeUniteLegale"]
ET = ["siren", "nic", "siret", "statutDiffusionEtablissement", "etablissementSiege", "etatAdministratifEtablissement",
      "codePostalEtablissement", "codeCommuneEtablissement", "activitePrincipaleEtablissement"]
# key: (NAF, catégorie juridique, name) — associations (9220) are ESS by statute
UNITS = {
    "cleaning": ("81.21Z", "9220", "ASSOCIATION PROPRETE DU CANAL"),
    "landscaping": ("81.30Z", "9220", "ASSOCIATION JARDINS DU CANAL"),
    "market_garden": ("01.13Z", "9220", "ASSOCIATION POTAGER DES COTEAUX"),
    "social": ("88.99B", "9220", "ASSOCIATION ENTRAIDE DU QUARTIER"),
    "esat": ("88.10C", "9220", "ASSOCIATION ATELIERS PROTEGES DU CANAL"),
    "landscaping_sas": ("81.30Z", "5710", "PAYSAGES DU CANAL SAS"),
    "works": ("42.11Z", "5710", "TRAVAUX PUBLICS DES COTEAUX"),
}


def _data(root: Path) -> dict[str, str]:
    units, etabs, siret = [], [], {}
    for n, (key, (naf, cj, name)) in enumerate(UNITS.items(), start=901):
        siren = luhn_complete(f"{n:08d}")
        s = luhn_complete(siren + "0001")
        units.append({"siren": siren, "statutDiffusionUniteLegale": "O", "denominationUniteLegale": name,
                      "categorieJuridiqueUniteLegale": cj, "activitePrincipaleUniteLegale": naf,
                      "etatAdministratifUniteLegale": "A", "nicSiegeUniteLegale": s[9:]})
        etabs.append({"siren": siren, "nic": s[9:], "siret": s, "statutDiffusionEtablissement": "O",
                      "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
                      "codePostalEtablissement": "31000", "codeCommuneEtablissement": "31555",
                      "activitePrincipaleEtablissement": naf})
        siret[key] = s
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL, units)
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET, etabs)
    # the reviewer's input: 4 000 € of CPV 77 spend (green spaces) and 1 000 € of cleaning
    write_csv(root / "purchases" / "mandats_2024.csv", ["N° mandat", "Date mandat", "Tiers", "SIRET", "Montant TTC",
                                                         "Code CPV"], [
        ["1", "15/03/2024", "TRAVAUX PUBLICS DES COTEAUX", siret["works"], "4 000,00", "77310000-6"],
        ["2", "16/03/2024", "ASSOCIATION PROPRETE DU CANAL", siret["cleaning"], "1 000,00", "90910000-9"]],
        delimiter=";")
    return siret


@pytest.fixture(scope="module")
def offer(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("offer")
    siret = _data(root / "data")
    run_mini(root / "data", root).close()
    with duckdb.connect(str(root / "wh" / "w.duckdb"), read_only=True) as con:
        rows = con.execute("""SELECT siret, naf, cpv_division, is_ess, is_primary_cpv_division
                              FROM ess_sourcing""").fetchall()
        counts = dict(con.execute("""SELECT cpv_division, local_ess_supplier_count FROM ess_offer_by_category
                                     """).fetchall())
    return {"siret": siret, "rows": rows, "counts": counts, "warehouse": root / "wh" / "w.duckdb"}


def test_offer_names_only_the_activities_the_reason_covers(offer):
    by_key = {v: k for k, v in offer["siret"].items()}
    ess = {}
    for s, _, cpv, is_ess, _ in offer["rows"]:
        if is_ess:
            ess.setdefault(cpv, set()).add(by_key[s])
    # green spaces: the landscaping association, and the market garden through agriculture (01 → 77,
    # the derived map); not the cleaning association
    assert ess["77"] == {"landscaping", "market_garden"}
    assert ess["90"] == {"cleaning"}
    # subcontracting: the ESAT only; social services: both social-action associations
    assert ess["98"] == {"esat"}
    assert ess["85"] == {"social", "esat"}
    assert (offer["counts"]["77"], offer["counts"]["90"], offer["counts"]["98"], offer["counts"]["85"]) == (2, 1, 1, 2)


def test_main_division_is_the_first_row_that_applies(offer):
    by_key = {v: k for k, v in offer["siret"].items()}
    primary = {by_key[s]: cpv for s, _, cpv, _, is_primary in offer["rows"] if is_primary}
    assert primary == {"cleaning": "90", "landscaping": "77", "market_garden": "03", "social": "85", "esat": "85"}


def _recount(naf: str) -> set[str]:
    """The CPV divisions a NAF code serves, read from the two reference files directly."""
    plain = naf.replace(".", "")
    out, curated_pairs = set(), set()
    with open(REF / "naf_division_to_cpv_division_curated.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            curated_pairs.add((r["naf_division"], r["cpv_division"]))
            scopes = (r["naf_codes"] or "").split() or [r["naf_division"]]
            if any(plain.startswith(c.replace(".", "")) for c in scopes) and plain[:2] == r["naf_division"]:
                out.add(r["cpv_division"])
    with open(REF / "naf_division_to_cpv_division.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            pair = (r["naf_division"], r["cpv_division"])
            if r["naf_division"] == plain[:2] and float(r["share_of_cpv_division"]) >= 0.2 and pair not in curated_pairs:
                out.add(r["cpv_division"])
    return out


def test_offer_recounted_from_the_reference_files(offer):
    shown: dict[str, set[str]] = {}
    for s, naf, cpv, _, _ in offer["rows"]:
        shown.setdefault((s, naf), set()).add(cpv)
    assert len(shown) == 5  # the two non-ESS companies (landscaping SAS, public works) are no offer
    for (_, naf), cpvs in shown.items():
        assert cpvs == _recount(naf), naf


def test_curated_rows_name_real_codes_of_their_division(tmp_path):
    from achats.warehouse import _curated_naf_cpv

    naf = set(json.loads((REF / "naf_rev2_sous_classes.json").read_text(encoding="utf-8")))
    curated = _curated_naf_cpv(REF / "naf_division_to_cpv_division_curated.csv", naf)
    scoped = {(r["naf_division"], r["cpv_division"]): r["naf_codes"] for r in curated.iter_rows(named=True)}
    assert scoped[("81", "77")] == "81.30Z" and scoped[("88", "98")] == "88.10C"
    bad = tmp_path / "naf_division_to_cpv_division_curated.csv"
    bad.write_text("naf_division,naf_codes,cpv_division,reason\n81,81.30Z,77,Paysage\n81,88.10C,98,ESAT\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"ligne 3, champ « naf_codes » : « 88.10C »"):
        _curated_naf_cpv(bad, naf)


def test_blocking_recount_sees_a_widened_map(offer, tmp_path):
    """The old whole-division join (cleaning offered for green spaces), published consistently in
    both the named list and the count: only the second computation sees it."""
    from achats.pipelines import checks as C

    wh = tmp_path / "w.duckdb"
    shutil.copy(offer["warehouse"], wh)
    with duckdb.connect(str(wh)) as con:
        assert C._ess_offer_recount(con, None, None).passed
        con.execute("""INSERT INTO mart_ess_sourcing BY NAME
                       SELECT * REPLACE ('77' AS cpv_division, FALSE AS is_primary_cpv_division)
                       FROM mart_ess_sourcing WHERE siret = ?""", [offer["siret"]["cleaning"]])
        con.execute("""UPDATE mart_ess_offer_by_category SET local_ess_supplier_count = local_ess_supplier_count + 1
                       WHERE cpv_division = '77'""")
        result = C._ess_offer_recount(con, None, None)
    assert not result.passed
    assert f"{offer['siret']['cleaning']} → 77 : en trop" in result.metadata["first_mismatches"].value
    assert "division 77 : 3 ESS" in result.metadata["first_mismatches"].value
    assert next(c for c in C.TABLE_CHECKS if c.name == "ess_offer_recount").blocking
