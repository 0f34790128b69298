"""Matching at scale: a SIRENE-like reference of N units and 20,000 distinct messy supplier names.

    python bench/match_scale.py --units 1000000 [--queries 20000] [--baseline-sample 200]
    python bench/match_scale.py --units 16000000 --baseline-sample 0

Prints wall time, peak memory and comparisons for the achats matcher (DuckDB blocking, rapidfuzz
kernels on the blocked pairs, match model; the engine the pipeline uses) and, in the same run,
three baselines over every reference name: the naive `extractOne` (WRatio, no processor, no
cutoff), `extractOne` with `default_process` and `score_cutoff=90`, and a `cdist` brute force on
all cores. The baselines are too slow to run on 20,000 names against a million: they run on a
random sample of the names and their time is extrapolated (said so in the output); quality is
compared on that same sample.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

import duckdb
from rapidfuzz import fuzz, process, utils

from achats.blocking import build_blocked_index
from achats.config import Thresholds
from achats.warehouse import load_reference, load_sirene, run_sql
from bench.synth import SYLLABLES, TRADES, write_stocks

OUT = Path(__file__).parent / "out"


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def degrade(name: str, rng: random.Random) -> str:
    """How a buyer's accounting export may spell a name."""
    s = name
    r = rng.random()
    if r < 0.15:
        s = f"{s} {rng.choice(['SARL', 'SAS', 'SA', 'EURL'])}"
    elif r < 0.25:
        s = f"STE {s}"
    elif r < 0.35:
        s = s.replace("ASSOCIATION", rng.choice(["ASSOC.", "ASSO", "Assoc"]))
    if rng.random() < 0.3:
        s = s.title()
    if len(s) > 32 and rng.random() < 0.3:
        s = s[:30]
    if rng.random() < 0.25:
        words = s.split()
        i = max(range(len(words)), key=lambda k: len(words[k]))
        w = words[i]
        if len(w) >= 5:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            s = " ".join(words)
    return s


def make_queries(con: duckdb.DuckDBPyConnection, n: int, seed: int) -> list[tuple[str, str | None]]:
    """(typed name, true SIREN or None): 80 % degraded reference names, 20 % names absent from it."""
    rng = random.Random(seed)
    known = con.execute(f"""
        SELECT legal_name, siren FROM stg_unite_legale
        WHERE categorie_juridique <> '1000' AND legal_name IS NOT NULL
        USING SAMPLE {int(n * 0.8 * 1.3)} ROWS (reservoir, {seed})""").fetchall()
    out: dict[str, str | None] = {}
    for name, siren in known:
        q = degrade(name, rng)
        if q not in out and len(out) < int(n * 0.8):
            out[q] = siren
    while len(out) < n:  # absent names: a long invented brand and a trade, unlikely to exist
        brand = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([3, 4])))
        out.setdefault(f"{brand} {rng.choice(TRADES)}", None)
    return list(out.items())


def quality(results: list[tuple[str | None, str, str | None]]) -> dict:
    matched = [(t, s) for t, st, s in results if st == "matched"]
    correct = sum(1 for t, s in matched if t and s == t)
    answerable = sum(1 for t, _, _ in results if t)
    p = correct / len(matched) if matched else 1.0
    r = correct / answerable if answerable else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "review_share": sum(1 for _, st, _ in results if st == "review") / len(results)}


def _report(label: str, seconds: float, n: int, n_all: int, q: dict, ours_total: float) -> None:
    extrapolated = seconds / n * n_all
    print(f"{label} : {seconds:.1f} s pour {n} noms, extrapolé à {n_all:,} noms : {extrapolated:,.0f} s "
          f"(achats {extrapolated / ours_total:,.1f} fois plus rapide) ; précision {q['precision']:.3f}, "
          f"rappel {q['recall']:.3f}, F1 {q['f1']:.3f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--baseline-sample", type=int, default=200)
    ap.add_argument("--memory-limit", default="6GB", help="DuckDB memory limit")
    args = ap.parse_args()
    folder = OUT / f"scale_{args.units}"
    t0 = time.perf_counter()
    if not (folder / "sirene" / "StockUniteLegale_synth.parquet").exists():
        write_stocks(folder / "sirene", args.units)
    print(f"stocks générés/présents : {args.units:,} unités ({time.perf_counter() - t0:.1f} s)")
    db = folder / "bench.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db), config={"memory_limit": args.memory_limit, "threads": 2})
    t = time.perf_counter()
    load_reference(con)
    load_sirene(con, folder)
    run_sql(con, "staging/stg_unite_legale.sql")
    run_sql(con, "staging/stg_etablissement.sql")
    print(f"chargement SIRENE dans DuckDB : {time.perf_counter() - t:.1f} s")
    queries = make_queries(con, args.queries, 7)
    thr = Thresholds()
    t = time.perf_counter()
    index = build_blocked_index(con, [(q, None) for q, _ in queries])
    t_index = time.perf_counter() - t
    t = time.perf_counter()
    index.prime(q for q, _ in queries)  # every blocked pair, C kernels, batched on all cores
    t_kernels = time.perf_counter() - t
    ours = [(truth, *(lambda r: (r.status, r.siren))(index.resolve(q, None, None, None, thr))) for q, truth in queries]
    t_resolve = time.perf_counter() - t
    print(f"dont noyaux rapidfuzz sur les paires bloquées : {t_kernels:.1f} s ({index.comparisons:,} paires × 6 noyaux)")
    q_ours = quality(ours)
    print(f"achats : index (blocage DuckDB + bloc Python de {len(index.entries):,} noms) {t_index:.1f} s, "
          f"résolution de {len(queries):,} noms {t_resolve:.1f} s, total {t_index + t_resolve:.1f} s, "
          f"{index.comparisons:,} comparaisons, mémoire de pointe {peak_gb():.2f} Go")
    print(f"achats (tout) : précision {q_ours['precision']:.3f}, rappel {q_ours['recall']:.3f}, "
          f"F1 {q_ours['f1']:.3f}, revue {100 * q_ours['review_share']:.1f} %")
    if args.baseline_sample:
        rng = random.Random(3)
        idx = rng.sample(range(len(queries)), min(args.baseline_sample, len(queries)))
        ref = con.execute("SELECT legal_name, siren FROM stg_unite_legale WHERE legal_name IS NOT NULL").fetchall()
        ref_names = [r[0] for r in ref]
        q_ours_s = quality([ours[i] for i in idx])
        t_ours_total = t_index + t_resolve
        print(f"sur l'échantillon de {len(idx)} noms — achats : précision {q_ours_s['precision']:.3f}, "
              f"rappel {q_ours_s['recall']:.3f}, F1 {q_ours_s['f1']:.3f}")
        # three baselines on the same names, each extrapolated to all names (said so)
        def naive(q: str):  # the strawman: WRatio, no processor, one thread, no cutoff
            return process.extractOne(q, ref_names, scorer=fuzz.WRatio)

        def extract_cutoff(q: str):  # extractOne as its documentation advises
            return process.extractOne(q, ref_names, scorer=fuzz.WRatio, processor=utils.default_process,
                                      score_cutoff=90)

        processed = [utils.default_process(n) for n in ref_names]
        for label, fn in (("naïf (WRatio, sans prétraitement ni seuil)", naive),
                          ("extractOne (default_process, score_cutoff=90)", extract_cutoff)):
            t = time.perf_counter()
            base = []
            for i in idx:
                q, truth = queries[i]
                best = fn(q)
                base.append((truth, "matched" if best and best[1] >= 90 else "unmatched",
                             ref[best[2]][1] if best else None))
            _report(label, time.perf_counter() - t, len(idx), len(queries), quality(base), t_ours_total)
        t = time.perf_counter()  # cdist brute force: every name against every reference name, all cores
        base = []
        sample_q = [utils.default_process(queries[i][0]) for i in idx]
        for start in range(0, len(sample_q), 50):
            block = process.cdist(sample_q[start:start + 50], processed, scorer=fuzz.WRatio, workers=-1,
                                  dtype="uint8")
            for row, i in zip(block, idx[start:start + 50], strict=True):
                k = int(row.argmax())
                base.append((queries[i][1], "matched" if row[k] >= 90 else "unmatched", ref[k][1]))
        _report("cdist force brute (WRatio, tous cœurs)", time.perf_counter() - t, len(idx), len(queries),
                quality(base), t_ours_total)
    con.close()
    print(f"mémoire de pointe du processus : {peak_gb():.2f} Go")
    return 0


if __name__ == "__main__":
    sys.exit(main())
