"""Period columns other finance software writes (adversarial review 14, reviewer A, defect 7):
Hélios calls the exercice « Gestion » (case GE: a payment of 10/01/2025 on gestion 2024 belongs to
2024-Q4, not 2025-Q1), an export may give a month (« Exercice » + « Mois », case M1) or a period
(« Période » = « 01/2024 », case M2) instead of a payment date. They are read with the rules of the
Exercice and of dates, and the run says which lines took their quarter from such a column."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from achats.pipelines import checks
from achats.sources.purchases import period_parts, read_purchase_sources
from tests.conftest import run_mini
from tests.reader_inputs import write_export

ZORGLUB, QUINOA = "ZORGLUB TRAVAUX PUBLICS", "ASSOCIATION QUINOA SOLIDAIRE"


def _figures(con: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    quarters = {r[0]: (float(r[1]), float(r[2])) for r in con.execute(
        "SELECT period, total_amount_eur, ess_amount_eur FROM objective8_summary").fetchall()}
    years = {r[0]: (float(r[1]), float(r[2]), float(r[3])) for r in con.execute(
        "SELECT period, total_amount_eur, ess_amount_eur, undated_amount_eur FROM objective8_by_year").fetchall()}
    assert checks.year_vs_quarters_mismatches(con) == []
    assert checks.periods_mismatches(con, "objective8_by_year") == []
    return quarters, years


def test_ge_gestion_is_the_exercice_of_helios(mini, tmp_path):
    """By hand: line 3 is paid on 10/01/2025 on gestion 2024 — a January payment of the previous
    exercice: 2024-Q4, year 2024 = 1 000 + 3 000."""
    _, zorglub = mini.unit(ZORGLUB, cj="5710")
    _, quinoa = mini.unit(QUINOA, cj="9220")
    data = mini.write([["2024", "1", "05/03/2024", ZORGLUB, zorglub, "1 000,00"],
                       ["2024", "900", "10/01/2025", QUINOA, quinoa, "3 000,00"]],
                      header=["Gestion", "N° mandat", "Date paiement", "Nom tiers", "SIRET", "Montant TTC"])
    quarters, years = _figures(run_mini(data, tmp_path))
    assert quarters == {"2024-Q1": (1000.0, 0.0), "2024-Q4": (3000.0, 3000.0), "sans date": (0.0, 0.0),
                        "ALL": (4000.0, 3000.0)}
    assert years["2024"] == (4000.0, 3000.0, 0.0)
    assert "2025" not in years


def test_m1_exercice_and_month_fill_the_quarters(mini, tmp_path):
    """By hand: Janvier → 2024-Q1 (1 000), Juin → 2024-Q2 (3 000), Décembre → 2024-Q4 (500);
    nothing is left « sans date »."""
    _, zorglub = mini.unit(ZORGLUB, cj="5710")
    _, quinoa = mini.unit(QUINOA, cj="9220")
    data = mini.write([["2024", "Janvier", "1", ZORGLUB, zorglub, "1 000,00"],
                       ["2024", "Juin", "2", QUINOA, quinoa, "3 000,00"],
                       ["2024", "Décembre", "3", QUINOA, quinoa, "500,00"]],
                      header=["Exercice", "Mois", "N° mandat", "Fournisseur", "SIRET", "Montant TTC"])
    con = run_mini(data, tmp_path)
    quarters, years = _figures(con)
    assert quarters == {"2024-Q1": (1000.0, 0.0), "2024-Q2": (3000.0, 3000.0), "2024-Q4": (500.0, 500.0),
                        "sans date": (0.0, 0.0), "ALL": (4500.0, 3500.0)}
    assert years["2024"] == (4500.0, 3500.0, 0.0)
    note = con.execute("SELECT column_note FROM src_purchase_files").fetchone()[0]
    assert "3 ligne(s) sans date de paiement (ligne(s) 2, 3, 4) : leur trimestre est pris du mois de la " \
           "colonne « Mois »" in note
    # the day is not invented: the line keeps no payment date
    assert con.execute("SELECT count(*) FROM purchase_lines WHERE purchase_date IS NOT NULL").fetchone()[0] == 0


def test_m2_a_period_month_year_gives_year_and_quarter(mini, tmp_path):
    """By hand: « 01/2024 » → 2024-Q1, « 06/2024 » → 2024-Q2, « 12/2024 » → 2024-Q4; the year is
    the period's (no Exercice column, nothing in the file's name)."""
    _, zorglub = mini.unit(ZORGLUB, cj="5710")
    _, quinoa = mini.unit(QUINOA, cj="9220")
    data = mini.write([["01/2024", "1", ZORGLUB, zorglub, "1 000,00"],
                       ["06/2024", "2", QUINOA, quinoa, "3 000,00"],
                       ["12/2024", "3", QUINOA, quinoa, "500,00"]],
                      header=["Période", "N° mandat", "Fournisseur", "SIRET", "Montant TTC"])
    con = run_mini(data, tmp_path)
    quarters, years = _figures(con)
    assert quarters == {"2024-Q1": (1000.0, 0.0), "2024-Q2": (3000.0, 3000.0), "2024-Q4": (500.0, 500.0),
                        "sans date": (0.0, 0.0), "ALL": (4500.0, 3500.0)}
    assert years["2024"] == (4500.0, 3500.0, 0.0)
    assert years["sans date"] == (0.0, 0.0, 0.0)
    files = con.execute("SELECT period_note, column_note FROM src_purchase_files").fetchone()
    assert files[0] is None  # the period gives the year: no « sans date » warning for the file's name
    assert "leur trimestre est pris du mois de la colonne « Période »" in files[1]


def _read(tmp_path, text: str, name: str = "m.csv") -> tuple[pl.DataFrame, pl.DataFrame]:
    write_export(tmp_path, name, text)
    return read_purchase_sources(tmp_path)


def test_the_period_follows_the_rules_of_dates_and_exercice(tmp_path):
    """A date wins over the period; a period of January N+1 on exercice N is N-Q4, of December N−1
    is N-Q1; a period more than a year away from the exercice is quarantined, as a date would be;
    an unreadable period cell on a line without date is quarantined with file, line and field."""
    lines, _ = _read(tmp_path, "Exercice;Mois;Date paiement;Fournisseur;SIRET;Montant TTC\n"
                     f"2024;Mars;15/08/2024;{ZORGLUB};81234568400003;100,00\n"
                     f"2024;01/2025;;{ZORGLUB};81234568400003;200,00\n"
                     f"2024;12/2023;;{ZORGLUB};81234568400003;300,00\n"
                     f"2024;01/2027;;{ZORGLUB};81234568400003;400,00\n"
                     f"2024;Juillet;;{ZORGLUB};81234568400003;600,00\n"
                     + "".join(f"2024;Mai;;{ZORGLUB};81234568400003;1{i},00\n" for i in range(5))
                     + f"2024;13;;{ZORGLUB};81234568400003;500,00\n")
    got = {r["source_line"]: (r["quarter"], r["fiscal_year"], r["status"]) for r in lines.iter_rows(named=True)}
    assert got[2] == ("2024-Q3", 2024, "ok")
    assert got[3] == ("2024-Q4", 2024, "ok")
    assert got[4] == ("2024-Q1", 2024, "ok")
    assert got[5][2] == "quarantined"
    assert got[6] == ("2024-Q3", 2024, "ok")
    assert got[7] == ("2024-Q2", 2024, "ok")
    assert got[12][2] == "quarantined"
    reasons = dict(zip(lines["source_line"], lines["quarantine_reason"], strict=True))
    assert "purchases/m.csv, ligne 5, champ « Exercice » : exercice 2024 incohérent avec la période « 01/2027 »" \
        in reasons[5]
    assert "purchases/m.csv, ligne 12, champ « Mois » : période illisible « 13 »" in reasons[12]


def test_a_period_spares_date_manquante_only_when_it_gives_a_year(tmp_path):
    """A date column, no Exercice: a blank date with a period « 03/2024 » takes 2024-Q1; a blank
    date with a blank period is still « date manquante »."""
    lines, _ = _read(tmp_path, "Période;Date de paiement;Fournisseur;SIRET;Montant TTC\n"
                     f"03/2024;;{ZORGLUB};81234568400003;100,00\n"
                     f";;{ZORGLUB};81234568400003;200,00\n"
                     f"05/2024;02/05/2024;{ZORGLUB};81234568400003;300,00\n")
    got = {r["source_line"]: (r["quarter"], r["fiscal_year"], r["status"]) for r in lines.iter_rows(named=True)}
    assert got[2] == ("2024-Q1", 2024, "ok")
    assert got[3][2] == "quarantined" and "date manquante" in lines["quarantine_reason"][1]
    assert got[4] == ("2024-Q2", 2024, "ok")


def test_a_month_without_year_takes_the_year_in_the_name_or_says_it_is_undated(tmp_path):
    lines, files = _read(tmp_path, f"Mois;Fournisseur;SIRET;Montant TTC\nAvril;{ZORGLUB};81234568400003;100,00\n",
                         name="mandats_2024.csv")
    assert lines.select("quarter", "fiscal_year", "status").row(0) == ("2024-Q2", 2024, "ok")
    lines, files = _read(tmp_path / "b", f"Mois;Fournisseur;SIRET;Montant TTC\nAvril;{ZORGLUB};81234568400003;100,00\n")
    assert lines.select("quarter", "fiscal_year", "status").row(0) == (None, None, "ok")
    assert "1 ligne(s) avec un mois dans « Mois » mais sans année" in files["column_note"][0]


def test_columns_that_are_no_period_or_no_exercice_are_left_alone(tmp_path):
    """« Gestion » that holds no years (a management mode) is no exercice, and a « Période » that
    holds text is no period: both are said, neither quarantines a line."""
    lines, files = _read(tmp_path, "Gestion;Période;Date de paiement;Fournisseur;SIRET;Montant TTC\n"
                         f"Régie;Fonctionnement;15/03/2024;{ZORGLUB};81234568400003;100,00\n"
                         f"Délégation;Investissement;15/04/2024;{ZORGLUB};81234568400003;200,00\n")
    assert lines.select("quarter", "fiscal_year", "status").rows() == [("2024-Q1", 2024, "ok"),
                                                                        ("2024-Q2", 2024, "ok")]
    note = files["column_note"][0]
    assert "la colonne « Gestion » n'est pas lue comme exercice" in note
    assert "la colonne « Période » n'est pas lue comme mois ou période" in note


@pytest.mark.parametrize("text, expected", [
    ("Janvier", (None, 1)), ("déc.", (None, 12)), ("01", (None, 1)), ("01/2024", (2024, 1)), ("2024-06", (2024, 6)),
    ("202412", (2024, 12)), ("janv.-24", (2024, 1)), ("Juin 2024", (2024, 6)), ("T3 2024", (2024, 8)),
    ("2024-T1", (2024, 2)), ("2e trimestre 2024", (2024, 5)), ("2024", (2024, None)), ("2024-01-01", (2024, 1)),
    ("01 - Janvier", (None, 1)), ("13", None), ("Fonctionnement", None), ("02 - Janvier", None), ("1890", None),
])
def test_period_parts(text, expected):
    assert period_parts(text) == expected


def test_the_period_column_can_be_named_in_achats_toml(tmp_path):
    """A header no alias names (« Per. cpt ») is read as the period once achats.toml says so."""
    from achats.config import load_settings

    write_export(tmp_path, "m.csv", f"Exercice;Per. cpt;Fournisseur;SIRET;Montant TTC\n"
                                    f"2024;10/2024;{ZORGLUB};81234568400003;100,00\n")
    (tmp_path / "achats.toml").write_text('[colonnes]\nperiode = "Per. cpt"\n', encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.column_mapping == {"period": "Per. cpt"}
    lines, _ = read_purchase_sources(tmp_path, settings.column_mapping)
    assert lines.select("quarter", "fiscal_year", "status").row(0) == ("2024-Q4", 2024, "ok")


def test_a_month_column_of_spreadsheet_dates_in_a_workbook(tmp_path):
    """A workbook's « Mois » formatted « janv-24 » holds the 1st of each month: its month is read;
    January 2025 on exercice 2024 is 2024-Q4, as a date would be."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Exercice", "Mois", "N° mandat", "Fournisseur", "SIRET", "Montant TTC"])
    for i, (month, amount) in enumerate([(dt.datetime(2024, 1, 1), 1000), (dt.datetime(2024, 6, 1), 3000),
                                         (dt.datetime(2025, 1, 1), 500)]):
        ws.append([2024, month, i + 1, ZORGLUB, "81234568400003", amount])
        ws.cell(row=i + 2, column=2).number_format = "mmm-yy"
    (tmp_path / "purchases").mkdir()
    wb.save(tmp_path / "purchases" / "m.xlsx")
    lines, _ = read_purchase_sources(tmp_path)
    assert lines.select("quarter", "fiscal_year", "status").rows() == [
        ("2024-Q1", 2024, "ok"), ("2024-Q2", 2024, "ok"), ("2024-Q4", 2024, "ok")]


def test_m3_a_month_only_payment_date_gives_the_quarter(tmp_path):
    """Case M3: « Date de paiement » = « 01/2024 » (no day). By hand: 2024-Q1 1 000, 2024-Q2 3 000,
    2024-Q4 500, year 2024; it was quarantined « date illisible » (the whole file). « 13/2024 » is
    still no month: quarantined. A full date beside them is read as before."""
    lines, files = _read(tmp_path, "Date de paiement;N° mandat;Fournisseur;SIRET;Montant TTC\n"
                         f"01/2024;1;{ZORGLUB};81234568400003;1 000,00\n"
                         f"06/2024;2;{QUINOA};81234567600009;3 000,00\n"
                         f"12/2024;3;{QUINOA};81234567600009;500,00\n"
                         f"13/2024;4;{QUINOA};81234567600009;700,00\n"
                         f"15/05/2024;5;{QUINOA};81234567600009;900,00\n")
    got = lines.select("quarter", "fiscal_year", "status", pl.col("purchase_date").cast(pl.String)).rows()
    assert got[:3] == [("2024-Q1", 2024, "ok", None), ("2024-Q2", 2024, "ok", None), ("2024-Q4", 2024, "ok", None)]
    assert got[3][2] == "quarantined" and "date illisible « 13/2024 »" in lines["quarantine_reason"][3]
    assert got[4] == ("2024-Q2", 2024, "ok", "2024-05-15")
    assert "3 ligne(s) dont « Date de paiement » ne donne qu'un mois (« 01/2024 », ligne(s) 2, 3, 4)" \
        in files["column_note"][0]


def test_two_months_after_a_repeated_header_are_two_payments(tmp_path):
    """Monthly exports pasted one after the other (the header repeated): the same supplier and
    amount in January and in February are two payments, not a repeated part; the repeated header
    does not stop the « Mois » column from being read."""
    lines, _ = _read(tmp_path, "Exercice;Mois;Fournisseur;SIRET;Montant TTC\n"
                     f"2024;Janvier;{ZORGLUB};81234568400003;100,00\n"
                     "Exercice;Mois;Fournisseur;SIRET;Montant TTC\n"
                     f"2024;Avril;{ZORGLUB};81234568400003;100,00\n")
    assert lines.select("source_line", "quarter", "status").rows() == [
        (2, "2024-Q1", "ok"), (3, None, "quarantined"), (4, "2024-Q2", "ok")]
