"""Status lists (adv14b #4, #6): SIAE / EA / ESAT status belongs to the listed establishment, not to
its whole unit; rejected rows of the status lists are named in the run's warnings."""

from __future__ import annotations

import json
from decimal import Decimal

from achats.pipelines.cli import input_warnings
from achats.recount import objective8_expected
from tests.conftest import luhn_complete, run_mini


def _establishment(mini, siren: str, nic: str, enseigne: str = "") -> str:
    """A second, non-siège active establishment of a unit built by mini.unit."""
    siret = luhn_complete(siren + nic)
    mini.etabs.append({"siren": siren, "nic": siret[9:], "siret": siret, "etablissementSiege": "false",
                       "etatAdministratifEtablissement": "A", "codeCommuneEtablissement": "31555",
                       "codePostalEtablissement": "31000", "statutDiffusionEtablissement": "O",
                       "enseigne1Etablissement": enseigne, "activitePrincipaleEtablissement": "88.99B"})
    return siret


def _siae(siret: str, name: str, kind: str) -> dict:
    return {"siret": siret, "name": name, "kind": kind, "naf": "", "post_code": "31000", "department": "31"}


def test_inclusive_status_follows_the_listed_establishment(mini, tmp_path):
    # the adv14b SIAE2 case: each list entry names one establishment of a larger unit
    epci, epci_siege = mini.unit("COMMUNAUTE DE COMMUNES DU HAUT BEARN", cj="7346", naf="84.11Z")
    apf, apf_siege = mini.unit("APF FRANCE HANDICAP", cj="9230", naf="88.99B")
    sas, sas_siege = mini.unit("PROPRETE URBAINE DU SUD OUEST", cj="5710", naf="81.21Z")
    # listed by its SIREN only: the whole unit; and a unit whose only establishment is listed
    whole, whole_siege = mini.unit("REGIE DE QUARTIER DU CENTRE", cj="9220", naf="88.99B")
    single, single_siege = mini.unit("JARDINS SOLIDAIRES DU GAVE", cj="5499", naf="01.13Z")
    aci = _establishment(mini, epci, "0007", "CHANTIER INSERTION HAUT BEARN")
    esat = _establishment(mini, apf, "0007", "ESAT DE PAU")
    ei = _establishment(mini, sas, "0007", "PROPRETE INSERTION")
    day = "05/02/2024"
    purchases = [
        {"Fournisseur": "COMMUNAUTE DE COMMUNES DU HAUT BEARN", "SIRET": epci_siege, "Montant": "50000", "Date": day},
        {"Fournisseur": "CHANTIER INSERTION HAUT BEARN", "SIRET": aci, "Montant": "2000", "Date": day},
        {"Fournisseur": "APF FRANCE HANDICAP", "SIRET": apf_siege, "Montant": "4000", "Date": day},
        {"Fournisseur": "ESAT DE PAU", "SIRET": esat, "Montant": "1000", "Date": day},
        {"Fournisseur": "PROPRETE URBAINE DU SUD OUEST", "SIRET": sas_siege, "Montant": "30000", "Date": day},
        {"Fournisseur": "PROPRETE URBAINE DU SUD OUEST", "SIRET": ei, "Montant": "3000", "Date": day},
        # no SIRET: the unit has an establishment outside the list, so inclusive is only possible
        {"Fournisseur": "PROPRETE URBAINE DU SUD OUEST", "SIRET": sas, "Montant": "700", "Date": day},
        {"Fournisseur": "REGIE DE QUARTIER DU CENTRE", "SIRET": whole_siege, "Montant": "400", "Date": day},
        # no establishment given, but the unit has none outside the list: sure
        {"Fournisseur": "JARDINS SOLIDAIRES DU GAVE", "SIRET": single, "Montant": "80", "Date": day},
    ]
    data = mini.write(purchases, siae_marche_inclusion=[
        _siae(aci, "CHANTIER INSERTION HAUT BEARN", "ACI"), _siae(esat, "ESAT DE PAU", "ESAT"),
        _siae(ei, "PROPRETE INSERTION", "EI"), _siae(whole, "REGIE DE QUARTIER DU CENTRE", "EI"),
        _siae(single_siege, "JARDINS SOLIDAIRES DU GAVE", "ACI")])
    buyer = luhn_complete(luhn_complete("21640044") + "0001")
    marches = [{"id": f"M{i}", "acheteur": {"id": buyer}, "nature": "Marché", "objet": "Entretien",
                "codeCPV": "90910000-9", "dureeMois": 12, "dateNotification": "2024-03-01",
                "datePublicationDonnees": "2024-04-01", "montant": amount,
                "titulaires": [{"titulaire": {"id": siret, "typeIdentifiant": "SIRET"}}]}
               for i, (siret, amount) in enumerate(((epci_siege, 50000), (aci, 2000), (sas_siege, 30000), (ei, 3000)))]
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": marches}), encoding="utf-8")
    con = run_mini(data, tmp_path)
    # DECP: the titulaire's SIRET decides in the same way
    (decp,) = con.execute("SELECT inclusive_titulaire_amount_eur FROM contracts_summary WHERE period = 'ALL'").fetchone()
    assert decp == Decimal("5000.00")
    flags = {(r[0], r[1]): r[2:] for r in con.execute("""
        SELECT r.siren, p.amount_eur::INTEGER, c.is_inclusive_at_date, u.is_inclusive_possible_at_date
        FROM res_purchase_line_supplier AS r JOIN stg_purchase_lines AS p USING (line_id)
        JOIN cls_purchase_line_status AS c USING (line_id)
        JOIN cls_line_unit_status AS u ON u.line_id = r.line_id AND u.siren = r.siren""").fetchall()}
    assert flags[(epci, 50000)] == (False, False)  # the EPCI's siège is not its ACI
    assert flags[(epci, 2000)] == (True, False)
    assert flags[(apf, 4000)] == (False, False) and flags[(apf, 1000)] == (True, False)
    assert flags[(sas, 30000)] == (False, False) and flags[(sas, 3000)] == (True, False)
    assert flags[(sas, 700)] == (False, True)
    assert flags[(whole, 400)] == (True, False) and flags[(single, 80)] == (True, False)
    incl, either, ess = con.execute("SELECT inclusive_amount_eur, ess_or_inclusive_amount_eur, ess_amount_eur "
                                    "FROM objective8_summary WHERE period = 'ALL'").fetchone()
    # by hand: 2 000 + 1 000 + 3 000 + 400 + 80 listed establishments; ESS: APF 5 000, the régie 400
    # (association), the SCOP-less SARL-like 5499 is not ESS
    assert incl == Decimal("6480.00")
    assert ess == Decimal("5400.00")
    assert either == Decimal("2000.00") + Decimal("5000.00") + Decimal("3000.00") + Decimal("400.00") + Decimal("80.00")
    (by_year,) = con.execute("SELECT inclusive_amount_eur FROM objective8_by_year WHERE year = '2024'").fetchone()
    assert by_year == incl
    # the independent recount reads the lists again, with the same hand figure
    recount = objective8_expected(con)["ALL"]
    assert recount["inclusive_amount_eur"] == Decimal("6480.00")
    assert recount["ess_or_inclusive_amount_eur"] == Decimal("10480.00")
    # the sourcing list names the listed establishments only, not the EPCI's or the SAS's siège
    sourcing = {r[0]: r[1:] for r in con.execute(
        "SELECT DISTINCT siret, is_inclusive, inclusive_kind FROM ess_sourcing").fetchall()}
    assert epci_siege not in sourcing and sas_siege not in sourcing
    assert sourcing[aci] == (True, "ACI") and sourcing[ei] == (True, "EI") and sourcing[esat] == (True, "ESAT")
    assert sourcing[apf_siege] == (False, None)  # an association: ESS, but its siège is no ESAT
    con.close()
    warnings = [w for w in input_warnings(tmp_path / "wh" / "w.duckdb", data) if "SIAE / EA / ESAT" in w]
    assert len(warnings) == 1
    assert "1 ligne(s) rapprochée(s) (700 €)" in warnings[0] and "jusqu'à 7 180 €" in warnings[0]
    assert "purchases/achats.csv, ligne 8" in warnings[0]


def test_rejected_status_rows_are_named_in_the_warnings(mini, tmp_path):
    # the adv14b ESUS3 / ESUS4 cases: an impossible date, a SIREN without its check digit and an
    # agreement that ends before it starts are rejected, each with a warning naming file, row, field
    good, _ = mini.unit("RESTAURATION SOLIDAIRE", cj="5710")
    bad_date, _ = mini.unit("RECYCLERIE DU BEARN", cj="5710")
    backwards, _ = mini.unit("ATELIER A L ENVERS", cj="5710")
    purchases = [{"Fournisseur": n, "Montant": "1000", "Date": "15/06/2024"}
                 for n in ("RESTAURATION SOLIDAIRE", "RECYCLERIE DU BEARN", "ATELIER A L ENVERS")]
    data = mini.write(purchases, esus_liste_2025=[
        {"siren": good, "raison_sociale": "RESTAURATION SOLIDAIRE", "date_agrement": "2022-09-01",
         "date_fin_agrement": "2027-08-31"},
        {"siren": bad_date, "raison_sociale": "RECYCLERIE DU BEARN", "date_agrement": "31/02/2024",
         "date_fin_agrement": ""},
        {"siren": good[:8], "raison_sociale": "BIOCOOP SOLIDAIRE", "date_agrement": "2020-01-01",
         "date_fin_agrement": ""},
        {"siren": backwards, "raison_sociale": "ATELIER A L ENVERS", "date_agrement": "2022-09-01",
         "date_fin_agrement": "2017-08-31"},
        # other agreements, so that the rejected share stays under the blocking limit
        *({"siren": luhn_complete(f"{90000000 + i:08d}"), "raison_sociale": "AUTRE", "date_agrement": "2023-01-01",
           "date_fin_agrement": ""} for i in range(10))])
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT count(*) FROM src_esus WHERE siren = ?", [backwards]).fetchone() == (0,)
    (ess,) = con.execute("SELECT ess_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()
    assert ess == Decimal("1000.00")  # only the valid agreement counts
    con.close()
    warnings = [w for w in input_warnings(tmp_path / "wh" / "w.duckdb", data) if "liste de statuts" in w]
    assert len(warnings) == 3
    text = "\n".join(warnings)
    assert "status/esus_liste_2025.csv, ligne 3, champ « date_agrement » : date illisible « 31/02/2024 »" in text
    assert "status/esus_liste_2025.csv, ligne 4, champ « siren »" in text
    assert ("status/esus_liste_2025.csv, ligne 5, champ « date_fin_agrement » : fin d'agrément 31/08/2017 "
            "antérieure à son début (01/09/2022)") in text


def test_cooperatives_registered_under_a_company_form_are_ess(mini, tmp_path):
    # the adv14b SCIC case: a SCIC SAS (5710), a SCOP SARL coded 5499 and a CAE SAS are coopératives,
    # ESS by statute (loi n° 2014-856, art. 1); a name that merely contains « COOPERATIVE » or SCOP
    # inside a word is no proof
    units = {name: mini.unit(name, cj=cj) for name, cj in (
        ("SCIC ENERGIES CITOYENNES BEARN", "5710"), ("SCOP ARL MENUISERIE DU GAVE", "5499"),
        ("COOPERATIVE D ACTIVITES ET D EMPLOI BEARN", "5710"), ("ASSOCIATION SPORTIVE DE LESCAR", "9220"),
        ("MICROSCOPE SERVICES", "5710"), ("BAR LA COOPERATIVE", "5499"), ("S.C.O.P. BATIMENT DU GAVE", "5599"))}
    amounts = {"SCIC ENERGIES CITOYENNES BEARN": 1000, "SCOP ARL MENUISERIE DU GAVE": 2000,
               "COOPERATIVE D ACTIVITES ET D EMPLOI BEARN": 4000, "ASSOCIATION SPORTIVE DE LESCAR": 8000,
               "MICROSCOPE SERVICES": 500, "BAR LA COOPERATIVE": 300, "S.C.O.P. BATIMENT DU GAVE": 70}
    data = mini.write([{"Fournisseur": n, "SIRET": units[n][1], "Montant": str(a), "Date": "05/02/2024"}
                       for n, a in amounts.items()])
    con = run_mini(data, tmp_path)
    sup = {r[0]: r[1:] for r in con.execute("SELECT siren, is_ess, ess_family, ess_sources FROM suppliers").fetchall()}
    for name in ("SCIC ENERGIES CITOYENNES BEARN", "SCOP ARL MENUISERIE DU GAVE",
                 "COOPERATIVE D ACTIVITES ET D EMPLOI BEARN", "S.C.O.P. BATIMENT DU GAVE"):
        assert sup[units[name][0]] == (True, "cooperative", "cooperative_name"), name
    assert sup[units["MICROSCOPE SERVICES"][0]][0] is False
    assert sup[units["BAR LA COOPERATIVE"][0]][0] is False
    row = con.execute("SELECT total_amount_eur, ess_amount_eur, ess_amount_extreme_low_eur, "
                      "ess_amount_extreme_high_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()
    assert row == (Decimal("15870.00"), Decimal("15070.00"), Decimal("15070.00"), Decimal("15070.00"))
    basis = {r[0] for r in con.execute("SELECT ess_basis_at_line_date FROM purchase_lines_resolved WHERE ess_family = 'cooperative'")
             .fetchall()}
    assert basis == {f"Coopérative par son nom légal (SCOP, SCIC, société coopérative), sous la catégorie juridique {cj}"
                     for cj in ("5710", "5499", "5599")}
    con.close()
    # « COOPERATIVE » alone is no proof, but the line is named for a person to check
    warnings = [w for w in input_warnings(tmp_path / "wh" / "w.duckdb", data) if "COOPERATIVE" in w]
    assert len(warnings) == 1
    assert warnings[0].startswith("1 ligne(s) rapprochée(s) (300 €)") and "purchases/achats.csv, ligne 7)" in warnings[0]
    assert "BAR" not in warnings[0]
