"""A commune typed at the end of a supplier's name ("LES AMIS DU VELO TOULOUSE", "X (ALBI)",
"X / TOULOUSE"): buyers' files add where the supplier works to tell their own tiers apart. Such a
word says where, not who: compared as a word of the name, it makes the supplier's own unit look
like another one."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from achats.names import ABBREVIATIONS, STOP_WORDS, fold, raw_tokens
from achats.paths import reference_dir

MIN_LETTERS = 3  # "Y", "EU", "OZ" are communes too, and words of many names
SEPARATORS = ("/", "(", " - ")
COG_FILE = "cog_communes_departements_regions.parquet"
# communes() computed once from COG_FILE and shipped beside it (python -m achats.places): a run
# reads it instead of tokenising ~35 000 names. Bump WORDS_FORMAT when the tokenisation changes.
WORDS_FILE = "cog_communes_mots.json"
WORDS_FORMAT = 1


@dataclass(frozen=True)
class NamedPlace:
    """The commune a typed name ends with, the départements it may be in, and the name without it."""

    words: tuple[str, ...]
    departements: frozenset[str]
    rest: str  # the typed name without the place (folded)
    separated: bool  # after a slash, in brackets or after " - ": said as a place, not as a word


@dataclass(frozen=True)
class Communes:
    """Commune names of the Code officiel géographique, as raw_tokens() gives them (one space
    apart), each to the départements holding one (comma-separated: a frozenset is made only for
    the few places a typed name ends with, not for ~35 000 names)."""

    departements: dict[str, str]
    longest: int  # words of the longest name
    after_sainte: frozenset[str]  # words following SAINTE in a name (SAINTE-ANNE, SAINTE-FOY…)


def words_fingerprint(cog: bytes) -> str:
    """What communes() depends on besides its code: the COG file's bytes, the abbreviations
    expanded in the names, MIN_LETTERS and WORDS_FORMAT. The precomputed file is read only
    under the fingerprint of the files and constants of this run."""
    digest = hashlib.sha256(cog)
    digest.update(json.dumps([sorted(ABBREVIATIONS.items()), MIN_LETTERS, WORDS_FORMAT]).encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def communes() -> Communes:
    """The COG's communes, as WORDS_FILE holds them when it was computed from this COG with these
    abbreviations (a fresh process reads it in ~0,01 s of processor time, where tokenising the
    names costs ~0,07 s), else tokenised here (communes_from_cog): the same table either way."""
    ref = reference_dir()
    cog = (ref / COG_FILE).read_bytes()
    try:
        saved = json.loads((ref / WORDS_FILE).read_text(encoding="utf-8"))
        if saved["fingerprint"] == words_fingerprint(cog) and isinstance(saved["departements"], dict):
            return Communes(saved["departements"], int(saved["longest"]), frozenset(saved["after_sainte"]))
    except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: computed, as before
        pass
    return communes_from_cog(cog)


def communes_from_cog(cog: bytes) -> Communes:
    """The COG's communes (the bytes of COG_FILE), tokenised by polars over the whole column: one
    run reads ~35 000."""
    df = pl.read_parquet(io.BytesIO(cog), columns=["commune_nom", "departement_code"])
    words = (pl.col("commune_nom").str.replace_all("œ", "oe").str.replace_all("Œ", "OE").str.normalize("NFKD")
             .str.replace_all(r"\p{M}", "").str.to_uppercase().str.replace_all("&", " ET ", literal=True)
             .str.replace_all("+", " ET ", literal=True).str.extract_all(r"[A-Z0-9]+")
             .list.eval(pl.element().replace(ABBREVIATIONS)))
    g = (df.select(words.list.join(" ").alias("words"), "departement_code")
         .filter(pl.col("words").str.replace_all(" ", "", literal=True).str.len_chars() >= MIN_LETTERS)
         .group_by("words").agg("departement_code").with_columns(pl.col("departement_code").list.join(",")))
    spaces = g["words"].str.count_matches(" ", literal=True).max()
    with_sainte = [w.split() for w in g.filter(pl.col("words").str.contains("SAINTE ", literal=True))["words"]]
    return Communes(dict(zip(g["words"].to_list(), g["departement_code"].to_list(), strict=True)),
                    0 if spaces is None else int(spaces) + 1,
                    frozenset(k[i + 1] for k in with_sainte for i in range(len(k) - 1) if k[i] == "SAINTE"))


def write_words_file() -> None:
    """Compute communes() from the COG and write it to WORDS_FILE (after a new COG, or a change of
    the abbreviations or of the tokenisation: tests/test_fastmatch_communes.py says when)."""
    ref = reference_dir()
    cog = (ref / COG_FILE).read_bytes()
    c = communes_from_cog(cog)
    saved = {"fingerprint": words_fingerprint(cog), "longest": c.longest, "after_sainte": sorted(c.after_sainte),
             "departements": dict(sorted(c.departements.items()))}
    (ref / WORDS_FILE).write_text(json.dumps(saved, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def _commune_suffix(tokens: list[str]) -> tuple[str, ...] | None:
    """The longest run of final tokens that is a commune's name (leaving at least one token)."""
    cog = communes()
    for k in range(min(cog.longest, len(tokens) - 1), 0, -1):
        if " ".join(tokens[-k:]) in cog.departements:
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
        if head.strip() and tail_tokens and " ".join(tail_tokens) in communes().departements:
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
    return NamedPlace(words, frozenset(communes().departements[" ".join(words)].split(",")), rest, separated)


if __name__ == "__main__":  # python -m achats.places: writes WORDS_FILE
    write_words_file()
