"""The model's features computed over whole columns of pairs give the same floats as the previous
per-pair computation, kept here as the reference, on hostile names."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from achats import match_model
from achats.match_model import (
    TEXT_FEATURES,
    PairInput,
    distinctive,
    features,
    is_uninformative,
    legal_relation,
    text_features,
)
from achats.names import normalize, swapped_letters


# -- the per-pair computation before the columns (commit b92e35f), the reference, with the swap of
# two neighbouring letters counted as a typo (branch recall, merged since) ------------------------
def _found(tok: str, others: list[str], swaps: bool) -> bool:
    if tok in others:
        return True
    if len(tok) >= 3 and any(o.startswith(tok) for o in others):
        return True
    return len(tok) >= 4 and any(fuzz.ratio(tok, o, score_cutoff=85)
                                 or (swaps and len(o) == len(tok) and swapped_letters(tok, o)) for o in others)


def _idf_overlap(ta: list[str], tb: list[str], idf, swaps: bool) -> float:
    """`swaps`: the typed name has two words or more (a swap in a single word is no typo)."""
    if not ta or not tb:
        return 0.0
    weights = [idf(t) for t in ta]
    total = sum(weights)
    return sum(w for t, w in zip(ta, weights, strict=True) if _found(t, tb, swaps)) / total if total else 0.0


def reference_features(p: PairInput, idf) -> dict[str, float]:
    sort, set_, ratio, partial, prefix, core = p.kernels
    q_tokens, c_tokens = p.q_norm.split(), p.c_norm.split()
    one_word = len(q_tokens) == 1
    distinct = fuzz.token_sort_ratio(distinctive(p.q_core or p.q_norm), distinctive(p.c_norm)) / 100.0
    shared = [t for t in q_tokens if t in c_tokens]
    top_idf = max((idf(t) for t in c_tokens), default=1.0) or 1.0
    legal = legal_relation(p.legal_q, p.legal_c)
    return {
        "sort": sort, "set": set_, "ratio": ratio, "partial": partial, "prefix": prefix, "core_set": core,
        "distinct": distinct,
        "distinct_high": max(0.0, distinct - 0.75) * 4, "sort_high": max(0.0, max(sort, core) - 0.75) * 4,
        "exact": float(p.q_norm == p.c_norm),
        "idf_query": _idf_overlap(q_tokens, c_tokens, idf, len(q_tokens) >= 2),
        "idf_cand": _idf_overlap(c_tokens, q_tokens, idf, len(q_tokens) >= 2),
        "rare_shared": max((idf(t) for t in shared), default=0.0) / top_idf,
        "legal_agree": float(legal == 1),
        "legal_conflict": float(legal == -1),
        "id": float(p.is_id), "id_name": p.id_name if p.is_id else 0.0,
        "id_sim": max(sort, set_, core) if p.is_id else 0.0,
        "id_elsewhere": float(p.id_elsewhere and not p.is_id),
        "one_word_gap": (1.0 - ratio) if one_word else 0.0,
        "uninformative": float(is_uninformative(p.q_norm)),
        "crowded": float(p.crowded), "near": math.log1p(p.near), "gap": max(-1.0, min(1.0, p.gap)),
        "line_place_agree": float(p.line_place is True), "line_place_conflict": float(p.line_place is False),
        "buyer_place_agree": float(p.buyer_place is True), "inactive": float(p.inactive),
    }


# -- hostile names ----------------------------------------------------------------------------------
HOSTILE = [
    "JUMFIL", "JUMIFL BOIS", "TALVOR", "TAVLOR", "CORAIL", "CORIAL", "", " ", "SA", "SARL SAS EURL", "SOCIETE", "ASSOCIATION", "12345", "0 0 0", "31000 31000 31",
    "École des Métiers d'Art", "ÉCOLE DES METIERS D ART", "ŒUVRE ÇA ß", "ECOLE METIERS ART",
    "A", "AB", "ABC", "ABCD", "ABCE", "ZABC", "ABC ZABC", "ABCDEFG", "ABCDEGF", "ABC ABC ABC", "BOULANG",
    "BOULANGERIE",
    "BOULANGERIE PATISSERIE DU CAPITOLE", "BOULANGERIE DU CAPITOLE", "CAPITOL", "PATISERIE",
    "JARDINS COCAGNE TOULOUSAINS", "JARDINS DE COCAGNE", "COCAG", "X AGENCE TOULOUSE", "X",
    " ".join(["MOT"] * 60), " ".join(f"T{k}" for k in range(120)), "LONG" * 200,
    "DUPONT\tMARTIN", "DUPONT  MARTIN", "DUPONT\u00a0MARTIN", "DUPONT MARTIN",
]


def _idf(df: dict[str, int], n_names: int = 1000):
    return lambda t: math.log(1 + n_names / max(1, df.get(t, 1)))


def _pairs(strings: list[str], seed: int, n: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    out = [(a, b, "") for a in strings for b in strings[:12]]
    for _ in range(n):
        a, b = rng.choice(strings), rng.choice(strings)
        out.append((a, b, rng.choice(["", a, a.split(" ")[0], normalize(a)])))
    return out


@pytest.mark.parametrize(("normalised", "threads"), [(False, False), (True, False), (True, True)])
def test_text_features_are_the_per_pair_floats_on_hostile_names(normalised, threads, monkeypatch):
    if threads:  # rapidfuzz on all cores, as for a real block of pairs
        monkeypatch.setattr(match_model, "_PARALLEL_MIN", 0)
    strings = [normalize(s) for s in HOSTILE] if normalised else HOSTILE
    pairs = _pairs(strings, 3, 1500)
    df = {t: (len(t) * 7) % 11 for s in strings for t in s.split()}  # some rare, some common, some 0
    idf = _idf(df)
    got = text_features([a for a, _, _ in pairs], [b for _, b, _ in pairs], [c for _, _, c in pairs], idf)
    assert got.shape == (len(pairs), len(TEXT_FEATURES))
    for (a, b, core), row in zip(pairs, got.tolist(), strict=True):
        ref = reference_features(PairInput(a, b, core, (0.5,) * 6), idf)
        assert dict(zip(TEXT_FEATURES, row, strict=True)) == {k: ref[k] for k in TEXT_FEATURES}, (a, b, core)


def test_every_feature_of_a_pair_is_the_per_pair_value():
    rng = random.Random(5)
    idf = _idf({"BOULANGERIE": 40, "DU": 300, "CAPITOLE": 2})
    for _ in range(300):
        a, b = normalize(rng.choice(HOSTILE)), normalize(rng.choice(HOSTILE))
        p = PairInput(a, b, rng.choice(["", a]), tuple(rng.random() for _ in range(6)),  # type: ignore[arg-type]
                      legal_q=rng.choice([set(), {"association"}]), legal_c=rng.choice([set(), {"societe"}]),
                      is_id=rng.random() < 0.3, id_name=rng.random(), id_elsewhere=rng.random() < 0.3,
                      crowded=rng.random() < 0.2, near=rng.randrange(5), gap=rng.uniform(-2, 2),
                      line_place=rng.choice([None, True, False]), buyer_place=rng.choice([None, True]),
                      inactive=rng.random() < 0.2)
        assert features(p, idf) == reference_features(p, idf)
        column = text_features([a], [b], [p.q_core], idf)[0].tolist()
        assert features(p, idf, column) == reference_features(p, idf)


# names of a few letters, so that words start, repeat, swap or nearly spell one another
_WORD = st.text(alphabet="ABCDEO1", min_size=1, max_size=7)
_NAME = st.one_of(st.lists(_WORD, max_size=5).map(" ".join), st.sampled_from(HOSTILE), st.text(max_size=20))


def _text_features_in(in_polars: bool, pairs: list[tuple[str, str, str]], idf):
    """text_features with every batch taken as large (polars) or as small (Python loops)."""
    saved = match_model._POLARS_MIN
    match_model._POLARS_MIN = 0 if in_polars else len(pairs) + 1
    try:
        return text_features([a for a, _, _ in pairs], [b for _, b, _ in pairs], [c for _, _, c in pairs], idf)
    finally:
        match_model._POLARS_MIN = saved


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_NAME, _NAME, st.one_of(st.just(""), _NAME)), min_size=1, max_size=30))
def test_small_batches_in_python_give_the_polars_floats(pairs):
    """candidates() asks for a few pairs per typed name, computed without polars: the same floats
    as the column passes of a large batch, on hostile names (tabs, accents, empty, repeated words)."""
    idf = _idf({t: (len(t) * 7) % 11 for pair in pairs for s in pair for t in s.split()})
    np.testing.assert_array_equal(_text_features_in(False, pairs, idf), _text_features_in(True, pairs, idf))


def test_text_features_of_no_pair():
    assert text_features([], [], [], _idf({})).shape == (0, len(TEXT_FEATURES))


def test_a_name_without_any_candidate_is_unmatched():
    """No unit shares a word with the typed name: no candidate, hence no near or gap to compute."""
    from achats.config import Thresholds
    from achats.resolution import RefName, ResolverIndex, SirenInfo, Status

    index = ResolverIndex([RefName("732829320", None, "BOULANGERIE DU CAPITOLE", "denomination")],
                          {"732829320": SirenInfo({"31"}, True, "BOULANGERIE DU CAPITOLE", "5710")}, {})
    res = index.resolve("QWERTZ XYLOPHONE", None, None, "31", Thresholds())
    assert res.status == Status.UNMATCHED and res.candidates == [] and res.p_none == 1.0
