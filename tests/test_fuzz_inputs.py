"""Property-based tests: whatever a payment export or a DECP file contains, every data row ends
loaded or quarantined with a reason naming the file and row, or the file is refused clearly."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from achats.errors import InputError
from achats.sources.decp import read_contracts
from achats.sources.purchases import parse_amount, read_purchases

# csv.writer leaves a bare carriage return unquoted, which every reader (ours included) rightly
# reads as a line break: such a cell would make the generated file itself ambiguous.
CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=25)
AMOUNT = st.one_of(
    st.decimals(min_value=-10**7, max_value=10**7, places=2, allow_nan=False).map(
        lambda d: f"{d:,.2f}".replace(",", " ").replace(".", ",")),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
    CELL,
)
DATE = st.one_of(st.dates().map(lambda d: d.strftime("%d/%m/%Y")), st.dates().map(str), CELL)
ROW = st.tuples(CELL, AMOUNT, DATE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=15), sep=st.sampled_from([";", ",", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]), header_again=st.booleans())
def test_every_row_is_accounted_for(rows, sep, encoding, header_again):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=sep, lineterminator="\n")
        w.writerow(["Fournisseur", "Montant TTC", "Date mandat"])
        written = 0
        for i, r in enumerate(rows):
            w.writerow(r)
            written += 1
            if header_again and i == 0:
                w.writerow(["Fournisseur", "Montant TTC", "Date mandat"])
                written += 1
        (root / "purchases").mkdir()
        (root / "purchases" / "f.csv").write_bytes(buf.getvalue().encode(encoding, errors="replace"))
        try:
            df = read_purchases(root)
        except InputError as exc:
            assert "purchases/f.csv" in str(exc)
            return
        # a record made only of empty cells is still a data row (quarantined as empty); the
        # reader may only skip physically empty lines, which csv.writer never writes for a row
        assert df.height == written
        assert df["line_id"].n_unique() == df.height
        bad = df.filter(df["status"] == "quarantined")
        for reason, row in zip(bad["quarantine_reason"], bad["source_line"], strict=True):
            assert reason.startswith("purchases/f.csv") and f"ligne {row}" in reason
        assert df.filter(df["status"] == "ok")["amount_eur"].null_count() == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_amount_parser_only_raises_value_error(text):
    with contextlib.suppress(ValueError):
        parse_amount(text)


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                       lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
                       max_leaves=20)


@settings(max_examples=80, deadline=None)
@given(doc=st.one_of(JSONISH, st.fixed_dictionaries({"marches": st.lists(
    st.dictionaries(st.sampled_from(["id", "acheteur", "codeCPV", "montant", "dateNotification", "titulaires",
                                     "considerationsSociales"]), JSONISH, max_size=7), max_size=5)})),
       broken=st.booleans())
def test_decp_parser_gives_rows_or_a_clear_error(doc, broken):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "contracts").mkdir()
        text = json.dumps(doc)
        (root / "contracts" / "x.json").write_text(text[:-1] if broken and len(text) > 1 else text, encoding="utf-8")
        try:
            df = read_contracts(root, None)
        except InputError as exc:
            assert "contracts/x.json" in str(exc)
            return
        assert set(df["status"].unique()) <= {"ok", "quarantined"}
