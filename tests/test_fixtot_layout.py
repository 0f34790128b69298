"""Print-layout lines of a purchase export (adversarial review 14, defect 8): page numbers, a
repeated title, a unit row under the header, « Nombre de mandats : » and « Montant total HT : »
footers, a grand total right under the last subtotal. They are accounted for as what they are
(row_kind 'layout' or 'total'), not as quarantined payments; a real payment never becomes one."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import read_purchases
from tests.reader_inputs import ok_total, write_export

HEADER = "N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant TTC\n"
Z, Q, P = "ZORGLUB TRAVAUX PUBLICS;81234568400003", "ASSOCIATION QUINOA SOLIDAIRE;81234567600009", \
    "PAMPLEMOUSSE SERVICES;81234572600002"


def _rows(df: pl.DataFrame) -> dict[int, tuple]:
    return {r["source_line"]: (r["status"], r["row_kind"]) for r in df.iter_rows(named=True)}


def test_page_numbers_and_a_repeated_title_are_layout(tmp_path):
    text = ("COMMUNE DE FIGEAC - Etat des mandats emis;;;;;\nPériode du 01/01/2024 au 31/12/2024;;;;;\n" + HEADER
            + f"1;05/01/2024;{Z};Voirie;1 000,00\n2;06/02/2024;{Q};Repas;2 000,00\n;;;;A reporter;3 000,00\n"
            "Page 1/2;;;;;\nCOMMUNE DE FIGEAC - Etat des mandats emis;;;;;\n" + HEADER
            + f";;;;Report;3 000,00\n3;07/05/2024;{P};Ménage;500,00\n4;08/09/2024;{Z};Voirie;250,00\n"
            ";;;;Total général;3 750,00\nPage 2/2;;;;;\n")
    df = read_purchases(write_export(tmp_path, "etat_mandats_2024.csv", text))
    rows = _rows(df)
    assert [rows[n] for n in (7, 8, 14)] == [("quarantined", "layout")] * 3
    assert not df.filter(pl.col("row_kind") == "data")["status"].eq("quarantined").any()
    reason = df.filter(pl.col("source_line") == 7)["quarantine_reason"][0]
    assert reason.startswith("purchases/etat_mandats_2024.csv, ligne 7 : ligne de mise en page (numéro de page)")
    assert ok_total(df) == Decimal("3750.00")


def test_a_unit_row_under_the_header_is_layout_but_not_a_scaled_unit(tmp_path):
    text = ("N° mandat;Date mandat;Fournisseur;SIRET;Montant HT;Montant TTC\n;;;;(en €);(en €)\n"
            f"1;05/03/2024;{Z};1 000,00;1 200,00\n2;06/03/2024;{Q};3 000,00;3 000,00\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    assert _rows(df)[2] == ("quarantined", "layout")
    assert ok_total(df) == Decimal("4200.00")
    # thousands of euros under the header are no layout: the row stays a line in quarantine
    df = read_purchases(write_export(tmp_path / "k", "mandats.csv", text.replace("(en €)", "(en k€)")))
    assert _rows(df)[2] == ("quarantined", "data")


def test_count_and_total_footers_with_a_colon(tmp_path):
    text = (HEADER + f"1;05/03/2024;{Z};Voirie;1 000,00\n2;06/03/2024;{Q};Repas;3 000,00\n"
            f"3;07/03/2024;{P};Ménage;2,00\n;;;;Nombre de mandats :;3\n;;;;Montant total HT :;3 335,00\n"
            ";;;;Montant total TTC :;4 002,00\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    rows = _rows(df)
    assert [rows[n] for n in (5, 6, 7)] == [("quarantined", "total")] * 3
    assert "ligne de décompte" in df.filter(pl.col("source_line") == 5)["quarantine_reason"][0]
    assert ok_total(df) == Decimal("4002.00")


def test_a_count_that_is_not_the_number_of_lines_stays_in_quarantine(tmp_path):
    text = (HEADER + f"1;05/03/2024;{Z};Voirie;1 000,00\n2;06/03/2024;{Q};Repas;3 000,00\n"
            ";;;;Nombre de mandats :;7\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    assert _rows(df)[4] == ("quarantined", "data")
    assert ok_total(df) == Decimal("4000.00")


def test_grand_total_right_under_the_last_subtotal(tmp_path):
    text = ("Tiers;SIRET;N° mandat;Date mandat;Objet;Montant TTC\n"
            f"{Z};1;05/03/2024;Voirie;1 000,00\n{Z};2;06/03/2024;Voirie;400,00\n"
            "Sous-total ZORGLUB TRAVAUX PUBLICS;;;;;1 400,00\n"
            f"{Q};3;07/03/2024;Repas;3 000,00\nSous-total ASSOCIATION QUINOA SOLIDAIRE;;;;;3 000,00\n"
            ";;;;Total tiers ZORGLUB et QUINOA;4 400,00\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    assert _rows(df)[7] == ("quarantined", "total")
    assert ok_total(df) == Decimal("4400.00")


def test_what_may_be_a_payment_stays_a_quarantined_line(tmp_path):
    """A supplier's name alone (its amount missing) and an anonymous amount after a subtotal that
    is not the file's sum are lines in quarantine, counted in the quarantined share."""
    text = (HEADER + f"1;05/03/2024;{Z};Voirie;1 000,00\n;;ASSOCIATION QUINOA SOLIDAIRE;;;\n"
            ";;;;Sous-total;1 000,00\n;;;;;250,00\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    rows = _rows(df)
    assert rows[3] == ("quarantined", "data") and rows[5] == ("quarantined", "data")
    assert ok_total(df) == Decimal("1000.00")


def test_a_filter_block_above_the_table_is_not_its_header(tmp_path):
    text = ("Liste des mandats payés;;;;\nCritères :;;;;\nTiers :;Tous;Montant TTC :;>= 0,00;\n"
            "Date de paiement :;du 01/01/2024 au 31/12/2024;;;\n;;;;\n"
            "N° mandat;Date de paiement;Fournisseur;SIRET;Montant TTC\n"
            f"1;05/03/2024;{Z};1 000,00\n2;06/03/2024;{Q};3 000,00\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    assert _rows(df) == {7: ("ok", "data"), 8: ("ok", "data")}
    assert ok_total(df) == Decimal("4000.00")


def test_a_paginated_export_passes_a_5_percent_quarantine_limit(tmp_path):
    """Two pages of 19 payments each, with their footers, a repeated title and header and a blank
    line: none of those is a payment lost, the run is not stopped (it was at 5 %); one payment
    with an illegible amount still counts in the share."""
    import duckdb
    from dagster_duckdb import DuckDBResource

    from achats.pipelines import checks
    from achats.pipelines.resources import AchatsInputs
    from achats.sources.purchases import read_purchase_sources
    from achats.warehouse import write_frame

    def page(first: int, last: int, bad: int | None = None) -> str:
        return "".join(f"{i};05/03/2024;{Z};Voirie;{'douze' if i == bad else '100,00'}\n" for i in range(first, last))

    def share(text: str, name: str) -> tuple[bool, str]:
        root = tmp_path / name
        write_export(root, "etat_mandats_2024.csv", text)
        (root / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.05\n", encoding="utf-8")
        lines, _ = read_purchase_sources(root)
        with duckdb.connect(str(root / "w.duckdb")) as con:
            write_frame(con, "src_purchase_lines", lines)
        r = checks.quarantined_share_within_limit(inputs=AchatsInputs(data_dir=str(root)),
                                                  duckdb=DuckDBResource(database=str(root / "w.duckdb")))
        return r.passed, r.metadata["share"].value

    title = "COMMUNE DE FIGEAC - Etat des mandats emis;;;;;\n"
    text = (title + HEADER + page(1, 20) + ";;;;A reporter;1 900,00\nPage 1/2;;;;;\n;;;;;\n" + title + HEADER
            + ";;;;Report;1 900,00\n" + page(20, 39) + ";;;;Total général;3 800,00\nPage 2/2;;;;;\n")
    assert share(text, "ok") == (True, "0,0 %")
    passed, measured = share(text.replace(page(20, 39), page(20, 39, bad=25)), "bad")
    assert (passed, measured) == (True, "2,6 %")  # 1 of 38 payments

