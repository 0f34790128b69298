"""The purchase reader's and the file re-read's shortcuts give what the general path gives, on
hostile inputs: a date test that rejects text without a digit before trying each format, a share
tried once per distinct value."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from achats.sources import purchases as P


def _date_value_every_format(text: str) -> bool:
    """The date test as it was: every format tried on every cell."""
    if re.fullmatch(r"\s*[0-9]+(?:\.0+)?\s*", text):
        return False
    try:
        return P.parse_date(text) is not None
    except ValueError:
        return False


# dates and near-dates: digits of other scripts (Arabic-Indic, full width, superscript,
# mathematical), month words, separators, time parts
_PIECES = st.sampled_from(["1", "15", "03", "2024", "24", "45292", ".0", "/", "-", ".", " ", "T", ":", "12:30",
                           "er", "mars", "févr.", "Feb", "sept", "Mardi", "lundi,", "juil", "٣", "１５", "²⁰²⁴",
                           "𝟏𝟓", "¹", "½", "ʳ", "x", "Direction", "Service fait le", "\u00a0", "\t"])


@given(st.lists(_PIECES, max_size=7).map("".join) | st.text(max_size=12))
@example("１５/03/2024")
@example("１５ mars ２０２４")
@example("𝟏𝟓 mars 𝟐𝟎𝟐𝟒")
@example("¹⁵ mars ²⁰²⁴")
@example("Direction des Routes")
def test_date_test_without_digits_shortcut_agrees(text):
    assert P._date_value(text) == _date_value_every_format(text)


@given(st.lists(st.sampled_from(["", " ", "15/03/2024", "Direction", "2024-03-15", "mars 2024", "Mandat",
                                 "Annulation", "12 mars 2024", "x"]), max_size=40))
def test_share_once_per_distinct_value_agrees(values):
    for test in (_date_value_every_format, P._direction_value):
        present = [v for v in values if v.strip()]
        expected = sum(1 for v in present if test(v)) / len(present) if present else 0.0
        assert P._share(values, test) == expected
