"""Two buyers sharing one SIRENE extract and the status lists: each run is a partition of its own."""

from __future__ import annotations

import json
import shutil

import duckdb

from achats.pipelines.cli import main
from tests.conftest import MiniData, luhn_complete, run_mini, write_csv

BUYER_A, BUYER_B = luhn_complete("21310001"), luhn_complete("21310002")


def _decp(buyers: list[str], supplier_siret: str) -> dict:
    return {"marches": [{"id": f"M{i}", "acheteur": {"id": luhn_complete(b + "0001")}, "codeCPV": "90910000-9",
                         "montant": 1000 * (i + 1), "dateNotification": "2024-02-01",
                         "titulaires": [{"typeIdentifiant": "SIRET", "id": supplier_siret}]}
                        for i, b in enumerate(buyers)]}


def test_two_buyers_fan_out_over_a_shared_reference(tmp_path):
    shared = MiniData(tmp_path / "commun")
    _, assoc_siret = shared.unit("ASSOCIATION DES JARDINS", cj="9220")
    shared.unit("BOULANGERIE ORDINAIRE", cj="5499")
    shared.write([])
    shutil.rmtree(shared.root / "purchases")
    write_csv(shared.root / "status" / "esus.csv", ["siren", "raison_sociale", "date_agrement"], [])
    buyers = tmp_path / "acheteurs"
    contracts = _decp([BUYER_A, BUYER_B], assoc_siret)
    for siren, lines in ((BUYER_A, [("ASSOCIATION DES JARDINS", "100")]),
                         (BUYER_B, [("BOULANGERIE ORDINAIRE", "70"), ("ASSOCIATION DES JARDINS", "30")])):
        folder = buyers / siren
        write_csv(folder / "purchases" / "achats.csv", ["Fournisseur", "Montant", "Date"],
                  [[n, a, "01/03/2024"] for n, a in lines], delimiter=";")
        (folder / "contracts").mkdir()
        (folder / "contracts" / "decp.json").write_text(json.dumps(contracts), encoding="utf-8")
        (folder / "achats.toml").write_text(f'[acheteur]\nsiren = "{siren}"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run-all", "--buyers-dir", str(buyers), "--shared-dir", str(shared.root), "--output-dir", str(out)]) == 0
    figures = {}
    for siren in (BUYER_A, BUYER_B):
        with duckdb.connect(str(out / siren / "achats.duckdb"), read_only=True) as con:
            figures[siren] = con.execute("SELECT total_amount_eur, ess_amount_eur FROM objective8_summary "
                                         "WHERE period = 'ALL'").fetchone()
            assert con.execute("SELECT count(DISTINCT buyer_id) FROM src_contracts").fetchone()[0] == 1
            assert con.execute("SELECT min(buyer_id) FROM src_contracts").fetchone()[0].startswith(siren)
    assert figures[BUYER_A] == (100.0, 100.0)
    assert figures[BUYER_B] == (100.0, 30.0)
    # the same as a buyer running alone with the reference copied into its own folder
    alone = tmp_path / "alone"
    shutil.copytree(buyers / BUYER_B, alone)
    for sub in ("sirene", "status"):
        shutil.copytree(shared.root / sub, alone / sub)
    con = run_mini(alone, tmp_path / "alone_run")
    assert con.execute("SELECT total_amount_eur, ess_amount_eur FROM objective8_summary WHERE period = 'ALL'"
                       ).fetchone() == figures[BUYER_B]
