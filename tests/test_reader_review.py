"""Reader defects found by a reviewer on hand-made exports (issue #11, second pass): each test
builds its own small input and checks the amount counted, to the cent."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl

from achats.sources.purchases import read_purchase_sources, read_purchases
from tests.reader_inputs import ok_total, write_export


def _workbook(root: Path, name: str, sheets: dict[str, list[list]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    (root / "purchases").mkdir(parents=True, exist_ok=True)
    wb.save(root / "purchases" / name)
    return root


def test_a_sheet_of_dated_or_numbered_payments_is_never_a_summary_sheet(tmp_path):
    head = ["N° mandat", "Date", "Fournisseur", "Montant"]
    # the second period repeats every recurring payment of the first, plus one more
    first = [["A1", dt.datetime(2023, 3, 1), "LOYER", 730.0], ["A2", dt.datetime(2023, 3, 2), "SUBV", 45.5]]
    second = [["B1", dt.datetime(2023, 4, 1), "LOYER", 730.0], ["B2", dt.datetime(2023, 4, 2), "SUBV", 45.5],
              ["B3", dt.datetime(2023, 4, 9), "AUTRE", 12.0]]
    lines, _ = read_purchase_sources(_workbook(tmp_path, "w.xlsx", {"P1": [head, *first], "P2": [head, *second]}))
    assert ok_total(lines) == Decimal("1563.00")
    # numbered but undated rows are payments too
    nodate = [["N° mandat", "Fournisseur", "Montant"]]
    lines, _ = read_purchase_sources(_workbook(tmp_path / "n", "w.xlsx", {
        "Fonct": [*nodate, ["F1", "X", 100.0], ["F2", "Y", 40.0]],
        "Invest": [*nodate, ["I1", "X", 100.0], ["I2", "Y", 40.0], ["I3", "Z", 7.0]]}))
    assert ok_total(lines) == Decimal("287.00")


def test_a_payment_in_an_export_without_siret_is_the_same_payee_by_name(tmp_path):
    write_export(tmp_path, "annee.csv", "N° mandat;Date;Fournisseur;SIRET;Montant\n"
           "M7;03/02/2022;Les Ateliers Réunis;41234567800011;210,40\n"
           "M8;04/02/2022;COOP VERTE;51234567800012;99,99\n"
           "M9;05/05/2022;COOP VERTE;51234567800012;15,00\n")
    write_export(tmp_path, "trimestre.csv", "N° mandat;Date;Fournisseur;Montant\n"
           "M7;03/02/2022;LES ATELIERS  REUNIS;210,40\n"  # case, accents and spacing aside: same name
           "M8;04/02/2022;Coop Verte;99,99\n"
           "M9;05/05/2022;COOP ROUGE;15,00\n")  # another payee: another payment
    lines, _ = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("340.39")
    dup = lines.filter(pl.col("status") == "duplicate")
    assert dup["source_file"].unique().to_list() == ["purchases/trimestre.csv"]
    assert sorted(dup["supplier_name"]) == ["Coop Verte", "LES ATELIERS  REUNIS"]


def test_mandate_numbers_are_compared_without_leading_zeros(tmp_path):
    write_export(tmp_path, "annee.csv", "N° mandat;Date;Fournisseur;SIRET;Montant\n"
           "000041;03/02/2022;ALPHA;41234567800011;210,40\n"
           "000042;04/02/2022;BETA;51234567800012;99,99\n"
           "000043;05/05/2022;BETA;51234567800012;15,00\n")
    _workbook(tmp_path, "trimestre.xlsx", {"T1": [["N° mandat", "Date", "Fournisseur", "SIRET", "Montant"],
                                                  [41, dt.datetime(2022, 2, 3), "ALPHA", 41234567800011, 210.4],
                                                  [42.0, dt.datetime(2022, 2, 4), "BETA", 51234567800012, 99.99]]})
    lines, _ = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("325.39")
    assert lines.filter(pl.col("status") == "duplicate").height == 2


def test_rows_of_two_budgets_are_never_the_same_payment(tmp_path):
    head = "N° mandat;Date;Fournisseur;SIRET;Montant;Entité acheteuse\n"
    write_export(tmp_path, "principal.csv", head + "1;10/03/2021;OMEGA;41234567800011;800,00;Budget principal\n"
           "2;11/03/2021;SIGMA;51234567800012;64,10;Budget principal\n")
    # numbering restarts in the other budget: same n°, date and payee, another (or the same) amount
    write_export(tmp_path, "annexe.csv", head + "1;10/03/2021;OMEGA;41234567800011;90,00;Budget annexe Eau\n"
           "2;11/03/2021;SIGMA;51234567800012;64,10;Budget annexe Eau\n")
    # an export without the budget column repeats one payment of the main budget: counted once
    write_export(tmp_path, "extrait.csv", "N° mandat;Date;Fournisseur;SIRET;Montant\n"
           "1;10/03/2021;OMEGA;41234567800011;800,00\n3;12/03/2021;TAU;;5,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("1023.20")
    dup = lines.filter(pl.col("status") != "ok")
    assert dup["supplier_name"].to_list() == ["OMEGA"] and dup["buying_entity"].to_list() in ([None], ["Budget principal"])


def test_a_file_named_as_a_correction_wins_over_a_longer_older_export(tmp_path):
    head = "N° mandat;Date;Fournisseur;SIRET;Montant\n"
    write_export(tmp_path, "grand_livre.csv", head + "X1;04/01/2025;KAPPA;41234567800011;9 100,00\n"
           "X2;06/01/2025;KAPPA;41234567800011;20,00\nX3;30/11/2025;LAMBDA;;300,00\n")
    write_export(tmp_path, "janvier_rectif.csv", head + "X1;04/01/2025;KAPPA;41234567800011;910,00\n"
           "X2;06/01/2025;KAPPA;41234567800011;20,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("1230.00")
    old = lines.filter(pl.col("row_kind") == "superseded")
    assert old["source_file"].to_list() == ["purchases/grand_livre.csv"]
    assert "correction" in old["quarantine_reason"][0] and "VÉRIFIER" not in old["quarantine_reason"][0]


def test_a_correction_chosen_by_default_says_it_must_be_checked(tmp_path):
    head = "N° mandat;Date;Fournisseur;SIRET;Montant\n"
    write_export(tmp_path, "export_a.csv", head + "X1;04/01/2025;KAPPA;41234567800011;9 100,00\n")
    write_export(tmp_path, "export_b.csv", head + "X1;04/01/2025;KAPPA;41234567800011;910,00\n"
           "X2;06/02/2025;KAPPA;41234567800011;20,00\n")
    lines, _ = read_purchase_sources(tmp_path)
    assert ok_total(lines) == Decimal("930.00")  # the rule is kept: the export that goes further
    reason = lines.filter(pl.col("row_kind") == "superseded")["quarantine_reason"][0]
    assert "À VÉRIFIER" in reason and "06/02/2025" in reason and "export_b.csv" in reason


def test_the_debit_credit_column_is_named_sens_in_achats_toml(tmp_path):
    import pytest

    from achats.config import load_settings
    from achats.errors import InputError

    write_export(tmp_path, "m.csv", "N° mandat;Date;Fournisseur;Montant;Code opé\n"
           "K1;15/03/2024;ALPHA;1 000,00;D\nK2;16/03/2024;ALPHA;400,00;C\n")
    (tmp_path / "achats.toml").write_text('[colonnes]\nsens = "Code opé"\nsns = "x"\n', encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.column_mapping == {"direction": "Code opé"}
    unknown = [w for w in settings.warnings if "sns" in w]
    assert unknown and "sens" in unknown[0] and "direction" not in unknown[0]
    assert ok_total(read_purchases(tmp_path, settings.column_mapping)) == Decimal("600.00")
    # « direction » is also a department of the buyer: refused, the message says which key to write
    (tmp_path / "achats.toml").write_text('[colonnes]\ndirection = "Code opé"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"direction.*ambigu.*sens = "):
        load_settings(tmp_path)


def test_debit_credit_values_are_read_as_whole_words(tmp_path):
    rows = [("Non crédité", "quarantined", None), ("Débit (annulation)", "quarantined", None),
            ("Créditeur", "quarantined", None), ("Mandat annulé", "ok", "-11.00"),
            ("Annulation de mandat", "ok", "-11.00"), ("Mandatement", "ok", "11.00"), ("débit", "ok", "11.00"),
            ("Avoir", "ok", "-11.00"), ("c", "ok", "-11.00")]
    text = "Fournisseur;Montant;Sens\n" + "".join(f"F{i};11,00;{v}\n" for i, (v, _, _) in enumerate(rows))
    df = read_purchases(write_export(tmp_path, "s.csv", text))
    got = [(st, None if st != "ok" else str(a)) for st, a in zip(df["status"], df["amount_eur"], strict=True)]
    assert got == [(st, a) for _, st, a in rows]
    assert "contradictoire" in df["quarantine_reason"][1] and "« Non crédité »" in df["quarantine_reason"][0]


def test_amounts_in_thousands_of_euros_are_refused_with_the_file_and_header(tmp_path):
    import pytest

    from achats.errors import InputError

    for k, header in enumerate(["Montant payé (k€)", "Montant en milliers d'euros", "Dépense KEUR"]):
        root = write_export(tmp_path / str(k), "m.csv", f"Fournisseur;{header}\nA;12,50\nB;3,25\n")
        with pytest.raises(InputError, match=rf"purchases/m\.csv.*« {re.escape(header)} ».*pas en euros"):
            read_purchases(root)
    # in a workbook, such a sheet is not set aside as a notes sheet
    root = _workbook(tmp_path / "x", "w.xlsx", {"Euros": [["Fournisseur", "Montant"], ["A", 5.0]],
                                                "Milliers": [["Fournisseur", "Montant (k€)"], ["B", 2.5]]})
    with pytest.raises(InputError, match="Milliers.*Montant \\(k€\\)"):
        read_purchase_sources(root)
    assert ok_total(read_purchases(write_export(tmp_path / "e", "m.csv", "Fournisseur;Montant (€)\nA;12,50\n"))) == \
        Decimal("12.50")


def test_a_total_label_in_the_mandate_column_is_a_total_row_whatever_its_amount(tmp_path):
    for label in ("Total général", "TOTAL 2023", "Sous-total"):
        root = write_export(tmp_path / label, "m.csv", "N° mandat;Date;Fournisseur;SIRET;Montant\n"
                      "M12;02/05/2023;TOTAL ENERGIES;54205118000066;80,00\n"
                      "M13;03/05/2023;GAMMA;;20,00\n"
                      f"{label};;;;9 999,00\n")  # the ledger's total, not this extract's sum
        df = read_purchases(root)
        assert ok_total(df) == Decimal("100.00"), label
        assert df.filter(pl.col("source_row") == 3)["row_kind"].to_list() == ["total"], label


def test_an_unquoted_decimal_comma_that_keeps_the_field_count_is_ambiguous(tmp_path):
    # the row's last (empty) field left out: `3000,50` fills the count exactly
    quoted = ('Fournisseur,Montant,Service\nA,"1 000,00",Voirie\nB,3000,50\nC,"3000",50\n'
              'D,"4 000,25",\n')
    df = read_purchases(write_export(tmp_path / "q", "v.csv", quoted))
    assert df["status"].to_list() == ["ok", "quarantined", "ok", "ok"]
    assert "3000,50" in df["quarantine_reason"][1] and "ligne 3" in df["quarantine_reason"][1]
    assert ok_total(df) == Decimal("8000.25")
    # a file without any quote (read by the fast path) is judged alike
    df = read_purchases(write_export(tmp_path / "p", "v.csv", "Fournisseur,Montant,Service\nA,120,Voirie\nB,3000,5\n"))
    assert df["status"].to_list() == ["ok", "quarantined"]
    # decimal point: a comma never carries cents there
    df = read_purchases(write_export(tmp_path / "d", "v.csv", "Fournisseur,Montant,Service\nA,12.50,Voirie\nB,3000,50\n"))
    assert df["status"].to_list() == ["ok", "ok"]
