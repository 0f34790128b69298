"""The fast reader changes nothing: the same lines, ids, amounts and reasons as the reader it
replaced, on the embedded sample and on hostile generated exports; line ids keep their contract."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import hostile_files, read_each

GOLDEN = Path(__file__).parent / "data" / "reader_golden.csv.gz"
SAMPLE = Path(__file__).parents[1] / "data" / "sample"


def _current(tmp_path: Path) -> pl.DataFrame:
    frames = [read_purchase_sources(SAMPLE)[0].with_columns(pl.lit("sample").alias("case"))]
    for seed in (1, 2, 3):
        root = tmp_path / str(seed)
        frames.append(read_each(root, hostile_files(root, seed)).with_columns(pl.lit(f"seed{seed}").alias("case")))
    return pl.concat(frames, how="diagonal_relaxed").select(pl.all().cast(pl.String))


def test_reader_output_unchanged_on_sample_and_hostile_files(tmp_path):
    """Every column of every line, as the reader before the speed work wrote it (snapshot taken
    on that commit; refresh with ACHATS_UPDATE_SNAPSHOT=1 only for a deliberate change)."""
    now = _current(tmp_path)
    if os.environ.get("ACHATS_UPDATE_SNAPSHOT"):
        with gzip.GzipFile(GOLDEN, "wb", mtime=0) as f:
            now.write_csv(f)
    with gzip.open(GOLDEN) as f:
        before = pl.read_csv(f, infer_schema=False)
    assert now.columns == before.columns
    assert now.height == before.height
    for col in now.columns:
        diff = now.with_row_index("i").filter(pl.col(col).ne_missing(before[col]))
        assert diff.is_empty(), (col, diff.head(3).to_dicts(), before[diff["i"].head(3)].to_dicts())


def _reference_ids(file: str, texts: list[str]) -> list[str]:
    """The contract, in plain Python: md5 of file, sheet, row text and rank among equal rows."""
    seen: Counter = Counter()
    out = []
    for t in texts:
        out.append(hashlib.md5(f"{file}\x1f\x1f{t}\x1f{seen[t]}".encode()).hexdigest()[:16])
        seen[t] += 1
    return out


@pytest.mark.parametrize("quoted", [False, True])
def test_line_ids_keep_their_contract(tmp_path, quoted):
    """Regular files (polars' native split) and quoted ones (the regex split), repeated rows included."""
    rng = random.Random(5)
    rows = []
    for i in range(3000):
        name = f'"SARL {i % 40}"' if quoted and i % 7 == 0 else f"SARL {i % 40}"
        rows.append(f"{name};{rng.choice(['12,50', '1 000,00', '3,00'])};0{rng.randint(1, 9)}/01/2024")
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "m.csv").write_text("Fournisseur;Montant TTC;Date mandat\n" + "\n".join(rows) + "\n")
    lines = read_purchase_sources(tmp_path)[0]
    assert lines["line_id"].to_list() == _reference_ids("purchases/m.csv", rows)
    assert lines["line_id"].n_unique() == len(rows)
