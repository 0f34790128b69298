"""Adversarial review 15, leftover of defect 5: a mandate not paid yet (« Montant payé » empty,
« Montant TTC » 3 000,00) had its amount only in its quarantine reason, and
source_file_reconciliation.not_paid_amount_eur said 0. It now carries the mandate's amount, as a
rejected mandate does, never in the spending, and an independent re-read of the raw file checks it."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from achats.pipelines.cli import main
from achats.recount import not_paid_mismatches

HEADER = "Exercice;N° mandat;Date mandat;Date de paiement;Fournisseur;SIRET;Montant TTC;Montant payé\n"


def test_an_unpaid_mandate_amount_is_in_not_paid_amount_and_reread(mini, tmp_path, capsys):
    """By hand: paid 1 000 + 500 = 1 500 € (the spending); not paid: the 3 000 € mandate (not paid
    yet) and the rejected 700 € one, 3 700 €; the file's total row (1 500,00, the paid column) is a
    net total: 1 000 + 3 000 + 700 + 500 read, less 3 700 not paid."""
    _, zorglub = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710")
    _, quinoa = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "purchases" / "mandats_2024.csv").write_text(
        HEADER.replace("Montant payé\n", "Montant payé;État du mandat\n")
        + f"2024;1;05/03/2024;15/03/2024;ZORGLUB TRAVAUX PUBLICS;{zorglub};1 000,00;1 000,00;Payé\n"
        + f"2024;2;06/12/2024;;ASSOCIATION QUINOA SOLIDAIRE;{quinoa};3 000,00;;Pris en charge\n"
        + f"2024;3;07/06/2024;20/06/2024;ASSOCIATION QUINOA SOLIDAIRE;{quinoa};500,00;500,00;Payé\n"
        + f"2024;4;08/06/2024;;ZORGLUB TRAVAUX PUBLICS;{zorglub};700,00;700,00;Rejeté\n"
        + "Total;;;;;;;1 500,00;\n", encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "d")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        total, ess = con.execute("SELECT total_amount_eur, ess_amount_eur FROM objective8_summary "
                                 "WHERE period = 'ALL'").fetchone()
        assert (total, ess) == (Decimal("1500.00"), Decimal("500.00"))
        got = dict(con.execute("SELECT source_line, amount_eur FROM purchase_lines WHERE row_kind = 'not_paid'"
                               ).fetchall())
        assert got == {3: Decimal("3000.00"), 5: Decimal("700.00")}
        rec = con.execute("SELECT not_paid_line_count, not_paid_amount_eur, declared_total_eur, has_matching_total, "
                          "total_difference_eur FROM source_file_reconciliation").fetchone()
        assert rec == (2, Decimal("3700.00"), Decimal("1500.00"), True, Decimal("0.00"))
        assert not_paid_mismatches(con, data) == ([], 0)
        # a published amount the raw file does not hold is caught, with the file named
        con.execute("UPDATE src_purchase_lines SET amount_eur = 2000 WHERE row_kind = 'not_paid' AND source_line = 3")
        bad, _ = not_paid_mismatches(con, data)
    assert len(bad) == 1 and "mandats_2024.csv" in bad[0] and "2 700,00" in bad[0] and "3 700,00" in bad[0], bad
