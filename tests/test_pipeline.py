"""End to end on the embedded sample: the warehouse contract, nothing lost, figures that add up."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from achats.paths import sample_dir
from achats.pipelines.cli import main, run_pipeline
from achats.registry import load_registry
from achats.sources.purchases import purchase_files, read_purchase_file

# The contract's columns and types come from their one declaration (sql/registry.yaml).
REGISTRY = load_registry()
CONTRACT = {name: {c.name: c.type for c in REGISTRY[name].columns} for name in REGISTRY.contract_views()}


def test_definitions_load():
    from achats.pipelines.definitions import defs

    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"src_purchase_lines", "res_supplier_match", "cls_supplier_status", "mart_objective8_summary",
            "dashboard_html"} <= keys
    groups = {repo.asset_graph.get(dg.AssetKey(k)).group_name for k in keys}
    assert groups == {"sources", "staging", "resolution", "classification", "marts", "views", "dashboards",
                      "acheteurs"}


@pytest.mark.parametrize("view", sorted(CONTRACT))
def test_contract_views_have_their_columns_and_types(sample_con, view):
    cols = dict(sample_con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [view]).fetchall())
    assert set(cols) == set(CONTRACT[view]), view
    for col, typ in CONTRACT[view].items():
        assert cols.get(col).replace(" ", "") == typ, f"{view}.{col}: {cols.get(col)} != {typ}"


def test_one_row_per_input_data_row(sample_con):
    expected = 0
    for path in purchase_files(sample_dir()):
        expected += len(read_purchase_file(path, sample_dir()))
    truth = list(csv.DictReader((Path(__file__).parent / "data" / "sample_truth.csv").read_text(encoding="utf-8").splitlines()))
    assert expected == len(truth)
    assert sample_con.execute("SELECT count(*) FROM purchase_lines").fetchone()[0] == len(truth)
    got = {(r[0], r[1]): r[2] for r in sample_con.execute(
        "SELECT source_file, source_row, status FROM purchase_lines").fetchall()}
    assert got == {(t["source_file"], int(t["source_row"])): t["expected_status"] for t in truth}
    ok = sample_con.execute("SELECT count(*) FROM purchase_lines WHERE status = 'ok'").fetchone()[0]
    assert sample_con.execute("SELECT count(DISTINCT line_id) FROM purchase_lines_resolved").fetchone()[0] == ok


def test_summary_reconciles_for_every_period(sample_con):
    rows = sample_con.execute("""
        SELECT period, total_amount_eur, matched_ess_amount_eur + matched_non_ess_amount_eur
               + review_amount_eur + unmatched_amount_eur, ess_amount_low_eur, ess_amount_eur,
               ess_amount_high_eur, line_count
        FROM objective8_summary""").fetchall()
    assert len(rows) >= 9
    for period, total, parts, low, point, high, _ in rows:
        assert total == parts, period  # exact: DECIMAL(18,2) from the reader to the view
        assert low <= point <= high, period
    all_row = next(r for r in rows if r[0] == "ALL")
    lines_total = sample_con.execute("SELECT sum(amount_eur) FROM purchase_lines WHERE status = 'ok'").fetchone()[0]
    assert all_row[1] == lines_total
    assert all_row[6] == sample_con.execute("SELECT count(*) FROM purchase_lines").fetchone()[0]


def test_sample_figures_are_meaningful(sample_con):
    s = dict(zip(*[[d[0] for d in sample_con.execute("SELECT * FROM objective8_summary WHERE period='ALL'").description],
                   sample_con.execute("SELECT * FROM objective8_summary WHERE period='ALL'").fetchone()], strict=True))
    assert 0 < s["ess_amount_low_eur"] < s["ess_amount_high_eur"] < s["total_amount_eur"]
    assert s["quarantined_line_count"] == 6
    families = {r[0] for r in sample_con.execute("SELECT DISTINCT ess_family FROM suppliers WHERE is_ess").fetchall()}
    assert {"association", "cooperative", "societe_commerciale_ess"} <= families
    assert sample_con.execute("SELECT count(*) FROM ess_offer_by_category WHERE local_ess_supplier_count > 0"
                              ).fetchone()[0] > 3


def test_match_precision_on_the_sample_truth(sample_con):
    truth = Path(__file__).parent / "data" / "sample_truth.csv"
    matched, correct = sample_con.execute("""
        SELECT count(*), sum((r.siren = t.true_siren)::INT)
        FROM read_csv(?, all_varchar = true) t
        JOIN purchase_lines p ON p.source_file = t.source_file AND p.source_row = t.source_row::INT
        JOIN purchase_lines_resolved r USING (line_id)
        WHERE r.match_status = 'matched'""", [str(truth)]).fetchone()
    ok = sample_con.execute("SELECT count(*) FROM purchase_lines_resolved").fetchone()[0]
    assert correct / matched >= 0.99
    assert matched / ok >= 0.95


def test_rerun_gives_identical_figures(sample_run, tmp_path):
    again = run_pipeline(sample_dir(), tmp_path / "w.duckdb", tmp_path / "d")
    q = "SELECT * FROM objective8_summary ORDER BY period"
    with duckdb.connect(str(sample_run["warehouse"]), read_only=True) as a, \
            duckdb.connect(str(again), read_only=True) as b:
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
        q2 = "SELECT line_id, siren, match_status FROM purchase_lines_resolved ORDER BY line_id"
        assert a.execute(q2).fetchall() == b.execute(q2).fetchall()


def test_dashboard_written(sample_run):
    html = sample_run["dashboard"].read_text(encoding="utf-8")
    for panel in ("cards", "trend", "breakdown", "offer", "map", "suppliers", "quality"):
        assert f'data-panel="{panel}"' in html
    assert "Part ESS" in html


def test_cli_refuses_a_missing_data_dir_and_keeps_the_warehouse(tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    wh.write_bytes(b"previous good warehouse")
    code = main(["run", "--data-dir", str(tmp_path / "absent"), "--warehouse", str(wh),
                 "--dashboard-dir", str(tmp_path / "d")])
    assert code == 2
    assert "Dossier de données introuvable" in capsys.readouterr().err
    assert wh.read_bytes() == b"previous good warehouse"


def test_cli_unusable_input_stops_before_replacing_the_warehouse(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "purchases").mkdir(parents=True)
    (data / "purchases" / "x.csv").write_text("Nom;Prix\nA;1\n", encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    with duckdb.connect(str(wh)) as con:  # a previous warehouse (a damaged one is refused before: test_operator)
        con.execute("CREATE TABLE previous AS SELECT 1 AS x")
    before = wh.read_bytes()
    code = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "d")])
    assert code == 2
    err = capsys.readouterr().err
    assert "purchases/x.csv" in err and "aucune ligne d'en-tête reconnue" in err
    assert "Traceback" not in err and "dagster" not in err.lower()
    assert wh.read_bytes() == before


def test_contracts_summary_counts_each_notified_euro_once(sample_con):
    import json

    expected = 0.0
    for name in ("decp_v1_cd31.json", "decp_v2_cd31.json"):
        doc = json.loads((sample_dir() / "contracts" / name).read_text(encoding="utf-8"))
        contracts = doc["marches"]["marche"] if isinstance(doc["marches"], dict) else doc["marches"]
        expected += sum(float(c["montant"]) for c in contracts)  # undated ones too, in 'sans date'
    periods = sample_con.execute("SELECT sum(notified_amount_eur) FROM contracts_summary WHERE period <> 'ALL'"
                                 ).fetchone()[0]
    assert float(periods) == pytest.approx(expected, abs=0.05)
    row = sample_con.execute("SELECT notified_amount_eur, social_consideration_share FROM contracts_summary "
                             "WHERE period = 'ALL'").fetchone()
    assert float(row[0]) == pytest.approx(expected, abs=0.05)
    assert 0 < row[1] < 1
