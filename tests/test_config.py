"""achats.toml: other spellings accepted; every bad value, unknown key or section named in French."""

from __future__ import annotations

import pytest

from achats.config import load_settings
from achats.errors import InputError
from tests.conftest import run_mini, write_csv


def test_aliases_and_warnings(tmp_path):
    (tmp_path / "achats.toml").write_text(
        '[buyer]\nsiren = "223100017"\nhome_departement = "31"\n\n[thresholds]\nauto_accept = 0.95\n\n'
        '[columns]\nmontant = "Somme"\nfournisseur = "Créancier"\ninconnu = "X"\n\n[autre_outil]\nx = 1\n', encoding="utf-8")
    s = load_settings(tmp_path)
    assert (s.buyer_siren, s.home_departement, s.thresholds.accept) == ("223100017", "31", 0.95)
    assert s.column_mapping == {"amount": "Somme", "supplier_name": "Créancier"}
    assert any("inconnu" in w for w in s.warnings) and any("[autre_outil]" in w for w in s.warnings)


def _error(tmp_path, text: str) -> str:
    (tmp_path / "achats.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_settings(tmp_path)
    return str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    ('[seuils]\naccept = "0,9"\n', "[seuils] accept : « 0,9 » n'est pas un nombre ; écrivez 0.9"),
    ('[seuils]\naccept = "abc"\n', "[seuils] accept : « abc » n'est pas un nombre"),
    ("[seuils]\naccept = 1.5\n", "[seuils] accept : 1,5 est trop grand : au plus 1"),
    ("[seuils]\naccept = 0.6\nreview = 0.7\n", "accept (0,60) doit être supérieur ou égal à review (0,70)"),
    ("[controles]\nmax_unmatched_share = 20\n", "[controles] max_unmatched_share : 20 est trop grand"),
    ("[controles]\nplafond_ligne_eur = -3\n", "[controles] plafond_ligne_eur : -3 est trop petit"),
    ("[controles]\nmax_unmatched_shar = 0.1\n", "clé inconnue « max_unmatched_shar » (vouliez-vous dire"),
    ("[controle]\nmax_unmatched_share = 0.1\n", "section inconnue [controle] (vouliez-vous dire « controles » ?)"),
    ("[seuils]\naccept = 0.9\nauto_accept = 0.95\n", "désignent le même réglage"),
    ('[acheteur]\nsiren = "12345"\n', "[acheteur] siren : « 12345 » n'est pas un SIREN valide"),
    ('[acheteur]\ndepartement = "Haute-Garonne"\n', "n'est pas un code de département"),
    ('[securite]\nliens_externes = "oui"\n', "[securite] liens_externes : « oui » doit valoir true ou false"),
    ("[securite]\ntaille_max_archive_go = 0\n", "[securite] taille_max_archive_go : 0 est trop petit"),
    ("seuils = [1\n", "erreur de syntaxe"),
])
def test_every_bad_value_is_one_french_line_naming_the_key(tmp_path, text, expected):
    message = _error(tmp_path, text)
    assert expected in message and message.startswith("achats.toml")
    assert "Traceback" not in message and "pydantic" not in message and "validation error" not in message


def test_every_problem_is_reported_at_once(tmp_path):
    message = _error(tmp_path, '[seuils]\naccept = "0,9"\n[controles]\nmax_quarantined_share = 2\nzut = 1\n')
    assert len(message.splitlines()) == 3 and "accept" in message and "max_quarantined_share" in message \
        and "zut" in message


def test_valid_settings_are_read_with_their_aliases(tmp_path):
    (tmp_path / "achats.toml").write_text(
        "[controles]\nplafond_ligne_eur = 5000\nmax_unmatched_share = 0.1\n[securite]\nliens_externes = true\n"
        "taille_max_archive_go = 1.5\n[acheteur]\ndepartement = 9\n", encoding="utf-8")
    s = load_settings(tmp_path)
    assert s.controls.max_line_amount_eur == 5000 and s.controls.max_unmatched_share == 0.1
    assert s.security.allow_external_links and s.security.max_archive_bytes == 1.5e9 and s.home_departement == "09"


def test_an_invalid_override_is_ignored_with_its_reason(mini, tmp_path):
    siren, _ = mini.unit("FOURNISSEUR A", cj="5710")
    data = mini.write([{"Fournisseur": "FOURNISSEUR A", "Montant": "10", "Date": "01/02/2024"}])
    write_csv(data / "overrides.csv", ["supplier_name", "siret", "decision"], [["FOURNISSEUR A", "", "12345"]])
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT match_method, siren FROM purchase_lines_resolved").fetchone() == ("name_exact", siren)
    assert "12345" in con.execute("SELECT rejected_reason FROM src_overrides").fetchone()[0]


def test_added_word_rule_setting_in_french_and_checked(tmp_path):
    (tmp_path / "achats.toml").write_text("[seuils]\nsimilarite_mot_ajoute = 0\n", encoding="utf-8")
    assert load_settings(tmp_path).thresholds.added_word_similarity == 0  # the rule turned off
    assert "[seuils] similarite_mot_ajoute : 1,5 est trop grand" in _error(tmp_path, "[seuils]\nsimilarite_mot_ajoute = 1.5\n")
