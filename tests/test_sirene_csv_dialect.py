"""A SIRENE CSV whose beginning shows INSEE's dialect plainly is read with that dialect said to
DuckDB (its sniffer is the costliest part of reading the sample's stocks); the rows must be
exactly those the sniffer's reading gives, on every file the shortcut accepts, and a file it
does not plainly recognise is left to the sniffer."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from achats.sources.sirene import _INSEE_DIALECT, _plain_dialect, _relation_sql

PIECES = ["ASSOCIATION", "L'ÉCHO", "Café, bar", 'dit "le Grand"', "  espaces  ", "", "7500", "ÉLÉ-ÇA", "a;b",
          "tab\there", "retour\nà la ligne", "NULL", "0045", "œuvre", "x" * 300, "\\", "—", "'", '"', ","]


def _field(rng: random.Random, pieces: list[str]) -> str:
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
    if any(c in text for c in ',"\n') or rng.random() < 0.2:
        return '"' + text.replace('"', '""') + '"'
    return text


def _write(path: Path, rng: random.Random, rows: int, cols: int, bom: bool = False) -> None:
    header = ",".join(["siren", *(f"col{i}" for i in range(cols - 1))])
    # one file in four may hold a backslash (then, before a quote, it goes to the sniffer)
    pieces = PIECES if rng.random() < 0.25 else [p for p in PIECES if p != "\\"]
    body = "\n".join(",".join([f"{rng.randint(0, 999999999):09d}", *(_field(rng, pieces) for _ in range(cols - 1))])
                     for _ in range(rows))
    path.write_bytes(("\ufeff" if bom else "").encode() + (header + "\n" + body + ("\n" if rng.random() < 0.7 else "")
                                                            ).encode("utf-8"))


def _rows(con: duckdb.DuckDBPyConnection, rel: str, path: Path) -> tuple[list, list]:
    cur = con.execute(f"SELECT * FROM {rel.replace('?', repr(str(path)))}")
    return [d[0] for d in cur.description], cur.fetchall()


@pytest.mark.parametrize("seed", range(40))
def test_the_said_dialect_reads_what_the_sniffer_reads(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "StockUniteLegale_x.csv"
    _write(path, rng, rows=rng.randint(1, 400), cols=rng.randint(2, 8), bom=seed % 5 == 0)
    rel, _ = _relation_sql(path, tmp_path)
    sniffed = "read_csv(?, all_varchar = true, header = true)"
    with duckdb.connect() as con:
        try:
            expected = _rows(con, sniffed, path)
        except duckdb.Error:
            expected = None  # the sniffer could not read it: neither may the shortcut read it otherwise
        if _INSEE_DIALECT not in rel:
            assert rel == sniffed
            return
        try:
            got = _rows(con, rel, path)
        except duckdb.Error:
            got = None
    if expected is not None:
        assert got == expected


def test_the_shortcut_is_taken_on_most_generated_files(tmp_path):
    """Guards the comparison above against a generator whose files all go to the sniffer."""
    taken = 0
    for seed in range(40):
        rng = random.Random(seed)
        path = tmp_path / f"StockUniteLegale_{seed}.csv"
        _write(path, rng, rows=rng.randint(1, 400), cols=rng.randint(2, 8), bom=seed % 5 == 0)
        taken += _plain_dialect(path) == _INSEE_DIALECT
    assert taken >= 20


def test_the_shortcut_is_taken_on_a_plain_insee_file(tmp_path):
    path = tmp_path / "StockEtablissement_x.csv"
    path.write_text('siren,nic,denominationUsuelleEtablissement\n000325175,00016,"CAFÉ, BAR ""CHEZ NOUS"""\n',
                    encoding="utf-8")
    assert _plain_dialect(path) == _INSEE_DIALECT
    with duckdb.connect() as con:
        rel, _ = _relation_sql(path, tmp_path)
        assert _rows(con, rel, path)[1] == [("000325175", "00016", 'CAFÉ, BAR "CHEZ NOUS"')]


@pytest.mark.parametrize("content", [
    "siren;nic\n000325175;00016\n",  # semicolons
    "siren,nic\r\n000325175,00016\r\n",  # Windows line ends
    "siren,nic\n000325175,00016\n" * 3 + "000325175,0001\r\n",  # one carriage return further down
    'siren,nom\n000325175,"A \\"B\\""\n',  # a backslash before a quote
    "siren\tnic\n000325175\t00016\n",  # tabs
    "siren|nic\n000325175|00016\n",
    "siren\n000325175\n",  # one column: the separator is not shown
])
def test_anything_else_is_left_to_the_sniffer(tmp_path, content):
    path = tmp_path / "StockUniteLegale_y.csv"
    path.write_bytes(content.encode())
    assert _plain_dialect(path) == ""


def test_a_compressed_stock_is_left_to_the_sniffer(tmp_path):
    import gzip

    path = tmp_path / "StockUniteLegale_z.csv.gz"
    path.write_bytes(gzip.compress(b"siren,nic\n000325175,00016\n"))
    assert _plain_dialect(path) == ""
