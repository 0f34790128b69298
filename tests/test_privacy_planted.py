"""Privacy scan with planted non-diffusible names in the places the first masking missed: a
quarantined line (its only line), a name typed without identifier, a former name from
StockUniteLegaleHistorique, a person's surname alone in free text, and a typed name beside its
masked best candidate. Every view, every people-facing table and every output file is scanned,
and the masked lines still count."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from achats.pipelines.cli import input_warnings
from tests.conftest import luhn_complete, run_mini, write_csv
from tests.test_privacy import UL, _leaks, _outputs, relation_texts

ET = ["siren", "nic", "siret", "statutDiffusionEtablissement", "etablissementSiege", "etatAdministratifEtablissement",
      "codePostalEtablissement", "codeCommuneEtablissement", "activitePrincipaleEtablissement"]
HIST = ["siren", "dateFin", "dateDebut", "etatAdministratifUniteLegale", "denominationUniteLegale",
        "nomUniteLegale", "categorieJuridiqueUniteLegale", "economieSocialeSolidaireUniteLegale",
        "activitePrincipaleUniteLegale"]
HEADER = ["Fournisseur", "SIRET", "Montant", "Date", "Direction", "Catégorie"]

# names that belong only to non-diffusible units (current or former): none may be shown
PLANTED = ["Vasquezdelmonte", "Cormoran Bleu", "Pélican Turquoise", "Fontanarosa", "Bérengère",
           "Ophélie Durandal", "Atelier Durandal", "Cormoran Fils", "Quartermaine"]


def _data(root: Path) -> tuple[Path, dict[str, str]]:
    units, etabs, siret = [], [], {}

    def unit(key: str, n: int, statut: str, cj: str, **cols) -> None:
        siren = luhn_complete(f"{n:08d}")
        s = luhn_complete(siren + "0001")
        units.append({"siren": siren, "statutDiffusionUniteLegale": statut, "categorieJuridiqueUniteLegale": cj,
                      "activitePrincipaleUniteLegale": "43.22A", "etatAdministratifUniteLegale": "A",
                      "nicSiegeUniteLegale": s[9:], **cols})
        etabs.append({"siren": siren, "nic": s[9:], "siret": s, "statutDiffusionEtablissement": statut,
                      "etablissementSiege": "true", "etatAdministratifEtablissement": "A",
                      "codePostalEtablissement": "31000", "codeCommuneEtablissement": "31555",
                      "activitePrincipaleEtablissement": "43.22A"})
        siret[key] = s

    # a non-diffusible person with a rare surname, known by SIRET
    unit("rare_person", 601, "P", "1000", nomUniteLegale="VASQUEZDELMONTE", prenom1UniteLegale="AURELIEN")
    # a non-diffusible company, renamed: its former name is only in StockUniteLegaleHistorique
    unit("company", 602, "P", "5710", denominationUniteLegale="CORMORAN BLEU AZURE")
    # a non-diffusible person the run meets only as a name typed on a quarantined line
    unit("unseen_person", 603, "P", "1000", nomUniteLegale="FONTANAROSA", prenom1UniteLegale="BERENGERE")
    # a non-diffusible person whose surname is common in SIRENE (101 other people carry it)
    unit("common_person", 604, "P", "1000", nomUniteLegale="DURANDAL", prenom1UniteLegale="OPHELIE")
    for i in range(101):
        unit(f"namesake_{i}", 700 + i, "O", "1000", nomUniteLegale="DURANDAL", prenom1UniteLegale=f"PRENOM{i}")
    # a non-diffusible person the run meets only as a name typed without identifier, then decided
    # by hand (« aucun »): the decision must not unmask it
    unit("decided_person", 607, "P", "1000", nomUniteLegale="QUARTERMAINE", prenom1UniteLegale="LEOPOLD")
    # diffusible controls
    unit("public", 605, "O", "5710", denominationUniteLegale="MENUISERIE PUBLIQUE DU MOULIN")
    unit("public2", 606, "O", "5710", denominationUniteLegale="ELECTRICITE GENERALE DES COTEAUX")
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL, units)
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET, etabs)
    company = siret["company"][:9]
    write_csv(root / "sirene" / "StockUniteLegaleHistorique_test.csv", HIST, [
        {"siren": company, "dateFin": "2022-12-31", "dateDebut": "2015-01-01", "etatAdministratifUniteLegale": "A",
         "denominationUniteLegale": "PELICAN TURQUOISE CONSEIL", "categorieJuridiqueUniteLegale": "5710",
         "activitePrincipaleUniteLegale": "43.22A"},
        {"siren": company, "dateDebut": "2023-01-01", "etatAdministratifUniteLegale": "A",
         "denominationUniteLegale": "CORMORAN BLEU AZURE", "categorieJuridiqueUniteLegale": "5710",
         "activitePrincipaleUniteLegale": "43.22A"}])

    def line(name: str, ident: str, amount: str, entity: str = "Direction des bâtiments",
             cat: str = "Travaux", date: str = "15/03/2024") -> dict:
        return {"Fournisseur": name, "SIRET": ident, "Montant": amount, "Date": date, "Direction": entity,
                "Catégorie": cat}

    lines = [
        line("Aurélien Vasquezdelmonte", siret["rare_person"], "douze cents"),  # quarantined: unreadable amount
        line("Cormoran Bleu Azuré SARL", siret["company"], ""),  # quarantined: empty amount
        line("FONTANAROSA Bérengère", "", "n/a"),  # quarantined, no identifier: equal to a private name
        line("Pélican Turquoise Conseil", "", "130,00"),  # the company's former name
        line("Menuiserie Publique du Moulin", siret["public"], "150,00", entity="Dépannage Vasquezdelmonte",
             cat="Plomberie Vasquezdelmonte"),  # the rare surname alone, on a diffusible supplier's line
        line("Cormoran Fils et Cie", "", "700,00"),  # best candidate: the company, masked
        line("Menuiserie Publique du Moulin", siret["public"], "200,00", cat="Fournitures Durandal"),
        line("Ophélie Durandal", siret["common_person"], "300,00", cat="Atelier Durandal"),
        # shifted columns: a person's full name in the amount, a company's name in the date; the
        # reason quotes the cell
        line("Plomberie du Canal", "", "Bérengère Fontanarosa"),
        line("Nettoyage du Canal", "", "90,00", date="Cormoran Bleu Azuré"),
        line("Quartermaine et Fils", "", "400,00"),  # decided by hand: « aucun »
        line("Quartermaine Dépannage", "", "500,00"),  # decided by hand: another unit
    ] + [line("Electricite Generale des Coteaux", siret["public2"], f"{100 + i},00") for i in range(11)]
    write_csv(root / "purchases" / "achats.csv", HEADER, lines, delimiter=";")
    # a file named after the rare surname: its lines are a diffusible supplier's, one unreadable
    write_csv(root / "purchases" / "factures_vasquezdelmonte_2024.csv", HEADER, [
        line("Electricite Generale des Coteaux", siret["public2"], "250,00"),
        line("Electricite Generale des Coteaux", siret["public2"], "deux cents")], delimiter=";")
    # a copy of it: the run's warnings name the file it repeats
    (root / "purchases" / "Copie de factures.csv").write_bytes(
        (root / "purchases" / "factures_vasquezdelmonte_2024.csv").read_bytes())
    # decisions: « aucun », and another (diffusible) unit; neither may unmask the typed name
    write_csv(root / "overrides.csv", ["supplier_name", "siret", "decision", "decided_by", "decided_at", "note"], [
        {"supplier_name": "Quartermaine et Fils", "siret": "", "decision": "aucun", "decided_by": "test",
         "decided_at": "2024-04-01", "note": ""},
        {"supplier_name": "Quartermaine Dépannage", "siret": "", "decision": siret["public2"][:9], "decided_by": "test",
         "decided_at": "2024-04-01", "note": ""}])
    return root, siret


def _texts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(relation, column, value) of every text of every view and every table people may read:
    everything but the raw src_/stg_ tables and the reference tables."""
    relations = [r[0] for r in con.execute("""
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'main' AND (table_type = 'VIEW' OR NOT regexp_matches(table_name, '^(src|stg|ref)_'))
            -- the inputs' raw paths (and their history), kept for traceability like the src_ tables
            AND table_name <> 'sources_manifest'
        """).fetchall()]
    assert {"purchase_lines", "res_line_mask", "mart_purchase_line_estimate", "res_supplier_match"} <= set(relations)
    return [t for rel in relations for t in relation_texts(con, rel)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("planted")
    data, siret = _data(root / "data")
    run_mini(data, root).close()
    return {"warehouse": root / "wh" / "w.duckdb", "data": data, "dash": root / "dash", "siret": siret}


def test_planted_cases_take_the_intended_paths(planted):
    """The scan below means something only if the lines are where the cases say they are."""
    with duckdb.connect(str(planted["warehouse"]), read_only=True) as con:
        status = dict(con.execute("SELECT supplier_name, status FROM stg_purchase_lines").fetchall())
        best = dict(con.execute("""
            SELECT p.supplier_name, c.siren FROM stg_purchase_lines p JOIN res_line_supplier_key k USING (line_id)
            JOIN res_match_candidates c ON c.supplier_key = k.supplier_key AND c.rank = 1""").fetchall())
        history = con.execute("SELECT count(*) FROM src_sirene_unite_legale_historique").fetchone()[0]
    assert status["Aurélien Vasquezdelmonte"] == status["Cormoran Bleu Azuré SARL"] == "quarantined"
    assert status["FONTANAROSA Bérengère"] == "quarantined"
    assert status["Pélican Turquoise Conseil"] == status["Cormoran Fils et Cie"] == "ok"
    assert best["Cormoran Fils et Cie"] == planted["siret"]["company"][:9]
    assert history == 2
    with duckdb.connect(str(planted["warehouse"]), read_only=True) as con:
        decided = dict(con.execute("""
            SELECT p.supplier_name, r.match_method || ' ' || coalesce(r.siren, '-') FROM stg_purchase_lines p
            JOIN res_purchase_line_supplier r USING (line_id) WHERE p.supplier_name LIKE 'Quartermaine%'""").fetchall())
        undecided = {r[0] for r in con.execute("""
            SELECT undecided_best_siren FROM res_supplier_match WHERE match_method = 'override'""").fetchall()}
    # without the decisions, the person is the automatic resolution's best candidate of both names
    assert undecided == {planted["siret"]["decided_person"][:9]}
    assert decided == {"Quartermaine et Fils": "override -", "Quartermaine Dépannage": f"override {planted['siret']['public2'][:9]}"}


def test_no_planted_name_in_any_view_table_or_output(planted, tmp_path):
    wh = planted["warehouse"]
    with duckdb.connect(str(wh), read_only=True) as con:
        leaks = _leaks(_texts(con), PLANTED)
    leaks += _leaks(_outputs(wh, planted["data"], planted["dash"], tmp_path), PLANTED)
    warnings = input_warnings(wh, planted["data"])
    assert any("Copie de factures.csv" in w and "fichier masqué" in w for w in warnings), warnings
    leaks += _leaks({"avertissements du calcul": "\n".join(warnings)}, PLANTED)
    assert not leaks, "\n".join(leaks)


def test_common_surname_masked_only_where_linked_and_lines_still_count(planted):
    """A surname 101 other SIRENE units carry names nobody on a diffusible supplier's line; the
    masked lines keep their amounts and their status (quarantined lines stay in quarantine)."""
    with duckdb.connect(str(planted["warehouse"]), read_only=True) as con:
        shown = dict(con.execute("SELECT amount_eur, category FROM purchase_lines WHERE amount_eur IN (200, 300)"
                                 ).fetchall())
        view = con.execute("""SELECT count(*), count(*) FILTER (WHERE status = 'quarantined'),
                                     sum(amount_eur) FILTER (WHERE status = 'ok'),
                                     count(*) FILTER (WHERE status = 'duplicate')
                              FROM purchase_lines""").fetchone()
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        masked = con.execute("""SELECT count(*) FROM purchase_lines
                                WHERE supplier_name LIKE 'unité non diffusible (SIREN %'""").fetchone()[0]
        public = con.execute("SELECT count(*) FROM purchase_lines WHERE supplier_name = 'Menuiserie Publique du Moulin'"
                             ).fetchone()[0]
    assert shown[200] == "Fournitures Durandal"
    assert shown[300].startswith("unité non diffusible (SIREN ")
    # 27 rows, 6 quarantined (under the 25 % limit), the copy's 2 rows duplicates counted nowhere;
    # accepted: 130 + 150 + 700 + 200 + 300 + 400 + 500 + (100 + … + 110) + 250 = 2 380 + 1 155 + 250 = 3 785 €
    assert view[:2] == (27, 6) and view[3] == 2
    assert float(view[2]) == float(total) == 3785.0
    # the 3 quarantined lines, the former name, the best-candidate line, the common-surname person,
    # the two rare-surname lines decided by hand
    assert masked == 8
    assert public == 2


def test_reasons_quoting_a_name_are_masked_and_keep_their_cause(planted):
    """A name shifted into the amount or date column is quoted by the reason: the quoted cell is
    masked, the rest of the reason (file, line, field) stays readable; the console message of the
    blocking quarantine check, written before the mask exists, quotes no cell at all."""
    from achats.pipelines.checks import _quarantined_share_within_limit

    with duckdb.connect(str(planted["warehouse"]), read_only=True) as con:
        reasons = dict(con.execute("""SELECT supplier_name, quarantine_reason FROM purchase_lines
                                      WHERE supplier_name IN ('Plomberie du Canal', 'Nettoyage du Canal')""").fetchall())

        class Inputs:
            def settings(self):
                return type("S", (), {"controls": type("C", (), {"max_quarantined_share": 0.01})()})()

        result = _quarantined_share_within_limit(con, Inputs(), None)
    amount, date = reasons["Plomberie du Canal"], reasons["Nettoyage du Canal"]
    assert "montant" in amount and "« unité non diffusible (SIREN " in amount and "achats.csv" in amount
    assert "date" in date and "« unité non diffusible (SIREN " in date and "achats.csv" in date
    assert not result.passed
    message = result.metadata["first_reasons"].value
    assert "achats.csv" in message and not _leaks({"console": message}, PLANTED)


def test_file_named_after_a_person_is_shown_masked_and_still_reconciled(planted):
    """A rare surname in a payment file's name: people-facing tables show a masked file name
    (lines and the reconciliation, reasons included); the raw tables keep the real path, and
    the file's rows are all accounted for."""
    with duckdb.connect(str(planted["warehouse"]), read_only=True) as con:
        shown = con.execute("""SELECT DISTINCT source_file FROM purchase_lines
                               WHERE source_file LIKE 'purchases/fichier masqué %'""").fetchall()
        reason = con.execute("""SELECT quarantine_reason FROM purchase_lines
                                WHERE source_file LIKE 'purchases/fichier masqué %' AND status = 'quarantined'
                                """).fetchone()[0]
        rec = con.execute("""SELECT data_row_count, accepted_line_count, quarantined_line_count, accepted_amount_eur,
                                    has_all_rows_counted
                             FROM source_file_reconciliation WHERE source_file = ?""", [shown[0][0]]).fetchone()
        raw = con.execute("SELECT DISTINCT source_file FROM stg_purchase_lines WHERE source_file LIKE '%vasquez%'"
                          ).fetchall()
    assert len(shown) == 1 and shown[0][0].endswith(".csv") and "unité non diffusible (SIREN " in shown[0][0]
    assert reason.startswith(shown[0][0] + ", ligne 3") and "deux cents" in reason
    assert rec == (2, 1, 1, 250, True)
    assert raw == [("purchases/factures_vasquezdelmonte_2024.csv",)]


def test_a_file_pointing_to_a_masked_file_shows_it_masked():
    """Another file's duplicate_of / overlap columns name the masked file by its masked name, in
    purchase_lines and in source_file_reconciliation (views run on hand-made tables)."""
    from achats import warehouse as wh

    real, masked = "purchases/factures_vasquezdelmonte_2024.csv", "purchases/fichier masqué abc123.csv"
    con = duckdb.connect()
    wh.run_sql(con, "reference/macros.sql")
    con.execute("""CREATE TABLE stg_purchase_lines AS SELECT * FROM (VALUES
        ('l1', ?, NULL, 1, 2, 'X', '', 10.00::DECIMAL(18,2), NULL::DATE, 2024, '2024-Q1', NULL, NULL, NULL,
         'ok', NULL, false, 'data', NULL),
        ('l2', 'purchases/copie.csv', NULL, 1, 2, 'X', '', 10.00::DECIMAL(18,2), NULL::DATE, 2024, '2024-Q1', NULL,
         NULL, NULL, 'duplicate', NULL, true, 'data', ?))
        AS t(line_id, source_file, source_sheet, source_row, source_line, supplier_name, siret_raw, amount_eur,
             purchase_date, fiscal_year, quarter, category, buying_entity, mandate_number, status,
             quarantine_reason, is_duplicate, row_kind, duplicate_of)""", [real, real])
    con.execute("CREATE TABLE src_purchase_lines AS SELECT * FROM stg_purchase_lines")
    con.execute("""CREATE TABLE res_line_mask AS SELECT 'l1' AS line_id, NULL AS supplier_name, NULL AS category,
                   NULL AS buying_entity, NULL AS siret_raw, NULL AS mandate_number, NULL AS quarantine_reason,
                   ? AS source_file, NULL::VARCHAR AS private_siren""", [masked])
    con.execute("CREATE TABLE res_text_mask (text_md5 VARCHAR, label VARCHAR, sirens VARCHAR[])")  # no sheet names a unit
    con.execute("CREATE TABLE sources_manifest AS SELECT * FROM (VALUES (?), ('purchases/copie.csv')) AS t(path)",
                [real])
    con.execute("""CREATE TABLE src_purchase_files AS SELECT * FROM (VALUES
        (?, NULL, 1, NULL::DECIMAL(18,2), NULL::BIGINT, NULL, NULL, NULL::BIGINT, NULL::DECIMAL(18,2), NULL,
         NULL::BIGINT, NULL, NULL::VARCHAR[]),
        ('purchases/copie.csv', NULL, 1, NULL, NULL, ?, ?, 1, 10.00, ?, 1, NULL, NULL))
        AS t(source_file, source_sheet, data_row_count, declared_total_eur, declared_total_row, duplicate_of,
             possible_overlap_of, possible_overlap_row_count, possible_overlap_eur, overlap_of, overlap_row_count,
             period_note, unread_sheets)""", [real, real, real, real])
    wh.run_sql(con, "resolution/res_file_mask.sql")  # also res_sheet_mask, from src_purchase_files
    wh.run_sql(con, "views/purchase_lines.sql")
    wh.run_sql(con, "views/source_file_reconciliation.sql")
    texts = [str(v) for row in con.execute("SELECT * FROM purchase_lines").fetchall() for v in row] + \
        [str(v) for row in con.execute("SELECT * FROM source_file_reconciliation").fetchall() for v in row]
    assert not [t for t in texts if "vasquez" in t.lower()], texts
    assert con.execute("SELECT duplicate_of FROM purchase_lines WHERE line_id = 'l2'").fetchone()[0] == masked
    assert con.execute("""SELECT duplicate_of, possible_overlap_of, overlap_of FROM source_file_reconciliation
                          WHERE source_file = 'purchases/copie.csv'""").fetchone() == (masked, masked, masked)


def _tamarillo_sirene(root: Path) -> str:
    """A non-diffusible SARL « TAMARILLO SECRET SARL » and its one establishment: its SIRET."""
    siren = luhn_complete("00000611")
    s = luhn_complete(siren + "0001")
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL, [
        {"siren": siren, "statutDiffusionUniteLegale": "P", "categorieJuridiqueUniteLegale": "5499",
         "denominationUniteLegale": "TAMARILLO SECRET SARL", "activitePrincipaleUniteLegale": "43.22A",
         "etatAdministratifUniteLegale": "A", "nicSiegeUniteLegale": s[9:]}])
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET, [
        {"siren": siren, "nic": s[9:], "siret": s, "statutDiffusionEtablissement": "P", "etablissementSiege": "true",
         "etatAdministratifEtablissement": "A", "codePostalEtablissement": "31000",
         "codeCommuneEtablissement": "31555", "activitePrincipaleEtablissement": "43.22A"}])
    return s


def test_a_file_named_after_a_unit_without_its_legal_form_is_masked(tmp_path):
    """Fourth review, PV3: « Tamarillo Secret - factures.csv » names the non-diffusible
    « TAMARILLO SECRET SARL » without its legal form; the file name, the quarantine reason and the
    reconciliation showed it in clear. Its rows still all count (one accepted, one quarantined)."""
    root = tmp_path / "data"
    s = _tamarillo_sirene(root)
    # the unit is paid in mandats.csv under its full name; the file named after it holds another
    # supplier's lines, so nothing typed in it names the unit
    row = {"Fournisseur": "TAMARILLO SECRET SARL", "SIRET": s, "Montant": "120,00", "Date": "15/03/2024",
           "Direction": "DSI", "Catégorie": "Travaux"}
    other = {**row, "Fournisseur": "MENUISERIE DU CANAL", "SIRET": ""}
    write_csv(root / "purchases" / "Tamarillo Secret - factures.csv", HEADER,
              [other, {**other, "Montant": "cent"}], delimiter=";")
    write_csv(root / "purchases" / "mandats.csv", HEADER, [{**row, "Montant": f"{100 + i},00"} for i in range(8)],
              delimiter=";")
    con = run_mini(root, tmp_path)
    texts = _texts(con)
    rec = con.execute("""SELECT sum(data_row_count), sum(accepted_line_count), sum(quarantined_line_count)
                         FROM source_file_reconciliation""").fetchone()
    shown = {r[0] for r in con.execute("SELECT DISTINCT source_file FROM purchase_lines").fetchall()}
    con.close()
    assert not _leaks(texts, ["Tamarillo"]), _leaks(texts, ["Tamarillo"])
    assert tuple(int(x) for x in rec) == (10, 9, 1)
    assert any(f.startswith("purchases/fichier masqué ") for f in shown), shown


def test_the_run_history_lists_a_masked_file_under_its_masked_name(tmp_path):
    """hist_runs.changed_inputs (shown by objective8_changes and objective8_history) listed the
    paths of new, modified and removed inputs in clear, a payment file named after a
    non-diffusible unit included; it now lists it under its masked name, on its arrival and on its
    removal, and the next runs still find it changed or removed."""
    root = tmp_path / "data"
    s = _tamarillo_sirene(root)
    row = {"Fournisseur": "TAMARILLO SECRET SARL", "SIRET": s, "Montant": "120,00", "Date": "15/03/2024",
           "Direction": "DSI", "Catégorie": "Travaux"}
    write_csv(root / "purchases" / "mandats.csv", HEADER, [{**row, "Montant": f"{100 + i},00"} for i in range(8)],
              delimiter=";")
    named = root / "purchases" / "Tamarillo Secret - factures.csv"
    other = {**row, "Fournisseur": "MENUISERIE DU CANAL", "SIRET": ""}
    changes = []
    for step in ("before", "added", "modified", "removed"):
        if step == "added":
            write_csv(named, HEADER, [other], delimiter=";")
        elif step == "modified":
            write_csv(named, HEADER, [other, {**other, "Montant": "80,00"}], delimiter=";")
        elif step == "removed":
            named.unlink()
        con = run_mini(root, tmp_path)
        texts = _texts(con)
        changes.append(con.execute("SELECT changed_inputs FROM objective8_changes LIMIT 1").fetchone()[0])
        con.close()
        assert not _leaks(texts, ["Tamarillo"]), (step, _leaks(texts, ["Tamarillo"]))
    assert changes[0] == "premier calcul conservé", changes
    assert changes[1].startswith("nouveau : purchases/fichier masqué "), changes
    assert changes[2].startswith("modifié : purchases/fichier masqué "), changes
    assert changes[3].startswith("retiré : purchases/fichier masqué "), changes
