"""Round amounts written without cents, as a spreadsheet writes a whole number in a CSV
(adversarial review round 9, defect 2, cases R1/R2): « 15000 » has a postal code's shape, yet on
a row with its own date, supplier and SIRET it is an amount. Refused only on a row that shows a
column shift, and then counted in the quarantined amount, never lost from every figure."""

from __future__ import annotations

import random
from decimal import Decimal

import polars as pl

from achats.sources.purchases import read_purchases
from tests.reader_inputs import ok_total, write_export

QUINOA = ("ASSOCIATION QUINOA SOLIDAIRE", "81234567600009")
ZORGLUB = ("ZORGLUB TRAVAUX PUBLICS", "81234568400003")


def _r2_file() -> tuple[str, Decimal]:
    """96 payments with cents to ZORGLUB, then four round subsidies to QUINOA (the reviewer's shape)."""
    rng = random.Random(2)
    rows, total = [], Decimal(0)
    for i in range(1, 97):
        cents = rng.randint(1_000, 1_000_000)
        total += Decimal(cents).scaleb(-2)
        rows.append(f"{1 + i % 28:02d}/{1 + i % 12:02d}/2024;{i};{ZORGLUB[0]};{ZORGLUB[1]};"
                    f"{cents // 100},{cents % 100:02d}")
    for i, amount in enumerate((15000, 20000, 45000, 31000), start=97):
        rows.append(f"15/06/2024;{i};{QUINOA[0]};{QUINOA[1]};{amount}")
    return "Date mandat;N° mandat;Fournisseur;SIRET;Montant\n" + "\n".join(rows) + "\n", total


def test_round_subsidies_on_intact_rows_are_amounts(tmp_path):
    text, cents_total = _r2_file()
    df = read_purchases(write_export(tmp_path, "mandats_2024.csv", text))
    assert df["status"].to_list() == ["ok"] * 100
    assert ok_total(df) == cents_total + Decimal(111_000)
    quinoa = df.filter(pl.col("supplier_name") == QUINOA[0])
    assert quinoa["amount_eur"].cast(pl.Float64).to_list() == [15000.0, 20000.0, 45000.0, 31000.0]


def test_a_refused_code_shaped_amount_counts_in_the_quarantined_amount(tmp_path):
    """A real shift: the postal code column is empty on that row and its amount sits in the date."""
    rows = "".join(f"S{i};310{i:02d};{i},50;0{1 + i % 9}/02/2024\n" for i in range(1, 31))
    text = "Fournisseur;Code postal;Montant;Date\n" + rows + "X;;31000;12,50\n"
    df = read_purchases(write_export(tmp_path, "p.csv", text))
    x = df.filter(pl.col("supplier_name") == "X")
    assert x["status"][0] == "quarantined"
    assert "code postal" in x["quarantine_reason"][0] and "ligne 32" in x["quarantine_reason"][0]
    quarantined = df.filter(pl.col("status") == "quarantined")["amount_eur"].sum()
    assert quarantined == Decimal("31000.00")
    # a SIRET pasted as the amount stays out of every amount (beyond the ceiling: no amount at all)
    df = read_purchases(write_export(tmp_path / "s", "s.csv", "Fournisseur;SIRET;Montant\nA;50470778597037;"
                                     "50470778597037\nB;;12,50\n"))
    assert df.filter(pl.col("supplier_name") == "A")["amount_eur"][0] is None
