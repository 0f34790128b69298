"""A large workbook is streamed (openpyxl's read-only mode), which stops at the last row the
sheet's `<dimension>` tag names; some tools write that tag wrong (too small, or one cell only).
The streamed reading must give the rows the full load gives, never silently fewer."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from achats.sources import purchases


def _workbook(path: Path, rows: int, dimension: str | None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Fournisseur", "SIRET", "Montant", "Date"])
    for i in range(1, rows + 1):
        ws.append([f"FOURNISSEUR {i}", "", f"{i},50", "05/03/2024"])
    plain = path.with_name("plain_" + path.name)
    wb.save(plain)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet") and dimension is not None:
                data, n = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), data)
                assert n == 1
            zout.writestr(item, data)
    return path


def _tables(path: Path, streamed: bool, monkeypatch) -> list[tuple]:
    monkeypatch.setattr(purchases, "LARGE_XLSX_BYTES", 0 if streamed else 1 << 40)
    return [(t.sheet, t.frame.to_dicts(), {c: v.to_list() for c, v in t.numeric_col.items()}, t.hidden_lines)
            for t in purchases.read_xlsx_tables(path, path.name)]


@pytest.mark.parametrize("dimension", ["A1:D3", "A1", "A1:B2", "A1:D10000", None])
def test_a_streamed_sheet_reads_every_row_whatever_its_dimension_tag(tmp_path, monkeypatch, dimension):
    path = _workbook(tmp_path / "mandats.xlsx", rows=40, dimension=dimension)
    full = _tables(path, streamed=False, monkeypatch=monkeypatch)
    streamed = _tables(path, streamed=True, monkeypatch=monkeypatch)
    assert len(full[0][1]) == 41  # the header and the 40 rows
    assert streamed == full
