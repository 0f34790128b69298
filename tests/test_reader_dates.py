"""Day/month order of numeric dates, decided once per file from all its date cells: a month-first
export is never read day-first in silence, and a file that proves both orders quarantines the
cells it cannot decide."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from achats.sources.purchases import read_purchases
from tests.reader_inputs import write_export


def _quarters(df: pl.DataFrame) -> dict[str, Decimal]:
    ok = df.filter(pl.col("status") == "ok")
    out: dict[str, Decimal] = {}
    for q, a in zip(ok["quarter"], ok["amount_eur"], strict=True):
        out[q] = out.get(q, Decimal(0)) + Decimal(str(a))
    return out


HEADER = "N° mandat;Date mandat;Tiers;N° SIRET;Montant TTC\n"


def test_month_first_export_read_month_first(tmp_path):
    rows = [("3/15/2024", "100,00"), ("4/2/2024", "200,00"), ("12/1/2024", "400,00"), ("1/31/2024", "800,00"),
            ("45365", "1 600,00"), ("2024/03/05", "3 200,00"), ("20240306", "6 400,00")]
    text = HEADER + "".join(f"U{i};{d};ASSOCIATION X;39893557700039;{a}\n" for i, (d, a) in enumerate(rows, 1))
    df = read_purchases(write_export(tmp_path, "mandats_us.csv", text))
    assert df["status"].to_list() == ["ok"] * 7
    assert df["purchase_date"].to_list()[:4] == [dt.date(2024, 3, 15), dt.date(2024, 4, 2), dt.date(2024, 12, 1),
                                                 dt.date(2024, 1, 31)]
    q = _quarters(df)
    assert [q.get(k, Decimal(0)) for k in sorted(q)] == [Decimal("12100"), Decimal("200"), Decimal("400")]
    assert sorted(q)[0].endswith("1") and sorted(q)[1].endswith("2") and sorted(q)[2].endswith("4")


def test_both_orders_in_one_file_quarantine_the_ambiguous_cells(tmp_path):
    text = HEADER + ("A1;15/03/2024;ASSOCIATION X;39893557700039;10,00\n"   # day-first proof
                     "A2;03/16/2024;ASSOCIATION X;39893557700039;20,00\n"   # month-first proof
                     "A3;04/02/2024;ASSOCIATION X;39893557700039;40,00\n"   # 4 Feb or 2 Apr: undecidable
                     "A4;05/05/2024;ASSOCIATION X;39893557700039;80,00\n"   # same day either way
                     "A5;2024-06-01;ASSOCIATION X;39893557700039;160,00\n")
    df = read_purchases(write_export(tmp_path, "mixte.csv", text))
    by = dict(zip(df["mandate_number"], df.iter_rows(named=True), strict=True))
    assert by["A3"]["status"] == "quarantined"
    reason = by["A3"]["quarantine_reason"]
    assert "purchases/mixte.csv" in reason and "ligne 4" in reason and "Date mandat" in reason
    assert "ambiguë" in reason and "04/02/2024" in reason
    assert by["A1"]["purchase_date"] == dt.date(2024, 3, 15) and by["A1"]["status"] == "ok"
    assert by["A2"]["purchase_date"] == dt.date(2024, 3, 16) and by["A2"]["status"] == "ok"
    assert by["A4"]["purchase_date"] == dt.date(2024, 5, 5) and by["A4"]["status"] == "ok"
    assert by["A5"]["purchase_date"] == dt.date(2024, 6, 1)
    assert by["A3"]["amount_eur"] == Decimal("40.00")  # kept, readable, counted nowhere


def test_no_proof_stays_day_first_beside_a_month_first_file(tmp_path):
    """The order is the file's own: a month-first export next to it changes nothing."""
    write_export(tmp_path, "us.csv", HEADER + ("C1;4/2/2024;ASSOCIATION X;39893557700039;1,00\n"
                                         "C2;3/15/2024;ASSOCIATION X;39893557700039;2,00\n"))
    text = HEADER + ("B1;04/02/2024;ASSOCIATION X;39893557700039;10,00\n"
                     "B2;12/01/2024;ASSOCIATION X;39893557700039;20,00\n"
                     "B3;1.3.2024;ASSOCIATION X;39893557700039;40,00\n")
    df = read_purchases(write_export(tmp_path, "fr.csv", text))
    by = dict(zip(df["mandate_number"], df.iter_rows(named=True), strict=True))
    assert [by[k]["status"] for k in ("B1", "B2", "B3", "C1", "C2")] == ["ok"] * 5
    assert [by[k]["purchase_date"] for k in ("B1", "B2", "B3")] == [dt.date(2024, 2, 4), dt.date(2024, 1, 12),
                                                                     dt.date(2024, 3, 1)]
    assert [by[k]["purchase_date"] for k in ("C1", "C2")] == [dt.date(2024, 4, 2), dt.date(2024, 3, 15)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dates=st.lists(st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(dt.date.today().year, 12, 31)),
                      min_size=1, max_size=15),
       proof_day=st.integers(min_value=13, max_value=28),
       sep=st.sampled_from(["/", "-", "."]), pad=st.booleans(), proof_at=st.integers(min_value=0, max_value=15))
def test_month_first_dates_read_back_exactly(tmp_path_factory, dates, proof_day, sep, pad, proof_at):
    root = tmp_path_factory.mktemp("mdy")
    proof = dt.date(2024, 1, proof_day)
    cells = list(dates)
    cells.insert(min(proof_at, len(cells)), proof)  # at least one cell proves month-first
    fmt = f"%m{sep}%d{sep}%Y" if pad else None

    def write(d: dt.date) -> str:
        return d.strftime(fmt) if fmt else f"{d.month}{sep}{d.day}{sep}{d.year}"

    text = HEADER + "".join(f"P{i};{write(d)};ASSOCIATION X;39893557700039;1,00\n" for i, d in enumerate(cells, 1))
    df = read_purchases(write_export(root, "p.csv", text))
    assert df["status"].to_list() == ["ok"] * len(cells)
    assert df["purchase_date"].to_list() == cells
