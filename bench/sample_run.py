"""Where the embedded sample's run spends its time, imports apart.

    python -m bench.sample_run [--runs 3] [--moteur direct dagster] [--code-root DIR --label avant]

Each run is a fresh Python process that imports everything first (timed apart: Python, Dagster,
polars, plotly and the project), then calls `run_pipeline` exactly as `achats run` does, with
each engine asked for (`--moteur`: the direct runner, `achats run`'s default, and Dagster), and
splits its wall time ("own work") into: the job setup before the first step, each step
(by stage), the time between steps, and the end of the run (teardown, swap of the warehouse).
Inside the steps the time of the project's own functions is measured by wrapping them (reading
sources, SQL files, registry checks, resolution, dashboard...), the rest of a step being
Dagster's per-step work (events, logging, resources). `--code-root` measures another checkout
of the project (e.g. `git archive <commit>` unpacked in /tmp) with this same script, so that a
before/after comparison runs back to back in the same conditions.
Writes bench/results/sample_run.{md,json} (or `--results`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve()
RESULTS = HERE.parent / "results" / "sample_run"

# (module, function, category): the project's own work inside the steps. Only the outermost
# wrapped call is counted (run_sql calls apply_comments, for instance).
WORK = [
    ("achats.warehouse", "load_reference", "lecture des sources"),
    ("achats.warehouse", "load_purchases", "lecture des sources"),
    ("achats.warehouse", "sirene_perimeter", "lecture des sources"),
    ("achats.warehouse", "load_sirene", "lecture des sources"),
    ("achats.warehouse", "load_status", "lecture des sources"),
    ("achats.warehouse", "load_contracts", "lecture des sources"),
    ("achats.warehouse", "load_overrides", "lecture des sources"),
    ("achats.history", "write_sources_manifest", "lecture des sources"),
    ("achats.warehouse", "resolve_suppliers", "rapprochement"),
    ("achats.warehouse", "run_sql", "SQL (fichiers sql/)"),
    ("achats.warehouse", "mart_params", "SQL (fichiers sql/)"),
    ("achats.warehouse", "table_count", "SQL (fichiers sql/)"),
    ("achats.warehouse", "write_run_parameters", "SQL (fichiers sql/)"),
    ("achats.registry", "apply_comments", "SQL (fichiers sql/)"),
    ("achats.history", "record_run", "historique des calculs"),
    ("achats.registry", "contract_problems", "contrôles du registre"),
    ("achats.decp_recount", "recount_contracts", "autres contrôles"),
    ("achats.dashboards.build", "build_dashboard", "tableau de bord"),
]
CHECK_MODULE = "achats.pipelines.checks"  # the hand-written checks: their bodies count as "autres contrôles"


def _import_everything() -> float:
    t0 = time.perf_counter()
    import dagster  # noqa: F401
    import duckdb  # noqa: F401
    import plotly  # noqa: F401
    import polars  # noqa: F401

    import achats.dashboards.build  # noqa: F401
    import achats.decp_recount  # noqa: F401 - imported inside steps: counted with the imports
    import achats.history  # noqa: F401
    import achats.pipelines.checks  # noqa: F401
    import achats.pipelines.cli  # noqa: F401
    import achats.pipelines.definitions  # noqa: F401
    with contextlib.suppress(ImportError):  # imported by run_pipeline; absent from older checkouts
        import achats.pipelines.instance  # noqa: F401
    return time.perf_counter() - t0


class Timer:
    """Time spent in the wrapped functions, by category, outermost calls only."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.local = threading.local()  # outermost calls per thread: the runner runs steps in threads

    def wrap(self, fn, category: str):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            depth = getattr(self.local, "depth", 0)
            if depth:
                return fn(*args, **kwargs)
            self.local.depth = 1
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.spent[category] += time.perf_counter() - t
                    self.calls[category] += 1
                self.local.depth = 0
        timed.__wrapped_by_bench__ = True
        return timed

    def install(self) -> None:
        """Replace each function in its module and wherever a loaded project module imported it by name."""
        import importlib

        for module, name, category in WORK:
            try:
                mod = importlib.import_module(module)
            except ImportError:
                continue
            original = getattr(mod, name, None)
            if original is None:
                continue
            timed = self.wrap(original, category)
            for loaded in list(sys.modules.values()):
                if getattr(loaded, "__name__", "").startswith(("achats", "pipelines", "dashboards")) \
                        and getattr(loaded, name, None) is original:
                    setattr(loaded, name, timed)


class ImportClock:
    """Time spent importing modules during the run (a module first used inside a step: openpyxl
    for an XLSX export, Dagster's SQLite event log...): outermost imports only. It is import
    time, reported apart from the run's own work, like the imports done before it."""

    def __init__(self):
        import importlib._bootstrap as bootstrap

        self.bootstrap, self.original = bootstrap, bootstrap._find_and_load
        self.spent, self.cpu, self.count, self.depth = 0.0, 0.0, 0, 0

    def __enter__(self):
        original = self.original

        def timed(name, import_):
            if self.depth:
                return original(name, import_)
            self.depth += 1
            t, cpu = time.perf_counter(), time.process_time()
            try:
                return original(name, import_)
            finally:
                self.spent += time.perf_counter() - t
                self.cpu += time.process_time() - cpu
                self.count += 1
                self.depth -= 1

        self.bootstrap._find_and_load = timed
        return self

    def __exit__(self, *exc):
        self.bootstrap._find_and_load = self.original


def _op_groups() -> dict[str, str]:
    """Step (op) name -> stage: the Dagster group of its assets, or « contrôles » for a check."""
    from achats.pipelines.definitions import defs

    out = {}
    graph = defs.resolve_asset_graph()
    for node in graph.asset_nodes:
        a = node.assets_def
        if a.is_executable:
            out[a.op.name] = node.group_name or "?"
    for check in defs.asset_checks or []:
        if hasattr(check, "op") and check.op.name not in out:
            out[check.op.name] = "contrôles (étapes à part)"
    out["commentaires"] = "commentaires (moteur direct, par lots)"  # direct.COMMENTS_STEP: no Dagster op
    out["écriture du fichier"] = "écriture du fichier (moteur direct, à côté du tableau de bord)"  # CHECKPOINT_STEP
    return out


@dataclass
class _Timed:
    """One call of `run_pipeline`, timed: wall and processor time, imports made during it apart."""

    wall: float
    cpu: float  # all threads, imports made during the run included
    clock: ImportClock
    modules: set[str]  # modules loaded before the run
    start_wall: float
    end_wall: float


def _timed_run(cli, data_dir: Path | None, **kw) -> _Timed:
    from achats.paths import sample_dir

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start_wall = time.time()
        modules = set(sys.modules)
        with ImportClock() as clock:
            t0, cpu0 = time.perf_counter(), os.times()
            cli.run_pipeline(data_dir or sample_dir(), out / "wh" / "achats.duckdb", out / "dash", **kw)
            wall, cpu1 = time.perf_counter() - t0, os.times()
        end_wall = time.time()
    return _Timed(wall, (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), clock, modules, start_wall, end_wall)


def _figures(imports: float, t: _Timed, steps: dict[str, float], stages: dict[str, float], timer: Timer,
             setup: float, between: float, after: float, engine: str) -> dict:
    """The same figures for both engines, from their own step timings."""
    in_steps = sum(steps.values())
    work = dict(timer.spent)
    return {
        "imports_s": imports, "own_s": t.wall - t.clock.spent, "wall_s": t.wall, "run_imports_s": t.clock.spent,
        "run_imported_modules": len(set(sys.modules) - t.modules), "step_count": len(steps),
        # processor time of the run less that of the imports made during it (the same split as the wall time)
        "own_cpu_s": t.cpu - t.clock.cpu, "run_imports_cpu_s": t.clock.cpu,
        "setup_s": setup, "steps_s": in_steps, "between_steps_s": between, "after_steps_s": after,
        "stages_s": dict(stages), "work_s": work, "work_calls": dict(timer.calls),
        # the engine's own bookkeeping inside the steps, imports made in the steps included
        "dagster_in_steps_s": in_steps - sum(work.values()),
        "steps": dict(sorted(steps.items(), key=lambda kv: -kv[1])), "engine": engine,
    }


def run_once_direct(data_dir: Path | None) -> dict:
    """One measured run of the sample by the direct runner (`achats run`'s default engine): the
    same split as `run_once`, from the runner's own step timings instead of Dagster's events."""
    imports = _import_everything()
    import achats.pipelines.cli as cli
    from achats.pipelines import direct

    timer = Timer()
    timer.install()
    groups = _op_groups()
    seen: list = []
    original_run, original_plan = direct.run, direct.plan
    marks: dict[str, float] = {}

    def plan(*args, **kwargs):
        marks["plan"] = time.time()
        return original_plan(*args, **kwargs)

    def run(*args, **kwargs):
        marks["start"] = time.time()
        res = original_run(*args, **kwargs)
        marks["end"] = time.time()
        seen.append(res)
        return res

    direct.run, direct.plan = run, plan
    t = _timed_run(cli, data_dir, engine="direct")
    direct.run, direct.plan = original_run, original_plan
    steps: dict[str, float] = {}
    for i, (name, secs) in enumerate(seen[0].step_seconds):  # a layer cut in parts: sql_views, sql_views (2)...
        steps[name if name not in steps else f"{name} ({i})"] = secs
    stages: dict[str, float] = defaultdict(float)
    for key, secs in seen[0].step_seconds:
        stages[groups.get(key, "?")] += secs
    in_steps = sum(steps.values())
    # steps run two at a time count once; an older runner (no spans) ran them one after the other
    spans = getattr(seen[0], "step_spans", None)
    busy = _covered([(s, e) for _, s, e in spans]) if spans is not None else in_steps
    res = _figures(imports, t, steps, stages, timer, setup=marks["start"] - t.start_wall,
                   between=marks["end"] - marks["start"] - busy, after=t.end_wall - marks["end"], engine="direct")
    res["overlap_s"] = in_steps - busy
    return res


def _covered(spans: list[tuple[float, float]]) -> float:
    """Time during which at least one step ran (the union of the steps' spans)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def run_once(data_dir: Path | None, engine: str = "dagster") -> dict:
    """One measured run of the sample in this process (imports done first, timed apart)."""
    if engine == "direct":
        return run_once_direct(data_dir)
    imports = _import_everything()
    import inspect

    import dagster as dg

    import achats.pipelines.cli as cli

    timer = Timer()
    timer.install()
    try:  # the run's own instance (held connections); older checkouts: Dagster's ephemeral instance
        import achats.pipelines.instance as run_instances
    except ImportError:
        run_instances = None
    # the instance the run will use, built here to read the run's event log afterwards
    instance = run_instances.run_instance() if run_instances else dg.DagsterInstance.ephemeral()
    original_ephemeral = dg.DagsterInstance.ephemeral
    dg.DagsterInstance.ephemeral = staticmethod(lambda *a, **k: instance)
    if run_instances:
        original_run_instance = run_instances.run_instance
        run_instances.run_instance = lambda: instance
    groups = _op_groups()
    # older checkouts have one engine, Dagster; this one is asked for it by name
    kw = {"engine": "dagster"} if "engine" in inspect.signature(cli.run_pipeline).parameters else {}
    t = _timed_run(cli, data_dir, **kw)
    dg.DagsterInstance.ephemeral = original_ephemeral
    if run_instances:
        run_instances.run_instance = original_run_instance

    runs = instance.get_runs()
    records = instance.all_logs(runs[0].run_id)
    starts, steps = {}, defaultdict(float)
    first_start = last_end = None
    for rec in records:
        ev = rec.dagster_event
        if ev is None or not ev.step_key:
            continue
        if ev.event_type_value == "STEP_START":
            starts[ev.step_key] = rec.timestamp
            first_start = rec.timestamp if first_start is None else min(first_start, rec.timestamp)
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in starts:
            steps[ev.step_key] += rec.timestamp - starts[ev.step_key]
            last_end = rec.timestamp if last_end is None else max(last_end, rec.timestamp)
    in_steps = sum(steps.values())
    stages: dict[str, float] = defaultdict(float)
    for key, secs in steps.items():  # a multi-asset cut by Dagster runs as <op>_2, <op>_3...
        base = key if key in groups else re.sub(r"_\d+$", "", key)
        stages[groups.get(base, "contrôles (étapes à part)")] += secs
    return _figures(imports, t, steps, stages, timer,
                    setup=(first_start - t.start_wall) if first_start else 0.0,
                    between=(last_end - first_start - in_steps) if first_start else 0.0,
                    after=(t.end_wall - last_end) if last_end else 0.0, engine="dagster")


def etalon() -> float:
    """A fixed workload (Python, then one DuckDB query on both cores), timed just before each
    measured run: the speed of this shared machine at that moment. The same code measured 2,6 s
    one evening and 3,7 s the next morning; the ratio own work / étalon compares across days."""
    import duckdb

    t0 = time.perf_counter()
    total = 0
    for i in range(1_500_000):
        total += i * i % 7
    with duckdb.connect() as con:
        con.execute("SELECT sum(hash(range)) FROM range(20000000)").fetchall()
    return time.perf_counter() - t0


def measure(code_root: Path, data_dir: Path | None, engine: str = "dagster") -> dict:
    """`run_once` in a fresh process with `code_root` first on the path, after the étalon."""
    calibration = etalon()
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(code_root / "src"), str(code_root)])
    cmd = [sys.executable, str(HERE), "--run-one", "--moteur", engine] + (
        ["--data-dir", str(data_dir)] if data_dir else [])
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code_root)
    if out.returncode:
        raise SystemExit(f"échec du calcul mesuré ({code_root}) :\n{out.stderr[-4000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["load_avg_1min"] = round(os.getloadavg()[0], 2)
    res["etalon_s"] = round(calibration, 3)
    return res


def fr(x: float) -> str:
    """2,35: the French decimal comma of the results the README quotes."""
    return f"{x:.2f}".replace(".", ",")


def table(res: dict) -> list[str]:
    """The per-stage table of one run."""
    own = res["own_s"]
    who = "Dagster" if res.get("engine", "dagster") == "dagster" else "moteur direct"
    rows = [(f"{who} : préparation du calcul (avant la 1re étape)", res["setup_s"])]
    rows += [(f"étapes « {g} »", s) for g, s in sorted(res["stages_s"].items(), key=lambda kv: -kv[1])]
    if res.get("overlap_s"):  # steps run at once: their sum exceeds the time they took
        rows.append(("étapes en même temps (à déduire de leur somme)", -res["overlap_s"]))
    rows += [(f"{who} : entre les étapes", res["between_steps_s"]),
             (f"fin du calcul ({who}, remplacement de l'entrepôt)", res["after_steps_s"])]
    lines = [f"   {'imports avant le calcul (à part)':<58} {fr(res['imports_s']):>6} s",
             f"   {'imports pendant le calcul (à part) : ' + str(res['run_imported_modules']) + ' modules':<58} "
             f"{fr(res['run_imports_s']):>6} s", ""]
    lines += [f"   {label:<58} {fr(secs):>6} s" for label, secs in rows]
    lines += [f"   {'durée du calcul, imports pendant le calcul compris':<58} {fr(res['wall_s']):>6} s",
              f"   {'travail propre (durée du calcul hors imports)':<58} {fr(own):>6} s",
              f"   {'   temps processeur du travail propre (tous fils)':<58} {fr(res.get('own_cpu_s', 0)):>6} s", "",
              f"   dans les {res['step_count']} étapes (additionné sur les étapes faites en même temps) :"]
    for cat, secs in sorted(res["work_s"].items(), key=lambda kv: -kv[1]):
        lines.append(f"     {cat:<56} {fr(secs):>6} s")
    lines.append(f"     {who + ' dans les étapes, et imports faits dans les étapes':<56} "
                 f"{fr(res['dagster_in_steps_s']):>6} s")
    return lines


def markdown(results: dict[str, list[dict]]) -> str:
    out = [f"Mesuré le {time.strftime('%Y-%m-%d %H:%M')} UTC sur {os.cpu_count()} cœurs, chaque calcul dans son "
           "propre processus (`python -m bench.sample_run`). Travail propre = durée de `run_pipeline` (ce que fait "
           "`achats run`) moins les imports de modules faits pendant le calcul ; les imports faits avant sont à part "
           "aussi. Temps processeur : tous les fils du processus (DuckDB compris) pendant le calcul, moins celui des imports "
           "faits pendant le calcul (le même partage que pour la durée). "
           "La machine est partagée : charge moyenne sur 1 min relevée après chaque calcul. Étalon : la durée d'un "
           "travail fixe (Python puis une requête DuckDB) juste avant chaque calcul, la vitesse de la machine à ce "
           "moment ; travail propre / étalon se compare d'un jour à l'autre.", "",
           "| version | calcul | imports avant (s) | imports pendant (s) | durée du calcul (s) | "
           "**travail propre** (s) | temps processeur (s) | étapes | charge | étalon (s) | travail propre / étalon |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, runs in results.items():
        for i, r in enumerate(runs, 1):
            cal = r.get("etalon_s")
            out.append(f"| {label} | {i} | {fr(r['imports_s'])} | {fr(r['run_imports_s'])} | {fr(r['wall_s'])} | "
                       f"**{fr(r['own_s'])}** | {fr(r['own_cpu_s'])} | {r['step_count']} | {fr(r['load_avg_1min'])} | "
                       f"{fr(cal) if cal else '-'} | {fr(r['own_s'] / cal) if cal else '-'} |")
    for label, runs in results.items():
        best = min(runs, key=lambda r: r["own_s"])
        median = statistics.median(r["own_s"] for r in runs)
        cpu = [r["own_cpu_s"] for r in runs]
        out += ["", f"« {label} » : travail propre médian {fr(median)} s (de {fr(min(r['own_s'] for r in runs))} "
                f"à {fr(max(r['own_s'] for r in runs))} s), temps processeur médian {fr(statistics.median(cpu))} s "
                f"(de {fr(min(cpu))} à {fr(max(cpu))} s)"
                + (f", étalon médian {fr(statistics.median(r['etalon_s'] for r in runs))} s, travail propre / étalon "
                   f"médian {fr(statistics.median(r['own_s'] / r['etalon_s'] for r in runs))}"
                   if all(r.get("etalon_s") for r in runs) else "") + " ; détail du calcul le plus rapide :",
                "", "```", *table(best), "```"]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description="Mesure du calcul de l'échantillon embarqué.")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--code-root", type=Path, nargs="*", default=[HERE.parent.parent],
                    help="dossiers du projet à mesurer, l'un après l'autre, dans l'ordre")
    ap.add_argument("--label", nargs="*", help="nom de chaque version (défaut : le dossier)")
    ap.add_argument("--rounds", type=int, default=1, help="alterner les versions autant de fois")
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--moteur", nargs="*", default=["direct", "dagster"], choices=["direct", "dagster"],
                    help="moteurs de `achats run` à mesurer (une version sans moteur direct : Dagster seul)")
    ap.add_argument("--run-one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run_one:
        with contextlib.redirect_stdout(sys.stderr):
            res = run_once(args.data_dir, (args.moteur or ["dagster"])[0])
        print(json.dumps(res))
        return 0
    labels = args.label or [p.name for p in args.code_root]
    versions = [(root, engine, f"{label}, moteur {engine}") for root, label in zip(args.code_root, labels, strict=True)
                for engine in args.moteur if engine == "dagster" or (root / "pipelines" / "direct.py").exists()]
    results: dict[str, list[dict]] = {name: [] for _, _, name in versions}
    print(f"charge au départ : {os.getloadavg()[0]:.2f}")
    for _ in range(args.rounds):
        for root, engine, name in versions:
            for _ in range(args.runs):
                res = measure(root.resolve(), args.data_dir, engine)
                results[name].append(res)
                print(f"{name} : travail propre {res['own_s']:.2f} s, processeur {res['own_cpu_s']:.2f} s (imports "
                      f"{res['imports_s']:.2f} s, {res['step_count']} étapes, charge {res['load_avg_1min']:g}, "
                      f"étalon {res['etalon_s']:.2f} s)", flush=True)
    text = markdown(results)
    print("\n" + text)
    # imported here: the measured runs load this file with another checkout first on the path
    from bench import write_results

    write_results(args.results, results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
