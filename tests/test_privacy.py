"""Names of non-diffusible SIRENE units appear in no view, no derived table and no output file,
free text included, while their lines still count in every figure."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import zipfile
from pathlib import Path

import duckdb
import pytest

from achats.pipelines.cli import main
from tests.conftest import luhn_complete, run_mini, write_csv

UL = ["siren", "statutDiffusionUniteLegale", "denominationUniteLegale", "sigleUniteLegale", "nomUniteLegale",
      "nomUsageUniteLegale", "prenom1UniteLegale", "prenomUsuelUniteLegale", "denominationUsuelle1UniteLegale",
      "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale", "etatAdministratifUniteLegale",
      "nicSiegeUniteLegale", "economieSocialeSolidaireUniteLegale"]
ET = ["siren", "nic", "siret", "statutDiffusionEtablissement", "etablissementSiege", "etatAdministratifEtablissement",
      "codePostalEtablissement", "codeCommuneEtablissement", "enseigne1Etablissement",
      "denominationUsuelleEtablissement", "activitePrincipaleEtablissement"]

# every name below belongs only to a non-diffusible unit or establishment
PRIVATE = ["Zébulonnière", "Quetzalcoatlès", "Philomène", "Brindezingue", "Ornithorynque", "AOVX",
           "Nénuphars Hirsutes", "Sablier Cramoisi", "Krakatoa Nord", "Mirabelle Pétaouchnok", "Gribouillette",
           "Vermicelline Escarboucle"]


def fold(text: str) -> str:
    """Case- and accent-insensitive form, as a reader would search."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


def _units() -> tuple[list[dict], list[dict], dict[str, str]]:
    units, etabs, sirens = [], [], {}

    def unit(key: str, n: int, statut: str = "O", cj: str = "5710", commune: str = "31555", **cols) -> str:
        siren = luhn_complete(f"{n:08d}")
        siret = luhn_complete(siren + "0001")
        units.append({"siren": siren, "statutDiffusionUniteLegale": statut, "categorieJuridiqueUniteLegale": cj,
                      "activitePrincipaleUniteLegale": "88.99B", "etatAdministratifUniteLegale": "A",
                      "nicSiegeUniteLegale": siret[9:], **cols})
        etabs.append({"siren": siren, "nic": siret[9:], "siret": siret, "statutDiffusionEtablissement": statut,
                      "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
                      "codePostalEtablissement": "31000", "codeCommuneEtablissement": commune,
                      "activitePrincipaleEtablissement": "88.99B",
                      "enseigne1Etablissement": cols.pop("enseigne", "")})
        sirens[key] = siren
        return siret

    # a natural person, non-diffusible, with every name SIRENE can give it
    unit("person", 501, "P", "1000", nomUniteLegale="Zébulonnière", nomUsageUniteLegale="Quetzalcoatlès",
         prenom1UniteLegale="Jeanne", prenomUsuelUniteLegale="Philomène")
    etabs[-1]["enseigne1Etablissement"] = "Atelier Brindezingue"
    # a non-diffusible association (ESS by statute) with a sigle and a usual name
    unit("asso", 502, "P", "9220", denominationUniteLegale="Association Ornithorynque Velours",
         sigleUniteLegale="AOVX", denominationUsuelle1UniteLegale="Les Nénuphars Hirsutes")
    # the former value N is masked too
    unit("former_n", 503, "N", "5710", denominationUniteLegale="Sablier Cramoisi Menuiserie")
    # non-diffusible and diffusible near-twins: the private one is a candidate in review
    unit("krakatoa_private", 504, "P", "5710", denominationUniteLegale="Transports Krakatoa Nord")
    # a coopérative: the two homonyms lead to different ESS outcomes, so the line stays in review
    # (homonyms of one outcome are decided without review, settle_by_outcome)
    unit("krakatoa_public", 505, "O", "5453", denominationUniteLegale="Transports Krakatoa Sud")
    # a diffusible unit whose secondary establishment is non-diffusible
    unit("public", 506, "O", "5710", denominationUniteLegale="Boulangerie Publique Du Canal")
    second = luhn_complete(sirens["public"] + "0002")
    etabs.append({"siren": sirens["public"], "nic": second[9:], "siret": second, "statutDiffusionEtablissement": "P",
                  "etablissementSiege": "false", "etatAdministratifEtablissement": "A",
                  "codePostalEtablissement": "31000", "codeCommuneEtablissement": "31555",
                  "activitePrincipaleEtablissement": "10.71C", "enseigne1Etablissement": "Chez Mirabelle Pétaouchnok",
                  "denominationUsuelleEtablissement": "Gribouillette Boulange"})
    # a non-diffusible unit that appears only as a DECP titulaire, never in the purchase lines
    unit("contract_only", 508, "P", "1000", nomUniteLegale="Escarboucle", prenom1UniteLegale="Vermicelline")
    # a diffusible ESS unit whose catégorie juridique is missing
    unit("no_cj", 507, "O", "", denominationUniteLegale="Cooperative Sans Forme Connue",
         economieSocialeSolidaireUniteLegale="O")
    return units, etabs, sirens


def _lines(etabs: list[dict], sirens: dict[str, str]) -> list[dict]:
    siret = {e["siren"]: e["siret"] for e in etabs if e["etablissementSiege"] == "true"}

    def line(name: str, amount: str, ident: str = "", entity: str = "Direction des routes", cat: str = "Fournitures"):
        return {"Fournisseur": name, "SIRET": ident, "Montant": amount, "Date": "15/03/2024",
                "Direction": entity, "Catégorie": cat}

    return [
        # matched by SIRET, the private names typed everywhere on the line
        line("Jeanne Quetzalcoatlès", "1000", siret[sirens["person"]], entity="Service Philomène Zébulonnière",
             cat="Atelier Brindezingue"),
        # matched by exact name (a sign), (a usual name), (a sigle)
        line("ATELIER BRINDEZINGUE", "200"),
        line("Les Nénuphars Hirsutes", "300", cat="Subvention Association Ornithorynque Velours"),
        line("Association Ornithorynque Velours", "400", entity="Antenne AOVX"),
        # a typo: fuzzy, to review or matched
        line("ASSOC ORNITORYNQUE VELOUR", "50"),
        # contradicting identifiers, both ways
        line("Sablier Cramoisi Menuiserie", "60", siret[sirens["public"]]),
        line("Boulangerie Publique Du Canal", "70", siret[sirens["former_n"]]),
        # near-twins: review with the non-diffusible unit as a candidate
        line("TRANSPORTS KRAKATOA", "80"),
        # the sign of a non-diffusible establishment of a diffusible unit
        line("Chez Mirabelle Pétaouchnok", "90"),
        line("Gribouillette Boulange", "15"),
        # diffusible, for comparison, and the unit without catégorie juridique
        line("Boulangerie Publique Du Canal", "110"),
        line("Cooperative Sans Forme Connue", "5000"),
    ]


def _contracts(etabs: list[dict], sirens: dict[str, str]) -> dict:
    """DECP marchés whose free text (objet, published titulaire name) names non-diffusible units."""
    siret = {e["siren"]: e["siret"] for e in etabs if e["etablissementSiege"] == "true"}

    def marche(n: int, objet: str, key: str, published: str) -> dict:
        return {"id": f"2024-{n:03d}", "uid": f"22310001700019{n:03d}", "acheteur": {"id": "22310001700019"},
                "nature": "Marché", "objet": objet, "codeCPV": "79000000", "procedure": "Procédure adaptée",
                "dureeMois": 24, "dateNotification": "2024-06-01", "montant": 40000 + n,
                "titulaires": [{"typeIdentifiant": "SIRET", "id": siret[sirens[key]], "denominationSociale": published}]}

    return {"marches": [
        # a natural person's name in the objet (surname first, as SIRENE lists it) and as published titulaire name
        marche(1, "Conseil ZÉBULONNIÈRE Philomène", "person", "Jeanne Zébulonnière"),
        # a unit that appears only in DECP
        marche(2, "Accompagnement Vermicelline Escarboucle", "contract_only", "VERMICELLINE ESCARBOUCLE"),
        # a private name (sigle, usual name, legal name) in the objet of a diffusible titulaire's marché
        marche(3, "Sous-traitance AOVX et Nénuphars Hirsutes", "public", "Boulangerie Publique Du Canal"),
        marche(4, "Transports Krakatoa Nord, lot 2", "public", "Boulangerie Publique Du Canal"),
    ]}


def _private_data(root: Path) -> Path:
    units, etabs, sirens = _units()
    (root / "contracts").mkdir(parents=True, exist_ok=True)
    (root / "contracts" / "decp.json").write_text(json.dumps(_contracts(etabs, sirens), ensure_ascii=False),
                                                  encoding="utf-8")
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL, units)
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET, etabs)
    write_csv(root / "purchases" / "achats.csv", ["Fournisseur", "SIRET", "Montant", "Date", "Direction", "Catégorie"],
              _lines(etabs, sirens), delimiter=";")
    return root


def _warehouse_texts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(relation, column, value) for every text value of every view and res_/mart_/cls_ table."""
    relations = [r[0] for r in con.execute("""
        SELECT table_name FROM information_schema.tables
        WHERE table_type = 'VIEW' AND table_schema = 'main'
           OR regexp_matches(table_name, '^(res|mart|cls)_')""").fetchall()]
    assert {"purchase_lines", "purchase_lines_resolved", "res_supplier_match", "res_match_candidates"} <= set(relations)
    return [t for rel in relations for t in relation_texts(con, rel)]


def relation_texts(con: duckdb.DuckDBPyConnection, rel: str) -> list[tuple[str, str, str]]:
    """(relation, column, value) for each distinct text value of each text column of `rel`, in
    one query (UNPIVOT leaves out NULLs): a query per column would compute a view once per column."""
    cols = [r[0] for r in con.execute("""
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'main' AND table_name = ? AND data_type LIKE '%VARCHAR%'""", [rel]).fetchall()]
    if not cols:
        return []
    cast = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols)
    return [(rel, col, v) for col, v in con.execute(
        f'SELECT DISTINCT c, v FROM (UNPIVOT (SELECT {cast} FROM "{rel}") ON COLUMNS(*) INTO NAME c VALUE v)').fetchall()]


def _xlsx_text(path: Path) -> str:
    """Every part of a workbook, hyperlink targets (.rels) included."""
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith((".xml", ".rels")))


def _outputs(wh: Path, data: Path, dash: Path, out: Path) -> dict[str, str]:
    """Every file a person may receive, produced through the CLI."""
    assert main(["export", "--format", "xlsx", "--warehouse", str(wh), "--output", str(out / "export.xlsx")]) == 0
    assert main(["report", "--year", "2024", "--warehouse", str(wh), "--data-dir", str(data),
                 "--output", str(out / "bilan.html")]) == 0
    assert main(["review", "export", "--warehouse", str(wh), "--output", str(out / "revue.xlsx")]) == 0
    assert main(["review", "export", "--warehouse", str(wh), "--output", str(out / "revue.csv")]) == 0
    assert main(["dictionary", "--warehouse", str(wh), "--output", str(out / "dictionnaire.md")]) == 0
    assert main(["export", "--sourcing", "--warehouse", str(wh), "--output", str(out / "sourcing.xlsx")]) == 0
    return {
        "export sourcing": _xlsx_text(out / "sourcing.xlsx"),
        "tableau de bord": (dash / "tableau_de_bord_ess.html").read_text(encoding="utf-8"),
        "bilan": (out / "bilan.html").read_text(encoding="utf-8"),
        "export xlsx": _xlsx_text(out / "export.xlsx"),
        "revue xlsx": _xlsx_text(out / "revue.xlsx"),
        "revue csv": (out / "revue.csv").read_text(encoding="utf-8-sig"),
        "dictionnaire": (out / "dictionnaire.md").read_text(encoding="utf-8"),
    }


def _leaks(texts: dict[str, str] | list[tuple[str, str, str]], names: list[str]) -> list[str]:
    folded = [fold(n) for n in names]
    items = texts.items() if isinstance(texts, dict) else [(f"{r}.{c}", v) for r, c, v in texts]
    found = []
    for where, text in items:
        folded_text = fold(text)  # once per text, not once per name
        found += [f"{where} : {n!r}" for n, f in zip(names, folded, strict=True) if f in folded_text]
    return found


@pytest.fixture(scope="module")
def private_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("privacy")
    data = _private_data(root / "data")
    con = run_mini(data, root)
    con.close()
    return {"warehouse": root / "wh" / "w.duckdb", "data": data, "dash": root / "dash", "root": root}


def test_the_private_cases_are_really_exercised(private_run):
    """Each path that used to write a name is taken: SIRET, exact name, fuzzy, review, contradiction."""
    _, _, sirens = _units()
    with duckdb.connect(str(private_run["warehouse"]), read_only=True) as con:
        stg = dict(con.execute("""SELECT p.supplier_name, r.match_method || ':' || r.match_status || ':' || coalesce(r.siren, '')
                                  FROM stg_purchase_lines p JOIN res_purchase_line_supplier r USING (line_id)""").fetchall())
        cands = {r[0] for r in con.execute("SELECT siren FROM res_match_candidates").fetchall()}
        flags = [r[0] for r in con.execute("SELECT id_flag FROM res_supplier_match WHERE id_flag IS NOT NULL").fetchall()]
    assert stg["Jeanne Quetzalcoatlès"] == f"siret:matched:{sirens['person']}"
    assert stg["ATELIER BRINDEZINGUE"] == f"name_exact:matched:{sirens['person']}"
    assert stg["Les Nénuphars Hirsutes"] == f"name_exact:matched:{sirens['asso']}"
    assert stg["ASSOC ORNITORYNQUE VELOUR"].startswith("name_fuzzy:") and stg["ASSOC ORNITORYNQUE VELOUR"].endswith(
        sirens["asso"])
    assert stg["TRANSPORTS KRAKATOA"].split(":")[1] == "review"
    assert sirens["krakatoa_private"] in cands
    assert stg["Sablier Cramoisi Menuiserie"].endswith(sirens["former_n"])
    assert any(f"unité non diffusible (SIREN {sirens['former_n']})" in f for f in flags)
    assert stg["Chez Mirabelle Pétaouchnok"] == f"name_exact:matched:{sirens['public']}"
    with duckdb.connect(str(private_run["warehouse"]), read_only=True) as con:
        contracts = con.execute("SELECT count(*) FROM contract_renewals").fetchone()[0]
        raw = {r[0] for r in con.execute("SELECT object FROM src_contracts WHERE status = 'ok'").fetchall()}
    assert contracts == 4 and "Conseil ZÉBULONNIÈRE Philomène" in raw


def test_no_name_of_a_non_diffusible_unit_anywhere(private_run, sample_run, tmp_path):
    wh, data, dash = private_run["warehouse"], private_run["data"], private_run["dash"]
    with duckdb.connect(str(wh), read_only=True) as con:
        leaks = _leaks(_warehouse_texts(con), PRIVATE)
        # the review export names the best candidate by its SIREN
        reasons = " ".join(r[0] for r in con.execute("SELECT match_reason FROM purchase_lines_resolved").fetchall())
    leaks += _leaks(_outputs(wh, data, dash, tmp_path / "mini"), PRIVATE)

    # the embedded sample: its non-diffusible natural persons, and the names typed for them
    with duckdb.connect(str(sample_run["warehouse"]), read_only=True) as con:
        sample_names = sorted({r[0] for r in con.execute("""
            SELECT u.legal_name FROM stg_unite_legale u WHERE u.is_non_diffusible AND u.legal_name NOT LIKE '%[ND]%'
            UNION
            SELECT p.supplier_name FROM stg_purchase_lines p JOIN res_purchase_line_supplier r USING (line_id)
            JOIN stg_unite_legale u USING (siren)
            WHERE u.is_non_diffusible AND r.match_status IN ('matched', 'review') AND p.supplier_name IS NOT NULL
            """).fetchall()})
        assert sample_names, "the sample has non-diffusible suppliers"
        sample_leaks = _leaks(_warehouse_texts(con), sample_names)
    sample_leaks += _leaks(_outputs(sample_run["warehouse"], Path(__file__).parents[1] / "data" / "sample",
                                    sample_run["dir"] / "dash", tmp_path / "sample"), sample_names)
    assert not leaks, "\n".join(leaks)
    assert not sample_leaks, "\n".join(sample_leaks)
    assert "unité non diffusible (SIREN " in reasons


def test_masked_lines_still_count(private_run):
    with duckdb.connect(str(private_run["warehouse"]), read_only=True) as con:
        raw = con.execute("SELECT sum(amount_eur), count(*) FROM stg_purchase_lines WHERE status = 'ok'").fetchone()
        view = con.execute("SELECT sum(amount_eur), count(*) FROM purchase_lines WHERE status = 'ok'").fetchone()
        summary = con.execute("SELECT total_amount_eur, line_count FROM objective8_summary WHERE period = 'ALL'"
                              ).fetchone()
        masked = con.execute("""SELECT sum(amount_eur), count(*) FROM purchase_lines
                                WHERE supplier_name LIKE 'unité non diffusible (SIREN %'""").fetchone()
        matched = con.execute("""SELECT sum(matched_amount_eur) FROM suppliers""").fetchone()[0]
        lines_matched = con.execute("""SELECT sum(p.amount_eur) FROM purchase_lines p
                                       JOIN purchase_lines_resolved r USING (line_id)
                                       WHERE r.match_status = 'matched'""").fetchone()[0]
        estimate = con.execute("SELECT sum(amount_eur) FROM mart_purchase_line_estimate").fetchone()[0]
    assert view == raw == (pytest.approx(summary[0]), summary[1])
    assert estimate == pytest.approx(raw[0])
    assert matched == pytest.approx(lines_matched)
    assert masked[1] >= 6 and masked[0] >= 1000  # masked, not dropped


def test_unknown_legal_form_stays_in_public_list_and_top_table(private_run):
    _, _, sirens = _units()
    with duckdb.connect(str(private_run["warehouse"]), read_only=True) as con:
        row = con.execute("SELECT display_name, is_ess, matched_amount_eur FROM suppliers_public WHERE siren = ?",
                          [sirens["no_cj"]]).fetchone()
        assert con.execute("SELECT categorie_juridique FROM suppliers WHERE siren = ?",
                           [sirens["no_cj"]]).fetchone() == (None,)
        total_public, total = con.execute("""SELECT (SELECT sum(matched_amount_eur) FROM suppliers_public),
                                                    (SELECT sum(matched_amount_eur) FROM suppliers)""").fetchone()
    assert row == ("Cooperative Sans Forme Connue", True, 5000)
    assert total_public == pytest.approx(total)
    html = (private_run["dash"] / "tableau_de_bord_ess.html").read_text(encoding="utf-8")
    top = html.split('id="table-top-ess"', 1)[1].split("</table>", 1)[0]
    assert "Cooperative Sans Forme Connue" in top and sirens["no_cj"] in top


def test_review_csv_names_candidates_by_siren(private_run, tmp_path):
    _, _, sirens = _units()
    out = tmp_path / "revue.csv"
    assert main(["review", "export", "--warehouse", str(private_run["warehouse"]), "--output", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    cells = {c for r in rows for c in r}
    assert f"unité non diffusible (SIREN {sirens['krakatoa_private']})" in cells
