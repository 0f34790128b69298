"""Adversarial review round 12, defects 1 and 2, built from the reviewer's inputs (CAN1, CAN2,
CAN6): a « Montant annulé » column that holds the whole amount of the cancelled lines (blank or
0 on the paid ones) is taken off, not read as a net amount; a negative mandate whose cancelled
cell is empty is an ordinary reduction, not a cancelled part above its mandate."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from achats.pipelines.cli import main
from achats.recount import file_total_mismatches
from tests.reader_inputs import amounts_by_line, ok_total, read_with_notes

QUINOA = "ASSOCIATION QUINOA SOLIDAIRE;81234567600009"
ZORGLUB = "ZORGLUB TRAVAUX PUBLICS;81234568400003"
HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant mandaté;{}\n"
CAN1 = (f"2024;1;05/02/2024;{ZORGLUB};Travaux A;1 000,00;\n"
        f"2024;2;06/02/2024;{ZORGLUB};Travaux B;2 000,00;2 000,00\n"
        f"2024;3;07/02/2024;{QUINOA};Repas;3 000,00;0,00\n"
        f"2024;4;08/02/2024;{QUINOA};Repas B;4 000,00;1 500,00\n"
        f"2024;5;09/02/2024;{ZORGLUB};Travaux E;500,00;500,00\n"
        f"2024;6;10/02/2024;{ZORGLUB};Travaux F;700,00;\n")


_read = read_with_notes
_amounts = amounts_by_line


def test_full_cancellations_in_a_cancelled_column_are_taken_off(tmp_path):
    """CAN1: 1 000 + 0 + 3 000 + 2 500 + 0 + 700 = 7 200 (not 11 200: the column is kept)."""
    df, note = _read(tmp_path, "mandats_2024.csv", HEAD.format("Montant annulé") + CAN1)
    assert df["status"].to_list() == ["ok"] * 6
    assert _amounts(df) == [Decimal(x) for x in ("1000.00", "0.00", "3000.00", "2500.00", "0.00", "700.00")]
    assert ok_total(df) == Decimal(7200)
    assert "« Montant mandaté » − « Montant annulé »" in note and "non retranchée" not in note
    # the ambiguous « Montant réduit », blank or 0 on most lines, is a part too
    df, _ = _read(tmp_path / "r", "r.csv", HEAD.format("Montant réduit") + CAN1)
    assert ok_total(df) == Decimal(7200)


def test_a_cancelled_column_equal_on_most_lines_is_taken_off_and_said(tmp_path):
    """CAN2: four of five lines cancelled in full: only the 4 000 was paid, and a note says it."""
    df, note = _read(tmp_path, "mandats_2024.csv", HEAD.format("Montant annulé")
                     + f"2024;1;05/02/2024;{ZORGLUB};Travaux A;1 000,00;1 000,00\n"
                     f"2024;2;06/02/2024;{ZORGLUB};Travaux B;2 000,00;2 000,00\n"
                     f"2024;3;07/02/2024;{QUINOA};Repas;3 000,00;3 000,00\n"
                     f"2024;4;08/02/2024;{QUINOA};Repas B;4 000,00;\n"
                     f"2024;5;09/02/2024;{ZORGLUB};Travaux E;500,00;500,00\n")
    assert ok_total(df) == Decimal(4000)
    assert "sur 4 des 5 lignes : ces mandats sont comptés annulés en totalité" in note
    # a « Montant réduit » filled on every line and equal on most is still the amount after reduction
    df, note = _read(tmp_path / "n", "n.csv", HEAD.format("Montant réduit")
                     + f"2024;1;05/02/2024;{ZORGLUB};A;1 000,00;800,00\n"
                     f"2024;2;06/02/2024;{ZORGLUB};B;2 000,00;2 000,00\n"
                     f"2024;3;07/02/2024;{QUINOA};C;3 000,00;3 000,00\n")
    assert ok_total(df) == Decimal(6000) and "montant après réduction" in note


def test_a_negative_mandate_without_cancelled_part_is_a_credit(tmp_path):
    """CAN6: 1 000 − 2 000 + 2 500 = 1 500; only the 3 500 cancelled on a 3 000 mandate is quarantined."""
    head = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant TTC;Montant annulé\n"
    df, _ = _read(tmp_path, "mandats_2024.csv", head
                  + f"2024;1;05/02/2024;{ZORGLUB};Travaux A;1 000,00;\n"
                  f"2024;2;06/02/2024;{ZORGLUB};Travaux B;-2 000,00;\n"
                  f"2024;3;07/02/2024;{QUINOA};Repas;3 000,00;-500,00\n"
                  f"2024;4;07/02/2024;{QUINOA};Repas;3 000,00;3 500,00\n"
                  f"2024;5;08/02/2024;{QUINOA};Avoir;-300,00;0,00\n"
                  f"2024;6;09/02/2024;{QUINOA};ORV;-400,00;100,00\n")
    df = df.sort("source_line")
    assert df["status"].to_list() == ["ok", "ok", "ok", "quarantined", "ok", "quarantined"]
    assert _amounts(df)[:3] == [Decimal("1000.00"), Decimal("-2000.00"), Decimal("2500.00")]
    assert ok_total(df) == Decimal(1200)  # 1 000 − 2 000 + 2 500 − 300
    assert "supérieure au montant du mandat « 3 000,00 »" in df["quarantine_reason"][3]
    assert "ligne 7" in df["quarantine_reason"][5] and "mandat négatif « -400,00 »" in df["quarantine_reason"][5]


def test_full_cancellations_end_to_end_and_reread(mini, tmp_path, capsys):
    """CAN1 through the run: ALL = 7 200, and the independent re-read adds the same cells."""
    mini.unit("ASSOCIATION QUINOA SOLIDAIRE")
    mini.unit("ZORGLUB TRAVAUX PUBLICS")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "purchases" / "mandats_2024.csv").write_text(
        HEAD.format("Montant annulé").replace("SIRET;", "") + CAN1.replace(";81234567600009", "")
        .replace(";81234568400003", ""), encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        assert total == Decimal("7200.00")
        assert file_total_mismatches(con, data) == ([], 0)


def test_cancelled_part_after_ht_plus_vat(tmp_path):
    """CAN5: no TTC column: (HT + TVA) − annulé = 1 200 + 1 800 + 3 000 = 6 000; a blank VAT
    cell keeps its place, and the re-read adds the same cells."""
    head = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant HT;Montant TVA;Montant annulé\n"
    df, note = _read(tmp_path, "mandats_2024.csv", head
                     + f"2024;1;05/02/2024;{ZORGLUB};Travaux A;1 000,00;200,00;\n"
                     f"2024;2;06/02/2024;{ZORGLUB};Travaux B;2 000,00;400,00;600,00\n"
                     f"2024;3;07/02/2024;{QUINOA};Repas;3 000,00;0,00;\n"
                     f"2024;4;08/02/2024;{QUINOA};Repas C;500,00;;100,00\n")
    assert _amounts(df) == [Decimal(x) for x in ("1200.00", "1800.00", "3000.00", "400.00")]
    assert "« Montant HT » + « Montant TVA » − « Montant annulé »" in note and "non retranchée" not in note
    assert df.sort("source_line")["amount_raw"].to_list()[3] == "500,00 +  − 100,00"


def test_two_cancelled_columns_are_both_taken_off(tmp_path):
    """CAN10: « Montant annulé » and « Montant réduit », parts on distinct lines: 800 + 0 + 3 000
    + 3 900 = 7 700; a part above the mandate is still quarantined, both cells quoted."""
    head = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant mandaté;Montant annulé;Montant réduit\n"
    df, note = _read(tmp_path, "mandats_2024.csv", head
                     + f"2024;1;05/02/2024;{ZORGLUB};Travaux A;1 000,00;0,00;200,00\n"
                     f"2024;2;06/02/2024;{ZORGLUB};Travaux B;2 000,00;2 000,00;0,00\n"
                     f"2024;3;07/02/2024;{QUINOA};Repas;3 000,00;0,00;0,00\n"
                     f"2024;4;08/02/2024;{QUINOA};Repas;4 000,00;0,00;100,00\n"
                     f"2024;5;09/02/2024;{QUINOA};Repas;1 000,00;800,00;300,00\n")
    df = df.sort("source_line")
    assert df["status"].to_list() == ["ok"] * 4 + ["quarantined"]
    assert ok_total(df) == Decimal(7700)
    assert "« Montant mandaté » − « Montant annulé » − « Montant réduit »" in note
    reason = df["quarantine_reason"][4]
    assert "« 800,00 + 300,00 »" in reason and "« Montant annulé » + « Montant réduit »" in reason
    # a « Montant réduit » equal to the mandate on most lines is the amount after reduction: only
    # « Montant annulé » is taken off
    df, note = _read(tmp_path / "n", "n.csv", head
                     + f"2024;1;05/02/2024;{ZORGLUB};A;1 000,00;0,00;1 000,00\n"
                     f"2024;2;06/02/2024;{ZORGLUB};B;2 000,00;500,00;1 500,00\n"
                     f"2024;3;07/02/2024;{QUINOA};C;3 000,00;;3 000,00\n")
    assert ok_total(df) == Decimal(5500) and "« Montant réduit » n'est pas retranchée" in note


def test_three_part_amounts_end_to_end_and_reread(mini, tmp_path, capsys):
    """CAN5 and CAN10 layouts through the run: the independent re-read adds the same cells."""
    mini.unit("ASSOCIATION QUINOA SOLIDAIRE")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "purchases" / "ht.csv").write_text(
        "Date mandat;N° mandat;Fournisseur;Montant HT;Montant TVA;Montant annulé\n"
        "05/02/2024;1;ASSOCIATION QUINOA SOLIDAIRE;2 000,00;400,00;600,00\n"
        "06/02/2024;2;ASSOCIATION QUINOA SOLIDAIRE;500,00;;100,00\n"
        "07/02/2024;3;ASSOCIATION QUINOA SOLIDAIRE;1 000,00;200,00;\n", encoding="utf-8")
    (data / "purchases" / "astre.csv").write_text(
        "Date mandat;N° mandat;Fournisseur;Montant mandaté;Montant annulé;Montant réduit\n"
        "05/03/2024;11;ASSOCIATION QUINOA SOLIDAIRE;1 000,00;0,00;200,00\n"
        "06/03/2024;12;ASSOCIATION QUINOA SOLIDAIRE;2 000,00;2 000,00;\n"
        "07/03/2024;13;ASSOCIATION QUINOA SOLIDAIRE;4 000,00;;-100,00\n", encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    assert rc == 0, capsys.readouterr().err
    with duckdb.connect(str(wh)) as con:
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        assert total == Decimal("8100.00")  # 1 800 + 400 + 1 200, then 800 + 0 + 3 900
        assert file_total_mismatches(con, data) == ([], 0)
        con.execute("UPDATE src_purchase_lines SET amount_eur = 500 WHERE source_file LIKE '%ht.csv' "
                    "AND source_line = 3")
        bad, _ = file_total_mismatches(con, data)
    assert len(bad) == 1 and "ligne 3 : cellule 400,00, comptée 500,00" in bad[0]


def test_one_part_written_in_two_columns_is_taken_off_once(tmp_path):
    """Counter-example to CAN10: « Montant annulé » and « Annulations » holding the same part are
    one part written twice: 3 000 − 1 000 + 2 000 = 4 000, not 3 000."""
    head = "Date;N° mandat;Fournisseur;SIRET;Montant mandaté;Montant annulé;Annulations\n"
    df, note = _read(tmp_path, "a.csv", head + f"05/03/2024;1;{QUINOA};3 000,00;1 000,00;1 000,00\n"
                     f"06/03/2024;2;{QUINOA};2 000,00;;\n")
    assert ok_total(df) == Decimal(4000)
    assert "« Annulations » n'est pas retranchée" in note and "la même part" in note
