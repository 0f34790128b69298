"""The same payments in two exports (ordonnateur and comptable) written differently (adversarial
review round 9, defect 3, cases DUP1 and DUP2): a n° of mandate with its exercice (« 2024-000123 »
for « 123 »), or the date of the mandate in one file and the date of its payment in the other. The
same payments are counted once; repeated payments (the same rent every month) are never merged;
and when nothing proves it, both files are named in a warning instead of a merge."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import duplicate_warnings, read_purchase_sources
from tests.reader_inputs import ok_total, write_export

ROWS = [("05/02/2024", "123", "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009", "1 250,00"),
        ("12/03/2024", "124", "ZORGLUB TRAVAUX PUBLICS", "81234568400003", "8 400,00"),
        ("02/04/2024", "125", "ZORGLUB TRAVAUX PUBLICS", "81234568400003", "3 150,75"),
        ("15/05/2024", "126", "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009", "980,00")]
HAND_TOTAL = Decimal("13780.75")


def _shift(date: str, days: int) -> str:
    d, m, y = date.split("/")
    return f"{int(d) + days:02d}/{m}/{y}"


def _read(root):
    lines, files = read_purchase_sources(root)
    return lines, files, duplicate_warnings(files, lines)


def test_dup1_mandate_number_with_its_exercice(tmp_path):
    write_export(tmp_path, "export_ordonnateur_2024.csv", "Date mandat;N° mandat;Fournisseur;SIRET;Montant\n"
                 + "".join(";".join(r) + "\n" for r in ROWS))
    write_export(tmp_path, "extraction_helios_2024.csv", "Date de paiement;N° mandat;Tiers;SIRET;Montant TTC\n"
                 + "".join(f"{d};2024-000{n};{s};{i};{a}\n" for d, n, s, i, a in ROWS))
    lines, _, warnings = _read(tmp_path)
    assert ok_total(lines) == HAND_TOTAL
    assert (lines["status"] == "duplicate").sum() == 4
    assert any("4 paiement(s)" in w and "extraction_helios_2024.csv" in w and "export_ordonnateur_2024.csv" in w
               for w in warnings)


def test_dup2_date_of_the_mandate_and_date_of_its_payment(tmp_path):
    write_export(tmp_path, "export_ordonnateur_2024.csv", "Exercice;Date mandat;N° mandat;Fournisseur;SIRET;Montant\n"
                 + "".join("2024;" + ";".join(r) + "\n" for r in ROWS))
    write_export(tmp_path, "extraction_comptable_2024.csv",
                 "Exercice;Date de paiement;N° mandat;Tiers;SIRET;Montant\n"
                 + "".join(f"2024;{_shift(d, 3)};{n};{s};{i};{a}\n" for d, n, s, i, a in ROWS))
    lines, _, _ = _read(tmp_path)
    assert ok_total(lines) == HAND_TOTAL
    dup = lines.filter(pl.col("status") == "duplicate")
    assert dup.height == 4 and set(dup["source_file"]) == {"purchases/extraction_comptable_2024.csv"}
    assert "ligne 2" in dup["quarantine_reason"][0] and "08/02/2024" in dup["quarantine_reason"][0]


def test_a_monthly_rent_is_never_merged(tmp_path):
    """The same amount to the same payee every month, each with its n°, in two exports of one
    year split by semester; and a bordereau n° that repeats in a file: all counted."""
    head = "Exercice;Date mandat;N° mandat;Fournisseur;SIRET;Montant\n"
    rent = "ZORGLUB TRAVAUX PUBLICS;81234568400003;1 000,00"
    write_export(tmp_path, "mandats_s1.csv", head + "".join(f"2024;05/{m:02d}/2024;{m};{rent}\n" for m in range(1, 7)))
    write_export(tmp_path, "mandats_s2.csv", head + "".join(f"2024;05/{m:02d}/2024;{m};{rent}\n"
                                                            for m in range(7, 13)))
    lines, files, warnings = _read(tmp_path)
    assert ok_total(lines) == Decimal("12000.00") and not warnings
    # a n° that repeats in a file is a bordereau or a contract: no merge on it
    root = tmp_path / "b"
    write_export(root, "a.csv", head + "".join(f"2024;05/{m:02d}/2024;10;{rent}\n" for m in range(1, 4)))
    write_export(root, "b.csv", head + f"2024;08/01/2024;10;{rent}\n2024;20/06/2024;11;{rent}\n")
    lines, _, _ = _read(root)
    assert ok_total(lines) == Decimal("5000.00")


def test_same_payments_without_proof_are_counted_and_named(tmp_path):
    """One export without n° of mandate, dated 3 days later: nothing proves the same payments,
    nothing proves two: counted in both files, and a warning names both."""
    write_export(tmp_path, "export_ordonnateur_2024.csv", "Exercice;Date mandat;N° mandat;Fournisseur;SIRET;Montant\n"
                 + "".join("2024;" + ";".join(r) + "\n" for r in ROWS))
    write_export(tmp_path, "grand_livre_2024.csv", "Exercice;Date de paiement;Tiers;SIRET;Montant\n"
                 + "".join(f"2024;{_shift(d, 3)};{s};{i};{a}\n" for d, n, s, i, a in ROWS))
    lines, files, warnings = _read(tmp_path)
    assert ok_total(lines) == 2 * HAND_TOTAL
    row = files.filter(pl.col("possible_overlap_of").is_not_null())
    assert row.height == 1 and row["possible_overlap_row_count"][0] == 4
    assert row["possible_overlap_eur"][0] == HAND_TOTAL
    assert any("export_ordonnateur_2024.csv" in w and "grand_livre_2024.csv" in w and "4 paiements" in w
               for w in warnings)


def test_the_exercice_is_taken_off_a_mandate_number_in_every_spelling_but_never_another_year(tmp_path):
    head = "Date mandat;N° mandat;Fournisseur;SIRET;Montant\n"
    row = "05/02/2024;{};ASSOCIATION QUINOA SOLIDAIRE;81234567600009;1 250,00\n"
    write_export(tmp_path, "a.csv", head + row.format("123"))
    write_export(tmp_path, "b.csv", head + "".join(row.format(n).replace("05/02", f"{d:02d}/02")
                                                   for d, n in ((5, "2024/123"), (6, "0123/2024"))))
    write_export(tmp_path, "c.csv", head + row.format("2024000123").replace("05/02", "06/02"))
    write_export(tmp_path, "d.csv", head + row.format("2023-000123"))  # another exercice's n°: not this one
    lines, _ = read_purchase_sources(tmp_path)
    status = dict(zip(lines["source_file"] + ":" + lines["mandate_number"], lines["status"], strict=True))
    assert status == {"purchases/a.csv:123": "ok", "purchases/b.csv:2024/123": "duplicate",
                      "purchases/b.csv:0123/2024": "ok", "purchases/c.csv:2024000123": "duplicate",
                      "purchases/d.csv:2023-000123": "ok"}
