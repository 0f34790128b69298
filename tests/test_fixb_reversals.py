"""Adversarial review #3, findings 1 and 2: a reversal in another export nets with the payment it
cancels, and a second export that spells the payees otherwise repeats the same payments (same n°
de mandat, date and amount) — expected figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal

from tests.reader_inputs import CROSS_FILE_MAIN as MAIN
from tests.reader_inputs import accounted as _accounted
from tests.reader_inputs import counted as _counted
from tests.reader_inputs import read_exports as _read


def test_a_negative_line_in_another_file_nets_instead_of_replacing(tmp_path):
    lines, files = _read(tmp_path, {
        "mandats_2024.csv": MAIN,
        "annulations_2024.csv": "N° mandat;Date mandat;Tiers;Montant TTC;Direction\n"
                                "D1;15/01/2024;Zorglub Travaux Publics;1000;DSI\n"
                                "D2;16/01/2024;ASSOCIATION QUINOA SOLIDAIRE;-2 000,00;DSI\n"
                                "D9;20/02/2024;ASSOCIATION QUINOA SOLIDAIRE;700,00;DSI\n"})
    # 15 000 + (-2 000 cancels D2) + 700; D1 repeated once
    assert _counted(lines) == Decimal("13700.00")
    assert lines.filter(lines["row_kind"] == "superseded").height == 0
    assert lines.filter(lines["status"] == "duplicate").height == 1
    _accounted(lines, files)


def test_sens_reduction_and_annulation_in_another_file_net(tmp_path):
    lines, files = _read(tmp_path, {
        "mandats_2024.csv": MAIN,
        "mouvements_2024_t1.csv": "N° mandat;Date mandat;Tiers;N° SIRET;Montant TTC;Sens;Direction\n"
                                  "D2;16/01/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;500,00;Réduction;DSI\n"
                                  "D5;19/01/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;5 000,00;Annulation;DSI\n"
                                  "D9;20/02/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;700,00;Mandat;DSI\n"})
    assert _counted(lines) == Decimal("10200.00")  # 15 000 - 500 - 5 000 + 700
    quinoa = lines.filter((lines["status"] == "ok") & (lines["siret_raw"] == "81234567600009"))
    assert sum(Decimal(str(a)) for a in quinoa["amount_eur"].to_list()) == Decimal("2200.00")
    assert lines.filter(lines["status"] != "ok").height == 0
    _accounted(lines, files)


def test_a_corrected_amount_of_the_same_sign_is_still_a_correction(tmp_path):
    lines, _ = _read(tmp_path, {
        "mandats_2024.csv": MAIN,
        "mandats_2024_corrige.csv": "N° mandat;Date mandat;Tiers;N° SIRET;Montant TTC;Direction\n"
                                    "D2;16/01/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;2 100,00;DSI\n"})
    assert _counted(lines) == Decimal("15100.00")
    assert lines.filter(lines["row_kind"] == "superseded")["source_file"].to_list() == ["purchases/mandats_2024.csv"]


def test_same_payments_spelled_otherwise_without_siret_count_once(tmp_path):
    lines, files = _read(tmp_path, {
        "mandats_2024.csv": MAIN,
        "extraction_gf_janvier_2024.csv": "N° mandat;Date mandat;Tiers;Montant TTC;Direction\n"
                                          "D3;17/01/2024;ZORGLUB TP;3 000,00;DSI\n"
                                          "D4;18/01/2024;STE ZORGLUB TRAVAUX PUBLICS;4 000,00;DSI\n"
                                          "D5;19/01/2024;ASSOC QUINOA SOLIDAIRE;5 000,00;DSI\n"})
    assert _counted(lines) == Decimal("15000.00")
    dup = lines.filter(lines["status"] == "duplicate")
    assert sorted(dup["source_row"].to_list()) == [1, 2, 3]
    assert set(dup["duplicate_of"].to_list()) == {"purchases/mandats_2024.csv"}
    assert all("n° de mandat" in r for r in dup["quarantine_reason"].to_list())
    _accounted(lines, files)


def test_same_mandate_date_amount_but_unrelated_payees_stay_two_payments(tmp_path):
    lines, _ = _read(tmp_path, {
        "mandats_2024.csv": MAIN,
        # another payee (no common word), and another SIREN: not the same payment
        "autre_budget_2024.csv": "N° mandat;Date mandat;Tiers;N° SIRET;Montant TTC;Direction\n"
                                 "D3;17/01/2024;BOULANGERIE MARTIN;44306184100047;3 000,00;DSI\n"
                                 "D4;18/01/2024;ZORGLUB TRAVAUX PUBLICS;55210055400013;4 000,00;DSI\n"})
    assert _counted(lines) == Decimal("22000.00")
    assert lines.filter(lines["status"] == "duplicate").height == 0


def test_an_ess_share_outside_0_100_is_never_silent(sample_run, tmp_path):
    """Cancellations larger than a period's payments give a « share » below 0: `achats run` says so."""
    import shutil

    import duckdb

    from achats.paths import sample_dir
    from achats.pipelines.cli import input_warnings

    copy = tmp_path / "copy.duckdb"
    shutil.copy(sample_run["warehouse"], copy)
    before = input_warnings(copy, sample_dir())
    assert not any("hors de 0–100 %" in w or "dépense totale négative" in w for w in before)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE mart_objective8_summary SET ess_share = -1.5 WHERE period = 'ALL'")
        con.execute("UPDATE mart_objective8_summary SET total_amount_eur = -10, ess_share = NULL "
                    "WHERE period = (SELECT min(period) FROM mart_objective8_summary WHERE period LIKE '20%')")
    after = [w for w in input_warnings(copy, sample_dir()) if w not in before]
    assert len(after) == 2
    assert any(w.startswith("part ESS de -150,0 % pour la période ALL : hors de 0–100 %") for w in after)
    assert any(w.startswith("dépense totale négative (-10 €) pour la période 20") for w in after)
    from achats.dashboards.build import _reconciliation

    with duckdb.connect(str(copy), read_only=True) as con:
        _, panel = _reconciliation(con)
    assert "Part ESS de -150,0 % pour la période ALL : hors de 0–100 %" in panel
