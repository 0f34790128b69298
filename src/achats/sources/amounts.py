"""Amounts as a file writes them: infer the file's number format from all its amount cells, then
accept a cell only if it fits that format exactly.

A reader that guesses cell by cell invents numbers (`12,34,56` → 123 456, `1,000` → 1). Here the
decimal mark is decided once per file and column from the evidence of every cell; thousands groups
must have exactly three digits; one sign at most (`-5`, `5-` or `(5)`); ASCII digits only. The
parse is vectorised (polars expressions over the whole column); Python runs only to word the
reason of a refused cell.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import polars as pl

SPACES = " \u00a0\u202f\u2009"  # space, no-break space, narrow no-break space, thin space
_CURRENCY = r"(?i)^\s*(?:€|eur(?:os?)?)\s*|\s*(?:€|eur(?:os?)?)\s*$"
# the currency inside an accounting credit's parentheses: « (100,00 €) », « (€ 100,00) »
_PAREN_CURRENCY = r"(?i)^\(\s*(?:€|eur(?:os?)?)?\s*([^()]*?)\s*(?:€|eur(?:os?)?)?\s*\)$"
_SP = f"[{SPACES}]"


def _number(decimal_mark: str) -> str:
    """Unsigned amount pattern for a decimal mark: integer part with consistent groups of three."""
    other = "," if decimal_mark == "." else r"\."
    dec = r"\." if decimal_mark == "." else ","
    groups = (rf"[0-9]{{1,3}}(?:{_SP}[0-9]{{3}})+", rf"[0-9]{{1,3}}(?:{other}[0-9]{{3}})+",
              r"[0-9]{1,3}(?:['’][0-9]{3})+", r"[0-9]+")
    return rf"(?:{'|'.join(groups)})(?:{dec}[0-9]{{1,2}})?"


def amount_pattern(decimal_mark: str) -> str:
    """Whole-cell pattern: a leading sign, a trailing minus, or parentheses — one sign at most."""
    n = _number(decimal_mark)
    return rf"^(?:(?P<s1>[+-]) ?(?P<n1>{n})|(?P<n2>{n})(?P<s2>-)?|\((?P<n3>{n})\))$"


FORMAT_LABELS = {",": "1 234,56 (virgule décimale)", ".": "1,234.56 (point décimal)"}


@dataclass(frozen=True)
class NumberFormat:
    decimal_mark: str  # ',' or '.'
    has_decimals: bool  # most amount cells of the file write their cents
    # some cell writes 3 decimals ("1500.000"), or nothing in the file tells: "150.000" is ambiguous
    three_decimals: bool = False

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self.decimal_mark]


# typographic minus signs (U+2212, and the en/em dashes word processors put for a minus) read as
# '-': normalised explicitly, and only as a sign (a single one, before or after the number)
MINUS_SIGNS = "\u2212\u2013\u2014"


# the accounting marks of a ledger export, after the number: « 300,00 CR » is a credit (negative),
# « 2 200,00 DB » (or DR) a debit (positive); only right after a digit, so no word is read as a sign
_CREDIT_MARK = r"^(.*[0-9])[ \u00a0\u202f\u2009]*(?i:CR)\.?$"
_DEBIT_MARK = r"^(.*[0-9])[ \u00a0\u202f\u2009]*(?i:DB|DR)\.?$"


def _clean(col: pl.Expr) -> pl.Expr:
    """Currency, typographic minus and accounting marks (CR as a trailing minus: a cell that also
    has a sign then has two, and is refused) read away."""
    return (col.str.strip_chars().str.replace_all(_CURRENCY, "").str.replace(_PAREN_CURRENCY, "(${1})")
            .str.replace_all(f"[{MINUS_SIGNS}]", "-")
            .str.replace(_CREDIT_MARK, "${1}-").str.replace(_DEBIT_MARK, "${1}"))


def _unsigned(col: pl.Expr) -> pl.Expr:
    return _clean(col).str.replace_all(r"^[+-] ?|-$|^\(|\)$", "")


def _unsigned_series(cells: pl.Series) -> pl.Series:
    """`_unsigned` of every cell, computed on the cells that need it only: a cell that starts and
    ends with a digit and holds only digits, marks and spaces is its own unsigned form."""
    frame = cells.cast(pl.String).to_frame("a")
    other = frame.select(~pl.col("a").str.contains(f"^[0-9](?:[0-9.,'’{SPACES}]*[0-9])?$").fill_null(False)
                         ).to_series().arg_true()
    if other.is_empty():
        return frame["a"]
    return frame["a"].scatter(other, frame[other].select(_unsigned(pl.col("a"))).to_series())


def format_votes(cells: pl.Series) -> dict[str, int]:
    """How many non-empty cells show each sign of a number format. The six signs that need a mark
    followed by three digits are looked for only in the cells that have one (few, in most files):
    four passes over the column instead of ten (a count of plain integers, never used, is gone)."""
    s = _unsigned_series(cells).to_frame("u").filter(pl.col("u") != "")
    votes = s.select(
        dec_comma=pl.col("u").str.contains(rf"^[0-9][0-9{SPACES}.'’]*,[0-9]{{1,2}}$").sum(),
        dec_dot=pl.col("u").str.contains(rf"^[0-9][0-9{SPACES},'’]*\.[0-9]{{1,2}}$").sum(),
        with_cents=pl.col("u").str.contains(r"[.,][0-9]{1,2}$").sum(),
        n=pl.len(),
    ).row(0, named=True)
    marked = s.filter(pl.col("u").str.contains(r"[.,][0-9]{3}"))
    votes.update(marked.select(
        thou_dot=pl.col("u").str.contains(r"^[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$").sum(),
        thou_comma=pl.col("u").str.contains(r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$").sum(),
        three=pl.col("u").str.contains(r"^[0-9]{4,}[.,][0-9]{3}$|^[0-9]*[.,][0-9]{4,}$|[.,][0-9]{3}[.,][0-9]{3}$").sum(),
        # "12,500" or "1.000": one mark and three digits proves nothing (thousands, or thousandths)
        short=pl.col("u").str.contains(r"^[0-9]{1,3}[.,][0-9]{3}$").sum(),
        short_dot=pl.col("u").str.contains(r"^[0-9]{1,3}\.[0-9]{3}$").sum(),
        short_comma=pl.col("u").str.contains(r"^[0-9]{1,3},[0-9]{3}$").sum(),
    ).row(0, named=True))
    return votes


def infer_format(cells: pl.Series) -> NumberFormat:
    """The decimal mark that most cells prove: a mark followed by one or two final digits is a
    decimal mark; a mark followed by groups of three digits is a thousands mark. No evidence: the
    French comma."""
    votes = format_votes(cells)
    # a cell like "12,500" is no proof either way: only the other cells vote
    comma = votes["dec_comma"] + votes["thou_dot"] - votes["short_dot"]
    dot = votes["dec_dot"] + votes["thou_comma"] - votes["short_comma"]
    mark = "." if dot > comma else ","
    # only such cells for evidence: the file proves neither reading, so they are ambiguous
    ambiguous = votes["three"] > 0 or (votes["short"] > 0 and comma + dot == 0)
    return NumberFormat(mark, votes["n"] > 0 and votes["with_cents"] >= 0.8 * votes["n"], ambiguous)


# what may separate thousands (besides the other mark): removed before the digits are cast
_GROUP_MARKS = [*SPACES, "'", "’"]
_OUT = ("_cents", "_int_digits", "_has_fraction", "_too_long")


def parse_columns(df: pl.DataFrame, column: str, fmt: NumberFormat) -> pl.DataFrame:
    """The same columns as `parse_columns_reference`, fast: a cell written plainly in the file's
    format (`-1 234,56`, `1234.5`: one regex) is cast to cents after its marks are removed; only
    the other cells (empty, padded, currency, parentheses, refused…) take the reference path."""
    if fmt.three_decimals or df.height == 0:  # "1.000" is then no proof: the reference decides
        return parse_columns_reference(df, column, fmt)
    dec = fmt.decimal_mark
    cell = pl.col(column)
    plain = df.select(cell.str.contains(rf"^-?{_number(dec)}$").fill_null(False)).to_series()
    digits = cell.str.replace_many([*_GROUP_MARKS, "," if dec == "." else ".", dec],
                                   [""] * (len(_GROUP_MARKS) + 2))
    frac_len = (pl.when(cell.str.slice(-3, 1) == dec).then(2).when(cell.str.slice(-2, 1) == dec).then(1)
                .otherwise(0))
    fast = df.select(digits.alias("d"), frac_len.alias("f"), cell.str.starts_with("-").alias("neg")).with_columns(
        (pl.col("d").str.len_bytes().cast(pl.Int64) - pl.col("neg").cast(pl.Int64) - pl.col("f")).alias("int_len"))
    fast = fast.with_columns((pl.col("int_len") > 15).alias("_too_long"))
    value = pl.col("d").cast(pl.Int64, strict=False) * pl.when(pl.col("f") == 0).then(100).when(pl.col("f") == 1) \
        .then(10).otherwise(1)
    fast = fast.with_columns(pl.when(~pl.col("_too_long")).then(value).alias("_cents"))
    fast = fast.with_columns(
        pl.when(pl.col("_cents").abs() >= 100).then((pl.col("_cents").abs() // 100).cast(pl.String))
        .otherwise(pl.lit("")).alias("_int_digits"),
        (pl.col("f") > 0).alias("_has_fraction"))
    long_rows = fast["_too_long"] & plain
    if long_rows.any():  # more than 15 digits before the mark: their digits as text
        idx = long_rows.arg_true()
        unsigned = pl.col("d").str.strip_chars_start("-")
        text = fast[idx].select(unsigned.str.slice(0, unsigned.str.len_bytes() - pl.col("f"))
                                .str.strip_chars_start("0"))
        fast = fast.with_columns(fast["_int_digits"].scatter(idx, text.to_series()))
    fast = fast.select(*_OUT)
    other = (~plain).arg_true()
    if not other.is_empty():  # the reference path, on those cells only
        slow = parse_columns_reference(df.select(column)[other], column, fmt)
        fast = fast.with_columns(fast[c].scatter(other, slow[c]) for c in _OUT)
    return pl.concat([df, fast.select(pl.col("_too_long").fill_null(False), "_cents", "_int_digits",
                                      "_has_fraction")], how="horizontal")


def parse_columns_reference(df: pl.DataFrame, column: str, fmt: NumberFormat) -> pl.DataFrame:
    """Add `_cents` (Int64, NULL when the cell does not fit the format), `_int_digits`,
    `_has_fraction` and `_too_long`. Cents are exact integers: no binary rounding on the way. Built
    step by step (each intermediate column computed once) with capture-free regexes only."""
    dec = "." if fmt.decimal_mark == "." else ","
    df = df.with_columns(_clean(pl.col(column)).alias("_c"))
    c = pl.col("_c")
    df = df.with_columns(
        c.str.contains(r"^(?:[+-] ?[^+()-]*|[^+()-]*-?|\([^+()-]*\))$").alias("_sign_ok"),
        (c.str.starts_with("-") | c.str.ends_with("-") | c.str.starts_with("(")).alias("_neg"),
        c.str.replace(r"^[+-] ?", "").str.replace(r"-$", "").str.replace(r"^\((.*)\)$", "$1").alias("_u"))
    u = pl.col("_u")
    fits = pl.col("_sign_ok") & u.str.contains(f"^{_number(fmt.decimal_mark)}$")
    if fmt.three_decimals:  # the file writes thousandths somewhere: one mark + 3 digits is no proof
        fits = fits & ~u.str.contains(r"^[0-9]{1,3}[.,][0-9]{3}$")
    df = df.with_columns(fits.alias("_fits"),
                         u.str.replace_all(r"[^0-9,]" if dec == "," else r"[^0-9.]", "")
                         .str.split_exact(dec, 1).alias("_parts"))
    df = df.with_columns(pl.col("_parts").struct.field("field_0").alias("_int"),
                         pl.col("_parts").struct.field("field_1").alias("_frac"))
    df = df.with_columns((pl.col("_fits") & (pl.col("_int").str.len_chars() > 15)).fill_null(False)
                         .alias("_too_long"))
    cents = (pl.col("_int").str.slice(-15).cast(pl.Int64, strict=False) * 100
             + pl.col("_frac").fill_null("").str.pad_end(2, "0").cast(pl.Int64, strict=False))
    return df.with_columns(
        pl.when(pl.col("_fits") & ~pl.col("_too_long")).then(
            pl.when(pl.col("_neg")).then(-cents).otherwise(cents)).alias("_cents"),
        pl.when(pl.col("_fits")).then(pl.col("_int").str.strip_chars_start("0")).alias("_int_digits"),
        (pl.col("_fits") & pl.col("_frac").is_not_null()).fill_null(False).alias("_has_fraction"),
    ).drop("_c", "_sign_ok", "_neg", "_u", "_fits", "_parts", "_int", "_frac")


def other_script_digits(text: str) -> bool:
    return any(unicodedata.category(ch) == "Nd" and not ("0" <= ch <= "9") for ch in text)


def refusal(text: str, fmt: NumberFormat) -> str:
    """Why a non-empty cell is not an amount of this file, in French."""
    if other_script_digits(text):
        return f"montant « {text} » écrit avec des chiffres d'une autre écriture : refusé"
    if fmt.three_decimals and re.fullmatch(r"[+-]?\(?[0-9]{1,3}[.,][0-9]{3}\)?-?", text.strip()):
        return (f"montant « {text} » ambigu : milliers ou trois décimales ? Rien dans le fichier ne le dit "
                f"(aucun montant à centimes, ou d'autres à trois décimales) : refusé")
    other = NumberFormat("." if fmt.decimal_mark == "," else ",", fmt.has_decimals)
    cleaned = re.sub(f"[{MINUS_SIGNS}]", "-", re.sub(_PAREN_CURRENCY, r"(\1)", re.sub(_CURRENCY, "", text.strip())))
    if re.fullmatch(amount_pattern(other.decimal_mark), cleaned):
        return (f"montant « {text} » au format {other.label}, alors que le fichier écrit ses montants "
                f"au format {fmt.label} : ambigu, refusé")
    return f"montant illisible « {text} » (format des montants du fichier : {fmt.label})"
