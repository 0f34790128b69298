"""Read the buyer's payment exports (CSV/XLSX) whatever their headers, encoding and number format.

Every data row comes out exactly once: either `ok`, or `quarantined` with a French reason that
names the file, the row and the field. A file that cannot be read at all raises InputError.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from achats.errors import InputError
from achats.names import fold

# Field -> accepted headers (compared after folding case, accents and punctuation).
ALIASES: dict[str, list[str]] = {
    "supplier_name": ["Raison sociale du Fournisseur", "Fournisseur", "Tiers", "Nom du tiers",
                      "Raison sociale", "Bénéficiaire", "Nom fournisseur", "Libellé tiers",
                      "Libellé fournisseur", "Dénomination", "Nom du fournisseur", "Titulaire",
                      "Créancier", "Nom du bénéficiaire", "Raison sociale fournisseur"],
    "siret": ["SIRET", "N° SIRET", "Siret du tiers", "Numéro SIRET", "Siret fournisseur",
              "Code SIRET", "SIRET du fournisseur", "SIREN", "N° SIREN", "Siren du tiers",
              "Identifiant", "SIRET/SIREN"],
    "amount": ["Montant TTC", "Montant mandaté", "Dépense achat (€)", "Montant", "Montant payé",
               "Montant TTC (€)", "Montant (€)", "Montant en euros", "Dépense", "Montant HT",
               "Montant HT (€)", "Montant réglé", "Montant du mandat"],
    "date": ["Date mandat", "Date de mandatement", "Date de paiement", "Date", "Date du mandat",
             "Date d'émission", "Date de règlement", "Date comptable", "Date facture"],
    "fiscal_year": ["Exercice", "Année", "Annee budgetaire", "Exercice comptable"],
    "category": ["Code CPV", "Catégorie d'achat (optionnelle)", "Catégorie", "Nature",
                 "Catégorie d'achat", "CPV", "Compte", "Compte nature", "Famille d'achat"],
    "buying_entity": ["Entité acheteuse (optionnelle)", "Direction", "Service", "Entité acheteuse",
                      "Service gestionnaire", "Direction gestionnaire", "Pôle"],
    "mandate_number": ["N° mandat", "Numéro de mandat", "N° de mandat", "Mandat", "Numéro mandat"],
    "commune": ["Code commune", "Commune", "Ville", "Code postal", "CP", "Localité"],
}
REQUIRED = ("amount",)
# In the order a payment export is most faithful to what was paid.
MAX_SCAN_ROWS = 30
LARGE_XLSX_BYTES = 8 * 1024 * 1024
OUTPUT_SCHEMA = {
    "line_id": pl.String, "source_file": pl.String, "source_sheet": pl.String,
    "source_row": pl.Int64, "source_line": pl.Int64, "supplier_name": pl.String,
    "siret_raw": pl.String, "amount_raw": pl.String, "amount_eur": pl.Float64,
    "purchase_date": pl.Date, "fiscal_year": pl.Int32, "quarter": pl.String,
    "category": pl.String, "buying_entity": pl.String, "mandate_number": pl.String,
    "commune_raw": pl.String, "status": pl.String, "quarantine_reason": pl.String,
    "is_duplicate": pl.Boolean, "row_kind": pl.String, "duplicate_of": pl.String,
}
# One row per file and sheet read: what the reconciliation view compares the lines with.
FILE_SCHEMA = {
    "source_file": pl.String, "source_sheet": pl.String, "data_row_count": pl.Int64,
    "decimal_mark": pl.String, "declared_total_eur": pl.Float64, "declared_total_row": pl.Int64,
    "duplicate_of": pl.String, "content_sha256": pl.String,
}
_KEY = re.compile(r"[^a-z0-9]+")
_CURRENCY = re.compile(r"(€|eur(os?)?)", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f']")
MIN_YEAR, MAX_YEAR = 1990, dt.date.today().year + 1


def header_key(text: str) -> str:
    return _KEY.sub(" ", fold(str(text)).lower()).strip()


_ALIAS_KEYS = {field: [header_key(a) for a in names] for field, names in ALIASES.items()}


@dataclass
class RawTable:
    """Cells as text, with each data row's physical line number for error messages."""

    sheet: str | None
    rows: list[tuple[int, list[str]]]


# Second pass for headers no alias names exactly ("Montant TTC en €", "Nom fournisseur / tiers"):
# field -> (words one of which the header must contain, words it must not contain)
_CONTAINS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("amount", ("montant ttc", "montant", "depense"), ("nombre", "taux", "tva")),
    ("siret", ("siret", "siren"), ()),
    ("date", ("date",), ()),
    ("supplier_name", ("raison sociale", "fournisseur", "tiers", "beneficiaire", "creancier", "titulaire"),
     ("code", "numero", "n ", "id ", "siret", "siren", "adresse", "ville", "cp ")),
    ("fiscal_year", ("exercice", "annee"), ()),
    ("category", ("cpv", "categorie", "nature", "famille"), ()),
    ("buying_entity", ("direction", "service", "entite", "pole"), ()),
    ("mandate_number", ("mandat",), ("date", "montant")),
]


def map_headers(header: list[str], explicit: dict[str, str] | None = None) -> dict[str, int]:
    """Field -> column index: exact aliases first (in alias order), then headers that contain a
    telling word, and an explicit mapping from achats.toml wins over both."""
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for field, aliases in _ALIAS_KEYS.items():
        for alias in aliases:
            if alias in keys and keys.index(alias) not in found.values():
                found[field] = keys.index(alias)
                break
    for field, words, banned in _CONTAINS:
        if field in found:
            continue
        for word in words:
            hits = [i for i, k in enumerate(keys) if word in k and i not in found.values()
                    and not any(k.startswith(b) or f" {b.strip()} " in f" {k} " for b in banned)]
            if hits:
                found[field] = hits[0]
                break
    for field, column in (explicit or {}).items():
        if field not in ALIASES:  # already reported when achats.toml was read
            continue
        if header_key(column) in keys:
            found[field] = keys.index(header_key(column))
    return found


def parse_amount(text: str) -> Decimal | None:
    """French and English number formats; parentheses or a trailing minus mean a credit note."""
    s = _CURRENCY.sub("", text.strip())
    s = _SPACES.sub("", s)
    if not s:
        return None
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.endswith("-"):
        negative, s = True, s[:-1]
    if "," in s and "." in s:  # the last one is the decimal mark
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".") if s.count(",") == 1 else s.replace(",", "")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?", s):
        raise ValueError(text)
    try:
        value = Decimal(s)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    return -value if negative else value


_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d", "%Y%m%d")


FRENCH_MONTHS = {m: i for i, m in enumerate(
    ["janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre",
     "decembre"], start=1)}
_FRENCH_DATE = re.compile(r"^(\d{1,2})(?:er)?\s+([a-z]+)\.?\s+(\d{4})$")


def parse_date(text: str) -> dt.date | None:
    s = text.strip()
    if not s:
        return None
    m = _FRENCH_DATE.match(fold(s).lower())
    if m and m.group(2) in FRENCH_MONTHS:  # "15 mars 2024", "1er avril 2024"
        return dt.date(int(m.group(3)), FRENCH_MONTHS[m.group(2)], int(m.group(1)))
    s = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?.*$", "", s)  # drop a time part
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.0+)?", s):  # an Excel serial day number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(s)))
    raise ValueError(text)


def quarter_of(d: dt.date) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


# --- file decoding -----------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) first, cp1252 second: exports from Windows tools use it."""
    if not data.strip():
        raise InputError(f"{name} : fichier vide")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of fields."""
    lines = [ln for ln in text.splitlines()[:MAX_SCAN_ROWS] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in (";", ",", "\t", "|"):
        counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines]
        if not counts or max(counts) < 2:
            continue
        mode = max(set(counts), key=counts.count)
        score = counts.count(mode) + (mode / 100)
        if score > best_score:
            best, best_score = delim, score
    return best


def read_csv_table(path: Path, display: str) -> list[RawTable]:
    text = decode(path.read_bytes(), display)
    delim = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[tuple[int, list[str]]] = []
    for record in reader:
        rows.append((reader.line_num, record))
    return [RawTable(None, rows)]


def read_xlsx_tables(path: Path, display: str) -> list[RawTable]:
    """Every sheet; merged cells take the value of their top-left cell."""
    import openpyxl

    # A large export is streamed (read-only mode); merged cells only occur in small, hand-made files.
    streamed = path.stat().st_size > LARGE_XLSX_BYTES
    try:
        wb = openpyxl.load_workbook(path, data_only=True, read_only=streamed)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"{display} : classeur Excel illisible ({type(exc).__name__})") from exc
    tables = []
    for ws in wb.worksheets:
        fill: dict[tuple[int, int], object] = {}
        for rng in ([] if streamed else ws.merged_cells.ranges):
            value = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    fill[(r, c)] = value
        rows = []
        for r_idx, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = []
            for c_idx, v in enumerate(row, start=1):
                v = fill.get((r_idx, c_idx), v)
                cells.append(_cell_text(v))
            rows.append((r_idx, cells))
        tables.append(RawTable(ws.title, rows))
    return tables


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) > 1e8:  # identifiers stored as numbers
        return str(int(v))
    return str(v)


# --- rows -> lines -----------------------------------------------------------------------


def find_header(rows: list[tuple[int, list[str]]], explicit: dict[str, str]) -> int | None:
    """Index of the first row that names an amount and a supplier (or SIRET)."""
    for i, (_, cells) in enumerate(rows[:MAX_SCAN_ROWS]):
        mapping = map_headers(cells, explicit)
        if "amount" in mapping and ("supplier_name" in mapping or "siret" in mapping):
            return i
    return None


def _line_id(source_file: str, sheet: str | None, cells: list[str], occurrence: int) -> str:
    """Stable across reruns and insensitive to rows inserted elsewhere in the file."""
    key = "\x1f".join([source_file, sheet or "", *[c.strip() for c in cells], str(occurrence)])
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def table_to_lines(table: RawTable, display: str, explicit: dict[str, str]) -> Iterator[dict]:
    rows = [(ln, cells) for ln, cells in table.rows if cells]  # a line with no cell is not a row
    where = f"{display}" + (f" (feuille « {table.sheet} »)" if table.sheet else "")
    h = find_header(rows, explicit)
    if h is None:
        raise InputError(f"{where} : aucune ligne d'en-tête reconnue (il faut au moins une colonne "
                         f"de montant et une colonne de fournisseur ou de SIRET)")
    header = rows[h][1]
    cols = map_headers(header, explicit)
    header_keys = [header_key(c) for c in header]
    seen: dict[tuple, int] = {}
    running_total = Decimal(0)
    for source_row, (line_no, cells) in enumerate(rows[h + 1:], start=1):
        cells = cells + [""] * (len(header) - len(cells))
        line = _parse_row(cells, cols, header, header_keys, where, source_row)
        content = tuple(c.strip() for c in cells)
        occurrence = seen.get(content, 0)
        seen[content] = occurrence + 1
        line["is_duplicate"] = occurrence > 0 and line["status"] == "ok" and any(content)
        line["row_kind"], line["duplicate_of"] = "data", None
        line.update(line_id=_line_id(display, table.sheet, cells, occurrence),
                    source_file=display, source_sheet=table.sheet, source_row=source_row,
                    source_line=line_no)
        amount = line.pop("_amount")
        if line["status"] == "ok" and _is_total_row(line, amount, running_total):
            line["status"], line["row_kind"] = "quarantined", "total"
            line["quarantine_reason"] = (f"{where}, ligne {source_row} : ligne de total "
                                         f"(le montant égale la somme des lignes précédentes)")
        elif line["status"] == "ok" and amount is not None:
            running_total += amount
        yield line


def _is_total_row(line: dict, amount: Decimal | None, running: Decimal) -> bool:
    name = fold(line.get("supplier_name") or "").strip()
    return (bool(re.match(r"^(SOUS[- ]?)?TOTAL\b", name)) and amount is not None
            and running != 0 and abs(amount - running) < Decimal("0.01")
            and not line.get("siret_raw"))


def _parse_row(cells: list[str], cols: dict[str, int], header: list[str], header_keys: list[str],
               where: str, source_row: int) -> dict:
    def get(field: str) -> str:
        return cells[cols[field]].strip() if field in cols and cols[field] < len(cells) else ""

    def reason(field: str, text: str) -> str:
        return f"{where}, ligne {source_row}, champ « {header[cols[field]]} » : {text}"

    line: dict = {
        "supplier_name": get("supplier_name") or None, "siret_raw": get("siret") or None,
        "amount_raw": get("amount") or None, "category": get("category") or None,
        "buying_entity": get("buying_entity") or None, "mandate_number": get("mandate_number") or None,
        "commune_raw": get("commune") or None, "amount_eur": None, "purchase_date": None,
        "fiscal_year": None, "quarter": None, "status": "ok", "quarantine_reason": None,
        "_amount": None,
    }
    problems: list[str] = []
    if not any(c.strip() for c in cells):
        line.update(status="quarantined", quarantine_reason=f"{where}, ligne {source_row} : ligne vide")
        return line
    if [header_key(c) for c in cells[: len(header_keys)]] == header_keys:
        line.update(status="quarantined",
                    quarantine_reason=f"{where}, ligne {source_row} : ligne d'en-tête répétée")
        return line
    try:
        amount = parse_amount(get("amount"))
        if amount is None:
            problems.append(reason("amount", "montant manquant"))
        else:
            line["amount_eur"] = float(amount)
            line["_amount"] = amount
    except ValueError:
        problems.append(reason("amount", f"montant illisible « {get('amount')} »"))
    if not line["supplier_name"] and not line["siret_raw"]:
        field = "supplier_name" if "supplier_name" in cols else "siret"
        problems.append(reason(field, "ni fournisseur ni SIRET"))
    if "date" in cols:
        try:
            d = parse_date(get("date"))
            if d is None:
                if "fiscal_year" not in cols:
                    problems.append(reason("date", "date manquante"))
            elif not MIN_YEAR <= d.year <= MAX_YEAR:
                problems.append(reason("date", f"date hors plage « {get('date')} »"))
            else:
                line["purchase_date"], line["quarter"], line["fiscal_year"] = d, quarter_of(d), d.year
        except ValueError:
            problems.append(reason("date", f"date illisible « {get('date')} »"))
    if line["fiscal_year"] is None and "fiscal_year" in cols and get("fiscal_year"):
        year_text = get("fiscal_year").removesuffix(".0")
        if year_text.isdigit() and MIN_YEAR <= int(year_text) <= MAX_YEAR:
            line["fiscal_year"] = int(year_text)
        else:
            problems.append(reason("fiscal_year", f"exercice illisible « {get('fiscal_year')} »"))
    if problems:
        line.update(status="quarantined", quarantine_reason=" ; ".join(problems))
    return line


def read_purchase_file(path: Path, data_dir: Path, explicit: dict[str, str] | None = None) -> list[dict]:
    display = path.relative_to(data_dir).as_posix()
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        tables = read_csv_table(path, display)
    elif suffix in (".xlsx", ".xlsm"):
        tables = read_xlsx_tables(path, display)
    else:
        raise InputError(f"{display} : format non pris en charge (attendu .csv ou .xlsx)")
    lines: list[dict] = []
    errors: list[str] = []
    for table in tables:
        try:
            lines.extend(table_to_lines(table, display, explicit or {}))
        except InputError as exc:
            if len(tables) == 1:
                raise
            errors.append(str(exc))  # a notes sheet beside the data sheet is not an error
    if not lines and errors:
        raise InputError(" ; ".join(errors))
    return lines


def purchase_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "purchases"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in
                  (".csv", ".xlsx", ".xlsm") and not p.name.startswith(("~$", ".")))


def read_purchases(data_dir: Path, explicit: dict[str, str] | None = None,
                   files: Iterable[Path] | None = None) -> pl.DataFrame:
    """All purchase lines of the data directory, one row per input data row."""
    return read_purchase_sources(data_dir, explicit, files)[0]


def read_purchase_sources(data_dir: Path, explicit: dict[str, str] | None = None,
                          files: Iterable[Path] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, files): every input data row, and one row per file and sheet read."""
    paths = list(files) if files is not None else purchase_files(data_dir)
    if not paths:
        raise InputError(f"{data_dir / 'purchases'} : aucun fichier d'achats (.csv ou .xlsx)")
    rows: list[dict] = []
    for path in paths:
        rows.extend(read_purchase_file(path, data_dir, explicit))
    lines = pl.DataFrame(rows, schema=OUTPUT_SCHEMA) if rows else pl.DataFrame(schema=OUTPUT_SCHEMA)
    file_rows = lines.group_by("source_file", "source_sheet", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("data_row_count"))
    file_rows = file_rows.with_columns(
        pl.lit(None, pl.String).alias("decimal_mark"), pl.lit(None, pl.Float64).alias("declared_total_eur"),
        pl.lit(None, pl.Int64).alias("declared_total_row"), pl.lit(None, pl.String).alias("duplicate_of"),
        pl.lit(None, pl.String).alias("content_sha256"))
    return lines, file_rows.select(list(FILE_SCHEMA)).cast(FILE_SCHEMA)
