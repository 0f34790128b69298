"""Per-supplier total rows that repeat the supplier's SIRET (adversarial review 14, defect 1): a
« liste des mandats par tiers » ends each supplier's block with a row that repeats the Exercice,
the tiers code, the name and the SIRET, has no date and no n° of mandate, writes « Total tiers »
or « Total fournisseur » in another column, and whose amount is the block's sum. Such a row is a
total, never a second payment; a real supplier's line never becomes one."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl

from achats.sources.purchases import read_purchases
from tests.reader_inputs import ok_total, read_with_notes, write_export

ZORGLUB = "ZORGLUB TRAVAUX PUBLICS;81234568400003"
QUINOA = "ASSOCIATION QUINOA SOLIDAIRE;81234567600009"

# the reviewer's T2e, with an Exercice column: each footer was counted, the total doubled
T2E = ("Exercice;Code tiers;Tiers;SIRET;N° mandat;Date mandat;Libellé;Montant TTC\n"
       f"2024;F12;{ZORGLUB};1;05/03/2024;Voirie;1 000,00\n"
       f"2024;F12;{ZORGLUB};2;06/05/2024;Voirie;500,00\n"
       f"2024;F12;{ZORGLUB};;;Total tiers;1 500,00\n"
       f"2024;F45;{QUINOA};3;07/03/2024;Repas;3 000,00\n"
       f"2024;F45;{QUINOA};;;Total tiers;3 000,00\n"
       ";;;;;;Total général;4 500,00\n")


def _kinds(df: pl.DataFrame) -> dict[int, str]:
    return dict(zip(df["source_line"], df["row_kind"], strict=True))


def test_supplier_footer_repeating_the_siret_is_a_total(tmp_path):
    df = read_purchases(write_export(tmp_path, "mandats_2024.csv", T2E))
    kinds = _kinds(df)
    assert [kinds[n] for n in (4, 6, 7)] == ["total"] * 3
    assert [kinds[n] for n in (2, 3, 5)] == ["data"] * 3
    assert ok_total(df) == Decimal("4500.00")
    ok = df.filter(pl.col("status") == "ok")
    assert ok.filter(pl.col("siret_raw") == "81234567600009")["amount_eur"].sum() == Decimal("3000.00")
    by_quarter = ok.group_by("quarter").agg(pl.col("amount_eur").sum())
    assert dict(by_quarter.iter_rows()) == {"2024-Q1": Decimal("4000.00"), "2024-Q2": Decimal("500.00")}
    reason = df.filter(pl.col("source_line") == 4)["quarantine_reason"][0]
    assert "mandats_2024.csv, ligne 4" in reason and "« Total tiers »" in reason


def test_the_undated_note_names_the_undated_payment_not_the_footer(tmp_path):
    text = ("Exercice;Code tiers;Tiers;SIRET;N° mandat;Date mandat;Libellé;Montant TTC\n"
            f"2024;F12;{ZORGLUB};1;05/03/2024;Voirie;1 000,00\n"
            f"2024;F12;{ZORGLUB};2;;Voirie;500,00\n"
            f"2024;F12;{ZORGLUB};;;Total tiers;1 500,00\n")
    lines, notes = read_with_notes(tmp_path, "mandats_2024.csv", text)
    assert ok_total(lines) == Decimal("1500.00")
    assert "1 ligne(s) sans « Date mandat », avec un « Exercice » (ligne(s) 3) : comptée(s)" in notes


def test_without_an_exercice_column_the_footers_are_totals_not_undated_payments(tmp_path):
    text = "\n".join(line.split(";", 1)[1] for line in T2E.splitlines()) + "\n"
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    kinds = _kinds(df)
    assert [kinds[n] for n in (4, 6, 7)] == ["total"] * 3
    assert not df.filter(pl.col("row_kind") == "data")["quarantine_reason"].is_not_null().any()
    assert ok_total(df) == Decimal("4500.00")


def test_total_label_before_the_name_in_the_supplier_cell(tmp_path):
    text = ("Code tiers;Tiers;SIRET;N° mandat;Date mandat;Libellé;Montant TTC\n"
            f"F12;{ZORGLUB};1;05/03/2024;Voirie;1 000,00\n"
            f"F12;{ZORGLUB};2;06/05/2024;Voirie;500,00\n"
            "F12;Total tiers ZORGLUB TRAVAUX PUBLICS;81234568400003;;;;1 500,00\n"
            f"F45;{QUINOA};3;07/03/2024;Repas;3 000,00\n"
            "F45;Total tiers ASSOCIATION QUINOA SOLIDAIRE;81234567600009;;;;3 000,00\n"
            ";;;;;Total général;4 500,00\n")
    df = read_purchases(write_export(tmp_path, "mandats.csv", text))
    assert [_kinds(df)[n] for n in (4, 6, 7)] == ["total"] * 3
    assert ok_total(df) == Decimal("4500.00")


def _with_cached_values(path: Path, cached: dict[str, str]) -> None:
    """openpyxl writes a formula without its value: put the value a spreadsheet caches beside it."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = parts[name].decode()
    for ref, value in cached.items():
        xml, n = re.subn(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?', rf"\1<v>{value}</v>", xml)
        assert n == 1
    parts[name] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)


def test_workbook_footers_with_subtotal_formulas(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats 2024"
    ws.append(["CENTRE HOSPITALIER"])
    ws.append([])
    ws.append(["Exercice", "Fournisseur", "SIRET", "N° mandat", "Date mandat", "Compte", "Montant TTC"])
    z, q = ZORGLUB.split(";"), QUINOA.split(";")
    ws.append([2024, z[0], z[1], 11, "15/01/2024", "6063", 100])
    ws.append([2024, z[0], z[1], 12, "15/02/2024", "6063", 200])
    ws.append([2024, z[0], z[1], 13, "15/05/2024", "6063", 300])
    ws.append([2024, z[0], z[1], None, None, "Total fournisseur", "=SUBTOTAL(9,G4:G6)"])
    ws.append([2024, q[0], q[1], 21, "10/03/2024", "6281", 1000])
    ws.append([2024, q[0], q[1], 22, "10/06/2024", "6281", 2000])
    ws.append([2024, q[0], q[1], None, None, "Total fournisseur", "=SUBTOTAL(9,G8:G9)"])
    ws.append([None, "Total général", None, None, None, None, "=SUBTOTAL(9,G4:G10)"])
    path = tmp_path / "purchases" / "CH_mandats_2024.xlsx"
    path.parent.mkdir()
    wb.save(path)
    _with_cached_values(path, {"G7": "600", "G10": "3000", "G11": "3600"})
    df = read_purchases(tmp_path)
    assert [_kinds(df)[n] for n in (7, 10, 11)] == ["total"] * 3
    assert ok_total(df) == Decimal("3600.00")
    assert df.filter((pl.col("status") == "ok") & (pl.col("siret_raw") == q[1]))["amount_eur"].sum() == 3000


# --- counter-examples: a real supplier's line stays a payment ---------------------------------


def test_supplier_named_total_repeated_is_two_payments(tmp_path):
    """« TOTAL ENERGIES » twice, the second line without date or n° (file with an Exercice): the
    name is no label, the second line is a payment equal to the first by chance."""
    text = ("Exercice;Fournisseur;SIRET;N° mandat;Date mandat;Montant TTC\n"
            "2024;TOTAL ENERGIES;54205118000066;1;05/03/2024;500,00\n"
            "2024;TOTAL ENERGIES;54205118000066;;;500,00\n"
            f"2024;{ZORGLUB};4;06/05/2024;200,00\n")
    df = read_purchases(write_export(tmp_path, "m_2024.csv", text))
    assert set(df["row_kind"]) == {"data"}
    assert ok_total(df) == Decimal("1200.00")


def test_dated_payment_with_a_total_word_in_its_object_stays_a_payment(tmp_path):
    text = ("Exercice;Fournisseur;SIRET;N° mandat;Date mandat;Objet;Montant TTC\n"
            f"2024;{ZORGLUB};1;05/03/2024;Voirie;700,00\n"
            f"2024;{ZORGLUB};2;06/03/2024;Total tiers;700,00\n")
    df = read_purchases(write_export(tmp_path, "m_2024.csv", text))
    assert set(df["row_kind"]) == {"data"} and set(df["status"]) == {"ok"}
    assert ok_total(df) == Decimal("1400.00")


def test_footer_over_two_suppliers_or_with_another_amount_is_quarantined_not_counted(tmp_path):
    """A « Total tiers » row whose block holds another supplier, or whose amount is not the
    block's sum, is neither a total nor a payment: quarantined with file, line and both amounts."""
    text = ("Exercice;Tiers;SIRET;N° mandat;Date mandat;Libellé;Montant TTC\n"
            f"2024;{ZORGLUB};1;05/03/2024;Voirie;1 000,00\n"
            f"2024;{QUINOA};2;06/03/2024;Repas;500,00\n"
            f"2024;{QUINOA};;;Total tiers;1 500,00\n"
            f"2024;{ZORGLUB};3;07/03/2024;Voirie;200,00\n"
            f"2024;{ZORGLUB};;;Total fournisseur;999,00\n")
    df = read_purchases(write_export(tmp_path, "m_2024.csv", text))
    rows = {r["source_line"]: r for r in df.iter_rows(named=True)}
    for line, amount, block in ((4, "1 500,00 €", "500,00 €"), (6, "999,00 €", "200,00 €")):
        assert rows[line]["status"] == "quarantined" and rows[line]["row_kind"] == "data"
        reason = rows[line]["quarantine_reason"]
        assert f"m_2024.csv, ligne {line}" in reason and amount in reason and f"font {block})" in reason
    assert ok_total(df) == Decimal("1700.00")


def test_a_wrong_footer_still_closes_its_block(tmp_path):
    """The next supplier's footer sums from the wrong one, not from the file's start."""
    text = ("Exercice;Tiers;SIRET;N° mandat;Date mandat;Libellé;Montant TTC\n"
            f"2024;{ZORGLUB};1;05/03/2024;Voirie;1 000,00\n"
            f"2024;{ZORGLUB};;;Total tiers;900,00\n"
            f"2024;{QUINOA};2;06/03/2024;Repas;500,00\n"
            f"2024;{QUINOA};;;Total tiers;500,00\n")
    df = read_purchases(write_export(tmp_path, "m_2024.csv", text))
    rows = {r["source_line"]: (r["status"], r["row_kind"]) for r in df.iter_rows(named=True)}
    assert rows == {2: ("ok", "data"), 3: ("quarantined", "data"), 4: ("ok", "data"), 5: ("quarantined", "total")}
    assert ok_total(df) == Decimal("1500.00")


def test_real_supplier_with_a_total_word_name_after_another_block(tmp_path):
    """« SOUS-TOTAL PRODUCTIONS » with its SIRET and no date, after another supplier's block
    whose sum it equals: the name does not contain that supplier's name, it stays a payment."""
    text = ("Exercice;Fournisseur;SIRET;Montant TTC\n"
            f"2024;{ZORGLUB};2 500,00\n"
            "2024;SOUS-TOTAL PRODUCTIONS;12345678901237;2 500,00\n")
    df = read_purchases(write_export(tmp_path, "m_2024.csv", text))
    assert set(df["row_kind"]) == {"data"}
    assert ok_total(df) == Decimal("5000.00")


def test_a_name_cell_footer_with_another_amount_is_quarantined_not_counted(tmp_path):
    """« Total tiers ZORGLUB … » in the name cell, with the SIRET, no date nor n°, whose amount is
    not the supplier's lines above: neither a payment nor a total."""
    text = ("Exercice;Tiers;SIRET;N° mandat;Date mandat;Montant TTC\n"
            f"2024;{ZORGLUB};1;05/03/2024;1 000,00\n"
            f"2024;{ZORGLUB};2;06/03/2024;500,00\n"
            "2024;Total tiers ZORGLUB TRAVAUX PUBLICS;81234568400003;;;1 400,00\n")
    df = read_purchases(write_export(tmp_path, "m_2024.csv", text))
    row = df.filter(pl.col("source_line") == 4).row(0, named=True)
    assert (row["status"], row["row_kind"]) == ("quarantined", "data")
    assert "m_2024.csv, ligne 4" in row["quarantine_reason"] and "font 1 500,00 €" in row["quarantine_reason"]
    assert ok_total(df) == Decimal("1500.00")
