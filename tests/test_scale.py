"""National scale: SIRENE read where it lies (the buyer's perimeter filtered in the scan, views
otherwise, de-duplication only when stocks overlap) and one DuckDB connection per run."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from achats.fetch.build import filter_sirene
from achats.pipelines.cli import run_pipeline
from achats.pipelines.resources import RunDuckDB, resources_for
from tests.conftest import MiniData, run_mini, write_csv

SUMMARY = "SELECT total_amount_eur, ess_amount_eur, unmatched_amount_eur FROM objective8_summary WHERE period = 'ALL'"


def _national(root) -> tuple[MiniData, dict[str, str]]:
    """A small 'national' stock: units here, in the region, elsewhere, ESS or not."""
    ref = MiniData(root)
    sirens = {
        "local": ref.unit("BOULANGERIE DU CAPITOLE", commune="31555")[0],
        "far_with_siret": ref.unit("IMPRIMERIE DU NORD", commune="59350")[0],
        "far_by_name": ref.unit("TRANSPORTS LOINTAINS", commune="67482")[0],
        "ess_region": ref.unit("ASSOCIATION ARIEGEOISE", cj="9220", commune="09122",
                               economieSocialeSolidaireUniteLegale="O")[0],
        "ess_far": ref.unit("ASSOCIATION PARISIENNE", cj="9220", commune="75056",
                            economieSocialeSolidaireUniteLegale="O")[0],
        "listed_region": ref.unit("SCOP DES PYRENEES", cj="5458", commune="65440")[0],
        "unrelated_far": ref.unit("GARAGE BRETON", commune="29019")[0],
    }
    ref.write([])
    shutil.rmtree(root / "purchases")
    write_csv(root / "status" / "ess_france.csv", ["SIREN"], [[sirens["listed_region"]]])
    return ref, sirens


def _buyer(folder, sirens, departement: str | None = "31", extra_toml: str = "") -> None:
    far_siret = sirens["far_with_siret"] + "00017"
    write_csv(folder / "purchases" / "achats.csv", ["Fournisseur", "SIRET", "Montant", "Date"], [
        ["BOULANGERIE DU CAPITOLE", "", "100", "01/03/2024"],
        ["IMPRIMERIE DU NORD", far_siret, "50", "01/03/2024"],
        ["TRANSPORTS LOINTAINS", "", "30", "01/03/2024"],
        ["ASSOCIATION ARIEGEOISE", "", "20", "01/03/2024"],
    ], delimiter=";")
    dep = f'departement = "{departement}"\n' if departement else ""
    (folder / "achats.toml").write_text(f"[acheteur]\n{dep}\n[controles]\nmax_unmatched_share = 1.0\n{extra_toml}",
                                        encoding="utf-8")


def _units(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT siren FROM src_sirene_unite_legale").fetchall()}


def test_shared_stock_is_read_through_the_buyers_perimeter(tmp_path):
    _, s = _national(tmp_path / "commun")
    buyer = tmp_path / "acheteur"
    _buyer(buyer, s)
    wh = run_pipeline(buyer, tmp_path / "wh" / "a.duckdb", tmp_path / "dash", shared_dir=tmp_path / "commun")
    with duckdb.connect(str(wh), read_only=True) as con:
        # the département's units, the SIRENs the buyer quotes, ESS of its region (flag or list)
        assert _units(con) == {s["local"], s["far_with_siret"], s["ess_region"], s["listed_region"]}
        assert con.execute("SELECT table_type FROM information_schema.tables "
                           "WHERE table_name = 'src_sirene_unite_legale'").fetchone()[0] == "BASE TABLE"
        matched = dict(con.execute("SELECT supplier_name, siren FROM res_supplier_match "
                                   "WHERE match_status = 'matched'").fetchall())
        figures = con.execute(SUMMARY).fetchone()
    assert matched == {"BOULANGERIE DU CAPITOLE": s["local"], "IMPRIMERIE DU NORD": s["far_with_siret"],
                       "ASSOCIATION ARIEGEOISE": s["ess_region"]}
    assert figures == (200.0, 20.0, 30.0)  # a far supplier typed by name only is not searched

    # the same figures as with the extract `achats fetch` writes for this buyer (same rule)
    alone = tmp_path / "alone"
    shutil.copytree(buyer, alone)
    shutil.copytree(tmp_path / "commun" / "status", alone / "status")
    shutil.copytree(tmp_path / "commun" / "sirene", tmp_path / "national")
    _to_parquet(tmp_path / "national")
    filter_sirene(tmp_path / "national" / "StockUniteLegale_test.parquet",
                  tmp_path / "national" / "StockEtablissement_test.parquet", alone / "sirene", "31",
                  [s["far_with_siret"]], [s["listed_region"]], [])
    own = run_mini(alone, tmp_path / "alone_run")
    assert own.execute(SUMMARY).fetchone() == figures
    assert _units(own) == {s["local"], s["far_with_siret"], s["ess_region"], s["listed_region"]}


def _to_parquet(folder) -> None:
    con = duckdb.connect()
    for csv_file in sorted(folder.glob("*.csv")):
        con.execute(f"COPY (SELECT * FROM read_csv(?, all_varchar = true)) TO '{csv_file.with_suffix('.parquet')}'",
                    [str(csv_file)])
        csv_file.unlink()
    con.close()


def test_complete_perimeter_reads_views_over_parquet_and_searches_every_name(tmp_path):
    _, s = _national(tmp_path / "commun")
    _to_parquet(tmp_path / "commun" / "sirene")
    buyer = tmp_path / "acheteur"
    _buyer(buyer, s, extra_toml='\n[sirene]\nperimetre = "complet"\n')
    wh = run_pipeline(buyer, tmp_path / "wh" / "a.duckdb", tmp_path / "dash", shared_dir=tmp_path / "commun")
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("SELECT table_type FROM information_schema.tables "
                           "WHERE table_name = 'src_sirene_unite_legale'").fetchone()[0] == "VIEW"
        assert len(_units(con)) == len(s)
        assert con.execute(SUMMARY).fetchone() == (200.0, 20.0, 0.0)


def test_unknown_departement_reads_the_whole_stock(tmp_path):
    _, s = _national(tmp_path / "commun")
    buyer = tmp_path / "acheteur"
    _buyer(buyer, s, departement=None)
    wh = run_pipeline(buyer, tmp_path / "wh" / "a.duckdb", tmp_path / "dash", shared_dir=tmp_path / "commun")
    with duckdb.connect(str(wh), read_only=True) as con:
        assert len(_units(con)) == len(s)


def test_overlapping_stocks_keep_each_key_once_from_the_preferred_file(mini, tmp_path):
    siren, _ = mini.unit("ANCIEN NOM", cj="5710")
    other, _ = mini.unit("AUTRE UNITE", cj="5710")
    data = mini.write([{"Fournisseur": "NOUVEAU NOM", "Montant": "10", "Date": "01/02/2024"}])
    write_csv(data / "sirene" / "StockUniteLegale_maj.csv", ["siren", "denominationUniteLegale",
                                                            "categorieJuridiqueUniteLegale"],
              [[siren, "NOUVEAU NOM", "9220"]])
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT count(*), count(DISTINCT siren) FROM src_sirene_unite_legale").fetchone() == (2, 2)
    assert con.execute("SELECT legal_name, categorie_juridique FROM stg_unite_legale WHERE siren = ?",
                       [siren]).fetchone() == ("NOUVEAU NOM", "9220")
    assert con.execute("SELECT legal_name FROM stg_unite_legale WHERE siren = ?", [other]).fetchone() == (
        "AUTRE UNITE",)


def test_one_duckdb_connection_per_run(mini, tmp_path, monkeypatch):
    mini.unit("ASSOCIATION DES AMIS", cj="9220")
    data = mini.write([{"Fournisseur": "ASSOCIATION DES AMIS", "Montant": "10", "Date": "01/02/2024"}])
    from achats.pipelines.checks import CHECKS
    from achats.pipelines.definitions import UNPARTITIONED_ASSETS

    wh = tmp_path / "w.duckdb"
    opened = []
    real_connect = duckdb.connect

    def counting(database=":memory:", *args, **kwargs):
        if str(database) == str(wh):
            opened.append(database)
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    dg.materialize(UNPARTITIONED_ASSETS + CHECKS, resources=resources_for(data, wh, tmp_path / "dash"),
                   instance=dg.DagsterInstance.ephemeral(), raise_on_error=True)
    assert len(opened) == 1


def test_duckdb_settings_are_applied(tmp_path):
    res = RunDuckDB(database=str(tmp_path / "w.duckdb"), threads=1, memory_limit="500MB",
                    temp_directory=str(tmp_path / "spill"))
    res.setup_for_execution(dg.build_init_resource_context())
    try:
        with res.get_connection() as con:
            threads, limit, temp = con.execute("SELECT current_setting('threads'), current_setting('memory_limit'), "
                                               "current_setting('temp_directory')").fetchone()
    finally:
        res.teardown_after_execution(dg.build_init_resource_context())
    assert threads == 1
    assert limit.replace(" ", "") in ("476.8MiB", "500.0MB", "500MB")
    assert temp == str(tmp_path / "spill") and (tmp_path / "spill").is_dir()


@pytest.mark.parametrize("value", ["complet", "acheteur", "auto"])
def test_perimeter_setting(tmp_path, value):
    from achats.config import load_settings

    (tmp_path / "achats.toml").write_text(f'[sirene]\nperimetre = "{value}"\n', encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.sirene_perimeter == value and not settings.warnings


def test_an_unknown_perimeter_is_refused_naming_the_key(tmp_path):
    """A bad value stops the run with the key named (settings are validated, not guessed)."""
    from achats.config import load_settings
    from achats.errors import InputError

    (tmp_path / "achats.toml").write_text('[sirene]\nperimetre = "tout"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"\[sirene\] perimetre"):
        load_settings(tmp_path)
