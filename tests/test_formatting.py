"""French number formats: one amount reads the same in the CLI, the report and the dashboard,
whose filters recompute the cards in JavaScript (Number.prototype.toFixed)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from achats.formatting import eur, number_fr, pct


def _to_fixed(x: float, decimals: int) -> str:
    """JavaScript's toFixed on a double: its exact binary value, a half away from zero; then the
    page's French form (narrow no-break space, decimal comma, no « -0 »)."""
    from decimal import ROUND_HALF_UP

    shown = Decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    body = f"{abs(shown):,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return ("-" if shown < 0 else "") + body


def test_a_half_rounds_away_from_zero_as_on_the_page():
    assert eur(Decimal("89956.50")) == "89\u202f957\u202f€"  # Python's format gave 89 956 €
    assert eur(89956.5) == eur(Decimal("89956.50"))
    assert eur(Decimal("-2.50")) == "-3\u202f€"
    assert eur(-0.4) == "0\u202f€"
    assert pct(0.30449) == "30,4\u202f%"


@given(st.integers(-10**12, 10**12), st.sampled_from([0, 1, 2]))
def test_cents_read_as_the_dashboard_reads_them(cents, decimals):
    """Whole euros: the amount (DECIMAL) and its double read alike (a half-euro is exact in
    binary); any precision: a double reads as toFixed reads it."""
    amount = Decimal(cents) / 100
    assert number_fr(float(amount), decimals) == _to_fixed(float(amount), decimals)
    if decimals == 0:
        assert number_fr(amount, 0) == number_fr(float(amount), 0)
