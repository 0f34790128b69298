"""Link each supplier as typed in a payment export to a SIREN, and say why.

Candidates come from a block of reference names that share a rare token with the typed name (or
from the unit its identifier designates); rapidfuzz scores every pair of the block in C, in
batches; the match model (`achats.match_model`) turns each candidate's features into a
probability; an ordered list of small named rules turns the probabilities into a decision and a
reason. The cost grows with the block, not with the size of SIRENE.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from achats.candidate_keys import SUSPECT_DF, TYPO_POOL, fewest_keystrokes, joined_keys, split_keys
from achats.config import Thresholds
from achats.identifiers import clean_identifier, rna_number, zeros_restored
from achats.match_model import (
    FORM_FAMILY,
    ROLE_WORDS,
    MatchModel,
    PairInput,
    category_family,
    core_tokens,
    features,
    legal_relation,
    load_model,
    name_families,
    text_features,
)
from achats.match_model import is_uninformative as is_uninformative
from achats.names import (
    ABBREVIATIONS,
    GENERIC,
    LEGAL_FORMS,
    STOP_WORDS,
    acronym,
    fold,
    normalize,
    normalize_series,
    raw_tokens,
)
from achats.places import NamedPlace, trailing_place

MAX_POSTING = 5_000  # a token shared by more names than this is not a useful block
MAX_BLOCK = 2_000
FEATURE_KEEP = 8  # candidates per typed name kept by the C kernels for the full features
TOP_K = 3
KERNEL_BATCH = 200_000  # pairs per rapidfuzz call
NEAR_GAP = 0.05  # another candidate within this similarity of a candidate is "near" it
RANK_TIE = 1e-3  # weight of the whole-name ratio in the candidates' order: reorders only near-ties
ID_NAME_MIN = 0.6  # below this name agreement, the unit an identifier designates is not taken unseen


class Status(StrEnum):
    MATCHED = "matched"
    REVIEW = "review"
    UNMATCHED = "unmatched"


class Method(StrEnum):
    SIRET = "siret"
    SIREN = "siren"
    NAME_EXACT = "name_exact"
    NAME_FUZZY = "name_fuzzy"
    OVERRIDE = "override"
    UNMATCHED = "unmatched"


def typo_buckets(token: str) -> list[str]:
    """Two-letter starts under which a mistyped token's true spelling may be filed: its own, and
    the one with its 2nd and 3rd letters swapped back ("FNIASSUR" -> "FI" for FINASSUR)."""
    starts = [token[:2]]
    if len(token) >= 3 and token[0] + token[2] != token[:2]:
        starts.append(token[0] + token[2])
    return starts


def _informative(tokens: list[str]) -> list[str]:
    kept = [t for t in tokens if t not in GENERIC]
    return kept or tokens


def _found(tok: str, others: list[str]) -> bool:
    return any(tok == o or (len(tok) >= 4 and fuzz.ratio(tok, o) >= 85)
               or (len(tok) >= 3 and o.startswith(tok)) for o in others)


def token_agreement(a: str, b: str) -> float:
    """Share of one name's informative tokens found in the other (the better direction)."""
    ta, tb = a.split(), b.split()
    if not ta or not tb:
        return 0.0
    ia, ib = _informative(ta), _informative(tb)
    forward = sum(_found(t, tb) for t in ia) / len(ia)
    backward = sum(_found(t, ta) for t in ib) / len(ib)
    return max(forward, backward)


@dataclass(frozen=True)
class RefName:
    """One name SIRENE knows for a unit (legal name, sigle, usual name, sign)."""

    siren: str
    siret: str | None
    name: str
    kind: str  # denomination | sigle | usuel | enseigne
    private: bool = False  # the unit, or the establishment carrying this name, is non-diffusible
    ref_id: int | None = None  # its row in DuckDB's reference table, when blocked there


@dataclass
class RefColumns:
    """Reference names as one polars frame (DuckDB's block): no RefName object per name. Columns:
    siren, siret, name, kind, private, ref_id, as in RefName."""

    frame: pl.DataFrame

    @classmethod
    def of(cls, names: Iterable[RefName]) -> RefColumns:
        names = list(names)
        return cls(pl.DataFrame(
            {"siren": [r.siren for r in names], "siret": [r.siret for r in names], "name": [r.name for r in names],
             "kind": [r.kind for r in names], "private": [r.private for r in names],
             "ref_id": [r.ref_id for r in names]},
            schema={"siren": pl.String, "siret": pl.String, "name": pl.String, "kind": pl.String,
                    "private": pl.Boolean, "ref_id": pl.Int64}))


@dataclass
class SirenInfo:
    departements: set[str] = field(default_factory=set)
    is_active: bool = True
    label: str = ""
    categorie_juridique: str | None = None


@dataclass
class Candidate:
    siren: str
    score: float  # probability that the typed supplier is this unit
    name: str  # shown in reasons and review files: masked for non-diffusible units
    norm: str = ""  # the normalised reference name it was scored on, never shown
    features: dict[str, float] = field(default_factory=dict)
    place: tuple[str, ...] = ()  # words of a commune typed in the name, set aside for this unit
    forms: frozenset[str] = frozenset()  # form words its own name carries or its catégorie juridique states (best candidate only)


@dataclass(kw_only=True)
class Resolution:
    siren: str | None
    siret: str | None = None
    method: Method
    score: float  # probability of the chosen (or proposed) unit
    status: Status
    margin: float | None = None  # its probability minus the second candidate's
    reason: str
    id_flag: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    p_none: float = 0.0  # probability that the supplier is none of the candidates
    rule: str = ""  # the rule of RULES that decided
    without_review: bool = False  # matched without a person although the unit is uncertain (settle_by_outcome)
    doubt: str = ""  # why a person should look (review), in French
    lacks_typed_form: bool = False  # a form word typed as an adjective (« COOPERATIF ») the unit lacks: never settled


@lru_cache(maxsize=100_000)
def _typed_identifier(siret_raw: str | None) -> tuple[str | None, str | None]:
    """clean_identifier of a line's typed identifier, cached: a supplier's is read for its key, its
    resolution, its decision and the unit set aside (several times per distinct supplier)."""
    return clean_identifier(siret_raw)


def legacy_supplier_key(name: str | None, siret_raw: str | None, departement: str | None = None) -> str:
    """The key before typed legal forms counted: normalised name, identifier and place. Decisions
    stored under it still apply to the spellings their reviewer saw (see warehouse._override_for)."""
    siret, siren = _typed_identifier(siret_raw)
    ident = siret or siren or (siret_raw or "").strip()
    raw = "\x1f".join([normalize(name), ident, departement or ""])
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


# A word that names the business, not its legal form: « ETS MARTIN » may be « MARTIN SARL ».
_NOT_A_FORM = frozenset({"ETABLISSEMENTS"})


def typed_signature(name: str | None) -> str:
    """What the matcher reads in a typed name that normalize() drops: the legal-form words
    (« SARL », « SCOP », « STE »…, each once, sorted) and, when the name goes on
    after « / », « ( » or « - », its normalised head. Two spellings that differ here may point
    at different units (« LE PETIT JARDIN » an association, « LE PETIT JARDIN SARL » a SARL), so
    they must not share one review row nor one decision; "" for most names."""
    if not name:
        return ""
    forms = dict.fromkeys(t for t in raw_tokens(name) if t in LEGAL_FORMS and t not in _NOT_A_FORM)
    parts = [" ".join(sorted(forms))] if forms else []
    head = folded = fold(name)
    for sep in ("/", "(", " - "):
        if sep in head and head.split(sep, 1)[0].strip():
            head = head.split(sep, 1)[0]
    if head != folded and normalize(head) != normalize(name):
        parts.append("tete:" + normalize(head))
    return "\x1e".join(parts)


def supplier_key(name: str | None, siret_raw: str | None, departement: str | None = None) -> str:
    """Lines with the same normalised name, identifier, place and typed legal form are resolved
    and decided once; a name without legal-form word keeps its former key (legacy_supplier_key)."""
    signature = typed_signature(name)
    if not signature:
        return legacy_supplier_key(name, siret_raw, departement)
    siret, siren = _typed_identifier(siret_raw)
    ident = siret or siren or (siret_raw or "").strip()
    raw = "\x1f".join([normalize(name), ident, departement or "", signature])
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def private_label(siren: str) -> str:
    """Shown instead of the name of a non-diffusible unit (SIRENE statutDiffusion P or N): the
    SIREN is public, the name is not, in any output, free text included."""
    return f"unité non diffusible (SIREN {siren})"


def _quoted(name: str) -> str:
    """A name between French quotes; a masked label stays as it is (it is not a name)."""
    return name if name.startswith("unité non diffusible (SIREN ") else f"« {name} »"


def _fr(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def _prob(x: float) -> str:
    """A probability in French, with enough digits to tell 0,99 from 0,999."""
    return (f"{x:.3f}" if 0.99 <= x < 1 else f"{x:.2f}").replace(".", ",")


@dataclass
class IdentifierCheck:
    """What the typed identifier says: the unit it designates, how, and what is wrong with it."""

    method: Method | None = None
    siren: str | None = None
    siret: str | None = None
    how: str = ""
    flag: str | None = None


@dataclass
class Context:
    """Everything the decision rules read for one typed supplier."""

    name: str | None
    q: str
    ident: IdentifierCheck
    candidates: list[Candidate]
    p_none: float
    accept: float
    review: float
    index: ResolverIndex
    added_word_similarity: float = 0.0

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @cached_property
    def id_name(self) -> float:
        """How well the typed name agrees with the identifier's unit: read by several rules, computed once."""
        return self.index.name_similarity(self.name or "", self.ident.siren or "")

    @property
    def margin(self) -> float | None:
        if not self.candidates:
            return None
        return self.candidates[0].score - (self.candidates[1].score if len(self.candidates) > 1 else 0.0)


Rule = Callable[[Context], Resolution | None]


class ResolverIndex:
    """In-memory index over the reference names that can matter, and the matcher over it."""

    def __init__(self, names: Iterable[RefName] | RefColumns, info: dict[str, SirenInfo], sirets: dict[str, str],
                 private: set[str] | None = None, model: MatchModel | None = None,
                 token_df: dict[str, int] | None = None, n_names: int | None = None):
        self.info = info
        self.sirets = sirets  # siret -> siren
        self.rna: dict[str, str] = {}  # typed RNA number -> the SIREN of the one unit carrying it
        self.private = set(private or ())  # non-diffusible SIRENs: their names never go into text
        self.model = model or load_model()
        self._index_names(names if isinstance(names, RefColumns) else RefColumns.of(names))
        # in-memory blocking structures, built on first use (DuckDB blocks at scale)
        self.postings: dict[str, list[int]] = {}
        self.vocab: list[str] = []
        self.vocab_by_start: dict[str, list[str]] = defaultdict(list)
        self._postings_built = False
        if token_df is None:
            self._build_postings()
        # rarity of a token in the whole reference (DuckDB gives it when the index holds a block)
        self.token_df = token_df if token_df is not None else {t: len(p) for t, p in self.postings.items()}
        self.n_names = n_names or max(1, len(self.entries))
        self.comparisons = 0
        self.crowded: set[str] = set()  # typed names whose candidate block was truncated
        self.blocked: dict[str, np.ndarray] | None = None  # typed name -> sorted entries, DuckDB's blocking
        self.second_look: dict[str, float] = {}  # names DuckDB's blocking looked at twice, and its seconds
        # typed name -> its kept (entry, kernel scores, TEXT_FEATURES) from prime
        self._kernels: dict[str, list[tuple[int, tuple[float, ...], tuple[float, ...]]]] = {}
        self._units: np.ndarray | None = None
        self._norms: list[str] = []
        self.timings: dict[str, float] = defaultdict(float)  # seconds per stage, for the benchmarks
        self._idf: dict[str, float] = {}

    def _index_names(self, ref: RefColumns) -> None:
        """Entries, sigles, exact names and the lookups by SIREN and by DuckDB row, in polars over
        whole columns (the block holds hundreds of thousands of names): the first name of a
        (normalised name, SIREN) pair and every establishment's name are entries; a later
        unit-level repeat points at the last entry of its pair; sigles are kept apart."""
        df = ref.frame.select(
            pl.col("siren").cast(pl.String), pl.col("siret").cast(pl.String), pl.col("name").cast(pl.String).alias("raw"),
            pl.col("kind").cast(pl.String), pl.col("private").cast(pl.Boolean), pl.col("ref_id").cast(pl.Int64),
        ).with_columns(norm=normalize_series(ref.frame["name"])).filter(pl.col("norm") != "")
        sig = df.filter(pl.col("kind") == "sigle").select(
            "siren", s=pl.col("norm").str.replace_all(" ", "", literal=True))
        g = sig.group_by("s", maintain_order=True).agg("siren")
        self.sigles: dict[str, set[str]] = defaultdict(set, zip(g["s"].to_list(), map(set, g["siren"].to_list()),
                                                                strict=True))
        g = sig.group_by("siren", maintain_order=True).agg("s")
        self.sigle_of: dict[str, set[str]] = defaultdict(set, zip(g["siren"].to_list(), map(set, g["s"].to_list()),
                                                                  strict=True))
        key = ("norm", "siren")
        names = df.filter(pl.col("kind") != "sigle").with_columns(
            entry=pl.col("siret").is_not_null() | (pl.int_range(pl.len()).over(key) == 0))
        names = names.with_columns(idx=pl.when("entry").then(pl.col("entry").cast(pl.Int64).cum_sum() - 1))
        names = names.with_columns(target=pl.col("idx").forward_fill().over(key))
        ent = names.filter("entry")
        self.entries: list[tuple[str, str, str | None, str]] = list(zip(  # (norm, siren, siret, raw)
            *(ent[c].to_list() for c in ("norm", "siren", "siret", "raw")), strict=True))
        self.private_entries: set[int] = set(  # names of non-diffusible establishments
            ent.filter(pl.col("private").fill_null(False))["idx"].to_list())
        refs = names.filter(pl.col("ref_id").is_not_null())
        self.by_ref_id: dict[int, int] = dict(zip(refs["ref_id"].to_list(), refs["target"].to_list(), strict=True))
        g = ent.group_by("siren", maintain_order=True).agg("idx")
        self.by_siren: dict[str, list[int]] = defaultdict(list, zip(g["siren"].to_list(), g["idx"].to_list(),
                                                                    strict=True))
        g = ent.group_by("norm", maintain_order=True).agg("siren")
        self.exact: dict[str, set[str]] = defaultdict(set, zip(g["norm"].to_list(), map(set, g["siren"].to_list()),
                                                               strict=True))

    def idf(self, token: str) -> float:
        got = self._idf.get(token)
        if got is None:  # computed once per token: the model asks for it millions of times
            got = self._idf[token] = math.log(1 + self.n_names / max(1, self.token_df.get(token, 1)))
        return got

    # -- blocking (in memory, when DuckDB did not block) -----------------------------------
    def _build_postings(self) -> None:
        postings: dict[str, list[int]] = defaultdict(list)
        for idx, (norm, *_) in enumerate(self.entries):
            for tok in set(norm.split()):
                postings[tok].append(idx)
        self.postings = dict(postings)
        self.vocab = sorted(self.postings)
        for tok in self.vocab:  # typo search among tokens sharing the first two letters
            self.vocab_by_start[tok[:2]].append(tok)
        self._postings_built = True

    def _token_postings(self, tok: str, is_last: bool) -> list[int]:
        if not self._postings_built:
            self._build_postings()
        if tok in self.postings:
            return self.postings[tok]
        out: list[int] = []
        if is_last and len(tok) >= 3:  # a name cut by accounting software: prefix of a token
            i = bisect.bisect_left(self.vocab, tok)
            while i < len(self.vocab) and self.vocab[i].startswith(tok) and len(out) < MAX_POSTING:
                out.extend(self.postings[self.vocab[i]])
                i += 1
        if not out and len(tok) >= 4:  # a typo: nearest tokens of the vocabulary
            bucket = [t for start in typo_buckets(tok) for t in self.vocab_by_start.get(start, [])]
            near = [m for m, _, _ in process.extract(tok, bucket, scorer=fuzz.ratio, score_cutoff=80, limit=TYPO_POOL)]
            for m in fewest_keystrokes(tok, near):
                out.extend(self.postings[m])
        return out

    def block(self, query: str) -> set[int]:
        """Entries sharing a rare word with the typed name (or a word it may have glued, split, cut
        or mistyped). A name no entry holds whole gets a second look, as in DuckDB's blocking
        (`achats.blocking.other_spelling_tokens`): each of its words is asked for again as a typo,
        the start of a longer word (the last one) or two glued words, even when the register
        knows it as typed (a slip of the fingers can give another real word)."""
        tokens = query.split()
        lists = [(t, self._token_postings(t, i == len(tokens) - 1)) for i, t in enumerate(tokens)]
        lists += [(k, self.postings[k]) for k in joined_keys(tokens) if k in self.postings]
        lists = [(t, p) for t, p in lists if p]
        found = self._gather(lists)
        extra = [(k, self.postings[k]) for t in self._not_held_whole(tokens, lists, found)
                 for k in self._other_spellings(t, t == tokens[-1])]
        if extra:
            found |= self._gather(extra)
        return found

    @staticmethod
    def _gather(lists: list[tuple[str, list[int]]]) -> set[int]:
        """The entries of the rarest specific words' postings (three words, MAX_BLOCK entries)."""
        specific = [(t, p) for t, p in lists if t not in GENERIC and len(p) <= MAX_POSTING]
        use = sorted(specific or lists, key=lambda tp: len(tp[1]))[:3]
        found: set[int] = set()
        for _, p in use:
            found.update(p[:MAX_BLOCK])
            if len(found) >= MAX_BLOCK:
                break
        return found

    def _not_held_whole(self, tokens: list[str], lists: list[tuple[str, list[int]]], found: set[int]) -> list[str]:
        """The typed name's words (3 letters or more, not generic) when the block is empty, or when
        its best entry, by the summed rarity of the words it holds, lacks one of them that the
        register knows as typed (one it does not know already had its close spellings); none
        otherwise. As achats.blocking.not_held_whole."""
        words = [t for t in dict.fromkeys(tokens) if len(t) >= 3 and t not in GENERIC]
        if not found:
            return words
        posted = {t: set(p) for t, p in lists if t in words}
        best = max(sorted(found), key=lambda e: sum(self.idf(t) for t, p in posted.items() if e in p))
        known = [t for t in words if t in self.postings]
        return words if any(best not in posted.get(t, ()) for t in known) else []

    def _other_spellings(self, tok: str, is_last: bool) -> list[str]:
        """Words of the register a typed word may stand for, besides itself: for a rare word (at
        most SUSPECT_DF entries), close spellings (ratio >= 80, the three fewest keystrokes away)
        and longer words it starts (the last word, cut short); for any, the two words it may glue
        together."""
        if not self._postings_built:
            self._build_postings()
        out: list[str] = []
        rare = tok in self.postings and len(self.postings[tok]) <= SUSPECT_DF  # a missing word had these
        if rare and len(tok) >= 4:
            bucket = [t for start in typo_buckets(tok) for t in self.vocab_by_start.get(start, []) if t != tok]
            out += fewest_keystrokes(tok, [m for m, _, _ in process.extract(tok, bucket, scorer=fuzz.ratio,
                                                                             score_cutoff=80, limit=TYPO_POOL)])
        if rare and is_last:
            i = bisect.bisect_right(self.vocab, tok)
            while i < len(self.vocab) and self.vocab[i].startswith(tok) and len(out) < 50:
                out.append(self.vocab[i])
                i += 1
        for a, b in split_keys(tok):
            if a in self.postings and b in self.postings:
                out += [a, b]
        return list(dict.fromkeys(out))

    def _block_of(self, name: str, q: str) -> list[int] | np.ndarray:
        """The entries to score for a typed name, sorted: DuckDB's block (or the in-memory one)
        and every entry with an identical name."""
        exact = [i for siren in self.exact.get(q, ()) for i in self.by_siren.get(siren, [])
                 if self.entries[i][0] == q]  # an identical name is always a candidate
        if self.blocked is not None:
            got = self.blocked.get(name)
            if got is None:
                return sorted(set(exact))
            return sorted_distinct(np.concatenate([got, np.asarray(exact, dtype=np.int64)])) if exact else got
        ids = self.block(q)
        ids.update(exact)
        return sorted(ids)

    # -- string kernels, batched in C ------------------------------------------------------
    def prime(self, names: Iterable[str | None]) -> None:
        """Score every (typed name, blocked reference name) pair of all these names at once with
        rapidfuzz's C kernels on all cores, and keep each name's best few units for the full features."""
        todo = sorted({n for n in names if n and n not in self._kernels and normalize(n)})
        if not todo:
            return
        t0 = time.perf_counter()
        blocks = [self._block_of(name, normalize(name)) for name in todo]
        qid = np.repeat(np.arange(len(todo), dtype=np.int64), [len(b) for b in blocks])
        entry = np.concatenate([np.asarray(b, dtype=np.int64) for b in blocks]) if blocks else np.zeros(0, np.int64)
        qnorm = [normalize(n) for n in todo]
        qcore = [core_tokens(n, q, _place_words(n)) for n, q in zip(todo, qnorm, strict=True)]
        norms = self._entry_norms()
        qs = [qnorm[k] for k in qid.tolist()]
        ker = kernel_scores(qs, [norms[i] for i in entry.tolist()], [qcore[k] for k in qid.tolist()])
        self.comparisons += len(entry)
        rows = best_per_unit(qid, entry, self._entry_units()[entry], ker, FEATURE_KEEP)
        rows = with_closest_whole_name(qid, self._entry_units()[entry], ker, rows)
        kept_q, kept_e, kept_k = qid[rows].tolist(), entry[rows].tolist(), ker[rows].tolist()
        t1 = time.perf_counter()
        self.timings["kernels"] += t1 - t0
        # the model's name features of every kept pair, over whole columns (the model's time)
        text = text_features([qnorm[k] for k in kept_q], [norms[i] for i in kept_e], [qcore[k] for k in kept_q],
                             self.idf).tolist()
        for name in todo:
            self._kernels[name] = []
        for k, i, row, tx in zip(kept_q, kept_e, kept_k, text, strict=True):
            self._kernels[todo[k]].append((i, tuple(row), tuple(tx)))
        self.timings["model"] += time.perf_counter() - t1

    def _entry_norms(self) -> list[str]:
        if len(self._norms) != len(self.entries):
            self._norms = [e[0] for e in self.entries]
        return self._norms

    def _entry_units(self) -> np.ndarray:
        """Each entry's unit as a small integer (entries of one SIREN share it)."""
        if self._units is None or len(self._units) != len(self.entries):
            codes: dict[str, int] = {}
            self._units = np.fromiter((codes.setdefault(e[1], len(codes)) for e in self.entries),
                                      dtype=np.int64, count=len(self.entries))
        return self._units

    # -- identifiers -----------------------------------------------------------------------
    def check_identifier(self, siret_raw: str | None) -> IdentifierCheck:
        siret, siren = _typed_identifier(siret_raw)
        flag = None
        rna = rna_number(siret_raw) if siret_raw and not siret and not siren else None
        if rna is not None and rna in self.rna:  # an association's RNA number, as SIRENE carries it
            return IdentifierCheck(Method.SIREN, self.rna[rna], None, "Numéro RNA connu de SIRENE", None)
        if rna is not None:
            flag = "numéro RNA qu'aucune unité du SIRENE chargé ne porte"
        elif siret_raw and not siret and not siren:
            flag = "identifiant invalide (longueur ou clé de contrôle)"
        elif siret_raw and siren and not siret and len("".join(c for c in siret_raw if c.isdigit())) >= 13:
            flag = "SIRET invalide, SIREN retenu"
        if siret and siret in self.sirets:
            return IdentifierCheck(Method.SIRET, self.sirets[siret], siret, "SIRET connu de SIRENE", flag)
        if siren and siren in self.info:
            how = "SIREN issu d'un SIRET inconnu" if siret or flag else "SIREN connu de SIRENE"
            return IdentifierCheck(Method.SIREN, siren, None, how, flag)
        if siret or siren:
            flag = flag or "identifiant valide mais absent du référentiel SIRENE chargé"
        return IdentifierCheck(flag=flag)

    def _zeros_restored(self, name: str, siret_raw: str | None) -> IdentifierCheck | None:
        """A SIRET or SIREN that lost two or more leading zeros in a spreadsheet (« 83418700999 »
        for 00083418700999): kept only when its unit is in SIRENE and its name agrees with the
        typed one, since a key checks one time in ten by chance (the typed number is then an
        invalid identifier, as before)."""
        padded = zeros_restored(siret_raw)
        if padded is None:
            return None
        check = self.check_identifier(padded)
        if check.siren is None or self.name_similarity(name, check.siren) < ID_NAME_MIN:
            return None
        return replace(check, how=f"{check.how} (zéros de tête rétablis)")

    def name_similarity(self, name: str, siren: str) -> float:
        """How well a typed name agrees with the names SIRENE knows for an identifier's unit.

        Token agreement rather than a global ratio: two unrelated names that share a generic word
        ("... SERVICES") or a prefix must not vouch for a wrong SIRET.
        """
        q = normalize(name)
        best = 0.0
        for i in self.by_siren.get(siren, []):
            best = max(best, token_agreement(q, self.entries[i][0]))
        sigles = self.sigle_of.get(siren, set())
        if q.replace(" ", "") in sigles:
            best = 1.0
        elif acronym(name) and acronym(name) in sigles:
            best = max(best, 0.95)
        return best

    def words_shared(self, name: str, siren: str) -> frozenset[str]:
        """The informative words of the typed name that the unit's names carry (typos and prefixes
        allowed, as token_agreement): which words, not a share, so that a short unit name
        (« ENGIE ») is not closer to « ENGIE AXIMA » than AXIMA CONCEPT is."""
        typed = _informative(normalize(name).split())
        return frozenset(t for i in self.by_siren.get(siren, []) for t in typed
                         if _found(t, self.entries[i][0].split()))

    # -- names shown -------------------------------------------------------------------------
    def label(self, siren: str, fallback: str = "") -> str:
        """The name text may show for a SIREN: masked when the unit is non-diffusible."""
        if siren in self.private:
            return private_label(siren)
        return self.info.get(siren, SirenInfo()).label or fallback or siren

    def _shown(self, idx: int) -> str:
        _, siren, _, raw = self.entries[idx]
        return private_label(siren) if siren in self.private or idx in self.private_entries else raw

    # -- candidates and their probabilities --------------------------------------------------
    def _kernels_for_unit(self, name: str, q: str, siren: str) -> tuple[int | None, tuple[float, ...]]:
        """Kernels against a unit outside the block (the one an identifier designates)."""
        best: tuple[int | None, tuple[float, ...]] = (None, (0.0,) * 6)
        core = core_tokens(name, q)
        for i in self.by_siren.get(siren, []):
            ker = pair_kernels(q, self.entries[i][0], core)
            self.comparisons += 1
            if best[0] is None or _rank_key(ker) > _rank_key(best[1]):
                best = (i, ker)
        return best

    def candidates(self, name: str, ident: IdentifierCheck, line_dep: str | None, buyer_dep: str | None
                   ) -> tuple[list[Candidate], float]:
        """Candidate units with their probabilities, best first, and P(none of them)."""
        q = normalize(name)
        if name not in self._kernels:
            self.prime([name])
        t0 = time.perf_counter()
        picked: dict[str, tuple[int | None, tuple[float, ...], tuple[float, ...] | None]] = {
            self.entries[i][1]: (i, ker, tx) for i, ker, tx in self._kernels.get(name, [])}
        by_sigle = self.sigles.get(q.replace(" ", ""), set())
        for siren in by_sigle:  # the line gives the sigle only: compared as an identical name
            picked[siren] = (picked.get(siren, (None, (), None))[0], (1.0,) * 6, None)
        if ident.siren and ident.siren not in picked:
            picked[ident.siren] = (*self._kernels_for_unit(name, q, ident.siren), None)
        legal_q = name_families(name)
        id_name = self.name_similarity(name, ident.siren) if ident.siren else 0.0
        place = found = trailing_place(name)
        if place is not None and any(set(q.split()) <= set(self.entries[i][0].split())
                                     for i, _, _ in picked.values() if i is not None):
            place = None  # the name typed, commune included, is a unit's name ("REGIE DE QUARTIER DE BLAGNAC")
        if place is not None and not place.separated and not _bare_place_is_a_place(
                place, {d for d in (line_dep, buyer_dep) if d},
                [self.entries[i][0] for i, _, _ in picked.values() if i is not None]):
            place = None
        core = core_tokens(name, q)
        units = []
        for siren, (i, ker, tx) in picked.items():
            info = self.info.get(siren, SirenInfo())
            c_norm = self.entries[i][0] if i is not None else normalize(info.label)
            if siren in by_sigle:
                c_norm = q
            q_pair, q_core, set_aside = q, core, ()
            if place is not None and _place_set_aside(place, c_norm, info,
                                                      self.entries[i][3] if i is not None else info.label):
                q_pair, set_aside = normalize(place.rest), place.words  # the name without the commune
                q_core = core_tokens(place.rest, q_pair)
                ker, tx = pair_kernels(q_pair, c_norm, q_core), None
            elif found is not None and not found.separated and i is not None:
                # prime() ranked without the commune: the pair's own kernels and name features
                ker, tx = pair_kernels(q, c_norm, core), None
            units.append((siren, i, ker, tx, info, c_norm, q_pair, q_core, set_aside))
        rank = {siren: _rank_key(ker) for siren, _, ker, *_ in units}
        ranks = sorted(rank.values())  # near and gap by bisection, not by a pass over the others per candidate
        top, second = (ranks[-1] if ranks else 0.0), (ranks[-2] if len(ranks) > 1 else 0.0)
        # name features of the pairs prime() did not compute (or computed on another form of the name)
        missing = [u for u in units if u[3] is None]
        extra: dict[str, list[float]] = {}
        if missing:
            extra = dict(zip([u[0] for u in missing], text_features(
                [u[6] for u in missing], [u[5] for u in missing], [u[7] for u in missing], self.idf).tolist(),
                strict=True))
        out: list[Candidate] = []
        xs = []
        raws: dict[str, tuple[str | None, str | None]] = {}
        for siren, i, ker, tx, info, c_norm, q_pair, q_core, set_aside in units:
            cat = category_family(info.categorie_juridique)
            c_raw = self.entries[i][3] if i is not None else info.label
            legal_c = {cat} if cat else name_families(c_raw)
            line_place = (line_dep in info.departements) if line_dep and info.departements else None
            if line_place is None and set_aside and place is not None and info.departements:
                line_place = bool(place.departements & info.departements)  # the commune typed in the name
            pair = PairInput(
                q_norm=q_pair, c_norm=c_norm, q_core=q_core,
                kernels=ker,  # type: ignore[arg-type]
                legal_q=_typed_forms(name, legal_q, legal_c, c_raw), legal_c=legal_c, is_id=siren == ident.siren,
                id_name=id_name,
                id_elsewhere=ident.siren is not None and siren != ident.siren, crowded=name in self.crowded,
                near=len(ranks) - bisect.bisect_left(ranks, rank[siren] - NEAR_GAP) - 1,  # itself is within
                gap=rank[siren] - (second if rank[siren] == top else top),
                line_place=line_place,
                buyer_place=True if buyer_dep and buyer_dep in info.departements else None,
                inactive=not info.is_active)
            x = features(pair, self.idf, tx if tx is not None else extra[siren])
            xs.append(x)
            shown = self._shown(i) if i is not None else self.label(siren, name)
            out.append(Candidate(siren, 0.0, shown, c_norm, x, set_aside))
            raws[siren] = (c_raw, cat)
        probs, p_none = self.model.probabilities(xs)
        for c, p in zip(out, probs, strict=True):
            c.score = p
        out.sort(key=lambda c: (-c.score, c.siren))
        if out:  # only the best candidate's form words are read (rule_added_word_needs_a_look)
            out[0].forms = _unit_forms(*raws[out[0].siren])
        self.timings["model"] += time.perf_counter() - t0
        return out, p_none

    # -- decision ----------------------------------------------------------------------------
    def resolve(self, name: str | None, siret_raw: str | None, line_dep: str | None,
                buyer_dep: str | None, thr: Thresholds) -> Resolution:
        """The first rule of RULES that decides, with the probabilities of the candidates."""
        ident = self.check_identifier(siret_raw)
        if ident.siren is None and name:
            ident = self._zeros_restored(name, siret_raw) or ident
        q = normalize(name)
        cands, p_none = self.candidates(name, ident, line_dep, buyer_dep) if (q or ident.siren) and name \
            else ([], 1.0)
        accept = thr.accept if thr.accept is not None else self.model.accept_threshold(thr.target_precision)
        ctx = Context(name, q, ident, cands, p_none, accept, thr.review, self, thr.added_word_similarity)
        t0 = time.perf_counter()
        for rule in RULES:
            res = rule(ctx)
            if res is not None:
                res.rule = rule.__name__
                self.timings["decisions"] += time.perf_counter() - t0
                return res
        raise AssertionError("the last rule always decides")  # pragma: no cover


def _typed_forms(name: str, typed: set[str], registered: set[str], unit_name: str | None) -> set[str]:
    """The legal-form families the typed name states against one unit: a form word that the unit's
    own name carries is a word of its name, not a contradiction ("SOCIETE PROTECTRICE DES ANIMAUX"
    is an association)."""
    if legal_relation(typed, registered) != -1:
        return typed
    own = set(raw_tokens(unit_name or ""))
    return {FORM_FAMILY[t] for t in raw_tokens(name) if t in FORM_FAMILY and t not in own}


@lru_cache(maxsize=100_000)
def _unit_forms(unit_name: str | None, family: str | None) -> frozenset[str]:
    """The legal-form words a unit's own name carries, and those its catégorie juridique states
    (COOPERATIVE for a SCOP or SCIC): a form word typed as an adjective of the name agrees with
    them (see adjective_forms)."""
    own = {t for t in raw_tokens(unit_name or "") if t in LEGAL_FORMS}
    return frozenset(own | _FAMILY_ADJECTIVES.get(family or "", frozenset()))


# What a catégorie juridique's family says in words: a SCOP is a société coopérative et
# participative, a SCIC d'intérêt collectif; an SCI a société civile immobilière.
_FAMILY_ADJECTIVES = {"cooperative": frozenset({"COOPERATIVE", "PARTICIPATIVE", "COLLECTIF"}),
                      "civile": frozenset({"CIVILE", "IMMOBILIERE"})}


def _place_words(name: str) -> frozenset[str]:
    """The words of a commune ending a typed name without a separator, left out of the similarity
    that ranks candidates, so that the unit seated there is not cut from the block by names that
    merely share the commune's name (the pairs are scored again in `candidates`)."""
    place = trailing_place(name)
    return frozenset(place.words) if place is not None and not place.separated else frozenset()


def _bare_place_is_a_place(place: NamedPlace, local: set[str], names: list[str]) -> bool:
    """A commune typed as the bare last word ("... TOULOUSE") is read as a place only when it is a
    commune of the buyer's or the line's département and no candidate's name has a word close to
    it: many communes are ordinary words (VERT, BIO, BOIS, PORT), and "ESPACE VERT" is the
    "ESPACES VERTS" of the buyer's town, not an "ESPACE" seated in Vert (Landes)."""
    if not place.departements & local:
        return False
    return not any(t != w and (t.startswith(w) or w.startswith(t) or fuzz.ratio(w, t) >= 80)
                   for n in names for t in n.split() for w in place.words if len(t) >= 3)


def _place_set_aside(place: NamedPlace, c_norm: str, info: SirenInfo, c_raw: str | None) -> bool:
    """Whether the commune typed at the end of the name is compared without it against this unit:
    the unit's name lacks it and names no commune of its own ("CCAS DE COLOMIERS" is not
    "CCAS DE BLAGNAC" with a place added); a bare final word must moreover be the unit's
    département's commune ("... TOULOUSE" for a unit seated in 31), while a commune after a slash or
    in brackets is said as a place whoever the unit is."""
    if set(place.words) <= set(c_norm.split()) or trailing_place(c_raw) is not None:
        return False
    return place.separated or bool(place.departements & info.departements)


def pair_kernels(q: str, c: str, core: str) -> tuple[float, ...]:
    """The KERNELS of one pair, as kernel_scores computes them for a whole block."""
    return (fuzz.token_sort_ratio(q, c) / 100, fuzz.token_set_ratio(q, c) / 100, fuzz.ratio(q, c) / 100,
            fuzz.partial_ratio(q, c) / 100, fuzz.ratio(q, c[:len(q)] if len(c) > len(q) else c) / 100,
            fuzz.token_set_ratio(core, c) / 100)


def _rank_key(ker: tuple[float, ...]) -> float:
    """Order of candidates before the full features: the best of the name similarities, ties
    broken by the whole-name ratio, so that an identical name is never cut from the kept units by
    shorter names the typed one merely contains ("X" and "X NORD" both score 1 on token sets)."""
    sort, set_, ratio, _, prefix, core = ker
    return max(0.5 * (sort + set_), ratio, prefix, core) + RANK_TIE * ratio


# -- the array boundary between the string kernels and the match model ----------------------
KERNELS = ("sort", "set", "ratio", "partial", "prefix", "core_set")  # columns of kernel_scores


def kernel_scores(q: list[str], c: list[str], core: list[str]) -> np.ndarray:
    """Similarities in [0, 1] of the pairs (q[k], c[k]) (normalised names; core[k] is q[k]
    without places and roles), one column per KERNELS, one rapidfuzz C call per scorer over all
    pairs, on all cores; Python only cuts each candidate to the typed name's length (`prefix`)."""
    out = np.empty((len(q), len(KERNELS)), dtype=np.float64)
    for start in range(0, len(q), KERNEL_BATCH):  # bounded memory for the string lists' copies
        qs, cs, cores = q[start:start + KERNEL_BATCH], c[start:start + KERNEL_BATCH], core[start:start + KERNEL_BATCH]
        prefix_c = [x[:len(y)] if len(x) > len(y) else x for y, x in zip(qs, cs, strict=True)]
        cols = (process.cpdist(qs, cs, scorer=fuzz.token_sort_ratio, workers=-1),
                process.cpdist(qs, cs, scorer=fuzz.token_set_ratio, workers=-1),
                process.cpdist(qs, cs, scorer=fuzz.ratio, workers=-1),
                process.cpdist(qs, cs, scorer=fuzz.partial_ratio, workers=-1),
                process.cpdist(qs, prefix_c, scorer=fuzz.ratio, workers=-1),
                process.cpdist(cores, cs, scorer=fuzz.token_set_ratio, workers=-1))
        for j, col in enumerate(cols):
            out[start:start + len(qs), j] = col.astype(np.float64) / 100.0
    return out


def rank_keys(ker: np.ndarray) -> np.ndarray:
    """_rank_key of every row of a kernel_scores array."""
    return np.maximum.reduce([0.5 * (ker[:, 0] + ker[:, 1]), ker[:, 2], ker[:, 4], ker[:, 5]]) + RANK_TIE * ker[:, 2]


def best_per_unit(qid: np.ndarray, entry: np.ndarray, unit: np.ndarray, ker: np.ndarray, keep: int) -> np.ndarray:
    """Rows to keep, grouped by query in order: each query's best entry per unit (the first
    entry wins a tie), then its `keep` best units (a tie goes to the unit seen first). `entry`
    is sorted within each query. Vectorised: no Python loop over pairs."""
    if len(qid) == 0:
        return np.zeros(0, dtype=np.int64)
    rank = rank_keys(ker)
    # best entry per (query, unit): order by query, unit, rank descending, entry
    o = np.lexsort((entry, -rank, unit, qid))
    first = np.ones(len(o), dtype=bool)
    first[1:] = (qid[o][1:] != qid[o][:-1]) | (unit[o][1:] != unit[o][:-1])
    best = o[first]
    # where the unit is first seen in the query's sorted block
    o2 = np.lexsort((entry, unit, qid))
    first2 = np.ones(len(o2), dtype=bool)
    first2[1:] = (qid[o2][1:] != qid[o2][:-1]) | (unit[o2][1:] != unit[o2][:-1])
    seen = entry[o2[first2]]  # same (query, unit) order as `best`
    order = np.lexsort((seen, -rank[best], qid[best]))
    picked = best[order]
    q_sorted = qid[picked]
    starts = np.searchsorted(q_sorted, q_sorted, side="left")
    return picked[(np.arange(len(picked)) - starts) < keep]


def sorted_distinct(a: np.ndarray) -> np.ndarray:
    """np.unique(a) of a 1-d array, by a sort: np.unique and np.isin import numpy.ma on their first
    call (~15 ms of processor time in a fresh process, nothing else in a run needs it)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def is_in_sorted(x: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """np.isin(x, sorted_values) for a sorted 1-d array, by binary search (see sorted_distinct)."""
    if not len(sorted_values):
        return np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_values, x), len(sorted_values) - 1)
    return sorted_values[pos] == x


def with_closest_whole_name(qid: np.ndarray, unit: np.ndarray, ker: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`rows` (grouped by query) plus, for each query, the pair whose whole name is closest (token
    sort ratio, then ratio; the first pair on a tie) when best_per_unit left its unit out: shorter
    names the typed one contains score 1 on token sets, and a few homonyms of them ("SANDRINE
    AUBERT" for "BAITMENT SANDRINE AUBERT") must not crowd out the unit named as typed but for one
    slip. A unit already kept keeps its own best pair."""
    if len(qid) == 0:
        return rows
    o = np.lexsort((np.arange(len(qid)), -ker[:, 2], -ker[:, 0], qid))
    closest = o[np.r_[True, qid[o][1:] != qid[o][:-1]]]
    span = int(unit.max()) + 1
    extra = closest[~is_in_sorted(qid[closest] * span + unit[closest], np.sort(qid[rows] * span + unit[rows]))]
    if not len(extra):
        return rows
    both = np.concatenate([rows, extra])
    return both[np.argsort(qid[both], kind="stable")]


# -- the rules, in order: each says why it decides, or passes ------------------------------
def _id_contradiction(ctx: Context) -> str | None:
    """The flag when the identifier designates a unit the decision sets aside."""
    if ctx.ident.siren and ctx.top and ctx.top.siren != ctx.ident.siren:
        sim = ctx.id_name
        label = ctx.index.label(ctx.ident.siren)
        info = ctx.index.info.get(ctx.ident.siren)
        # say why, as _identifier_explained judges it: a name that agrees contradicts nothing
        if info is not None and not info.is_active:
            return (f"l'identifiant désigne {_quoted(label)}, unité cessée (similarité des noms {_fr(sim)}) ; "
                    f"le nom saisi désigne l'unité retenue")
        if _place_sides_with_name(ctx):
            return (f"l'identifiant désigne {_quoted(label)}, sans établissement dans le département de la ligne "
                    f"(similarité des noms {_fr(sim)}) ; le nom saisi et le lieu désignent l'unité retenue")
        if sim >= ID_NAME_MIN:
            return (f"l'identifiant désigne {_quoted(label)}, dont le nom partage les mots du nom saisi "
                    f"(similarité {_fr(sim)}) ; le nom saisi désigne plus sûrement l'unité retenue")
        return f"l'identifiant désigne {_quoted(label)}, qui contredit le nom saisi (similarité {_fr(sim)})"
    return ctx.ident.flag


def rule_nothing_to_match(ctx: Context) -> Resolution | None:
    if ctx.q or ctx.ident.siren:
        return None
    return Resolution(siren=None, method=Method.UNMATCHED, score=0.0, status=Status.UNMATCHED,
                      reason="Ni nom ni identifiant exploitable", id_flag=ctx.ident.flag)


def rule_identifier_without_name(ctx: Context) -> Resolution | None:
    """A known identifier with no name, or a name that names no one ("SA", "SOCIETE")."""
    if (ctx.q and not is_uninformative(ctx.q)) or not ctx.ident.siren:
        return None
    return Resolution(siren=ctx.ident.siren, siret=ctx.ident.siret, method=ctx.ident.method, score=1.0,
                      status=Status.MATCHED, reason=ctx.ident.how, id_flag=ctx.ident.flag)


def rule_no_candidate(ctx: Context) -> Resolution | None:
    if ctx.candidates:
        return None
    reason = "Aucun candidat dans SIRENE" + (f" ({ctx.ident.flag})" if ctx.ident.flag else "")
    return Resolution(siren=None, method=Method.UNMATCHED, score=0.0, status=Status.UNMATCHED, reason=reason,
                      id_flag=ctx.ident.flag, p_none=1.0)


def _describe(ctx: Context, c: Candidate) -> tuple[Method, str]:
    """How the candidate is designated, in French."""
    if c.siren == ctx.ident.siren and ctx.ident.method:
        return ctx.ident.method, f"{ctx.ident.how} ; nom cohérent (similarité {_fr(ctx.id_name)})"
    if c.features.get("exact"):
        return Method.NAME_EXACT, "Nom identique après normalisation"
    return Method.NAME_FUZZY, f"Nom proche de {_quoted(c.name)}"


def rule_confident_match(ctx: Context) -> Resolution | None:
    top = ctx.top
    if top is None or top.score < ctx.accept:
        return None
    if is_uninformative(ctx.q) and top.siren != ctx.ident.siren:
        return None  # "SA", "SARL": whatever the model says, such a name identifies no one
    method, how = _describe(ctx, top)
    flag = _id_contradiction(ctx)
    reason = f"{how} (probabilité {_prob(top.score)})"
    if flag and ctx.ident.siren and top.siren != ctx.ident.siren:
        reason += f" ; identifiant écarté : {flag}"
    elif flag:
        reason += f" ({flag})"
    siret = ctx.ident.siret if top.siren == ctx.ident.siren else None
    return Resolution(siren=top.siren, siret=siret, method=method, score=top.score, status=Status.MATCHED,
                      margin=ctx.margin, reason=reason, id_flag=flag, candidates=_shown_candidates(ctx),
                      p_none=ctx.p_none)


def rule_homonyms_need_a_place(ctx: Context) -> Resolution | None:
    """Two units with the very name typed, and neither the identifier nor the line's place to tell
    them apart: the buyer's département or a ceased unit is a hint, never proof. A person decides."""
    top = ctx.top
    if top is None or top.score < ctx.accept or top.siren == ctx.ident.siren:
        return None
    same = [c for c in ctx.candidates[1:] if c.norm == top.norm]
    if not same or top.features.get("line_place_agree"):
        return None
    if top.features.get("legal_agree") and all(c.features.get("legal_conflict") for c in same):
        return None  # the legal form typed tells them apart: "X SCOP" is not the SARL "X"
    return rule_uncertain(ctx)


def rule_identifier_shares_a_word(ctx: Context) -> Resolution | None:
    """A valid identifier of an active unit whose name shares a word with the typed one (« ENGIE
    AXIMA » with the SIRET of AXIMA CONCEPT, « ORANGE TELEPHONE FIXE » with that of ORANGE
    BUSINESS SERVICES), while no other unit is named with confidence: the identifier decides,
    however unlike the names look as wholes, or however unlikely the model finds the pair. In the 2019 DECP titulaires (1 838 lines typed by
    buyers), every name unlike its SIRET's unit was a variant of that unit (brand, division, former
    or glued name), never another supplier. Not when the typed legal form contradicts the unit, nor
    when another candidate carries every typed word the unit carries, and more (« CROIX ROUGE UNITE
    LOCALE » with the SIRET of ROUGE ET NOIR TRAITEUR, CROIX ROUGE FRANCAISE a candidate): the
    identifier's unit then explains nothing the other does not. Other words (« ENGIE AXIMA »: ENGIE
    and AXIMA CONCEPT; « COLAS RHONES ALPES AUVERGNE »: COLAS and a unit of that region) keep it."""
    sid = ctx.ident.siren
    if not sid or not ctx.q:
        return None
    own = next((c for c in ctx.candidates if c.siren == sid), None)
    info = ctx.index.info.get(sid)
    if own is None or info is None or not info.is_active or own.features.get("legal_conflict"):
        return None
    if any(c.siren != sid and c.score >= ctx.accept for c in ctx.candidates):
        return None  # the name designates another unit with confidence: the other rules judge
    if own.score >= ctx.accept and max(own.features.get("id_sim", 0.0), own.features.get("id_name", 0.0)) >= ID_NAME_MIN:
        return None  # identifier and name agree: an ordinary match (rule_confident_match)
    sim = ctx.id_name
    if sim <= 0.0:
        return None
    shared = ctx.index.words_shared(ctx.name or "", sid)
    if any(c.siren != sid and ctx.index.words_shared(ctx.name or "", c.siren) > shared for c in ctx.candidates):
        return None  # another candidate carries the same typed words and more (« CROIX ROUGE … »): a person checks
    reason = (f"{ctx.ident.how} ; le nom saisi diffère mais partage un mot du nom de l'unité (similarité {_fr(sim)}) "
              f"et ne désigne sûrement aucune autre unité (probabilité {_prob(own.score)})")
    return Resolution(siren=sid, siret=ctx.ident.siret, method=ctx.ident.method, score=own.score,
                      status=Status.MATCHED, margin=ctx.margin, reason=reason, id_flag=ctx.ident.flag,
                      candidates=_shown_candidates(ctx), p_none=ctx.p_none)


def rule_legal_form_contradicted(ctx: Context) -> Resolution | None:
    """The typed name states a legal form that the unit's catégorie juridique contradicts
    ("ASSOCIATION X" or "X SCOP" for the SARL "X", "STE X" for the association "X"): the name
    alone does not make them one supplier, however alike. A person checks; the extreme bounds keep
    every candidate. The identifier's own unit is left to the identifier rules."""
    top = ctx.top
    if top is None or top.score < ctx.accept or top.siren == ctx.ident.siren:
        return None
    if not top.features.get("legal_conflict"):
        return None
    return rule_uncertain(ctx)


def rule_identifier_contradicted(ctx: Context) -> Resolution | None:
    """The identifier designates a unit whose name has little to do with the name typed (a valid
    SIRET pasted on the wrong line): however likely the model finds it, a person checks."""
    top = ctx.top
    if top is None or top.score < ctx.accept or top.siren != ctx.ident.siren:
        return None
    if max(top.features.get("id_sim", 0.0), top.features.get("id_name", 0.0)) >= ID_NAME_MIN:
        return None
    return rule_uncertain(ctx)


# Legal-form words, spelt in full, that are also ordinary adjectives of a name (« L'ATELIER
# COOPERATIF », « CAVE COOPERATIVE », « HABITAT PARTICIPATIVE », « AGENCE IMMOBILIERE X »), as
# normalize() reads them. Abbreviations (COOP, SCOP) are labels of a form, not adjectives.
ADJECTIVE_FORMS = frozenset({"COOPERATIVE", "PARTICIPATIVE", "COLLECTIF", "CIVILE", "IMMOBILIERE"})
_SPLIT_WORDS = re.compile(r"[^A-Z0-9]+")
_ADJECTIVES_TYPED = frozenset({"COOPERATIVE", "COOPERATIVES", "COOPERATIF", "COOPERATIFS", *ADJECTIVE_FORMS})


def adjective_forms(name: str) -> list[str]:
    """Form words of the typed name used as adjectives of it, not as its legal form: spelt in full
    right after a word that is no legal form nor filler (« L ATELIER COOPERATIF », « CAVE
    COOPERATIVE DE X »). « SCOP L ATELIER », « L ATELIER COOP », « SOCIETE COOPERATIVE X » or
    « SOCIETE CIVILE IMMOBILIERE X » state a form; normalize() drops both uses, so an adjective is
    looked for in the raw name. Given as normalize() spells them (COOPERATIF -> COOPERATIVE)."""
    typed = [t for t in _SPLIT_WORDS.split(fold(name)) if t]
    out = []
    for prev, t in zip(typed, typed[1:], strict=False):
        prev = ABBREVIATIONS.get(prev, prev)
        if t in _ADJECTIVES_TYPED and prev not in LEGAL_FORMS and prev not in STOP_WORDS and not prev.isdigit():
            out.append(ABBREVIATIONS.get(t, t))
    return list(dict.fromkeys(out))


def added_words(name: str, q: str, unit_norm: str, similarity: float, place: Iterable[str] = (),
                unit_forms: Iterable[str] | None = None) -> list[str]:
    """Distinctive words of the typed name that the unit's name lacks altogether: not a legal form,
    filler, generic or role word, and neither equal to, a typo of (similarity under `similarity`,
    or the same letters in another order), nor a prefix of any of the unit's words. "ENINOMED
    VETERINAIRE" against a unit named "ENINOMED" has one (VETERINAIRE); "X SARL", "ASSOC X",
    "X (cotraitant)", "X / TOULOUSE" or a misspelt "CYRNAO" against "CYRANO" have none; nor has
    "X TOULOUSE" when TOULOUSE is the commune set aside for this unit (`place`, Candidate.place).
    With `unit_forms` (Candidate.forms), a form word typed as an adjective of the name (« L ATELIER
    COOPERATIF ») is a word too, unless the unit's name carries it or its catégorie juridique states it."""
    unit = unit_norm.split()

    def near(t: str, o: str) -> bool:
        return (fuzz.ratio(t, o) >= 100 * similarity or sorted(t) == sorted(o)
                or o.startswith(t) or t.startswith(o))

    out = [t for t in core_tokens(name, q, frozenset(place)).split()
           if len(t) >= 3 and t not in FILLER_WORDS and not _misspelt_filler(t) and not any(near(t, o) for o in unit)]
    if unit_forms is not None:
        own = [*unit, *unit_forms]
        out += [t for t in adjective_forms(name) if not any(near(t, o) for o in own)]
    return out


# Words that never say who a supplier is; a typed word that is a typo or the start of one of them
# ("COOEPRATIVE", "POU RL'ENFANCE") is not a word the unit's (normalised) name lacks.
FILLER_WORDS = LEGAL_FORMS | STOP_WORDS | GENERIC | ROLE_WORDS
_LONG_FILLER = sorted(w for w in FILLER_WORDS if len(w) >= 4)


@lru_cache(maxsize=100_000)
def _misspelt_filler(token: str) -> bool:
    """Cached: the decision rules ask it for every word of every typed name. The words starting
    with `token` follow it in the sorted list: the first one at or after it says if there is any."""
    at = bisect.bisect_left(_LONG_FILLER, token)
    return (at < len(_LONG_FILLER) and _LONG_FILLER[at].startswith(token)) or \
        process.extractOne(token, _LONG_FILLER, scorer=fuzz.ratio, score_cutoff=85) is not None


def rule_added_word_needs_a_look(ctx: Context) -> Resolution | None:
    """The typed name says more than the unit's name: a distinctive word the unit's name lacks
    ("ENINOMED VETERINAIRE" for a unit named "ENINOMED"). In a dense register such a unit is as
    often another supplier whose name is contained in the typed one as the right one with a word
    added: a person checks. The identifier's own unit is left to the identifier rules. Setting:
    [seuils] added_word_similarity (0 turns the rule off)."""
    top = ctx.top
    if top is None or top.score < ctx.accept or top.siren == ctx.ident.siren or ctx.added_word_similarity <= 0:
        return None
    if not added_words(ctx.name or "", ctx.q, top.norm, ctx.added_word_similarity, top.place, top.forms):
        return None
    return rule_uncertain(ctx)


def _identifier_explained(ctx: Context) -> bool:
    """A valid identifier of another unit than the name's has a likely explanation: its unit has
    ceased (a supplier's former SIREN kept in the buyer's files), its names share the typed
    name's words (a sister or parent unit of the same supplier), or the line's place sides with
    the name (_place_sides_with_name)."""
    info = ctx.index.info.get(ctx.ident.siren or "")
    if info is not None and not info.is_active:
        return True
    if _place_sides_with_name(ctx):
        return True
    return ctx.id_name >= ID_NAME_MIN


def _place_sides_with_name(ctx: Context) -> bool:
    """The name's unit has an establishment in the line's département and the identifier's unit
    none: two pieces of evidence (name and place) against one (an identifier copied from another
    tiers of the file)."""
    top = ctx.top
    own = next((c for c in ctx.candidates if c.siren == ctx.ident.siren), None)
    return (top is not None and own is not None and top.siren != own.siren
            and bool(top.features.get("line_place_agree")) and bool(own.features.get("line_place_conflict")))


def rule_identifier_set_aside(ctx: Context) -> Resolution | None:
    """The name designates one unit, the valid identifier on the line another, unrelated one:
    matching by name would discard the identifier unseen. Unless the identifier is explainable,
    a person decides, the identifier's unit among the candidates."""
    top = ctx.top
    if top is None or not ctx.ident.siren or top.siren == ctx.ident.siren or top.score < ctx.accept:
        return None
    if _identifier_explained(ctx):
        return None
    return rule_uncertain(ctx)


def _shown_candidates(ctx: Context) -> list[Candidate]:
    """The best candidates, and always the unit the line's identifier designates."""
    out = ctx.candidates[:TOP_K]
    if ctx.ident.siren and all(c.siren != ctx.ident.siren for c in out):
        out += [c for c in ctx.candidates if c.siren == ctx.ident.siren]
    return out


def rule_confident_none(ctx: Context) -> Resolution | None:
    """No candidate is probable enough to be worth a person's look: the supplier is most likely
    absent from the reference (its candidates' probabilities still weigh in the ESS estimate)."""
    top = ctx.top
    if top is None or ctx.ident.siren in {c.siren for c in ctx.candidates}:
        return None  # a known identifier on the line, even contradicted, is worth a person's look
    if sum(c.score for c in ctx.candidates if c.norm == top.norm) >= ctx.review:
        return None  # the name is probable, shared by homonyms: a person picks one
    reason = (f"Aucun candidat assez proche (meilleur : {_quoted(top.name)}, probabilité {_prob(top.score)})"
              + (f" ({ctx.ident.flag})" if ctx.ident.flag else ""))
    return Resolution(siren=None, method=Method.UNMATCHED, score=top.score, status=Status.UNMATCHED,
                      margin=ctx.margin, reason=reason, id_flag=ctx.ident.flag, candidates=ctx.candidates[:TOP_K],
                      p_none=ctx.p_none)


def _doubt(ctx: Context, lacking: list[str]) -> str:
    """Why the best candidate is not sure, read from the features, not from any message; `lacking`
    is _lacking_adjective_forms(ctx), computed once by rule_uncertain."""
    top = ctx.top
    assert top is not None
    second = ctx.candidates[1] if len(ctx.candidates) > 1 else None
    if ctx.ident.siren and top.siren != ctx.ident.siren:
        return "le nom désigne un autre SIREN que l'identifiant"
    if ctx.ident.siren and top.siren == ctx.ident.siren:
        return "identifiant et nom se contredisent"
    if top.features.get("legal_conflict"):
        typed = sorted({t for t in raw_tokens(ctx.name or "") if t in FORM_FAMILY})
        return f"la forme juridique saisie ({', '.join(typed)}) contredit la catégorie juridique de l'unité"
    if lacking:
        return f"le nom saisi contient {_quoted(' '.join(lacking))}, absent du nom et de la catégorie juridique de l'unité"
    if second is not None and second.norm == top.norm:
        return "homonymes"
    if top.features.get("crowded"):
        return "trop de noms proches dans SIRENE"
    if top.score >= ctx.accept and ctx.added_word_similarity > 0 and top.siren != ctx.ident.siren:
        extra = added_words(ctx.name or "", ctx.q, top.norm, ctx.added_word_similarity, top.place, top.forms)
        if extra and top.siren in ctx.index.private:  # a word of the name typed for a non-diffusible unit
            return "le nom saisi contient un mot absent du nom de l'unité"
        if extra:
            return f"le nom saisi contient {_quoted(' '.join(extra))}, absent du nom de l'unité"
    if top.features.get("uninformative"):
        return "le nom ne désigne personne en particulier"
    if second is not None and second.score >= 0.25 * top.score:
        return "deux candidats plausibles"
    if ctx.p_none > top.score:
        return "le fournisseur peut être absent du référentiel"
    return "confiance sous le seuil d'acceptation"


def _lacking_adjective_forms(ctx: Context) -> list[str]:
    """Form words typed as adjectives of the name (« L ATELIER COOPERATIF ») that the best
    candidate's name and catégorie juridique both lack: the typed name then says the supplier may
    be another unit (a coopérative, often ESS), whatever its candidates have in common."""
    top = ctx.top
    adjectives = adjective_forms(ctx.name or "")
    if top is None or ctx.added_word_similarity <= 0 or not adjectives:
        return []
    extra = added_words(ctx.name or "", ctx.q, top.norm, ctx.added_word_similarity, top.place, top.forms)
    return [w for w in adjectives if w in extra]


def rule_uncertain(ctx: Context) -> Resolution:
    top = ctx.top
    assert top is not None
    method, _ = _describe(ctx, top)
    flag = _id_contradiction(ctx)
    lacking = _lacking_adjective_forms(ctx)
    doubt = _doubt(ctx, lacking)
    reason = (f"À vérifier ({doubt}) : meilleur candidat {_quoted(top.name)} (probabilité {_prob(top.score)})"
              + (f" ; {flag}" if flag else ""))
    siret = ctx.ident.siret if top.siren == ctx.ident.siren else None
    return Resolution(siren=top.siren, siret=siret, method=method, score=top.score, status=Status.REVIEW,
                      margin=ctx.margin, reason=reason, id_flag=flag, candidates=_shown_candidates(ctx),
                      p_none=ctx.p_none, doubt=doubt, lacks_typed_form=bool(lacking))


RULES: tuple[Rule, ...] = (
    rule_nothing_to_match,
    rule_identifier_without_name,
    rule_no_candidate,
    rule_identifier_shares_a_word,
    rule_legal_form_contradicted,
    rule_homonyms_need_a_place,
    rule_identifier_contradicted,
    rule_identifier_set_aside,
    rule_added_word_needs_a_look,
    rule_confident_match,
    rule_confident_none,
    rule_uncertain,
)


# -- review what is uncertain AND matters ---------------------------------------------------
# Doubts about WHICH of the candidates the supplier is; the other doubts (a word of the typed name
# the unit lacks, a name that names no one, an identifier contradicted by the name of its own
# unit) are doubts about whether the supplier is among the candidates at all: a person looks.
SETTLEABLE_RULES = frozenset({"rule_homonyms_need_a_place", "rule_identifier_set_aside", "rule_uncertain"})
# A decision « by outcome » holds only when the candidates of another ESS outcome (or of an outcome
# that depends on the date or is unknown) weigh together at most this much: such an outcome lies
# outside the line's own 90 % interval (5 % on each side), so deciding cannot move the figure there.
# « LE RELAIS », a SARL at 0.75 and a SCOP at 0.19, is no such case: the decision moves the ESS
# figure one time in five.
OTHER_OUTCOME_MAX = 0.05


def settle_by_outcome(res: Resolution, outcome_of: Mapping[str, Hashable | None], accept: float,
                      id_siren: str | None = None, amount_eur: float | None = None,
                      materiality_eur: float = 0.0) -> Resolution:
    """A line in review whose decision cannot change the ESS figure needs no person: its candidates
    of one ESS outcome are together as likely as the acceptance threshold, the candidates of any
    other outcome weigh together at most OTHER_OUTCOME_MAX (`outcome_of`: the unit's ESS status and
    legal basis, None when it depends on the date or is unknown), and the unit a valid identifier
    designates leads to the same outcome; or its amount is under `materiality_eur`. It is matched
    to its best candidate, flagged `without_review`, its candidates' probabilities kept for the
    estimate and the interval (the extreme bounds keep every candidate)."""
    if res.status != Status.REVIEW or not res.candidates or res.rule not in SETTLEABLE_RULES:
        return res
    top = res.candidates[0]
    if top.features.get("legal_conflict"):
        return res  # the typed legal form fits none of them: the supplier may be another unit
    if res.lacks_typed_form:
        return res  # « L ATELIER COOPERATIF »: the supplier may be a coopérative none of them is
    if materiality_eur > 0 and amount_eur is not None and abs(amount_eur) < materiality_eur:
        why = "montant sous le seuil d'importance, les probabilités des candidats gardées"
    else:
        outcome = outcome_of.get(top.siren)
        if outcome is None or (id_siren is not None and outcome_of.get(id_siren) != outcome):
            return res
        p_same = sum(c.score for c in res.candidates if outcome_of.get(c.siren) == outcome)
        p_other = sum(c.score for c in res.candidates if outcome_of.get(c.siren) != outcome)
        if p_same < accept or p_other > OTHER_OUTCOME_MAX:
            return res  # every plausible candidate must share the outcome, not just the likeliest ones
        why = (f"tous les candidats plausibles ont la même issue ESS, à {_prob(min(p_same, 1.0))} ; "
               f"une autre issue : {_prob(p_other)}")
    reason = (f"Décidé sans vérification ({why}) : {_quoted(top.name)} retenu (probabilité {_prob(top.score)}), "
              f"malgré le doute ({res.doubt or 'confiance sous le seuil'})" + (f" ; {res.id_flag}" if res.id_flag else ""))
    return replace(res, status=Status.MATCHED, without_review=True, reason=reason)
