"""The match probability: features of a (typed supplier, reference unit) pair and the model that
turns them into a calibrated probability.

The model is a conditional logit with a "none of them" option: each candidate unit i of a typed
name gets a score s_i = w·x_i + b, and P(i) = exp(s_i) / (1 + Σ_j exp(s_j)); the rest is the
probability that the supplier is none of the candidates. Two homonyms share the mass between them,
so neither is ever certain. Weights of the features the labelled benchmark can teach (names,
identifiers, legal forms) are fitted by `bench/fit_match_model.py` on a split of it and shipped in
`data/reference/match_model.json`; the features it cannot teach (place, activity) carry fixed
Fellegi–Sunter weights log(m/u) written in the same file. Nothing is fitted at run time.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from operator import mul
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from achats.names import GENERIC, LEGAL_FORMS, STOP_WORDS, fold, raw_tokens, swapped_letters
from achats.paths import reference_dir

# Fitted features, in the order of the weight vector.
FEATURES: tuple[str, ...] = (
    "sort", "set", "ratio", "partial", "prefix", "core_set", "distinct", "distinct_high", "sort_high", "exact",
    "idf_query", "idf_cand", "rare_shared",
    "legal_agree", "legal_conflict",
    "id", "id_name", "id_sim", "id_elsewhere",
    "one_word_gap", "uninformative", "crowded", "near", "gap",
)
# Fixed Fellegi–Sunter features (no labelled data teaches them): weight = log(m / u).
PRIOR_FEATURES: tuple[str, ...] = ("line_place_agree", "line_place_conflict", "buyer_place_agree", "inactive")

# Words that say where or in which role a supplier worked, not who it is ("X AGENCE TOULOUSE",
# "X (cotraitant)", "X / MANDATAIRE"): removed for the `core_set` similarity.
ROLE_WORDS = frozenset({
    "AGENCE", "AGENCES", "SUCCURSALE", "DIRECTION", "REGIONALE", "COTRAITANT", "CO", "TRAITANT",
    "MANDATAIRE", "SOUS", "TITULAIRE", "GROUPEMENT", "SIEGE", "SITE", "DELEGATION", "ANTENNE",
})
# Legal-form words typed in a name -> family; and the family of an INSEE catégorie juridique.
FORM_FAMILY = {
    "ASSOCIATION": "association", "FONDATION": "fondation", "MUTUELLE": "mutuelle",
    "SCOP": "cooperative", "SCIC": "cooperative", "COOPERATIVE": "cooperative", "CUMA": "cooperative",
    "SAS": "societe", "SASU": "societe", "SARL": "societe", "EURL": "societe", "SA": "societe",
    "SNC": "societe", "SELARL": "societe", "SELAS": "societe", "SOCIETE": "societe", "ANONYME": "societe",
    "GIE": "groupement", "GIP": "groupement", "SCI": "civile", "SCM": "civile", "SCP": "civile",
    "SEM": "societe", "SPL": "societe",  # sociétés anonymes (5515, 5615…) held by public bodies
    "COMMUNE": "publique", "DEPARTEMENT": "publique",
}


@lru_cache(maxsize=1)
def _cooperative_categories() -> frozenset[str]:
    """Catégories juridiques of coopératives (SCOP 5458/5558, SCIC 5460/5560, CUMA 6316…), as the
    reference table classifies them."""
    with (reference_dir() / "categories_juridiques_ess.csv").open(encoding="utf-8") as f:
        return frozenset(r["categorie_juridique"] for r in csv.DictReader(f) if r["ess_family"] == "cooperative")


@lru_cache(maxsize=4096)  # a few hundred categories, asked once per candidate
def category_family(categorie_juridique: str | None) -> str | None:
    """The family of an INSEE catégorie juridique (4 digits), None when it says nothing useful."""
    cj = (categorie_juridique or "").strip()
    if len(cj) < 2:
        return None
    if cj in _cooperative_categories():
        return "cooperative"
    if cj.startswith("92"):
        return "association"
    if cj.startswith("93"):
        return "fondation"
    if cj[:2] in ("82", "83"):
        return "mutuelle"
    if cj[:2] == "63" or cj.startswith("6532"):
        return "cooperative"
    if cj[:2] == "57":
        return "societe"  # SAS: INSEE has no code for a SAS coopérative (SCOP or SCIC SAS are 5710)
    if cj[:2] in ("51", "52", "53", "54", "55", "56", "58"):
        return "societe_non_cooperative"  # SARL, SA…: their coopératives have codes of their own
    if cj[:2] == "62":
        return "groupement"
    if cj[:2] == "65":
        return "civile"
    if cj[0] in ("4", "7"):
        return "publique"
    return None


# Families that a typed form may state for a unit of another family without contradiction: a SCOP
# SARL is a SARL; "SCOP" typed for a SAS says nothing (a SCOP or SCIC SAS is registered 5710), while
# "SCOP" typed for a plain SARL or SA (5499, 5599) contradicts it.
COMPATIBLE = {("societe", "cooperative"), ("societe", "societe_non_cooperative"), ("groupement", "publique"),
              ("publique", "groupement")}
UNDECIDED = {("cooperative", "societe")}


def legal_relation(typed: set[str], registered: set[str]) -> int:
    """+1 when a typed legal form agrees with the unit's, -1 when it contradicts it, 0 when unknown."""
    if not typed or not registered:
        return 0
    if "cooperative" in typed:  # "SCOP SARL X", "SOCIETE COOPERATIVE X": the narrower claim is the one to check
        typed = typed - {"societe"}
    pairs = {(a, b) for a in typed for b in registered}
    if typed & registered or pairs & COMPATIBLE:
        return 1
    return 0 if pairs & UNDECIDED else -1


def name_families(name: str | None) -> set[str]:
    """Legal-form families a name states ("ASSOC. X" -> association, "X SARL" -> societe)."""
    return {FORM_FAMILY[t] for t in raw_tokens(name or "") if t in FORM_FAMILY}


@lru_cache(maxsize=200_000)
def core_tokens(raw_name: str, norm: str, places: frozenset[str] = frozenset()) -> str:
    """The normalised name without what was added to say where or in which role: text after a
    slash, in parentheses or after " - ", role words, and places of the candidate unit."""
    text = fold(raw_name or "")
    for sep in ("/", "(", " - "):
        head = text.split(sep, 1)[0]
        if head.strip():
            text = head
    head_tokens = set(raw_tokens(text))
    kept = [t for t in norm.split() if t in head_tokens and t not in ROLE_WORDS and t not in places]
    return " ".join(kept) or norm


@dataclass
class PairInput:
    """What the features read for one (typed name, candidate unit) pair."""

    q_norm: str
    c_norm: str
    q_core: str
    kernels: tuple[float, float, float, float, float, float]  # sort, set, ratio, partial, prefix, core_set
    legal_q: set[str] = field(default_factory=set)
    legal_c: set[str] = field(default_factory=set)
    is_id: bool = False
    id_name: float = 0.0
    id_elsewhere: bool = False
    crowded: bool = False
    near: int = 0
    gap: float = 1.0  # name similarity minus the best other candidate's (1: no other candidate)
    line_place: bool | None = None  # None: unknown
    buyer_place: bool | None = None
    inactive: bool = False


@lru_cache(maxsize=200_000)
def is_uninformative(normalized: str) -> bool:
    """A name made only of legal forms, filler or generic words identifies no one ("SA", "SOCIETE")."""
    return all(t in LEGAL_FORMS or t in STOP_WORDS or t in GENERIC or len(t) <= 1 for t in normalized.split())


@lru_cache(maxsize=500_000)
def distinctive(normalized: str) -> str:
    """The name without generic words (ASSOCIATION, CENTRE, GROUPE…) nor role words: "ASSOC X" and
    "ASSOCIATION Y" must not look alike because both say ASSOCIATION."""
    kept = [t for t in normalized.split() if t not in GENERIC and t not in ROLE_WORDS]
    return " ".join(kept) or normalized


# Features that read only the two names (and the typed name without places and roles): computed
# over whole columns of pairs by `text_features`, the rest per candidate by `features`.
TEXT_FEATURES: tuple[str, ...] = ("distinct", "exact", "idf_query", "idf_cand", "rare_shared")
_PARALLEL_MIN = 20_000  # pairs from which rapidfuzz's threads pay for themselves
_POLARS_MIN = 2_000  # pairs from which polars' column passes beat Python's loops over a few words


_PLAIN = r"^(?:[A-Z0-9]+(?: [A-Z0-9]+)*)?$"  # what normalize() writes: words of A-Z 0-9, one space apart


def _tokenised(q_norm: Sequence[str], c_norm: Sequence[str], in_polars: bool
               ) -> tuple[list[str], np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray],
                          tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The words of both columns (str.split, as the per-pair features) and, for each column, its
    strings' word ids flat with each word's row and position; in polars (`in_polars`, a large
    batch) when every string is a normalised name (one space between plain words: the same words
    as str.split), else in Python."""
    both = [*q_norm, *c_norm]
    series = pl.Series("s", both, dtype=pl.String) if in_polars else None
    if series is not None and series.str.contains(_PLAIN).all():
        toks = series.str.split(" ")
        lens = toks.list.len().to_numpy().astype(np.int64) - (series == "").to_numpy()  # "".split() is []
        flat = toks.explode()
        flat = flat.filter(flat != "")
        words_s = flat.unique()
        ids = flat.replace_strict(words_s, np.arange(len(words_s), dtype=np.int64), return_dtype=pl.Int64).to_numpy()
        words, length = words_s.to_list(), words_s.str.len_chars().to_numpy().astype(np.int64)
    else:
        vocab: dict[str, int] = {}
        splits = [s.split() for s in both]
        lens = np.fromiter(map(len, splits), dtype=np.int64, count=len(splits))
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for ts in splits for t in ts), dtype=np.int64,
                          count=int(lens.sum()))
        words = list(vocab)
        length = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    row = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
    pos = np.arange(len(ids), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    n, cut = len(q_norm), int(lens[:len(q_norm)].sum())
    return (words, length, (ids[:cut], row[:cut], pos[:cut]),
            (ids[cut:], row[cut:] - n, pos[cut:]))


def _ordered_sums(n: int, row: np.ndarray, pos: np.ndarray, *values: np.ndarray) -> list[np.ndarray]:
    """Per row, each of `values` added one position after the other: the same additions in the
    same order as Python's sum over a name's tokens, so the same floats."""
    acc = [np.zeros(n, dtype=np.float64) for _ in values]
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(int(pos.max(initial=-1)) + 2))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        sel = order[lo:hi]  # at most one token per row at one position
        at = row[sel]
        for total, v in zip(acc, values, strict=True):
            total[at] += v[sel]
    return acc


def text_features(q_norm: Sequence[str], c_norm: Sequence[str], q_core: Sequence[str],
                  idf: Callable[[str], float]) -> np.ndarray:
    """TEXT_FEATURES of the pairs (q_norm[k], c_norm[k]) as columns, computed over all pairs at once
    (token cross products in numpy, prefix tests in polars, typo ratios in one rapidfuzz call)
    instead of pair by pair in Python: the model sees ~10^5 pairs per run. The same floats as the
    per-pair definitions (tests/test_match_features.py)."""
    n = len(q_norm)
    out = np.zeros((n, len(TEXT_FEATURES)), dtype=np.float64)
    if n == 0:
        return out
    workers = -1 if n >= _PARALLEL_MIN else 1
    dq = [distinctive(core or q) for q, core in zip(q_norm, q_core, strict=True)]
    dc = [distinctive(c) for c in c_norm]
    out[:, 0] = process.cpdist(dq, dc, scorer=fuzz.token_sort_ratio, dtype=np.float64, workers=workers) / 100.0
    out[:, 1] = np.fromiter(map(str.__eq__, q_norm, c_norm), dtype=np.float64, count=n)
    in_polars = n >= _POLARS_MIN  # candidates() asks for a handful of pairs per typed name, prime() for all
    words, length, (qt, qrow, qpos), (ct, crow, cpos) = _tokenised(q_norm, c_norm, in_polars)
    if not len(words):  # no word on either side (names of legal forms only): nothing is shared
        return out
    weight = np.fromiter(map(idf, words), dtype=np.float64, count=len(words))
    # every (typed token, candidate token) of each pair, grouped by typed token
    qlen, clen = np.bincount(qrow, minlength=n), np.bincount(crow, minlength=n)
    cstart = np.cumsum(clen) - clen
    per_q = clen[qrow]
    xq = np.repeat(np.arange(len(qt), dtype=np.int64), per_q)  # the typed token's flat index
    xc = cstart[qrow][xq] + np.arange(len(xq), dtype=np.int64) - np.repeat(np.cumsum(per_q) - per_q, per_q)
    a, b = qt[xq], ct[xc]  # token ids
    equal = a == b
    # each distinct (typed word, candidate word) is tested once: a word starts the other (3 letters
    # or more) or is a typo of it (ratio >= 85, 4 letters or more), in each direction
    key, inv = np.unique(a * len(words) + b, return_inverse=True)
    ua, ub = key // len(words), key % len(words)
    if in_polars:
        ws = pl.Series(words, dtype=pl.String)
        strings = pl.DataFrame({"a": ws[ua], "b": ws[ub]})
        prefixes = strings.select(ab=pl.col("b").str.starts_with(pl.col("a")),
                                  ba=pl.col("a").str.starts_with(pl.col("b")))
        starts_ab, starts_ba = prefixes["ab"].to_numpy(), prefixes["ba"].to_numpy()
        sa, sb = strings["a"].to_list(), strings["b"].to_list()
    else:
        sa, sb = [words[k] for k in ua.tolist()], [words[k] for k in ub.tolist()]
        starts_ab = np.fromiter(map(str.startswith, sb, sa), dtype=bool, count=len(sa))
        starts_ba = np.fromiter(map(str.startswith, sa, sb), dtype=bool, count=len(sa))
    found = []
    # a swap of two neighbouring letters is a typo only in a typed name of two words or more: a
    # single word with two letters swapped is as often another name (« CORIAL » is not « CORAIL »)
    several = (qlen >= 2)[qrow][xq]
    for tok, starts, swap in ((ua, starts_ab, False), (ub, starts_ba, True)):
        hit = (ua == ub) | ((length[tok] >= 3) & starts)
        swapped = np.zeros(len(hit), dtype=bool)
        todo = np.flatnonzero(~hit & (length[tok] >= 4))
        if len(todo):
            s1, s2 = [sa[k] for k in todo.tolist()], [sb[k] for k in todo.tolist()]
            if swap:
                s1, s2 = s2, s1
            typo = process.cpdist(s1, s2, scorer=fuzz.ratio, score_cutoff=85, dtype=np.float64,
                                  workers=workers) > 0
            # two neighbouring letters swapped, which the ratio counts as two edits (same length, 5+)
            swaps = np.flatnonzero(~typo & (length[ua[todo]] == length[ub[todo]]) & (length[ua[todo]] >= 5))
            if len(swaps):
                swapped[todo[swaps]] = np.fromiter((swapped_letters(s1[k], s2[k]) for k in swaps.tolist()),
                                                   dtype=bool, count=len(swaps))
            hit[todo] = typo
        found.append(hit[inv.ravel()] | (swapped[inv.ravel()] & several))
    found_q, found_c = found
    hit_q = np.bincount(xq, weights=found_q, minlength=len(qt)) > 0
    hit_c = np.bincount(xc, weights=found_c, minlength=len(ct)) > 0
    wq, wc = weight[qt], weight[ct]
    both = (qlen > 0) & (clen > 0)
    for col, row, pos, w, hit in ((2, qrow, qpos, wq, hit_q), (3, crow, cpos, wc, hit_c)):
        total, found_sum = _ordered_sums(n, row, pos, w, np.where(hit, w, 0.0))
        ok = both & (total != 0)
        out[ok, col] = found_sum[ok] / total[ok]
    shared = np.bincount(xq, weights=equal, minlength=len(qt)) > 0  # typed tokens the candidate has
    rare = np.zeros(n, dtype=np.float64)
    np.maximum.at(rare, qrow[shared], wq[shared])
    top = np.full(n, -np.inf)
    np.maximum.at(top, crow, wc)
    top[(clen == 0) | (top == 0)] = 1.0
    out[:, 4] = rare / top
    return out


def features(p: PairInput, idf, text: Sequence[float] | None = None) -> dict[str, float]:
    """The model's inputs for one pair, each in [0, 1] (or 0/1 indicators); `text`: its
    TEXT_FEATURES when already computed over a whole column of pairs."""
    sort, set_, ratio, partial, prefix, core = p.kernels
    if text is None:
        text = text_features([p.q_norm], [p.c_norm], [p.q_core], idf)[0].tolist()
    distinct, exact, idf_query, idf_cand, rare_shared = text
    legal = legal_relation(p.legal_q, p.legal_c)
    x = {
        "sort": sort, "set": set_, "ratio": ratio, "partial": partial, "prefix": prefix, "core_set": core,
        "distinct": distinct,
        # the last points of similarity say the most (a typo vs another name): hinges at 0.75
        "distinct_high": max(0.0, distinct - 0.75) * 4, "sort_high": max(0.0, max(sort, core) - 0.75) * 4,
        "exact": exact,
        "idf_query": idf_query,
        "idf_cand": idf_cand,
        "rare_shared": rare_shared,
        "legal_agree": float(legal == 1),
        "legal_conflict": float(legal == -1),
        "id": float(p.is_id), "id_name": p.id_name if p.is_id else 0.0,
        # the identifier's unit with a fuzzy name: a typo in the name keeps it, another name does not
        "id_sim": max(sort, set_, core) if p.is_id else 0.0,
        "id_elsewhere": float(p.id_elsewhere and not p.is_id),
        "one_word_gap": (1.0 - ratio) if _one_word(p.q_norm) else 0.0,
        "uninformative": float(is_uninformative(p.q_norm)),
        "crowded": float(p.crowded), "near": math.log1p(p.near), "gap": max(-1.0, min(1.0, p.gap)),
        "line_place_agree": float(p.line_place is True), "line_place_conflict": float(p.line_place is False),
        "buyer_place_agree": float(p.buyer_place is True), "inactive": float(p.inactive),
    }
    return x


@lru_cache(maxsize=200_000)
def _one_word(normalized: str) -> bool:
    return len(normalized.split()) == 1


@dataclass(frozen=True)
class MatchModel:
    """Weights shipped as data; `accept_by_target` maps a target precision to the probability
    above which the held-out split reached it."""

    weights: dict[str, float]
    intercept: float
    accept_by_target: dict[float, float]
    meta: dict = field(default_factory=dict, hash=False, compare=False)
    # per decision class (review, unmatched; uninformative: a name that names no one, whatever the
    # decision), the share of « none of the candidates » that was a real unit the matcher missed, on
    # the fit split: such a supplier is ESS as often as a matched one
    missed_share: dict = field(default_factory=dict, hash=False, compare=False)
    # the share of automatic acceptances that were another unit on the fit split: the 90 % interval
    # widens by it, as a matched supplier is certain only for the point estimate
    accept_error: float = field(default=0.0, hash=False, compare=False)

    def score(self, x: dict[str, float]) -> float:
        # map over the weights in their order: the same products summed in the same order as a
        # generator, without a Python frame per feature (the model scores ~10^5 candidates per run)
        return self.intercept + sum(map(mul, self.weights.values(), map(x.get, self.weights, repeat(0.0))))

    def probabilities(self, xs: list[dict[str, float]]) -> tuple[list[float], float]:
        """P(candidate i) for each, and P(none of them)."""
        if not xs:
            return [], 1.0
        scores = [self.score(x) for x in xs]
        top = max(0.0, max(scores))
        ex = [math.exp(s - top) for s in scores]
        denom = math.exp(-top) + sum(ex)
        return [e / denom for e in ex], math.exp(-top) / denom

    def accept_threshold(self, target_precision: float) -> float:
        """The smallest probability whose acceptances reached the target on the held-out split
        (the strictest listed target at or above the one asked)."""
        stricter = sorted(t for t in self.accept_by_target if t >= target_precision - 1e-12)
        if not stricter:
            return max(self.accept_by_target.values(), default=target_precision)
        return self.accept_by_target[stricter[0]]

    def to_json(self) -> str:
        return json.dumps({"weights": self.weights, "intercept": self.intercept,
                           "accept_by_target": {f"{k:.3f}": v for k, v in sorted(self.accept_by_target.items())},
                           "missed_share_by_status": self.missed_share,
                           "accept_error_rate": self.accept_error,
                           "meta": self.meta}, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        d = json.loads(text)
        return cls({k: float(v) for k, v in d["weights"].items()}, float(d["intercept"]),
                   {float(k): float(v) for k, v in d["accept_by_target"].items()}, d.get("meta", {}),
                   {k: float(v) for k, v in d.get("missed_share_by_status", {}).items()},
                   float(d.get("accept_error_rate", 0.0)))


MODEL_FILE = "match_model.json"


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> MatchModel:
    """The shipped model (or another file, for the benchmark)."""
    return MatchModel.from_json(Path(path or reference_dir() / MODEL_FILE).read_text(encoding="utf-8"))
