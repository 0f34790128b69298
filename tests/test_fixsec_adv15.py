"""Adversarial review 15, defects 4 and 9, built from the reviewer's inputs (ANNX, RECAP,
RECAP2), figures by hand: a second table titled « MANDATS ANNULÉS (non payés) » takes off only
the mandates it finds among the paid ones; a recap by supplier under the detail is a total."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from tests.reader_inputs import ok_total, read_with_notes

GRILLONS = ("ASSOCIATION LES GRILLONS", "90400001500001")
TRANSPORTS = ("TRANSPORTS PYRENEENS", "90400002300005")
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
PAID = (HEAD + f"2024;1;05/02/2024;{';'.join(GRILLONS)};1000,00\n"
        f"2024;2;05/03/2024;{';'.join(TRANSPORTS)};4000,00\n;;;;;\n")
CANCEL_HEAD = "Exercice;N° mandat annulé;Date annulation;Fournisseur;SIRET;Montant annulé\n"


def _kind(lines: pl.DataFrame, line: int) -> tuple[str, str, Decimal | None]:
    row = lines.filter(pl.col("source_line") == line).row(0, named=True)
    return row["status"], row["row_kind"], row["amount_eur"]


def test_annx_never_paid_mandates_are_not_credits(tmp_path):
    """ANNX: mandate 7 (2 500) under « MANDATS ANNULÉS (non payés) » is not in the paid list: by
    hand 5 000 € (ESS 1 000 €), not 2 500 (−1 500); the line is not_paid, with its reason."""
    text = PAID + "MANDATS ANNULÉS (non payés);;;;;\n" + CANCEL_HEAD + \
        f"2024;7;20/03/2024;{';'.join(GRILLONS)};2500,00\n"
    lines, note = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(5000)
    assert ok_total(lines.filter(pl.col("supplier_name") == GRILLONS[0])) == Decimal(1000)
    assert _kind(lines, 7) == ("quarantined", "not_paid", Decimal("2500.00"))
    reason = lines.filter(pl.col("source_line") == 7)["quarantine_reason"].item()
    assert "mandats.csv, ligne 7, champ « N° mandat » : « 7 » : mandat annulé" in reason
    assert "absent des mandats payés de ce fichier" in reason
    assert "mandats.csv, ligne 6 : second tableau titré « mandats annules »" in note and "ligne(s) 7" in note


def test_annx_a_never_paid_mandate_found_among_the_paid_is_taken_off(tmp_path):
    """Counter-example: the same title citing mandate 2 (4 000, in the paid list, written 04 with
    its exercice): it was never paid, so it is taken off: 1 000 €. A row citing no mandate under
    that title is kept out (not_paid), never subtracted."""
    text = PAID + "Mandats annulés (non payés);;;;;\n" + CANCEL_HEAD + \
        f"2024;02;20/03/2024;{';'.join(TRANSPORTS)};4000,00\n" + \
        f"2024;;21/03/2024;{';'.join(GRILLONS)};300,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(1000)
    assert _kind(lines, 7) == ("ok", "data", Decimal("-4000.00"))
    assert _kind(lines, 8) == ("quarantined", "not_paid", Decimal("300.00"))
    # another exercice's mandate 2 is not this one
    text = PAID + "Mandats annulés (non payés);;;;;\n" + CANCEL_HEAD + \
        f"2023;2;20/03/2024;{';'.join(TRANSPORTS)};4000,00\n"
    lines, _ = read_with_notes(tmp_path / "b", "mandats.csv", text)
    assert ok_total(lines) == Decimal(5000)
    assert _kind(lines, 7) == ("quarantined", "not_paid", Decimal("4000.00"))


def test_a_table_of_credits_citing_a_mandate_of_another_export_still_counts_and_warns(tmp_path):
    """Counter-example: « ANNULATIONS ET RÉDUCTIONS » (credits on paid mandates) citing mandate 7,
    absent from this file (paid in another export): still −2 500 (2 500 €), with a warning that
    names the file, the field and the line."""
    text = PAID + "ANNULATIONS ET RÉDUCTIONS;;;;;\n" + CANCEL_HEAD + \
        f"2024;7;20/03/2024;{';'.join(GRILLONS)};2500,00\n"
    lines, note = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(2500)
    assert _kind(lines, 7) == ("ok", "data", Decimal("-2500.00"))
    assert "mandats.csv, champ « N° mandat » : 1 annulation(s) du second tableau de la ligne 6 citent un mandat " \
           "absent des paiements de ce fichier (ligne 7 (n° « 7 »))" in note


DETAIL = (HEAD + f"2024;1;05/02/2024;{';'.join(GRILLONS)};1000,00\n"
          f"2024;2;05/03/2024;{';'.join(GRILLONS)};2000,00\n"
          f"2024;3;05/04/2024;{';'.join(TRANSPORTS)};4000,00\n;;;;;\nRÉCAPITULATIF PAR FOURNISSEUR;;;;;\n")


def test_recap_a_recap_by_supplier_is_total_rows(tmp_path):
    """RECAP: « Fournisseur;SIRET;Nombre de mandats;Montant total » (4 fields) under the detail,
    3 000 and 4 000 = each supplier's block: total rows (outside the quarantine share), 7 000 €
    counted; they were quarantined data lines (« 4 champs au lieu de 6 »)."""
    text = DETAIL + "Fournisseur;SIRET;Nombre de mandats;Montant total\n" + \
        f"{';'.join(GRILLONS)};2;3000,00\n{';'.join(TRANSPORTS)};1;4000,00\n"
    lines, note = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(7000)
    assert [_kind(lines, n)[:2] for n in (7, 8, 9)] == [("quarantined", "header"), ("quarantined", "total"),
                                                        ("quarantined", "total")]
    assert "son montant (3 000,00 €) est la somme des 2 ligne(s)" in \
        lines.filter(pl.col("source_line") == 8)["quarantine_reason"].item()
    assert "mandats.csv, ligne 7 : récapitulatif par fournisseur sous le détail : 2 ligne(s)" in note


def test_recap2_a_recap_in_the_first_header_columns_is_no_second_table(tmp_path):
    """RECAP2: the recap's supplier, SIRET and amount sit under the first header's and « Nombre de
    mandats » under « Date mandat »: total rows, not a second table of payments whose count is
    read as a date (« date illisible « 2 » »)."""
    text = DETAIL + ";;Nombre de mandats;Fournisseur;SIRET;Montant total\n" + \
        f";;2;{';'.join(GRILLONS)};3000,00\n;;1;{';'.join(TRANSPORTS)};4000,00\n"
    lines, note = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(7000)
    assert [_kind(lines, n)[:2] for n in (8, 9)] == [("quarantined", "total")] * 2
    assert "second tableau" not in note
    # the same header without « total » (« Montant »): the count column says it is a recap
    text = DETAIL + ";;Nombre de mandats;Fournisseur;SIRET;Montant\n" + \
        f";;2;{';'.join(GRILLONS)};3000,00\n;;1;{';'.join(TRANSPORTS)};4000,00\n"
    lines, _ = read_with_notes(tmp_path / "b", "mandats.csv", text)
    assert [_kind(lines, n)[:2] for n in (8, 9)] == [("quarantined", "total")] * 2


def test_a_recap_row_whose_sum_differs_is_quarantined_with_both_amounts(tmp_path):
    """Counter-example: a recap row of 3 500 where the supplier's lines make 3 000 is neither a
    payment nor a checked total: quarantined (in the share) with both amounts; a recap row by name
    only (no SIRET) is checked by name."""
    text = DETAIL + "Fournisseur;SIRET;Nombre de mandats;Montant total\n" + \
        f"{';'.join(GRILLONS)};2;3500,00\n{TRANSPORTS[0]};;1;4000,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(7000)
    assert _kind(lines, 8)[:2] == ("quarantined", "data")
    reason = lines.filter(pl.col("source_line") == 8)["quarantine_reason"].item()
    assert "mandats.csv, ligne 8, champ « Montant total »" in reason
    assert "(3 500,00 €)" in reason and "SIRET 90400001500001 : 3 000,00 €" in reason
    assert _kind(lines, 9)[:2] == ("quarantined", "total")


def test_a_recap_grand_total_and_payments_below_a_blank_row_keep_their_rules(tmp_path):
    """Counter-example: the recap's « TOTAL GÉNÉRAL » (7 000) stays a total by its label; after a
    blank row, a later table of payments is not read as recap rows."""
    text = DETAIL + "Fournisseur;SIRET;Nombre de mandats;Montant total\n" + \
        f"{';'.join(GRILLONS)};2;3000,00\nTOTAL GÉNÉRAL;;3;7000,00\n;;;;;\n" + \
        f"2024;4;05/05/2024;{';'.join(TRANSPORTS)};500,00\n"
    lines, _ = read_with_notes(tmp_path, "mandats.csv", text)
    assert ok_total(lines) == Decimal(7500)
    assert _kind(lines, 8)[:2] == ("quarantined", "total")
    assert _kind(lines, 9)[1] == "total"
    assert _kind(lines, 11) == ("ok", "data", Decimal("500.00"))


def test_an_unread_sheet_naming_a_non_diffusible_person_is_masked_in_the_warnings(mini, tmp_path):
    """A workbook's notes sheet « Suivi Wojciechowski » (a rare surname of a P person), passed over
    as not read: its warning names it « feuille masquée … (unité non diffusible (SIREN …)) », as a
    read sheet's; the payments sheet still counts (1 000 + 4 000 €). It printed the name."""
    import datetime as dt

    import openpyxl

    from achats.pipelines.cli import input_warnings
    from tests.conftest import run_mini
    from tests.test_privacy import _leaks

    p2, _ = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                      prenom1UniteLegale="BARNABE")
    _, z = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z, "Montant": "1 000,00",
                        "Date": "02/03/2024"}])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats"
    ws.append(["Date", "N° mandat", "Fournisseur", "SIRET", "Montant"])
    ws.append([dt.date(2024, 5, 2), 1, "ZORGLUB TRAVAUX PUBLICS", z, 4000])
    wb.create_sheet("Suivi Wojciechowski").append(["Dossier suivi par le service"])
    wb.save(data / "purchases" / "factures_2024.xlsx")
    con = run_mini(data, tmp_path)
    counted = con.execute("SELECT sum(amount_eur) FROM purchase_lines WHERE status = 'ok'").fetchone()[0]
    con.close()
    assert float(counted) == 5000.0
    warnings = "\n".join(input_warnings(tmp_path / "wh" / "w.duckdb", data))
    assert "purchases/factures_2024.xlsx (feuille « feuille masquée " in warnings
    assert f"(unité non diffusible (SIREN {p2})) ») : feuille non lue" in warnings
    assert not _leaks({"warnings": warnings}, ["Wojciechowski"])


def test_recap_and_never_paid_tables_in_a_workbook(tmp_path):
    """The same two layouts in a workbook sheet (native numbers, rows of other widths): ANNX
    5 000 € with mandate 7 not_paid, RECAP 7 000 € with its two recap rows totals."""
    import openpyxl

    from achats.sources.purchases import read_purchase_sources

    def read(name: str, rows: list[list]) -> pl.DataFrame:
        folder = tmp_path / name / "purchases"
        folder.mkdir(parents=True)
        wb = openpyxl.Workbook()
        for row in rows:
            wb.active.append(row)
        wb.save(folder / f"{name}.xlsx")
        return read_purchase_sources(tmp_path / name)[0]

    head = HEAD.strip().split(";")
    lines = read("annx", [head, [2024, 1, "05/02/2024", *GRILLONS, 1000], [2024, 2, "05/03/2024", *TRANSPORTS, 4000],
                          [], ["MANDATS ANNULÉS (non payés)"], CANCEL_HEAD.strip().split(";"),
                          [2024, 7, "20/03/2024", *GRILLONS, 2500]])
    assert ok_total(lines) == Decimal(5000)
    assert _kind(lines, 7) == ("quarantined", "not_paid", Decimal("2500.00"))
    lines = read("recap", [head, [2024, 1, "05/02/2024", *GRILLONS, 1000], [2024, 2, "05/03/2024", *GRILLONS, 2000],
                           [2024, 3, "05/04/2024", *TRANSPORTS, 4000], [], ["RÉCAPITULATIF PAR FOURNISSEUR"],
                           ["Fournisseur", "SIRET", "Nombre de mandats", "Montant total"], [*GRILLONS, 2, 3000],
                           [*TRANSPORTS, 1, 4000.0]])
    assert ok_total(lines) == Decimal(7000)
    assert [_kind(lines, n)[1] for n in (7, 8, 9)] == ["header", "total", "total"]
