"""Adversarial review 14b, defect 12 (cases ZERO, IDF): a SIRET or SIREN that lost two or more
leading zeros in a spreadsheet is put back when its key checks, its unit exists and its name
agrees with the typed one; otherwise it stays an invalid identifier."""

from __future__ import annotations

from achats.identifiers import clean_identifier, complete_luhn, siren_valid, zeros_restored
from tests.conftest import run_mini


def test_zeros_restored_only_when_the_key_checks():
    siren = complete_luhn("00200003")  # a SIREN that starts with two zeros
    siret = complete_luhn(siren + "0000")
    assert clean_identifier(siret[2:]) == (None, None)  # 12 digits: invalid until now
    assert zeros_restored(siret[2:]) == siret
    assert zeros_restored(f"'{siret[2:]}") == siret and zeros_restored(siret[2:] + ".0") == siret
    assert zeros_restored(siret[2:5] + " " + siret[5:]) == siret
    wrong = siret[2:-1] + str((int(siret[-1]) + 1) % 10)
    assert zeros_restored(wrong) is None  # the key fails once padded
    seven = complete_luhn("00834100")
    six = complete_luhn("00083410")
    assert zeros_restored(seven[2:]) == seven and zeros_restored(six[3:]) == six  # SIRENs, 7 and 6 digits
    assert siren_valid(seven) and siren_valid(six)
    # one lost zero stays clean_identifier's; 9, 14 and other lengths, placeholders: nothing
    assert clean_identifier(siret[1:]) == (siret, siren)
    for raw in (siret[1:], siret, siren, seven[1:], "12345", "1" * 12, "123456789012345", None, "", "W643000123"):
        assert zeros_restored(raw) is None, raw


def test_zero_and_idf_end_to_end(mini, tmp_path):
    """ZERO/IDF: the association's SIRET typed without its two leading zeros is matched by SIRET;
    the same number typed against an unrelated name is not taken (invalid identifier, name match)."""
    assoc, assoc_siret = mini.unit("ASSOCIATION ZERO INITIAL", cj="9220", naf="88.99B", n=200003)
    other, _ = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499", naf="42.11Z")
    secret, secret_siret = mini.unit("ASSOCIATION PRUNELLIER", cj="9220", naf="88.99B", n=300004,
                                     statutDiffusionUniteLegale="P")
    assert assoc_siret.startswith("00") and not assoc_siret.startswith("000")
    data = mini.write([
        {"Fournisseur": "ASSOCIATION ZERO INITIAL", "SIRET": assoc_siret[2:], "Montant": "8,00", "Date": "05/02/2024"},
        {"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": assoc_siret[2:], "Montant": "16,00", "Date": "05/02/2024"},
        # a quarantined line (no amount) typing a non-diffusible unit's SIRET without its zeros
        {"Fournisseur": "AMICALE PRUNELLIER 64", "SIRET": secret_siret[2:], "Montant": "", "Date": "05/02/2024"},
    ])
    (data / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.9\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    rows = dict((r[0], r[1:]) for r in con.execute("""
        SELECT m.supplier_name, m.siren, m.siret, m.match_method, m.match_status, m.id_flag
        FROM res_supplier_match AS m""").fetchall())
    assert rows["ASSOCIATION ZERO INITIAL"] == (assoc, assoc_siret, "siret", "matched", None)
    assert rows["ZORGLUB TRAVAUX PUBLICS"][0] == other
    assert rows["ZORGLUB TRAVAUX PUBLICS"][2] != "siret"
    assert rows["ZORGLUB TRAVAUX PUBLICS"][4] == "identifiant invalide (longueur ou clé de contrôle)"
    low, high = con.execute("""SELECT ess_amount_low_eur, ess_amount_high_eur FROM objective8_summary
                               WHERE period = 'ALL'""").fetchone()
    assert (float(low), float(high)) == (8.0, 8.0)
    shown = con.execute("SELECT string_agg(supplier_name, ' | ') FROM purchase_lines").fetchone()[0]
    assert "PRUNELLIER" not in shown and f"unité non diffusible (SIREN {secret})" in shown
