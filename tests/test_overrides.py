"""Manual decisions win on every run and change exactly the lines they name."""

from __future__ import annotations

from tests.conftest import run_mini, write_csv


def test_override_changes_exactly_its_lines(mini, tmp_path):
    a, _ = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    b, _ = mini.unit("ESAT DE MURET", cj="9220", commune="33063")
    mini.unit("AUTRE FOURNISSEUR", cj="5710")
    data = mini.write([
        {"Fournisseur": "ESAT DE MURET", "Montant": "100", "Date": "01/02/2024"},
        {"Fournisseur": "ESAT de Muret", "Montant": "200", "Date": "01/03/2024"},
        {"Fournisseur": "AUTRE FOURNISSEUR", "Montant": "50", "Date": "01/03/2024"},
    ])
    con = run_mini(data, tmp_path / "before")
    before = dict(con.execute("SELECT line_id, match_status FROM purchase_lines_resolved").fetchall())
    con.close()
    assert sorted(before.values()) == ["matched", "review", "review"]
    write_csv(data / "overrides.csv", ["supplier_name", "siret", "decision", "decided_by", "decided_at", "note"],
              [["ESAT DE MURET", "", b, "agent.dcp", "2026-11-27", "vérifié sur facture"]])
    con = run_mini(data, tmp_path / "after")
    after = {r[0]: r[1:] for r in con.execute(
        "SELECT line_id, match_status, match_method, siren FROM purchase_lines_resolved").fetchall()}
    changed = {k for k in before if before[k] != after[k][0] or after[k][1] == "override"}
    assert len(changed) == 2
    assert all(after[k] == ("matched", "override", b) for k in changed)
    assert a not in {v[2] for v in after.values()}
