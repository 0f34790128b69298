"""Payment files the reader used to misread (adversarial review, round 5): a record over several
lines, a Latin-9 export, a dated and numbered mandate taken for a total, total rows counted as
quarantine, a summary sheet over several year sheets and an export saved as .txt. Figures by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import ok_total, write_export

QUINOA, QUINOA_SIRET = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
ZORGLUB, ZORGLUB_SIRET = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"


def test_a_record_with_a_quoted_line_break_is_named_by_its_first_line(tmp_path):
    """The line the user finds on opening the file: where the record starts (line 4), not where its
    quoted name ends (line 5, which the next record would then seem to share)."""
    text = ("Date;N° mandat;Fournisseur;SIRET;Montant\n"
            f"15/03/2024;1;{QUINOA};{QUINOA_SIRET};\"1,234.56\"\n"
            f"16/03/2024;2;{ZORGLUB};{ZORGLUB_SIRET};\"10,000.00\"\n"
            f"17/03/2024;3;\"ZORGLUB\nTRAVAUX PUBLICS\";{ZORGLUB_SIRET};99.90\n"
            f"18/03/2024;4;{QUINOA};{QUINOA_SIRET};douze\n")
    lines, _ = read_purchase_sources(write_export(tmp_path, "mandats_2024.csv", text))
    assert lines["source_line"].to_list() == [2, 3, 4, 6]
    assert lines["supplier_name"][2] == "ZORGLUB\nTRAVAUX PUBLICS"
    assert ok_total(lines) == Decimal("11334.46")
    assert "mandats_2024.csv, ligne 6, champ « Montant »" in lines["quarantine_reason"][3]


LATIN9 = ("Date;Fournisseur;SIRET;Montant;Catégorie\n"
          f"01/07/2024;{ZORGLUB};{ZORGLUB_SIRET};1 700,00 €;Réfection chaussée\n"
          f"02/07/2024;{QUINOA};{QUINOA_SIRET};300,00 €;Entretien espaces verts, lot œuvre\n")


def test_a_latin9_export_is_read_in_latin9(tmp_path):
    """ISO-8859-15 puts « € » on 0xA4 and « œ » on 0xBD, where Windows-1252 has « ¤ » and « ½ »:
    read as Windows-1252, every amount was « 1 700,00 ¤ » and quarantined."""
    lines, files = read_purchase_sources(write_export(tmp_path, "mandats_latin9_2024.csv", LATIN9, "iso8859-15"))
    assert lines["status"].to_list() == ["ok", "ok"]
    assert ok_total(lines) == Decimal("2000.00")
    assert lines["amount_raw"].to_list() == ["1 700,00 €", "300,00 €"]
    assert lines["category"].to_list() == ["Réfection chaussée", "Entretien espaces verts, lot œuvre"]
    assert files["encoding"].to_list() == ["ISO-8859-15 (Latin-9)"]


def test_latin9_letters_without_a_euro_sign_are_read_in_latin9_and_fractions_stay_windows_1252(tmp_path):
    text = f"Fournisseur;Montant\nCŒUR DE BŒUF;1 000,00\n{QUINOA};250,00\n"
    lines, files = read_purchase_sources(write_export(tmp_path, "m.csv", text, "iso8859-15"))
    assert lines["supplier_name"].to_list() == ["CŒUR DE BŒUF", QUINOA]
    assert files["encoding"].to_list() == ["ISO-8859-15 (Latin-9)"]
    # counter-examples: « ½ » outside a word is a fraction, not a lone « œ »; « € » on 0x80 and
    # « œ » on 0x9C are Windows-1252's
    text = "Fournisseur;Montant;Catégorie\nCANTINE DU CŒUR;1 000,00 €;½ pension élève\nB;2,50 €;Café\n"
    lines, files = read_purchase_sources(write_export(tmp_path / "w", "w.csv", text, "cp1252"))
    assert lines["category"].to_list() == ["½ pension élève", "Café"]
    assert lines["supplier_name"][0] == "CANTINE DU CŒUR"
    assert files["encoding"].to_list() == ["Windows-1252"]
    only_half = "Fournisseur;Montant;Catégorie\nA;1 000,00;½ journée de formation\nB;2,50;Hôtel\n"
    lines, files = read_purchase_sources(write_export(tmp_path / "h", "h.csv", only_half, "cp1252"))
    assert lines["category"].to_list() == ["½ journée de formation", "Hôtel"]
    assert files["encoding"].to_list() == ["Windows-1252"]


def _workbook(root, name: str, sheets: dict[str, list[list]], merged: dict[str, list[str]] | None = None):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        for rng in (merged or {}).get(title, []):
            ws.merge_cells(rng)
    (root / "purchases").mkdir(parents=True, exist_ok=True)
    wb.save(root / "purchases" / name)
    return root


def test_a_dated_numbered_mandate_under_a_merged_supplier_is_no_total_row(tmp_path):
    """A report grouped by supplier, « Tiers » and « SIRET » merged down each supplier's mandates:
    mandate n° 3 (2 500 €, dated) equals mandates 1 + 2 by chance. It is a payment without a
    supplier (quarantined as such, counted in the quarantined share), not a « ligne de total »."""
    rows = [["Tiers", "SIRET", "Date", "N° mandat", "Montant"],
            [QUINOA, QUINOA_SIRET, dt.date(2024, 1, 10), 1, 1000],
            [None, None, dt.date(2024, 2, 10), 2, 1500],
            [None, None, dt.date(2024, 3, 10), 3, 2500],
            [ZORGLUB, ZORGLUB_SIRET, dt.date(2024, 1, 12), 4, 3000],
            [None, None, dt.date(2024, 2, 12), 5, 2000],
            [None, None, None, None, 10000]]  # the report's own total: no date, no n°
    lines, files = read_purchase_sources(_workbook(tmp_path, "mandats_par_tiers_2024.xlsx", {"Mandats": rows},
                                                   {"Mandats": ["A2:A4", "B2:B4", "A5:A6", "B5:B6"]}))
    by_line = {r["source_line"]: r for r in lines.iter_rows(named=True)}
    assert ok_total(lines) == Decimal("4000.00")
    assert [by_line[n]["row_kind"] for n in (3, 4, 6)] == ["data", "data", "data"]
    assert all("champ « Tiers » : ni fournisseur ni SIRET" in by_line[n]["quarantine_reason"] for n in (3, 4, 6))
    assert by_line[4]["amount_eur"] == Decimal("2500.00")
    assert by_line[7]["row_kind"] == "total" and "ligne de total" in by_line[7]["quarantine_reason"]
    assert files["declared_total_eur"].to_list() == [Decimal("10000.00")]


SUBTOTALS = [["Direction", "Date", "N° mandat", "Fournisseur", "SIRET", "Montant"],
             ["DSI", dt.date(2024, 1, 10), 1, QUINOA, QUINOA_SIRET, 1000],
             ["DSI", dt.date(2024, 1, 11), 2, ZORGLUB, ZORGLUB_SIRET, 3000],
             ["DSI Total", None, None, None, None, 4000],
             ["Nombre DSI", None, None, None, None, 2],
             ["Voirie", dt.date(2024, 2, 10), 3, ZORGLUB, ZORGLUB_SIRET, 5000],
             ["Voirie", dt.date(2024, 2, 11), 4, QUINOA, QUINOA_SIRET, 500],
             ["Moyenne Voirie", None, None, None, None, 2750],
             ["Voirie Total", None, None, None, None, 5500],
             ["Total général", None, None, None, None, 9500]]


def _quarantine_check(root, lines: pl.DataFrame):
    import duckdb
    from dagster_duckdb import DuckDBResource

    from achats.pipelines import checks
    from achats.pipelines.resources import AchatsInputs
    from achats.warehouse import write_frame

    (root / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.1\n", encoding="utf-8")
    path = root / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        write_frame(con, "src_purchase_lines", lines)
    return checks.quarantined_share_within_limit(inputs=AchatsInputs(data_dir=str(root)),
                                                 duckdb=DuckDBResource(database=str(path)))


def test_recognised_total_rows_do_not_count_in_the_quarantined_share(tmp_path):
    """Excel's Données > Sous-total: 4 payments (9 500 €) and 5 total rows, all recognised. The
    total rows repeat what was read; counted as quarantine (5 of 9 rows, 56 %), they stopped the
    run even at the default 25 % limit. A payment quarantined beside them still counts, over the
    payments (1 of 5, 20 % > 10 %)."""
    root = _workbook(tmp_path / "st2", "mandats_sous_totaux_2024.xlsx", {"Mandats": SUBTOTALS})
    lines, _ = read_purchase_sources(root)
    assert ok_total(lines) == Decimal("9500.00")
    assert lines.filter(pl.col("status") == "quarantined")["row_kind"].to_list() == ["total"] * 5
    result = _quarantine_check(root, lines)
    assert result.passed and result.metadata["share"].value == "0,0 %"
    assert result.metadata["total_rows_left_out"].value == 5
    bad = [*SUBTOTALS[:3], ["DSI", dt.date(2024, 1, 12), 5, QUINOA, QUINOA_SIRET, "douze"], *SUBTOTALS[3:]]
    root = _workbook(tmp_path / "bad", "mandats_sous_totaux_2024.xlsx", {"Mandats": bad})
    lines, _ = read_purchase_sources(root)
    result = _quarantine_check(root, lines)
    assert not result.passed and result.metadata["share"].value == "20,0 %"  # 1 of 5 payments
    assert "ligne 4" in result.metadata["first_reasons"].value
    assert "ligne de total" not in result.metadata["first_reasons"].value


def test_subtotals_grouped_by_supplier_in_english_are_no_payments(tmp_path):
    """The neighbouring layout: grouped by supplier, with Excel's English labels after the group
    (« … Total », « … Count »). « ASSOCIATION QUINOA SOLIDAIRE Total » (1 500 €) was read as one more
    payment. A dated payment to « MAX SERVICES » stays a payment: no group of that name above."""
    rows = [["Fournisseur", "SIRET", "Date", "Montant"],
            [QUINOA, QUINOA_SIRET, dt.date(2024, 3, 1), 1000],
            [QUINOA, QUINOA_SIRET, dt.date(2024, 3, 2), 500],
            [f"{QUINOA} Total", None, None, 1500],
            [f"{QUINOA} Count", None, None, 2],
            ["MAX SERVICES", None, dt.date(2024, 3, 5), 700],
            ["MAX SERVICES Total", None, None, 700],
            ["Grand Total", None, None, 2200]]
    lines, files = read_purchase_sources(_workbook(tmp_path, "par_fournisseur_2024.xlsx", {"Feuil1": rows}))
    assert ok_total(lines) == Decimal("2200.00")
    assert lines.filter(pl.col("status") == "ok")["supplier_name"].to_list() == [QUINOA, QUINOA, "MAX SERVICES"]
    assert lines.filter(pl.col("status") == "quarantined")["row_kind"].to_list() == ["total"] * 4
    assert files["declared_total_eur"].to_list() == [Decimal("2200.00")]


def test_a_pivot_sheet_over_two_year_sheets_is_a_summary(tmp_path):
    """« TCD » sums the « 2023 » and « 2024 » sheets by supplier (QUINOA 1 000 + 1 000, ZORGLUB
    3 000 + 3 000 + 1 234,56): its rows were counted again, in « sans date ». By hand: 9 234,56 €,
    of which QUINOA 2 000 €. An undated sheet of other payments beside them stays counted."""
    head = ["Date", "N° mandat", "Fournisseur", "SIRET", "Montant"]
    sheets = {
        "2023": [head, [dt.date(2023, 5, 1), 1, QUINOA, QUINOA_SIRET, 1000],
                 [dt.date(2023, 6, 1), 2, ZORGLUB, ZORGLUB_SIRET, 3000]],
        "2024": [head, [dt.date(2024, 5, 1), 1, QUINOA, QUINOA_SIRET, 1000],
                 [dt.date(2024, 6, 1), 2, ZORGLUB, ZORGLUB_SIRET, 3000],
                 [dt.date(2024, 7, 1), 3, ZORGLUB, ZORGLUB_SIRET, "1 234,56 €"]],
        "TCD": [["Fournisseur", "Somme de Montant"], [QUINOA, 2000], [ZORGLUB, 7234.56], ["Total général", 9234.56]],
        "Listes": [["Directions"], ["DSI"], ["Voirie"]]}
    lines, files = read_purchase_sources(_workbook(tmp_path, "suivi_mandats.xlsx", sheets))
    assert ok_total(lines) == Decimal("9234.56")
    assert ok_total(lines.filter(pl.col("supplier_name") == QUINOA)) == Decimal("2000.00")
    tcd = lines.filter(pl.col("source_sheet") == "TCD")
    assert tcd["row_kind"].to_list() == ["total"] * 3 and set(tcd["status"]) == {"quarantined"}
    assert "reprend les totaux des feuilles « 2023 », « 2024 »" in tcd["quarantine_reason"][0]
    assert files.filter(pl.col("source_sheet") == "TCD")["period_note"].to_list() == [None]
    # the same workbook with an undated sheet of its own payments (other amounts): still counted
    sheets["TCD"] = [["Fournisseur", "Montant"], [QUINOA, 2500], [ZORGLUB, 7000]]
    lines, _ = read_purchase_sources(_workbook(tmp_path / "b", "suivi_mandats.xlsx", sheets))
    assert ok_total(lines) == Decimal("18734.56")


HELIOS_TXT = ("Date;N° mandat;Fournisseur;SIRET;Montant\r\n"
              f"15/05/2024;7;{QUINOA};{QUINOA_SIRET};2 000,00\r\n"
              f"16/05/2024;8;{ZORGLUB};{ZORGLUB_SIRET};5 000,00\r\n")


def test_a_payment_export_saved_as_txt_is_read_and_other_files_are_named(tmp_path):
    """« export_helios_2024.txt » (« ; », Windows-1252) holds 7 000 € of payments and was left out
    in silence: by hand 11 334,46 + 7 000 = 18 334,46 €. A note in .txt and a .pdf are not read,
    and a warning names each of them."""
    csv_text = ("Date;N° mandat;Fournisseur;SIRET;Montant\n"
                f"15/03/2024;1;{QUINOA};{QUINOA_SIRET};\"1,234.56\"\n"
                f"16/03/2024;2;{ZORGLUB};{ZORGLUB_SIRET};\"10,000.00\"\n"
                f"17/03/2024;3;\"ZORGLUB\nTRAVAUX PUBLICS\";{ZORGLUB_SIRET};99.90\n")
    root = write_export(tmp_path, "mandats_2024.csv", csv_text)
    write_export(root, "export_helios_2024.txt", HELIOS_TXT, "cp1252")
    write_export(root, "lisez-moi.txt", "Exports du service financier, reçus le 3 juin.\nMontant total : voir Hélios.\n",
                 "utf-8")
    write_export(root, "rapport.pdf", "%PDF-1.4 \x00\x01", "latin-1")
    lines, files = read_purchase_sources(root)
    assert ok_total(lines) == Decimal("18334.46")
    assert ok_total(lines.filter(pl.col("source_file") == "purchases/export_helios_2024.txt")) == Decimal("7000.00")
    assert files["source_file"].to_list() == ["purchases/mandats_2024.csv", "purchases/export_helios_2024.txt"]
    from achats.sources.purchases import purchase_files, unread_file_warnings

    read = {p.relative_to(root).as_posix() for p in purchase_files(root)}
    every = sorted(p.relative_to(root).as_posix() for p in (root / "purchases").iterdir())
    warnings = unread_file_warnings([p for p in every if p not in read])
    assert [w.split(" : ")[0] for w in warnings] == ["purchases/lisez-moi.txt", "purchases/rapport.pdf"]
    assert all("fichier non lu" in w and "manquent aux totaux" in w for w in warnings)


def test_an_acute_accent_typed_as_an_apostrophe_keeps_a_windows_1252_file_readable(tmp_path):
    """« L´ÉCOLE » (0xB4) is « LŽÉCOLE » in Latin-9: as implausible as the accent, so Latin-9 does
    not win and the file reads as before; a Latin-9 « € » beside it decides for Latin-9."""
    text = "Fournisseur;Montant\nASSOCIATION DE L´ÉCOLE;1 000,00\nB;2,50\n"
    lines, files = read_purchase_sources(write_export(tmp_path, "a.csv", text, "cp1252"))
    assert lines["supplier_name"][0] == "ASSOCIATION DE L´ÉCOLE" and files["encoding"].to_list() == ["Windows-1252"]
    text = "Fournisseur;Montant\nASSOCIATION DE LŽÉCOLE;1 000,00 €\nB;2,50 €\n"
    lines, files = read_purchase_sources(write_export(tmp_path / "b", "b.csv", text, "iso8859-15"))
    assert ok_total(lines) == Decimal("1002.50") and files["encoding"].to_list() == ["ISO-8859-15 (Latin-9)"]


def test_an_undated_sheet_whose_total_equals_two_of_three_month_sheets_stays_counted(tmp_path):
    """Counter-example to the total-only rule: « Subventions » (undated, 2 rows, 12 000 €) equals
    the total of « Janvier » and « Février » but not of the three month sheets: a coincidence of
    round amounts, its rows stay payments. By hand: 3 × 6 000 + 12 000 = 30 000 €. Over
    the three months (18 000 €), an undated sheet of 18 000 € by direction is their summary."""
    head = ["Date", "N° mandat", "Fournisseur", "SIRET", "Montant"]
    months = {m: [head, [dt.date(2024, k, 5), k, ZORGLUB, ZORGLUB_SIRET, 3000],
                  [dt.date(2024, k, 6), 10 + k, ZORGLUB, ZORGLUB_SIRET, 3000]]
              for k, m in enumerate(["Janvier", "Février", "Mars"], start=1)}
    sheets = {**months, "Subventions": [["Fournisseur", "SIRET", "Montant"], [QUINOA, QUINOA_SIRET, 7000],
                                        ["ASSOCIATION PAMPLEMOUSSE", None, 5000]]}
    lines, _ = read_purchase_sources(_workbook(tmp_path, "loyers_2024.xlsx", sheets))
    assert ok_total(lines) == Decimal("30000.00")
    sheets["Par direction"] = [["Direction", "Fournisseur", "Montant"], ["DSI", "divers", 10000], ["Voirie", "divers", 8000]]
    del sheets["Subventions"]
    lines, _ = read_purchase_sources(_workbook(tmp_path / "b", "loyers_2024.xlsx", sheets))
    assert ok_total(lines) == Decimal("18000.00")
    assert "des feuilles « Janvier », « Février », « Mars »" in lines.filter(
        pl.col("source_sheet") == "Par direction")["quarantine_reason"][0]
