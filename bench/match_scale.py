"""Matching at scale: a SIRENE-like reference of N units and 20,000 distinct messy supplier names.

    python -m bench.match_scale --units 1000000 [--queries 20000] [--baseline-sample 40]
    python -m bench.match_scale --units 16000000 --baseline-sample 0

Prints, in one run, the achats matcher's time per stage (reference tokens, DuckDB blocking,
in-memory index, rapidfuzz kernels over all blocked pairs, match model, decision rules) twice: cold
(the reference's tokens built, then cached beside the stock) and warm (read back from that cache;
the same decisions are required), with processor time and load average; its peak
memory and its precision / recall / F1 on the labelled queries; and two honest baselines over
every reference name, measured on the same data: `extractOne` with `default_process` and
`score_cutoff=90`, and a `cdist` brute force on all cores. The baselines are too slow to run on
20,000 names against a million: they run on a random sample of the names and their time is
extrapolated (said so in the output); quality is compared on that same sample. Results are also
written to bench/results/match_scale.md and .json (match_scale_<units> for
another size).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb
from rapidfuzz import fuzz, process, utils

from achats.blocking import REFERENCE_CACHE, build_blocked_index
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
        ORDER BY hash(siren || '{seed}'), siren LIMIT {int(n * 0.8 * 1.3)}""").fetchall()  # the same names every run
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


RESULTS = Path(__file__).parent / "results"
STAGES = (("reference", "tokens du référentiel (DuckDB)"), ("blocking", "blocage (DuckDB, toutes les requêtes)"),
          ("index", "index en mémoire du bloc"), ("kernels", "noyaux rapidfuzz (cpdist, toutes les paires)"),
          ("model", "modèle (caractéristiques, probabilités)"), ("decisions", "règles de décision"))


def _fr(x: float, d: int = 1) -> str:
    return f"{x:,.{d}f}".replace(",", "\u202f").replace(".", ",")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run(args: argparse.Namespace) -> dict:
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
    t_load = time.perf_counter() - t
    print(f"chargement SIRENE dans DuckDB (hors mesure) : {t_load:.1f} s")
    queries = make_queries(con, args.queries, 7)
    cache_dir = folder / "sirene" / REFERENCE_CACHE
    shutil.rmtree(cache_dir, ignore_errors=True)  # the first pass builds the reference's tokens (cold)
    passes = {}
    for label in ("cold", "warm"):  # the second pass reads them back from the cache beside the stock
        load_before = load_average()
        passes[label] = _resolve(con, queries, cache_dir)
        passes[label]["load_average"] = f"{load_before} → {load_average()}"
    cold, warm = passes["cold"], passes["warm"]
    ours = cold.pop("decisions")
    if warm.pop("decisions") != ours:
        raise SystemExit("les décisions diffèrent entre le calcul à froid et le calcul avec le cache")
    blocked, pairs = cold.pop("blocked")
    warm.pop("blocked")
    q_ours = quality(ours)
    res: dict = {"units": args.units, "queries": len(queries), "reference_names_blocked": blocked,
                 "pairs": pairs, "seconds_total": cold["seconds_total"], "stages": cold["stages"],
                 "cpu_seconds": cold["cpu_seconds"], "cache": cold["cache"], "warm": warm,
                 "peak_gb": cold["peak_gb"], "load_average": cold["load_average"],
                 "cpu_count": os.cpu_count(), "quality": {k: round(v, 4) for k, v in q_ours.items()},
                 "sirene_load_seconds": round(t_load, 1), "baselines": []}
    t_total = cold["seconds_total"]
    for label, p in (("à froid (tokens construits)", cold), ("avec le cache des tokens", warm)):
        print(f"achats {label} : {len(queries):,} noms contre {args.units:,} unités en {p['seconds_total']:.1f} s "
              f"(processeur {p['cpu_seconds']:.1f} s, {pairs:,} paires bloquées, cache : {p['cache']}), "
              f"mémoire de pointe {p['peak_gb']:.2f} Go, charge {p['load_average']}")
        for k, stage in STAGES:
            print(f"  {stage:<48} {p['stages'][k]:7.2f} s")
        print(f"  {'reste (normalisation des requêtes, boucle)':<48} {p['stages']['other']:7.2f} s")
        look = p.get("second_look", {})
        print(f"  dont second regard du blocage : {look.get('queries', 0):.0f} noms, {look.get('seconds', 0.0):.2f} s")
    print(f"achats (tout) : précision {q_ours['precision']:.3f}, rappel {q_ours['recall']:.3f}, "
          f"F1 {q_ours['f1']:.3f}, revue {100 * q_ours['review_share']:.1f} % (mêmes décisions dans les deux passes)")
    if args.baseline_sample:
        rng = random.Random(3)
        idx = rng.sample(range(len(queries)), min(args.baseline_sample, len(queries)))
        ref = con.execute("SELECT legal_name, siren FROM stg_unite_legale WHERE legal_name IS NOT NULL").fetchall()
        ref_names = [r[0] for r in ref]
        q_ours_s = quality([ours[i] for i in idx])
        res["sample"] = {"names": len(idx), "achats": {k: round(v, 4) for k, v in q_ours_s.items()}}
        print(f"sur l'échantillon de {len(idx)} noms — achats : précision {q_ours_s['precision']:.3f}, "
              f"rappel {q_ours_s['recall']:.3f}, F1 {q_ours_s['f1']:.3f}")
        t = time.perf_counter()  # extractOne as its documentation advises
        base = []
        for i in idx:
            q, truth = queries[i]
            best = process.extractOne(q, ref_names, scorer=fuzz.WRatio, processor=utils.default_process,
                                      score_cutoff=90)
            base.append((truth, "matched" if best else "unmatched", ref[best[2]][1] if best else None))
        res["baselines"].append(_report("extractOne (WRatio, default_process, score_cutoff=90)",
                                        time.perf_counter() - t, len(idx), len(queries), quality(base), t_total))
        t = time.perf_counter()  # cdist brute force: every name against every reference name, all cores
        processed = [utils.default_process(n) for n in ref_names]
        base = []
        sample_q = [utils.default_process(queries[i][0]) for i in idx]
        for start in range(0, len(sample_q), 20):
            block = process.cdist(sample_q[start:start + 20], processed, scorer=fuzz.WRatio, workers=-1,
                                  dtype="uint8")
            for row, i in zip(block, idx[start:start + 20], strict=True):
                k = int(row.argmax())
                base.append((queries[i][1], "matched" if row[k] >= 90 else "unmatched", ref[k][1]))
        res["baselines"].append(_report("cdist force brute (WRatio, default_process, tous cœurs)",
                                        time.perf_counter() - t, len(idx), len(queries), quality(base), t_total))
    con.close()
    db.unlink(missing_ok=True)
    res["peak_gb_process"] = round(peak_gb(), 2)
    print(f"mémoire de pointe du processus (avec les références) : {peak_gb():.2f} Go ; charge moyenne "
          f"{res['load_average']} sur {os.cpu_count()} cœurs")
    return res


def _resolve(con: duckdb.DuckDBPyConnection, queries: list[tuple[str, str | None]], cache_dir: Path) -> dict:
    """One full resolution of the queries, timed by stage (wall clock and processor time)."""
    thr = Thresholds()
    t, c = time.perf_counter(), time.process_time()
    index = build_blocked_index(con, [(q, None) for q, _ in queries], cache_dir)
    index.prime(q for q, _ in queries)  # every blocked pair of every name: one C call per scorer
    decisions = [(truth, *(lambda r: (r.status, r.siren))(index.resolve(q, None, None, None, thr)))
                 for q, truth in queries]
    t_total = time.perf_counter() - t
    stages = {k: round(index.timings.get(k, 0.0), 2) for k, _ in STAGES}
    stages["other"] = round(t_total - sum(stages.values()), 2)
    return {"seconds_total": round(t_total, 2), "cpu_seconds": round(time.process_time() - c, 2), "stages": stages,
            "peak_gb": round(peak_gb(), 2), "cache": index.reference_cache, "decisions": decisions,
            "second_look": {k: round(v, 2) for k, v in index.second_look.items()},
            "blocked": (len(index.entries), index.comparisons)}  # not the index: one pass's memory at a time


def write_results(res: dict) -> Path:
    """bench/results/match_scale_<units>.json and .md, the figures the README quotes."""
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / ("match_scale" if res["units"] == 1_000_000 else f"match_scale_{res['units']}")
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    q, w = res["quality"], res["warm"]
    lines = [f"# Rapprochement à l'échelle : {_fr(res['queries'], 0)} noms contre {_fr(res['units'], 0)} unités",
             "", f"`python -m bench.match_scale --units {res['units']}` — {res['cpu_count']} cœurs, charge moyenne "
             f"{res['load_average']} (les temps sont majorés d'autant).", "",
             f"Total à froid (tokens du référentiel construits) : **{_fr(res['seconds_total'])} s** "
             f"(processeur {_fr(res['cpu_seconds'])} s) ; avec le cache des tokens gardé à côté du stock : "
             f"**{_fr(w['seconds_total'])} s** (processeur {_fr(w['cpu_seconds'])} s, charge {w['load_average']}) ; "
             f"{_fr(res['pairs'], 0)} paires bloquées, "
             f"mémoire de pointe du processus {_fr(res['peak_gb'], 2)} Go (SIRENE chargé dans DuckDB compris). "
             f"Précision {_fr(q['precision'], 3)}, "
             f"rappel {_fr(q['recall'], 3)}, F1 {_fr(q['f1'], 3)}, {_fr(100 * q['review_share'])} % en vérification "
             "(mêmes décisions dans les deux passes).",
             "", "| étape | s à froid | s avec le cache |", "|---|---:|---:|"]
    lines += [f"| {label} | {_fr(res['stages'][k], 2)} | {_fr(w['stages'][k], 2)} |" for k, label in STAGES]
    lines += [f"| reste | {_fr(res['stages']['other'], 2)} | {_fr(w['stages']['other'], 2)} |", ""]
    if res["baselines"]:
        s = res["sample"]
        lines += [f"Références mesurées dans la même exécution sur {s['names']} noms tirés au hasard, temps "
                  f"extrapolé à {_fr(res['queries'], 0)} noms (achats sur ces noms : F1 {_fr(s['achats']['f1'], 3)}) :",
                  "", "| méthode | s (échantillon) | s extrapolées | précision | rappel | F1 |", "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {b['method']} | {_fr(b['seconds_sample'])} | {_fr(b['seconds_extrapolated'], 0)} | "
                  f"{_fr(b['precision'], 3)} | {_fr(b['recall'], 3)} | {_fr(b['f1'], 3)} |" for b in res["baselines"]]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return stem


def _report(label: str, seconds: float, n: int, n_all: int, q: dict, ours_total: float) -> dict:
    extrapolated = seconds / n * n_all
    print(f"{label} : {seconds:.1f} s pour {n} noms, extrapolé à {n_all:,} noms : {extrapolated:,.0f} s "
          f"(achats {extrapolated / ours_total:,.1f} fois plus rapide) ; précision {q['precision']:.3f}, "
          f"rappel {q['recall']:.3f}, F1 {q['f1']:.3f}")
    return {"method": label, "seconds_sample": round(seconds, 2), "seconds_extrapolated": round(extrapolated),
            "precision": round(q["precision"], 4), "recall": round(q["recall"], 4), "f1": round(q["f1"], 4)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--baseline-sample", type=int, default=40)
    ap.add_argument("--memory-limit", default="6GB", help="DuckDB memory limit")
    args = ap.parse_args()
    res = run(args)
    print(f"résultats : {write_results(res)}.md / .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
