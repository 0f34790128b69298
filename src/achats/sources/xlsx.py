"""A small workbook's sheets read straight from its XML (ElementTree), for the purchase reader: the
values openpyxl's full load gives (values as saved: a formula's last result; a merged range's value
in its top-left cell only; a number in a date format as a date, with openpyxl's own conversion),
each sheet's state and hidden rows, seven times faster than building openpyxl's cell objects.

A workbook with anything this reader does not model as openpyxl does (a sheet name openpyxl
refuses or renames, a style it lacks, a cell it cannot place) raises `Unusual`: the caller reads
it with openpyxl. Tests compare both on hand-written hostile workbooks.
"""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REF = re.compile(r"[A-Z]{1,3}[0-9]+")
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_BOOK_TYPES = tuple(f"application/vnd.{t}.main+xml" for t in (  # in openpyxl's order
    "ms-excel.template.macroEnabled", "openxmlformats-officedocument.spreadsheetml.template",
    "ms-excel.sheet.macroEnabled", "openxmlformats-officedocument.spreadsheetml.sheet"))
_STATES = ("visible", "hidden", "veryHidden")
_BAD_TITLE = re.compile(r"[\\*?:/\[\]]")  # openpyxl refuses these in a sheet's name


class Unusual(Exception):
    """Something openpyxl would read otherwise, or refuse: read the workbook with openpyxl."""


@dataclass
class Sheet:
    name: str
    state: str  # visible, hidden, veryHidden
    rows: dict[int, list[object]]  # row number -> cell values (column A first); rows without cells absent
    hidden_rows: frozenset[int]


def xml_true(value: str | None) -> bool:
    """An XML boolean attribute as openpyxl reads it: absent, empty, « 0 », « f » or « false » is false."""
    return value not in (None, "", "0", "false", "f")


def _relations(z: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, path in the archive) of a part's internal relationships."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in z.NameToInfo:
        return {}
    out = {}
    for r in ET.fromstring(z.read(rels)):
        target = r.get("Target") or ""
        if r.get("TargetMode") != "External":
            path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[r.get("Id")] = (r.get("Type") or "", path)
    return out


def _string_item(node: ET.Element) -> str:
    """A string item's text: its plain text and its formatted runs, phonetic hints left out."""
    plain, runs = None, []
    for child in node:
        if child.tag == _MAIN + "t":
            plain = child.text
        elif child.tag == _MAIN + "r":
            texts = [t.text for t in child.findall(_MAIN + "t")]
            if texts and texts[-1] is not None:
                runs.append(texts[-1])
    return "".join(([plain] if plain is not None else []) + runs)


def _parts(z: zipfile.ZipFile) -> tuple[str, str | None]:
    """(the workbook part, the shared strings part), found by their content type, as openpyxl finds them."""
    types = ET.fromstring(z.read("[Content_Types].xml"))
    parts: dict[str, str] = {}
    for o in types.iterfind(f"{_TYPES}Override"):
        parts.setdefault(o.get("ContentType") or "", (o.get("PartName") or "/")[1:])
    book = next((parts[t] for t in _BOOK_TYPES if t in parts), None)
    if book is None:
        if not {d.get("ContentType") for d in types.iterfind(f"{_TYPES}Default")} & set(_BOOK_TYPES):
            raise Unusual("no workbook part")
        book = "xl/workbook.xml"
    return book, parts.get("application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml")


def _shared_strings(z: zipfile.ZipFile, strings: str | None) -> list[str]:
    out: list[str] = []
    if strings in z.NameToInfo:
        with z.open(strings) as f:
            for _, node in ET.iterparse(f):
                if node.tag == _MAIN + "si":
                    out.append(_string_item(node).replace("x005F_", ""))  # as openpyxl does
                    node.clear()
    return out


def _styles(z: zipfile.ZipFile) -> tuple[int, set[int], set[int]]:
    """(number of cell styles, the styles whose number format shows a date, those showing a duration)."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    if "xl/styles.xml" not in z.NameToInfo:  # where openpyxl looks for them
        return 1, set(), set()
    root = ET.fromstring(z.read("xl/styles.xml"))
    custom = {int(f.get("numFmtId")): f.get("formatCode") for f in root.iterfind(f"{_MAIN}numFmts/{_MAIN}numFmt")}
    count, dates, durations = 0, set(), set()
    for count, xf in enumerate(root.iterfind(f"{_MAIN}cellXfs/{_MAIN}xf"), start=1):
        num = int(xf.get("numFmtId") or 0)
        fmt = custom[num] if num in custom else BUILTIN_FORMATS.get(num)
        if is_date_format(fmt):
            dates.add(count - 1)
        if is_timedelta_format(fmt):
            durations.add(count - 1)
    return max(count, 1), dates, durations


@functools.lru_cache(maxsize=1024)
def _column_number(letters: str) -> int:
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch) - 64
    return column


def _position(ref: str) -> tuple[int, int]:
    """(row, column) of « AB12 »."""
    if not _REF.fullmatch(ref):
        raise Unusual(ref)
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters):]), _column_number(letters)


def _sheet(f, shared: list[str], styles: tuple[int, set[int], set[int]], epoch) -> tuple[dict, frozenset[int]]:
    from openpyxl.utils import datetime as xl_dates

    count, dates, durations = styles
    cells: dict[int, dict[int, object]] = {}
    hidden, merged, row = set(), [], 0
    for _, node in ET.iterparse(f):
        if node.tag == _MAIN + "mergeCell":
            merged.append(node.get("ref") or "")
        if node.tag != _MAIN + "row":
            continue
        r = node.get("r")
        if r is not None and not r.isdigit():
            raise Unusual(r)
        row = int(r) if r else row + 1
        if xml_true(node.get("hidden")):
            hidden.add(row)
        column = 0
        for c in node:  # a cell without its reference follows the one before it
            kind, ref, style = c.get("t", "n"), c.get("r"), int(c.get("s") or 0)
            if style >= count:
                raise Unusual(style)
            at, column = _position(ref) if ref else (row, column + 1)
            value: object = None if kind == "inlineStr" else (c.findtext(_MAIN + "v") or None)
            if value is None:
                item = c.find(_MAIN + "is") if kind == "inlineStr" else None
                value = None if item is None else _string_item(item)
            elif kind == "n":
                value = float(value) if "." in value or "E" in value or "e" in value else int(value)
                if style in dates:
                    try:
                        value = xl_dates.from_excel(value, epoch, timedelta=style in durations)
                    except (OverflowError, ValueError):
                        value = "#VALUE!"
            elif kind in ("s", "b", "d"):
                value = (shared[int(value)] if kind == "s" else bool(int(value)) if kind == "b"
                         else xl_dates.from_ISO8601(value))
            cells.setdefault(at, {})[column] = value
        node.clear()
    for ref in merged:  # every cell of a merged range but its top-left one is empty
        first, _, last = ref.replace("$", "").partition(":")
        (r1, c1), (r2, c2) = _position(first), _position(last or first)
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1) and c in cells.get(r, {}):
                    cells[r][c] = None
    rows = {}
    for r, values in cells.items():
        rows[r] = [None] * max(values)
        for c, v in values.items():
            rows[r][c - 1] = v
    return rows, frozenset(hidden)


def read_sheets(path: Path) -> list[Sheet]:
    """Every worksheet, in the workbook's order (chart sheets left out, as openpyxl does).
    Raises Unusual, or whatever a damaged file raises: then openpyxl reads it."""
    from openpyxl.utils import datetime as xl_dates

    with zipfile.ZipFile(path) as z:
        book, strings = _parts(z)
        root = ET.fromstring(z.read(book))
        relations = _relations(z, book)
        listed = list(root.iterfind(f"{_MAIN}sheets/{_MAIN}sheet"))
        names = [s.get("name") or "" for s in listed]
        if any(not n or _BAD_TITLE.search(n) for n in names) or len({n.lower() for n in names}) < len(names):
            raise Unusual("sheet names")  # openpyxl refuses or renames them
        pr = root.find(f"{_MAIN}workbookPr")
        epoch = xl_dates.MAC_EPOCH if pr is not None and xml_true(pr.get("date1904")) else xl_dates.WINDOWS_EPOCH
        shared, styles = _shared_strings(z, strings), _styles(z)
        out = []
        for s in listed:
            if s.get(_DOC_REL) and s.get(_DOC_REL) not in relations or s.get("state", "visible") not in _STATES:
                raise Unusual("sheet")  # openpyxl fails on it
            kind, part = relations.get(s.get(_DOC_REL)) or ("", "")
            if not s.get(_DOC_REL) or part not in z.NameToInfo or "chartsheet" in kind:
                continue
            with z.open(part) as f:
                rows, hidden = _sheet(f, shared, styles, epoch)
            out.append(Sheet(s.get("name"), s.get("state") or "visible", rows, hidden))
        return out
