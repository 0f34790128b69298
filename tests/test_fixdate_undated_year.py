"""A line with an Exercice but neither a payment date nor a mandate date (adversarial review round
12, defect 12, case DATEF): it counts in its year of objective8_by_year and, having no quarter, in
the « sans date » row of objective8_summary. Both tables added up to ALL, so the blocking checks
passed while 2024 (15 000 €) was not the sum of its quarters (7 000 €). objective8_by_year now
states each year's undated part, and the check ties every year, minus that part, to its quarters."""

from __future__ import annotations

import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from achats.pipelines import checks
from tests.conftest import run_mini

_HEADER = ["Exercice", "N° mandat", "Date mandat", "Date de paiement", "Fournisseur", "SIRET", "Objet", "Montant TTC"]


def _datef(mini, tmp_path) -> duckdb.DuckDBPyConnection:
    _, zorglub = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710")
    _, quinoa = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([
        ["2024", "1", "30/12/2024", "", "ZORGLUB TRAVAUX PUBLICS", zorglub, "x", "1 000,00"],
        ["2024", "2", "30/12/2024", "02/01/2025", "ZORGLUB TRAVAUX PUBLICS", zorglub, "x", "2 000,00"],
        ["2024", "3", "31/03/2024", "", "ASSOCIATION QUINOA SOLIDAIRE", quinoa, "x", "4 000,00"],
        ["2024", "4", "", "", "ASSOCIATION QUINOA SOLIDAIRE", quinoa, "x", "8 000,00"],
    ], header=_HEADER)
    return run_mini(data, tmp_path)


def test_datef_a_year_minus_its_undated_lines_is_the_sum_of_its_quarters(mini, tmp_path):
    con = _datef(mini, tmp_path)
    years = {r[0]: tuple(float(v) for v in r[1:]) for r in con.execute(
        "SELECT period, total_amount_eur, ess_amount_eur, undated_amount_eur, undated_ess_amount_eur, "
        "undated_line_count FROM objective8_by_year").fetchall()}
    quarters = {r[0]: float(r[1]) for r in con.execute(
        "SELECT period, total_amount_eur FROM objective8_summary").fetchall()}
    # by hand: line 5 (8 000, exercice 2024, no date) is in 2024 and in no quarter; lines 2 and 3
    # are in 2024-Q4 (mandate date 30/12, payment 02/01/2025 of exercice 2024), line 4 in 2024-Q1
    assert quarters == {"2024-Q1": 4000.0, "2024-Q4": 3000.0, "sans date": 8000.0, "ALL": 15000.0}
    assert years["2024"] == (15000.0, 12000.0, 8000.0, 8000.0, 1)
    assert years["ALL"] == (15000.0, 12000.0, 8000.0, 8000.0, 1)
    assert years["sans date"] == (0.0, 0.0, 0.0, 0.0, 0)
    assert years["2024"][0] - years["2024"][2] == quarters["2024-Q1"] + quarters["2024-Q4"]
    assert years["ALL"][2] == quarters["sans date"]
    assert checks.year_vs_quarters_mismatches(con) == []
    assert checks.periods_mismatches(con, "objective8_by_year") == []


def test_by_year_check_fails_when_a_year_is_not_the_sum_of_its_quarters(mini, tmp_path):
    """What the two « add up to ALL » checks could not see: 2024-Q1 (4 000 €) relabelled
    2023-Q4, ALL unchanged in both tables."""
    con = _datef(mini, tmp_path)
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    with duckdb.connect(path) as rw:
        rw.execute("UPDATE mart_objective8_summary SET period = '2023-Q4' WHERE period = '2024-Q1'")
    res = DuckDBResource(database=path)
    assert checks.objective8_periods_add_up(duckdb=res).passed  # the quarters still add up to ALL
    result = checks.objective8_by_year_adds_up(duckdb=res)
    text = result.metadata["mismatches"].value
    assert not result.passed
    assert "année 2024 hors lignes sans date : dépense 7 000,00" in text
    assert "somme des trimestres 2024 : 3 000,00" in text
    assert "somme des trimestres 2023 : 4 000,00" in text


def test_the_reader_names_the_lines_with_an_exercice_and_no_date(tmp_path):
    """Not silent: the run's note names the line counted in its year and in no quarter; a blank
    row and a line with a date are not named."""
    from achats.sources.purchases import read_purchase_sources
    from tests.reader_inputs import write_export

    write_export(tmp_path, "m.csv", ";".join(_HEADER) + "\n"
                 "2024;1;30/12/2024;;ZORGLUB TRAVAUX PUBLICS;81234568400003;x;1 000,00\n"
                 ";;;;;;;\n"
                 "2024;4;;;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;x;8 000,00\n")
    lines, files = read_purchase_sources(tmp_path)
    note = files["column_note"][0]
    assert ("purchases/m.csv : 1 ligne(s) sans « Date de paiement » ni « Date mandat », avec un « Exercice » "
            "(ligne(s) 4) : comptée(s) dans leur exercice") in note
    undated = lines.filter((pl.col("status") == "ok") & pl.col("quarter").is_null())
    assert undated["source_line"].to_list() == [4] and undated["fiscal_year"].to_list() == [2024]
