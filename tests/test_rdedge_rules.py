"""#11 review findings on what a file's name, its dates and its overlap may tell (see README)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from achats.sources.purchases import duplicate_warnings, read_purchase_sources

HEADER = "Fournisseur;SIRET;Montant\n"
ROWS = "ALPHA;;100,00\nBETA;;250,50\n"


def _read(tmp_path: Path, name: str, text: str = HEADER + ROWS):
    (tmp_path / "purchases").mkdir(exist_ok=True)
    (tmp_path / "purchases" / name).write_text(text, encoding="utf-8")
    return read_purchase_sources(tmp_path)


@pytest.mark.parametrize("name", ["mandats_extrait_2025-01-15.csv", "export_20250115.csv", "mandats_15-01-2025.csv",
                                  "mandats_2025_01.csv", "extraction du 2025.csv"])
def test_an_extraction_date_in_the_name_is_no_payment_year(tmp_path, name):
    lines, files = _read(tmp_path, name)
    assert lines["fiscal_year"].null_count() == lines.height == 2
    note = files["period_note"][0]
    assert note.startswith(f"purchases/{name} : ") and "« sans date »" in note and "2 lignes" in note
    assert note in duplicate_warnings(files)
    assert _reconciliation(tmp_path, lines, files)[f"purchases/{name}"]["period_note"] == note
    assert html.escape(note) in _dashboard_warnings(lines, files)


@pytest.mark.parametrize(("name", "year"), [("mandats_2024.csv", 2024), ("exercice_2024.csv", 2024),
                                            ("Exercice 2023 - extrait 2024-01-15.csv", 2023),
                                            ("mandats_T1_2024.csv", 2024), ("Année_2022.csv", 2022),
                                            ("mandats_2024_extrait_2025-01-15.csv", 2024)])
def test_a_stated_exercice_in_the_name_is_the_year(tmp_path, name, year):
    lines, files = _read(tmp_path, name)
    assert lines["fiscal_year"].to_list() == [year, year] and files["period_note"][0] is None


def test_a_file_with_a_date_column_gets_no_name_warning(tmp_path):
    lines, files = _read(tmp_path, "extrait_2025-01-15.csv",
                         "Fournisseur;Date;Montant\nALPHA;03/02/2024;100,00\nBETA;;250,50\n")
    assert lines["fiscal_year"].to_list() == [2024, None] and files["period_note"][0] is None


def _esus(tmp_path: Path, rows: str):
    from achats.sources.status import read_esus

    (tmp_path / "status").mkdir(exist_ok=True)
    (tmp_path / "status" / "esus_liste.csv").write_text("siren,raison_sociale,date_agrement,date_fin_agrement\n"
                                                        + rows, encoding="utf-8")
    return read_esus(tmp_path)


def test_esus_month_first_list_is_read_month_first(tmp_path):
    ok, bad = _esus(tmp_path, "552100554,A,03/15/2022,\n356000000,B,04/01/2023,03/31/2028\n")
    assert bad.height == 0
    assert [str(d) for d in ok["date_agrement"]] == ["2022-03-15", "2023-04-01"]
    assert [str(d) for d in ok["date_fin_agrement"]] == ["2027-03-14", "2028-03-31"]


def test_esus_list_proving_both_orders_quarantines_the_undecidable_cell(tmp_path):
    ok, bad = _esus(tmp_path, "552100554,A,15/03/2022,\n356000000,B,03/16/2023,\n443061841,C,04/01/2023,\n")
    assert ok["siren"].to_list() == ["552100554", "356000000"]
    assert bad["reason"].to_list() == [
        "status/esus_liste.csv, ligne 4, champ « date_agrement » : date « 04/01/2023 » ambiguë : ce fichier écrit "
        "des dates jour/mois (« 15/03/2022 ») et mois/jour (« 03/16/2023 »), l'ordre du jour et du mois ne peut "
        "être décidé"]


SIRETS = ["39893557700039", "75349326100014", "50283891500010", "31808664200010", "44200674800028"]


def _overlap_exports(tmp_path: Path, shared: int) -> list[tuple[str, str, str, str]]:
    """A yearly export with SIRET column and a first-quarter export of the same ledger with neither
    SIRET nor n° de mandat: `shared` of the quarter's payments are in the yearly one."""
    rows = [(f"Fournisseur {i % 5}", SIRETS[i % 5], f"{i % 27 + 1:02d}/{i % 6 + 1:02d}/2024",
             f"{1000 + 37 * i},{i % 100:02d}") for i in range(30)]
    first_q = [r for r in rows if r[2][3:5] in ("01", "02", "03")]
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "grand_livre_2024.csv").write_text(
        "Fournisseur;SIRET;Date;Montant\n" + "".join(";".join(r) + "\n" for r in rows), encoding="utf-8")
    own = [(f"AUTRE {k}", "", f"{k + 1:02d}/02/2024", f"{k + 3},00") for k in range(len(first_q) - shared)]
    quarter = [(r[0].upper() + " ", r[1], r[2], r[3]) for r in first_q[:shared]] + own
    (tmp_path / "purchases" / "t1_2024.csv").write_text(
        "Fournisseur;Date;Montant\n" + "".join(f"{a};{d};{m}\n" for a, _, d, m in quarter), encoding="utf-8")
    return quarter


def _view_con(lines, files):
    import duckdb

    from achats import warehouse as wh

    con = duckdb.connect()
    wh.run_sql(con, "reference/macros.sql")
    wh.write_frame(con, "src_purchase_lines", lines)
    wh.write_frame(con, "src_purchase_files", files)
    # no file name to mask here (the view shows masked names from res_line_mask and res_file_mask)
    con.execute("CREATE TABLE res_line_mask (line_id VARCHAR, source_file VARCHAR)")
    con.execute("CREATE TABLE res_file_mask (source_file_md5 VARCHAR, masked_file VARCHAR)")
    wh.run_sql(con, "views/source_file_reconciliation.sql")
    return con


def _reconciliation(tmp_path: Path, lines, files) -> dict[str, dict]:
    con = _view_con(lines, files)
    return {r["source_file"]: r for r in con.sql("SELECT * FROM source_file_reconciliation").pl().iter_rows(named=True)}


def _dashboard_warnings(lines, files) -> str:
    from achats.dashboards.build import _reconciliation as panel

    return panel(_view_con(lines, files))[1]


def test_an_export_without_siret_nor_mandate_inside_a_larger_one_counts_once(tmp_path):
    """#11 review: the quarter export has no SIRET and no n° de mandat column, and every one of its
    dated payments is in the yearly export (same payee name, date, amount): counted once."""
    quarter = _overlap_exports(tmp_path, shared=15)
    lines, files = read_purchase_sources(tmp_path)
    mine = lines.filter(lines["source_file"] == "purchases/t1_2024.csv")
    assert mine["status"].value_counts().sort("status").rows() == [("duplicate", len(quarter))]
    assert lines.filter(lines["status"] == "ok")["source_file"].unique().to_list() == ["purchases/grand_livre_2024.csv"]
    rec = _reconciliation(tmp_path, lines, files)["purchases/t1_2024.csv"]
    assert (rec["overlap_of"], rec["overlap_line_count"], rec["duplicate_line_count"]) == (
        "purchases/grand_livre_2024.csv", len(quarter), len(quarter))
    assert rec["has_all_rows_counted"] and rec["accepted_line_count"] == 0
    assert any("t1_2024.csv" in w and "comptés une seule fois" in w for w in duplicate_warnings(files))
    assert (f"« purchases/t1_2024.csv » : {len(quarter)} paiements se retrouvent dans « purchases/grand_livre_2024.csv »"
            in _dashboard_warnings(lines, files))


def test_below_the_share_the_evidence_only_warns(tmp_path):
    """Under 90 % of the quarter's payments found, equal payee, day and amount may be two purchases:
    counted in both files, and the possible overlap is shown per file."""
    quarter = _overlap_exports(tmp_path, shared=12)
    lines, files = read_purchase_sources(tmp_path)
    assert 12 / len(quarter) < 0.9
    mine = lines.filter(lines["source_file"] == "purchases/t1_2024.csv")
    assert set(mine["status"]) == {"ok"}
    rec = _reconciliation(tmp_path, lines, files)
    assert rec["purchases/t1_2024.csv"]["overlap_of"] is None
    assert sum(r["possible_overlap_line_count"] for r in rec.values()) == 12
