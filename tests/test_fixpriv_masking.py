"""Adversarial review 11, defect 8 (cases PV3, PV4): a distinctive word of a non-diffusible
company's name (« Tamarillo » of TAMARILLO SECRET SARL) in a free text — a state cell the reason
quotes, a category — is masked on every line (rule 8 of res_line_mask), while ordinary words that
happen to be in a non-diffusible unit's name (an activity, a place, a word many SIRENE names
carry) stay readable, and no figure moves."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.conftest import run_mini

HEADER = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Nature;Etat;Montant TTC\n"


def test_distinctive_word_of_a_private_company_is_masked(mini, tmp_path):
    _, wojc = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                        prenom1UniteLegale="BARNABE")
    tam_siren, tam = mini.unit("TAMARILLO SECRET SARL", cj="5499", statutDiffusionUniteLegale="P")
    mini.unit("BOULANGERIE DU MOULIN SARL", cj="5499", naf="10.71C", statutDiffusionUniteLegale="P")
    _, zorg = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    for i in range(101):  # SECRET is a common word of the register: it names no one on its own
        mini.unit(f"LE SECRET DU JARDIN {i}", n=500 + i)
    data = mini.write([])
    rows = [
        ("WOJCIECHOWSKI BARNABE", wojc, "Honoraires", "Payé", "1 000,00"),
        ("WOJCIECHOWSKI BARNABE", wojc, "Honoraires", "Rejeté : RIB Wojciechowski erroné", "2 000,00"),
        ("TAMARILLO SECRET SARL", tam, "Fournitures", "Annulé (doublon Tamarillo)", "3 000,00"),
        ("TAMARILLO SECRET SARL", tam, "Fournitures", "Annulé (doublon Secret)", "3 500,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Fournitures Tamarillo", "Payé", "4 000,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Travaux", "Annulé - voir TAMARILLO", "4 100,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Travaux", "Annulé - voir Secret", "4 200,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Boulangerie", "Payé", "500,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Travaux", "Annulé - pain de la boulangerie", "4 300,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Travaux", "Payé", "100,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Travaux", "Payé", "200,00"),
        ("ZORGLUB TRAVAUX PUBLICS", zorg, "Travaux", "Payé", "300,00"),
    ]
    (data / "achats.toml").write_text('[acheteur]\nsiren = "223100017"\n', encoding="utf-8")
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": [
        {"id": "2024-T1", "acheteur": {"id": "22310001700013"}, "nature": "Marché", "codeCPV": "45233141",
         "objet": "Travaux de voirie (reprise du lot Tamarillo)", "dateNotification": "2024-03-01", "montant": 9000,
         "dureeMois": 12, "titulaires": [{"typeIdentifiant": "SIRET", "id": zorg}]},
        {"id": "2024-T2", "acheteur": {"id": "22310001700013"}, "nature": "Marché", "codeCPV": "45233141",
         "objet": "Travaux de voirie (secret de fabrication)", "dateNotification": "2024-03-01", "montant": 8000,
         "dureeMois": 12, "titulaires": [{"typeIdentifiant": "SIRET", "id": zorg}]}]}), encoding="utf-8")
    (data / "purchases" / "achats.csv").write_text(HEADER + "".join(
        f"2024;{i};{5 + i:02d}/02/2024;{n};{s};{c};{e};{a}\n" for i, (n, s, c, e, a) in enumerate(rows, 1)),
        encoding="utf-8")
    con = run_mini(data, tmp_path)
    total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
    assert total == Decimal("6100.00")  # 1 000 + 4 000 + 500 + 100 + 200 + 300: the paid lines only
    shown = {ln: (cat, reason) for ln, cat, reason in con.execute(
        "SELECT source_line, category, quarantine_reason FROM purchase_lines").fetchall()}
    label = f"« unité non diffusible (SIREN {tam_siren}) »"
    assert label in shown[4][1] and label in shown[7][1]  # its own line, and another supplier's
    assert label in shown[5][1]  # its own line: even a common word of its name names it there
    assert shown[6][0] == f"unité non diffusible (SIREN {tam_siren})"
    assert "« Annulé - voir Secret »" in shown[8][1]  # a common word, on another supplier's line
    assert shown[9][0] == "Boulangerie" and "« Annulé - pain de la boulangerie »" in shown[10][1]
    texts = " ".join(str(v) for row in con.execute(
        "SELECT supplier_name, category, quarantine_reason, source_file FROM purchase_lines").fetchall() for v in row)
    assert "TAMARILLO" not in texts.upper() and "WOJCIECH" not in texts.upper()
    objects = dict(con.execute("SELECT contract_uid, object FROM contract_renewals").fetchall())
    assert sorted(objects.values()) == ["Travaux de voirie (secret de fabrication)",
                                        f"unité non diffusible (SIREN {tam_siren})"]
    html = (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8").upper()
    assert "TAMARILLO" not in html and "WOJCIECH" not in html
