"""Adversarial review 14 (reviewer A), defects 2, 3 and 6, built from the reviewer's inputs (X4,
X5, X7, Q1, Q2, AF), figures by hand: a workbook sheet whose header is not recognised is read,
stops the run or is named (never dropped in silence); a second table with its own header in one
file is read with that header (« Montant annulé »: credits); a file or sheet named for
cancellations counts its lines negative."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from achats.errors import InputError
from achats.pipelines.cli import main
from achats.sources.purchases import _cancellation_name, read_purchase_sources
from tests.reader_inputs import ok_total, read_with_notes

ZORGLUB = ("ZORGLUB TRAVAUX PUBLICS", "81234568400003")
QUINOA = ("ASSOCIATION QUINOA SOLIDAIRE", "81234567600009")
PAMPLEMOUSSE = ("PAMPLEMOUSSE SERVICES", "81234572600002")


def _workbook(root: Path, name: str, sheets: dict[str, list[list]], hidden: tuple[str, ...] = ()) -> Path:
    folder = root / "purchases"
    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        if title in hidden:
            ws.sheet_state = "hidden"
    wb.save(folder / name)
    return root


def _read(root: Path) -> tuple[pl.DataFrame, str]:
    lines, files = read_purchase_sources(root)
    return lines, "\n".join(n for n in files["column_note"].to_list() if n)


X5 = {
    "Achats": [["N° mandat", "Date de paiement", "Fournisseur", "SIRET", "Objet", "Montant TTC"],
               [1, "05/03/2024", *ZORGLUB, "Voirie", 10000], [2, "06/04/2024", *PAMPLEMOUSSE, "Ménage", 2000]],
    "Subventions": [["N° mandat", "Date de versement", "Association", "Objet", "Montant versé"],
                    [3, "15/03/2024", QUINOA[0], "Subvention de fonctionnement", 15000],
                    [4, "15/09/2024", QUINOA[0], "Subvention projet", 5000]],
    "Prestations": [["N° mandat", "Date mandat", "Prestataire", "SIRET", "Montant TTC"],
                    [5, "15/05/2024", *ZORGLUB, 3000]],
}


def test_x5_subsidies_and_services_sheets_are_read(tmp_path):
    """X5: 10 000 + 2 000 + 15 000 + 5 000 + 3 000 = 35 000, the subsidies named by « Association »
    and the services' supplier named by « Prestataire » (it was 15 000, names lost)."""
    lines, _ = _read(_workbook(tmp_path, "depenses_commune_2024.xlsx", X5))
    assert ok_total(lines) == Decimal(35000)
    by_sheet = {s: ok_total(g) for (s,), g in lines.group_by("source_sheet")}
    assert by_sheet == {"Achats": Decimal(12000), "Subventions": Decimal(20000), "Prestations": Decimal(3000)}
    assert lines.filter(pl.col("source_sheet") == "Prestations")["supplier_name"].to_list() == [ZORGLUB[0]]
    assert set(lines.filter(pl.col("source_sheet") == "Subventions")["supplier_name"]) == {QUINOA[0]}


def test_x4_name_identifier_and_somme_headers(tmp_path):
    """X4: « Nom | Identifiant | Somme » is read: 1 000 + 2 000 + 50 000 + 7 000 = 60 000."""
    sheets = {"Fonctionnement": [["N° mandat", "Date", "Fournisseur", "SIRET", "Montant TTC"],
                                 [1, "05/03/2024", *ZORGLUB, 1000], [2, "06/03/2024", *QUINOA, 2000]],
              "Investissement": [["N° mandat", "Date", "Nom", "Identifiant", "Somme"],
                                 [3, "05/04/2024", *ZORGLUB, 50000], [4, "06/04/2024", *QUINOA, 7000]]}
    lines, _ = _read(_workbook(tmp_path, "mandats_2024.xlsx", sheets))
    assert ok_total(lines) == Decimal(60000)
    assert ok_total(lines.filter(pl.col("source_sheet") == "Investissement")) == Decimal(57000)


def test_a_payment_sheet_whose_header_is_not_recognised_stops_the_run(tmp_path):
    """A sheet with dated rows, amounts and names, but no header the reader knows (« Organisme »
    is the buyer, « Versement » no amount word): the run stops naming the file, the sheet and a
    row — its amounts would be missing from the totals."""
    sheets = {"Achats": X5["Achats"],
              "Aides": [["Date", "Organisme", "Versement"], ["15/03/2024", QUINOA[0], 15000],
                        ["15/09/2024", QUINOA[0], "5 000,00"]]}
    with pytest.raises(InputError) as err:
        _read(_workbook(tmp_path, "depenses.xlsx", sheets))
    assert "purchases/depenses.xlsx (feuille « Aides ») : feuille non lue" in str(err.value)
    assert "sa ligne 2 ressemble à un paiement" in str(err.value)
    # a header below the rows the reader scans (a long filter block above it) stops it too
    block = [[f"Filtre {i} :", "Tous"] for i in range(35)]
    sheets["Aides"] = block + [["N° mandat", "Date mandat", "Fournisseur", "SIRET", "Montant TTC"],
                               [3, "15/03/2024", *QUINOA, 15000]]
    with pytest.raises(InputError, match="feuille « Aides »"):
        _read(_workbook(tmp_path / "deep", "depenses.xlsx", sheets))


def test_a_non_data_sheet_is_passed_over_with_a_note(tmp_path):
    """A cover page, a lookup list of codes and a summary by quarter (no dated row with an amount
    and a name) beside the data: the data is read (12 000), each other sheet is named in a note;
    a hidden sheet of payments without a known header is named too, not a stop (it would not
    count)."""
    sheets = {"Garde": [["Commune de Saint-Exemple"], ["Mandats de l'exercice 2024"], ["Édité le 05/01/2025"]],
              "Achats": X5["Achats"],
              "Codes": [["Code", "Libellé"], ["611", "Contrats de prestations"], ["6574", "Subventions"]],
              "Synthèse": [["Trimestre", "Dépense"], ["T1", 10000], ["T2", 2000]],
              "Brouillon": [["Date", "Organisme", "Versement"], ["15/03/2024", QUINOA[0], 15000]]}
    lines, note = _read(_workbook(tmp_path, "mandats.xlsx", sheets, hidden=("Brouillon",)))
    assert ok_total(lines) == Decimal(12000)
    for sheet in ("Garde", "Codes", "Synthèse", "Brouillon"):
        assert f"purchases/mandats.xlsx (feuille « {sheet} ») : feuille non lue" in note, sheet
    assert "feuille « Achats » ) : feuille non lue" not in note


X7 = {"Mandats": [["Exercice", "N° mandat", "Date mandat", "Fournisseur", "SIRET", "Montant TTC"],
                  [2024, 1, "05/03/2024", *ZORGLUB, 1000], [2024, 2, "06/06/2024", *QUINOA, 3000],
                  [2024, 3, "07/06/2024", *ZORGLUB, 2000]],
      "Annulations": [["Exercice", "N° mandat annulé", "Date annulation", "Fournisseur", "SIRET", "Montant annulé"],
                      [2024, 3, "20/06/2024", *ZORGLUB, 2000]]}


def test_x7_a_sheet_of_cancellations_counts_negative(tmp_path):
    """X7: 1 000 + 3 000 + 2 000 − 2 000 = 4 000 (it was 6 000); the note says why."""
    lines, note = _read(_workbook(tmp_path, "mandats_2024.xlsx", X7))
    assert ok_total(lines) == Decimal(4000)
    assert lines.filter(pl.col("source_sheet") == "Annulations")["amount_eur"].to_list() == [Decimal("-2000.00")]
    assert "(feuille « Annulations ») : lignes lues comme des annulations (colonne « Montant annulé »)" in note
    # the sheet's name alone says so too, with a plain « Montant TTC » header
    x7 = {**X7, "Annulations": [[*X7["Annulations"][0][:5], "Montant TTC"], X7["Annulations"][1]]}
    lines, note = _read(_workbook(tmp_path / "n", "mandats_2024.xlsx", x7))
    assert ok_total(lines) == Decimal(4000)
    assert "lignes lues comme des annulations (feuille « Annulations »)" in note
    # counter-example: a sheet named otherwise with a « Montant TTC » stays payments (another mandate)
    x7 = {"Mandats": X7["Mandats"], "Autres": [x7["Annulations"][0], [2024, 4, "20/06/2024", *ZORGLUB, 2500]]}
    lines, _ = _read(_workbook(tmp_path / "o", "mandats_2024.xlsx", x7))
    assert ok_total(lines) == Decimal(8500)


def _q2(n: int) -> tuple[str, Decimal, Decimal]:
    """The Q2 layout: n payments (101, 102 … €), « Total mandats émis », a blank line, a title, a
    second header « … Montant annulé » with two cancellations, « Total annulations »."""
    rows = ["MANDATS EMIS;;;;", "N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC"]
    total = ess = Decimal(0)
    for i in range(1, n + 1):
        who = ZORGLUB if i % 2 else QUINOA
        amount = Decimal(100 + i)
        rows.append(f"{i};{(i % 28) + 1:02d}/{(i % 12) + 1:02d}/2024;{who[0]};{who[1]};{amount},00".replace(".", ","))
        total += amount
        ess += amount if who is QUINOA else 0
    rows += [f";;Total mandats émis;;{total},00", ";;;;", "ANNULATIONS ET REDUCTIONS;;;;",
             "N° mandat annulé;Date annulation;Fournisseur;SIRET;Montant annulé",
             f"{n + 1};20/06/2024;{ZORGLUB[0]};{ZORGLUB[1]};5 000,00",
             f"{n + 2};21/06/2024;{QUINOA[0]};{QUINOA[1]};4 000,00", ";;Total annulations;;9 000,00"]
    return "\n".join(rows) + "\n", total - 9000, ess - 4000


def test_q2_a_second_table_of_cancellations_is_read_as_credits(tmp_path):
    """Q2: 200 payments (40 100 €) then « ANNULATIONS » (5 000 + 4 000): 31 100 € counted, ESS
    16 100 € (it was 49 100 / 24 100); the second header and its title are header rows."""
    text, total, ess = _q2(200)
    assert (total, ess) == (Decimal(31100), Decimal(16100))
    lines, note = read_with_notes(tmp_path, "mandats_2024.csv", text)
    assert ok_total(lines) == total
    assert ok_total(lines.filter(pl.col("supplier_name") == QUINOA[0])) == ess
    kinds = dict(zip(lines["source_line"].to_list(), lines["row_kind"].to_list(), strict=True))
    assert (kinds[205], kinds[206]) == ("header", "header")
    assert lines.filter(pl.col("source_line").is_in([207, 208]))["amount_eur"].to_list() == \
        [Decimal("-5000.00"), Decimal("-4000.00")]
    assert "mandats_2024.csv, ligne 206 : second tableau, avec son propre en-tête (montant « Montant annulé ») : " \
           "ses lignes sont des annulations" in note
    # counter-example: the same header repeated (two exports pasted) stays a repeated header
    one = text.split("ANNULATIONS")[0]
    lines, note = read_with_notes(tmp_path / "r", "m.csv", one + one.split("\n", 1)[1])
    assert "second tableau" not in note and ok_total(lines) == Decimal(40100)


def test_a_second_table_whose_columns_moved_stops_the_run(tmp_path):
    """A second header whose supplier and amount are not in the first header's columns: its lines
    would be read with the wrong meaning, so the run stops naming the line."""
    text = ("N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
            f"1;05/03/2024;{ZORGLUB[0]};{ZORGLUB[1]};1 000,00\n"
            ";;;;\n"
            "N° mandat;Date mandat;Montant annulé;Fournisseur;SIRET\n"
            f"1;20/06/2024;500,00;{ZORGLUB[0]};{ZORGLUB[1]}\n")
    with pytest.raises(InputError, match=r"m\.csv, ligne 4 : un second tableau commence"):
        read_with_notes(tmp_path, "m.csv", text)


def test_a_payment_line_is_never_taken_for_a_second_header(tmp_path):
    """Counter-example: a supplier named « TIERS LIEU DES FOURNISSEURS » whose amount cell is text
    stays a quarantined data line, and the other lines are payments."""
    text = ("N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
            f"1;05/03/2024;{ZORGLUB[0]};{ZORGLUB[1]};1 000,00\n"
            "2;;TIERS LIEU DES FOURNISSEURS;;Montant à venir\n"
            f"3;07/03/2024;{QUINOA[0]};{QUINOA[1]};500,00\n")
    lines, note = read_with_notes(tmp_path, "m.csv", text)
    assert ok_total(lines) == Decimal(1500)
    assert lines.filter(pl.col("source_line") == 3)["row_kind"].to_list() == ["data"]
    assert "second tableau" not in note


AF_MANDATS = ("Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
              f"2024;1;05/03/2024;{';'.join(ZORGLUB)};1 000,00\n"
              f"2024;2;06/06/2024;{';'.join(QUINOA)};3 000,00\n"
              f"2024;3;07/06/2024;{';'.join(ZORGLUB)};2 000,00\n")
AF_CANCELLED = ("Exercice;N° mandat;Date annulation;Fournisseur;SIRET;Montant TTC\n"
                f"2024;3;20/06/2024;{';'.join(ZORGLUB)};2 000,00\n")


def test_af_a_file_named_for_cancellations_counts_negative(tmp_path):
    """AF: annulations_mandats_2024.csv (2 000, written positive) beside mandats_2024.csv (6 000):
    4 000 counted, 2024-Q2 3 000 (it was 8 000 and 7 000)."""
    folder = tmp_path / "purchases"
    folder.mkdir()
    (folder / "mandats_2024.csv").write_text(AF_MANDATS, encoding="utf-8")
    (folder / "annulations_mandats_2024.csv").write_text(AF_CANCELLED, encoding="utf-8")
    lines, note = _read(tmp_path)
    assert ok_total(lines) == Decimal(4000)
    assert ok_total(lines.filter(pl.col("quarter") == "2024-Q2")) == Decimal(3000)
    assert "purchases/annulations_mandats_2024.csv : lignes lues comme des annulations (fichier " \
           "« annulations_mandats_2024.csv »)" in note


@pytest.mark.parametrize(("name", "expected"), [
    ("Annulations", True), ("annulations_mandats_2024", True), ("Réductions T2", True), ("ANNULATIONS 2024", True),
    ("Mandats d'annulation", True), ("ORV 2024", True), ("Avoirs", True), ("export_annulations_janvier", True),
    ("Mandats annulés", False), ("Mandats et annulations", False), ("mandats_2024", False), ("Mandats", False),
    ("Annulations refusées", False), ("Achats hors annulations", False), ("Réductions d'impôts", False)])
def test_which_names_say_cancellations(name, expected):
    assert _cancellation_name(name) is expected


def test_x7_end_to_end(mini, tmp_path, capsys):
    """X7 through the run: objective 8 ALL = 4 000 €, ESS 3 000 €; the note is in the log."""
    mini.unit(QUINOA[0])
    mini.unit(ZORGLUB[0])
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    # the units of this small SIRENE have their own SIRETs: the sheets name suppliers only
    sheets = {k: [[c for j, c in enumerate(r) if j != 4] for r in v] for k, v in X7.items()}
    _workbook(data, "mandats_2024.xlsx", sheets)
    wh = tmp_path / "w.duckdb"
    rc = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "dash")])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "lignes lues comme des annulations (colonne « Montant annulé »)" in err
    with duckdb.connect(str(wh), read_only=True) as con:
        total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
    assert total == Decimal("4000.00")


def test_a_cancellation_list_that_writes_negatives_is_read_as_written(tmp_path):
    """Counter-example: « annulations_2024.csv » with −2 000 and a positive 700: its signs say which
    lines are credits; read as written (−1 300), and the note says so."""
    text = ("N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
            f"2;16/01/2024;{';'.join(QUINOA)};-2 000,00\n"
            f"9;20/02/2024;{';'.join(QUINOA)};700,00\n")
    lines, note = read_with_notes(tmp_path, "annulations_2024.csv", text)
    assert ok_total(lines) == Decimal(-1300)
    assert "nommé pour des annulations (fichier « annulations_2024.csv ») mais des montants y sont écrits en " \
           "négatif : lu tel qu'écrit" in note
