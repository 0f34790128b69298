"""Shared fixtures: the pipeline run once on the embedded sample, and a builder for tiny data dirs."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import settings as hypothesis_settings

from achats.identifiers import complete_luhn
from achats.paths import sample_dir
from achats.pipelines.cli import run_pipeline

# CI replays the same examples every time; a developer's run explores new ones. No deadline in
# either: speed is measured by the benchmarks (bench/), and a property test that runs out of
# Hypothesis's 200 ms on a loaded machine (the suite runs on two processes) proves nothing.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Reference snapshots (achats.reference_cache) in the machine's temporary folder, shared by the
# suite's processes and kept between runs of the suite (named by their inputs' digest), rather
# than in the user's cache. A test of the cache itself sets its own folder.
os.environ.setdefault("ACHATS_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"achats-tests-cache-{os.getuid()}"))

UL_COLS = ["siren", "statutDiffusionUniteLegale", "denominationUniteLegale", "sigleUniteLegale",
           "nomUniteLegale", "prenom1UniteLegale", "categorieJuridiqueUniteLegale",
           "activitePrincipaleUniteLegale", "etatAdministratifUniteLegale", "dateDebut",
           "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale", "nicSiegeUniteLegale"]
ET_COLS = ["siren", "nic", "siret", "statutDiffusionEtablissement", "etablissementSiege",
           "etatAdministratifEtablissement", "codePostalEtablissement", "codeCommuneEtablissement",
           "enseigne1Etablissement", "activitePrincipaleEtablissement"]


luhn_complete = complete_luhn


def write_csv(path: Path, header: list[str], rows: list[dict | list], **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=kw.pop("encoding", "utf-8"), newline="") as f:
        w = csv.writer(f, delimiter=kw.pop("delimiter", ","), lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)
    return path


class MiniData:
    """A small data directory built in a test, in the same layout as a buyer's."""

    def __init__(self, root: Path):
        self.root = root
        self.units: list[dict] = []
        self.etabs: list[dict] = []

    def unit(self, name: str, cj: str = "5710", naf: str = "62.01Z", commune: str = "31555", n: int | None = None,
             **extra) -> tuple[str, str]:
        siren = luhn_complete(f"{(n if n is not None else len(self.units) + 10):08d}")
        siret = luhn_complete(siren + "0001")
        self.units.append({"siren": siren, "denominationUniteLegale": name, "categorieJuridiqueUniteLegale": cj,
                           "activitePrincipaleUniteLegale": naf, "etatAdministratifUniteLegale": "A",
                           "statutDiffusionUniteLegale": "O", "nicSiegeUniteLegale": siret[9:],
                           **{k: v for k, v in extra.items() if k in UL_COLS}})
        self.etabs.append({"siren": siren, "nic": siret[9:], "siret": siret, "etablissementSiege": "true",
                           "etatAdministratifEtablissement": "A", "codeCommuneEtablissement": commune,
                           "codePostalEtablissement": "31000", "statutDiffusionEtablissement":
                           extra.get("statutDiffusionUniteLegale", "O"), "activitePrincipaleEtablissement": naf})
        return siren, siret

    def write(self, purchases: list[dict], header: list[str] | None = None, **status: list[dict]) -> Path:
        write_csv(self.root / "sirene" / "StockUniteLegale_test.csv", UL_COLS, self.units)
        write_csv(self.root / "sirene" / "StockEtablissement_test.csv", ET_COLS, self.etabs)
        header = header or ["Fournisseur", "SIRET", "Montant", "Date"]
        write_csv(self.root / "purchases" / "achats.csv", header, purchases, delimiter=";")
        for name, rows in status.items():
            if rows:
                write_csv(self.root / "status" / f"{name}.csv", list(rows[0]), rows)
        return self.root


@pytest.fixture
def mini(tmp_path: Path) -> MiniData:
    return MiniData(tmp_path / "data")


def run_mini(data: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    wh = run_pipeline(data, tmp_path / "wh" / "w.duckdb", tmp_path / "dash")
    return duckdb.connect(str(wh), read_only=True)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> dict:
    """The whole pipeline on the embedded sample, once for the session."""
    out = tmp_path_factory.mktemp("sample_run")
    wh = run_pipeline(sample_dir(), out / "warehouse" / "achats.duckdb", out / "dash")
    return {"warehouse": wh, "dashboard": out / "dash" / "tableau_de_bord_ess.html", "dir": out}


@pytest.fixture
def sample_con(sample_run):
    con = duckdb.connect(str(sample_run["warehouse"]), read_only=True)
    yield con
    con.close()
