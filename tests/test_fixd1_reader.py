"""Adversarial review adv8, defects 1, 2, 4 and 8: suppliers named « TOTAL X » or « MAX X » in an
undated list, the paid amount against the invoice's TTC, « Mandat annulatif » and its neighbours,
and a credit written negative but typed « Mandat ». Inputs are the reviewer's cases (T2, T3, HD2,
HD3, AN2, P1), figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from achats.sources.purchases import map_headers
from tests.reader_inputs import accounted, counted, read_exports

Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
P, PS = "PAMPLEMOUSSE SERVICES", "81234572600002"


def _of(lines: pl.DataFrame, name: str) -> Decimal:
    return counted(lines.filter(pl.col("supplier_name") == name))


# --- defect 1: « TOTAL DIRECT ENERGIE » is a supplier, not a subtotal ---------------------------

T3 = ("Fournisseur;Montant mandaté\n"
      f"{Q};1 000,00\nBERGER LEVRAULT;2 400,00\nDIRECT ENERGIE;1 850,00\nENGIE;3 120,00\nLA POSTE;640,00\n"
      "MANUTAN COLLECTIVITES;980,50\nORANGE;1 310,00\nPAMPLEMOUSSE SERVICES;2 000,00\nSUEZ EAU FRANCE;4 200,00\n"
      f"TOTAL DIRECT ENERGIE;2 730,00\n{Z};5 000,00\n")
T2 = ("Exercice;Fournisseur;Montant mandaté TTC\n"
      f"2024;{Q};1 000,00\n2024;DIRECT ENERGIE;1 200,00\n2024;DISTRIBUTION;150,00\n2024;MAX DISTRIBUTION;300,00\n"
      f"2024;MIN BTP;450,00\n2024;BTP;450,00\n2024;TOTAL DIRECT ENERGIE;800,00\n2024;TOTAL ENERGIES;4 550,00\n"
      f"2024;{Z};2 000,00\n")


def test_a_supplier_named_total_of_another_one_in_an_alphabetical_list_is_a_payment(tmp_path):
    """T3: TOTAL DIRECT ENERGIE (2 730 €) is seven rows under DIRECT ENERGIE, with its own amount:
    by hand 25 230,50 €, every line accepted."""
    lines, files = read_exports(tmp_path, {"depenses_fournisseurs_2024.csv": T3})
    assert counted(lines) == Decimal("25230.50")
    assert _of(lines, "TOTAL DIRECT ENERGIE") == Decimal("2730.00")
    assert set(lines["status"]) == {"ok"} and set(lines["row_kind"]) == {"data"}
    accounted(lines, files)


def test_a_supplier_right_under_its_namesake_with_another_amount_is_a_payment(tmp_path):
    """T2: MAX DISTRIBUTION (300 €) sits right under DISTRIBUTION (150 €), but 300 is no sum, count,
    average, max or min of 150: a payment. By hand 10 900 €."""
    lines, files = read_exports(tmp_path, {"depenses_par_fournisseur_2024.csv": T2})
    assert counted(lines) == Decimal("10900.00")
    assert _of(lines, "MAX DISTRIBUTION") == Decimal("300.00")
    assert lines.filter(pl.col("status") != "ok").height == 0
    accounted(lines, files)


def test_undated_subtotals_under_their_group_are_still_recognised(tmp_path):
    """The counter-example: the same kind of list where the rows under a group are its statistics
    (a sum, a rounded average, a count stacked under them) stays 3 payments, 3 700 €."""
    text = ("Fournisseur;Montant\n"
            "DIRECT ENERGIE;1 000,00\nDIRECT ENERGIE;500,00\nDIRECT ENERGIE;200,00\n"
            "TOTAL DIRECT ENERGIE;1 700,00\nMOYENNE DIRECT ENERGIE;566,67\nNOMBRE DIRECT ENERGIE;3\n"
            f"{Z};2 000,00\n")
    lines, _ = read_exports(tmp_path, {"par_fournisseur_2024.csv": text})
    assert counted(lines) == Decimal("3700.00")
    assert lines.filter(pl.col("status") != "ok")["row_kind"].to_list() == ["total"] * 3


# --- defect 2: the paid amount before the invoice's TTC -----------------------------------------

HD3 = ("Date mandat;N° mandat;Fournisseur;SIRET;N° facture;Montant TTC facture;Montant mandaté\n"
       f"15/03/2024;101;{Z};{ZS};F2024-17;10 000,00;5 000,00\n"
       f"15/05/2024;188;{Z};{ZS};F2024-17;10 000,00;5 000,00\n"
       f"20/03/2024;102;{Q};{QS};F-88;2 000,00;2 000,00\n")
HD2 = ("Date mandat;N° mandat;Fournisseur;SIRET;Montant facture TTC;Retenue de garantie;Net à payer\n"
       f"01/03/2024;101;{Z};{ZS};10 000,00;500,00;9 500,00\n"
       f"03/02/2024;102;{Q};{QS};1 000,00;0,00;1 000,00\n")


def test_an_invoice_paid_in_two_mandates_counts_what_was_mandated(tmp_path):
    """HD3: one invoice of 10 000 € paid by two mandates of 5 000 €: 12 000 €, not 22 000 €."""
    lines, _ = read_exports(tmp_path, {"mandats_2024.csv": HD3})
    assert counted(lines) == Decimal("12000.00") and _of(lines, Q) == Decimal("2000.00")


def test_the_net_paid_after_a_retention_is_counted(tmp_path):
    """HD2: 10 000 € invoiced, 500 € held back as retenue de garantie, 9 500 € paid: 10 500 €."""
    lines, _ = read_exports(tmp_path, {"mandats_2024.csv": HD2})
    assert counted(lines) == Decimal("10500.00")


@pytest.mark.parametrize(("header", "amount"), [
    (["Tiers", "Montant TTC facture", "Montant mandaté"], 2),
    (["Tiers", "Montant facture TTC", "Net à payer"], 2),
    (["Tiers", "Montant réglé", "Montant TTC"], 1),
    (["Tiers", "Montant TTC", "Montant payé TTC"], 2),
    (["Tiers", "Montant mandaté HT", "Montant TTC"], 2),  # a paid column that says HT is still HT
    (["Tiers", "Montant HT", "Montant TTC"], 2),  # among unpaid columns, TTC over HT
    (["Tiers", "Montant TTC", "Montant"], 1),
])
def test_a_paid_column_is_ttc_by_nature(header, amount):
    assert map_headers(header)["amount"] == amount


# --- defect 4: « Mandat annulatif » and neighbouring spellings -----------------------------------

AN2 = ("Date mandat;N° mandat;Type de pièce;Fournisseur;SIRET;Montant TTC\n"
       f"15/03/2024;101;Mandat;{Q};{QS};1 000,00\n"
       f"20/03/2024;102;Mandat;{Z};{ZS};4 000,00\n"
       f"15/09/2024;140;Mandat annulatif;{Q};{QS};300,00\n")


@pytest.mark.parametrize("piece", ["Mandat annulatif", "Pièce annulative", "Titre annulatif", "Mandat d'annulation",
                                   "Mandat de réduction", "Réduction de mandat", "Titre d'annulation",
                                   "Mandat annulé", "Annul.", "MANDAT ANNULATIF", "Mandats annulatifs"])
def test_a_cancelling_mandate_written_positive_counts_negative(tmp_path, piece):
    """AN2: 1 000 + 4 000 - 300 = 4 700 €, of which QUINOA 700 €."""
    lines, files = read_exports(tmp_path, {"pieces_2024.csv": AN2.replace("Mandat annulatif", piece)})
    assert counted(lines) == Decimal("4700.00") and _of(lines, Q) == Decimal("700.00")
    accounted(lines, files)


# --- defect 8: a credit written negative and typed « Mandat » ------------------------------------

P1 = ("Date mandat;N° mandat;Type de pièce;Fournisseur;SIRET;Montant facture TTC;Retenue de garantie;Net à payer\n"
      f"1er mars 2024;101;Mandat;{Z};{ZS};10 000,00;500,00;9 500,00\n"
      f"3 févr. 2024;102;Mandat;{Q};{QS};1 000,00;0,00;1 000,00\n"
      f"12-janv-24;103;Mandat;{P};{PS};2 000,00;0,00;2 000,00\n"
      f"15 sept. 2024;104;Mandat annulatif;{Q};{QS};300,00;0,00;300,00\n"
      f"4 juil. 2024;105;Annulation-Réduction;{P};{PS};100,00;0,00;100,00\n"
      f"28 août 2024;106;Ordre de reversement;{Z};{ZS};50,00;0,00;50,00\n"
      f"2 mai 2024;107;Mandat;{Z};{ZS};-40,00;0,00;-40,00\n"
      f"15/10/2024;108;Mandat;{Z};{ZS};1 000,00;0,00;1 000,00\n"
      f"16/10/2024;109;Mandat;{Z};{ZS};1 000,00;0,00;1 000,00\n"
      f"17/10/2024;110;Mandat;{Z};{ZS};1 000,00;0,00;1 000,00\n")


def test_a_negative_mandate_in_a_piece_type_column_is_a_reduction(tmp_path):
    """P1: 9 500 + 1 000 + 2 000 - 300 - 100 - 50 - 40 + 3 000 = 15 010 €, every line accepted
    (the « Mandat » written -40 was quarantined as contradicting its sign)."""
    lines, files = read_exports(tmp_path, {"mandats_2024.csv": P1})
    assert counted(lines) == Decimal("15010.00")
    assert _of(lines, Q) == Decimal("700.00") and _of(lines, P) == Decimal("1900.00")
    assert lines.filter(pl.col("status") != "ok").height == 0
    accounted(lines, files)


def test_a_real_sense_column_may_still_contradict_the_sign(tmp_path):
    """A « Sens » column saying D on an amount written negative is a contradiction: quarantined,
    with its reason, not guessed."""
    text = ("Date;Sens;Fournisseur;SIRET;Montant\n"
            f"01/03/2024;D;{Z};{ZS};1 000,00\n01/04/2024;C;{Q};{QS};200,00\n01/05/2024;D;{Z};{ZS};-40,00\n")
    lines, files = read_exports(tmp_path, {"s.csv": text})
    assert counted(lines) == Decimal("800.00")
    bad = lines.filter(pl.col("status") == "quarantined")
    assert bad["source_line"].to_list() == [4] and "contredit le signe" in bad["quarantine_reason"][0]
    accounted(lines, files)


def test_nested_subtotals_stay_recognised(tmp_path):
    """Subtotals by direction over subtotals by supplier (the direction cell left empty on the
    supplier's subtotal rows): « Nombre DSI », « Moyenne DSI » and « Max Voirie » are statistics of
    their direction's payments, the nested rows passed. 4 payments, 2 000 €, 7 total rows."""
    text = ("Direction;Fournisseur;Montant\n"
            f"DSI;{Z};1 000,00\nDSI;{Z};500,00\n;{Z} Total;1 500,00\nDSI;{Q};200,00\n;{Q} Total;200,00\n"
            f"Nombre DSI;;3\nMoyenne DSI;;566,67\nVoirie;{Z};300,00\n;{Z} Total;300,00\nMax Voirie;;300,00\n"
            "Total général;;2 000,00\n")
    lines, files = read_exports(tmp_path, {"par_direction.csv": text})
    assert counted(lines) == Decimal("2000.00")
    assert lines.filter(pl.col("status") != "ok")["row_kind"].to_list() == ["total"] * 7
    accounted(lines, files)
