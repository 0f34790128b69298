"""res_line_mask.sql was rewritten for speed (one join per line instead of twenty, hits per cell):
its two tables must be exactly those of the formulation before the rewrite, kept in
tests/data/res_line_mask_before_rewrite.sql, on the sample and on generated inputs where cells name
several non-diffusible units at once (namesakes, a person and a company sharing a word, typed
identifiers of other units), so that the order of the masking rules decides the labels."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import duckdb
import pytest

from achats.names import GENERIC, LEGAL_FORMS, STOP_WORDS
from achats.warehouse import COMMON_SURNAME_COUNT, _statements, run_sql
from tests.conftest import MiniData, run_mini

BEFORE = Path(__file__).parent / "data" / "res_line_mask_before_rewrite.sql"
TABLES = ("res_line_mask", "res_text_mask")

SURNAMES = ["WOJCIECHOWSKI", "DURANDAL", "QUARTERMAINE", "MARTIN", "FONTANAROSA"]
FIRST = ["BARNABE", "OPHELIE", "BERENGERE", "JEAN"]
COMPANIES = ["ATELIER DURANDAL", "CORMORAN BLEU", "TRANSPORTS MARTIN", "ASSOCIATION LES GRILLONS"]


def _params(con: duckdb.DuckDBPyConnection) -> dict:
    # the temporary vocabulary of the matching is gone with its connection: no common name word,
    # the same for both formulations
    return {"name_filler": sorted(LEGAL_FORMS | STOP_WORDS), "common_surname_count": COMMON_SURNAME_COUNT,
            "generic_words": sorted(GENERIC), "common_name_words": []}


def _both(warehouse: Path, tmp_path: Path) -> tuple[list, list]:
    """Both formulations on a copy of a finished warehouse: each table, rows sorted."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, copy)
    out = []
    with duckdb.connect(str(copy)) as con:
        for sql in (BEFORE.read_text(encoding="utf-8"), None):
            if sql is None:
                run_sql(con, "resolution/res_line_mask.sql", _params(con))
            else:  # statement by statement, as run_sql runs a file
                for stmt in _statements(sql):
                    used = {k: v for k, v in _params(con).items() if f"${k}" in stmt}
                    con.execute(stmt, used or None)
            out.append([sorted(map(repr, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in TABLES])
    return out[0], out[1]


def _generated(root: Path, seed: int) -> Path:
    rng = random.Random(seed)
    mini = MiniData(root)
    units = []
    for i, surname in enumerate(SURNAMES):  # persons, some twice (namesakes in two communes)
        for commune in (["31555", "64445"] if i % 2 == 0 else ["31555"]):
            units.append((f"{surname} {FIRST[i % len(FIRST)]}", mini.unit(
                "", commune=commune, cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale=surname,
                prenom1UniteLegale=FIRST[i % len(FIRST)])))
    for j, name in enumerate(COMPANIES):  # companies, one in two non-diffusible
        extra = {"statutDiffusionUniteLegale": "P"} if j % 2 == 0 else {}
        units.append((name, mini.unit(name, cj="5710" if j < 3 else "9220", **extra)))
    rows = []
    for _ in range(40):
        named = rng.sample(units, rng.randint(1, 3))
        typed = rng.choice(units)[1][1] if rng.random() < 0.6 else ""
        rows.append({"Fournisseur": " ".join(n for n, _ in named[:2]) if rng.random() < 0.5 else named[0][0],
                     "SIRET": typed, "Montant": f"{rng.randint(1, 9000)},{rng.randint(0, 99):02d}",
                     "Date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024",
                     "Direction": rng.choice(["Direction " + named[-1][0], "DSI", named[0][0].split()[0]]),
                     "Catégorie": rng.choice(["Travaux", "Prestations " + named[-1][0], ""])})
    data = mini.write(rows, header=["Fournisseur", "SIRET", "Montant", "Date", "Direction", "Catégorie"])
    (data / "achats.toml").write_text('[acheteur]\ndepartement = "31"\n[controles]\nmax_quarantined_share = 1.0\n'
                                      "max_unmatched_share = 1.0\n", encoding="utf-8")
    return data


def test_the_rewrite_masks_the_sample_as_before(sample_run, tmp_path):
    before, after = _both(sample_run["warehouse"], tmp_path)
    assert before == after


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rewrite_masks_generated_namesakes_as_before(tmp_path, seed):
    data = _generated(tmp_path / "data", seed)
    run_mini(data, tmp_path).close()
    before, after = _both(tmp_path / "wh" / "w.duckdb", tmp_path)
    masked = [r for r in before[0] if "non diffusible" in r]
    assert len(masked) >= 10  # the generated lines do reach the masking's rules
    assert before == after
