"""Adversarial review 15, defect 8 (case TVA): a « TVA » column beside « Montant HT » whose values
are all French rates (20, 20, 5,5, 10) but were VAT amounts of invoices mixing 10 % and 20 %. The
values alone cannot tell the two readings apart (a column of rates beside HT of 100 to 950 € reads
the same, and is the likelier one), so the rate reading stays, but the run now says « À VÉRIFIER »
with both totals, and `[colonnes] montant_tva` lets the buyer say the column holds euros."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import polars as pl
import pytest

from achats.errors import InputError
from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import accounted, counted, read_exports

T, TS = "TRANSPORTS PYRENEENS", "90400002300005"
G, GS = "ASSOCIATION LES GRILLONS", "90400001500001"
TVA = ("Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant HT;TVA\n"
       f"2024;1;05/02/2024;{T};{TS};150,00;20,00\n2024;2;06/02/2024;{T};{TS};300,00;20,00\n"
       f"2024;3;07/02/2024;{G};{GS};80,00;5,50\n2024;4;08/02/2024;{T};{TS};190,00;10,00\n")


def _notes(files: pl.DataFrame) -> str:
    return "\n".join(n for n in files["column_note"].to_list() if n)


def test_rates_that_could_be_vat_amounts_are_said_with_both_totals(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats.csv": TVA})
    accounted(lines, files)
    # read as rates (the likelier reading): 150 × 1,2 + 300 × 1,2 + 80 × 1,055 + 190 × 1,1
    assert counted(lines) == Decimal("833.40")
    notes = _notes(files)
    assert "À VÉRIFIER" in notes and "« TVA »" in notes
    # by hand, as euros: 170 + 320 + 85,50 + 200
    assert "ces lignes comptent 833,40 €" in notes and "elles compteraient 775,50 €" in notes
    assert 'montant_tva = "TVA"' in notes


def test_a_value_that_cannot_be_a_vat_amount_leaves_no_doubt(tmp_path):
    """20,00 beside 50,00 HT is 40 % of it, no VAT amount: the column is rates, nothing to check."""
    text = TVA + f"2024;5;09/02/2024;{T};{TS};50,00;20,00\n"
    lines, files = read_exports(tmp_path, {"mandats.csv": text})
    assert counted(lines) == Decimal("893.40")
    assert "donne un taux de TVA" in _notes(files) and "À VÉRIFIER" not in _notes(files)


def test_montant_tva_reads_the_column_as_euros(tmp_path):
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "mandats.csv").write_text(TVA, encoding="utf-8")
    lines, files = read_purchase_sources(tmp_path, {"amount_vat": "TVA"})
    assert counted(lines) == Decimal("775.50")
    assert lines.sort("source_line")["amount_raw"].to_list()[2] == "80,00 + 5,50"
    assert "À VÉRIFIER" not in _notes(files)
    # added to a TTC amount the VAT would count twice: refused, naming the file and both columns
    (tmp_path / "purchases" / "mandats.csv").write_text(TVA.replace("Montant HT", "Montant TTC"), encoding="utf-8")
    with pytest.raises(InputError, match=r"mandats\.csv.*montant_tva.*« Montant TTC » n'est pas un montant HT"):
        read_purchase_sources(tmp_path, {"amount_vat": "TVA"})


def test_tva_case_end_to_end_with_montant_tva(mini, tmp_path, capsys):
    """The case TVA with `[colonnes] montant_tva = "TVA"` in achats.toml: total 775,50 €, ESS
    85,50 € (the association's line), and the independent re-read of the file agrees."""
    from achats.pipelines.cli import main
    from achats.recount import file_total_mismatches

    _, ts = mini.unit(T, cj="5710")
    _, gs = mini.unit(G, cj="9220", naf="88.99B")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "purchases" / "mandats.csv").write_text(TVA.replace(TS, ts).replace(GS, gs), encoding="utf-8")
    (data / "achats.toml").write_text('[colonnes]\nmontant_tva = "TVA"\n', encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        total, ess = con.execute(
            "SELECT total_amount_eur, ess_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()
        assert (total, ess) == (Decimal("775.50"), Decimal("85.50"))
        assert file_total_mismatches(con, data) == ([], 0)
