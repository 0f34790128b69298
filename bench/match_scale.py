"""Matching at scale: a SIRENE-like reference of N units and 20,000 distinct messy supplier names.

    python bench/match_scale.py --units 1000000 [--queries 20000] [--baseline-sample 200]
    python bench/match_scale.py --units 16000000 --baseline-sample 0

Prints wall time, peak memory and comparisons for the achats matcher (DuckDB blocking + scoring,
the engine the pipeline uses) and for the naive baseline (rapidfuzz `process.extractOne` of each
name against every reference name with WRatio), measured in the same run. The baseline is too slow
to run on 20,000 names against a million: it runs on a random sample of the names and its time is
extrapolated (said so in the output); quality is compared on that same sample.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

import duckdb
from rapidfuzz import fuzz, process

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
    ours = [(truth, *(lambda r: (r.status, r.siren))(index.resolve(q, None, None, None, thr))) for q, truth in queries]
    t_resolve = time.perf_counter() - t
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
        t = time.perf_counter()
        base = []
        for i in idx:
            q, truth = queries[i]
            best = process.extractOne(q, ref_names, scorer=fuzz.WRatio)
            base.append((truth, "matched" if best and best[1] >= 90 else "unmatched", ref[best[2]][1] if best else None))
        t_base = time.perf_counter() - t
        per_name = t_base / len(idx)
        q_base = quality(base)
        q_ours_s = quality([ours[i] for i in idx])
        t_ours_total = t_index + t_resolve
        extrapolated = per_name * len(queries)
        print(f"naïf (WRatio, {len(idx)} noms tirés au hasard) : {t_base:.1f} s, soit {per_name:.2f} s par nom ; "
              f"extrapolé à {len(queries):,} noms : {extrapolated:,.0f} s ; {len(idx) * len(ref_names):,} comparaisons")
        print(f"sur cet échantillon — naïf : précision {q_base['precision']:.3f}, rappel {q_base['recall']:.3f}, "
              f"F1 {q_base['f1']:.3f} ; achats : précision {q_ours_s['precision']:.3f}, rappel {q_ours_s['recall']:.3f}, "
              f"F1 {q_ours_s['f1']:.3f}")
        print(f"accélération (temps total achats, index compris, contre naïf extrapolé) : {extrapolated / t_ours_total:,.0f}×")
    con.close()
    print(f"mémoire de pointe du processus : {peak_gb():.2f} Go")
    return 0


if __name__ == "__main__":
    sys.exit(main())
