"""The whole pipeline at national size: SIRENE-like stocks of ~30 million units and ~40 million
establishments, a département-size payment export (~300,000 lines a year over 3 years, 15,000
distinct suppliers), run exactly as `achats run` does.

    python -m bench.national --fractions 0.01 0.1 1

Prints wall time per stage (from Dagster's event log) and the process's peak memory for each
size, then the growth table. Stocks are generated once per size under bench/out/ (not timed).
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from bench.match_scale import degrade
from bench.synth import write_stocks

OUT = Path(__file__).parent / "out"
FULL_UNITS, FULL_ETABS, FULL_LINES, FULL_SUPPLIERS = 30_000_000, 40_000_000, 900_000, 15_000


def build_data_dir(fraction: float, seed: int = 5) -> Path:
    folder = OUT / f"national_{fraction:g}"
    units = int(FULL_UNITS * fraction)
    if not (folder / "sirene" / "StockUniteLegale_synth.parquet").exists():
        write_stocks(folder / "sirene", units, seed=seed, etab_per_unit=FULL_ETABS / FULL_UNITS)
    purchases = folder / "purchases" / "mandats.csv"
    if not purchases.exists():
        n_lines = max(1000, int(FULL_LINES * fraction)) if fraction < 1 else FULL_LINES
        n_sup = min(FULL_SUPPLIERS, max(200, int(FULL_SUPPLIERS * fraction ** 0.5)))
        write_purchases(folder, n_lines, n_sup, seed)
    (folder / "achats.toml").write_text('[acheteur]\ndepartement = "31"\n\n[controles]\nmax_unmatched_share = 1.0\n',
                                        encoding="utf-8")
    return folder


def write_purchases(folder: Path, n_lines: int, n_suppliers: int, seed: int) -> None:
    """Lines to suppliers drawn from the stocks, their names degraded, SIRET given on 40 %."""
    rng = random.Random(seed)
    con = duckdb.connect()
    sup = con.execute(f"""
        SELECT siren, denominationUniteLegale FROM read_parquet(?)
        WHERE denominationUniteLegale IS NOT NULL USING SAMPLE {n_suppliers} ROWS (reservoir, {seed})""",
                      [str(folder / "sirene" / "StockUniteLegale_synth.parquet")]).fetchall()
    con.close()
    weights = [rng.paretovariate(1.2) for _ in sup]
    spellings = {s: [n, degrade(n, rng)] for s, n in sup}
    (folder / "purchases").mkdir(parents=True, exist_ok=True)
    entities = [f"Direction {i}" for i in range(1, 25)]
    with open(folder / "purchases" / "mandats.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["N° mandat", "Date mandat", "Tiers", "N° SIRET", "Montant TTC", "Direction"])
        picks = rng.choices(sup, weights=weights, k=n_lines)
        for i, (siren, _) in enumerate(picks):
            day = rng.randrange(0, 3 * 365)
            year, doy = 2023 + day // 365, day % 365
            month, dom = 1 + min(11, doy // 31), 1 + doy % 28
            amount = f"{rng.lognormvariate(7, 1.4):,.2f}".replace(",", " ").replace(".", ",")
            w.writerow([f"M{i:07d}", f"{dom:02d}/{month:02d}/{year}", rng.choice(spellings[siren]),
                        siren if rng.random() < 0.4 else "", amount, rng.choice(entities)])


def run(folder: Path) -> dict:
    import dagster as dg

    from pipelines.checks import CHECKS
    from pipelines.definitions import UNPARTITIONED_ASSETS
    from pipelines.resources import resources_for

    wh = folder / "warehouse.duckdb"
    wh.unlink(missing_ok=True)
    instance = dg.DagsterInstance.ephemeral()
    start = time.perf_counter()
    result = dg.materialize(UNPARTITIONED_ASSETS + CHECKS, resources=resources_for(folder, wh, folder / "dash"),
                            instance=instance, raise_on_error=True,
                            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    wall = time.perf_counter() - start
    starts, stages = {}, defaultdict(float)
    for rec in instance.all_logs(result.run_id):
        ev = rec.dagster_event
        if ev is None or not ev.step_key:
            continue
        if ev.event_type_value == "STEP_START":
            starts[ev.step_key] = rec.timestamp
        elif ev.event_type_value == "STEP_SUCCESS" and ev.step_key in starts:
            stages[ev.step_key] += rec.timestamp - starts[ev.step_key]
    return {"wall": wall, "stages": dict(stages), "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    args = ap.parse_args()
    table = []
    for fraction in args.fractions:
        t = time.perf_counter()
        folder = build_data_dir(fraction)
        print(f"== taille {fraction:g} : données prêtes en {time.perf_counter() - t:.0f} s ({folder})")
        res = run(folder)
        top = sorted(res["stages"].items(), key=lambda kv: -kv[1])
        for step, secs in top[:8]:
            print(f"   {step:<40} {secs:7.1f} s")
        print(f"   total {res['wall']:.1f} s, mémoire de pointe du processus {res['peak_gb']:.2f} Go, "
              f"étape dominante : {top[0][0]}")
        table.append((fraction, res["wall"], res["peak_gb"], top[0][0]))
    print("\ntaille    unités  établissements  lignes   durée (s)  mémoire (Go)  étape dominante")
    for fraction, wall, peak, step in table:
        print(f"{fraction:>6g} {int(FULL_UNITS * fraction):>9,} {int(FULL_ETABS * fraction):>14,} "
              f"{min(FULL_LINES, max(1000, int(FULL_LINES * fraction))):>8,} {wall:>10.1f} {peak:>12.2f}  {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
