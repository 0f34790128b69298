"""achats.toml: other spellings accepted, unknown keys reported without stopping the run."""

from __future__ import annotations

from achats.config import load_settings
from tests.conftest import run_mini, write_csv


def test_aliases_and_warnings(tmp_path):
    (tmp_path / "achats.toml").write_text(
        '[buyer]\nsiren = "223100017"\nhome_departement = "31"\n\n[thresholds]\nauto_accept = 0.95\nbizarre = 1\n\n'
        '[columns]\nmontant = "Somme"\nfournisseur = "Créancier"\ninconnu = "X"\n', encoding="utf-8")
    s = load_settings(tmp_path)
    assert (s.buyer_siren, s.home_departement, s.thresholds.accept) == ("223100017", "31", 0.95)
    assert s.column_mapping == {"amount": "Somme", "supplier_name": "Créancier"}
    assert any("bizarre" in w for w in s.warnings) and any("inconnu" in w for w in s.warnings)


def test_an_invalid_override_is_ignored_with_its_reason(mini, tmp_path):
    siren, _ = mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    write_csv(data / "overrides.csv", ["supplier_name", "siret", "decision"], [["FOURNISSEUR A", "", "12345"]])
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT match_method, siren FROM purchase_lines_resolved").fetchone() == ("name_exact", siren)
    assert "12345" in con.execute("SELECT rejected_reason FROM src_overrides").fetchone()[0]
