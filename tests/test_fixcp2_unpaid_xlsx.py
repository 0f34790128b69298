"""Adversarial review 16, defect 6 (case NPX3): a mandate not paid yet whose « Montant TTC » is a
spreadsheet number with decimals (1500.5, 1234.56) lost its amount: the number was formatted as text
(« 1500.5 ») and parsed with the file's French format, so not_paid_amount_eur said 2 000 € instead of
4 735,06 €, and the re-read left those lines out. The cell's number is now read as a number."""

from __future__ import annotations

from decimal import Decimal

import duckdb
from openpyxl import Workbook

from achats.pipelines.cli import main
from achats.recount import not_paid_mismatches


def test_npx3_unpaid_mandates_with_decimal_number_cells_keep_their_amount(mini, tmp_path, capsys):
    """By hand: paid 1 000 € (association) + 4 000 € (SARL) = 5 000 €, ESS 1 000 €; not paid yet:
    1 500,50 + 2 000,00 + 1 234,56 = 4 735,06 €, in no spending."""
    _, grillons_siret = mini.unit("ASSOCIATION LES GRILLONS", cj="9220")
    _, transports = mini.unit("TRANSPORTS PYRENEENS", cj="5710")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    wb = Workbook()
    ws = wb.active
    ws.title = "Mandats"
    ws.append(["Exercice", "N° mandat", "Date mandat", "Fournisseur", "SIRET", "Montant TTC", "Montant payé"])
    for row in ([2024, 1, "05/02/2024", "ASSOCIATION LES GRILLONS", grillons_siret, 1000, 1000],
                [2024, 2, "05/03/2024", "TRANSPORTS PYRENEENS", transports, 4000, 4000],
                [2024, 3, "05/04/2024", "ASSOCIATION LES GRILLONS", grillons_siret, 1500.5, None],
                [2024, 4, "05/04/2024", "ASSOCIATION LES GRILLONS", grillons_siret, 2000, None],
                [2024, 5, "05/04/2024", "ASSOCIATION LES GRILLONS", grillons_siret, 1234.56, None]):
        ws.append(row)
    wb.save(data / "purchases" / "mandats_2024.xlsx")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "d")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        total, ess = con.execute("SELECT total_amount_eur, ess_amount_eur FROM objective8_summary "
                                 "WHERE period = 'ALL'").fetchone()
        assert (total, ess) == (Decimal("5000.00"), Decimal("1000.00"))
        got = dict(con.execute("SELECT source_line, amount_eur FROM purchase_lines WHERE row_kind = 'not_paid'"
                               ).fetchall())
        assert got == {4: Decimal("1500.50"), 5: Decimal("2000.00"), 6: Decimal("1234.56")}
        rec = con.execute("SELECT not_paid_line_count, not_paid_amount_eur FROM source_file_reconciliation").fetchone()
        assert rec == (3, Decimal("4735.06"))
        assert not_paid_mismatches(con, data) == ([], 0)
        # the re-read compares the number cells: a wrong published cent is caught
        con.execute("UPDATE src_purchase_lines SET amount_eur = 1500.00 WHERE row_kind = 'not_paid' AND source_line = 4")
        bad, _ = not_paid_mismatches(con, data)
    assert len(bad) == 1 and "mandats_2024.xlsx" in bad[0] and "4 735,06" in bad[0], bad
