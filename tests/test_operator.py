"""The tool as an operator meets it: French errors without traceback and with exit codes, French
help, progress, formatted Excel files, and a data directory that cannot make the run read
outside itself or fill the disk."""

from __future__ import annotations

import argparse
import fcntl
import io
import re
import zipfile

import duckdb
import openpyxl
import pytest

from achats import progress
from achats.errors import InputError
from achats.export import FRENCH_HEADERS
from achats.pipelines import cli
from achats.pipelines.cli import build_parser, diagnostic_path, main
from achats.safety import check_links, unpack_member
from tests.conftest import write_csv

ENGLISH = ["usage:", "show this help", "positional arguments", "optional arguments", "error:", "the following",
           "required", "invalid choice", "default:", "choose from", "show program"]


def _lines(n: int = 3) -> list[dict]:
    return [{"Fournisseur": "FOURNISSEUR A", "Montant": str(10 + i), "Date": "01/02/2024"} for i in range(n)]


def test_an_unusable_input_prints_one_french_paragraph_and_exits_2(mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A")
    data = mini.write(_lines())
    (data / "purchases" / "vide.csv").write_bytes(b"")
    code = main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--dashboard-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "dagster" not in err.lower() and "File \"" not in err
    assert "purchases/vide.csv : fichier vide" in err and "Corrigez le fichier" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_verbose_shows_the_trace(mini, tmp_path, capsys, monkeypatch):
    def broken(_args):
        raise TypeError("boum")

    monkeypatch.setattr(cli, "cmd_dashboard", broken)
    assert main(["dashboard", "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    quiet = capsys.readouterr().err
    assert "Erreur interne inattendue (TypeError : boum)" in quiet and "Traceback" not in quiet
    monkeypatch.setenv("ACHATS_VERBOSE", "1")
    assert main(["dashboard", "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_bad_setting_is_one_line_naming_the_key(mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A")
    data = mini.write(_lines())
    (data / "achats.toml").write_text('[seuils]\naccept = "abc"\n', encoding="utf-8")
    assert main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Erreur : achats.toml, [seuils] accept : « abc » n'est pas un nombre ; écrivez un nombre sans "
                   "guillemets, avec un point décimal (0.9)."]


def test_a_failed_blocking_check_names_value_limit_and_key_and_leaves_a_diagnostic(mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A")
    rows = _lines(2) + [{"Fournisseur": "QUINCAILLERIE ZEPHYR", "Montant": "1000", "Date": "01/02/2024"}]
    data = mini.write(rows)
    wh = tmp_path / "wh" / "achats.duckdb"
    code = main(["run", "--data-dir", str(data), "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "part de la dépense non rapprochée : 97,9 % mesurés pour une limite de 50,0 %" in err
    assert "[controles] max_unmatched_share" in err
    diag = diagnostic_path(wh)
    assert not wh.exists() and diag.exists() and str(diag) in err
    with duckdb.connect(str(diag), read_only=True) as con:  # the analyst can see why
        assert con.execute("SELECT count(*) FROM src_purchase_lines").fetchone()[0] == 3


def test_a_damaged_warehouse_gets_a_french_message(tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    wh.write_bytes(b"pas un entrepot" * 100)
    assert main(["export", "--warehouse", str(wh), "--output", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "est illisible : ce n'est pas un fichier DuckDB valide" in err and "IOException" not in err


def test_a_held_lock_exits_3(tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    with open(tmp_path / "w.duckdb.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["run", "--warehouse", str(wh), "--dashboard-dir", str(tmp_path / "d")]) == 3
    assert "Un autre calcul écrit déjà" in capsys.readouterr().err


def test_an_unknown_or_unconfigured_fetch_source_exits_2_with_the_known_ones(tmp_path, capsys):
    data = tmp_path / "nouveau"
    assert main(["fetch", "--data-dir", str(data), "--buyer-siren", "223100017", "--departement", "31",
                 "--sources", "sirenne"]) == 2
    err = capsys.readouterr().err
    assert "Source inconnue : « sirenne »" in err and "vouliez-vous dire « sirene »" in err
    for name in cli.FETCH_SOURCES:
        assert name in err
    assert "http" not in err and not data.exists()
    # esus has no address by default: asked for by name, it stops before any download
    assert main(["fetch", "--data-dir", str(data), "--buyer-siren", "223100017", "--departement", "31",
                 "--sources", "esus"]) == 2
    err = capsys.readouterr().err
    assert "esus (Liste des entreprises agréées ESUS)" in err and 'esus = "https://…"' in err
    assert "data.gouv" not in err and not data.exists()


def _help_texts() -> dict[str, str]:
    parser = build_parser()
    out = {"achats": parser.format_help()}
    stack = [("achats", parser)]
    while stack:
        name, p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    out[f"{name} {sub_name}"] = sub.format_help()
                    stack.append((f"{name} {sub_name}", sub))
    return out


def _parsers() -> list[argparse.ArgumentParser]:
    out, stack = [], [build_parser()]
    while stack:
        p = stack.pop()
        out.append(p)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack += list(action.choices.values())
    return out


def test_help_is_french_everywhere_with_an_example_and_every_option_described():
    texts = _help_texts()
    assert {"achats run", "achats fetch", "achats export", "achats review import"} <= set(texts)
    for name, text in texts.items():
        lowered = text.lower()
        assert not [w for w in ENGLISH if w in lowered], (name, text)
        assert text.startswith("utilisation : ") and "affiche cette aide" in text
        assert "Exemple" in text, name
    for p in _parsers():
        for a in p._actions:
            assert a.help, (p.prog, a.option_strings)


def test_argparse_errors_and_version_are_french(capsys):
    with pytest.raises(SystemExit) as info:
        main(["fetch"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "achats fetch : erreur : arguments obligatoires manquants : --data-dir" in err
    with pytest.raises(SystemExit):
        main(["report", "--year", "deux mille"])
    assert "« deux mille » n'est pas une année" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and re.fullmatch(r"achats \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_a_run_reports_progress_and_a_french_duration(sample_run, tmp_path, capsys):
    code = main(["run", "--warehouse", str(tmp_path / "w.duckdb"), "--dashboard-dir", str(tmp_path / "d")])
    captured = capsys.readouterr()
    assert code == 0
    assert re.search(r"Durée : \d+,\d s", captured.out)
    # not a terminal: plain dated lines, one per step start and end
    for step in ("Lecture des fichiers d'achats", "Chargement de SIRENE (unités légales)",
                 "Rapprochement des fournisseurs"):
        assert re.search(rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d  {re.escape(step)} : terminé \(", captured.err, re.M), step
    # 635 supplier keys: the sample's 585 (name, identifier, place) groups, 50 of them split by the typed legal form
    assert re.search(r"Rapprochement des fournisseurs : terminé \(635 fournisseurs, \d+,\d s\)", captured.err)


def test_progress_reporters_write_french_numbers():
    out = io.StringIO()
    reporter = progress.LogReporter(out, every=0)
    previous = progress.set_reporter(reporter)
    try:
        for _ in progress.track(range(1500), "Lecture", unit="lignes"):
            pass
        with progress.task("Téléchargement : SIRENE", 3_000_000, progress.BYTES) as t:
            t.advance(1_500_000)
    finally:
        progress.set_reporter(previous)
    text = out.getvalue()
    assert "Lecture : 1 500 lignes sur 1 500 lignes (100 %)" in text
    assert re.search(r"Téléchargement : SIRENE : 1,5 Mo sur 3,0 Mo \(50 %\), \d+,\d [kMG]o/s", text)
    assert re.search(r"Lecture : terminé \(1 500 lignes, \d+,\d s\)", text)
    assert progress.duration_fr(7.7) == "7,7 s" and progress.duration_fr(125) == "2 min 05 s"
    assert isinstance(progress.reporter_for(io.StringIO()), progress.LogReporter)


def test_the_excel_files_are_french_formatted_frozen_and_filtered(sample_run, tmp_path):
    out = tmp_path / "achats.xlsx"
    assert main(["export", "--warehouse", str(sample_run["warehouse"]), "--output", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    raw_names = set(FRENCH_HEADERS) | {"period", "contract_count", "notified_amount_eur"}
    for ws in wb:
        header = [c.value for c in ws[1]]
        assert not raw_names & set(header), (ws.title, raw_names & set(header))
        assert all(re.search(r"[A-ZÀ-Ý]", h[0]) or h.startswith("dont") for h in header), header
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}" \
            f"{ws.max_row}", ws.title
        assert all(ws.column_dimensions[c.column_letter].width >= 9 for c in ws[1])
        for col, name in enumerate(header, start=1):
            cells = [ws.cell(r, col) for r in range(2, min(ws.max_row, 40) + 1)]
            numbers = [c for c in cells if isinstance(c.value, int | float)]
            if name.endswith("(€)"):
                assert numbers and all(c.number_format == '#,##0.00 "€"' for c in numbers), (ws.title, name)
            if name.startswith("Part"):
                assert numbers and all(c.number_format == "0.0%" for c in numbers), (ws.title, name)
    values = {str(c.value) for ws in wb for row in ws.iter_rows(min_row=2) for c in row if c.value is not None}
    assert not values & {"matched", "review", "unmatched", "ALL", "association", "quarantined", "ok", "True",
                         "False", "name_exact", "sans date"}
    assert {"Ensemble", "Sans date", "rapproché", "Association", "oui", "non", "nom identique"} <= values
    summary = wb["Synthèse objectif 8"]
    assert any(str(summary.cell(r, 1).value).endswith("-T1") for r in range(2, summary.max_row + 1))
    dates = [c for c in wb["Lignes d'achat"]["D"][1:] if c.value is not None]
    assert dates and all(c.number_format == "DD/MM/YYYY" for c in dates)

    review = tmp_path / "revue.xlsx"
    assert main(["review", "export", "--warehouse", str(sample_run["warehouse"]), "--output", str(review)]) == 0
    ws = openpyxl.load_workbook(review).active
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    header = [c.value for c in ws[1]]
    amount = header.index("Montant (€)") + 1
    assert all(ws.cell(r, amount).number_format == '#,##0.00 "€"' for r in range(2, ws.max_row + 1))


def test_a_link_leaving_the_data_directory_is_refused(mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A")
    data = mini.write(_lines())
    outside = tmp_path / "ailleurs.csv"
    write_csv(outside, ["Fournisseur", "Montant", "Date"], [["FOURNISSEUR A", "5", "01/02/2024"]], delimiter=";")
    (data / "purchases" / "lien.csv").symlink_to(outside)
    (data / "purchases" / "interne.csv").symlink_to(data / "purchases" / "achats.csv")  # inside: fine
    with pytest.raises(InputError, match="Lien symbolique refusé : « purchases/lien.csv »"):
        check_links(data)
    code = main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--dashboard-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "Lien symbolique refusé" in err and "--autoriser-liens" in err
    assert main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--dashboard-dir", str(tmp_path / "d"), "--autoriser-liens"]) in (0, 2)
    assert "Lien symbolique refusé" not in capsys.readouterr().err
    check_links(data, allow=True)


def test_a_linked_folder_leaving_the_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "partage").mkdir()
    (data / "sirene").symlink_to(tmp_path / "partage")
    with pytest.raises(InputError, match="« sirene »"):
        check_links(data)


def test_an_archive_over_the_size_limit_is_not_unpacked(tmp_path):
    archive = tmp_path / "StockUniteLegale.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("StockUniteLegale.csv", "siren\n" + "0" * 2_000_000)  # 2 Mo that compress to ~2 ko
    assert archive.stat().st_size < 20_000
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match="au-delà de la limite de 0,0 Go.*taille_max_archive_go"):
        unpack_member(archive, "StockUniteLegale.csv", out, max_bytes=1_000_000)
    assert not list(out.iterdir())
    target = unpack_member(archive, "StockUniteLegale.csv", out, max_bytes=3_000_000)
    assert target.stat().st_size == 2_000_006 and target.parent == out


def test_an_archive_that_lies_about_its_size_is_stopped_while_unpacking(tmp_path, monkeypatch):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.csv", "a" * 3_000_000)
    real = zipfile.ZipFile.getinfo

    def lying(self, name):
        info = real(self, name)
        info.file_size = 10  # what a crafted archive would claim
        return info

    monkeypatch.setattr(zipfile.ZipFile, "getinfo", lying)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match="archive endommagée"):  # zipfile itself stops at the size claimed
        unpack_member(archive, "x.csv", out, max_bytes=1_000_000)
    assert not list(out.iterdir())


def test_a_sirene_zip_over_the_configured_limit_stops_the_run(mini, tmp_path, capsys):
    mini.unit("FOURNISSEUR A")
    data = mini.write(_lines())
    with zipfile.ZipFile(data / "sirene" / "StockUniteLegale_gros.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("StockUniteLegale_gros.csv", "siren\n" + "1" * 3_000_000)
    (data / "achats.toml").write_text("[securite]\ntaille_max_archive_go = 0.001\n", encoding="utf-8")
    code = main(["run", "--data-dir", str(data), "--warehouse", str(tmp_path / "w.duckdb"),
                 "--dashboard-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "sirene/StockUniteLegale_gros.zip" in err and "taille_max_archive_go" in err
    assert "Traceback" not in err


def test_the_dashboard_toolbar_is_french_and_only_downloads_a_png(sample_run):
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright absent : test navigateur ignoré")
    if chromium is None:
        pytest.skip("Chromium absent (apt-get install chromium) : test navigateur ignoré")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(sample_run["dashboard"].as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        bars = page.locator(".modebar")
        assert bars.count() >= 5
        buttons = page.locator(".modebar-btn")
        titles = {buttons.nth(i).get_attribute("data-title") for i in range(buttons.count())}
        links = page.locator(".modebar a[href]").count()
        browser.close()
    assert titles == {"Télécharger le graphique en PNG"} and links == 0


def test_python_assets_have_their_own_french_description_and_a_job_runs_everything_unpartitioned():
    """Descriptions come from sql/registry.yaml (one per table): every declared table that is an
    asset shows its own, and a multi-asset's tables no longer share one text."""
    from achats.pipelines.definitions import defs
    from achats.registry import load_registry

    specs = {s.key.to_user_string(): s.description for s in defs.resolve_all_asset_specs()}
    declared = {t.name: t.description for t in load_registry().tables.values() if t.name in specs}
    assert len(declared) > 40
    for name, text in declared.items():
        assert specs[name] == text, name
    multi = ["src_purchase_lines", "src_purchase_files", "res_supplier_match", "res_match_candidates"]
    assert len({specs[n] for n in multi}) == len(multi)
    full = defs.resolve_job_def("achats_full_run")
    assert full.partitions_def is None and full.description.startswith("Tout calculer")
    assert "mart_quarter_figures" not in {k.to_user_string() for k in full.asset_layer.executable_asset_keys}
    assert defs.resolve_job_def("achats_quarterly").partitions_def is not None


def test_downloads_show_bytes_and_name_the_source_not_its_address(tmp_path, httpserver):
    from achats.fetch.http import FetchError, download, session

    body = b"SIREN\n" + b"123456789\n" * 50_000
    httpserver.expect_request("/ess.csv").respond_with_data(body, content_type="text/csv")
    out = io.StringIO()
    previous = progress.set_reporter(progress.LogReporter(out, every=3600))
    try:
        download(httpserver.url_for("/ess.csv"), tmp_path / "ess.csv", "csv", http=session(retries=0),
                 label="Liste des entreprises de l'ESS")
    finally:
        progress.set_reporter(previous)
    assert re.search(r"Téléchargement : Liste des entreprises de l'ESS : terminé \(500,0 ko, \d+,\d s\)", out.getvalue())
    httpserver.expect_request("/absent.csv").respond_with_data("non", status=404)
    with pytest.raises(FetchError) as info:
        download(httpserver.url_for("/absent.csv"), tmp_path / "absent.csv", "csv", http=session(retries=0),
                 attempts=1, label="Liste des entreprises agréées ESUS")
    assert str(info.value).startswith("Liste des entreprises agréées ESUS : ") and "http" not in str(info.value)
