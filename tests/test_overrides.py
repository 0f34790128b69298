"""Manual decisions win on every run and change exactly the lines they name."""

from __future__ import annotations

from tests.conftest import run_mini, write_csv


def test_override_changes_exactly_its_lines(mini, tmp_path):
    a, _ = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    b, _ = mini.unit("ESAT DE MURET", cj="5710", commune="33063")  # another ESS outcome: homonyms of one outcome are decided without review
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


# --- a decision applies exactly to what was reviewed ----------------------------------------

OVERRIDE_HEADER = ["supplier_key", "supplier_name", "siret", "decision", "decided_by", "decided_at", "note"]
HEADER = ["Fournisseur", "SIRET", "Montant", "Date", "Commune"]


def _resolved(con) -> dict[str, tuple]:
    """line_id -> (typed name, typed SIRET, status, method, siren): which lines a decision changed."""
    return {r[0]: r[1:] for r in con.execute("""
        SELECT line_id, p.supplier_name, p.siret_raw, r.match_status, r.match_method, r.siren
        FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)""").fetchall()}


def _homonyms(mini):
    """ESAT DE MURET typed with a's SIRET, with an unknown but valid SIRET, and with none."""
    from tests.conftest import luhn_complete

    a, siret_a = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    b, _ = mini.unit("ESAT DE MURET", cj="9220", commune="33063")
    other_valid = luhn_complete(luhn_complete("77700001") + "0001")
    data = mini.write([
        {"Fournisseur": "ESAT DE MURET", "SIRET": siret_a, "Montant": "100", "Date": "01/02/2024"},
        {"Fournisseur": "ESAT DE MURET", "SIRET": " ".join([siret_a[:3], siret_a[3:6], siret_a[6:9], siret_a[9:]]),
         "Montant": "110", "Date": "02/02/2024"},
        {"Fournisseur": "ESAT DE MURET", "Montant": "200", "Date": "01/03/2024"},
        {"Fournisseur": "ESAT DE MURET", "SIRET": other_valid, "Montant": "300", "Date": "01/04/2024"},
        {"Fournisseur": "ESAT DE MURET", "SIRET": "12345", "Montant": "400", "Date": "01/05/2024"},
        {"Fournisseur": "AUTRE NOM", "SIRET": siret_a, "Montant": "500", "Date": "01/06/2024"},
    ])
    return a, b, siret_a, other_valid, data


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if before[k] != after[k]}


def _lines_typed(resolved: dict, *sirets: str, name: str = "ESAT DE MURET") -> set[str]:
    return {k for k, v in resolved.items() if v[0] == name and (v[1] or "") in sirets}


def test_a_decision_on_a_name_alone_never_touches_lines_with_a_valid_siret(mini, tmp_path):
    a, b, siret_a, other_valid, data = _homonyms(mini)
    before = _resolved(run_mini(data, tmp_path / "before"))
    no_siret = _lines_typed(before, "", "12345")  # no valid identifier: the name-only decision may apply
    assert len(no_siret) == 2
    for n, decision in enumerate(["aucun", b]):
        write_csv(data / "overrides.csv", OVERRIDE_HEADER,
                  [["", "ESAT DE MURET", "", decision, "agent.dcp", "2026-11-27", "vu"]])
        after = _resolved(run_mini(data, tmp_path / f"after{n}"))
        assert _changed(before, after) == no_siret, decision
        expected = ("unmatched", "override", None) if decision == "aucun" else ("matched", "override", b)
        assert {after[k][2:] for k in no_siret} == {expected}
        # lines typed with a's SIRET keep a, the unknown valid SIRET keeps its own resolution
        assert {after[k][4] for k in _lines_typed(after, siret_a)} == {a}


def test_a_name_and_siret_decision_applies_to_that_name_and_siret_only(mini, tmp_path):
    a, b, siret_a, other_valid, data = _homonyms(mini)
    before = _resolved(run_mini(data, tmp_path / "before"))
    spaced = " ".join([siret_a[:3], siret_a[3:6], siret_a[6:9], siret_a[9:]])
    write_csv(data / "overrides.csv", OVERRIDE_HEADER, [
        ["", "Esat de Muret", spaced, b, "agent.dcp", "2026-11-27", "SIRET faux sur la facture"],
        ["", "ESAT DE MURET", "12345", "aucun", "agent.dcp", "2026-11-27", "identifiant invalide"],
    ])
    after = _resolved(run_mini(data, tmp_path / "after"))
    esat_a = _lines_typed(before, siret_a, spaced)
    changed = _changed(before, after)
    typed_12345 = _lines_typed(before, "12345")
    assert changed == esat_a | typed_12345
    assert len(esat_a) == 2 and len(typed_12345) == 1  # both spellings of the SIRET, not AUTRE NOM's line
    assert {after[k][2:] for k in esat_a} == {("matched", "override", b)}
    assert {after[k][2:] for k in typed_12345} == {("unmatched", "override", None)}


def test_a_keyed_decision_applies_to_its_key_only(mini, tmp_path):
    a, _ = mini.unit("ESAT DE MURET", cj="9220", commune="31395")
    mini.unit("ESAT DE MURET", cj="9220", commune="33063")
    data = mini.write([
        {"Fournisseur": "ESAT DE MURET", "Montant": "10", "Date": "01/02/2024", "Commune": "31395"},
        {"Fournisseur": "ESAT de Muret", "Montant": "20", "Date": "01/03/2024", "Commune": "31395"},
        {"Fournisseur": "ESAT DE MURET", "Montant": "30", "Date": "01/04/2024", "Commune": "33063"},
        {"Fournisseur": "ESAT DE MURET", "Montant": "40", "Date": "01/05/2024"},
    ], header=HEADER)
    con = run_mini(data, tmp_path / "before")
    before = _resolved(con)
    line_key = dict(con.execute("SELECT line_id, supplier_key FROM res_line_supplier_key").fetchall())
    key_31 = con.execute("SELECT supplier_key FROM res_supplier_match WHERE line_departement = '31'").fetchone()[0]
    con.close()
    reviewed = {k for k, v in line_key.items() if v == key_31}
    assert len(reviewed) == 2 and len(line_key) == 4
    write_csv(data / "overrides.csv", OVERRIDE_HEADER,
              [[key_31, "ESAT DE MURET", "", a, "agent.dcp", "2026-11-27", ""]])
    after = _resolved(run_mini(data, tmp_path / "after"))
    assert {k for k in after if after[k][3] == "override"} == reviewed
    assert _changed(before, after) <= reviewed
    assert {after[k][2:] for k in reviewed} == {("matched", "override", a)}
