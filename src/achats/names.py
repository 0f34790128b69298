"""Normalise French organisation names so that spellings of one supplier compare equal.

Written here rather than taken from `cleanco`: cleanco strips legal-form suffixes at the end of
English-style names only, while payment exports put French forms anywhere ("SARL DUPONT",
"STE X SAS"), abbreviate words (ASSOC, ETS, STE) and cut names at 30-40 characters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import polars as pl
from rapidfuzz.distance import OSA, Hamming

# Expanded before anything is removed, so "ASSOC" and "ASSOCIATION" meet.
ABBREVIATIONS: dict[str, str] = {
    "ASSOC": "ASSOCIATION", "ASSO": "ASSOCIATION", "ASS": "ASSOCIATION", "ASSOS": "ASSOCIATION",
    "ASSN": "ASSOCIATION", "ETS": "ETABLISSEMENTS", "ETABL": "ETABLISSEMENTS", "ETAB": "ETABLISSEMENTS",
    "ETABLISSEMENT": "ETABLISSEMENTS", "CIE": "COMPAGNIE", "FED": "FEDERATION", "FEDE": "FEDERATION",
    "ST": "SAINT", "STE": "SOCIETE", "SOC": "SOCIETE", "STES": "SOCIETE", "INTERNAT": "INTERNATIONAL",
    "INTL": "INTERNATIONAL", "DEPT": "DEPARTEMENT", "DEPART": "DEPARTEMENT", "DEP": "DEPARTEMENT",
    "REG": "REGIONAL", "NAT": "NATIONAL", "COOP": "COOPERATIVE", "COOPERATIF": "COOPERATIVE",
    "COOPERATIFS": "COOPERATIVE", "COOPERATIVES": "COOPERATIVE", "CTRE": "CENTRE", "CENT": "CENTRE",
    "SCE": "SERVICE", "SERV": "SERVICES", "SERVICE": "SERVICES", "GPT": "GROUPEMENT",
    "GRPT": "GROUPEMENT", "MUT": "MUTUELLE", "FOND": "FONDATION", "FONDAT": "FONDATION",
    "DEV": "DEVELOPPEMENT", "DEVELOP": "DEVELOPPEMENT", "INSERT": "INSERTION", "ENTR": "ENTREPRISE",
    "ENTREP": "ENTREPRISE", "ENTREPRISES": "ENTREPRISE", "TRAV": "TRAVAUX", "BAT": "BATIMENT",
    "AMENAG": "AMENAGEMENT", "TLSE": "TOULOUSE", "INFO": "INFORMATIQUE", "CIAL": "COMMERCIAL",
    "GAL": "GENERAL", "GLE": "GENERALE", "MED": "MEDICAL", "PROF": "PROFESSIONNEL",
}
# Legal forms and filler words: they say how a supplier is organised, not who it is.
LEGAL_FORMS = frozenset({
    "SARL", "SAS", "SASU", "EURL", "SA", "SNC", "SCS", "SCA", "SCOP", "SCIC", "SCI", "SCM", "SCP",
    "GIE", "GIP", "SELARL", "SELAS", "SELAFA", "SEM", "SPL", "SOCIETE", "EI", "EIRL", "SE",
    "ANONYME", "SIMPLIFIEE", "RESPONSABILITE", "LIMITEE", "ACTIONS", "UNIPERSONNELLE",
    "CIVILE", "IMMOBILIERE", "COOPERATIVE", "PARTICIPATIVE", "INTERET", "COLLECTIF", "LOI", "1901",
    "ETABLISSEMENTS",  # "Ets Martin" is Martin's business, as "SARL Martin" is
})
STOP_WORDS = frozenset({
    "DE", "DU", "DES", "LA", "LE", "LES", "L", "D", "ET", "EN", "AU", "AUX", "A", "PAR", "POUR",
    "SUR", "SOUS", "DANS", "UN", "UNE", "THE", "OF", "AND", "CHEZ", "C", "O",
    "M", "MR", "MME", "MLLE", "MM", "MONSIEUR", "MADAME", "MADEMOISELLE",  # civilities of sole traders
})
# Words so generic that they never identify a supplier on their own (kept in the name, not indexed).
GENERIC = frozenset({"ASSOCIATION", "ETABLISSEMENTS", "COMPAGNIE", "FEDERATION", "ENTREPRISE",
                     "SERVICES", "GROUPE", "FRANCE", "CENTRE", "UNION", "GROUPEMENT"})
ESS_MARKERS = frozenset({"ASSOCIATION", "MUTUELLE", "FONDATION", "SCOP", "SCIC", "COOPERATIVE",
                         "ESAT", "INSERTION", "SOLIDAIRE", "SOLIDARITE", "CUMA", "GEIQ", "ADAPTEE"})

_SPLIT = re.compile(r"[^A-Z0-9]+")
_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,}")
_STE_JOINED = re.compile(r"\bSTE-([A-Z]+)")  # « STE-ROSE », « STE-CROIX »: hyphenated as a commune or a saint


def fold(text: str) -> str:
    """Upper-case ASCII: accents, ligatures and typographic quotes removed."""
    if text.isascii():  # nothing to decompose: the same result, without the per-character pass
        return text.upper()
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE").replace("ß", "ss"))
    return "".join(c for c in text if not unicodedata.combining(c)).upper()


# Feminine saints' names common in French organisation names but in no commune's name (parishes,
# schools, clinics); the others come from the communes « SAINTE-X » of the COG (`saints`).
_SAINTS_OUTSIDE_COMMUNES = frozenset({
    "THERESE", "BERNADETTE", "JEANNE", "CLAIRE", "ODILE", "MADELEINE", "URSULE", "FAMILLE", "ELISABETH",
    "SOPHIE", "EMILIE", "CLOTILDE", "GERMAINE", "ANGELE", "MONIQUE", "JULIENNE", "THECLE", "BATHILDE",
})


# Words after SAINTE in commune names (`saints`) that are first of all ordinary French nouns or
# adjectives (SAINTE-TERRE, SAINTE-ROSE, SAINTE-CROIX, SAINTE-MERE-EGLISE, SAINTE-REINE…): at the
# start of a name, « STE TERRE DE FRANCE » or « STE ROSE BTP » is a société named with that word,
# not a saint. Inside a name (« PAROISSE STE CROIX ») they stay saints.
_SAINTS_ALSO_COMMON_WORDS = frozenset({
    "ADRESSE", "BAUME", "CROIX", "GEMME", "GEMMES", "HERMINE", "JALLE", "MEME", "MERE", "OLIVE",
    "OPPORTUNE", "POLE", "PREUVE", "RAMEE", "REINE", "ROSE", "SEVE", "SEVERE", "TERRE", "TRIE", "TULLE",
    "VERGE", "VERTU",
})


@lru_cache(maxsize=1)
def saints() -> frozenset[str]:
    """Words that follow SAINTE in the names of French communes (SAINTE-ANNE, SAINTE-CECILE,
    SAINTE-FOY…), plus common feminine saints no commune is named after: after « STE », such a
    word makes it Sainte, not société. From the communes the matcher reads anyway (achats.places)."""
    # places imports this module: imported when first asked
    from achats.places import communes

    return communes().after_sainte | _SAINTS_OUTSIDE_COMMUNES


def _is_sainte(tokens: list[str], i: int) -> bool:
    """« STE » (tokens[i]) stands for Sainte inside a name, after a word that is no legal form nor
    filler (« PAROISSE STE X », « CHORALE STE CECILE »); where a legal form would stand (first, or
    after a form or filler word), only before a saint's first name (« STE GENEVIEVE ACCUEIL »,
    « SARL STE MARIE »), not before a saint's word that is also an ordinary one (« STE TERRE DE
    FRANCE », « STE ROSE BTP »: société); otherwise it is société (« STE MARTIN BTP », « X STE »)."""
    if i + 1 >= len(tokens):
        return False
    prev = ABBREVIATIONS.get(tokens[i - 1], tokens[i - 1]) if i else ""
    inside = bool(prev) and prev not in LEGAL_FORMS and prev not in STOP_WORDS and not prev.isdigit() \
        and len(prev) >= 2
    nxt = tokens[i + 1]
    if nxt in saints():
        return inside or nxt not in _SAINTS_ALSO_COMMON_WORDS
    return inside


def raw_tokens(name: str) -> list[str]:
    """Tokens after folding and abbreviation expansion, legal forms and stop words still in."""
    text = fold(name).replace("&", " ET ").replace("+", " ET ")
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)  # "S.A.R.L." -> "SARL"
    tokens = [t for t in _SPLIT.split(text) if t]
    if "STE" in tokens:  # Sainte or société, by its neighbours; « STE-ROSE » joined as a commune is the saint
        joined = {m.group(1) for m in _STE_JOINED.finditer(text) if m.group(1) in saints()}
        return ["SAINTE" if t == "STE" and (_is_sainte(tokens, i) or (i + 1 < len(tokens) and tokens[i + 1] in joined))
                else ABBREVIATIONS.get(t, t) for i, t in enumerate(tokens)]
    return [ABBREVIATIONS.get(t, t) for t in tokens]


@lru_cache(maxsize=500_000)
def normalize(name: str | None) -> str:
    """The comparable form of a name: identifying tokens only, in order."""
    if not name:
        return ""
    tokens = raw_tokens(name)
    kept = [t for t in tokens if t not in LEGAL_FORMS and t not in STOP_WORDS]
    if not kept:  # a name made only of filler ("SOCIETE DES EAUX") keeps its words
        kept = [t for t in tokens if t not in STOP_WORDS] or tokens
    return " ".join(kept)


def normalize_many(names: list[str | None]) -> list[str]:
    """normalize() of each name, the same strings, computed by polars over the whole list: the
    reference block holds hundreds of thousands of names. Names outside plain ASCII or with a
    dotted abbreviation ("S.A.R.L.") go through normalize() itself."""
    if not names:
        return []
    return normalize_series(pl.Series("n", names, dtype=pl.String)).to_list()


def normalize_series(names: pl.Series) -> pl.Series:
    """normalize_many() as a polars Series ("" for a null), for callers that stay in polars."""
    if names.len() == 0:
        return pl.Series("norm", [], dtype=pl.String)
    filler = sorted(LEGAL_FORMS | STOP_WORDS)
    stop = sorted(STOP_WORDS)
    tokens = (pl.col("n").str.to_uppercase().str.replace_all("&", " ET ", literal=True)
              .str.replace_all("+", " ET ", literal=True).str.extract_all(r"[A-Z0-9]+")
              .list.eval(pl.element().replace(ABBREVIATIONS)))
    df = pl.DataFrame({"n": names.cast(pl.String)}).with_columns(
        slow=pl.col("n").is_null() | pl.col("n").str.contains(r"[^\x00-\x7F]")
        | pl.col("n").str.to_uppercase().str.contains(r"[A-Z]\.[A-Z]\.|(?:^|[^A-Z0-9])STE(?:[^A-Z0-9]|$)"),
        t=tokens,
    ).with_columns(
        k1=pl.col("t").list.eval(pl.element().filter(~pl.element().is_in(filler))),
        k2=pl.col("t").list.eval(pl.element().filter(~pl.element().is_in(stop))),
    ).select(
        "slow", "n",
        norm=pl.when(pl.col("k1").list.len() > 0).then(pl.col("k1"))
        .when(pl.col("k2").list.len() > 0).then(pl.col("k2")).otherwise(pl.col("t")).list.join(" "),
    )
    slow = df.with_row_index("i").filter(pl.col("slow")).select("i", "n")
    fixed = pl.Series("norm", [normalize(n) for n in slow["n"].to_list()], dtype=pl.String)
    return df["norm"].scatter(slow["i"], fixed).fill_null("").alias("norm")


def has_ess_marker(name: str | None) -> bool:
    """Words that, in a supplier's name, strongly suggest an ESS structure."""
    return bool(name) and any(t in ESS_MARKERS for t in raw_tokens(name))


def swapped_letters(a: str, b: str) -> bool:
    """b is a (5 letters or more) with two neighbouring letters swapped ("JUMFIL" / "JUMIFL"): the
    commonest slip of the fingers, which a ratio on letters scores as two edits. Two C calls: two
    positions differ, and one transposition explains them."""
    return len(a) == len(b) >= 5 and Hamming.distance(a, b, score_cutoff=2) == 2 and OSA.distance(a, b) == 1


def acronym(name: str | None) -> str:
    """Initials of the identifying words, to compare with a SIRENE `sigle`."""
    return "".join(t[0] for t in normalize(name).split() if t and t not in GENERIC)
