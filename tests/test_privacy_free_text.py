"""Free text from the inputs (adversarial review round 3, case PV1): the justification of a
manual ESS decision (status/ess_manuel.csv), the slug of a marché de l'inclusion page and a
reviewer's note (overrides.csv) are written by people, from names. A non-diffusible unit's name
must not reach any view, table people read, the dashboard or an export (hyperlinks included),
while an ordinary justification, note and a diffusible unit's page link stay, and the figures do
not move."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import luhn_complete, run_mini, write_csv
from tests.test_privacy import UL, _leaks, _outputs
from tests.test_privacy_planted import _texts

ET = ["siren", "nic", "siret", "statutDiffusionEtablissement", "etablissementSiege", "etatAdministratifEtablissement",
      "codePostalEtablissement", "codeCommuneEtablissement", "enseigne1Etablissement",
      "activitePrincipaleEtablissement"]
# names that belong only to non-diffusible units or establishments
PLANTED = ["Tamarillo", "Wojciechowski", "Barnabé", "Gribouille"]
MARCHE = "https://lemarche.inclusion.beta.gouv.fr/prestataires/"


def _data(root: Path) -> tuple[Path, dict[str, str]]:
    units, etabs, siret = [], [], {}

    def unit(key: str, n: int, statut: str, cj: str, naf: str, **cols) -> None:
        siren = luhn_complete(f"{n:08d}")
        s = luhn_complete(siren + "0001")
        units.append({"siren": siren, "statutDiffusionUniteLegale": statut, "categorieJuridiqueUniteLegale": cj,
                      "activitePrincipaleUniteLegale": naf, "etatAdministratifUniteLegale": "A",
                      "nicSiegeUniteLegale": s[9:], **cols})
        etabs.append({"siren": siren, "nic": s[9:], "siret": s, "statutDiffusionEtablissement": statut,
                      "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
                      "codePostalEtablissement": "31000", "codeCommuneEtablissement": "31555",
                      "activitePrincipaleEtablissement": naf})
        siret[key] = s

    # the reviewer's two non-diffusible units: a SARL and its manager, a natural person
    unit("sarl", 812, "P", "5499", "81.21Z", denominationUniteLegale="TAMARILLO SECRET SARL")
    unit("person", 813, "P", "1000", "81.21Z", nomUniteLegale="WOJCIECHOWSKI", prenom1UniteLegale="BARNABE")
    # diffusible: an association whose justification names the manager, a SARL with an ordinary
    # justification and page, a non-ESS supplier
    unit("asso", 814, "O", "9220", "88.99B", denominationUniteLegale="ASSOCIATION LES JARDINIERS DU CANAL")
    unit("public", 815, "O", "5499", "81.21Z", denominationUniteLegale="NETTOYAGE SOLIDAIRE DU CANAL")
    unit("other", 816, "O", "5710", "43.22A", denominationUniteLegale="PLOMBERIE GENERALE DES COTEAUX")
    # a diffusible SIAE whose page is that of its non-diffusible secondary establishment
    unit("split", 817, "O", "5499", "81.21Z", denominationUniteLegale="SERVICES PROPRETE DU LAURAGAIS")
    second = luhn_complete(siret["split"][:9] + "0002")
    etabs.append({"siren": siret["split"][:9], "nic": second[9:], "siret": second, "statutDiffusionEtablissement": "P",
                  "etablissementSiege": "false", "etatAdministratifEtablissement": "A",
                  "codePostalEtablissement": "31000", "codeCommuneEtablissement": "31555",
                  "enseigne1Etablissement": "CHEZ GRIBOUILLE", "activitePrincipaleEtablissement": "81.21Z"})
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL, units)
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET, etabs)
    write_csv(root / "status" / "ess_manuel.csv", ["siren", "est_ess", "justification"], [
        {"siren": siret["sarl"][:9], "est_ess": "oui",
         "justification": "Vérifié avec le gérant de TAMARILLO SECRET SARL, M. Barnabé Wojciechowski"},
        {"siren": siret["asso"][:9], "est_ess": "oui", "justification": "Contact : Barnabé Wojciechowski, trésorier"},
        {"siren": siret["public"][:9], "est_ess": "oui",
         "justification": "Statuts vérifiés le 12/03/2024 (clause d'utilité sociale)"}], delimiter=";")
    write_csv(root / "status" / "siae_marche_inclusion.csv",
              ["siret", "name", "kind", "naf", "post_code", "department", "slug"], [
        {"siret": siret["sarl"], "name": "TAMARILLO SECRET SARL", "kind": "EI", "naf": "8121Z", "post_code": "31000",
         "department": "31", "slug": "tamarillo-secret-sarl-31"},
        {"siret": siret["person"], "name": "BARNABE WOJCIECHOWSKI", "kind": "ETTI", "naf": "8121Z",
         "post_code": "31000", "department": "31", "slug": "barnabe-wojciechowski-31"},
        {"siret": siret["public"], "name": "NETTOYAGE SOLIDAIRE DU CANAL", "kind": "EI", "naf": "8121Z",
         "post_code": "31000", "department": "31", "slug": "nettoyage-solidaire-du-canal-31"},
        {"siret": second, "name": "CHEZ GRIBOUILLE", "kind": "EI", "naf": "8121Z", "post_code": "31000",
         "department": "31", "slug": "chez-gribouille-31"}])

    def line(name: str, ident: str, amount: str) -> dict:
        return {"Fournisseur": name, "SIRET": ident, "Montant": amount, "Date": "15/03/2024",
                "Direction": "Direction des bâtiments", "Catégorie": "Entretien"}

    write_csv(root / "purchases" / "achats.csv", ["Fournisseur", "SIRET", "Montant", "Date", "Direction", "Catégorie"], [
        line("Tamarillo Secret", siret["sarl"], "500,00"),
        line("Les Jardiniers du Canal", siret["asso"], "300,00"),
        line("Nettoyage Solidaire du Canal", siret["public"], "1000,00"),
        line("Plomberie Generale des Coteaux", siret["other"], "2000,00")], delimiter=";")
    # review decisions: a note naming the non-diffusible person, and an ordinary note
    write_csv(root / "overrides.csv", ["supplier_name", "siret", "decision", "decided_by", "decided_at", "note"], [
        {"supplier_name": "Plomberie Generale des Coteaux", "siret": siret["other"], "decision": siret["other"][:9],
         "decided_by": "test", "decided_at": "2024-04-01", "note": "Confirmé par Barnabé Wojciechowski au téléphone"},
        {"supplier_name": "Nettoyage Solidaire du Canal", "siret": siret["public"], "decision": siret["public"][:9],
         "decided_by": "test", "decided_at": "2024-04-01", "note": "Confirmé par la trésorerie"}])
    return root, siret


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("free_text")
    data, siret = _data(root / "data")
    run_mini(data, root).close()
    return {"warehouse": root / "wh" / "w.duckdb", "data": data, "dash": root / "dash", "siret": siret}


def test_no_private_name_in_justifications_or_links(run, tmp_path):
    wh = run["warehouse"]
    with duckdb.connect(str(wh), read_only=True) as con:
        leaks = _leaks(_texts(con), PLANTED)
    outputs = _outputs(wh, run["data"], run["dash"], tmp_path)  # the sourcing export and hyperlinks included
    assert "export sourcing" in outputs and MARCHE + "nettoyage-solidaire-du-canal-31/" in outputs["export sourcing"]
    leaks += _leaks(outputs, PLANTED)
    assert not leaks, "\n".join(leaks)


def test_justifications_masked_by_rule_ordinary_one_kept(run):
    sirens = {k: v[:9] for k, v in run["siret"].items()}
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        evidence = dict(con.execute("SELECT siren, evidence FROM suppliers").fetchall())
        sourcing = dict(con.execute("SELECT DISTINCT siren, evidence FROM ess_sourcing").fetchall())
    # about a non-diffusible unit: never shown, whatever it says
    assert evidence[sirens["sarl"]].startswith(
        f"Décision manuelle : ESS (justification masquée : unité non diffusible (SIREN {sirens['sarl']}))")
    # about a diffusible unit, naming a non-diffusible person (first name and surname)
    assert evidence[sirens["asso"]].endswith(
        f"Décision manuelle : ESS (justification masquée : unité non diffusible (SIREN {sirens['person']}))")
    # an ordinary justification stays readable, in the sourcing table too
    kept = "Décision manuelle : ESS (Statuts vérifiés le 12/03/2024 (clause d'utilité sociale))"
    assert kept in evidence[sirens["public"]] and kept in sourcing[sirens["public"]]
    assert sourcing[sirens["sarl"]] == evidence[sirens["sarl"]]


def test_no_marche_inclusion_link_for_a_private_unit_or_establishment(run):
    sirens = {k: v[:9] for k, v in run["siret"].items()}
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        urls = dict(con.execute("""SELECT siren, string_agg(DISTINCT coalesce(marche_inclusion_url, '-'), ' ')
                                   FROM ess_sourcing GROUP BY siren""").fetchall())
    assert urls[sirens["sarl"]] == urls[sirens["person"]] == urls[sirens["split"]] == "-"
    assert urls[sirens["public"]] == MARCHE + "nettoyage-solidaire-du-canal-31/"


def test_masking_moves_no_figure(run):
    """500 (SARL, manual) + 300 (association) + 1 000 (manual) are ESS; 2 000 € are not."""
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        total, ess = con.execute("""SELECT total_amount_eur, ess_amount_eur FROM objective8_summary
                                    WHERE period = 'ALL'""").fetchone()
    assert (float(total), float(ess)) == (3800.0, 1800.0)


def test_reviewer_note_naming_a_private_unit_is_masked_in_the_reason(run):
    sirens = {k: v[:9] for k, v in run["siret"].items()}
    with duckdb.connect(str(run["warehouse"]), read_only=True) as con:
        reasons = dict(con.execute("SELECT DISTINCT siren, match_reason FROM purchase_lines_resolved").fetchall())
    assert reasons[sirens["other"]] == (f"Décision manuelle (test le 2024-04-01) : note masquée : unité non diffusible "
                                        f"(SIREN {sirens['person']})")
    assert reasons[sirens["public"]] == "Décision manuelle (test le 2024-04-01) : Confirmé par la trésorerie"
