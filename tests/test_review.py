"""The review round trip: export, decide, import, rerun — decided suppliers leave the queue."""

from __future__ import annotations

import openpyxl
import pytest

from achats.errors import InputError
from achats.review import HEADERS, export_review, read_decisions
from pipelines.cli import main
from tests.conftest import run_mini


def _queue_data(mini):
    a, _ = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    b, _ = mini.unit("ESAT DE MURET", cj="9220", commune="33063")
    mini.unit("GRANDE SURFACE DU SUD", cj="5710")
    return a, b, mini.write([
        {"Fournisseur": "ESAT DE MURET", "Montant": "100", "Date": "01/02/2024"},
        {"Fournisseur": "ESAT DE MURET", "Montant": "900", "Date": "01/03/2024"},
        {"Fournisseur": "QUINCAILLERIE ZEPHYR", "Montant": "50", "Date": "01/03/2024"},
        {"Fournisseur": "GRANDE SURFACE DU SUD", "Montant": "70", "Date": "01/03/2024"},
    ])


def test_round_trip(mini, tmp_path):
    a, b, data = _queue_data(mini)
    con = run_mini(data, tmp_path / "r1")
    out = tmp_path / "revue.xlsx"
    assert export_review(con, out) == 2
    con.close()
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows[0][0] == "ESAT DE MURET" and rows[0][5] == 1000  # largest amount first
    assert {rows[0][6], rows[0][10]} == {a, b}  # both homonyms offered
    assert rows[1][2] == "non rapproché"
    rows[0][header.index("Décision (SIREN, SIRET ou « aucun »)")] = b
    rows[1][header.index("Décision (SIREN, SIRET ou « aucun »)")] = "aucun"
    for i, row in enumerate(rows, start=2):
        for j, v in enumerate(row, start=1):
            ws.cell(i, j, v)
    wb.save(out)
    assert main(["review", "import", str(out), "--data-dir", str(data), "--by", "agent.dcp"]) == 0
    overrides = (data / "overrides.csv").read_text(encoding="utf-8")
    assert "agent.dcp" in overrides and b in overrides and "aucun" in overrides
    con = run_mini(data, tmp_path / "r2")
    res = dict(con.execute("""SELECT p.supplier_name, r.match_method || ':' || r.match_status || ':' || coalesce(r.siren, '')
                              FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)""").fetchall())
    assert res["ESAT DE MURET"] == f"override:matched:{b}"
    assert res["QUINCAILLERIE ZEPHYR"] == "override:unmatched:"
    assert res["GRANDE SURFACE DU SUD"].startswith("name_exact:matched")
    assert export_review(con, tmp_path / "again.csv") == 0  # decided suppliers do not come back
    # importing again the same decisions is idempotent
    assert main(["review", "import", str(out), "--data-dir", str(data), "--by", "agent.dcp"]) == 0
    assert (data / "overrides.csv").read_text(encoding="utf-8").count("\n") == 3


def test_bad_decision_names_row_and_field(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(";".join(HEADERS + ["Décision (SIREN, SIRET ou « aucun »)"]) + "\n"
                    + ";".join(["X"] + [""] * (len(HEADERS) - 1) + ["12345"]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"r.csv, ligne 2, champ « Décision .*« 12345 »"):
        read_decisions(path, "moi")
