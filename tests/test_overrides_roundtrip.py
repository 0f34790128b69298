"""overrides.csv is read back exactly as the import wrote it, whatever the reviewers' notes hold
(finding RV1: a « ; » on each line of a multi-line note made the reader take « ; » as the
delimiter, every decision was dropped, and the next import rewrote the file empty)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from achats.errors import InputError
from achats.review import (
    DECISION_HEADERS,
    HEADERS,
    import_decisions,
    parse_overrides,
    read_decisions,
)
from achats.warehouse import read_overrides
from tests.conftest import luhn_complete

DECISION, NOTE, KEY = DECISION_HEADERS[0], DECISION_HEADERS[2], DECISION_HEADERS[3]
RV1_NOTE = "Appel du 12/03 ; confirmé\nMail trésorerie ; ok"


def _review_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """A review file as `achats review export` writes it (« ; », UTF-8 with BOM), decided:
    (typed name, key, decision, note) per row."""
    header = HEADERS + DECISION_HEADERS
    out = [header]
    for name, key, decision, note in rows:
        row = [""] * len(header)
        row[0], row[header.index(KEY)], row[header.index(DECISION)], row[header.index(NOTE)] = name, key, decision, note
        out.append(row)
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(out)  # Excel's own line ends, as the reviewer's script
    path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")
    return path


def test_rv1_notes_with_semicolons_on_each_line_keep_every_decision(tmp_path):
    overrides = tmp_path / "overrides.csv"
    first = _review_csv(tmp_path / "revue.csv", [
        ("LE PETIT JARDIN", "1e63c50860e187c5", "792000150", RV1_NOTE),
        ("JARDINS ET CIE", "69530a6ea3a0c5be", "792000051", RV1_NOTE),
        ("AMIS DU VELO TOULOUSE", "e7a7cd8bdee34ea1", "792000010", RV1_NOTE),
    ])
    assert import_decisions(first, overrides, "adv.five") == (3, 3, 3)
    recs = parse_overrides(overrides.read_text(encoding="utf-8"))
    assert [(r["supplier_key"], r["decision"], r["note"]) for r in recs] == [
        ("1e63c50860e187c5", "792000150", RV1_NOTE),
        ("69530a6ea3a0c5be", "792000051", RV1_NOTE),
        ("e7a7cd8bdee34ea1", "792000010", RV1_NOTE)]
    assert [r["line"] for r in recs] == [2, 4, 6]  # where each record starts: a note spans two lines
    # the run reads the same three decisions, none rejected, each the one in force for its key
    frame = read_overrides(tmp_path)
    assert frame["rejected_reason"].null_count() == 3 and frame["is_current"].to_list() == [True] * 3
    # a second import appends, and keeps the three earlier decisions (the history)
    second = _review_csv(tmp_path / "revue2.csv", [("LE PETIT JARDIN", "1e63c50860e187c5", "aucun", "revu")])
    assert import_decisions(second, overrides, "adv.five") == (1, 1, 4)
    recs = parse_overrides(overrides.read_text(encoding="utf-8"))
    assert [(r["decision"], r["note"]) for r in recs] == [
        ("792000150", RV1_NOTE), ("792000051", RV1_NOTE), ("792000010", RV1_NOTE), ("aucun", "revu")]


def test_a_header_without_a_decision_column_is_refused_and_not_rewritten(tmp_path):
    overrides = tmp_path / "overrides.csv"
    original = "cle|nom|commentaire\nabc|X|rien\n"
    overrides.write_text(original, encoding="utf-8")
    review = _review_csv(tmp_path / "revue.csv", [("X", "abc", "aucun", "")])
    with pytest.raises(InputError, match=r"overrides\.csv, ligne 1 .*colonne de décision"):
        import_decisions(review, overrides, "agent")
    assert overrides.read_text(encoding="utf-8") == original


def test_rejected_decisions_are_named_by_the_run(tmp_path):
    """`achats run` warns, in French, for every row of overrides.csv it rejects: file, line, field."""
    import duckdb

    from achats.review import rejected_decision_warnings

    (tmp_path / "overrides.csv").write_text(
        "supplier_key,supplier_name,siret,decision,decided_by,decided_at,note\n"
        "k1,A,,792000150,x,2026-01-01,\"deux\nlignes\"\n"
        "k2,B,,12345,x,2026-01-01,\n"
        "k3,C,,,x,2026-01-01,oubli\n", encoding="utf-8")
    con = duckdb.connect()
    con.register("src_overrides", read_overrides(tmp_path))
    warnings = rejected_decision_warnings(con)
    assert len(warnings) == 2
    assert warnings[0].startswith("overrides.csv, ligne 4, champ « decision » : « 12345 »")
    assert warnings[1].startswith("overrides.csv, ligne 5, champ « decision » : «  »")


# Notes and names as reviewers write them: line breaks (both kinds), « ; » and « , », quotes,
# formulas, tabs, accents, a non-diffusible unit's name.
PIECES = list("aéÉ;,\"'\t\n\r =+-@|«»€") + ["\r\n", "TAMARILLO SECRET SARL", "=HYPERLINK(\"x\")", "Mail ; ok"]
HOSTILE = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notes=st.lists(st.tuples(HOSTILE, HOSTILE), min_size=1, max_size=4))
def test_every_decision_survives_any_note(tmp_path_factory, notes):
    tmp = tmp_path_factory.mktemp("rt")
    overrides = tmp / "overrides.csv"
    expected = []
    for i, (name, note) in enumerate(notes):  # one import per decision: each one rewrites the file
        decision = ["792000150", "aucun", luhn_complete("7920000510001")][i % 3]
        review = _review_csv(tmp / f"revue{i}.csv", [(name or "X", f"key{i}", decision, note)])
        read, added, total = import_decisions(review, overrides, "agent.dcp")
        assert (read, added, total) == (1, 1, i + 1)
        read_note = read_decisions(review, "agent.dcp")[0]["note"]
        if not note.startswith("'"):  # a leading apostrophe is the documented mark of a neutralised formula
            # line breaks are read as « \n » (a lone « \r » would end the record); nothing else changes
            assert read_note == note.replace("\r\n", "\n").replace("\r", "\n").strip()
        expected.append((f"key{i}", decision, read_note))
    recs = parse_overrides(overrides.read_text(encoding="utf-8"))
    assert [(r["supplier_key"], r["decision"], r["note"]) for r in recs] == expected
    frame = read_overrides(tmp)
    assert frame["rejected_reason"].null_count() == frame.height == len(notes)


def test_a_multi_line_manual_justification_is_kept_whole(tmp_path):
    """status/ess_manuel.csv is read by records too: a justification over two lines keeps its line
    break (it was read line by line and the two lines were glued together)."""
    from achats.warehouse import read_manual_status

    (tmp_path / "status").mkdir()
    (tmp_path / "status" / "ess_manuel.csv").write_text(
        'siren,est_ess,justification\n792000150,oui,"Vérifié ; confirmé\nMail ; ok"\n792000051,non,\n',
        encoding="utf-8")
    rows = read_manual_status(tmp_path).to_dicts()
    assert [(r["siren"], r["is_ess"], r["justification"]) for r in rows] == [
        ("792000150", True, "Vérifié ; confirmé\nMail ; ok"), ("792000051", False, None)]
