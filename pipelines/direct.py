"""The direct runner of `achats run`: the assets' own computations, in the steps and order Dagster
would run them, without Dagster's run machinery.

Why: the sample's own work must stay under 2 s on 2 cores, and Dagster's bookkeeping for this
graph (run and step events written to its event log, data-version look-ups, run setup) costs
1.3 to 1.5 s of processor time even when the steps do nothing. Dagster stays the orchestrator of
`dagster dev`, the quarterly schedule, the sensor and the many-buyers job; `achats run --moteur
dagster` still runs the same `Definitions` through Dagster.

No second copy of the pipeline: a step here calls the function decorated by `@dg.asset` or
`@dg.multi_asset` in `pipelines/assets.py` (the asset's own computation, `op.compute_fn`), with
the same resources and a small context giving what the bodies read from Dagster's (run id,
selected tables and checks). The steps come from the same `AssetsDefinition`s: a layer of SQL
files is cut where another step sits between two of its tables by the rule Dagster applies
(`_attempt_resolve_node_cycles`: longest chain of changes of step), each step runs once every
step it reads has run, and a step whose upstream step failed or did not write a table it reads is
not run (Dagster's "abandoned" and "skipped"). A blocking check that fails fails its step after
the step's end, as in Dagster, so the diagnostic warehouse holds the same tables. Steps that do
not read each other run at the same time (two by default, `ACHATS_ETAPES_PARALLELES`), each on
its own cursor; the result is read in the plan's order, the same at any number.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import os
import queue
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import dagster as dg

from achats.registry import (
    comments_deferred,
    flush_comments,
    forget_comments,
    load_registry,
    pending_comments,
)

LOG = logging.getLogger("achats.run")
Key = dg.AssetKey | dg.AssetCheckKey


@dataclass
class Step:
    """One step: the tables and checks of one asset definition computed together."""

    name: str  # the op's name (Dagster adds _2, _3... to the parts of a cut layer)
    assets_def: dg.AssetsDefinition
    asset_keys: frozenset[dg.AssetKey]
    check_keys: frozenset[dg.AssetCheckKey]
    reads: frozenset[dg.AssetKey] = field(default_factory=frozenset)  # tables written by other steps

    @property
    def tables(self) -> list[str]:
        return sorted(k.to_user_string() for k in self.asset_keys)


def _entities(assets_defs: Iterable[dg.AssetsDefinition]):
    """Each table and check -> its definition, and each one's parents (tables it reads or checks)."""
    owner: dict[Key, dg.AssetsDefinition] = {}
    parents: dict[Key, set[dg.AssetKey]] = defaultdict(set)
    for a in assets_defs:
        for spec in a.specs:
            owner[spec.key] = a
            parents[spec.key] |= {d.asset_key for d in spec.deps}
        for cs in a.check_specs:
            owner[cs.key] = a
            parents[cs.key] |= {cs.asset_key, *(d.asset_key for d in cs.additional_deps)}
    return owner, {k: {p for p in ps if p in owner and p != k} for k, ps in parents.items()}


def plan(assets_defs: Iterable[dg.AssetsDefinition]) -> list[Step]:
    """The steps of a full run, each after every step it reads."""
    assets_defs = list(assets_defs)
    owner, parents = _entities(assets_defs)
    color: dict[Key, int] = {}

    def color_of(key: Key, path: tuple = ()) -> int:
        # Dagster's colouring: +1 each time a dependency crosses from one definition to another
        if key not in color:
            if key in path:
                raise ValueError(f"dépendance circulaire entre assets : {key.to_user_string()}")
            color[key] = max((color_of(p, (*path, key)) + (owner[p] is not owner[key]) for p in parents[key]),
                             default=0)
        return color[key]

    groups: dict[tuple[int, int], set[Key]] = defaultdict(set)
    for key in owner:
        a = owner[key]
        groups[(id(a), color_of(key) if a.can_subset else 0)].add(key)
    by_id = {id(a): a for a in assets_defs}
    steps = []
    for (aid, _), keys in groups.items():
        a = by_id[aid]
        assets = frozenset(k for k in keys if isinstance(k, dg.AssetKey))
        checks = frozenset(k for k in keys if isinstance(k, dg.AssetCheckKey))
        reads = frozenset(p for k in keys for p in parents[k] if p not in assets)
        steps.append(Step(a.op.name, a, assets, checks, reads))
    return _in_order(steps)


def without_reads(steps: list[Step], unneeded: dict[str, frozenset[str]]) -> list[Step]:
    """The plan less reads a step will not make in this run (`assets.reads_not_needed`), so the
    step may start before the steps writing them. Only a read no check of the step makes either:
    the reads are the union of its tables' and its checks' parents, and a check's stay."""
    out = []
    for step in steps:
        drop = {dg.AssetKey(t) for t in unneeded.get(step.name, ())}
        drop -= {d.asset_key for cs in step.assets_def.check_specs if cs.key in step.check_keys
                 for d in cs.additional_deps}
        out.append(replace(step, reads=step.reads - drop) if drop else step)
    return out


def one_step_per_table(steps: list[Step]) -> list[Step]:
    """Each step of a layer of SQL files (a subsettable definition, which Dagster runs as one step
    per colour) cut into one step per table with its own checks: the tables of a layer that do
    not read each other then run at the same time (the marts: the estimate and its summary beside
    the suppliers, the contracts and the sourcing). Each part still waits on what it reads, its
    checks' extra tables included, and a failed blocking check stops what reads its table."""
    defs = list({id(s.assets_def): s.assets_def for s in steps}.values())
    _, parents = _entities(defs)
    out: list[Step] = []
    for step in steps:
        if not step.assets_def.can_subset or len(step.asset_keys) < 2:
            out.append(step)
            continue
        of = {cs.key: cs.asset_key for cs in step.assets_def.check_specs}
        for key in sorted(step.asset_keys, key=lambda k: k.to_user_string()):
            checks = frozenset(c for c in step.check_keys if of[c] == key)
            # what the table and its checks read, among what the whole step read or wrote: a read
            # dropped before the cut (without_reads) stays dropped
            reads = frozenset(p for k in (key, *checks) for p in parents[k]
                              if p != key and p in step.reads | step.asset_keys)
            out.append(Step(step.name, step.assets_def, frozenset({key}), checks, reads))
    return _in_order(out)


def _in_order(steps: list[Step]) -> list[Step]:
    """Level by level (a step after every step it reads), by name within a level."""
    writer = {k: i for i, s in enumerate(steps) for k in s.asset_keys}
    needs = {i: {writer[k] for k in s.reads if k in writer} for i, s in enumerate(steps)}
    done: set[int] = set()
    out: list[Step] = []
    while len(done) < len(steps):
        level = [i for i in needs if i not in done and needs[i] <= done]
        if not level:
            raise ValueError("dépendance circulaire entre étapes : " + ", ".join(
                steps[i].name for i in needs if i not in done))
        level.sort(key=lambda i: (steps[i].name, min(k.to_user_string() for k in steps[i].asset_keys)))
        out += [steps[i] for i in level]
        done |= set(level)
    return out


class StepContext:
    """What the asset bodies read from Dagster's context, and nothing else."""

    def __init__(self, run_id: str, step: Step):
        self.run_id = run_id
        self.selected_asset_keys = step.asset_keys
        self.selected_asset_check_keys = step.check_keys
        self.log = LOG


@dataclass
class CheckEvaluation:
    """A check's result as `achats run` reports it (the fields of Dagster's evaluation it reads)."""

    check_name: str
    asset_key: dg.AssetKey
    passed: bool
    severity: dg.AssetCheckSeverity
    metadata: dict
    blocking: bool


class StepError(Exception):
    """An exception raised by a step's body (the original is its cause)."""

    def __init__(self, step: str, exc: BaseException):
        super().__init__(f"{step} : {type(exc).__name__}")
        self.step, self.exc = step, exc


@dataclass
class RunResult:
    """What `run_pipeline` reads of a run, as from Dagster's result."""

    run_id: str
    success: bool = True
    evaluations: list[CheckEvaluation] = field(default_factory=list)
    failure: StepError | None = None
    materialized: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)  # steps abandoned or skipped
    step_seconds: list[tuple[str, float]] = field(default_factory=list)  # each step run, in order
    # each step run: when it started and ended (time.perf_counter), to tell overlapping steps apart
    step_spans: list[tuple[str, float, float]] = field(default_factory=list)

    def get_asset_check_evaluations(self) -> list[CheckEvaluation]:
        return self.evaluations


COMMENTS_STEP = "commentaires"  # the name of the comments' writing in the run's timings
CHECKPOINT_STEP = "écriture du fichier"  # the name of the early checkpoint in the run's timings


def _flush(duckdb) -> tuple[float, float, Exception | None]:
    """Write the comments the steps noted, on a cursor of the run's connection: when, and the
    error that stopped it (reported as a failed step's would be)."""
    start, error = time.perf_counter(), None
    try:
        with duckdb.get_connection() as con:
            flush_comments(con)
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        error = exc
    return start, time.perf_counter(), error


def _checkpoint(duckdb) -> tuple[float, float, Exception | None]:
    """Write the warehouse's log into its file while the last steps (the dashboard) only read it:
    closing the connection at the end of the run then has nothing left to write (the checkpoint
    of the sample's ≈ 80 tables was ≈ 0.2 s of processor time alone after the last step)."""
    import duckdb as db

    start, error = time.perf_counter(), None
    try:
        with duckdb.get_connection() as con:
            con.execute("CHECKPOINT")
    except db.TransactionException:
        pass  # another cursor writes (now and then beside the dashboard): the close writes the file
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        error = exc
    return start, time.perf_counter(), error


def _call(step: Step, run_id: str, resources: dict):
    """The asset's own computation, with the resources it names."""
    fn = step.assets_def.op.compute_fn.decorated_fn
    kwargs = {}
    for name in inspect.signature(fn).parameters:
        kwargs[name] = StepContext(run_id, step) if name == "context" else resources[name]
    out = fn(**kwargs)
    return out if inspect.isgenerator(out) else [out]


def _meta(metadata: dict | None) -> str:
    """Metadata for the step log: `rows : 260, quarantined : 6`."""
    return ", ".join(f"{k} : {getattr(v, 'value', v)}" for k, v in (metadata or {}).items()) or "-"


def _run_step(step: Step, run_id: str, resources: dict, evaluations: list[CheckEvaluation],
              on_written: Callable[[dg.AssetKey], None] | None = None) -> tuple[set[dg.AssetKey], bool]:
    """Run one step: the tables it wrote (each told to `on_written` as soon as it is, before the
    step's checks), and whether a blocking check failed in it."""
    blocking = {cs.key: cs.blocking for cs in step.assets_def.check_specs}
    written: set[dg.AssetKey] = set()
    failed = False
    for event in _call(step, run_id, resources):
        if isinstance(event, dg.AssetCheckResult):
            key = dg.AssetCheckKey(event.asset_key or next(iter(step.asset_keys)), event.check_name)
            ev = CheckEvaluation(event.check_name, key.asset_key, event.passed, event.severity,
                                 dict(event.metadata or {}), blocking.get(key, False))
            evaluations.append(ev)
            failed |= ev.blocking and not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR
            LOG.info("%s : contrôle %s %s%s", step.name, ev.check_name, "réussi" if ev.passed else "en échec",
                     "" if ev.passed else f" ({_meta(ev.metadata)})")
        elif isinstance(event, dg.MaterializeResult):
            key = event.asset_key or next(iter(step.asset_keys))
            written.add(dg.AssetKey.from_coercible(key))
            LOG.info("%s : %s écrite (%s)", step.name, dg.AssetKey.from_coercible(key).to_user_string(),
                     _meta(event.metadata))
            if on_written is not None:
                on_written(dg.AssetKey.from_coercible(key))
    return written, failed


@dataclass
class _Outcome:
    """What one step did, kept apart until the run ends so the result reads in the plan's order
    whatever order the steps finished in."""

    evaluations: list[CheckEvaluation] = field(default_factory=list)
    written: set[dg.AssetKey] = field(default_factory=set)
    blocked: bool = False
    start: float = 0.0
    end: float = 0.0
    error: StepError | None = None


def _execute(step: Step, run_id: str, resources: dict,
             on_written: Callable[[dg.AssetKey], None] | None = None) -> _Outcome:
    out = _Outcome(start=time.perf_counter())
    LOG.info("%s : début (%s)", step.name, ", ".join(step.tables))
    try:
        out.written, out.blocked = _run_step(step, run_id, resources, out.evaluations, on_written)
    except Exception as exc:  # noqa: BLE001 - reported by the caller, as a failed Dagster step
        out.error = StepError(step.name, exc)
    out.end = time.perf_counter()
    return out


def default_workers() -> int:
    """Steps run at once: ACHATS_ETAPES_PARALLELES, else two when the machine has two cores.
    Two is enough: the sample's graph rarely has more than two steps ready, and DuckDB already
    spreads each query over the cores."""
    value = os.environ.get("ACHATS_ETAPES_PARALLELES", "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"ACHATS_ETAPES_PARALLELES doit être un nombre entier d'étapes, pas « {value} »") from None
    return max(1, min(2, os.cpu_count() or 1))


def _chain_lengths(steps: list[Step], needs: dict[int, set[int]],
                   cost: dict[str, float] | None = None) -> dict[int, float]:
    """For each step, the longest chain of steps that wait on it (itself included), each step
    weighing its `cost` (default 1): the ready step heading the longest chain goes first, as a
    critical-path scheduler would. Costs only order the ready steps, never what a step does."""
    cost = cost or {}
    below: dict[int, set[int]] = defaultdict(set)
    for i, ups in needs.items():
        for u in ups:
            below[u].add(i)
    length: dict[int, float] = {}
    for i in reversed(range(len(steps))):  # the plan is in order: every waiting step comes later
        length[i] = cost.get(steps[i].name, 1.0) + max((length[j] for j in below[i]), default=0)
    return length


def in_warehouse(step: Step) -> bool:
    """Whether every table the step writes is a table of the warehouse (sql/registry.yaml), which a
    discarded run of it can take back: only such a step may start before the checks of the steps
    it reads have ended (not the dashboard, a file outside the warehouse)."""
    declared = load_registry()
    return all(k.to_user_string() in declared for k in step.asset_keys)


def _drop(duckdb, tables: set[str]) -> None:
    """Take back the tables of steps run ahead of a check that then failed (Dagster never ran them)."""
    if not tables:
        return
    forget_comments(tables)
    with duckdb.get_connection() as con:
        views = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        for table in sorted(tables):
            con.execute(f'DROP {"VIEW" if table in views else "TABLE"} IF EXISTS "{table}"')


def run(steps: list[Step], resources: dict, run_id: str | None = None, workers: int | None = None,
        cost: dict[str, float] | None = None, ahead: Callable[[Step], bool] = in_warehouse) -> RunResult:
    """Every step once every step it reads has run, up to `workers` at a time on cursors of one
    warehouse connection (DuckDB runs the queries of several cursors at once; a step waits on
    Python only part of its time). Stops starting steps at the first step that raises (reported
    as Dagster reports the first failed step, in the plan's order), goes on after a failed
    blocking check with the steps that do not read its step's tables. The result lists steps,
    tables and check evaluations in the plan's order, so a run reads the same at any `workers`.

    A step for which `ahead` holds starts as soon as the tables it reads are written, while the
    steps writing them still evaluate their checks (the recounts of the figures: a tenth of a
    second each on the critical chain). Run ahead, it is taken back if one of those steps then
    fails or fails a blocking check, as if never started: its tables dropped, its evaluations and
    error left out, itself counted as not run where Dagster would not have run it; its error
    counts only once every step it reads has ended well."""
    result = RunResult(run_id or str(uuid.uuid4()))
    workers = workers or default_workers()
    duckdb = resources.get("duckdb")
    writer = {k: i for i, s in enumerate(steps) for k in s.asset_keys}
    needs = {i: {writer[k] for k in s.reads if k in writer} for i, s in enumerate(steps)}
    reads_of = {i: {u: {k for k in s.reads if writer.get(k) == u} for u in needs[i]} for i, s in enumerate(steps)}
    length = _chain_lengths(steps, needs, cost)
    events: queue.SimpleQueue = queue.SimpleQueue()
    outcomes: dict[int, _Outcome] = {}  # ended steps, taken back ones excepted
    early: dict[int, set[dg.AssetKey]] = defaultdict(set)  # tables of running steps, written before their checks
    running: set[int] = set()
    started_ahead: set[int] = set()  # started before a step it reads had ended, and not yet confirmed
    taken_back: set[int] = set()  # run ahead, then some step it reads failed: as if never started
    to_drop: set[str] = set()
    not_run: set[int] = set()
    pending = list(range(len(steps)))
    stopped = False

    def bad(u: int) -> bool:  # a step whose readers Dagster would not run, or that did not end well
        return u in not_run or u in taken_back or (u in outcomes and (outcomes[u].error is not None
                                                                      or outcomes[u].blocked))

    def skip(i: int) -> bool:  # Dagster would not run step i: a step it reads was skipped or blocked
        for u in needs[i]:
            if u in not_run:
                return True
            if u in outcomes and u not in started_ahead and (
                    outcomes[u].blocked or not reads_of[i][u] <= outcomes[u].written):
                return True
        return False

    def can_start(i: int) -> bool:  # what step i reads is written, by steps ended well or still running
        for u in needs[i]:
            if u in outcomes:
                o = outcomes[u]
                if o.error is not None or o.blocked or not reads_of[i][u] <= o.written:
                    return False
            elif not (u in running and u not in taken_back and ahead(steps[i]) and reads_of[i][u] <= early[u]):
                return False
        return True

    def settle() -> None:
        """Take back the steps run ahead of a step that failed; confirm those whose every upstream
        step ended well (their error then stops the run, as any step's)."""
        nonlocal stopped
        changed = True
        while changed:
            changed = False
            for i in sorted(started_ahead):
                if any(bad(u) for u in needs[i]):
                    started_ahead.discard(i)
                    taken_back.add(i)
                    changed = True
                    if any(u in outcomes and outcomes[u].blocked for u in needs[i]) or \
                            any(u in not_run for u in needs[i]):
                        not_run.add(i)  # where Dagster skips the readers of a blocked table
                    outcomes.pop(i, None)
                    to_drop.update(steps[i].tables)  # what it wrote, yielded or not
                elif i in outcomes and all(u in outcomes and u not in started_ahead for u in needs[i]):
                    started_ahead.discard(i)
                    stopped |= outcomes[i].error is not None
                    changed = True

    if duckdb is not None:
        duckdb.setup_for_execution(None)
    # the steps' COMMENT ON are noted, and written in batches by one more thread, beside the
    # `workers` steps: DuckDB writes them without the GIL, on the processor time the steps leave
    # (the matching is Python on one core); once no step left writes to the warehouse, its file is
    # written beside the last readers. One such chore at a time: `chore` is its name and future
    chore: tuple[str, Future] | None = None
    stored = {i for i, s in enumerate(steps) if in_warehouse(s)}  # steps whose tables the file keeps
    checkpointed = not stored
    spans: list[tuple[str, float, float, Exception | None]] = []
    try:
        with comments_deferred(), ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix="achats-etape") as pool:
            def submit(fn, *args) -> Future:  # in a copy of this context: the steps note comments here
                return pool.submit(contextvars.copy_context().run, fn, *args)

            def start(i: int) -> None:
                def tell(key: dg.AssetKey) -> None:
                    events.put(("written", i, key))

                def body() -> None:
                    events.put(("ended", i, _execute(steps[i], result.run_id, resources, tell)))

                pending.remove(i)
                running.add(i)
                if any(u not in outcomes or u in started_ahead for u in needs[i]):
                    started_ahead.add(i)
                submit(body)

            def chore_of(name: str, fn) -> tuple[str, Future]:
                future = submit(fn, duckdb)
                future.add_done_callback(lambda _: events.put(("flushed", -1, None)))
                return name, future

            while True:
                if chore is not None and chore[1].done():
                    spans.append((chore[0], *chore[1].result()))
                    stopped |= spans[-1][3] is not None
                    chore = None
                for i in sorted(pending, key=lambda i: (-length[i], i)) if not stopped else []:
                    if skip(i):
                        pending.remove(i)
                        not_run.add(i)
                        LOG.info("%s : non lancée (une étape en amont a échoué ou n'a pas écrit ce qu'elle lit)",
                                 steps[i].name)
                    elif len(running) < workers and can_start(i):
                        start(i)
                if duckdb is not None and chore is None and not stopped:
                    if pending_comments():
                        chore = chore_of(COMMENTS_STEP, _flush)
                    elif running and not checkpointed and not stored & {*pending, *running}:
                        chore, checkpointed = chore_of(CHECKPOINT_STEP, _checkpoint), True
                if not running:
                    waiting = [i for i in pending if all(u in outcomes or u in not_run for u in needs[i])]
                    if stopped or not waiting:
                        break
                    if chore is None:
                        continue  # a skip just made other steps ready
                kind, i, value = events.get()
                if kind == "written":
                    early[i].add(value)
                elif kind == "ended":
                    running.discard(i)
                    if i in taken_back:  # run ahead of a step that failed: its work is taken back
                        to_drop.update(steps[i].tables)
                        continue
                    outcomes[i] = value
                    if i not in started_ahead:
                        stopped |= value.error is not None
                settle()
            # the loop ends with no step running, every one settled; a step still unconfirmed
            # here would be a defect of settle(): taken back rather than published
            for i in sorted(started_ahead):
                taken_back.add(i)
                outcomes.pop(i, None)
                to_drop.update(steps[i].tables)
            if chore is not None:
                spans.append((chore[0], *chore[1].result()))
            if duckdb is not None:
                _drop(duckdb, to_drop)
            if duckdb is not None and pending_comments():  # noted by the last steps
                spans.append((COMMENTS_STEP, *_flush(duckdb)))
    finally:
        if duckdb is not None:
            duckdb.teardown_after_execution(None)
    for i, step in enumerate(steps):
        if i in not_run:
            result.not_run.append(step.name)
        if i not in outcomes:
            continue
        o = outcomes[i]
        result.evaluations += o.evaluations
        result.step_seconds.append((step.name, o.end - o.start))
        result.step_spans.append((step.name, o.start, o.end))
        if o.error is not None:
            result.success = False
            result.failure = result.failure or o.error
            continue
        result.materialized += sorted(k.to_user_string() for k in o.written)
        result.success &= not o.blocked
    result.step_seconds += [(name, end - start) for name, start, end, _ in spans]
    result.step_spans += [(name, start, end) for name, start, end, _ in spans]
    name, error = next(((n, e) for n, _, _, e in spans if e is not None), (COMMENTS_STEP, None))
    if error is not None and result.failure is None:
        result.success, result.failure = False, StepError(name, error)
    return result
