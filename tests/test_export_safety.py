"""Exports never hand a spreadsheet a live formula: supplier names, notes and buying entities come
from people and other systems, and a name like =HYPERLINK(...) must stay text."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest

from achats.export import safe_text, unquote
from achats.pipelines.cli import main
from achats.review import DECISION_HEADERS, HEADERS, parse_overrides
from tests.conftest import run_mini, write_csv

RISKY = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1"]
DECISION = DECISION_HEADERS[0]


def _is_risky(text: str) -> bool:
    return text[:1] in ("\t", "\r", "\n") or text.lstrip(" \t\r\n")[:1] in ("=", "+", "-", "@")


@pytest.mark.parametrize("text", [*RISKY, "'=1", "''+1", "'plain", "plain", "", " -x", "\r\n@x", "'"])
def test_safe_text_round_trips(text):
    assert not _is_risky(safe_text(text))
    assert unquote(safe_text(text)) == text


def test_numbers_stay_numbers():
    assert safe_text(-5.0) == -5.0 and safe_text(3) == 3 and safe_text(None) is None


def _assert_no_formula(path):
    wb = openpyxl.load_workbook(path, data_only=False)
    cells = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                cells += 1
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith("=") and not _is_risky(cell.value), (ws.title, cell.value)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name
    return wb


def test_exports_write_risky_text_as_text(mini, tmp_path, monkeypatch):
    mini.unit("GRANDE SURFACE DU SUD", cj="5710")
    mini.unit(RISKY[0], cj="5710")
    rows = [{"Fournisseur": "GRANDE SURFACE DU SUD", "Montant": "20000", "Date": "01/02/2024", "Direction": "DSI"},
            {"Fournisseur": "GRANDE SURFACE DU SUD", "Montant": "-5", "Date": "02/02/2024", "Direction": RISKY[4]},
            {"Fournisseur": RISKY[0], "Montant": "15", "Date": "03/02/2024", "Direction": RISKY[1]}]
    rows += [{"Fournisseur": name, "Montant": str(10 + i), "Date": "01/03/2024", "Direction": name}
             for i, name in enumerate(RISKY[1:])]
    data = mini.write(rows, header=["Fournisseur", "SIRET", "Montant", "Date", "Direction"])
    write_csv(data / "overrides.csv", ["supplier_name", "siret", "decision", "decided_by", "decided_at", "note"],
              [["+1+1", "", "aucun", RISKY[4], "2026-11-27", RISKY[0]]])
    run_mini(data, tmp_path / "r1").close()
    wh = tmp_path / "r1" / "wh" / "w.duckdb"

    workbook = tmp_path / "achats.xlsx"
    assert main(["export", "--warehouse", str(wh), "--output", str(workbook)]) == 0
    wb = _assert_no_formula(workbook)
    lines = wb["Lignes d'achat"]
    header = [c.value for c in lines[1]]
    amounts = [r[header.index("Montant (€)")] for r in lines.iter_rows(min_row=2, values_only=True)]
    assert -5.0 in amounts and all(isinstance(a, int | float) for a in amounts)  # numbers stay numbers
    entities = {unquote(r[header.index("Entité acheteuse")] or "") for r in lines.iter_rows(min_row=2, values_only=True)}
    assert {RISKY[1], RISKY[4]} <= entities

    review_xlsx, review_csv = tmp_path / "revue.xlsx", tmp_path / "revue.csv"
    assert main(["review", "export", "--warehouse", str(wh), "--output", str(review_xlsx)]) == 0
    ws = _assert_no_formula(review_xlsx).active
    assert main(["review", "export", "--warehouse", str(wh), "--output", str(review_csv)]) == 0
    table = list(csv.reader(io.StringIO(review_csv.read_text(encoding="utf-8-sig")), delimiter=";"))
    for row in table:
        for cell in row:
            assert not _is_risky(cell) or _is_number(cell), cell

    # round trip: what comes back is exactly the exported name and key
    con = run_mini(data, tmp_path / "r1b")
    queue = {r[0]: r[1] for r in con.execute(
        "SELECT supplier_key, supplier_name FROM res_supplier_match WHERE match_status <> 'matched'").fetchall()}
    con.close()
    xlsx_names = {unquote(r[0].value): r[-1].value for r in ws.iter_rows(min_row=2)}
    assert set(xlsx_names.values()) <= set(queue)
    header, body = table[0], table[1:]
    key_col, name_col, dec_col = header.index(DECISION_HEADERS[3]), header.index(HEADERS[0]), header.index(DECISION)
    decided = {}
    for row in body:
        if unquote(row[name_col]) in RISKY:
            row[dec_col] = "aucun"
            row[header.index(DECISION_HEADERS[2])] = "=1+1"
            decided[row[key_col]] = unquote(row[name_col])
    assert len(decided) >= 3
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows([header, *body])
    review_csv.write_text(buf.getvalue(), encoding="utf-8")
    monkeypatch.setenv("ACHATS_REVIEWER", "@agent")
    assert main(["review", "import", str(review_csv), "--data-dir", str(data)]) == 0
    raw = (data / "overrides.csv").read_text(encoding="utf-8")
    assert all(not _is_risky(c) for row in csv.reader(io.StringIO(raw)) for c in row)
    written = [r for r in parse_overrides(raw) if r["supplier_key"]]
    assert {r["supplier_key"]: r["supplier_name"] for r in written} == decided
    assert {queue[k] for k in decided} == set(decided.values())
    assert {(r["note"], r["decided_by"]) for r in written} == {("=1+1", "@agent")}
    con = run_mini(data, tmp_path / "r2")
    overridden = {r[0] for r in con.execute(
        "SELECT DISTINCT supplier_key FROM res_supplier_match WHERE match_method = 'override'").fetchall()}
    assert set(decided) <= overridden


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
