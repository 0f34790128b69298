"""Adversarial review 14b, defect 9 (case PRIV2): the full name of a non-diffusible unit that has
no line or contract of its own in the run, written inside a DECP objet, is masked in the
`contract_renewals` view and the dashboard (and its rare words in the lines' free texts)."""

from __future__ import annotations

import json

from tests.conftest import run_mini

BUYER = "216445445"


def _contract(uid: str, objet: str, siret: str, amount: int) -> dict:
    return {"id": uid, "acheteur": {"id": f"{BUYER}00002"}, "nature": "Marché", "objet": objet,
            "codeCPV": "77310000-6", "procedure": "Procédure adaptée", "dureeMois": 12,
            "dateNotification": "2024-03-01", "datePublicationDonnees": "2024-03-10", "montant": amount,
            "formePrix": "Ferme", "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}}]}


def test_priv2_names_of_uninvolved_private_units_in_decp_objets_are_masked(mini, tmp_path):
    prunellier, _ = mini.unit("ASSOCIATION PRUNELLIER", cj="9220", naf="81.21Z", commune="64445",
                              statutDiffusionUniteLegale="P")
    groseillier, _ = mini.unit("GROSEILLIER SERVICES", cj="5499", naf="81.21Z", commune="64445",
                               statutDiffusionUniteLegale="P")
    _, visible_siret = mini.unit("ASSOCIATION PUBLIQUE VISIBLE", cj="9220", naf="81.21Z", commune="64445")
    _, open_siret = mini.unit("SOCIETE OUVERTE", cj="5499", naf="81.21Z", commune="64445")
    mini.unit("MIRABELLIER NETTOYAGE", cj="5499", naf="81.21Z", commune="64445")  # diffusible
    data = mini.write(
        [{"Fournisseur": "ASSOCIATION PUBLIQUE VISIBLE", "SIRET": visible_siret, "Montant": "1000,00",
          "Date": "05/02/2024", "Service": "Service animation", "Catégorie": "GROSEILLIER"},
         {"Fournisseur": "SOCIETE OUVERTE", "SIRET": open_siret, "Montant": "500,00", "Date": "05/02/2024",
          "Service": "Direction PRUNELLIER", "Catégorie": "x"}],
        header=["Fournisseur", "SIRET", "Montant", "Date", "Service", "Catégorie"])
    (data / "achats.toml").write_text(f'[acheteur]\nsiren = "{BUYER}"\ndepartement = "64"\n', encoding="utf-8")
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": {"marche": [
        _contract("Q2", "Lot 2 - reprise du marché de GROSEILLIER SERVICES", visible_siret, 6000),
        _contract("Q3", "Nettoyage (anciennement ASSOCIATION PRUNELLIER)", open_siret, 7000),
        _contract("Q4", "Reprise du marché de MIRABELLIER NETTOYAGE", open_siret, 8000),
    ]}}), encoding="utf-8")
    con = run_mini(data, tmp_path)
    objets = dict(con.execute("SELECT right(contract_uid, 2), object FROM contract_renewals").fetchall())
    assert objets["Q2"] == f"unité non diffusible (SIREN {groseillier})"
    assert objets["Q3"] == f"unité non diffusible (SIREN {prunellier})"
    assert objets["Q4"] == "Reprise du marché de MIRABELLIER NETTOYAGE"  # a diffusible unit stays
    shown = " | ".join(v or "" for r in con.execute(
        "SELECT supplier_name, category, buying_entity FROM purchase_lines").fetchall() for v in r)
    html = (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8")
    for word in ("PRUNELLIER", "GROSEILLIER"):
        assert word not in shown and word not in html.upper(), word
    assert "ASSOCIATION PUBLIQUE VISIBLE" in shown and "MIRABELLIER NETTOYAGE" in html
