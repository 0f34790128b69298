"""Adversarial review adv13, defects 1 and 2: the noun « Annulation » followed by a word saying
the cancellation was carried out, on a positive line, is a cancelled mandate (ST2, ST1); the
noun forms of a refused or lifted cancellation or rejection (« Levée du rejet », « Refus
d'annulation ») leave the mandate standing (ST1). Inputs are the reviewer's cases, figures
computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from achats.sources.purchases import _NOT_PAID, _says_not_paid
from tests.reader_inputs import accounted, counted, read_exports

Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"


def _rows(states: list[str]) -> str:
    """One Zorglub mandate per state, n° k, 2^(k-1) €, in March 2024."""
    return HEAD + "".join(f"2024;{k};{k + 1:02d}/03/2024;{Z};{ZS};Travaux {k};{s};{2 ** (k - 1)},00\n"
                          for k, s in enumerate(states, start=1))


def _not_paid(lines: pl.DataFrame) -> list[int]:
    return sorted(lines.filter(pl.col("row_kind") == "not_paid")["source_line"].to_list())


@pytest.mark.parametrize("value", [
    "Levée du rejet", "Levée de rejet", "Refus d'annulation", "Refus d’annulation", "Refus de l'annulation",
    "REFUS D'ANNULATION", "Rejet de l'annulation", "Annulation du rejet", "Rejet abandonné",
    "Abandon du rejet",
])
def test_noun_forms_of_an_undone_cancellation_or_rejection_are_paid(value):
    assert _says_not_paid(value, _NOT_PAID) is False


@pytest.mark.parametrize(("value", "cancelled"), [
    ("Annulation totale", True), ("Annulation effectuée", True), ("Annulation validée", True),
    ("ANNULATION CONFIRMEE", True), ("Annulations définitives", True), ("Annulation acceptée", True),
    ("Annulation du mandat validée", True), ("Suppression effectuée", True), ("Annulation réalisée", True),
    # counter-examples: pending, negated, refused, partial, bare noun, paid
    ("Annulation en cours", False), ("Annulation non validée", False), ("Annulation pas encore validée", False),
    ("Annulation refusée", False), ("Refus d'annulation validé", False), ("Annulation partielle effectuée", False),
    ("Annulation", False), ("Demande d'annulation", False), ("Payé (annulation totale du titre 12 refusée)", False),
])
def test_a_cancellation_carried_out(value, cancelled):
    """The words asked of a POSITIVE line's state (`_DONE_ON_POSITIVE`)."""
    from achats.sources.purchases import _DONE_ON_POSITIVE
    assert _says_not_paid(value, _DONE_ON_POSITIVE) is cancelled


def test_st2_a_cancellation_carried_out_on_a_positive_mandate_is_out(tmp_path: Path):
    """ST2: 14 positive mandates of 2^(k-1) €; out: the five « Annulation <done> », « Annulé
    totalement », the two rejections, « Mandat annulé (ORV émis) » and « Rejet - réémis sous le n°
    52 »: 16 383 − 5 118 = 11 265 (« Annulation en cours » and « Suspendu » counted)."""
    states = ["Payé", "Annulation acceptée", "Annulation effectuée", "Annulation totale", "Annulé totalement",
              "Rejet confirmé", "Rejet maintenu", "Annulation confirmée", "Annulation définitive",
              "Mandat annulé (ORV émis)", "Annulation en cours", "Suspendu", "Rejet - réémis sous le n° 52",
              "Réémission du mandat 3"]
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": _rows(states)})
    accounted(lines, files)
    assert _not_paid(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 14]
    assert counted(lines) == Decimal("11265.00")


def test_st1_noun_forms_both_ways(tmp_path: Path):
    """ST1: 15 mandates; out: Rejeté 256, Annulé 512, Rejet définitif 1 024 and « Annulation
    validée » 2 048; « Levée du rejet » 32 and « Refus d'annulation » 64 counted:
    32 767 − 3 840 = 28 927."""
    states = ["Payé", "Rejet annulé", "Annulation annulée", "Réemis", "Mandat réémis", "Levée du rejet",
              "Refus d'annulation", "Annulation non validée", "Rejeté", "Annulé", "Rejet définitif",
              "Annulation validée", "Non annulé", "Rejet levé le 12/03/2024", "Annulation refusée par le comptable"]
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": _rows(states)})
    accounted(lines, files)
    assert _not_paid(lines) == [10, 11, 12, 13]
    assert counted(lines) == Decimal("28927.00")


def test_a_negative_cancelling_piece_and_its_pair_are_counted_as_written(tmp_path: Path):
    """Counter-examples: a NEGATIVE « Annulation effectuée » is the cancelling piece (kept as
    written, it reduces mandate 1); a positive « Annulation totale » (n° 3) whose reversal is in the
    same sheet nets with it (sum nil), not taken out twice; « Annulation du mandat validée » (n° 5,
    positive) is out: 1 000 − 1 000 + 400 + 300 − 300 + 0 = 400."""
    text = HEAD + (f"2024;1;02/03/2024;{Z};{ZS};Travaux;Payé;1000,00\n"
                   f"2024;2;03/03/2024;{Z};{ZS};Annulation du mandat 1;Annulation effectuée;-1000,00\n"
                   f"2024;3;04/03/2024;{Z};{ZS};Travaux;Annulation totale;300,00\n"
                   f"2024;4;05/03/2024;{Z};{ZS};Annulation du mandat 3;Visé;-300,00\n"
                   f"2024;5;06/03/2024;{Z};{ZS};Travaux;Annulation du mandat validée;50,00\n"
                   f"2024;6;07/03/2024;{Z};{ZS};Travaux;Payé;400,00\n")
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == [6]
    assert counted(lines) == Decimal("400.00")


def test_a_positive_line_whose_state_names_a_cancellation_and_is_counted_is_said(tmp_path: Path):
    """ST2's « Annulation en cours » (n° 2) and a bare « Annulation » written positive (n° 3) are
    counted as written (a pending cancellation, a cancelling piece): said with their lines and the
    field; « Annulation refusée » (n° 4), the negative « Annulation » (n° 5) and « Annulation non
    validée » (n° 6, the mandate stands) are not: 1 + 2 + 4 + 8 − 16 + 32 = 31."""
    text = _rows(["Payé", "Annulation en cours", "Annulation", "Annulation refusée"]) \
        + f"2024;5;07/03/2024;{Z};{ZS};Annulation du mandat 9;Annulation;-16,00\n" \
        + f"2024;6;08/03/2024;{Z};{ZS};Travaux 6;Annulation non validée;32,00\n"
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": text})
    accounted(lines, files)
    assert counted(lines) == Decimal("31.00")
    notes = [n for n in "\n".join(x for x in files["column_note"].to_list() if x).split("\n")
             if "nomme une annulation" in n]
    assert len(notes) == 1
    assert "2 ligne(s) positive(s) dont le champ « Etat » nomme une annulation" in notes[0]
    assert "« Annulation », « Annulation en cours »" in notes[0]
    assert "ligne(s) 3, 4 :" in notes[0]
    assert notes[0].startswith("purchases/mandats_2024.csv")
