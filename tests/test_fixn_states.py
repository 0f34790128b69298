"""Adversarial review adv10, defects 1 and 8: a cancelled mandate whose cancelling piece is in the
same export is not taken out twice (AN1), and the state rule reads a mandate's payment state only,
not a supplier's record status nor a « Payé (annule et remplace …) » remark (ST). Inputs are the
reviewer's cases, figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from tests.reader_inputs import accounted, counted, read_exports

Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
X, XS = "ASSOCIATION XYLOPHAGE CESSEE", "81234570000007"
P, PS = "PAMPLEMOUSSE SERVICES", "81234572600002"

AN1_HEAD = "Exercice;N° mandat;Date émission;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"
AN1 = (AN1_HEAD
       + f"2024;101;05/02/2024;{Z};{ZS};Travaux voirie;Annulé;5 000,00\n"
       + f"2024;150;20/02/2024;{Z};{ZS};Annulation du mandat 101;Visé;-5 000,00\n"
       + f"2024;151;21/02/2024;{Z};{ZS};Travaux voirie (réémis);Payé;4 800,00\n")


def test_a_cancelled_mandate_and_its_cancelling_piece_are_not_removed_twice(tmp_path):
    lines, files = read_exports(tmp_path, {"civilnet_mandats_2024.csv": AN1})
    accounted(lines, files)
    # 5 000 − 5 000 + 4 800: the pair is counted as written, its sum is nil
    assert counted(lines) == Decimal("4800.00")
    assert lines.filter(pl.col("row_kind") == "not_paid").is_empty()
    from achats.sources.purchases import duplicate_warnings

    assert any("1 mandat(s) rejeté(s) ou annulé(s) dont l'annulation (même tiers, montant opposé)" in w
               for w in duplicate_warnings(files, lines))


def test_a_cancelled_mandate_without_its_reversal_is_still_left_out(tmp_path):
    """Another supplier's credit, or a credit of another amount, is no reversal of the cancelled
    mandate; one credit reverses one mandate only."""
    text = (AN1_HEAD
            + f"2024;101;05/02/2024;{Z};{ZS};Travaux;Annulé;5 000,00\n"
            + f"2024;102;06/02/2024;{Z};{ZS};Travaux;Annulé;5 000,00\n"
            + f"2024;103;07/02/2024;{Z};{ZS};Travaux;Annulé;1 000,00\n"
            + f"2024;104;08/02/2024;{Q};{QS};Animation;Rejeté;300,00\n"
            + f"2024;150;20/02/2024;{Z};{ZS};Annulation;Visé;-5 000,00\n"
            + f"2024;151;21/02/2024;{Z};{ZS};Réduction;Visé;-999,00\n"
            + f"2024;152;22/02/2024;{Z};{ZS};Réduction;Visé;-300,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    accounted(lines, files)
    out = lines.filter(pl.col("row_kind") == "not_paid").sort("source_line")
    assert out["source_line"].to_list() == [3, 4, 5]  # 102, 103 and Quinoa's 104
    # 101 and its reversal as written (0), the two unmatched reductions −1 299
    assert counted(lines) == Decimal("-1299.00")


ST_TIERS = ("Date de paiement;N° mandat;Fournisseur;SIRET;Statut;Objet;Montant TTC\n"
            f"05/02/2024;101;{Q};{QS};Association;Subvention;1 000,00\n"
            f"06/02/2024;102;{Z};{ZS};Supprimé;Travaux;2 000,00\n"
            f"07/02/2024;103;{X};{XS};Radiée;Solde convention;3 000,00\n"
            f"08/02/2024;104;{P};{PS};Archivé;Service;4 000,00\n")
ST_HELIOS = ("Date de paiement;N° mandat;Fournisseur;SIRET;Etat;Objet;Montant TTC\n"
             f"05/09/2024;701;{Z};{ZS};Payé;Travaux;500,00\n"
             f"06/09/2024;702;{Z};{ZS};Annulé partiellement;Travaux;600,00\n"
             f"07/09/2024;703;{Z};{ZS};Payé (annule et remplace le 690);Travaux;700,00\n"
             f"08/09/2024;704;{Z};{ZS};Visé - titre annulé;Travaux;800,00\n")


def test_a_supplier_status_column_and_a_paid_remark_take_no_line_out(tmp_path):
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": ST_TIERS, "helios_2024.csv": ST_HELIOS})
    accounted(lines, files)
    # 10 000 (the tiers' statuses) + 500 + 600 + 700; « Visé - titre annulé » (800) stays out
    assert counted(lines) == Decimal("11800.00")
    out = lines.filter(pl.col("row_kind") == "not_paid")
    assert out["source_file"].to_list() == ["purchases/helios_2024.csv"] and out["source_line"].to_list() == [5]
    from achats.sources.purchases import duplicate_warnings

    assert any("la colonne « Statut » donne surtout autre chose qu'un état de mandat" in w
               for w in duplicate_warnings(files, lines))


@pytest.mark.parametrize(("value", "ok"), [
    ("Payé (annule et remplace le 690)", True),
    ("Réglé - annule le mandat 12", True),
    ("Mandaté, remplace le mandat annulé 40", True),
    ("Soldé (annulation partielle)", True),
    ("Annulé", False),
    ("Supprimé", False),
    ("Rejeté - à repayer", False),  # « repayer » is not « payé »
])
def test_the_paid_state_beats_a_cancelling_word_in_the_same_cell(tmp_path, value, ok):
    text = (f"Date mandat;Tiers;SIRET;Montant;État du mandat\n01/03/2024;{Q};{QS};100,00;{value}\n"
            f"02/03/2024;{Q};{QS};200,00;Payé\n")
    lines, _ = read_exports(tmp_path, {"m.csv": text})
    assert lines.sort("source_line")["row_kind"].to_list() == ["data" if ok else "not_paid", "data"]


def test_a_state_column_with_a_few_deleted_mandates_still_leaves_them_out(tmp_path):
    """Mostly payment states: the column is the mandate's state, its « Supprimé » lines were never paid."""
    text = "Date mandat;Tiers;SIRET;Montant;Statut\n" + "".join(
        f"0{k + 1}/03/2024;{Q};{QS};100,00;{'Supprimé' if k == 0 else 'Payé'}\n" for k in range(4))
    lines, _ = read_exports(tmp_path, {"m.csv": text})
    assert counted(lines) == Decimal("300.00")
    assert lines.filter(pl.col("row_kind") == "not_paid")["source_line"].to_list() == [2]


def test_a_cancelled_mandate_whose_reversal_is_in_another_exercice_is_said(tmp_path):
    """Another exercice's credit is no reversal of this year's mandate (adv11 #3 pairs the files of
    one exercice, tests/test_fixstate_pairing.py): the reader does not pair them, it says so."""
    head = "Exercice;N° mandat;Date émission;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"
    first = head + f"2024;101;05/02/2024;{Z};{ZS};Travaux voirie;Annulé;5 000,00\n"
    second = head + (f"2025;150;20/02/2025;{Z};{ZS};Annulation;Visé;-5 000,00\n"
                     f"2025;151;21/02/2025;{Z};{ZS};Travaux voirie (réémis);Payé;4 800,00\n")
    lines, files = read_exports(tmp_path, {"a.csv": first, "b.csv": second})
    accounted(lines, files)
    assert lines.filter(pl.col("row_kind") == "not_paid")["source_file"].to_list() == ["purchases/a.csv"]
    from achats.sources.purchases import duplicate_warnings

    said = [w for w in duplicate_warnings(files, lines) if "réduite deux fois" in w]
    assert said == ["purchases/a.csv, ligne 2 : mandat rejeté ou annulé laissé hors de la dépense, mais une pièce "
                    "du même tiers au montant opposé est comptée dans « purchases/b.csv », ligne 2 : si c'est son "
                    "annulation, la dépense est réduite deux fois ; vérifiez"]
