"""Adversarial review #12, defects 5 and 9 (privacy). A DECP objet naming a non-diffusible unit
that became titulaire only through a modification (a cession, an « avenant de transfert ») is
masked like one naming a titulaire at notification (case DCC); a name typed in the SIRET or
mandate-number column of a payment export is masked in purchase_lines like any free text (cases
PV6, and PV5 where the unit is no supplier of the run: rule 3 on the SIRET cell). Every view,
table and output is scanned; the figures do not move."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest

from tests.conftest import run_mini
from tests.test_privacy import _leaks, _outputs
from tests.test_privacy_planted import _texts

SECRET = ["TAMARILLO"]


def _marche(buyer: str, cid: str, objet: str, siret: str, mods: list) -> dict:
    return {"id": cid, "acheteur": {"id": buyer}, "nature": "Marché", "objet": objet, "codeCPV": "77310000-6",
            "dureeMois": 48, "dateNotification": "2023-03-01", "datePublicationDonnees": "2023-03-10",
            "montant": 20000, "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}}],
            "modifications": mods}


def _cession(siret: str, name: str, date: str, why: str) -> dict:
    return {"modification": {"objetModification": why, "dateNotificationModification": date,
                             "datePublicationDonneesModification": date[:8] + "10",
                             "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret,
                                                           "denominationSociale": name}}]}}


def test_dcc_objet_naming_a_holder_by_cession_is_masked(mini, tmp_path):
    buyer = mini.unit("DEPARTEMENT TEST", cj="7220", naf="84.11Z", n=1)
    company = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710", naf="81.21Z", n=3)
    ess = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220", naf="81.21Z", n=2)
    private = mini.unit("TAMARILLO SECRET SARL", cj="5499", naf="81.21Z", n=4, statutDiffusionUniteLegale="P")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": company[1], "Montant": "1000,00",
                        "Date": "2024-02-05"}])
    (data / "achats.toml").write_text(f'[acheteur]\nsiren = "{buyer[0]}"\n', encoding="utf-8")
    contracts = [
        # held by the unit between two cessions only: its name stays in the objet
        _marche(buyer[1], "2023C1", "Entretien - sous-traitance TAMARILLO", company[1],
                [_cession(private[1], "TAMARILLO SECRET SARL", "2024-05-01", "Cession du marché à TAMARILLO SECRET"),
                 _cession(ess[1], "ASSOCIATION QUINOA SOLIDAIRE", "2025-02-01", "Cession")]),
        _marche(buyer[1], "2023C2", "Nettoyage", company[1],
                [_cession(private[1], "TAMARILLO SECRET SARL", "2024-05-01", "Avenant de transfert")]),
        # counter-example: a diffusible unit brought by a cession is named in clear
        _marche(buyer[1], "2023C3", "Nettoyage - sous-traitance QUINOA", company[1],
                [_cession(ess[1], "ASSOCIATION QUINOA SOLIDAIRE", "2024-05-01", "Cession")]),
    ]
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": {"marche": contracts}}), encoding="utf-8")
    run_mini(data, tmp_path).close()
    wh = tmp_path / "wh" / "w.duckdb"
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = {r[0][-2:]: r[1:] for r in con.execute(
            "SELECT contract_uid, object, titulaires FROM contract_renewals").fetchall()}
        mart = {r[0][-2:]: r[1] for r in con.execute("SELECT contract_uid, object FROM mart_contract_renewals"
                                                      ).fetchall()}
        summary = con.execute("SELECT contract_count, notified_amount_eur FROM contracts_summary "
                              "WHERE period = 'ALL'").fetchone()
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        leaks = _leaks(_texts(con), SECRET)
    label = f"unité non diffusible (SIREN {private[0]})"
    assert rows["C1"] == (label, "ASSOCIATION QUINOA SOLIDAIRE")
    assert rows["C2"] == ("Nettoyage", label)
    assert rows["C3"] == ("Nettoyage - sous-traitance QUINOA", "ASSOCIATION QUINOA SOLIDAIRE")
    assert mart["C1"] == label
    # masking moves no figure: 3 contracts of 20 000 €, one payment of 1 000 €
    assert summary == (3, Decimal("60000.00")) and total == Decimal("1000.00")
    leaks += _leaks(_outputs(wh, data, tmp_path / "dash", tmp_path), SECRET)
    assert not leaks, "\n".join(leaks)


HEADER = ["Exercice", "N° mandat", "Date mandat", "Fournisseur", "SIRET", "Objet", "Montant TTC"]


@pytest.mark.parametrize("supplier", [True, False], ids=["PV6 unit is a supplier", "PV5 unit is no supplier"])
def test_pv6_name_typed_in_siret_or_mandate_column_is_masked(mini, tmp_path, supplier):
    company = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710", naf="43.12A", n=3)
    private = mini.unit("TAMARILLO SECRET SARL", cj="5499", naf="43.12A", n=4, statutDiffusionUniteLegale="P")

    def line(n: str, siret: str, amount: str, name: str = "ZORGLUB TRAVAUX PUBLICS") -> dict:
        return {"Exercice": "2024", "N° mandat": n, "Date mandat": "05/02/2024", "Fournisseur": name,
                "SIRET": siret, "Objet": "Travaux", "Montant TTC": amount}

    lines = [line("1", company[1], "1 000,00"),
             line("2", "TAMARILLO SECRET", "1 100,00"),  # the unit's name less its legal form (rule 3)
             line("TAMARILLO", company[1], "1 200,00"),  # a rare word of its name (rule 8)
             # counter-examples: identifiers holding letters that name nobody stay as typed
             line("M-2024-17", company[1], "1 300,00"),
             line("4", "ZORGLUB TP", "1 400,00")]
    lines += [line(str(10 + i), company[1], "100,00") for i in range(5)]
    if supplier:
        lines.append(line("20", private[1], "500,00", name="TAMARILLO SECRET SARL"))
    data = mini.write(lines, header=HEADER)
    run_mini(data, tmp_path).close()
    wh = tmp_path / "wh" / "w.duckdb"
    label = f"unité non diffusible (SIREN {private[0]})"
    with duckdb.connect(str(wh), read_only=True) as con:
        shown = {r[0]: r[1:] for r in con.execute(
            "SELECT source_line, siret_raw, mandate_number, status FROM purchase_lines").fetchall()}
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        review_ids = {r[0] for r in con.execute("SELECT siret_raw FROM res_supplier_match").fetchall()}
        leaks = _leaks(_texts(con), SECRET)
    assert shown[3][0] == label and shown[4][1] == label
    assert shown[5][1] == "M-2024-17" and shown[6][0] == "ZORGLUB TP"
    assert shown[2][:2] == (company[1], "1")
    assert "TAMARILLO SECRET" not in review_ids
    # every line counts as before: 1 000 + 1 100 + 1 200 + 1 300 + 1 400 + 5 × 100 (+ 500)
    assert {s[2] for s in shown.values()} == {"ok"}
    assert total == Decimal("7000.00") if supplier else total == Decimal("6500.00")
    leaks += _leaks(_outputs(wh, data, tmp_path / "dash", tmp_path), SECRET)
    assert not leaks, "\n".join(leaks)


def test_period_note_of_a_file_named_after_the_unit_is_masked(mini, tmp_path):
    """An undated file's note (« ni colonne de date ni colonne Exercice ») quotes its path: in
    source_file_reconciliation and on the dashboard the path is the masked one (rule 7)."""
    company = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710", naf="43.12A", n=3)
    private = mini.unit("TAMARILLO SECRET SARL", cj="5499", naf="43.12A", n=4, statutDiffusionUniteLegale="P")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": company[1], "Montant": "1000,00",
                        "Date": "2024-02-05"}])
    folder = data / "purchases" / "TAMARILLO"
    folder.mkdir()
    (folder / "paiements.csv").write_text("Fournisseur;SIRET;Montant TTC\nZORGLUB TRAVAUX PUBLICS;"
                                          f"{company[1]};1 000,00\nTAMARILLO SECRET SARL;{private[1]};500,00\n",
                                          encoding="utf-8")
    run_mini(data, tmp_path).close()
    wh = tmp_path / "wh" / "w.duckdb"
    with duckdb.connect(str(wh), read_only=True) as con:
        notes = [r[0] for r in con.execute("SELECT period_note FROM source_file_reconciliation "
                                           "WHERE period_note IS NOT NULL").fetchall()]
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        leaks = _leaks(_texts(con), SECRET)
    assert len(notes) == 1 and notes[0].startswith("purchases/fichier masqué ") and "sans date" in notes[0]
    assert total == Decimal("2500.00")
    leaks += _leaks(_outputs(wh, data, tmp_path / "dash", tmp_path), SECRET)
    assert not leaks, "\n".join(leaks)
