"""ESS status with its legal basis, at the purchase date, on hand-built units run through the pipeline."""

from __future__ import annotations

from tests.conftest import run_mini


def _line_status(con, name: str) -> list[tuple]:
    return con.execute("""
        SELECT p.purchase_date, r.is_ess_at_line_date, r.ess_family, r.is_esus_at_line_date, r.is_inclusive_at_line_date
        FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)
        WHERE p.supplier_name = ? ORDER BY p.purchase_date""", [name]).fetchall()


def test_evidence_paths_and_edges(mini, tmp_path):
    assoc, _ = mini.unit("ASSOCIATION DES AMIS", cj="9220")
    asl, _ = mini.unit("ASSOCIATION SYNDICALE LIBRE DU LOTISSEMENT", cj="9150")
    asa, _ = mini.unit("ASSOCIATION SYNDICALE AUTORISEE DU CANAL", cj="7321")
    scop, _ = mini.unit("MENUISERIE OUVRIERE", cj="5458")
    mut, _ = mini.unit("MUTUELLE DU MIDI", cj="8210")
    fond, _ = mini.unit("FONDATION DU SUD", cj="9300")
    flagged, _ = mini.unit("NUMERIQUE SOLIDAIRE", cj="5710", economieSocialeSolidaireUniteLegale="O")
    listed, _ = mini.unit("REGIE DE QUARTIER", cj="5710")
    esus, _ = mini.unit("RESTAURATION ESUS", cj="5710")
    noend, _ = mini.unit("ENERGIE ESUS", cj="5710")
    ceased, _ = mini.unit("ATELIER CESSE", cj="9220", etatAdministratifUniteLegale="C", dateDebut="2024-06-30")
    commune, commune_siret = mini.unit("COMMUNE DE TESTVILLE", cj="7210", naf="84.11Z")
    esat, _ = mini.unit("ATELIER PROTEGE", cj="5710", naf="88.10C")
    plain, _ = mini.unit("BOULANGERIE ORDINAIRE", cj="5499")
    names = ["ASSOCIATION DES AMIS", "ASSOCIATION SYNDICALE LIBRE DU LOTISSEMENT",
             "ASSOCIATION SYNDICALE AUTORISEE DU CANAL", "MENUISERIE OUVRIERE", "MUTUELLE DU MIDI",
             "FONDATION DU SUD", "NUMERIQUE SOLIDAIRE", "REGIE DE QUARTIER", "BOULANGERIE ORDINAIRE",
             "COMMUNE DE TESTVILLE", "ATELIER PROTEGE"]
    purchases = [{"Fournisseur": n, "Montant": "100", "Date": "15/03/2024"} for n in names]
    # ESUS window 2023-04-01 .. 2024-03-31: inside on its first and last day, outside the day after
    for d in ("31/03/2023", "01/04/2023", "31/03/2024", "01/04/2024"):
        purchases.append({"Fournisseur": "RESTAURATION ESUS", "Montant": "10", "Date": d})
    for d in ("14/01/2020", "15/01/2020", "14/01/2025", "15/01/2025"):
        purchases.append({"Fournisseur": "ENERGIE ESUS", "Montant": "10", "Date": d})
    for d in ("29/06/2024", "30/06/2024"):
        purchases.append({"Fournisseur": "ATELIER CESSE", "Montant": "10", "Date": d})
    data = mini.write(
        purchases,
        ess_france=[{"SIREN": listed}],
        esus=[{"siren": esus, "raison_sociale": "R", "date_agrement": "2023-04-01", "date_fin_agrement": "2024-03-31"},
              {"siren": noend, "raison_sociale": "E", "date_agrement": "2020-01-15", "date_fin_agrement": ""}],
        siae=[{"siret": commune_siret, "name": "COMMUNE DE TESTVILLE", "kind": "ACI", "naf": "8411Z",
               "post_code": "31000", "department": "31"}],
    )
    con = run_mini(data, tmp_path)
    sup = {r[0]: r[1:] for r in con.execute(
        "SELECT siren, is_ess, ess_family, ess_sources, evidence, is_siae, is_esat FROM suppliers").fetchall()}
    assert sup[assoc][:3] == (True, "association", "legal_form")
    assert "Association déclarée (catégorie juridique 9220)" in sup[assoc][3]
    assert sup[asl][0] is False and sup[asa][0] is False  # "association" in the label, not ESS
    assert sup[scop][1] == "cooperative" and sup[mut][1] == "mutuelle" and sup[fond][1] == "fondation"
    assert sup[flagged][:3] == (True, "societe_commerciale_ess", "insee_flag")
    assert sup[listed][:3] == (True, "societe_commerciale_ess", "ess_france")
    assert sup[plain][0] is False and sup[plain][1] is None
    assert sup[commune][0] is False and sup[commune][4] is True  # a SIAE that is not ESS by statute
    assert sup[esat][0] is False and sup[esat][5] is True
    # ESUS counts only inside its window, edges included
    assert [r[1] for r in _line_status(con, "RESTAURATION ESUS")] == [False, True, True, False]
    assert [r[3] for r in _line_status(con, "RESTAURATION ESUS")] == [False, True, True, False]
    # no end date: 5 years, the last day being the day before the anniversary
    assert [r[1] for r in _line_status(con, "ENERGIE ESUS")] == [False, True, True, False]
    # ceased on 2024-06-30: ESS the day before, not on the day
    assert [r[1] for r in _line_status(con, "ATELIER CESSE")] == [True, False]


def test_non_diffusible_names_are_masked_everywhere(mini, tmp_path):
    hidden, _ = mini.unit("", cj="1000", nomUniteLegale="CACHEDUPONT", prenom1UniteLegale="SECRETINE",
                          statutDiffusionUniteLegale="P")
    mini.unit("ASSOCIATION VISIBLE", cj="9220")
    hidden_siret = mini.etabs[0]["siret"]
    data = mini.write([{"Fournisseur": "", "SIRET": hidden_siret, "Montant": "500", "Date": "01/02/2024"},
                       {"Fournisseur": "ASSOCIATION VISIBLE", "Montant": "100", "Date": "01/02/2024"}])
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT display_name FROM suppliers WHERE siren = ?", [hidden]).fetchall() == [
        ("Unité non diffusible",)]
    html = (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8")
    assert "CACHEDUPONT" not in html and "SECRETINE" not in html
    for view in ("suppliers", "purchase_lines_resolved", "objective8_summary", "ess_offer_by_category"):
        text = str(con.execute(f"SELECT * FROM {view}").fetchall())
        assert "CACHEDUPONT" not in text, view
    from achats.export import export_xlsx

    export_xlsx(con, tmp_path / "x.xlsx")
    import zipfile

    with zipfile.ZipFile(tmp_path / "x.xlsx") as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert b"CACHEDUPONT" not in blob and b"SECRETINE" not in blob


def test_history_gives_the_legal_form_and_flag_valid_at_the_purchase_date(mini, tmp_path):
    from tests.conftest import write_csv

    scop, _ = mini.unit("MENUISERIE DEVENUE SCOP", cj="5458")
    flag, _ = mini.unit("SOCIETE AU DRAPEAU", cj="5710", economieSocialeSolidaireUniteLegale="O")
    data = mini.write([{"Fournisseur": n, "Montant": "10", "Date": d}
                       for n in ("MENUISERIE DEVENUE SCOP", "SOCIETE AU DRAPEAU")
                       for d in ("15/06/2023", "15/06/2024")])
    write_csv(data / "sirene" / "StockUniteLegaleHistorique_test.csv",
              ["siren", "dateFin", "dateDebut", "etatAdministratifUniteLegale", "categorieJuridiqueUniteLegale",
               "economieSocialeSolidaireUniteLegale"],
              [[scop, "2023-12-31", "2010-01-01", "A", "5710", ""], [scop, "", "2024-01-01", "A", "5458", ""],
               [flag, "2024-02-29", "2015-01-01", "A", "5710", "O"], [flag, "", "2024-03-01", "A", "5710", "N"]])
    con = run_mini(data, tmp_path)
    assert [r[1] for r in _line_status(con, "MENUISERIE DEVENUE SCOP")] == [False, True]
    assert [r[2] for r in _line_status(con, "MENUISERIE DEVENUE SCOP")] == [None, "cooperative"]
    assert [r[1] for r in _line_status(con, "SOCIETE AU DRAPEAU")] == [True, False]


def test_manual_decision_is_its_own_evidence_and_can_overrule(mini, tmp_path):
    from tests.conftest import write_csv

    yes, _ = mini.unit("ENTREPRISE RECONNUE A LA MAIN", cj="5710")
    no, _ = mini.unit("FAUX DRAPEAU", cj="5710", economieSocialeSolidaireUniteLegale="O")
    data = mini.write([{"Fournisseur": "ENTREPRISE RECONNUE A LA MAIN", "Montant": "10", "Date": "15/06/2024"},
                       {"Fournisseur": "FAUX DRAPEAU", "Montant": "10", "Date": "15/06/2024"}])
    write_csv(data / "status" / "ess_manuel.csv", ["siren", "est_ess", "justification"],
              [[yes, "oui", "statuts ESS vérifiés"], [no, "non", "indicateur INSEE erroné"]])
    con = run_mini(data, tmp_path)
    sup = {r[0]: r[1:] for r in con.execute("SELECT siren, is_ess, ess_sources, evidence FROM suppliers").fetchall()}
    assert sup[yes][0] is True and "manual" in sup[yes][1] and "statuts ESS vérifiés" in sup[yes][2]
    assert sup[no][0] is False and "Décision manuelle : non ESS" in sup[no][2]


def test_published_supplier_list_groups_natural_persons(sample_con):
    listed = sample_con.execute("""
        SELECT count(*) FROM suppliers_public p JOIN suppliers s USING (siren)
        WHERE s.is_entrepreneur_individuel OR s.is_non_diffusible""").fetchone()[0]
    assert listed == 0
    total_public, total = sample_con.execute("""
        SELECT (SELECT sum(matched_amount_eur) FROM suppliers_public), (SELECT sum(matched_amount_eur) FROM suppliers)
    """).fetchone()
    assert total_public == total
    assert sample_con.execute("SELECT count(*) FROM suppliers_public WHERE siren IS NULL").fetchone()[0] >= 1


def test_esus_list_with_a_title_row_and_french_headers(mini, tmp_path):
    from achats.sources.status import read_esus
    from tests.conftest import write_csv

    siren, _ = mini.unit("RESTAURANT SOLIDAIRE", cj="5710")
    write_csv(tmp_path / "d" / "status" / "esus_2025.csv", ["Liste des entreprises agréées ESUS au 01/01/2025", "", ""],
              [["SIREN", "Raison sociale", "Date d'agrément"], [siren, "RESTAURANT SOLIDAIRE", "01/04/2023"]])
    ok, bad = read_esus(tmp_path / "d")
    assert ok["siren"].to_list() == [siren] and str(ok["date_fin_agrement"][0]) == "2028-03-31" and bad.height == 0


def test_sirene_files_named_otherwise_and_semicolon_separated_are_recognised(mini, tmp_path):
    import shutil

    siren, _ = mini.unit("ASSOCIATION DES AMIS", cj="9220")
    data = mini.write([{"Fournisseur": "ASSOCIATION DES AMIS", "Montant": "10", "Date": "01/02/2024"}])
    ul = data / "sirene" / "StockUniteLegale_test.csv"
    text = ul.read_text(encoding="utf-8").replace(",", ";")
    (data / "sirene" / "unites_legales_extrait.csv").write_text(text, encoding="utf-8")
    ul.unlink()
    shutil.move(data / "sirene" / "StockEtablissement_test.csv", data / "sirene" / "etablissements.csv")
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT siren, is_ess FROM suppliers").fetchall() == [(siren, True)]
