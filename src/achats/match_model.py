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
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat
from operator import mul
from pathlib import Path

from rapidfuzz import fuzz

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


def _found(tok: str, others: list[str]) -> bool:
    """tok is one of others, the start of one (3 letters or more) or a typo of one (ratio >= 85,
    4 letters or more, or two neighbouring letters swapped). The cheap tests first; the same
    answer as testing each word in turn."""
    if tok in others:
        return True
    if len(tok) >= 3 and any(o.startswith(tok) for o in others):
        return True
    return len(tok) >= 4 and any(fuzz.ratio(tok, o, score_cutoff=85) or (len(o) == len(tok) and swapped_letters(tok, o))
                                 for o in others)


def idf_overlap(a: str, b: str, idf) -> float:
    """Rarity-weighted share of a's tokens that b contains (exactly, as a typo, or as a prefix)."""
    return _idf_overlap(a.split(), b.split(), idf)


def _idf_overlap(ta: list[str], tb: list[str], idf) -> float:
    if not ta or not tb:
        return 0.0
    weights = [idf(t) for t in ta]
    total = sum(weights)  # the same additions in the same order as one pass per sum
    return sum(w for t, w in zip(ta, weights, strict=True) if _found(t, tb)) / total if total else 0.0


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


def features(p: PairInput, idf) -> dict[str, float]:
    """The model's inputs for one pair, each in [0, 1] (or 0/1 indicators)."""
    sort, set_, ratio, partial, prefix, core = p.kernels
    q_tokens, c_tokens = p.q_norm.split(), p.c_norm.split()  # split once: the model sees ~10^5 pairs
    one_word = len(q_tokens) == 1
    distinct = fuzz.token_sort_ratio(distinctive(p.q_core or p.q_norm), distinctive(p.c_norm)) / 100.0
    shared = [t for t in q_tokens if t in c_tokens]
    top_idf = max((idf(t) for t in c_tokens), default=1.0) or 1.0
    legal = legal_relation(p.legal_q, p.legal_c)
    x = {
        "sort": sort, "set": set_, "ratio": ratio, "partial": partial, "prefix": prefix, "core_set": core,
        "distinct": distinct,
        # the last points of similarity say the most (a typo vs another name): hinges at 0.75
        "distinct_high": max(0.0, distinct - 0.75) * 4, "sort_high": max(0.0, max(sort, core) - 0.75) * 4,
        "exact": float(p.q_norm == p.c_norm),
        "idf_query": _idf_overlap(q_tokens, c_tokens, idf),
        "idf_cand": _idf_overlap(c_tokens, q_tokens, idf),
        "rare_shared": max((idf(t) for t in shared), default=0.0) / top_idf,
        "legal_agree": float(legal == 1),
        "legal_conflict": float(legal == -1),
        "id": float(p.is_id), "id_name": p.id_name if p.is_id else 0.0,
        # the identifier's unit with a fuzzy name: a typo in the name keeps it, another name does not
        "id_sim": max(sort, set_, core) if p.is_id else 0.0,
        "id_elsewhere": float(p.id_elsewhere and not p.is_id),
        "one_word_gap": (1.0 - ratio) if one_word else 0.0,
        "uninformative": float(is_uninformative(p.q_norm)),
        "crowded": float(p.crowded), "near": math.log1p(p.near), "gap": max(-1.0, min(1.0, p.gap)),
        "line_place_agree": float(p.line_place is True), "line_place_conflict": float(p.line_place is False),
        "buyer_place_agree": float(p.buyer_place is True), "inactive": float(p.inactive),
    }
    return x


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
