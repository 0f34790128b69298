"""A mandate not yet paid when the export was taken (adversarial review 14, reviewer A, defect 8,
case PAY): « Montant payé » and « Date de paiement » empty, « Montant TTC » 3 000. It is no spending
yet — what the README counts is what was paid — so it is left out as a known non-payment
(row_kind 'not_paid', with its reason), not quarantined as a malformed « montant manquant » that
counts toward max_quarantined_share and stopped the run (1 line in 3)."""

from __future__ import annotations

import polars as pl

from achats.pipelines.cli import main
from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import write_export

HEADER = "Exercice;N° mandat;Date mandat;Date de paiement;Fournisseur;SIRET;Montant TTC;Montant payé\n"


def test_pay_an_unpaid_mandate_is_left_out_and_the_run_publishes(mini, tmp_path):
    """By hand: paid 1 000 (ZORGLUB, not ESS) + 500 (PAMPLEMOUSSE, ESUS) = 1 500 €, ESS 500 €;
    the 3 000 € mandate of 06/12/2024 was not paid when the export was taken."""
    _, zorglub = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710")
    _, quinoa = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    siren, pamplemousse = mini.unit("PAMPLEMOUSSE SERVICES", cj="5710")
    data = mini.write([
        ["2024", "1", "05/03/2024", "15/03/2024", "ZORGLUB TRAVAUX PUBLICS", zorglub, "1 000,00", "1 000,00"],
        ["2024", "2", "06/12/2024", "", "ASSOCIATION QUINOA SOLIDAIRE", quinoa, "3 000,00", ""],
        ["2024", "3", "07/06/2024", "20/06/2024", "PAMPLEMOUSSE SERVICES", pamplemousse, "500,00", "500,00"],
    ], header=HEADER.strip().split(";"),
        esus=[{"siren": siren, "raison_sociale": "PAMPLEMOUSSE SERVICES", "date_agrement": "2020-01-01"}])
    (data / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.05\n", encoding="utf-8")
    wh = tmp_path / "wh" / "w.duckdb"
    assert main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "d")]) == 0
    import duckdb

    with duckdb.connect(str(wh), read_only=True) as con:
        total, ess = con.execute("SELECT total_amount_eur, ess_amount_eur FROM objective8_summary "
                                 "WHERE period = 'ALL'").fetchone()
        assert (float(total), float(ess)) == (1500.0, 500.0)
        kind, status, reason = con.execute("SELECT row_kind, status, quarantine_reason FROM purchase_lines "
                                           "WHERE source_line = 3").fetchone()
        assert (kind, status) == ("not_paid", "quarantined")
        assert reason.startswith("purchases/achats.csv, ligne 3, champ « Montant payé » : vide, « Montant TTC » = "
                                 "« 3 000,00 » : mandat pas encore payé à la date de l'export")
        rec = con.execute("SELECT not_paid_line_count, quarantined_line_count FROM source_file_reconciliation"
                          ).fetchone()
        assert rec == (1, 1)


def _read(tmp_path, rows: str) -> pl.DataFrame:
    write_export(tmp_path, "m.csv", HEADER + rows)
    return read_purchase_sources(tmp_path)[0]


def test_only_a_blank_paid_cell_beside_a_mandated_amount_is_unpaid(tmp_path):
    """Counter-examples: a payment date with no amount paid is malformed (« montant manquant »), as
    is a line with neither amount; a paid « 0,00 » is read as written (0 paid)."""
    lines = _read(tmp_path, "2024;1;05/03/2024;15/03/2024;ZORGLUB;81234568400003;1 000,00;\n"
                            "2024;2;05/03/2024;;ZORGLUB;81234568400003;;\n"
                            "2024;3;05/03/2024;;ZORGLUB;81234568400003;2 000,00;0,00\n"
                            "2024;4;05/03/2024;;ZORGLUB;81234568400003;4 000,00;\n")
    got = {r["source_line"]: (r["status"], r["row_kind"], r["quarantine_reason"] or "", r["amount_eur"])
           for r in lines.iter_rows(named=True)}
    assert got[2][:2] == ("quarantined", "data") and got[2][2].endswith("montant manquant")
    assert got[3][:2] == ("quarantined", "data") and got[3][2].endswith("montant manquant")
    assert got[4][:2] == ("ok", "data") and float(got[4][3]) == 0.0
    assert got[5][:2] == ("quarantined", "not_paid") and "« 4 000,00 » : mandat pas encore payé" in got[5][2]


def test_without_a_paid_column_a_blank_amount_stays_missing(tmp_path):
    """« Montant mandaté » beside « Montant TTC »: the mandated amount is the amount, nothing says
    what was paid; a blank cell there is « montant manquant », as before."""
    write_export(tmp_path, "m.csv", "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC;Montant mandaté\n"
                                    "2024;1;05/03/2024;ZORGLUB;81234568400003;1 000,00;\n")
    lines = read_purchase_sources(tmp_path)[0]
    assert lines.select("status", "row_kind").row(0) == ("quarantined", "data")
    assert lines["quarantine_reason"][0].endswith("champ « Montant mandaté » : montant manquant")
