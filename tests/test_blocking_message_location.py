"""The blocking quarantine check stops the run before the names are masked: its message hides the
cells it quotes (a shifted column may hold a non-diffusible unit's name) but keeps where the line
is — file, sheet, line and field — so the operator can open it in the workbook."""

from __future__ import annotations

import openpyxl
import pytest

from achats.pipelines.checks import elide_cells
from achats.pipelines.cli import main


def test_the_message_names_sheet_and_field_and_hides_the_cells(mini, tmp_path, capsys):
    _, siret = mini.unit("ASSOCIATION DES JARDINS", cj="9220")
    mini.unit("TAMARILLO SECRET", cj="5499", statutDiffusionUniteLegale="P")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats DSI 2024"
    ws.append(["Fournisseur", "SIRET", "Montant TTC", "Date de mandatement"])
    ws.append(["ASSOCIATION DES JARDINS", siret, 100, "01/03/2024"])
    ws.append(["ASSOCIATION DES JARDINS", siret, "douze cents", "02/03/2024"])  # line 3
    ws.append(["ASSOCIATION DES JARDINS", siret, "TAMARILLO SECRET", "03/03/2024"])  # line 4: a shifted name
    ws.append(["ASSOCIATION DES JARDINS", siret, 50, "04/03/2024"])
    wb.save(data / "purchases" / "mandats_2024.xlsx")
    capsys.readouterr()
    code = main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--dashboard-dir", str(tmp_path / "dash")])
    err = capsys.readouterr().err
    assert code == 2
    assert "50,0 % mesurés pour une limite de 25,0 %" in err
    where = "purchases/mandats_2024.xlsx (feuille « Mandats DSI 2024 »), ligne {}, champ « Montant TTC » : "
    assert where.format(3) + "montant illisible « … »" in err
    assert where.format(4) + "montant illisible « … »" in err
    assert "douze cents" not in err and "TAMARILLO" not in err.upper()


@pytest.mark.parametrize("reason, shown", [
    # the location before « : » stays, every quoted cell after it is hidden, even one quoted as « champ »
    ("purchases/a.csv, ligne 3, champ « Montant » : montant « 12 » suivi du champ « DUPONT » : peut-être « 12,DUPONT »",
     "purchases/a.csv, ligne 3, champ « Montant » : montant « … » suivi du champ « … » : peut-être « … »"),
    ("purchases/a.xlsx (feuille « 2024 »), ligne 9, champ « Date » : date illisible « Marie Dupont »",
     "purchases/a.xlsx (feuille « 2024 »), ligne 9, champ « Date » : date illisible « … »"),
    ("purchases/a.csv, ligne 5 : ligne de total égale à la somme des lignes précédentes",
     "purchases/a.csv, ligne 5 : ligne de total égale à la somme des lignes précédentes"),
    # no recognisable location: every quoted part is hidden, as before
    ("montant illisible « Marie Dupont »", "montant illisible « … »"),
])
def test_only_the_quoted_cells_are_hidden(reason, shown):
    assert elide_cells(reason) == shown
