"""Adversarial review adv10 (integrate 1d1ded3), defects 7 and 10: a « N° TVA intracommunautaire »
column read as the supplier's identifier (case SI2), and the name of a non-diffusible unit in the
path of a purchase file (case PV). Inputs are the reviewer's, figures computed by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from achats.sources.purchases import map_headers
from tests.conftest import run_mini
from tests.reader_inputs import accounted, counted, read_exports


def _vat(siren: str) -> str:
    """The French VAT number of a SIREN (key = (12 + 3 × (SIREN mod 97)) mod 97)."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


# --- defect 7 (case SI2): the VAT-number column ---------------------------------------------------

@pytest.mark.parametrize(("header", "field"), [
    ("N° TVA intracommunautaire", "vat_number"), ("Numéro de TVA intracommunautaire", "vat_number"),
    ("TVA intracom.", "vat_number"), ("N° TVA intra", "vat_number"), ("Identifiant TVA", "vat_number"),
    ("N° de TVA du tiers", "vat_number"), ("VAT number", "vat_number"),
    ("Montant TVA", None), ("Taux TVA", None), ("Assujetti TVA", None), ("Code TVA", None),
])
def test_vat_number_headers(header, field):
    """The supplier's VAT number under its usual headers, never a VAT amount, rate or code."""
    cols = map_headers(["Fournisseur", "Montant HT", header])
    assert cols.get("vat_number") == (2 if field else None), cols


def test_vat_identifier_kinds():
    """French numbers give their SIREN only when the key checks; other countries' numbers give none."""
    from achats.identifiers import vat_identifier

    assert vat_identifier("FR 19 812345676") == ("siren", "812345676")
    assert vat_identifier("fr19812345676") == ("siren", "812345676")
    assert vat_identifier("TVA : FR19 812 345 676") == ("siren", "812345676")
    assert vat_identifier("FR18812345676") == ("invalid", None)  # wrong key: no guess
    for foreign in ("BE0403170701", "BE 0403.170.701", "DE123456789", "ATU12345678", "CHE-123.456.789"):
        assert vat_identifier(foreign) == ("foreign", None), foreign
    assert vat_identifier("non assujetti") == ("text", None)
    assert vat_identifier("") == ("", None)


def test_si2_vat_column_without_siret_matches_by_siren(mini, tmp_path):
    """SI2: QUINOA's VAT number written three ways (« FR 19 812345676 », lowercase, « FR19 812 345
    676 » under the name « ASSOC Q »): the three lines are QUINOA by its SIREN, so its 6 000 € are
    certain ESS (low extreme bound 6 000 €); the Belgian supplier's 4 000 € holds no SIREN, is
    matched by name only (here: nobody) and the file's note says so."""
    quinoa, _ = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    mini.unit("SF FOURNIER", cj="5499")
    data = mini.write([])
    v = _vat(quinoa)
    (data / "purchases" / "achats.csv").write_text(
        "Date de paiement;N° mandat;Fournisseur;N° TVA intracommunautaire;Montant TTC\n"
        f"05/02/2024;101;QUINOA;{v[:2]} {v[2:4]} {v[4:]};1 000,00\n"
        f"06/02/2024;102;QUINOA;{v.lower()};2 000,00\n"
        f"07/02/2024;103;ASSOC Q;{v[:4]} {v[4:7]} {v[7:10]} {v[10:]};3 000,00\n"
        "08/02/2024;104;FOURNISSEUR BELGE;BE0403170701;4 000,00\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    got = dict(con.execute("""
        SELECT p.source_line, [r.siren, r.match_method] FROM purchase_lines AS p
        JOIN purchase_lines_resolved AS r USING (line_id)""").fetchall())
    assert got[2] == got[3] == got[4] == [quinoa, "siren"]
    assert got[5][0] is None
    total, ess, low = con.execute("""
        SELECT total_amount_eur, ess_amount_eur, ess_amount_extreme_low_eur FROM objective8_summary
        WHERE period = 'ALL'""").fetchone()
    assert total == Decimal("10000.00") and low == Decimal("6000.00") and ess >= Decimal("6000.00")
    note = con.execute("SELECT string_agg(column_note, ' ') FROM src_purchase_files").fetchone()[0] or ""
    assert "numéro de TVA étranger (ligne 5 : « BE0403170701 »)" in note


def test_vat_column_beside_a_siret_column(tmp_path):
    """Both columns: a SIRET that checks wins (it names the establishment paid) and a VAT number
    of another SIREN is reported line by line; an empty or unreadable SIRET takes the VAT number's
    SIREN; a wrong VAT key alone stays the line's identifier, so it is flagged invalid downstream."""
    q = "812345676"
    qs, zs = "81234567600009", "81234568400003"
    text = ("Fournisseur;SIRET;N° TVA;Montant\n"
            f"QUINOA;{qs};{_vat(q)};100,00\n"          # agree: SIRET kept
            f"ZORGLUB;{zs};{_vat(q)};200,00\n"         # disagree: SIRET kept, said
            f"QUINOA;;{_vat(q)};300,00\n"              # empty SIRET: VAT's SIREN
            f"QUINOA;123 45;{_vat(q)};400,00\n"  # unreadable SIRET: VAT's SIREN
            "QUINOA;;FR18812345676;500,00\n"            # wrong VAT key: kept, flagged later
            "SOCIETE ITALIANA;;IT 00743110157;600,00\n"  # foreign: no SIREN
            "ZORGLUB;;non assujetti;700,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    accounted(lines, files)
    assert counted(lines) == Decimal("2800.00")
    assert lines.sort("source_line")["siret_raw"].to_list() == [
        qs, zs, _vat(q), _vat(q), "FR18812345676", None, None]
    note = files["column_note"][0]
    assert "1 ligne(s) où « SIRET » et « N° TVA » désignent deux SIREN différents (ligne 3 :" in note
    assert "1 ligne(s) dont « SIRET » ne se lit pas (ligne 5 : « 123 45 »)" in note
    assert "numéro de TVA étranger (ligne 7 : « IT 00743110157 »)" in note
    assert "pas de numéro de TVA lisible dans la colonne « N° TVA » (ligne 8 : « non assujetti »)" in note


# --- defect 10 (case PV): the path of a file named after a non-diffusible person ------------------

PV_FILE = "Mandats 2024 - Wojciechowski.csv"


def _pv_data(mini) -> tuple:
    """PV: the person WOJCIECHOWSKI BARNABE (statutDiffusion P) and the payment file named after
    him, read and counted (QUINOA 4 000 € ESS, ZORGLUB 6 000 €, the person 500 €), beside another
    export (ZORGLUB 100 €)."""
    quinoa, qs = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    _, zs = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    person, ps = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                           prenom1UniteLegale="BARNABE")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": zs, "Montant": "100", "Date": "01/03/2024"}])
    text = ("Date de paiement;N° mandat;Fournisseur;SIRET;Objet;Montant TTC\n"
            f"05/02/2024;101;ZORGLUB TRAVAUX PUBLICS;{zs};Travaux;1 000,00\n"
            f"06/02/2024;102;ZORGLUB TRAVAUX PUBLICS;{zs};Honoraires;2 000,00\n"
            f"07/02/2024;103;ZORGLUB TRAVAUX PUBLICS;{zs};Devis n° 12;3 000,00\n"
            f"08/02/2024;104;ASSOCIATION QUINOA SOLIDAIRE;{qs};Subvention;4 000,00\n"
            f"09/02/2024;105;WOJCIECHOWSKI-BARNABE;{ps};Prestation;500,00\n")
    (data / "purchases" / PV_FILE).write_text(text, encoding="utf-8")
    # a DECP file named after him too: contract_renewals.source_file names it
    (data / "contracts").mkdir()
    (data / "contracts" / "DECP Wojciechowski 2024.json").write_text(json.dumps({"marches": [{
        "id": "2024-1", "acheteur": {"id": "22310001700013"}, "nature": "Marché", "objet": "Entretien",
        "codeCPV": "90910000", "dateNotification": "2024-03-01", "montant": 1000, "dureeMois": 12,
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": qs}}]}]}), encoding="utf-8")
    # the third run drops the file's 6 lines on purpose
    (data / "achats.toml").write_text("[controles]\nmax_line_count_drop = 0.95\n", encoding="utf-8")
    return data, person


def test_pv_file_named_after_a_person_is_masked_in_every_analyst_table_and_output(mini, tmp_path):
    """The file's real name stays only in the internal raw tables (src_*, stg_*, sources_manifest):
    input_files and hist_sources show the masked name, across two runs (the file modified, then a
    third without it), and tie it to its lines by file_id, the md5 of the real path. The figures do
    not move: 10 600 € paid, QUINOA's 4 000 € ESS."""
    import hashlib

    import duckdb

    from achats.pipelines.cli import input_warnings
    from tests.test_privacy import _leaks, _outputs
    from tests.test_privacy_planted import _texts

    data, person = _pv_data(mini)
    real = f"purchases/{PV_FILE}"
    file_id = hashlib.md5(real.encode()).hexdigest()
    path = data / "purchases" / PV_FILE
    for step in ("first", "modified", "removed"):
        if step == "modified":
            path.write_text(path.read_text(encoding="utf-8") + "10/02/2024;106;ZORGLUB TRAVAUX PUBLICS;;Reprise;"
                            "100,00\n", encoding="utf-8")
        elif step == "removed":
            path.unlink()
        con = run_mini(data, tmp_path)
        texts = _texts(con)
        # what stays internal (the input's raw path) is named, nothing else is left out
        assert con.execute("SELECT count(*) FROM sources_manifest WHERE path = ?", [real]).fetchone()[0] \
            == (0 if step == "removed" else 1)
        hist = con.execute("SELECT run_id, path, kind FROM hist_sources WHERE file_id = ?", [file_id]).fetchall()
        changes = con.execute("SELECT changed_inputs FROM objective8_changes LIMIT 1").fetchone()[0]
        total, ess = con.execute("SELECT total_amount_eur, ess_amount_eur FROM objective8_summary "
                                 "WHERE period = 'ALL'").fetchone()
        if step == "first":
            shown = con.execute("SELECT path, is_path_masked FROM input_files WHERE file_id = ?", [file_id]).fetchone()
            assert shown[1] and shown[0].startswith("purchases/fichier masqué ") and person in shown[0]
            # traceability: the masked path is the one purchase_lines gives the file's lines
            lines = con.execute("SELECT count(*), sum(amount_eur) FROM purchase_lines WHERE source_file = ?",
                                [shown[0]]).fetchone()
            assert lines == (5, Decimal("10500.00"))
            assert (total, ess) == (Decimal("10600.00"), Decimal("4000.00"))
            contract = con.execute("SELECT source_file FROM contract_renewals").fetchall()
            assert len(contract) == 1 and contract[0][0].startswith("contracts/fichier masqué "), contract
        con.close()
        assert not _leaks(texts, ["Wojciech"]), (step, _leaks(texts, ["Wojciech"]))
        assert hist and all(p == shown[0] and k == "purchases" for _, p, k in hist), hist
        assert len(hist) == (1 if step == "first" else 2)  # one row per run that had the file
        if step == "modified":
            assert changes == f"modifié : {shown[0]}"
        if step == "removed":
            assert changes == f"retiré : {shown[0]}"
    wh = tmp_path / "wh" / "w.duckdb"
    outputs = _outputs(wh, data, tmp_path / "dash", tmp_path)
    outputs["avertissements du calcul"] = "\n".join(input_warnings(wh, data))
    assert not _leaks(outputs, ["Wojciech"]), _leaks(outputs, ["Wojciech"])
    with duckdb.connect(str(wh), read_only=True) as con:
        assert {r[0] for r in con.execute("SELECT DISTINCT file_id FROM hist_sources").fetchall()} >= {file_id}


def test_pv_history_kept_from_an_earlier_version_is_masked_too(mini, tmp_path):
    """A warehouse written by the previous version kept the real path in hist_sources.path (and no
    file_id): the next run masks those rows as well, gives them the file_id of the real path, and
    still finds the inputs unchanged."""
    import duckdb

    data, _ = _pv_data(mini)
    run_mini(data, tmp_path).close()
    wh = tmp_path / "wh" / "w.duckdb"
    with duckdb.connect(str(wh)) as con:  # as the previous version wrote it
        con.execute("UPDATE hist_sources AS h SET path = s.path FROM sources_manifest AS s WHERE md5(s.path) = h.file_id")
        con.execute("ALTER TABLE hist_sources DROP COLUMN file_id")
        assert con.execute("SELECT count(*) FROM hist_sources WHERE path = ?", [f"purchases/{PV_FILE}"]).fetchone()[0]
    con = run_mini(data, tmp_path)
    rows = con.execute("SELECT DISTINCT file_id, path FROM hist_sources WHERE path LIKE 'purchases/%Wojc%' "
                       "OR path LIKE 'purchases/fichier masqué %'").fetchall()
    change = con.execute("SELECT changed_inputs FROM objective8_changes LIMIT 1").fetchone()[0]
    runs = con.execute("SELECT count(DISTINCT run_id) FROM hist_sources").fetchone()[0]
    con.close()
    assert len(rows) == 1 and rows[0][1].startswith("purchases/fichier masqué "), rows
    assert change == "aucun changement des entrées" and runs == 2
