"""A commune typed at the end of a supplier's name ("LES AMIS DU VELO TOULOUSE", "X (ALBI)",
"X / TOULOUSE"): buyers' files add where the supplier works to tell their own tiers apart. Such a
word says where, not who: compared as a word of the name, it makes the supplier's own unit look
like another one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from achats.names import ABBREVIATIONS, STOP_WORDS, fold, raw_tokens
from achats.paths import reference_dir

MIN_LETTERS = 3  # "Y", "EU", "OZ" are communes too, and words of many names
SEPARATORS = ("/", "(", " - ")


@dataclass(frozen=True)
class NamedPlace:
    """The commune a typed name ends with, the départements it may be in, and the name without it."""

    words: tuple[str, ...]
    departements: frozenset[str]
    rest: str  # the typed name without the place (folded)
    separated: bool  # after a slash, in brackets or after " - ": said as a place, not as a word


@lru_cache(maxsize=1)
def communes() -> dict[tuple[str, ...], frozenset[str]]:
    """Commune names of the Code officiel géographique, as raw_tokens() gives them, to the
    départements holding one. Tokenised by polars over the whole column: one run reads ~35 000."""
    df = pl.read_parquet(reference_dir() / "cog_communes_departements_regions.parquet",
                         columns=["commune_nom", "departement_code"])
    words = (pl.col("commune_nom").str.replace_all("œ", "oe").str.replace_all("Œ", "OE").str.normalize("NFKD")
             .str.replace_all(r"\p{M}", "").str.to_uppercase().str.replace_all("&", " ET ", literal=True)
             .str.replace_all("+", " ET ", literal=True).str.extract_all(r"[A-Z0-9]+")
             .list.eval(pl.element().replace(ABBREVIATIONS)))
    g = (df.select(words.list.join(" ").alias("words"), "departement_code")
         .filter(pl.col("words").str.replace_all(" ", "", literal=True).str.len_chars() >= MIN_LETTERS)
         .group_by("words").agg("departement_code"))
    return {tuple(w.split()): frozenset(d) for w, d in zip(g["words"].to_list(), g["departement_code"].to_list(),
                                                            strict=True)}


@lru_cache(maxsize=1)
def _longest() -> int:
    return max((len(k) for k in communes()), default=0)


def _commune_suffix(tokens: list[str]) -> tuple[str, ...] | None:
    """The longest run of final tokens that is a commune's name (leaving at least one token)."""
    known = communes()
    for k in range(min(_longest(), len(tokens) - 1), 0, -1):
        if tuple(tokens[-k:]) in known:
            return tuple(tokens[-k:])
    return None


@lru_cache(maxsize=100_000)
def trailing_place(name: str | None) -> NamedPlace | None:
    """The commune named last in a typed name, if any: the whole text after a slash, in brackets or
    after " - ", or the last words. None when what is left names no one (the name is the place)."""
    text = fold(name or "")
    for sep in SEPARATORS:
        head, _, tail = text.partition(sep)
        tail_tokens = [t for t in raw_tokens(tail) if t not in STOP_WORDS]
        if head.strip() and tail_tokens and tuple(tail_tokens) in communes():
            return _place(tuple(tail_tokens), head, separated=True)
    tokens = raw_tokens(text)
    words = _commune_suffix(tokens)
    if words is None:
        return None
    return _place(words, " ".join(tokens[:-len(words)]), separated=False)


def _place(words: tuple[str, ...], rest: str, separated: bool) -> NamedPlace | None:
    kept = [t for t in raw_tokens(rest) if t not in STOP_WORDS and len(t) > 1]
    if not kept:
        return None
    return NamedPlace(words, communes()[words], rest, separated)
