"""A hand-made messy export directory, run end to end: the published figures equal totals
computed by hand, to the cent (subtotals, grand total, a file dropped twice, a merged cell, a
ragged row, malformed amounts, Exercice ≠ date year, undated lines, DECP ids and placeholders)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import openpyxl
import pytest

from tests.conftest import ET_COLS, UL_COLS, MiniData, run_mini, write_csv


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("messy")
    data = MiniData(tmp / "data")
    _, a = data.unit("ALPHA TRAVAUX", cj="5710")
    _, b = data.unit("BETA ASSO", cj="9220", naf="88.99B")
    _, c = data.unit("GAMMA SERVICES", cj="5710")
    root = data.root
    write_csv(root / "sirene" / "StockUniteLegale_test.csv", UL_COLS, data.units)
    write_csv(root / "sirene" / "StockEtablissement_test.csv", ET_COLS, data.etabs)
    (root / "achats.toml").write_text('[acheteur]\nsiren = "223100017"\ndepartement = "31"\n', encoding="utf-8")
    purchases = root / "purchases"
    purchases.mkdir(parents=True)
    (purchases / "mandats_2024.csv").write_bytes((
        "Exercice;Date mandat;Fournisseur;SIRET;Montant TTC;Direction\n"
        f"2024;15/03/2024;ALPHA TRAVAUX;{a};1 000,00;Routes\n"
        f"2024;16/04/2024;BETA ASSO;{b};250,50;Routes\n"
        ";;Sous-total Routes;;1 250,50;\n"
        f"2024;17/05/2024;GAMMA SERVICES;{c};12,34,56;Culture\n"
        f"2024;10/01/2025;BETA ASSO;{b};100,00;Culture\n"
        f"2024;;ALPHA TRAVAUX;{a};50,00;Culture\n"
        f"2024;18/06/2024;GAMMA SERVICES;{c};1.000;Culture\n"
        f"2024;19/06/2024;GAMMA SERVICES;{c};-5-;Culture\n"
        ";;TOTAL GÉNÉRAL;;2 400,50;\n").encode("cp1252"))
    shutil.copy(purchases / "mandats_2024.csv", purchases / "mandats_2024 (1).csv")
    (purchases / "inclusion.csv").write_text(
        "Raison sociale du Fournisseur,SIRET,Dépense achat (€),Catégorie d'achat (optionnelle),"
        "Entité acheteuse (optionnelle)\n"
        f"BETA ASSO,{b},300.00,Services,DSI\n"
        f"GAMMA SERVICES,{c},12,50,Services,DSI\n"
        f'ALPHA TRAVAUX,{a},"1,234.50",Services,DSI\n', encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Fournisseur", "SIRET", "Montant", "Date"])
    ws.append(["ALPHA TRAVAUX", a, 200.0, dt.datetime(2024, 7, 1)])
    ws.append(["BETA ASSO", b, None, dt.datetime(2024, 7, 2)])
    ws.merge_cells("C2:C3")
    ws.append(["GAMMA SERVICES", c, 300.25, dt.datetime(2024, 9, 1)])
    wb.save(purchases / "extra.xlsx")
    (root / "contracts").mkdir()
    buyer = {"id": "22310001700016"}
    contracts = [
        {"id": "", "acheteur": buyer, "objet": "Voirie", "codeCPV": "45233140", "montant": 1000,
         "dateNotification": "2024-05-01", "titulaires": [{"id": a, "typeIdentifiant": "SIRET"}]},
        {"id": "", "acheteur": buyer, "objet": "Animation", "codeCPV": "92000000", "montant": 2000,
         "dateNotification": "2024-05-02", "titulaires": [{"id": b, "typeIdentifiant": "SIRET"}]},
        {"id": "0000", "acheteur": buyer, "objet": "Accord-cadre sans maximum", "codeCPV": "90910000",
         "montant": 999999999, "dateNotification": "2024-06-01",
         "titulaires": [{"id": c, "typeIdentifiant": "SIRET"}]},
    ]
    (root / "contracts" / "decp.json").write_text(json.dumps({"marches": contracts}), encoding="utf-8")
    con = run_mini(root, tmp)
    yield con
    con.close()


def _eur(x) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.01"))


def test_totals_computed_by_hand(messy):
    s = dict(zip([d[0] for d in messy.execute("SELECT * FROM objective8_summary").description],
                 messy.execute("SELECT * FROM objective8_summary WHERE period = 'ALL'").fetchone(), strict=True))
    # file 1: 1 000 + 250,50 + 100 + 50 + 1 000 ; inclusion: 300 + 1 234,50 ; xlsx: 200 + 300,25
    assert _eur(s["total_amount_eur"]) == Decimal("4435.25")
    assert _eur(s["ess_amount_eur"]) == Decimal("650.50")  # BETA ASSO: 250,50 + 100 + 300
    assert _eur(s["ess_amount_low_eur"]) == Decimal("650.50")
    assert _eur(s["ess_amount_high_eur"]) == Decimal("650.50")
    assert s["quarantined_line_count"] == 6  # 2 malformed amounts, 2 total rows, 1 ragged, 1 merged
    assert s["line_count"] == 15


def test_periods_by_hand(messy):
    got = {p: _eur(t) for p, t in messy.execute(
        "SELECT period, total_amount_eur FROM objective8_summary").fetchall()}
    assert got == {"2024-Q1": Decimal("1000.00"), "2024-Q2": Decimal("1250.50"), "2024-Q3": Decimal("500.25"),
                   "2024-Q4": Decimal("100.00"), "sans date": Decimal("1584.50"), "ALL": Decimal("4435.25")}
    years = {p: _eur(t) for p, t in messy.execute(
        "SELECT period, total_amount_eur FROM objective8_by_year").fetchall()}
    assert years["2024"] == Decimal("2900.75") and years["sans date"] == Decimal("1534.50")


def test_duplicate_file_is_counted_nowhere(messy):
    rows = messy.execute("""SELECT count(*), min(duplicate_of) FROM purchase_lines
                            WHERE status = 'duplicate'""").fetchone()
    assert rows == (9, "purchases/mandats_2024.csv")


def test_file_reconciliation(messy):
    cols = [d[0] for d in messy.execute("SELECT * FROM source_file_reconciliation").description]
    rec = {r[cols.index("source_file")]: dict(zip(cols, r, strict=True))
           for r in messy.execute("SELECT * FROM source_file_reconciliation").fetchall()}
    first = rec["purchases/mandats_2024.csv"]
    assert first["data_row_count"] == 9
    assert _eur(first["declared_total_eur"]) == Decimal("2400.50") and first["has_matching_total"] is True
    for r in rec.values():
        assert r["has_all_rows_counted"] is True


def test_contracts_by_hand(messy):
    cols = [d[0] for d in messy.execute("SELECT * FROM contracts_summary").description]
    all_ = dict(zip(cols, messy.execute("SELECT * FROM contracts_summary WHERE period = 'ALL'").fetchone(),
                    strict=True))
    assert all_["contract_count"] == 3
    assert _eur(all_["notified_amount_eur"]) == Decimal("3000.00")
    assert all_["unknown_amount_contract_count"] == 1
