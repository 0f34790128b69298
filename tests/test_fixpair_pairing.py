"""Adversarial review adv12, defects 4, 6, 7 and 8: the pairing of a cancelled mandate with its
reversal (overlapping exports, budgets, credit notes) and the state words. Inputs are the
reviewer's cases (REVD, REV3, REVX, REV1, NP5, NP6, NP7), figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from achats.sources.purchases import _NOT_PAID, _says_not_paid
from tests.reader_inputs import accounted, counted, read_exports

Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"


def _rows(states: list[tuple[str, str]], head: str = HEAD) -> str:
    """One Zorglub mandate per (state, amount), n° 1, 2, …, in March 2024."""
    return head + "".join(f"2024;{k};{k:02d}/03/2024;{Z};{ZS};Travaux {k};{s};{a}\n"
                          for k, (s, a) in enumerate(states, start=1))


def _not_paid(lines: pl.DataFrame) -> list[int]:
    return sorted(lines.filter(pl.col("row_kind") == "not_paid")["source_line"].to_list())


@pytest.mark.parametrize(("value", "never_paid"), [
    # #8a: a refused, rejected or lifted cancellation or rejection: the mandate stands
    ("Annulation refusée", False), ("Annulation rejetée", False), ("Rejet levé", False),
    ("Réémis après rejet", False), ("REJET LEVE", False),
    # #8b: THIS line was cancelled, the number is its replacement or its cancelling piece
    ("Annulé - remplacé par le 47", True), ("Annulé par le mandat 45", True),
    ("Mandat annulé puis réémis (n° 45)", True), ("ANNULE PAR LE MANDAT 45", True),
    # counter-examples kept: another piece named, the rejected line's own story, a plain state
    ("annule le mandat 12", False), ("Mandaté, remplace le mandat annulé 40", False),
    ("Payé (annule et remplace le 690)", False), ("Rejeté puis réémis", True),
    ("Annulé et remplacé par mandat 46", True), ("Annulé", True), ("Non annulé", False),
    ("Annulation après rejet", True), ("Annulé suite à rejet", True), ("Réémission du mandat 12 annulé", False),
])
def test_state_words_of_a_refused_cancellation_or_a_replaced_mandate(value, never_paid):
    assert _says_not_paid(value, _NOT_PAID) is never_paid


def test_np5_a_refused_cancellation_or_a_lifted_rejection_is_paid(tmp_path: Path):
    """NP5: 12 mandates of 2^k €; only « Rejeté puis réémis » (32) stays out: 8 190 − 32 = 8 158."""
    states = ["Payé", "Annulation refusée", "Annulation rejetée", "Réémis après rejet", "Rejeté puis réémis",
              "Non annulé", "Visé", "Pris en charge", "Rejet levé", "Payé", "Payé", "Payé"]
    text = _rows([(s, f"{2 ** k},00") for k, s in enumerate(states, start=1)])
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == [6]
    assert counted(lines) == Decimal("8158.00")


def test_np6_a_mandate_cancelled_by_or_replaced_by_another_is_out(tmp_path: Path):
    """NP6: mandates 1–4 cancelled, replaced by 45–48 (paid): 150 + 3 × 1 000 = 3 150."""
    text = HEAD + (f"2024;1;02/03/2024;{Z};{ZS};Travaux;Annulé par le mandat 45;10,00\n"
                   f"2024;2;03/03/2024;{Z};{ZS};Travaux;Annulé et remplacé par mandat 46;20,00\n"
                   f"2024;3;04/03/2024;{Z};{ZS};Travaux;Annulé - remplacé par le 47;40,00\n"
                   f"2024;4;05/03/2024;{Z};{ZS};Travaux;Rejeté, réémis sous le n° 48;80,00\n"
                   + "".join(f"2024;{n};0{k}/03/2024;{Z};{ZS};Travaux;Payé;{a},00\n"
                             for k, (n, a) in enumerate([(45, 10), (46, 20), (47, 40), (48, 80)], start=6))
                   + "".join(f"2024;{n};0{n - 4}/03/2024;{Z};{ZS};Travaux;Payé;1000,00\n" for n in (5, 6, 7)))
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == [2, 3, 4, 5]
    assert counted(lines) == Decimal("3150.00")


def test_np7_annule_puis_reemis_is_out(tmp_path: Path):
    """NP7 (« Libellé état »): 2 + 4 + 8 + 16 + 64 + 128 + 1 024 = 1 246."""
    states = ["Mandaté", "Mandaté", "Payé", "Mandaté - annulation partielle", "Mandat annulé puis réémis (n° 45)",
              "Non rejeté", "Annulé partiellement", "Supprimé (doublon)", "Rejeté comptable", "Payé"]
    text = _rows([(s, f"{2 ** k},00") for k, s in enumerate(states, start=1)], HEAD.replace("Etat", "Libellé état"))
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == [6, 9, 10]
    assert counted(lines) == Decimal("1246.00")


REV1 = HEAD + (f"2024;10;05/03/2024;{Z};{ZS};Travaux voirie facture F2024-118;Payé;500,00\n"
               f"2024;11;06/03/2024;{Z};{ZS};Travaux trottoirs;Annulé;500,00\n"
               f"2024;12;20/03/2024;{Z};{ZS};Avoir sur facture F2024-118 (erreur de quantité);Payé;-500,00\n"
               f"2024;13;21/03/2024;{Z};{ZS};Travaux C;Payé;2 000,00\n")


def test_rev1_a_credit_note_on_an_invoice_is_not_the_reversal_of_a_cancelled_mandate(tmp_path: Path):
    """#7 (REV1): the avoir reduces the invoice it names; n° 11 was never paid: 500 − 500 + 2 000."""
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": REV1})
    accounted(lines, files)
    assert _not_paid(lines) == [3]
    assert counted(lines) == Decimal("2000.00")


def test_a_credit_note_pairs_with_the_cancelled_mandate_naming_the_same_invoice(tmp_path: Path):
    """Counter-example: the cancelled mandate's objet names the invoice the avoir names: the pair is
    counted as written (sum nil), the paid one stays: 800 + 2 000."""
    text = HEAD + (f"2024;10;05/03/2024;{Z};{ZS};Travaux voirie fact. n° 2024/77;Payé;800,00\n"
                   f"2024;11;06/03/2024;{Z};{ZS};Travaux trottoirs facture F2024-118;Annulé;500,00\n"
                   f"2024;12;20/03/2024;{Z};{ZS};Avoir facture F2024-118;Payé;-500,00\n"
                   f"2024;13;21/03/2024;{Z};{ZS};Travaux C;Payé;2 000,00\n")
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == []
    assert counted(lines) == Decimal("2800.00")


def test_rev3_a_cancelled_mandate_is_not_paired_with_another_budgets_reversal(tmp_path: Path):
    """#6 (REV3): principal n° 5 paid and reversed (0), eau's n° 5 « Annulé » never paid: 3 000."""
    text = ("Budget;Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"
            f"Budget principal;2024;5;05/02/2024;{Z};{ZS};Travaux;Payé;1 000,00\n"
            f"Budget annexe eau;2024;5;05/02/2024;{Z};{ZS};Travaux réseau;Annulé;1 000,00\n"
            f"Budget principal;2024;9;15/02/2024;{Z};{ZS};Annulation du mandat 5;Payé;-1 000,00\n"
            f"Budget principal;2024;10;15/02/2024;{Q};{QS};Repas;Payé;3 000,00\n")
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == [3]
    assert counted(lines) == Decimal("3000.00")


@pytest.mark.parametrize(("budgets", "never_paid"), [
    (("01", "02"), [3]),  # a column headed « Budget »: two codes are two budgets
    (("Budget principal", "BUDGET PRINCIPAL VILLE"), []),  # one budget written two ways: paired
])
def test_budget_codes_and_spellings(tmp_path: Path, budgets, never_paid):
    a, b = budgets
    text = ("Budget;Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"
            f"{a};2024;4;05/02/2024;{Z};{ZS};Travaux;Payé;700,00\n"
            f"{b};2024;5;05/02/2024;{Z};{ZS};Travaux réseau;Annulé;1 000,00\n"
            f"{a};2024;9;15/02/2024;{Z};{ZS};Annulation;Payé;-1 000,00\n")
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == never_paid
    assert counted(lines) == (Decimal("-300.00") if never_paid else Decimal("700.00"))


def test_revx_sheets_named_by_budget_are_two_budgets(tmp_path: Path):
    """#6 (REVX): sheet « Budget principal » (5 paid, its annulation, Quinoa 3 000) and sheet
    « Budget eau » (5 « Annulé », 6 paid 2 000): 0 + 3 000 + 2 000 = 5 000."""
    import openpyxl

    head = ["Exercice", "N° mandat", "Date mandat", "Fournisseur", "SIRET", "Objet", "Etat", "Montant TTC"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget principal"
    for row in (head, [2024, 5, "05/02/2024", Z, ZS, "Travaux", "Payé", 1000],
                [2024, 9, "15/02/2024", Z, ZS, "Annulation du mandat 5", "Payé", -1000],
                [2024, 10, "15/02/2024", Q, QS, "Repas", "Payé", 3000]):
        ws.append(row)
    ws2 = wb.create_sheet("Budget eau")
    for row in (head, [2024, 5, "05/02/2024", Z, ZS, "Travaux réseau", "Annulé", 1000],
                [2024, 6, "06/02/2024", Z, ZS, "Travaux réseau", "Payé", 2000]):
        ws2.append(row)
    (tmp_path / "purchases").mkdir()
    wb.save(tmp_path / "purchases" / "mandats_2024.xlsx")
    from achats.sources.purchases import read_purchase_sources

    lines, _ = read_purchase_sources(tmp_path)
    assert lines.height == 5 and set(lines["status"]) <= {"ok", "quarantined"}
    out = lines.filter(pl.col("row_kind") == "not_paid")
    assert out["source_sheet"].to_list() == ["Budget eau"] and out["source_line"].to_list() == [2]
    assert counted(lines) == Decimal("5000.00")


REVD_S1 = HEAD + "".join(f"2024;{k};0{k}/02/2024;{Q};{QS};Repas {k};Payé;{k}00,00\n" for k in range(1, 7)) \
    + f"2024;7;07/03/2024;{Z};{ZS};Travaux;Annulé;600,00\n"
REVD_FULL = REVD_S1 + (f"2024;8;20/07/2024;{Z};{ZS};Annulation du mandat 7;Payé;-600,00\n"
                       f"2024;9;01/09/2024;{Q};{QS};Repas 9;Payé;900,00\n"
                       f"2024;10;02/09/2024;{Q};{QS};Repas 10;Payé;1000,00\n"
                       f"2024;11;03/09/2024;{Q};{QS};Repas 11;Payé;1100,00\n")


def test_revd_one_annulation_cancels_one_copy_of_the_cancelled_mandate(tmp_path: Path):
    """#4 (REVD): the S1 export is contained in the full year's; mandate 7 nets with its annulation
    once: 2 100 + (600 − 600) + 3 000 = 5 100, S1's copy of mandate 7 is a duplicate."""
    lines, files = read_exports(tmp_path, {"mandats_2024_s1.csv": REVD_S1, "mandats_2024_complet.csv": REVD_FULL})
    accounted(lines, files)
    assert counted(lines) == Decimal("5100.00")
    s1 = lines.filter(pl.col("source_file") == "purchases/mandats_2024_s1.csv")
    assert set(s1["status"]) == {"duplicate"}
    copy = s1.filter(pl.col("source_line") == 8).row(0, named=True)
    assert copy["duplicate_of"] == "purchases/mandats_2024_complet.csv"
    assert "mandats_2024_complet.csv », ligne 8" in copy["quarantine_reason"]
    from achats.sources.purchases import duplicate_warnings

    assert any(w.startswith("purchases/mandats_2024_s1.csv, ligne 8 : mandat rejeté ou annulé repris dans")
               for w in duplicate_warnings(files, lines))


def test_a_credit_paired_in_its_sheet_cancels_nothing_in_another_file(tmp_path: Path):
    """#4: the full year's annulation (no n° cited) already nets its own cancelled mandate 7; the
    other export's cancelled mandate 20 (same payee and amount, not a copy) stays out."""
    other = HEAD + (f"2024;20;10/03/2024;{Z};{ZS};Travaux bis;Annulé;600,00\n"
                    f"2024;21;11/03/2024;{Q};{QS};Repas;Payé;50,00\n")
    full = HEAD + (f"2024;7;07/03/2024;{Z};{ZS};Travaux;Annulé;600,00\n"
                   f"2024;8;20/07/2024;{Z};{ZS};Annulation;Payé;-600,00\n"
                   f"2024;9;01/09/2024;{Q};{QS};Repas 9;Payé;900,00\n")
    lines, files = read_exports(tmp_path, {"mandats_a.csv": other, "mandats_b.csv": full})
    accounted(lines, files)
    assert counted(lines) == Decimal("950.00")
    out = lines.filter(pl.col("row_kind") == "not_paid")
    assert out["source_file"].to_list() == ["purchases/mandats_a.csv"] and out["source_line"].to_list() == [2]


def test_the_pairing_and_the_duplicate_rules_read_the_same_payee_siren():
    """`_siren_of` (rows in Python) is `_payee_siren` (polars) for one cell: a VAT number typed on
    one line and a SIRET on its reversal name the same payee for both."""
    from achats.sources.purchases import _payee_siren, _siren_of

    cells = ["81234567600009", "812 345 676", "FR40812345676", "fr 40 812 345 676", "40812345676", "BE0403170701",
             "812345", "", None, "ZORGLUB", "SIRET 812 345 676 00009"]
    by_polars = pl.DataFrame({"siret_raw": cells}, schema={"siret_raw": pl.String}).select(
        _payee_siren().alias("s"))["s"].to_list()
    assert [_siren_of(c) for c in cells] == by_polars
    assert _siren_of("FR40812345676") == "812345676" and _siren_of("40812345676") is None
