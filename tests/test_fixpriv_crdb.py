"""Adversarial review 11, defect 11b (case FMT2, g3): a ledger writes its accounting mark after the
amount, « 300,00 CR » (a credit: negative) and « 2 200,00 DB » (a debit: positive)."""

from __future__ import annotations

from decimal import Decimal

from achats.recount import file_total_mismatches, parse_amount
from tests.conftest import run_mini


def test_credit_and_debit_marks_are_read_as_signs(mini, tmp_path):
    """The reviewer's three lines count −300 + 2 200 + 3 200,10 = 5 100,10 €; the re-read of the
    file's cells agrees (no cell left unchecked). A cell with both a sign and a mark is refused
    with its file, row and field, not guessed."""
    _, zorglub = mini.unit("ZORGLUB TRAVAUX PUBLICS")
    data = mini.write([])
    (data / "purchases" / "achats.csv").write_text(
        "Date de paiement;N° mandat;Fournisseur;SIRET;Montant TTC\n"
        f"05/02/2024;21;ZORGLUB TRAVAUX PUBLICS;{zorglub};300,00 CR\n"
        f"06/02/2024;22;ZORGLUB TRAVAUX PUBLICS;{zorglub};2 200,00 DB\n"
        f"07/02/2024;23;ZORGLUB TRAVAUX PUBLICS;{zorglub};3 200,10 DB\n"
        f"08/02/2024;24;ZORGLUB TRAVAUX PUBLICS;{zorglub};1 000,00 cr\n"
        f"09/02/2024;25;ZORGLUB TRAVAUX PUBLICS;{zorglub};-50,00 CR\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    lines = con.execute("""SELECT source_line, amount_eur, status, quarantine_reason FROM purchase_lines
                           ORDER BY source_line""").fetchall()
    assert [(ln[1], ln[2]) for ln in lines[:4]] == [
        (Decimal("-300.00"), "ok"), (Decimal("2200.00"), "ok"), (Decimal("3200.10"), "ok"), (Decimal("-1000.00"), "ok")]
    assert lines[4][2] == "quarantined"
    assert "purchases/achats.csv, ligne 6, champ « Montant TTC »" in lines[4][3] and "-50,00 CR" in lines[4][3]
    total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
    assert total == Decimal("4100.10")
    assert file_total_mismatches(con, data) == ([], 0)


def test_recount_reads_the_marks_as_the_reader_does():
    assert parse_amount("300,00 CR", ",") == Decimal("-300.00")
    assert parse_amount("2 200,00 DB", ",") == Decimal("2200.00")
    assert parse_amount("4.50 DR", ".") == Decimal("4.50")
    assert parse_amount("-5,00 CR", ",") is None
    assert parse_amount("DB", ",") is None
