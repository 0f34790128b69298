"""Other spellings of a typed name's words under which its unit may be filed.

Candidate generation asks the register for units sharing a rare word with the typed name; a word
typed glued, split, spelt with a slip of the fingers or cut short is then a word the register
does not hold. These pure helpers give the keys to ask for instead; the DuckDB blocking
(`achats.blocking`) and the in-memory one (`achats.resolution.ResolverIndex.block`) both use them,
so that both routes find the same units. The match model, not these keys, judges the candidates.
"""

from __future__ import annotations

from rapidfuzz.distance import OSA

SUSPECT_DF = 100  # a word the register knows is looked at as a possible typo only if this rare: slips make rare words
TYPO_POOL = 10  # close spellings (ratio >= 80) read before keeping the fewest keystrokes away
MIN_PART = 3  # a glued word is split only into parts of at least this many letters
MIN_SPLIT = 2 * MIN_PART


def joined_keys(tokens: list[str]) -> list[str]:
    """Words the typed name may have split: two neighbouring words glued ("ELECTRO SERVICE" ->
    ELECTROSERVICE), and a run of single letters read as the acronym they spell ("G T P" -> GTP)."""
    keys: list[str] = []
    i = 0
    while i < len(tokens):  # runs of two or more single letters
        j = i
        while j < len(tokens) and len(tokens[j]) == 1:
            j += 1
        if j - i >= 2:
            keys.append("".join(tokens[i:j]))
        i = max(j, i + 1)
    keys += [a + b for a, b in zip(tokens, tokens[1:], strict=False) if len(a) >= 2 and len(b) >= 2]
    return list(dict.fromkeys(keys))


def split_keys(token: str) -> list[tuple[str, str]]:
    """Cuts of a word the typed name may have glued ("ELECTROSERVICE" -> ELECTRO + SERVICE): every
    cut leaving MIN_PART letters or more on each side; the caller keeps those whose two parts are
    both words of the register."""
    if len(token) < MIN_SPLIT or not token.isalpha():
        return []
    return [(token[:k], token[k:]) for k in range(MIN_PART, len(token) - MIN_PART + 1)]


def fewest_keystrokes(token: str, spellings: list[str], limit: int = 3) -> list[str]:
    """The `limit` spellings fewest keystrokes away from the typed word (optimal string alignment:
    a swap of two neighbouring letters is one slip, as a letter dropped, added or changed), the
    given order (closest by letters first) breaking ties. A ratio on letters counts a swap twice:
    "LUMIKNO" would keep LUMINO, LUMFINO and LUMINOV, each as close, before LUMKINO."""
    return sorted(spellings, key=lambda s: OSA.distance(token, s))[:limit]
