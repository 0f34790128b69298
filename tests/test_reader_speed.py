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
from hypothesis import given, settings
from hypothesis import strategies as st

from achats.sources import amounts, purchases
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


@pytest.mark.parametrize("whole_file_native", [False, True])
def test_reader_output_unchanged_on_sample_and_hostile_files(tmp_path, monkeypatch, whole_file_native):
    """Every column of every line, as the reader before the speed work wrote it (snapshot taken
    on that commit; refresh with ACHATS_UPDATE_SNAPSHOT=1 only for a deliberate change). Also with
    every quote-free file read the way large ones are (first lines, then polars on the whole file)."""
    if whole_file_native:
        monkeypatch.setattr(purchases, "PARTIAL_READ_BYTES", 0)
    now = _current(tmp_path)
    if os.environ.get("ACHATS_UPDATE_SNAPSHOT") and not whole_file_native:
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


AMOUNT_CHARS = "0123456789" * 3 + ",.,. -+()€'’\u00a0\u202f\u2212e٣"
CELLS = st.one_of(
    st.text(alphabet=AMOUNT_CHARS, max_size=24),
    st.decimals(min_value=-10**16, max_value=10**16, places=2, allow_nan=False).map(
        lambda d: f"{d:,.2f}".replace(",", " ").replace(".", ",")),
    st.decimals(min_value=-10**16, max_value=10**16, places=2, allow_nan=False).map(lambda d: f"{d:,.2f}"),
    st.decimals(min_value=-10**6, max_value=10**6, places=1, allow_nan=False).map(
        lambda d: f"{d}".replace(".", ",")),
    st.integers(min_value=-10**20, max_value=10**20).map(str),
)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(CELLS, min_size=1, max_size=30), mark=st.sampled_from([",", "."]), cents=st.booleans(),
       three=st.booleans())
def test_fast_amount_parse_agrees_with_the_reference(cells, mark, cents, three):
    """Cents, digits, fraction and length flags of the fast path equal the reference's, cell by cell."""
    fmt = amounts.NumberFormat(mark, cents, three)
    df = pl.DataFrame({"a": cells}, schema={"a": pl.String})
    fast = amounts.parse_columns(df, "a", fmt)
    ref = amounts.parse_columns_reference(df, "a", fmt)
    assert fast.schema == ref.schema
    assert fast.to_dicts() == ref.to_dicts()


def test_fast_amount_parse_on_a_whole_inferred_column():
    """The file's own format inferred, then every style of cell, good and bad, parsed both ways."""
    rng = random.Random(9)
    cells = [rng.choice(["1 234,56", "-12,50", "(3,00)", "7,00-", "12,34,56", "1.234,56", "", "douze", "€ 5,00",
                         "00012,5", "123456789012345678,00", "50470778597037", "1 000", "1'000,00", "١٢٣",
                         "−7,25", "+ 4,00"]) for _ in range(5000)]
    series = pl.Series("a", cells)
    fmt = amounts.infer_format(series)
    df = series.to_frame()
    assert amounts.parse_columns(df, "a", fmt).equals(amounts.parse_columns_reference(df, "a", fmt))


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.one_of(CELLS, st.none()), min_size=1, max_size=30))
def test_format_evidence_cleaned_only_where_needed_is_the_same(cells):
    """The cells the format is inferred from are cleaned only where they need it: same text."""
    series = pl.Series("a", cells, pl.String)
    assert amounts._unsigned_series(series).to_list() == series.to_frame().select(
        amounts._unsigned(pl.col("a")))["a"].to_list()


@pytest.mark.parametrize("body", ["A;100;01/02/2024;\nB;200\n", "A;100;01/02/2024\n\nB;200;01/02/2024\n",
                                  "A;100;01/02/2024\n \nB;200;01/02/2024\n", "A;100\nB;200;01/02/2024;x\n"])
def test_whole_file_read_only_when_every_line_is_regular(tmp_path, monkeypatch, body):
    """Ragged rows that balance each other's delimiters, blank and whitespace lines: the whole-file
    read must give exactly the lines the line-by-line read gives."""
    (tmp_path / "purchases").mkdir()
    (tmp_path / "purchases" / "m.csv").write_text("Fournisseur;Montant TTC;Date mandat\n" + body * 120)
    by_line = read_purchase_sources(tmp_path)[0]
    monkeypatch.setattr(purchases, "PARTIAL_READ_BYTES", 0)
    assert read_purchase_sources(tmp_path)[0].equals(by_line)


UTF8_EDGES = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe0\x80\xaf",
              b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xc3", b"\xe2\x82", b"\x80", b"\xff", b"\x00", b"a;1\n"]


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from(UTF8_EDGES), st.binary(max_size=6),
                                st.text(max_size=8).map(str.encode)), max_size=12))
def test_fast_utf8_check_agrees_with_python(parts):
    """Arrow's validation, used instead of decoding, accepts exactly the bytes Python decodes:
    surrogates, overlong forms, code points past U+10FFFF and cut sequences refused."""
    data = b"".join(parts)
    try:
        data.decode("utf-8")
        python_ok = True
    except UnicodeDecodeError:
        python_ok = False
    assert purchases._valid_utf8(data) == python_ok


def test_output_columns_are_not_copied_at_the_end():
    """The output frame reuses the columns it is built from (a rechunking `select` copied all of
    them: 300 MB more at the peak of a 3-million-line read)."""
    n = 1000
    row = {c: pl.Series(c, [None] * 2 * n, t) for c, t in purchases.OUTPUT_SCHEMA.items()}
    row["line_id"] = pl.concat([pl.Series("line_id", ["a"] * n), pl.Series("line_id", ["b"] * n)], rechunk=False)
    lines = pl.DataFrame([*row.values(), pl.Series("_cents", range(2 * n))])  # chunks differ between columns
    assert lines["line_id"].n_chunks() == 2
    out = purchases._finalise(lines)
    assert out.columns == list(purchases.OUTPUT_SCHEMA)
    assert out["line_id"].to_list() == ["a"] * n + ["b"] * n
    assert out["line_id"].n_chunks() == 2


def _reference_votes(cells: pl.Series) -> dict[str, int]:
    """Every sign of a number format counted on every non-empty cell (the inference as first written)."""
    sp = amounts.SPACES
    s = amounts._unsigned_series(cells).to_frame("u").filter(pl.col("u") != "")
    u = pl.col("u").str
    return s.select(
        dec_comma=u.contains(rf"^[0-9][0-9{sp}.'’]*,[0-9]{{1,2}}$").sum(),
        dec_dot=u.contains(rf"^[0-9][0-9{sp},'’]*\.[0-9]{{1,2}}$").sum(),
        thou_dot=u.contains(r"^[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$").sum(),
        thou_comma=u.contains(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$").sum(),
        with_cents=u.contains(r"[.,][0-9]{1,2}$").sum(),
        three=u.contains(r"^[0-9]{4,}[.,][0-9]{3}$|^[0-9]*[.,][0-9]{4,}$|[.,][0-9]{3}[.,][0-9]{3}$").sum(),
        short=u.contains(r"^[0-9]{1,3}[.,][0-9]{3}$").sum(),
        short_dot=u.contains(r"^[0-9]{1,3}\.[0-9]{3}$").sum(),
        short_comma=u.contains(r"^[0-9]{1,3},[0-9]{3}$").sum(),
        n=pl.len(),
    ).row(0, named=True)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.one_of(CELLS, st.none(), st.sampled_from(["1.000", "12,500", "1,234.5", "1.234,56", "1500.000",
                                                                  "0,1234", "1.000.000", "1,000,000.00"])),
                      min_size=1, max_size=40))
def test_format_votes_count_what_every_cell_shows(cells):
    """The votes looked for in the cells that can show them only are the counts over every cell."""
    series = pl.Series("a", cells, pl.String)
    assert amounts.format_votes(series) == _reference_votes(series)
