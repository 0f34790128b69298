"""Matching quality on the labelled benchmark built from real DECP spellings.

    python bench/match_quality.py

Prints precision, recall and F1 of auto-accepted matches, and the share sent to review, overall
and per kind of query, for the achats matcher and for the naive baseline (rapidfuzz
`process.extractOne` with WRatio over every reference name, accepted at score >= 90).
"""

from __future__ import annotations

import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from achats.config import Thresholds
from achats.match_model import MatchModel, is_uninformative
from achats.names import normalize
from achats.resolution import (
    Method,
    RefName,
    Resolution,
    ResolverIndex,
    SirenInfo,
    Status,
    settle_by_outcome,
)

DATA = Path(__file__).parent / "data"
# acceptances by the name alone, whose error rate widens the 90 % interval (as the warehouse's)
NAME_METHODS = (Method.NAME_EXACT, Method.NAME_FUZZY)
SEEDS = (11, 12, 13, 14, 15, 16)  # the ESS simulation's seeds


def part(q: dict) -> str:
    from bench.fit_match_model import part as _part

    return _part(q)


def load() -> tuple[list[dict], list[dict]]:
    def rows(name: str) -> list[dict]:
        return list(csv.DictReader((DATA / name).read_text(encoding="utf-8").splitlines()))

    return rows("match_reference.csv"), rows("match_queries.csv")


def build_index(reference: list[dict], model: MatchModel | None = None) -> ResolverIndex:
    names = [RefName(r["siren"], None, r["name"], "denomination") for r in reference]
    info = {r["siren"]: SirenInfo({r["departement"]} if r["departement"] else set(), True, r["name"], r.get("cj"))
            for r in reference}
    sirets = {r["siret"]: r["siren"] for r in reference if r["siret"]}
    return ResolverIndex(names, info, sirets, model=model)


def score(results: list[tuple[dict, str, str | None]]) -> dict:
    """results: (query, status, siren). A query with no true SIREN counts only as a possible error."""
    matched = [(q, s) for q, st, s in results if st == "matched"]
    correct = sum(1 for q, s in matched if q["true_siren"] and s == q["true_siren"])
    answerable = sum(1 for q, _, _ in results if q["true_siren"])
    precision = correct / len(matched) if matched else 1.0
    recall = correct / answerable if answerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    review = sum(1 for _, st, _ in results if st == "review") / len(results) if results else 0.0
    return {"n": len(results), "matched": len(matched), "correct": correct, "precision": precision,
            "recall": recall, "f1": f1, "review_share": review}


def evaluate(thresholds: Thresholds | None = None, model: MatchModel | None = None) -> dict:
    reference, queries = load()
    index = build_index(reference, model)
    thr = thresholds or Thresholds()
    start = time.perf_counter()
    index.prime(q["name"] for q in queries)
    results, resolutions = [], []
    for q in queries:
        r = index.resolve(q["name"], q["siret"] or None, None, None, thr)
        results.append((q, r.status, r.siren))
        resolutions.append((q, r))
    elapsed = time.perf_counter() - start
    test = [r for r in results if part(r[0]) == "test"]
    by_kind = defaultdict(list)
    for res in test:
        by_kind[res[0]["kind"]].append(res)
    return {"overall": score(results), "test": score(test),
            "variants_and_hard": score([r for r in results if r[0]["kind"] != "canonical"]),
            "test_variants": score([r for r in test if r[0]["kind"] != "canonical"]),
            "by_kind": {k: score(v) for k, v in sorted(by_kind.items())}, "seconds": elapsed,
            "comparisons": index.comparisons,
            "calibration": calibration([x for x in resolutions if part(x[0]) == "test"]),
            # a homonym query's supplier is one of two units, which one unknown: no ESS truth to compare
            "ess": ess_over_seeds([x for x in resolutions if part(x[0]) == "test" and x[0]["kind"] != "homonym"],
                                  missed=index.model.missed_share, accept_error=index.model.accept_error),
            "ess_without_accept_error": ess_over_seeds([x for x in resolutions if part(x[0]) == "test"
                                                        and x[0]["kind"] != "homonym"],
                                                       missed=index.model.missed_share),
            "review_first": first_candidate_right([x for x in resolutions if part(x[0]) == "test"]),
            "accept": index.model.accept_threshold(thr.target_precision) if thr.accept is None else thr.accept,
            "settled": settled([x for x in resolutions if part(x[0]) == "test"], index,
                               index.model.accept_threshold(thr.target_precision) if thr.accept is None else thr.accept)}


def missed_class(q: dict, r: Resolution) -> str:
    """The class whose missed share a line's « none of the candidates » takes: a name that names no
    one (« SARL », « SAS ») is a real supplier the name cannot find, whatever the decision; other
    lines by their decision (review, unmatched)."""
    return "uninformative" if is_uninformative(normalize(q["name"])) else str(r.status)


def missed_shares(resolutions: list[tuple[dict, Resolution]]) -> dict[str, float]:
    """Per decision class, the share of the probability of « none of the candidates » that was in
    fact a real unit the matcher missed (its true unit absent from the candidates); for matched
    lines accepted by their name (an identifier confirmed by the name is taken as sure: the
    benchmark has too few such acceptances to measure their error), the share accepted for a wrong
    unit, and ("accepted") the share of those wrong acceptances whose supplier is a real unit (the
    others are absent from the reference). Estimated on the fit split (train + calib), with one pseudo-count of each side so that no
    class is certain."""
    out = {}
    for cls in ("matched", "review", "unmatched", "uninformative"):
        rows = [(q, r) for q, r in resolutions if q["kind"] != "homonym"
                and (str(r.status) == cls if cls == "matched" else str(r.status) != "matched" and missed_class(q, r) == cls)]
        if cls == "matched":
            rows = [(q, r) for q, r in rows if r.method in NAME_METHODS]
            wrong = [q for q, r in rows if r.siren != q["true_siren"]]
            out[cls] = (len(wrong) + 1) / (len(rows) + 2)
            # the share of wrong acceptances whose supplier is a real unit (ESS as a missed one)
            out["accepted"] = (sum(1 for q in wrong if q["true_siren"]) + 1) / (len(wrong) + 2)
            continue
        missed = sum(1 for q, r in rows if q["true_siren"] and q["true_siren"] not in {c.siren for c in r.candidates})
        p_none = sum(max(0.0, 1.0 - sum(c.score for c in r.candidates)) for _, r in rows)
        out[cls] = min(1.0, (missed + 1) / (p_none + 2))
    return out


def settled(resolutions: list[tuple[dict, Resolution]], index: ResolverIndex, accept: float, draws: int = 200,
            ess_rate: float = 0.15, seed: int = 11) -> dict:
    """Review share and recall when a line whose probable candidates share one ESS outcome is
    decided without review (settle_by_outcome). The benchmark has no ESS statuses: each draw gives
    every unit one (15 %, independently: real homonyms, often of the same kind, may share their
    outcome more often). A line decided for the right unit counts in recall; one for another unit
    is a unit error (its ESS outcome is right by construction when the true unit is a candidate);
    a homonym decided without review has no known unit: counted apart, never in recall."""
    rng = np.random.default_rng(seed)
    units = sorted({c.siren for _, r in resolutions for c in r.candidates})
    ids = [index.check_identifier(q["siret"] or None).siren for q, _ in resolutions]
    out = defaultdict(float)
    for _ in range(draws):
        ess = dict(zip(units, (rng.random(len(units)) < ess_rate).tolist(), strict=True))
        res = [settle_by_outcome(r, ess, accept, id_siren=i if i != r.siren else None)
               for (_, r), i in zip(resolutions, ids, strict=True)]
        matched = [(q, r) for (q, _), r in zip(resolutions, res, strict=True) if r.status == Status.MATCHED]
        known = [(q, r) for q, r in matched if q["true_siren"] or q["kind"] != "homonym"]
        correct = sum(1 for q, r in known if q["true_siren"] and r.siren == q["true_siren"])
        answerable = sum(1 for q, _ in resolutions if q["true_siren"])
        out["review_share"] += sum(r.status == Status.REVIEW for r in res) / len(res) / draws
        out["settled_share"] += sum(r.without_review for r in res) / len(res) / draws
        out["settled_homonym_share"] += sum(r.without_review and q["kind"] == "homonym"
                                            for (q, _), r in zip(resolutions, res, strict=True)) / len(res) / draws
        out["recall"] += correct / answerable / draws
        out["precision"] += (correct / len(known) if known else 1.0) / draws
        out["unit_errors"] += (len(known) - correct) / draws
        out["outcome_errors"] += sum(1 for q, r in known if q["true_siren"] and r.siren != q["true_siren"]
                                     and ess.get(r.siren) != ess.get(q["true_siren"], False)) / draws
    return dict(out)


def calibration(resolutions: list[tuple[dict, Resolution]], bins: int = 10) -> dict:
    """Brier score of the best candidate's probability and the reliability table (predicted vs
    observed share of right best candidates, by bin of predicted probability)."""
    pairs = [(r.candidates[0].score, r.candidates[0].siren == q["true_siren"]) for q, r in resolutions
             if r.candidates and q["kind"] != "homonym"]  # a homonym's right unit is one of two, unknown
    brier = sum((p - ok) ** 2 for p, ok in pairs) / len(pairs) if pairs else float("nan")
    table = []
    edges = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 1.0001][: bins + 2]
    for lo, hi in zip(edges, edges[1:], strict=False):
        sel = [(p, ok) for p, ok in pairs if lo <= p < hi]
        if sel:
            table.append((lo, min(hi, 1.0), len(sel), sum(p for p, _ in sel) / len(sel), sum(ok for _, ok in sel) / len(sel)))
    return {"brier": brier, "n": len(pairs), "table": table}


def first_candidate_right(resolutions: list[tuple[dict, Resolution]]) -> float | None:
    """Among answerable lines sent to review, the share whose first candidate is the right unit."""
    rev = [(q, r) for q, r in resolutions if r.status == "review" and q["true_siren"]]
    return sum(1 for q, r in rev if r.candidates and r.candidates[0].siren == q["true_siren"]) / len(rev) if rev else None


def ess_amounts(resolutions: list[tuple[dict, Resolution]], draws: int = 200, sims: int = 1000,
                ess_rate: float = 0.15, seed: int = 11, matched_certain: bool = True,
                missed: dict[str, float] | None = None, accept_error: float = 0.0) -> dict:
    """The ESS-amount error and the 90 % interval's coverage, on simulated books: the benchmark
    has no amounts nor ESS statuses, so each draw gives every unit an ESS status (15 %) and every
    query a log-normal amount, then compares the truth with the point estimate, the 90 % interval
    and the extreme bounds (certain matches only / everything that could be ESS), as the warehouse
    computes them (mart_objective8_summary): a matched line is certain in the point
    (`matched_certain`; False: drawn from its candidates, as the former benchmark did); queries of
    one name and identifier are one supplier key, drawn together (Monte Carlo over the candidates'
    probabilities); « none of the candidates » is not ESS, unless `missed` (per decision class,
    estimated on the fit split: `missed_shares`) says which share of it is a real unit the matcher
    missed, ESS at the share observed among the matched lines; a key accepted by its name is the
    accepted unit with probability 1 − `accept_error`, else another unit (a real one, ESS at that
    share, with probability `missed["accepted"]`), drawn in the Monte Carlo like any uncertain key
    and open in the extreme bounds; the interval holds the point and stays within the extreme
    bounds."""
    rng = np.random.default_rng(seed)
    units = sorted({c.siren for _, r in resolutions for c in r.candidates} | {q["true_siren"] for q, _ in resolutions
                                                                              if q["true_siren"]})
    pos = {s: i for i, s in enumerate(units)}
    n = len(resolutions)
    k = max((len(r.candidates) for _, r in resolutions), default=0) + 1
    cand_idx = np.full((n, k), -1)
    cand_p = np.zeros((n, k))
    status = np.array([str(r.status) for _, r in resolutions])
    chosen = np.array([pos.get(r.siren, -1) if r.siren else -1 for _, r in resolutions])
    certain = np.array([r.status == Status.MATCHED and not r.without_review for _, r in resolutions]) & matched_certain
    by_name = certain & np.array([r.method in NAME_METHODS for _, r in resolutions], dtype=bool)
    fixed = certain & ~by_name  # one outcome: a decision by an identifier (or a person)
    keys: dict[tuple[str, str], int] = {}
    key = np.array([keys.setdefault((normalize(q["name"]), q["siret"]), len(keys)) for q, _ in resolutions])
    first = np.unique(key, return_index=True)[1][key]  # the line whose draw stands for its key
    for j, (_, r) in enumerate(resolutions):
        if certain[j]:
            cand_idx[j, 0], cand_p[j, 0] = chosen[j], 1.0 - (accept_error if by_name[j] else 0.0)
            continue
        for m, c in enumerate(r.candidates):
            cand_idx[j, m], cand_p[j, m] = pos[c.siren], c.score
    cand_p[:, -1] = np.maximum(0.0, 1.0 - cand_p[:, :-1].sum(axis=1))  # none of the candidates (or another unit)
    # share of « none » that is a real unit missed (ESS at the observed rate), by decision class
    share = np.array([(missed or {}).get("accepted", 1.0) if c else (missed or {}).get(missed_class(q, r), 0.0)
                      for c, (q, r) in zip(by_name, resolutions, strict=True)])
    truth_idx = np.array([pos.get(q["true_siren"], -1) for q, _ in resolutions])
    cum = np.cumsum(cand_p, axis=1)
    # only lines with more than one outcome are drawn (the others always take their single one)
    vary = (cand_p.max(axis=1) < 1.0) | (cand_p[:, -1] > 0)
    single_line = np.where(~vary)[0]
    single = cand_p[single_line].argmax(axis=1)
    u = rng.random((sims, n))[:, first][:, vary]
    outcome = (u[:, :, None] > cum[vary][None, :, :]).sum(axis=2).clip(max=k - 1)  # sims × drawn lines
    none_u = rng.random((sims, n))[:, first][:, vary]
    inside, below, near, widths, errors, extreme = 0, 0, 0, [], [], []
    for _ in range(draws):
        ess = rng.random(len(units)) < ess_rate
        amount = rng.lognormal(7, 1.5, n)
        ess_c = np.where(cand_idx >= 0, ess[cand_idx.clip(min=0)], False)  # n × k
        chosen_ess = np.where(chosen >= 0, ess[chosen.clip(min=0)], False)
        plain = float(chosen_ess[certain].mean()) if certain.any() else 0.0
        rate = share * plain  # P(ESS | none), per line
        truth = float((amount * np.where(truth_idx >= 0, ess[truth_idx.clip(min=0)], False)).sum())
        p_ess = (cand_p[:, :-1] * ess_c[:, :-1]).sum(axis=1) + cand_p[:, -1] * rate
        point = float((amount * p_ess).sum())
        drawn = np.take_along_axis(ess_c[vary], outcome.T, axis=1).T  # sims × drawn lines
        drawn = np.where(outcome == k - 1, none_u < rate[vary], drawn)
        sim_vals = (amount[vary][None, :] * drawn).sum(axis=1) + float(
            (amount[single_line] * ess_c[single_line, single]).sum())
        q05, q95 = np.quantile(sim_vals, [0.05, 0.95])
        matched_ess = (status == "matched") & fixed & chosen_ess
        ext_low = float((amount * matched_ess).sum())
        # a missed unit is no possible outcome of the extreme bounds (as in the warehouse): they only contain the point
        ext_high = ext_low + float(np.maximum(amount * (~fixed & ess_c[:, :-1].any(axis=1)), amount * p_ess * ~fixed).sum())
        low, high = min(point, max(ext_low, q05)), max(point, min(ext_high, q95))
        inside += low <= truth <= high
        below += truth < low
        near += abs(point - truth) <= 0.04 * point  # what any interval of ± 4 % around the point could cover
        widths.append((high - low) / 2 / point if point else 0.0)
        errors.append(abs(point - truth) / truth if truth else 0.0)
        extreme.append((ext_high - ext_low) / 2 / point if point else 0.0)
    return {"coverage": inside / draws, "below": below / draws, "within_4pct": near / draws,
            "half_width": float(np.mean(widths)),
            "error": float(np.mean(errors)), "error_p90": float(np.quantile(errors, 0.9)),
            "extreme_half_width": float(np.mean(extreme)), "draws": draws}


def ess_over_seeds(resolutions: list[tuple[dict, Resolution]], seeds: tuple[int, ...] = SEEDS, **kw) -> dict:
    """ess_amounts averaged over several seeds (one seed's 200 draws leave a coverage a few points
    off: a handful of large lines decide it), with each seed's coverage."""
    runs = [ess_amounts(resolutions, seed=s, **kw) for s in seeds]
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0] if k != "draws"}
    return {**out, "draws": sum(r["draws"] for r in runs), "by_seed": [r["coverage"] for r in runs]}


def baseline() -> dict:
    reference, queries = load()
    names = [r["name"] for r in reference]
    results = []
    for q in queries:
        best = process.extractOne(q["name"], names, scorer=fuzz.WRatio)
        results.append((q, "matched" if best and best[1] >= 90 else "unmatched",
                        reference[best[2]]["siren"] if best else None))
    return {"overall": score(results), "variants_and_hard": score([r for r in results if r[0]["kind"] != "canonical"])}


def _line(label: str, s: dict) -> str:
    return (f"{label:<22} n={s['n']:>5}  acceptés={s['matched']:>5}  erreurs={s['matched'] - s['correct']:>3}  "
            f"précision={s['precision']:.3f}  rappel={s['recall']:.3f}  F1={s['f1']:.3f}  "
            f"revue={100 * s['review_share']:.1f} %")


def main() -> int:
    ours = evaluate()
    base = baseline()
    print("Rapprochement — banc d'essai étiqueté (orthographes réelles DECP + cas difficiles)")
    print(f"seuil d'acceptation (précision cible {Thresholds().target_precision}) : probabilité >= {ours['accept']:.4f}")
    print(_line("achats (tout)", ours["overall"]))
    print(_line("achats (test, 30 %)", ours["test"]))
    print(_line("  test hors canon.", ours["test_variants"]))
    for kind, s in ours["by_kind"].items():
        print(_line(f"  {kind}", s))
    n_test = ours["test"]["n"]
    homonyms = ours["by_kind"].get("homonym", {"n": 0, "review_share": 0.0})
    print(f"  dont homonymes sans lieu en vérification : {100 * homonyms['n'] * homonyms['review_share'] / n_test:.1f} "
          f"points des {100 * ours['test']['review_share']:.1f} % (deux SIREN du même nom, rien pour les départager)")
    print(_line("naïf WRatio>=90 (tout)", base["overall"]))
    print(_line("naïf (hors canon.)", base["variants_and_hard"]))
    cal = ours["calibration"]
    print(f"calibration (test hors homonymes, meilleur candidat, {cal['n']} requêtes) : Brier {cal['brier']:.4f}")
    print("  probabilité prédite   n   moyenne prédite   part observée juste")
    for lo, hi, n, pred, obs in cal["table"]:
        print(f"  [{lo:.2f} ; {hi:.2f}[  {n:>5}   {pred:.3f}            {obs:.3f}")
    first = ours["review_first"]
    print(f"en vérification (test) : 1er candidat juste {'—' if first is None else f'{100 * first:.0f} %'}")
    for label, e in (("modèle livré", ours["ess"]), ("sans erreurs d'acceptation", ours["ess_without_accept_error"])):
        print(f"montant ESS simulé ({e['draws']} tirages, graines {SEEDS[0]} à {SEEDS[-1]}, test, {label}) : erreur "
              f"moyenne {100 * e['error']:.1f} % (9e décile {100 * e['error_p90']:.1f} %), intervalle à 90 % "
              f"± {100 * e['half_width']:.1f} %, couverture {100 * e['coverage']:.1f} % (vérité sous la borne basse "
              f"{100 * e['below']:.1f} %, au-dessus de la haute {100 * (1 - e['coverage'] - e['below']):.1f} % ; "
              f"par graine {', '.join(f'{100 * c:.0f}' for c in e['by_seed'])} %) ; "
              f"bornes extrêmes ± {100 * e['extreme_half_width']:.1f} % ; estimation à moins de 4 % de la vérité "
              f"dans {100 * e['within_4pct']:.1f} % des tirages (ce que couvrirait un intervalle de ± 4 % centré sur elle)")
    st = ours["settled"]
    print(f"décidé sans vérification quand tous les candidats plausibles ont la même issue ESS ({200} tirages de statuts, test) : "
          f"vérification {100 * st['review_share']:.1f} % (dont {100 * st['settled_share']:.1f} % décidés sans vérification, "
          f"{100 * st['settled_homonym_share']:.1f} points d'homonymes), rappel {st['recall']:.3f}, "
          f"précision (unité) {st['precision']:.3f}, erreurs d'unité {st['unit_errors']:.1f}, "
          f"erreurs d'issue ESS {st['outcome_errors']:.2f}")
    print(f"durée achats : {ours['seconds']:.2f} s, comparaisons : {ours['comparisons']}")
    return 0 if ours["test"]["precision"] >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
