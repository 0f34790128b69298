"""The whole pipeline at national size: SIRENE-like stocks of ~30 million units and ~40 million
establishments shared by every buyer, and one département buyer's payment export (~300,000 lines
a year over 3 years, 15,000 distinct suppliers, 70 % of them local), run exactly as
`achats run --shared-dir` does.

    python -m bench.national --fractions 0.01 0.1 1 [--sample]

Honest by construction: the data of every size is generated first (not timed, other process);
then each size runs in a fresh process of its own, so its peak memory (VmHWM, see
bench.own_peak_gib; not ru_maxrss, which a child inherits from the parent that generated the
data) is that of the pipeline alone, imports included, and not the largest size's. Prints the per-stage table (from
Dagster's event log) and the growth table, and writes them to bench/results/national.{json,md},
which the README quotes. `--sample` also measures the embedded sample (imports apart).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench import RssSampler, own_peak_gib, write_results

OUT = Path(__file__).parent / "out"
RESULTS = Path(__file__).parent / "results"
FULL_UNITS, FULL_ETABS, FULL_LINES, FULL_SUPPLIERS = 30_000_000, 40_000_000, 900_000, 15_000
BUYER_DEPARTEMENT = "31"
LOCAL_SHARE = 0.7


def sizes(fraction: float) -> dict[str, int]:
    return {"units": int(FULL_UNITS * fraction), "establishments": int(FULL_ETABS * fraction),
            "lines": FULL_LINES if fraction >= 1 else max(1000, int(FULL_LINES * fraction)),
            "suppliers": min(FULL_SUPPLIERS, max(200, int(FULL_SUPPLIERS * fraction ** 0.5)))}


def build_data_dir(fraction: float, seed: int = 5) -> Path:
    """bench/out/national_<f>/commun/sirene (the national stocks) and .../acheteur (one buyer)."""
    from bench.synth import write_stocks

    root = OUT / f"national_{fraction:g}"
    shared, buyer = root / "commun", root / "acheteur"
    n = sizes(fraction)
    if not (shared / "sirene" / "StockEtablissement_synth.parquet").exists():
        write_stocks(shared / "sirene", n["units"], seed=seed, etab_per_unit=FULL_ETABS / FULL_UNITS)
    if not (buyer / "purchases" / "mandats.csv").exists():
        write_purchases(shared, buyer, n["lines"], n["suppliers"], seed)
    (buyer / "achats.toml").write_text(
        f'[acheteur]\ndepartement = "{BUYER_DEPARTEMENT}"\n\n[controles]\nmax_unmatched_share = 1.0\n',
        encoding="utf-8")
    return root


def write_purchases(shared: Path, buyer: Path, n_lines: int, n_suppliers: int, seed: int) -> None:
    """Lines to suppliers drawn from the stocks (70 % with their head office in the buyer's
    département, like a real département's), their names degraded, SIRET given on 40 %."""
    import duckdb

    from bench.match_scale import degrade

    rng = random.Random(seed)
    sirene = shared / "sirene"
    con = duckdb.connect()
    n_local = int(n_suppliers * LOCAL_SHARE)
    query = """
        SELECT u.siren, u.denominationUniteLegale FROM read_parquet(?) u
        JOIN read_parquet(?) e ON e.siren = u.siren AND e.etablissementSiege = 'true'
        WHERE u.denominationUniteLegale IS NOT NULL AND left(e.codeCommuneEtablissement, 2) {op} ?
        USING SAMPLE {n} ROWS (reservoir, {seed})"""
    files = [str(sirene / "StockUniteLegale_synth.parquet"), str(sirene / "StockEtablissement_synth.parquet")]
    sup = con.execute(query.format(op="=", n=n_local, seed=seed), [*files, BUYER_DEPARTEMENT]).fetchall()
    sup += con.execute(query.format(op="<>", n=n_suppliers - n_local, seed=seed),
                       [*files, BUYER_DEPARTEMENT]).fetchall()
    con.close()
    weights = [rng.paretovariate(1.2) for _ in sup]
    spellings = {s: [n, degrade(n, rng)] for s, n in sup}
    (buyer / "purchases").mkdir(parents=True, exist_ok=True)
    entities = [f"Direction {i}" for i in range(1, 25)]
    with open(buyer / "purchases" / "mandats.csv", "w", encoding="utf-8", newline="") as fh:
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


# --- one measured run, in a process of its own ---------------------------------------------------

def run_once(buyer: Path, shared: Path | None, warehouse: Path) -> dict:
    """Materialize every asset as `achats run` does; stage times from Dagster's event log, and
    each stage's peak resident memory (sampled every 50 ms during its steps)."""
    t0 = time.perf_counter()
    import dagster as dg

    import achats.dashboards.build  # noqa: F401
    import achats.decp_recount  # noqa: F401 - imported inside steps: counted with the imports
    import achats.history  # noqa: F401
    from achats.pipelines.checks import CHECKS
    from achats.pipelines.definitions import UNPARTITIONED_ASSETS
    from achats.pipelines.resources import resources_for

    imports = time.perf_counter() - t0
    warehouse.unlink(missing_ok=True)
    instance = dg.DagsterInstance.ephemeral()
    start = time.perf_counter()
    with RssSampler() as rss:
        result = dg.materialize(UNPARTITIONED_ASSETS + CHECKS,
                                resources=resources_for(buyer, warehouse, warehouse.parent / "dash", shared_dir=shared),
                                instance=instance, raise_on_error=True,
                                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    wall = time.perf_counter() - start
    starts, stages, stage_peaks = {}, defaultdict(float), {}
    for rec in instance.all_logs(result.run_id):
        ev = rec.dagster_event
        if ev is None or not ev.step_key:
            continue
        if ev.event_type_value == "STEP_START":
            starts[ev.step_key] = rec.timestamp
        elif ev.event_type_value == "STEP_SUCCESS" and ev.step_key in starts:
            stages[ev.step_key] += rec.timestamp - starts[ev.step_key]
            peak = rss.peak_between(starts[ev.step_key], rec.timestamp)
            if peak is not None:
                stage_peaks[ev.step_key] = max(peak, stage_peaks.get(ev.step_key, 0.0))
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        status = dict(con.execute("SELECT match_status, count(*) FROM res_supplier_match GROUP BY 1").fetchall())
        units = con.execute("SELECT count(*) FROM stg_unite_legale").fetchone()[0]
        etabs = con.execute("SELECT count(*) FROM stg_etablissement").fetchone()[0]
        lines = con.execute("SELECT count(*) FROM stg_purchase_lines").fetchone()[0]
    return {"load_avg_1min_after": round(os.getloadavg()[0], 1), "imports_s": imports, "wall_s": wall, "stages_s": dict(stages), "steps_s": sum(stages.values()),
            "stages_peak_gb": stage_peaks,
            "peak_gb": own_peak_gib(),
            "supplier_keys": status, "units_read": units, "establishments_read": etabs, "lines": lines}


def measure(buyer: Path, shared: Path | None, warehouse: Path) -> dict:
    """`run_once` in a fresh Python process: its peak memory is this run's alone."""
    cmd = [sys.executable, "-m", "bench.national", "--run-one", str(buyer), "--warehouse", str(warehouse)]
    if shared:
        cmd += ["--shared", str(shared)]
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode:
        raise SystemExit(f"échec du calcul mesuré ({buyer}) :\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ----------------------------------------------------------------------------------------

def stage_table(res: dict, top: int = 12) -> list[str]:
    rows = sorted(res["stages_s"].items(), key=lambda kv: -kv[1])
    peaks = res.get("stages_peak_gb", {})
    lines = [f"   {step:<44} {secs:7.2f} s" + (f"   pointe {peaks[step]:.2f} Go" if step in peaks else "")
             for step, secs in rows[:top]]
    rest = sum(s for _, s in rows[top:])
    lines.append(f"   {f'{len(rows) - top} autres étapes':<44} {rest:7.2f} s")
    lines.append(f"   {'Dagster (entre les étapes)':<44} {res['wall_s'] - res['steps_s']:7.2f} s")
    return lines


def markdown(results: list[dict]) -> str:
    loads = ", ".join(f"{r['label']} {r['load_avg_1min_after']:g}" for r in results if "load_avg_1min_after" in r)
    out = [f"Mesuré le {time.strftime('%Y-%m-%d')} sur {os.cpu_count()} cœurs ({platform.machine()}), "
           "chaque taille dans son propre processus, données générées avant la mesure."
           + (f" Charge de la machine (moyenne sur 1 min, à la fin de chaque mesure) : {loads}." if loads else ""),
           "",
           "| taille | unités | établissements | lignes | unités lues | durée (s) | mémoire de pointe (Go) "
           "| étape dominante |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        top = max(r["stages_s"].items(), key=lambda kv: kv[1])
        out.append(f"| {r['label']} | {r['units']:,} | {r['establishments']:,} | {r['lines']:,} | "
                   f"{r['units_read']:,} | {r['wall_s']:.1f} | {r['peak_gb']:.2f} | {top[0]} ({top[1]:.1f} s) |"
                   .replace(",", " "))
    for r in results:
        out += ["", f"Étapes, taille {r['label']} (durée totale {r['wall_s']:.1f} s, imports {r['imports_s']:.1f} s) :",
                "", "```", *stage_table(r, top=15), "```"]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fractions", type=float, nargs="*", default=[0.01, 0.1, 1.0])
    ap.add_argument("--sample", action="store_true", help="mesure aussi l'échantillon embarqué")
    ap.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--shared", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--results", type=Path, default=RESULTS / "national")
    args = ap.parse_args()
    if args.run_one:
        print(json.dumps(run_once(args.run_one, args.shared, args.warehouse)))
        return 0
    for fraction in args.fractions:  # all data first, in this process, never in a measured one
        t = time.perf_counter()
        build_data_dir(fraction)
        print(f"== taille {fraction:g} : données prêtes en {time.perf_counter() - t:.0f} s")
    results = []
    if args.sample:
        from achats.paths import sample_dir

        res = measure(sample_dir(), None, OUT / "sample" / "warehouse.duckdb")
        results.append({**res, "label": "échantillon", "units": res["units_read"],
                        "establishments": res["establishments_read"]})
    for fraction in args.fractions:
        root = OUT / f"national_{fraction:g}"
        res = measure(root / "acheteur", root / "commun", root / "warehouse.duckdb")
        results.append({**res, **{k: v for k, v in sizes(fraction).items() if k != "lines"}, "label": f"{fraction:g}"})
    for r in results:
        print(f"== {r['label']} : {r['wall_s']:.1f} s (imports {r['imports_s']:.1f} s à part), "
              f"mémoire de pointe {r['peak_gb']:.2f} Go, {r['units_read']:,} unités lues, "
              f"fournisseurs {r['supplier_keys']}")
        print("\n".join(stage_table(r)))
    text = markdown(results)
    print("\n" + text)
    write_results(args.results, results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
