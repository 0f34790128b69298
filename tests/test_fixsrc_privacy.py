"""Privacy of what the run shows around the lines (adversarial review, round 5, defects 3 and 14f)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_mini, write_csv


def test_drift_warning_keeps_two_non_diffusible_units_apart(mini, tmp_path: Path) -> None:
    """Case PV6: two non-diffusible units, ESS by manual decision, paid in Q1 only (5 000 € and
    4 000 €): two lines, each by its SIREN, not « Unité non diffusible : -9 000 € ». Two diffusible
    units of one name are two lines too."""
    from dagster_duckdb import DuckDBResource

    from achats.pipelines import checks
    from achats.pipelines.resources import AchatsInputs

    p1, s1 = mini.unit("TAMARILLO SECRET SARL", cj="5499", statutDiffusionUniteLegale="P")
    p2, s2 = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                       prenom1UniteLegale="BARNABE")
    _, z = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    a1, t1 = mini.unit("ASSOCIATION SPORTIVE", cj="9220")
    a2, t2 = mini.unit("ASSOCIATION SPORTIVE", cj="9220", commune="31069")
    lines = [("TAMARILLO SECRET SARL", s1, "5 000,00", "10/01/2024"), ("WOJCIECHOWSKI BARNABE", s2, "4 000,00", "10/02/2024"),
             ("ASSOCIATION SPORTIVE", t1, "300,00", "10/02/2024"), ("ZORGLUB TRAVAUX PUBLICS", z, "5 000,00", "10/04/2024"),
             ("ASSOCIATION SPORTIVE", t2, "200,00", "10/05/2024")]
    data = mini.write([{"Fournisseur": n, "SIRET": s, "Montant": m, "Date": d} for n, s, m, d in lines])
    write_csv(data / "status" / "ess_manuel.csv", ["siren", "est_ess", "justification"],
              [[p1, "oui", "Vérifié"], [p2, "oui", "Vérifié"]])
    run_mini(data, tmp_path).close()
    result = checks.ess_share_drift(inputs=AchatsInputs(data_dir=str(data)),
                                    duckdb=DuckDBResource(database=str(tmp_path / "wh" / "w.duckdb")))
    moves = result.metadata["moves"].value.splitlines()
    assert moves == ["**2024-Q2** : 100,0 % → 3,8 %",
                     f"  - unité non diffusible (SIREN {p1}) : -5 000 €",
                     f"  - unité non diffusible (SIREN {p2}) : -4 000 €",
                     f"  - ASSOCIATION SPORTIVE (SIREN {a1}) : -300 €",
                     f"  - ASSOCIATION SPORTIVE (SIREN {a2}) : +200 €"]


def test_sheet_and_folder_names_naming_non_diffusible_units_are_masked(mini, tmp_path: Path) -> None:
    """Case PV5: a workbook's sheets « Tamarillo Secret » (TAMARILLO SECRET SARL, P, paid on it) and
    « Wojciechowski B » (a rare surname of a P person), and purchases/Wojciechowski/notes_2024.csv:
    no view, dashboard, warning or export shows either name, nor the folder beside the person's
    SIREN; every row still counts: 1 000 + 500 + 700 + 300 = 2 500 € accepted there, 3 quarantined."""
    import datetime as dt

    import openpyxl

    from achats.pipelines.cli import input_warnings, main
    from tests.test_privacy import _leaks, _xlsx_text
    from tests.test_privacy_planted import _texts

    p1, s1 = mini.unit("TAMARILLO SECRET SARL", cj="5499", statutDiffusionUniteLegale="P")
    p2, s2 = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                       prenom1UniteLegale="BARNABE")
    _, z = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    _, q = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z, "Montant": f"{100 + i},00",
                        "Date": "02/03/2024"} for i in range(10)])
    wb = openpyxl.Workbook()
    sheets = {"Tamarillo Secret": [("TAMARILLO SECRET SARL", s1, 1000), ("ZORGLUB TRAVAUX PUBLICS", z, "abc")],
              "Wojciechowski B": [("ASSOCIATION QUINOA SOLIDAIRE", q, 500), ("ZORGLUB TRAVAUX PUBLICS", z, "xyz")]}
    for i, (title, rows) in enumerate(sheets.items()):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = title
        ws.append(["Date", "N° mandat", "Fournisseur", "SIRET", "Montant"])
        for n, (name, siret, amount) in enumerate(rows, start=1):
            ws.append([dt.date(2024, 5, n), 10 * i + n, name, siret, amount])
    wb.save(data / "purchases" / "factures_2024.xlsx")
    (data / "purchases" / "Wojciechowski").mkdir()
    (data / "purchases" / "Wojciechowski" / "notes_2024.csv").write_text(
        f"Date;Fournisseur;SIRET;Montant\n01/07/2024;ZORGLUB TRAVAUX PUBLICS;{z};700,00\n"
        f"02/07/2024;ZORGLUB TRAVAUX PUBLICS;{z};douze\n03/07/2024;WOJCIECHOWSKI BARNABE;{s2};300,00\n",
        encoding="utf-8")
    (data / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.5\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    texts = _texts(con)
    sheets_shown = sorted(r[0] for r in con.execute(
        "SELECT DISTINCT source_sheet FROM purchase_lines WHERE source_sheet IS NOT NULL").fetchall())
    folder_file = con.execute("SELECT DISTINCT source_file FROM purchase_lines WHERE supplier_name = ?",
                              [f"unité non diffusible (SIREN {p2})"]).fetchone()[0]
    counted = con.execute("SELECT sum(amount_eur) FILTER (WHERE status = 'ok'), "
                          "count(*) FILTER (WHERE status = 'quarantined') FROM purchase_lines").fetchone()
    rec = con.execute("SELECT count(*), sum(data_row_count), sum(accepted_line_count) FROM source_file_reconciliation"
                      ).fetchone()
    con.close()
    assert sorted(s.split(" (", 1)[1] for s in sheets_shown) == sorted(
        f"unité non diffusible (SIREN {p}))" for p in (p1, p2))
    assert all(s.startswith("feuille masquée ") for s in sheets_shown) and len(sheets_shown) == 2
    assert folder_file.startswith("purchases/fichier masqué ") and folder_file.endswith(f"(SIREN {p2})).csv")
    assert (float(counted[0]), counted[1]) == (1045 + 2500.0, 3)  # achats.csv: 100 + … + 109
    assert tuple(int(x) for x in rec) == (4, 17, 14)  # achats.csv, two sheets, notes_2024.csv
    out = tmp_path / "out"
    out.mkdir()
    assert main(["export", "--format", "xlsx", "--warehouse", str(tmp_path / "wh" / "w.duckdb"),
                 "--output", str(out / "export.xlsx")]) == 0
    outputs = {"export": _xlsx_text(out / "export.xlsx"),
               "dashboard": (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8"),
               "warnings": "\n".join(input_warnings(tmp_path / "wh" / "w.duckdb", data))}
    names = ["Tamarillo", "Wojciechowski"]
    assert not _leaks(texts, names), _leaks(texts, names)
    assert not _leaks(outputs, names), _leaks(outputs, names)


def test_unread_files_naming_non_diffusible_units_are_masked(mini, tmp_path: Path) -> None:
    """Files the run does not read (a note in purchases/, a list under an unknown name in status/,
    a list in a sub-folder of status/) are still named in the warnings and in the run history:
    a non-diffusible person's rare surname in their path is masked there like a payment file's."""
    from achats.pipelines.cli import input_warnings
    from tests.test_privacy import _leaks
    from tests.test_privacy_planted import _texts

    p2, s2 = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                       prenom1UniteLegale="BARNABE")
    _, z = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z, "Montant": "100,00",
                        "Date": "02/03/2024"}, {"Fournisseur": "WOJCIECHOWSKI BARNABE", "SIRET": s2,
                                                "Montant": "50,00", "Date": "03/03/2024"}])
    run_mini(data, tmp_path).close()  # a first run: the second one lists what changed
    (data / "purchases" / "relevé Wojciechowski.pdf").write_bytes(b"%PDF-1.4 not a payment export")
    (data / "status").mkdir(exist_ok=True)
    (data / "status" / "liste Wojciechowski.csv").write_text("siren;nom\n123456789;X\n", encoding="utf-8")
    (data / "status" / "wojciechowski").mkdir()
    (data / "status" / "wojciechowski" / "esus.csv").write_text("siren\n123456789\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    changed = con.execute("SELECT changed_inputs FROM hist_runs ORDER BY run_at DESC LIMIT 1").fetchone()[0]
    texts = _texts(con)
    con.close()
    warnings = input_warnings(tmp_path / "wh" / "w.duckdb", data)
    unread = [w for w in warnings if "fichier non lu" in w]
    assert len(unread) == 3, warnings  # each file is still named, under its masked name
    assert all(f"unité non diffusible (SIREN {p2})" in w for w in unread), unread
    assert changed.count("fichier masqué ") == 3, changed
    names = ["Wojciechowski"]
    dashboard = (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8")
    assert not _leaks({"warnings": "\n".join(warnings), "changed_inputs": changed, "dashboard": dashboard}, names)
    assert not _leaks(texts, names), _leaks(texts, names)


def test_a_rare_surname_of_a_non_diffusible_person_paid_nowhere_is_masked_in_free_text(mini, tmp_path: Path) -> None:
    """Case PV1 (review round 9): « Honoraires Me Wojciechowski » in the category of a line paid to
    someone else names a non-diffusible person of SIRENE who has no line of their own: the rare
    surname is masked there too; the amount still counts (3 000 + 1 000 = 4 000 €)."""
    from tests.test_privacy import _leaks
    from tests.test_privacy_planted import _texts

    p2, _s2 = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                        prenom1UniteLegale="BARNABE")
    _, z = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    _, q = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z, "Montant": "3 000,00",
                        "Date": "05/02/2024", "Nature": "Honoraires Me Wojciechowski"},
                       {"Fournisseur": "ASSOCIATION QUINOA SOLIDAIRE", "SIRET": q, "Montant": "1 000,00",
                        "Date": "06/02/2024", "Nature": "Animation"}],
                      header=["Fournisseur", "SIRET", "Montant", "Date", "Nature"])
    con = run_mini(data, tmp_path)
    shown = con.execute("SELECT category, amount_eur FROM purchase_lines WHERE supplier_name LIKE 'ZORGLUB%'").fetchone()
    total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
    texts = _texts(con)
    con.close()
    assert shown[0] == f"unité non diffusible (SIREN {p2})" and float(shown[1]) == 3000.0
    assert float(total) == 4000.0
    dashboard = (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8")
    assert not _leaks(texts, ["Wojciechowski"]), _leaks(texts, ["Wojciechowski"])
    assert not _leaks({"dashboard": dashboard}, ["Wojciechowski"])
