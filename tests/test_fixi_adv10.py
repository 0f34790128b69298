"""Adversarial review adv10 (integrate 1d1ded3), defects 7 and 10: a « N° TVA intracommunautaire »
column read as the supplier's identifier (case SI2), and the name of a non-diffusible unit in the
path of a purchase file (case PV). Inputs are the reviewer's, figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from achats.identifiers import vat_identifier
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
