"""The review round trip: export, decide, import, rerun — decided suppliers leave the queue."""

from __future__ import annotations

import openpyxl
import pytest

from achats.errors import InputError
from achats.pipelines.cli import main
from achats.review import HEADERS, export_review, read_decisions
from tests.conftest import run_mini


def _queue_data(mini):
    a, _ = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    b, _ = mini.unit("ESAT DE MURET", cj="5710", commune="33063")  # another ESS outcome: homonyms of one outcome are decided without review
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


# --- decisions apply to what was reviewed, with who and when --------------------------------

def _review_file(path, rows: list[dict]):
    """A filled-in review file as `review export` writes it (only the columns import reads)."""
    from achats.review import DECISION_HEADERS

    header = HEADERS + DECISION_HEADERS
    lines = [";".join(header)]
    for r in rows:
        cells = {HEADERS[0]: r.get("name", ""), HEADERS[1]: r.get("siret", ""), DECISION_HEADERS[0]: r["decision"],
                 DECISION_HEADERS[2]: r.get("note", ""), DECISION_HEADERS[3]: r.get("key", "")}
        lines.append(";".join(cells.get(h, "") for h in header))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_needs_to_know_who_decided(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    review = _review_file(tmp_path / "r.csv", [{"name": "ESAT DE MURET", "decision": "aucun", "key": "k1"}])
    monkeypatch.delenv("ACHATS_REVIEWER", raising=False)
    monkeypatch.setenv("USER", "root")
    assert main(["review", "import", str(review), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "--by" in err and "ACHATS_REVIEWER" in err
    assert not (data / "overrides.csv").exists()
    monkeypatch.setenv("ACHATS_REVIEWER", "agent.env")
    assert main(["review", "import", str(review), "--data-dir", str(data)]) == 0
    text = (data / "overrides.csv").read_text(encoding="utf-8")
    assert "agent.env" in text and "inconnu" not in text and "root" not in text
    assert main(["review", "import", str(review), "--data-dir", str(data), "--by", "agent.dcp"]) == 0


def test_every_decision_is_kept_and_the_latest_is_in_force(tmp_path):
    from achats.review import import_decisions
    from achats.warehouse import read_overrides

    data = tmp_path / "data"
    data.mkdir()
    ov = data / "overrides.csv"
    first = _review_file(tmp_path / "1.csv", [{"name": "ESAT DE MURET", "decision": "aucun", "key": "k1"}])
    assert import_decisions(first, ov, "agent.a") == (1, 1, 1)
    assert import_decisions(first, ov, "agent.a") == (1, 0, 1)  # the same decision is not written twice
    second = _review_file(tmp_path / "2.csv", [{"name": "ESAT DE MURET", "decision": "552 100 554", "key": "k1"}])
    assert import_decisions(second, ov, "agent.b") == (1, 1, 2)
    rows = read_overrides(data).to_dicts()
    assert [(r["supplier_key"], r["decision"], r["decided_by"], r["is_current"]) for r in rows] == [
        ("k1", "aucun", "agent.a", False), ("k1", "552100554", "agent.b", True)]
    assert all(r["decided_at"] for r in rows)
    # going back to the first decision is a new decision, kept as such
    assert import_decisions(first, ov, "agent.a") == (1, 1, 3)
    assert [r["is_current"] for r in read_overrides(data).to_dicts()] == [False, False, True]


def test_the_latest_decided_at_wins_and_the_later_row_on_a_tie(tmp_path):
    from achats.warehouse import read_overrides
    from tests.conftest import write_csv

    header = ["supplier_key", "supplier_name", "siret", "decision", "decided_by", "decided_at", "note"]
    write_csv(tmp_path / "overrides.csv", header, [
        ["k1", "A", "", "aucun", "x", "2026-03-02T10:00:00", ""],
        ["k1", "A", "", "552100554", "y", "2026-03-01", ""],  # written later, decided earlier
        ["k2", "B", "", "aucun", "x", "2026-03-01T09:00:00", ""],
        ["k2", "B", "", "552100554", "y", "2026-03-01T09:00:00", ""],  # same time: the later row
        ["", "C", "", "aucun", "x", "", ""],
        ["", "C", "", "552100554", "y", "", ""],
    ])
    current = {(r["supplier_key"] or r["supplier_name"]): r["decision"]
               for r in read_overrides(tmp_path).to_dicts() if r["is_current"]}
    assert current == {"k1": "aucun", "k2": "552100554", "C": "552100554"}


def test_round_trip_changes_exactly_the_reviewed_lines(mini, tmp_path, monkeypatch):
    from tests.conftest import luhn_complete

    a, siret_a = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    b, _ = mini.unit("ESAT DE MURET", cj="5710", commune="33063")  # another ESS outcome: homonyms of one outcome are decided without review
    mini.unit("GRANDE SURFACE DU SUD", cj="5710")
    data = mini.write([
        {"Fournisseur": "ESAT DE MURET", "SIRET": siret_a, "Montant": "100", "Date": "01/02/2024"},
        {"Fournisseur": "ESAT DE MURET", "Montant": "900", "Date": "01/03/2024"},
        {"Fournisseur": "Esat de Muret", "Montant": "90", "Date": "01/04/2024"},
        {"Fournisseur": "ESAT DE MURET", "SIRET": luhn_complete(luhn_complete("77700001") + "0001"),
         "Montant": "300", "Date": "01/04/2024"},
        {"Fournisseur": "QUINCAILLERIE ZEPHYR", "Montant": "50", "Date": "01/03/2024"},
        {"Fournisseur": "GRANDE SURFACE DU SUD", "Montant": "20000", "Date": "01/03/2024"},
    ])
    query = "SELECT line_id, match_status, match_method, siren FROM purchase_lines_resolved"
    con = run_mini(data, tmp_path / "r1")
    before = {r[0]: r[1:] for r in con.execute(query).fetchall()}
    line_key = dict(con.execute("SELECT line_id, supplier_key FROM res_line_supplier_key").fetchall())
    out = tmp_path / "revue.xlsx"
    export_review(con, out)
    con.close()
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    target = next(i for i, r in enumerate(rows, start=2)
                  if r[0] == "ESAT DE MURET" and not r[1])  # the group typed without SIRET
    key = ws.cell(target, col["Clé fournisseur"]).value
    ws.cell(target, col["Décision (SIREN, SIRET ou « aucun »)"], "aucun")
    wb.save(out)
    monkeypatch.setenv("ACHATS_REVIEWER", "agent.dcp")
    assert main(["review", "import", str(out), "--data-dir", str(data)]) == 0
    con = run_mini(data, tmp_path / "r2")
    after = {r[0]: r[1:] for r in con.execute(query).fetchall()}
    reviewed = {k for k, v in line_key.items() if v == key}
    assert len(reviewed) == 2
    assert {k for k in before if before[k] != after[k]} == reviewed
    assert {after[k] for k in reviewed} == {("unmatched", "override", None)}
    con.close()
    # a new decision on the same supplier replaces it on the next run; both stay in the history
    wb = openpyxl.load_workbook(out)
    wb.active.cell(target, col["Décision (SIREN, SIRET ou « aucun »)"], b)
    wb.save(out)
    assert main(["review", "import", str(out), "--data-dir", str(data)]) == 0
    con = run_mini(data, tmp_path / "r3")
    after = {r[0]: r[1:] for r in con.execute(query).fetchall()}
    assert {k for k in before if before[k] != after[k]} == reviewed
    assert {after[k] for k in reviewed} == {("matched", "override", b)}
    history = con.execute("SELECT source_row, decision, is_current FROM src_overrides ORDER BY source_row").fetchall()
    assert history == [(1, "aucun", False), (2, b, True)]
    assert con.execute("SELECT DISTINCT override_row FROM res_supplier_match WHERE supplier_key = ?",
                       [key]).fetchall() == [(2,)]
