"""French number and date formats for everything shown to civil servants."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u202f"  # narrow no-break space, the French thousands separator
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]


def number_fr(x: float | int | None, decimals: int = 0, sep: str = NBSP) -> str:
    """A half rounds away from zero, as Excel and the dashboard's JavaScript (toFixed) show it: the
    same amount reads the same on the page, in the report and in the CLI (Python's format rounds
    half to even: 89 956,50 € read 89 956 € here and 89 957 € on the page)."""
    if x is None:
        return "–"
    exact = x if isinstance(x, Decimal) else Decimal(x)  # a float's exact binary value, as toFixed reads it
    shown = exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{abs(shown) if shown == 0 else shown:,.{decimals}f}"  # no « -0 »
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", sep)


def eur(x: float | None, sep: str = NBSP) -> str:
    return "–" if x is None else f"{number_fr(x, 0, sep)}{sep}€"


def pct(x: float | None, sep: str = NBSP) -> str:
    return "–" if x is None else f"{number_fr(100 * x, 1, sep)}{sep}%"


def date_fr(d: dt.date | None) -> str:
    return "–" if d is None else f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def quarter_fr(q: str | None) -> str:
    """'2025-Q1' -> '1er trim. 2025'."""
    if not q or "-Q" not in q:
        return q or "–"
    year, n = q.split("-Q")
    return f"{'1er' if n == '1' else n + 'e'} trim. {year}"
