"""Adversarial review adv11, defects 3, 4, 5, 6, 9 and 11a: mandate states and the pairing of a
cancelled mandate with its reversal. Inputs are the reviewer's cases (NP, NP2, NP3, NP4, XS, XF2,
AN3, AMT3), figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from achats.sources.purchases import duplicate_warnings, read_purchase_sources
from tests.reader_inputs import accounted, counted, read_exports

Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"


def _not_paid(lines: pl.DataFrame) -> list[tuple[str, int]]:
    out = lines.filter(pl.col("row_kind") == "not_paid").sort("source_file", "source_line")
    return list(zip(out["source_file"].to_list(), out["source_line"].to_list(), strict=True))


def _payee_sum(lines: pl.DataFrame, word: str) -> Decimal:
    return counted(lines.filter(pl.col("supplier_name").str.contains(word)))


NP = (HEAD
      + f"2024;1;05/02/2024;{Z};{ZS};Travaux A;Payé;1 000,00\n"
      + f"2024;2;06/02/2024;{Z};{ZS};Travaux B;Rejeté - non payé;2 000,00\n"
      + f"2024;3;07/02/2024;{Z};{ZS};Travaux C;Annulé (non mandaté);3 000,00\n"
      + f"2024;4;08/02/2024;{Z};{ZS};Travaux D;Mandaté puis annulé;4 000,00\n"
      + f"2024;5;09/02/2024;{Z};{ZS};Travaux E;Payé;5 000,00\n"
      + f"2024;6;10/02/2024;{Z};{ZS};Travaux F;Annulé;6 000,00\n"
      + f"2024;7;11/02/2024;{Z};{ZS};Travaux G;Annulé;6 000,00\n"
      + f"2024;8;12/02/2024;{Z};{ZS};Annulation mandat 6;Payé;-6 000,00\n")


def test_a_negation_of_the_paid_word_confirms_a_rejection(tmp_path):
    """#4 (NP): « Rejeté - non payé », « Annulé (non mandaté) », « Mandaté puis annulé » were never
    paid; the Annulé n° 6 nets with the « Annulation mandat 6 », the second Annulé (n° 7) is out."""
    lines, files = read_exports(tmp_path, {"mandats_etat_2024.csv": NP})
    accounted(lines, files)
    assert counted(lines) == Decimal("6000.00")  # 1 000 + 5 000 + (6 000 − 6 000)
    f = "purchases/mandats_etat_2024.csv"
    assert _not_paid(lines) == [(f, 3), (f, 4), (f, 5), (f, 8)]


@pytest.mark.parametrize(("value", "never_paid"), [
    ("Rejeté - non payé", True), ("Annulé (non mandaté)", True), ("Mandaté puis annulé", True),
    ("Rejeté, pas encore réglé", True), ("Annulée sans paiement", True),
    # a negation of the cancelling word, a paid word proper, another piece named, a partial cancellation
    ("Non annulé", False), ("Payé", False), ("Pas rejeté", False), ("Payé (annule et remplace le 690)", False),
    ("Mandaté, remplace le mandat annulé 40", False), ("Annulé partiellement", False), ("Mandaté", False),
])
def test_which_state_cells_say_never_paid(value, never_paid):
    from achats.sources.purchases import _NOT_PAID, _says_not_paid

    assert _says_not_paid(value, _NOT_PAID) is never_paid


def test_an_accepted_rejected_cancelled_column_is_the_mandate_state(tmp_path):
    """#6 (NP2): « Accepté » is what the comptable says of a mandate (Coriolis, Sedit, PES)."""
    text = HEAD.replace("Etat", "Statut") + "".join(
        f"2024;{k};0{k}/03/2024;{Z};{ZS};Travaux {k};Accepté;1 000,00\n" for k in range(1, 6)) + (
        f"2024;6;10/03/2024;{Z};{ZS};Travaux 6;Rejeté;7 000,00\n"
        f"2024;7;11/03/2024;{Z};{ZS};Travaux 7;Annulé;9 000,00\n")
    lines, files = read_exports(tmp_path, {"coriolis_mandats_2024.csv": text})
    accounted(lines, files)
    assert counted(lines) == Decimal("5000.00")
    f = "purchases/coriolis_mandats_2024.csv"
    assert _not_paid(lines) == [(f, 7), (f, 8)]


def test_a_state_label_column_is_read(tmp_path):
    """#5 (NP3): « Libellé état » (Hélios/PES), « Code statut » + « Libellé statut » (Astre)."""
    pes = ("Exercice;N° mandat;Date émission;Fournisseur;SIRET;Objet;Libellé état;Montant TTC\n"
           f"2024;1;05/02/2024;{Z};{ZS};Travaux A;Payé;1 000,00\n"
           f"2024;2;06/02/2024;{Z};{ZS};Travaux B;Rejeté;2 000,00\n"
           f"2024;3;07/02/2024;{Z};{ZS};Travaux C;Payé;3 000,00\n")
    astre = ("Exercice;N° mandat;Date émission;Fournisseur;SIRET;Objet;Code statut;Libellé statut;Montant TTC\n"
             f"2024;11;05/03/2024;{Z};{ZS};Travaux D;P;Payé;100,00\n"
             f"2024;12;06/03/2024;{Z};{ZS};Travaux E;A;Annulé;200,00\n"
             f"2024;13;07/03/2024;{Z};{ZS};Travaux F;P;Payé;300,00\n")
    lines, files = read_exports(tmp_path, {"pes_mandats_2024.csv": pes, "astre_mandats_2024.csv": astre})
    accounted(lines, files)
    assert counted(lines) == Decimal("4400.00")
    assert _not_paid(lines) == [("purchases/astre_mandats_2024.csv", 3), ("purchases/pes_mandats_2024.csv", 3)]


NP4_MANDATS = (HEAD
               + f"2024;10;05/02/2024;{Z};{ZS};Travaux A (payé puis réduit);Payé;5 000,00\n"
               + f"2024;11;20/03/2024;{Z};{ZS};Annulation du mandat 10 (ORV);Pris en charge;-5 000,00\n"
               + f"2024;12;21/03/2024;{Z};{ZS};Travaux B;Annulé;5 000,00\n"
               + f"2024;13;22/03/2024;{Z};{ZS};Travaux C;Payé;700,00\n")
NP4_TIERS = ("Date de paiement;N° mandat;Fournisseur;SIRET;Statut;Montant TTC\n"
             + "".join(f"0{k}/04/2024;2{k};{Z};{ZS};Validé;100,00\n" for k in range(1, 7))
             + f"10/04/2024;27;{Q};{QS};Bloqué;900,00\n11/04/2024;28;{Q};{QS};Supprimé;800,00\n")


def test_a_reversal_naming_a_paid_mandate_is_not_paired_with_a_cancelled_one(tmp_path):
    """#3d and #9 (NP4): the ORV of mandate 10 reduces n° 10 (paid), the Annulé n° 12 stays out:
    700 €. A Validé/Bloqué/Supprimé column is a tiers status: its 1 700 € of Quinoa count, said."""
    lines, files = read_exports(tmp_path, {"mandats_etat_2024.csv": NP4_MANDATS,
                                           "paiements_tiers_2024.csv": NP4_TIERS})
    accounted(lines, files)
    mandats = lines.filter(pl.col("source_file") == "purchases/mandats_etat_2024.csv")
    assert counted(mandats) == Decimal("700.00")
    assert _not_paid(lines) == [("purchases/mandats_etat_2024.csv", 4)]
    assert counted(lines) == Decimal("3000.00") and _payee_sum(lines, "QUINOA") == Decimal("1700.00")
    assert any("ne contient que des états qu'un tiers a aussi" in w and "paiements_tiers_2024.csv" in w
               for w in duplicate_warnings(files, lines))


def test_the_reversal_in_another_sheet_of_the_workbook(tmp_path):
    """#3a (XS): a « Mandats » sheet and an « Annulations » sheet: 5 800 €, ESS 4 800 €."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats"
    head = ["Exercice", "N° mandat", "Date émission", "Fournisseur", "SIRET", "Objet", "Etat", "Montant TTC"]
    for row in (head, [2024, 101, "05/02/2024", Q, QS, "Prestation", "Annulé", 5000],
                [2024, 102, "06/02/2024", Q, QS, "Prestation", "Payé", 4800],
                [2024, 103, "07/02/2024", Z, ZS, "Travaux", "Payé", 1000]):
        ws.append(row)
    ws2 = wb.create_sheet("Annulations")
    for row in (head, [2024, 150, "20/02/2024", Q, QS, "Annulation du mandat 101", "Visé", -5000]):
        ws2.append(row)
    (tmp_path / "purchases").mkdir()
    wb.save(tmp_path / "purchases" / "export_coriolis_2024.xlsx")
    lines, files = read_purchase_sources(tmp_path)
    # `accounted` counts per file; here per sheet: 3 + 1 rows, none dropped
    assert files["data_row_count"].to_list() == [3, 1] or files["data_row_count"].to_list() == [1, 3]
    assert lines.height == 4 and set(lines["status"]) == {"ok"}
    assert counted(lines) == Decimal("5800.00") and _payee_sum(lines, "QUINOA") == Decimal("4800.00")
    assert _not_paid(lines) == []


def test_the_reversal_in_another_export_of_the_exercice(tmp_path):
    """#3b (XF2): two half-year exports: 1 000 + 2 000 + (5 000 − 5 000) = 3 000 €."""
    s1 = HEAD + (f"2024;300;16/05/2024;{Z};{ZS};Travaux voirie;Annulé;5 000,00\n"
                 f"2024;301;17/05/2024;{Z};{ZS};Travaux trottoir;Payé;1 000,00\n")
    s2 = HEAD + (f"2024;812;08/07/2024;{Z};{ZS};Annulation du mandat 300;Visé;-5 000,00\n"
                 f"2024;813;09/07/2024;{Z};{ZS};Travaux voirie;Payé;2 000,00\n")
    lines, files = read_exports(tmp_path, {"mandats_2024_S1.csv": s1, "mandats_2024_S2.csv": s2})
    accounted(lines, files)
    assert counted(lines) == Decimal("3000.00")
    assert _not_paid(lines) == []
    assert not [w for w in duplicate_warnings(files, lines) if "réduite deux fois" in w]


def test_a_reversal_typed_without_siret_is_paired_by_name(tmp_path):
    """#3c (AN3): the annulation of Quinoa's n° 201 is typed « QUINOA SOLIDAIRE » without SIRET;
    Zorglub's is positive, made negative by « Type pièce »: 4 800 + 2 900 = 7 700 €, ESS 2 900 €."""
    text = ("Exercice;N° pièce;Type pièce;Date émission;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"
            f"2024;101;Mandat;05/02/2024;{Z};{ZS};Travaux voirie;Annulé;5 000,00\n"
            f"2024;150;Annulation;20/02/2024;{Z};{ZS};Annulation du mandat 101;Visé;5 000,00\n"
            f"2024;151;Mandat;21/02/2024;{Z};{ZS};Travaux voirie (réémis);Payé;4 800,00\n"
            f"2024;201;Mandat;05/03/2024;{Q};{QS};Prestation;Annulé;3 000,00\n"
            "2024;202;Annulation;06/03/2024;QUINOA SOLIDAIRE;;Annulation mandat 201;Visé;-3 000,00\n"
            f"2024;203;Mandat;07/03/2024;{Q};{QS};Prestation;Payé;2 900,00\n")
    lines, files = read_exports(tmp_path, {"helios_2024.csv": text})
    accounted(lines, files)
    assert counted(lines) == Decimal("7700.00") and _payee_sum(lines, "QUINOA") == Decimal("2900.00")
    assert _not_paid(lines) == []


def test_another_payee_is_never_paired_by_name(tmp_path):
    """Counter-example: a reversal typed with another payee's name, no SIRET, stays a credit of its own."""
    text = HEAD + (f"2024;201;05/03/2024;{Q};{QS};Prestation;Annulé;3 000,00\n"
                   "2024;202;06/03/2024;COOP ROUGE;;Annulation;Visé;-3 000,00\n")
    lines, _ = read_exports(tmp_path, {"m.csv": text})
    assert _not_paid(lines) == [("purchases/m.csv", 2)] and counted(lines) == Decimal("-3000.00")


def test_a_settled_amount_is_a_paid_amount_but_a_balance_is_not(tmp_path):
    """#11a (AMT3): « Montant soldé » (Grand Angle) is what was paid; « Solde » is a running balance."""
    settled = ("Date de paiement;N° mandat;Fournisseur;SIRET;Montant soldé\n"
               f"05/05/2024;11;{Z};{ZS};700,00\n06/06/2024;12;{Z};{ZS};800,00\n")
    balance = ("Date de paiement;N° mandat;Fournisseur;SIRET;Montant TTC;Solde\n"
               f"05/07/2024;21;{Z};{ZS};120,00;880,00\n06/08/2024;22;{Z};{ZS};240,00;640,00\n")
    lines, files = read_exports(tmp_path, {"grandangle_2024.csv": settled, "autre_2024.csv": balance})
    accounted(lines, files)
    assert counted(lines) == Decimal("1860.00")  # 700 + 800 + 120 + 240


def test_a_payee_made_negative_is_said_without_its_name(tmp_path):
    """A reversal of a mandate in no file read makes its payee's sum negative: said, file and line."""
    text = HEAD + (f"2024;201;05/03/2024;{Q};{QS};Prestation;Payé;1 000,00\n"
                   f"2024;202;06/03/2024;{Q};{QS};Annulation mandat 150;Visé;-3 000,00\n"
                   f"2024;203;07/03/2024;{Z};{ZS};Travaux;Payé;5 000,00\n")
    lines, files = read_exports(tmp_path, {"m.csv": text})
    assert counted(lines) == Decimal("3000.00")
    said = [w for w in duplicate_warnings(files, lines) if "somme négative" in w]
    assert said == ["purchases/m.csv, ligne 3 : les lignes comptées du tiers de cette ligne (même SIREN, sinon même "
                    "nom) font une somme négative (-2 000,00 €) : une annulation ou une réduction dont le mandat "
                    "n'est dans aucun fichier lu ; la dépense de ce tiers, et peut-être la part ESS, en sont "
                    "réduites ; vérifiez"]
    assert "QUINOA" not in said[0]
