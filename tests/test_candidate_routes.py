"""Candidate routes for names typed otherwise than the register spells them: each finds its unit
(in memory and in DuckDB's blocking alike), and none turns an absent near-homonym into a match.

Every name here is invented for the test (no name of the benchmarks or of the sample)."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from achats.blocking import build_blocked_index
from achats.config import Thresholds
from achats.match_model import TEXT_FEATURES, text_features
from achats.resolution import RefName, ResolverIndex, SirenInfo, with_closest_whole_name
from tests.conftest import luhn_complete

THR = Thresholds()


def _siren(n: int) -> str:
    return luhn_complete(f"{n:08d}")


# (name, siren number); the trade word PLOMBERIE is shared by more names than a block holds
FILLERS = [f"PLOMBERIE {w} {k}" for k in range(1100) for w in ("NORD", "SUD")]
UNITS = [
    ("TALVOR", 1), ("TAILOR CONSEIL", 2), ("TALVIN SERVICES", 3),
    ("TERKAVO", 4), ("TEKAVOS", 5), ("TEKRAOL", 6), ("TEKRVOA", 7),
    *(("CLAUDINE FERRAND", 20 + k) for k in range(10)),
    ("PEINTURE CLAUDINE FERRAND", 40),
    ("PLASTIFORM", 41), ("ELECTRO SOLAIRE", 42), ("GTP BOISTECH", 43),
    ("MRAVELO", 44),
    *((name, 100 + k) for k, name in enumerate(FILLERS)),
    ("MARVELO PLOMBERIE", 99_999),  # last: beyond the block of the common word, and of DuckDB's top names
]


def _candidates(r) -> set[str]:
    return {c.siren for c in r.candidates}


@pytest.fixture(scope="module")
def memory_index() -> ResolverIndex:
    names = [RefName(_siren(n), None, name, "denomination") for name, n in UNITS]
    info = {_siren(n): SirenInfo({"31"}, True, name, "5710") for name, n in UNITS}
    return ResolverIndex(names, info, {})


@pytest.fixture(scope="module")
def duckdb_index_for():
    """build_blocked_index over the same units staged in DuckDB (the route at SIRENE's size)."""
    con = duckdb.connect()
    units = pl.DataFrame({"siren": [_siren(n) for _, n in UNITS], "legal_name": [name for name, _ in UNITS]})
    con.register("_u", units.to_arrow())
    con.execute("""
        CREATE TABLE stg_unite_legale AS SELECT siren, legal_name, NULL::VARCHAR AS usual_name_1,
            NULL::VARCHAR AS usual_name_2, NULL::VARCHAR AS usual_name_3, NULL::VARCHAR AS sigle,
            false AS is_non_diffusible, true AS is_active, '5710' AS categorie_juridique FROM _u""")
    con.execute("""
        CREATE TABLE stg_etablissement AS SELECT siren, siren || '00013' AS siret, NULL::VARCHAR AS enseigne_1,
            NULL::VARCHAR AS enseigne_2, NULL::VARCHAR AS enseigne_3, NULL::VARCHAR AS usual_name,
            false AS is_non_diffusible, '31' AS departement_code, true AS is_siege, true AS is_active FROM _u""")

    def build(names: list[str]) -> ResolverIndex:
        index = build_blocked_index(con, [(n, None) for n in names])
        index.prime(names)
        return index

    yield build
    con.close()


ROUTES = [
    # (typed, true unit): two neighbouring letters swapped in a short word
    ("TAVLOR SARL", 1),
    # a typo whose three closest spellings by letters are all two keystrokes away
    ("TEKRAVO", 4),
    # a typo of the whole name, crowded out by ten units named as a part of it
    ("PIENTURE CLAUDINE FERRAND", 40),
    # a name typed in two words, one word typed glued, single letters typed apart
    ("PLASTI FORM", 41), ("ELECTROSOLAIRE", 42), ("G T P", 43),
    # a slip of the fingers that gives another real word (MRAVELO), with a common word
    ("MRAVELO PLOMBERIE", 99_999),
]


@pytest.mark.parametrize(("typed", "unit"), ROUTES)
def test_a_name_typed_otherwise_finds_its_unit_in_memory(memory_index, typed, unit):
    r = memory_index.resolve(typed, None, None, None, THR)
    assert _siren(unit) in _candidates(r)


@pytest.mark.parametrize(("typed", "unit"), ROUTES)
def test_a_name_typed_otherwise_finds_its_unit_in_duckdb(duckdb_index_for, typed, unit):
    index = duckdb_index_for([typed])
    r = index.resolve(typed, None, None, None, THR)
    assert _siren(unit) in _candidates(r)


@pytest.mark.parametrize("typed", ["TAVLOR SARL", "PLASTI FORM", "ELECTROSOLAIRE", "MRAVELO PLOMBERIE"])
def test_a_name_typed_otherwise_is_judged_its_unit(memory_index, typed):
    """The match model, not the route, decides: the right unit comes first."""
    r = memory_index.resolve(typed, None, None, None, THR)
    assert r.candidates[0].siren == _siren(dict(ROUTES)[typed])


def idf_overlap(a: str, b: str, idf) -> float:
    """The model's `idf_query` feature of one pair: the rarity-weighted share of a's words b has."""
    return float(text_features([a], [b], [a], idf)[0, TEXT_FEATURES.index("idf_query")])


def test_swapped_letters_are_one_typo_a_changed_letter_in_a_short_word_is_not():
    """The model's word test: a swap of neighbouring letters is the commonest slip of the
    fingers (a ratio on letters counts it as two edits); a letter changed in a short word makes
    another name (TALVAR is not TALVOR). A single typed word with a swap is as often another
    name (« CORIAL » is not « CORAIL », fourth review MX1): the swap counts only in a typed name
    of two words or more."""
    same = lambda _t: 1.0  # noqa: E731
    assert idf_overlap("TAVLOR", "TALVOR", same) == 0.0
    assert idf_overlap("CORIAL", "CORAIL", same) == 0.0
    assert idf_overlap("BOIS TAVLOR", "TALVOR BOIS", same) == 1.0
    assert idf_overlap("TALVAR", "TALVOR", same) == 0.0
    assert idf_overlap("TVALOR", "TALVOR", same) == 0.0  # two swaps
    assert idf_overlap("TOLVAR", "TALVOR", same) == 0.0  # letters far apart exchanged


def test_absent_near_homonyms_are_not_accepted(memory_index, duckdb_index_for):
    """The new routes bring more candidates; a name absent from the register but one or two letters
    from a unit's (a changed letter, another word glued or split) is still not matched unseen."""
    absent = ["TALVAR", "TAVLOR", "TELVOR SARL", "MORVELA PLOMBERIE", "PLASTO FORM", "ELECTROSOLAR",
              "G T B"]
    index = duckdb_index_for(absent)
    for typed in absent:
        for r in (memory_index.resolve(typed, None, None, None, THR), index.resolve(typed, None, None, None, THR)):
            assert r.status != "matched", (typed, r.reason)


def test_the_closest_whole_name_adds_a_unit_never_a_second_pair_of_a_kept_one():
    """The extra pair is the closest whole name's, unless its unit is already kept: that unit keeps
    the pair the kernels ranked best (its features must not change)."""
    qid = np.array([0, 0, 0, 1, 1])
    unit = np.array([0, 0, 1, 2, 3])
    ker = np.zeros((5, 6))
    ker[:, 0] = [0.5, 0.9, 0.2, 0.3, 0.95]  # token sort ratio: entry 1 (unit 0), entry 4 (unit 3)
    rows = np.array([0, 3])  # kept: unit 0 by entry 0, unit 2
    assert with_closest_whole_name(qid, unit, ker, rows).tolist() == [0, 3, 4]
