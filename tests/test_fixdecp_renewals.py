"""Adversarial review #11, defect 11c (DECP, case DC5): a modification that changes the titulaire
(ZORGLUB → QUINOA) shows in contract_renewals, which names the titulaires of today; the ESS
amount of contracts_summary stays judged on the titulaire at notification. A non-diffusible unit
brought by a modification is never named."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.conftest import run_mini


def _marche(buyer: str, cid: str, siret: str, amount: int, mods: list | None = None) -> dict:
    return {"id": cid, "acheteur": {"id": buyer}, "nature": "Marché", "objet": f"Transport {cid}",
            "codeCPV": "60100000-9", "dureeMois": 12, "dateNotification": "2024-03-01",
            "datePublicationDonnees": "2024-03-10", "montant": amount,
            "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}}], "modifications": mods or []}


def _cession(siret: str, amount: int | None = None) -> list:
    m = {"id": 1, "dateNotificationModification": "2024-06-01", "datePublicationDonneesModification": "2024-06-05",
         "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}}]}
    return [{"modification": m if amount is None else dict(m, montant=str(amount))}]


def test_dc5_renewals_name_the_titulaire_a_modification_brought(mini, tmp_path):
    buyer = mini.unit("DEPARTEMENT TEST", cj="7220", naf="84.11Z", commune="31555", n=1)
    ess = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220", naf="49.39A", commune="31555", n=2)
    company = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710", naf="49.39A", commune="31555", n=3)
    private = mini.unit("MADAME SECRETE", cj="9220", naf="49.39A", commune="31555", n=4,
                        statutDiffusionUniteLegale="P")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": company[1], "Montant": "1000,00",
                        "Date": "2024-02-05"}])
    (data / "achats.toml").write_text(f'[acheteur]\nsiren = "{buyer[0]}"\n', encoding="utf-8")
    contracts = [_marche(buyer[1], "M2", company[1], 12000, _cession(ess[1], 15000)),  # DC5's M2
                 _marche(buyer[1], "M3", company[1], 5000, _cession(private[1])),
                 _marche(buyer[1], "M4", company[1], 7000)]
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": {"marche": contracts}}), encoding="utf-8")
    con = run_mini(data, tmp_path)
    rows = {r[0][-2:]: r[1:] for r in con.execute(
        "SELECT contract_uid, titulaires, titulaire_sirens, has_ess_titulaire, amount_last_eur "
        "FROM contract_renewals").fetchall()}
    assert rows["M2"] == ("ASSOCIATION QUINOA SOLIDAIRE", ess[0], True, Decimal("15000.00"))
    assert rows["M3"] == (f"unité non diffusible (SIREN {private[0]})", private[0], True, Decimal("5000.00"))
    assert rows["M4"] == ("ZORGLUB TRAVAUX PUBLICS", company[0], False, Decimal("7000.00"))
    assert "SECRETE" not in json.dumps(con.execute("SELECT * FROM contract_renewals").fetchall(), default=str)
    # notified to ZORGLUB: no euro to ESS titulaires at notification
    s = con.execute("SELECT contract_count, notified_amount_eur, ess_titulaire_amount_eur FROM contracts_summary "
                    "WHERE period = 'ALL'").fetchone()
    assert s == (3, Decimal("24000.00"), Decimal("0.00"))
    con.close()
