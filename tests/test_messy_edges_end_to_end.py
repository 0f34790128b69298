"""A second hand-made messy export directory, run end to end, for the edge cases of the second
review: a Mac Roman ledger with a debit/credit column and a supplier named like a subtotal, a
UTF-16 export that overlaps it partly and corrects one of its payments, an XLSX with a formula
saved without its value and a payment that may be in two files, and DECP records with a date that
does not exist and an amount written with its currency. Every figure is computed by hand."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import openpyxl
import pytest

from tests.conftest import ET_COLS, UL_COLS, MiniData, run_mini, write_csv


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edges")
    data = MiniData(tmp / "data")
    _, a = data.unit("ALPHA TRAVAUX", cj="5710")
    _, b = data.unit("BETA ASSO", cj="9220", naf="88.99B")
    _, s = data.unit("SOUS-TOTAL PRODUCTIONS", cj="5710", naf="90.01Z")
    _, g = data.unit("GAMMA SERVICES", cj="5710")
    _, e = data.unit("CRÈCHE ÉTÉ", cj="9220", naf="88.91A")
    root = data.root
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL_COLS, data.units)
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET_COLS, data.etabs)
    # four quarantined rows of twelve on purpose: above the default 25 % limit of a real run
    (root / "achats.toml").write_text('[acheteur]\nsiren = "223100017"\ndepartement = "31"\n\n'
                                      '[controles]\nmax_quarantined_share = 0.5\n', encoding="utf-8")
    purchases = root / "purchases"
    purchases.mkdir(parents=True)
    (purchases / "grand_livre_2024.csv").write_bytes((
        "Date mandat;N° mandat;Fournisseur;SIRET;Montant TTC;Sens\n"
        f"15/01/2024;M1;ALPHA TRAVAUX;{a};1 000,00;Débit\n"          # also in mandats_T1: counted once
        f"20/01/2024;M2;BETA ASSO;{b};400,00;D\n"                      # corrected to 420,00 in mandats_T1
        f"25/01/2024;M3;BETA ASSO;{b};150,00;Annulation\n"             # a credit: -150,00
        f"01/02/2024;M4;SOUS-TOTAL PRODUCTIONS;{s};2 500,00;Mandat\n"  # a supplier, not a subtotal
        f"05/02/2024;M5;GAMMA SERVICES;{g};-80,00;D\n"                 # sign contradicts D: quarantined
        f"06/02/2024;M6;GAMMA SERVICES;{g};60,00;X\n"                  # unknown direction: quarantined
        f"12/02/2024;M7;CRÈCHE ÉTÉ;{e};300,00;D\n"
        ";;Sous-total;;4 050,00;\n").encode("mac_roman"))              # the block's sum: a total row
    (purchases / "mandats_T1.csv").write_bytes((
        "Date mandat;N° mandat;Fournisseur;SIRET;Montant TTC\n"
        f"15/01/2024;M1;ALPHA TRAVAUX;{a};1 000,00\n"
        f"20/01/2024;M2;BETA ASSO;{b};420,00\n"
        f"15/03/2024;M10;BETA ASSO;{b};200,00\n").encode("utf-16"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Fournisseur", "SIRET", "Date", "Montant"])
    ws.append(["ALPHA TRAVAUX", a, dt.datetime(2024, 1, 15), 1000.0])  # no mandate n°: maybe M1 again
    ws.append(["GAMMA SERVICES", g, dt.datetime(2024, 3, 20), "=D4*2"])  # never computed
    ws.append(["GAMMA SERVICES", g, dt.datetime(2024, 3, 20), 75.25])
    wb.save(purchases / "complement.xlsx")
    (root / "contracts").mkdir()
    buyer = {"id": "22310001700016"}
    contracts = [
        {"id": "C1", "acheteur": buyer, "objet": "Animation", "codeCPV": "92000000", "montant": "80 000,00 EUR",
         "dateNotification": "2024-03-01", "titulaires": [{"id": b, "typeIdentifiant": "SIRET"}]},
        {"id": "C2", "acheteur": buyer, "objet": "Voirie", "codeCPV": "45233140", "montant": 5000,
         "dateNotification": "2024-02-30", "titulaires": [{"id": a, "typeIdentifiant": "SIRET"}]},
    ]
    (root / "contracts" / "decp.json").write_text(json.dumps({"marches": contracts}), encoding="utf-8")
    con = run_mini(root, tmp)
    yield con, tmp
    con.close()


def _eur(x) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"))


def _summary(con, period: str) -> dict:
    cur = con.execute("SELECT * FROM objective8_summary WHERE period = ?", [period])
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


def test_totals_computed_by_hand(edges):
    con, _ = edges
    s = _summary(con, "ALL")
    # grand livre: -150 + 2 500 + 300 ; mandats_T1: 1 000 + 420 + 200 ; complement: 1 000 + 75,25
    assert _eur(s["total_amount_eur"]) == Decimal("5345.25")
    assert _eur(s["ess_amount_eur"]) == Decimal("770.00")  # BETA -150 + 420 + 200, CRÈCHE ÉTÉ 300
    assert s["quarantined_line_count"] == 4  # contradiction, unknown direction, total row, formula
    assert s["line_count"] == 12
    assert _eur(_summary(con, "2024-Q1")["total_amount_eur"]) == Decimal("5345.25")


def test_lines_by_hand(edges):
    con, _ = edges
    rows = con.execute("""SELECT source_file, mandate_number, status, row_kind, amount_eur, supplier_name
                          FROM purchase_lines ORDER BY source_file, source_row""").fetchall()
    assert len(rows) == 14  # every data row of the three files
    ledger = {r[1]: r[2:5] for r in rows if r[0] == "purchases/grand_livre_2024.csv" and r[1]}
    assert ledger["M1"][0] == "duplicate" and ledger["M2"][:2] == ("duplicate", "superseded")
    assert ledger["M3"] == ("ok", "data", Decimal("-150.00"))
    assert ledger["M4"][0] == "ok" and ledger["M5"][0] == ledger["M6"][0] == "quarantined"
    assert "CRÈCHE ÉTÉ" in {r[5] for r in rows}  # the Mac Roman file read right


def test_reconciliation_shows_what_was_set_aside(edges):
    con, _ = edges
    cur = con.execute("SELECT * FROM source_file_reconciliation")
    cols = [d[0] for d in cur.description]
    rec = {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    ledger = rec["purchases/grand_livre_2024.csv"]
    assert (ledger["data_row_count"], ledger["accepted_line_count"], ledger["quarantined_line_count"],
            ledger["duplicate_line_count"], ledger["superseded_line_count"]) == (8, 3, 3, 2, 1)
    assert _eur(ledger["superseded_amount_eur"]) == Decimal("400.00")
    possible = [r for r in rec.values() if r["possible_overlap_of"]]
    assert len(possible) == 1 and possible[0]["possible_overlap_line_count"] == 1
    assert _eur(possible[0]["possible_overlap_amount_eur"]) == Decimal("1000.00")
    assert {possible[0]["source_file"], possible[0]["possible_overlap_of"]} == {
        "purchases/complement.xlsx", "purchases/mandats_T1.csv"}
    assert all(r["has_all_rows_counted"] for r in rec.values())


def test_run_warnings_name_files_lines_and_amounts(edges):
    from achats.pipelines.cli import input_warnings

    con, tmp = edges
    warnings = "\n".join(input_warnings(tmp / "wh" / "w.duckdb"))
    assert "purchases/grand_livre_2024.csv, ligne 3" in warnings and "400,00 €" in warnings \
        and "420,00 €" in warnings and "purchases/mandats_T1.csv" in warnings
    assert "Mac Roman" in warnings and "UTF-16" in warnings
    assert "1 000,00 €" in warnings and "purchases/complement.xlsx" in warnings


def test_contracts_by_hand(edges):
    con, _ = edges
    cur = con.execute("SELECT * FROM contracts_summary")
    cols = [d[0] for d in cur.description]
    got = {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    assert got["ALL"]["contract_count"] == 2 and _eur(got["ALL"]["notified_amount_eur"]) == Decimal("85000.00")
    assert got["sans date"]["contract_count"] == 1 and _eur(got["sans date"]["notified_amount_eur"]) == 5000
    assert got["ALL"]["unusable_date_contract_count"] == 1
    issue = con.execute("SELECT date_issue FROM src_contracts WHERE contract_id_raw = 'C2'").fetchone()[0]
    assert "2024-02-30" in issue and "n'existe pas" in issue


def test_dashboard_quality_panel_says_what_was_set_aside(edges):
    from achats.dashboards.build import _reconciliation

    con, _ = edges
    _, html_warnings = _reconciliation(con)
    assert "remplacés par leur version corrigée" in html_warnings and "400,00" in html_warnings
    assert "sans n° de mandat" in html_warnings and re.search(r"1\W000,00", html_warnings)
