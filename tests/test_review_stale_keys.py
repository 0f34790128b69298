"""A decision whose supplier key matches no supplier group is not a « nouvelle » decision: the
import names the key and skips it, and a run says how many stored decisions applied to nothing."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from achats.pipelines.cli import input_warnings, main
from achats.review import export_review
from tests.conftest import run_mini
from tests.test_review import _queue_data

DECISION = "Décision (SIREN, SIRET ou « aucun »)"
KEY = "Clé fournisseur"


def exported_queue(mini, tmp_path) -> tuple[str, Path, Path, list[list[str]]]:
    """The two-key review queue of test_review, run and exported: (a SIREN to decide, data folder,
    review file, its rows)."""
    _, b, data = _queue_data(mini)
    con = run_mini(data, tmp_path / "r1")
    out = tmp_path / "revue.csv"
    assert export_review(con, out) == 2
    con.close()
    return b, data, out, list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))


def write_review(out: Path, rows: list[list[str]]) -> None:
    """The review file as the export writes it (« ; », UTF-8 with BOM)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8-sig")


def test_unknown_key_is_named_and_not_counted_then_the_run_counts_unused_decisions(mini, tmp_path, capsys):
    b, data, out, rows = exported_queue(mini, tmp_path)
    header = rows[0]
    rows[1][header.index(DECISION)] = b
    stale = list(rows[2])
    stale[header.index(KEY)] = "deadbeefdeadbeef"
    stale[header.index(DECISION)] = "aucun"
    write_review(out, [header, rows[1], stale])
    capsys.readouterr()

    wh = tmp_path / "r1" / "wh" / "w.duckdb"
    assert main(["review", "import", str(out), "--data-dir", str(data), "--by", "agent.dcp",
                 "--warehouse", str(wh)]) == 0
    printed = capsys.readouterr()
    assert "revue.csv, ligne 3" in printed.err and "« deadbeefdeadbeef »" in printed.err
    assert "aucun fournisseur" in printed.err
    assert "2 décisions lues, 1 nouvelle, 1 ignorée (clé fournisseur inconnue) ; " in printed.out
    overrides = (data / "overrides.csv").read_text(encoding="utf-8")
    assert "deadbeefdeadbeef" not in overrides and b in overrides

    # a stale decision already stored (written by hand, or data that changed) is reported by the run
    with open(data / "overrides.csv", "a", encoding="utf-8") as f:
        f.write("0123456789abcdef,FOURNISSEUR DISPARU,,aucun,agent.dcp,2024-05-01T10:00:00,\n")
    run_mini(data, tmp_path / "r2").close()
    warnings = input_warnings(tmp_path / "r2" / "wh" / "w.duckdb")
    unused = [w for w in warnings if "overrides.csv" in w]
    assert len(unused) == 1 and unused[0].startswith("1 décision(s) en vigueur")
    assert "ligne 2 (« 0123456789abcdef »)" in unused[0]


def test_a_warehouse_of_other_files_does_not_drop_the_decisions(mini, tmp_path, capsys):
    """`review import` checks keys only against a warehouse computed on this data folder's payment
    files: the default warehouse of another run (the sample's, another buyer's) would otherwise make
    every decision « unknown » and drop it."""
    _, b, data = _queue_data(mini)
    con = run_mini(data, tmp_path / "r1")
    out = tmp_path / "revue.csv"
    assert export_review(con, out) == 2
    con.close()
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    header = rows[0]
    rows[1][header.index(DECISION)] = b
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows([header, rows[1]])
    out.write_text(buf.getvalue(), encoding="utf-8-sig")
    elsewhere = tmp_path / "autre_acheteur"  # the same layout, other payments: another buyer's run
    shutil.copytree(data, elsewhere)
    with open(elsewhere / "purchases" / "achats.csv", "a", encoding="utf-8") as f:
        f.write("AUTRE FOURNISSEUR;;10,00;15/03/2024\n")
    run_mini(elsewhere, tmp_path / "r2").close()
    capsys.readouterr()
    assert main(["review", "import", str(out), "--data-dir", str(data), "--by", "agent.dcp",
                 "--warehouse", str(tmp_path / "r2" / "wh" / "w.duckdb")]) == 0
    printed = capsys.readouterr()
    assert "n'a pas été calculé sur les fichiers d'achats" in printed.err
    assert "1 décision lue, 1 nouvelle ; " in printed.out
    assert b in (data / "overrides.csv").read_text(encoding="utf-8")
