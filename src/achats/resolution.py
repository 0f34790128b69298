"""Link each supplier as typed in a payment export to a SIREN, and say why.

Identifiers are checked first (and doubted when they contradict the name); names are then
matched exactly, and finally fuzzily inside a block of candidates that share a rare token with
the query, so that the cost grows with the block, not with the size of SIRENE.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from achats.config import Thresholds
from achats.identifiers import clean_identifier
from achats.names import GENERIC, acronym, normalize

MAX_POSTING = 5_000  # a token shared by more names than this is not a useful block
MAX_BLOCK = 2_000
PREFILTER_KEEP = 40  # candidates kept by the fast C-level scorers before the full score
TOP_K = 3
TRUNCATION_MIN_LENGTH = 24  # accounting software cuts names at 25-40 characters


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


def is_uninformative(normalized: str) -> bool:
    """A name made only of legal forms, filler or generic words identifies no one ("SA", "SOCIETE")."""
    from achats.names import LEGAL_FORMS, STOP_WORDS

    return all(t in LEGAL_FORMS or t in STOP_WORDS or t in GENERIC or len(t) <= 1 for t in normalized.split())


@dataclass(frozen=True)
class RefName:
    """One name SIRENE knows for a unit (legal name, sigle, usual name, sign)."""

    siren: str
    siret: str | None
    name: str
    kind: str  # denomination | sigle | usuel | enseigne
    private: bool = False  # the unit, or the establishment carrying this name, is non-diffusible


@dataclass
class SirenInfo:
    departements: set[str] = field(default_factory=set)
    is_active: bool = True
    label: str = ""


@dataclass
class Candidate:
    siren: str
    score: float
    name: str  # shown in reasons and review files: masked for non-diffusible units
    norm: str = ""  # the normalised reference name it was scored on (homonym test), never shown


@dataclass
class Resolution:
    siren: str | None
    siret: str | None
    method: str  # siret | siren | name_exact | name_fuzzy | override | unmatched
    score: float
    status: str  # matched | review | unmatched
    margin: float | None
    reason: str
    id_flag: str | None = None
    candidates: list[Candidate] = field(default_factory=list)


def supplier_key(name: str | None, siret_raw: str | None, departement: str | None = None) -> str:
    """Lines with the same normalised name, identifier and place are resolved once."""
    siret, siren = clean_identifier(siret_raw)
    ident = siret or siren or (siret_raw or "").strip()
    raw = "\x1f".join([normalize(name), ident, departement or ""])
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


class ResolverIndex:
    """In-memory blocking index over every name of every reference unit."""

    def __init__(self, names: Iterable[RefName], info: dict[str, SirenInfo], sirets: dict[str, str],
                 private: set[str] | None = None):
        self.info = info
        self.sirets = sirets  # siret -> siren
        self.private = set(private or ())  # non-diffusible SIRENs: their names never go into text
        self.private_entries: set[int] = set()  # names of non-diffusible establishments
        self.entries: list[tuple[str, str, str | None, str]] = []  # (norm, siren, siret, raw)
        self.exact: dict[str, set[str]] = defaultdict(set)
        self.sigles: dict[str, set[str]] = defaultdict(set)
        self.sigle_of: dict[str, set[str]] = defaultdict(set)
        self.by_siren: dict[str, list[int]] = defaultdict(list)
        postings: dict[str, list[int]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for ref in names:
            norm = normalize(ref.name)
            if not norm:
                continue
            if ref.kind == "sigle":
                self.sigles[norm.replace(" ", "")].add(ref.siren)
                self.sigle_of[ref.siren].add(norm.replace(" ", ""))
                continue
            if (norm, ref.siren) in seen and ref.siret is None:
                continue
            seen.add((norm, ref.siren))
            idx = len(self.entries)
            self.entries.append((norm, ref.siren, ref.siret, ref.name))
            if ref.private:
                self.private_entries.add(idx)
            self.by_siren[ref.siren].append(idx)
            self.exact[norm].add(ref.siren)
            for tok in set(norm.split()):
                postings[tok].append(idx)
        self.postings = dict(postings)
        self.vocab = sorted(self.postings)
        self.vocab_by_start: dict[str, list[str]] = defaultdict(list)
        for tok in self.vocab:  # typo search among tokens sharing the first two letters
            self.vocab_by_start[tok[:2]].append(tok)
        self.comparisons = 0
        self.crowded: set[str] = set()  # typed names whose candidate block was truncated

    # -- blocking ------------------------------------------------------------------------
    def _token_postings(self, tok: str, is_last: bool) -> list[int]:
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
            for near, _, _ in process.extract(tok, bucket, scorer=fuzz.ratio, score_cutoff=80, limit=3):
                out.extend(self.postings[near])
        return out

    def block(self, query: str) -> set[int]:
        tokens = query.split()
        lists = [(t, self._token_postings(t, i == len(tokens) - 1)) for i, t in enumerate(tokens)]
        lists = [(t, p) for t, p in lists if p]
        specific = [(t, p) for t, p in lists if t not in GENERIC and len(p) <= MAX_POSTING]
        use = sorted(specific or lists, key=lambda tp: len(tp[1]))[:3]
        found: set[int] = set()
        for _, p in use:
            found.update(p[:MAX_BLOCK])
            if len(found) >= MAX_BLOCK:
                break
        return found

    def _prefilter(self, query: str, block: set[int], truncated: bool) -> list[int]:
        """Keep the block's best few by rapidfuzz's C scorers, so the full score runs on ~100 names."""
        ids = sorted(block)
        if len(ids) <= 2 * PREFILTER_KEEP:
            return ids
        norms = [self.entries[i][0] for i in ids]
        keep: set[int] = set()
        scorers = [fuzz.token_set_ratio, fuzz.token_sort_ratio]
        if truncated:
            scorers.append(fuzz.partial_ratio)
        for scorer in scorers:
            for _, _, k in process.extract(query, norms, scorer=scorer, limit=PREFILTER_KEEP):
                keep.add(ids[k])
        self.comparisons += len(ids) * len(scorers)
        return sorted(keep)

    # -- scoring -------------------------------------------------------------------------
    def _score(self, query: str, cand: str, maybe_truncated: bool = False) -> float:
        self.comparisons += 1
        s = 0.5 * fuzz.token_sort_ratio(query, cand) + 0.5 * fuzz.token_set_ratio(query, cand)
        s = max(s, fuzz.ratio(query, cand))
        if maybe_truncated and len(cand) > len(query):  # cut by accounting software: compare the prefix
            s = max(s, 0.97 * fuzz.ratio(query, cand[: len(query)]))
        return s / 100

    def _place_adjust(self, siren: str, departements: list[str]) -> float:
        info = self.info.get(siren)
        if info is None:
            return 0.0
        adj = 0.0
        if any(d and d in info.departements for d in departements):
            adj += 0.03
        if not info.is_active:
            adj -= 0.03
        return adj

    def name_similarity(self, name: str, siren: str) -> float:
        """How well a typed name agrees with the names SIRENE knows for an identifier's unit.

        Token agreement rather than a global ratio: two unrelated names that share a generic word
        ("... SERVICES") or a prefix must not vouch for a wrong SIRET.
        """
        q = normalize(name)
        best = 0.0
        for norm, _, _, _ in self._entries_of(siren):
            best = max(best, token_agreement(q, norm))
        sigles = self.sigle_of.get(siren, set())
        if q.replace(" ", "") in sigles:
            best = 1.0
        elif acronym(name) and acronym(name) in sigles:
            best = max(best, 0.95)
        return best

    def label(self, siren: str, fallback: str = "") -> str:
        """The name text may show for a SIREN: masked when the unit is non-diffusible."""
        if siren in self.private:
            return private_label(siren)
        return self.info.get(siren, SirenInfo()).label or fallback or siren

    def _shown(self, idx: int) -> str:
        _, siren, _, raw = self.entries[idx]
        return private_label(siren) if siren in self.private or idx in self.private_entries else raw

    def _entries_of(self, siren: str) -> list[tuple[str, str, str | None, str]]:
        return [self.entries[i] for i in self.by_siren.get(siren, [])]

    def candidates(self, name: str, departements: list[str]) -> list[Candidate]:
        q = normalize(name)
        if not q:
            return []
        truncated = len(name.strip()) >= TRUNCATION_MIN_LENGTH
        best: dict[str, Candidate] = {}
        for i in self._prefilter(q, self.block(q), truncated):
            norm, siren, _, raw = self.entries[i]
            score = min(1.0, self._score(q, norm, truncated) + self._place_adjust(siren, departements))
            if siren not in best or score > best[siren].score:
                best[siren] = Candidate(siren, score, self._shown(i), norm)
        q_compact = q.replace(" ", "")
        for siren in self.sigles.get(q_compact, ()):  # the line gives the sigle only
            score = min(1.0, 0.96 + self._place_adjust(siren, departements))
            if siren not in best or score > best[siren].score:
                best[siren] = Candidate(siren, score, self.label(siren, q),
                                        normalize(self.info.get(siren, SirenInfo()).label or q))
        return sorted(best.values(), key=lambda c: (-c.score, c.siren))

    # -- decision ------------------------------------------------------------------------
    def resolve(self, name: str | None, siret_raw: str | None, line_dep: str | None,
                buyer_dep: str | None, thr: Thresholds) -> Resolution:
        """Identifier first; a name that contradicts it sends the line to review unless the
        name alone designates one unit without doubt (then the identifier is flagged as a typo)."""
        siret, siren = clean_identifier(siret_raw)
        id_flag = None
        if siret_raw and not siret and not siren:
            id_flag = "identifiant invalide (longueur ou clé de contrôle)"
        elif siret_raw and siren and not siret and len("".join(c for c in siret_raw if c.isdigit())) >= 13:
            id_flag = "SIRET invalide, SIREN retenu"
        by_id = None
        if siret and siret in self.sirets:
            by_id = ("siret", self.sirets[siret], siret, "SIRET connu de SIRENE")
        elif siren and siren in self.info:
            how = "SIREN issu d'un SIRET inconnu" if siret or id_flag else "SIREN connu de SIRENE"
            by_id = ("siren", siren, None, how)
        elif siret or siren:
            id_flag = id_flag or "identifiant valide mais absent du référentiel SIRENE chargé"
        if by_id:
            method, id_siren, id_siret, how = by_id
            if not name:
                return Resolution(id_siren, id_siret, method, 1.0, "matched", None, how, id_flag)
            sim = self.name_similarity(name, id_siren)
            if sim >= thr.siret_name_min:
                return Resolution(id_siren, id_siret, method, 1.0 if sim >= 0.8 else 0.95, "matched", None,
                                  f"{how} ; nom cohérent (similarité {_fr(sim)})", id_flag)
            by_name = self.resolve_name(name, line_dep, buyer_dep, thr)
            label = self.label(id_siren)
            flag = f"l'identifiant désigne {_quoted(label)}, qui contredit le nom saisi (similarité {_fr(sim)})"
            cands = [c for c in by_name.candidates if c.siren != id_siren] + [Candidate(id_siren, sim, label)]
            if by_name.status == "matched" and by_name.method == "name_exact" and "homonymes" not in by_name.reason:
                return Resolution(by_name.siren, None, "name_exact", 0.95, "matched", None,
                                  f"{by_name.reason} ; identifiant écarté : {flag}", flag, cands[:TOP_K])
            if by_name.status == "matched":
                return Resolution(by_name.siren, None, by_name.method, by_name.score, "review",
                                  by_name.margin, f"À vérifier : {flag} ; le nom désigne un autre SIREN",
                                  flag, cands[:TOP_K])
            return Resolution(id_siren, id_siret, method, sim, "review", None,
                              f"À vérifier : {flag}", flag, ([Candidate(id_siren, sim, label)] + cands)[:TOP_K])
        res = self.resolve_name(name, line_dep, buyer_dep, thr)
        res.id_flag = id_flag
        if id_flag:
            res.reason = f"{res.reason} ({id_flag})"
        return res

    def _in(self, siren: str, dep: str | None) -> bool:
        return bool(dep) and dep in self.info.get(siren, SirenInfo()).departements

    def resolve_name(self, name: str | None, line_dep: str | None, buyer_dep: str | None,
                     thr: Thresholds) -> Resolution:
        q = normalize(name)
        if not q:
            return Resolution(None, None, "unmatched", 0.0, "unmatched", None, "Ni nom ni identifiant exploitable")
        deps = [d for d in (line_dep, buyer_dep) if d]
        exact = sorted(self.exact.get(q, ()))
        # the typed name is the name of a non-diffusible unit: text says "ce nom", never the name
        shown = "ce nom" if any(s in self.private for s in exact) else f"« {name} »"
        if exact and is_uninformative(q):
            cands = [Candidate(s, 0.5, self.label(s, q), q) for s in exact]
            return Resolution(exact[0], None, "name_exact", 0.5, "review", 0.0,
                              f"À vérifier : le nom {shown} ne désigne personne en particulier", None, cands[:TOP_K])
        if exact:
            cands = [Candidate(s, 1.0, self.label(s, q), q) for s in exact]
            if len(exact) == 1 and name in self.crowded:
                return Resolution(exact[0], None, "name_exact", 0.9, "review", 0.0,
                                  "À vérifier : nom identique, mais SIRENE compte trop de noms proches pour trancher",
                                  None, cands)
            if len(exact) == 1:
                return Resolution(exact[0], None, "name_exact", 1.0, "matched", None,
                                  "Nom identique après normalisation", None, cands)
            active = [s for s in exact if self.info.get(s, SirenInfo()).is_active]
            at_line = [s for s in (active or exact) if self._in(s, line_dep)]
            if len(at_line) == 1:
                return Resolution(at_line[0], None, "name_exact", 0.97, "matched", None,
                                  f"Nom identique ; {len(exact)} homonymes départagés par la commune de la ligne",
                                  None, cands[:TOP_K])
            local = [s for s in (active or exact) if self._in(s, buyer_dep)]
            # the buyer's département or the only active unit is a hint, not proof: propose, do not accept
            proposal = local[0] if len(local) == 1 else (active[0] if len(active) == 1 else None)
            ordered = sorted(cands, key=lambda c: (c.siren != proposal, c.siren))
            return Resolution(proposal, None, "name_exact", 0.9 if proposal else 0.5, "review", 0.0,
                              f"Homonymes : {len(exact)} SIREN portent " + ("ce nom" if shown == "ce nom" else f"le nom « {q} »")
                              + (" ; le seul du département ou le seul actif est proposé" if proposal
                                 else " sans lieu pour les départager"),
                              None, ordered[:TOP_K])
        cands = self.candidates(name, deps)
        if not cands:
            return Resolution(None, None, "unmatched", 0.0, "unmatched", None, "Aucun candidat dans SIRENE")
        top = cands[0]
        runner = cands[1].score if len(cands) > 1 else 0.0
        margin = top.score - runner
        twin = len(cands) > 1 and (cands[1].norm or normalize(cands[1].name)) == (top.norm or normalize(top.name))
        one_word = len(q.split()) == 1 and top.score < 0.95  # a typo in a one-word name may be another name
        crowded = name in self.crowded
        if top.score >= thr.accept and margin >= thr.min_margin and not twin and not one_word and not crowded:
            return Resolution(top.siren, None, "name_fuzzy", top.score, "matched", margin,
                              f"Nom proche de {_quoted(top.name)} (score {_fr(top.score)}, écart {_fr(margin)})",
                              None, cands[:TOP_K])
        if top.score >= thr.review:
            why = ("homonymes" if twin else "trop de noms proches dans SIRENE" if crowded
                   else "écart trop faible avec le 2e candidat" if margin < thr.min_margin
                   else "nom d'un seul mot, proche mais pas identique" if one_word
                   else "score sous le seuil d'acceptation")
            return Resolution(None, None, "name_fuzzy", top.score, "review", margin,
                              f"À vérifier ({why}) : meilleur candidat : {_quoted(top.name)} (score {_fr(top.score)})",
                              None, cands[:TOP_K])
        return Resolution(None, None, "unmatched", top.score, "unmatched", margin,
                          f"Aucun candidat assez proche (meilleur : {_quoted(top.name)}, score {_fr(top.score)})",
                          None, cands[:TOP_K])
