"""What analysts rely on: example queries, the data dictionary, the Excel export, read-only access."""

from __future__ import annotations

from pathlib import Path

import duckdb
import openpyxl
import pytest

from achats.export import CONTRACT_VIEWS, data_dictionary, example_queries
from achats.pipelines.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs" / "dictionnaire_donnees.md"


@pytest.mark.parametrize("name", sorted(example_queries()))
def test_example_query_runs_and_returns_rows(sample_con, name):
    rows = sample_con.execute(example_queries()[name]).fetchall()
    assert rows, name


def test_every_contract_view_and_column_is_documented(sample_con):
    for view in CONTRACT_VIEWS:
        assert sample_con.execute("SELECT comment FROM duckdb_views() WHERE view_name = ?", [view]).fetchone()[0]
    text = data_dictionary(sample_con)
    for name, in sample_con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'objective8_summary'"
                                    ).fetchall():
        assert f"`{name}`" in text
    assert "| `ess_amount_low_eur` | DECIMAL(18,2) | EUR | oui | Intervalle à 90 %, borne basse" in text


def test_committed_dictionary_is_up_to_date(sample_con):
    assert DOCS.read_text(encoding="utf-8") == data_dictionary(sample_con) + "\n", \
        "docs/dictionnaire_donnees.md est périmé : lancez « achats dictionary »"


def test_xlsx_export_has_french_headers_and_masks_non_diffusible(sample_run, tmp_path):
    out = tmp_path / "export.xlsx"
    assert main(["export", "--format", "xlsx", "--warehouse", str(sample_run["warehouse"]), "--output", str(out)]) == 0
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[:3] == ["Synthèse objectif 8", "Fournisseurs", "Lignes d'achat"]
    header = next(wb["Synthèse objectif 8"].iter_rows(values_only=True))
    assert header[:3] == ("Période", "Dépense totale (€)", "Dépense ESS estimée (€)")
    with duckdb.connect(str(sample_run["warehouse"]), read_only=True) as con:
        hidden = {r[0] for r in con.execute("""
            SELECT DISTINCT p.supplier_name FROM stg_purchase_lines p JOIN purchase_lines_resolved r USING (line_id)
            JOIN suppliers s USING (siren) WHERE s.is_non_diffusible AND p.supplier_name IS NOT NULL""").fetchall()}
    assert hidden, "the sample has lines paid to non-diffusible units"
    cells = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v}
    assert not (hidden & cells)


def test_warehouse_opens_read_only_while_another_connection_reads(sample_run):
    a = duckdb.connect(str(sample_run["warehouse"]), read_only=True)
    b = duckdb.connect(str(sample_run["warehouse"]), read_only=True)
    assert a.execute("SELECT count(*) FROM suppliers").fetchone() == b.execute("SELECT count(*) FROM suppliers").fetchone()
    with pytest.raises(duckdb.Error):
        a.execute("DELETE FROM src_purchase_lines")
    a.close()
    b.close()
