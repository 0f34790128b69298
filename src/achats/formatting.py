"""French number and date formats for everything shown to civil servants."""

from __future__ import annotations

import datetime as dt

NBSP = "\u202f"  # narrow no-break space, the French thousands separator
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]


def number_fr(x: float | int | None, decimals: int = 0, sep: str = NBSP) -> str:
    if x is None:
        return "–"
    text = f"{x:,.{decimals}f}"
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
