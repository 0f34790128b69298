"""adv16 #9 (cases NPPRIV, RECPRIV3, SHPRIV): when two non-diffusible units carry the same name, a
masked label cites the unit its row, file or sheet is linked to, else the only unit named, else no
SIREN; never the namesake with the smaller SIREN. No name leaks either way."""

from __future__ import annotations

import json
import re

import duckdb
import openpyxl

from tests.conftest import MiniData, run_mini

TOML = '[acheteur]\ndepartement = "64"\n[controles]\nmax_quarantined_share = 0.9\nmax_unmatched_share = 1.0\n'
PRIVATE = dict(cj="1000", naf="81.21Z", statutDiffusionUniteLegale="P",
               nomUniteLegale="WOJCIECHOWSKI", prenom1UniteLegale="BARNABE")


def _units(mini: MiniData) -> tuple[str, str, str]:
    """A namesake in Toulouse first (the smaller SIREN), then the person in Pau (the buyer's département)."""
    namesake, _ = mini.unit("", commune="31555", **PRIVATE)
    person, person_siret = mini.unit("", commune="64445", **PRIVATE)
    mini.unit("ASSOCIATION LES GRILLONS", cj="9220", naf="88.99B", commune="64445")
    mini.unit("TRANSPORTS PYRENEENS", commune="64445")
    assert namesake < person
    return namesake, person, person_siret


def _write(mini: MiniData, files: dict[str, str]) -> None:
    mini.write([])
    (mini.root / "purchases" / "achats.csv").unlink()
    for name, text in files.items():
        (mini.root / "purchases" / name).write_text(text, encoding="utf-8")
    (mini.root / "achats.toml").write_text(TOML, encoding="utf-8")


def _no_name(con: duckdb.DuckDBPyConnection, tmp_path) -> None:
    for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
        text = " ".join(str(v) for row in con.execute(f'SELECT * FROM "{view}"').fetchall() for v in row)
        assert not re.search("WOJCIECHOWSKI|BARNAB", text, re.IGNORECASE), view
    for path in (tmp_path / "dash").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".csv", ".json", ".txt"}:
            assert not re.search("WOJCIECHOWSKI|BARNAB", path.read_text(encoding="utf-8", errors="replace"),
                                 re.IGNORECASE), path


def test_recap_and_not_paid_rows_cite_the_unit_of_their_file_or_none(mini, tmp_path):
    namesake, person, _ = _units(mini)
    recap = (
        "Exercice;Code tiers;N° mandat;Date mandat;Fournisseur;Montant TTC\n"
        "2024;T01;1;05/02/2024;WOJCIECHOWSKI BARNABE;500,00\n"
        "2024;T01;2;05/03/2024;WOJCIECHOWSKI BARNABE;700,00\n"
        "2024;T02;3;05/04/2024;ASSOCIATION LES GRILLONS;900,00\n"
        ";;;;;\n"
        "RÉCAPITULATIF PAR FOURNISSEUR;;;;;\n"
        "Exercice;Code tiers;Nombre de mandats;;Fournisseur;Montant total\n"
        "2024;T01;2;;WOJCIECHOWSKI BARNABE;1300,00\n"
        "2024;T02;1;;ASSOCIATION LES GRILLONS;900,00\n"
    )
    # no line of this file is the person's: the cancelled row names both namesakes, and cites neither
    not_paid = (
        "Exercice;N° mandat;Date mandat;Fournisseur;Montant TTC\n"
        "2024;1;05/02/2024;ASSOCIATION LES GRILLONS;1000,00\n"
        "2024;2;05/03/2024;TRANSPORTS PYRENEENS;4000,00\n"
        ";;;;\n"
        "MANDATS ANNULÉS (non payés);;;;\n"
        "Exercice;N° mandat annulé;Date annulation;Fournisseur;Montant annulé\n"
        "2024;7;20/03/2024;WOJCIECHOWSKI BARNABE;2500,00\n"
    )
    _write(mini, {"mandats.csv": recap, "annules.csv": not_paid})
    con = run_mini(mini.root, tmp_path)
    rows = dict(con.execute("SELECT source_file || ':' || source_line, supplier_name FROM purchase_lines "
                            "WHERE supplier_name LIKE 'unité non diffusible%'").fetchall())
    # the payments are the person's (the buyer's département), and so is the recap row below them
    assert rows["purchases/mandats.csv:2"] == rows["purchases/mandats.csv:3"] == f"unité non diffusible (SIREN {person})"
    assert rows["purchases/mandats.csv:8"] == f"unité non diffusible (SIREN {person})"
    assert rows["purchases/annules.csv:7"] == "unité non diffusible"
    assert namesake not in " ".join(rows.values())
    kinds = dict(con.execute("SELECT source_file || ':' || source_line, row_kind FROM purchase_lines").fetchall())
    assert kinds["purchases/annules.csv:7"] == "not_paid"
    # the figures: the payments only (1 200 € of the person, 900 € + 1 000 € + 4 000 € of the others)
    (total,) = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()
    assert total == 7100
    _no_name(con, tmp_path)
    con.close()


def test_masked_file_and_sheet_names_cite_the_unit_of_their_lines(mini, tmp_path):
    namesake, person, person_siret = _units(mini)
    _write(mini, {"factures_wojciechowski_2024.csv":
                  "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
                  f"2024;7;05/05/2024;WOJCIECHOWSKI BARNABE;{person_siret};300,00\n"})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats"
    ws.append(["Exercice", "N° mandat", "Date mandat", "Fournisseur", "Montant TTC"])
    ws.append([2024, 1, "05/02/2024", "ASSOCIATION LES GRILLONS", 1000])
    notes = wb.create_sheet("Wojciechowski B.")
    notes.append(["Notes"])
    notes.append(["relance pour facture"])
    tiers = wb.create_sheet("Tiers WOJCIECHOWSKI")
    tiers.append(["Fournisseur", "SIRET", "Montant TTC"])
    tiers.append(["WOJCIECHOWSKI BARNABE", person_siret, 300])
    wb.save(mini.root / "purchases" / "mandats_2024.xlsx")
    con = run_mini(mini.root, tmp_path)
    files = {f for (f,) in con.execute("SELECT DISTINCT source_file FROM purchase_lines").fetchall()}
    masked_files = [f for f in files if "fichier masqué" in f]
    assert len(masked_files) == 1 and f"(unité non diffusible (SIREN {person})).csv" in masked_files[0]
    sheets = {s for (s,) in con.execute("SELECT masked_sheet FROM res_sheet_mask").fetchall()}
    # the sheet of the person's line cites the person; the notes sheet, with no line, names both and cites none
    assert sum(f"(unité non diffusible (SIREN {person}))" in s for s in sheets) == 1, sheets
    assert sum(s.endswith("(unité non diffusible)") for s in sheets) == 1, sheets
    shown = " ".join(str(v) for row in con.execute("SELECT * FROM purchase_lines").fetchall() for v in row)
    shown += " ".join(str(v) for row in con.execute("SELECT * FROM input_files").fetchall() for v in row)
    assert namesake not in shown
    (total,) = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()
    assert total == 1600
    _no_name(con, tmp_path)
    con.close()


def test_contract_object_cites_its_titulaire_among_namesakes(mini, tmp_path):
    namesake, person, person_siret = _units(mini)
    buyer, buyer_siret = mini.unit("COMMUNE TEST", cj="7210", naf="84.11Z", commune="64445")
    company, company_siret = mini.unit("ZORGLUB PAYSAGE", commune="64445")
    mini.write([{"Fournisseur": "ZORGLUB PAYSAGE", "SIRET": company_siret, "Montant": "1000,00",
                 "Date": "2024-02-05"}])
    (mini.root / "achats.toml").write_text(f'[acheteur]\nsiren = "{buyer}"\ndepartement = "64"\n', encoding="utf-8")

    def marche(cid: str, siret: str, objet: str) -> dict:
        return {"id": cid, "acheteur": {"id": buyer_siret}, "nature": "Marché", "objet": objet,
                "codeCPV": "77310000-6", "dureeMois": 12, "dateNotification": "2024-03-01",
                "datePublicationDonnees": "2024-03-10", "montant": 5000,
                "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}}]}

    contracts = [marche("M1", person_siret, "Taille des haies par Barnabé Wojciechowski"),
                 # another titulaire: the object names both namesakes and neither is the contract's
                 marche("M2", company_siret, "Reprise du chantier de Barnabé Wojciechowski")]
    (mini.root / "contracts").mkdir()
    (mini.root / "contracts" / "decp.json").write_text(json.dumps({"marches": {"marche": contracts}}),
                                                        encoding="utf-8")
    con = run_mini(mini.root, tmp_path)
    rows = {uid[-2:]: obj for uid, obj in con.execute("SELECT contract_uid, object FROM contract_renewals").fetchall()}
    assert rows["M1"] == f"unité non diffusible (SIREN {person})"
    assert rows["M2"] == "unité non diffusible"
    _no_name(con, tmp_path)
    con.close()


def test_a_line_decided_for_the_other_namesake_cites_the_decided_unit(mini, tmp_path):
    namesake, person, _ = _units(mini)
    # no identifier and a buyer of the 31: the automatic resolution picks the namesake of Toulouse;
    # the reviewer decides for the person of Pau, to whom the line's figures then go
    _write(mini, {"mandats.csv": "Exercice;N° mandat;Date mandat;Fournisseur;Catégorie;Montant TTC\n"
                                 "2024;1;05/02/2024;WOJCIECHOWSKI BARNABE;jardinage Wojciechowski;500,00\n"
                                 "2024;2;05/03/2024;ASSOCIATION LES GRILLONS;animation;900,00\n"})
    (mini.root / "achats.toml").write_text(TOML.replace('"64"', '"31"'), encoding="utf-8")
    (mini.root / "overrides.csv").write_text(f"supplier_name,siret,decision\nWOJCIECHOWSKI BARNABE,,{person}\n",
                                             encoding="utf-8")
    con = run_mini(mini.root, tmp_path)
    siren, shown, category = con.execute(
        "SELECT r.siren, p.supplier_name, p.category FROM purchase_lines AS p "
        "JOIN purchase_lines_resolved AS r USING (line_id) WHERE p.source_line = 2").fetchone()
    assert siren == person
    assert shown == f"unité non diffusible (SIREN {person})"
    assert category == f"unité non diffusible (SIREN {person})"
    (undecided,) = con.execute("SELECT undecided_siren FROM res_supplier_match WHERE siren = ?", [person]).fetchone()
    assert undecided == namesake  # the case: the line is linked to both namesakes
    _no_name(con, tmp_path)
    con.close()
