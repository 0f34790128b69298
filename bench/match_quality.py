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

from rapidfuzz import fuzz, process

from achats.config import Thresholds
from achats.resolution import RefName, ResolverIndex, SirenInfo

DATA = Path(__file__).parent / "data"


def load() -> tuple[list[dict], list[dict]]:
    def rows(name: str) -> list[dict]:
        return list(csv.DictReader((DATA / name).read_text(encoding="utf-8").splitlines()))

    return rows("match_reference.csv"), rows("match_queries.csv")


def build_index(reference: list[dict]) -> ResolverIndex:
    names = [RefName(r["siren"], None, r["name"], "denomination") for r in reference]
    info = {r["siren"]: SirenInfo({r["departement"]} if r["departement"] else set(), True, r["name"]) for r in reference}
    sirets = {r["siret"]: r["siren"] for r in reference if r["siret"]}
    return ResolverIndex(names, info, sirets)


def score(results: list[tuple[dict, str, str | None]]) -> dict:
    """results: (query, status, siren). A query with no true SIREN counts only as a possible error."""
    matched = [(q, s) for q, st, s in results if st == "matched"]
    correct = sum(1 for q, s in matched if q["true_siren"] and s == q["true_siren"])
    answerable = sum(1 for q, _, _ in results if q["true_siren"])
    precision = correct / len(matched) if matched else 1.0
    recall = correct / answerable if answerable else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    review = sum(1 for _, st, _ in results if st == "review") / len(results)
    return {"n": len(results), "matched": len(matched), "correct": correct, "precision": precision,
            "recall": recall, "f1": f1, "review_share": review}


def evaluate(thresholds: Thresholds | None = None) -> dict:
    reference, queries = load()
    index = build_index(reference)
    thr = thresholds or Thresholds()
    start = time.perf_counter()
    results = []
    for q in queries:
        r = index.resolve(q["name"], q["siret"] or None, None, None, thr)
        results.append((q, r.status, r.siren))
    elapsed = time.perf_counter() - start
    by_kind = defaultdict(list)
    for res in results:
        by_kind[res[0]["kind"]].append(res)
    return {"overall": score(results), "variants_and_hard": score([r for r in results if r[0]["kind"] != "canonical"]),
            "by_kind": {k: score(v) for k, v in sorted(by_kind.items())}, "seconds": elapsed,
            "comparisons": index.comparisons}


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
    return (f"{label:<22} n={s['n']:>5}  acceptés={s['matched']:>5}  précision={s['precision']:.3f}  "
            f"rappel={s['recall']:.3f}  F1={s['f1']:.3f}  revue={100 * s['review_share']:.1f} %")


def main() -> int:
    ours = evaluate()
    base = baseline()
    print("Rapprochement — banc d'essai étiqueté (orthographes réelles DECP + cas difficiles)")
    print(_line("achats (tout)", ours["overall"]))
    print(_line("achats (hors canon.)", ours["variants_and_hard"]))
    for kind, s in ours["by_kind"].items():
        print(_line(f"  {kind}", s))
    print(_line("naïf WRatio>=90 (tout)", base["overall"]))
    print(_line("naïf (hors canon.)", base["variants_and_hard"]))
    print(f"durée achats : {ours['seconds']:.2f} s, comparaisons : {ours['comparisons']}")
    return 0 if ours["overall"]["precision"] >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
