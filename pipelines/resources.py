"""Resources: where inputs are read and where the warehouse and dashboard are written."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from achats.config import Settings, load_settings
from achats.paths import files_under


class AchatsInputs(dg.ConfigurableResource):
    """The buyer's data directory (sirene/, status/, purchases/, contracts/, achats.toml), and
    optionally a shared directory whose sirene/ and status/ serve every buyer (read only)."""

    data_dir: str
    shared_dir: str = ""

    @property
    def path(self) -> Path:
        return Path(self.data_dir).resolve()

    def reference_root(self, folder: str) -> Path:
        """Where `sirene/` or `status/` is read: the buyer's own folder wins over the shared one."""
        own = self.path / folder
        if own.is_dir() or not self.shared_dir:
            return self.path
        return Path(self.shared_dir).resolve()

    def settings(self) -> Settings:
        return load_settings(self.path)


class RunContext(dg.ConfigurableResource):
    """The warehouse of the previous good run, whose history this run carries forward."""

    previous_warehouse: str = ""

    @property
    def previous(self) -> Path | None:
        return Path(self.previous_warehouse) if self.previous_warehouse else None


class RunDuckDB(DuckDBResource):
    """The warehouse, opened once per run (per process) rather than at every step: every step
    works on a cursor of the same connection. DuckDB's threads, memory limit and spill folder
    are settings of the run (environment: ACHATS_DUCKDB_THREADS, ACHATS_DUCKDB_MEMORY_LIMIT,
    ACHATS_DUCKDB_TEMP_DIR), so a machine shared by several buyers' runs can split its cores."""

    threads: int = 0  # 0: DuckDB's default, one per core (`achats run`: see default_threads)
    memory_limit: str = ""  # e.g. "4GB"; empty: DuckDB's default (80 % of the RAM)
    temp_directory: str = ""  # where DuckDB spills what does not fit; empty: next to the file
    # False for a file nobody reads before the run ends (`achats run` writes a temporary file,
    # synced to disk once and swapped in at the end): no fdatasync at each of the run's
    # hundreds of commits (≈ 3 ms each on this disk, ≈ 2 s of the sample's run).
    sync_each_commit: bool = True

    _con: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    # the direct runner runs steps in threads: a cursor is made under this lock (a DuckDB
    # connection object is not to be used by two threads at once; each cursor then is its own)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def settings(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.connection_config)
        if self.threads:
            out["threads"] = self.threads
        if self.memory_limit:
            out["memory_limit"] = self.memory_limit
        if self.temp_directory:
            Path(self.temp_directory).mkdir(parents=True, exist_ok=True)
            out["temp_directory"] = self.temp_directory
        if not self.sync_each_commit:
            out["fsync_mode"] = "NONE"
        return out

    def open(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.database, config={k: str(v) for k, v in self.settings().items()})

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._con = self.open()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @contextlib.contextmanager
    def get_connection(self):
        if self._con is None:  # used outside a run (a test, a script): a connection of its own
            con = self.open()
            try:
                yield con
            finally:
                con.close()
            return
        with self._lock:
            cur = self._con.cursor()  # same database, same settings, its own result state
        try:
            yield cur
        finally:
            cur.close()


# DuckDB shares a query's work between its threads by row groups of 122 880 rows. Over inputs
# lighter than this (a buyer's own extract, the embedded sample, a test's data), no table has
# several row groups to share, and the extra threads only cost their wake-ups: measured on
# 2 cores, one thread instead of two takes ≈ 20 % less processor time for a tiny buyer and
# ≈ 9 % for the sample, in less time too (the runner already runs two steps at a time).
SMALL_INPUTS_BYTES = 16 * 2**20


# compressed files hold several times their size (parquet stocks, zipped CSV, workbooks)
COMPRESSED = (".parquet", ".zip", ".gz", ".xlsx", ".xlsm")
COMPRESSED_WEIGHT = 8


def input_bytes(data_dir: Path, shared_dir: Path | None = None, stop_at: int = SMALL_INPUTS_BYTES) -> int:
    """What the run will read, in bytes (counting stops past `stop_at`; a compressed file counts
    COMPRESSED_WEIGHT times): the buyer's folder, and the shared folder's sirene/ and status/ when
    the buyer has none of its own. Linked folders are followed, as the run reads through them."""
    folders = [Path(data_dir)]
    if shared_dir is not None:
        folders += [Path(shared_dir) / f for f in ("sirene", "status") if not (Path(data_dir) / f).is_dir()]
    total = 0
    for path in files_under(*folders):
        with contextlib.suppress(OSError):  # a broken link is the checks' to report
            total += path.stat().st_size * (COMPRESSED_WEIGHT if path.name.lower().endswith(COMPRESSED) else 1)
        if total > stop_at:
            return total
    return total


def default_threads(data_dir: Path, shared_dir: Path | None = None) -> int:
    """DuckDB's threads for a run when ACHATS_DUCKDB_THREADS is not set: one over small inputs
    (see SMALL_INPUTS_BYTES), else 0 (DuckDB's default, one per core)."""
    return 1 if input_bytes(data_dir, shared_dir) <= SMALL_INPUTS_BYTES else 0


def duckdb_resource(database: str | dg.EnvVar, sync_each_commit: bool = True, threads: int = 0) -> RunDuckDB:
    """The warehouse resource with DuckDB's settings taken from the environment (ACHATS_DUCKDB_THREADS
    wins over `threads`, the caller's default)."""
    env = os.environ
    return RunDuckDB(database=database, threads=int(env.get("ACHATS_DUCKDB_THREADS") or threads),
                     memory_limit=env.get("ACHATS_DUCKDB_MEMORY_LIMIT", ""),
                     temp_directory=env.get("ACHATS_DUCKDB_TEMP_DIR", ""), sync_each_commit=sync_each_commit)


class DashboardOutput(dg.ConfigurableResource):
    output_dir: str

    @property
    def path(self) -> Path:
        return Path(self.output_dir)


def default_resources() -> dict:
    """Resources for `dagster dev`: paths come from the environment at run time, not import time."""
    return {
        "inputs": AchatsInputs(data_dir=dg.EnvVar("ACHATS_DATA_DIR")),
        "duckdb": duckdb_resource(dg.EnvVar("ACHATS_WAREHOUSE")),
        "dashboard": DashboardOutput(output_dir=dg.EnvVar("ACHATS_DASHBOARD_DIR")),
        "run_context": RunContext(),
    }


def resources_for(data_dir: Path, warehouse: Path, dashboard_dir: Path, previous: Path | None = None,
                  shared_dir: Path | None = None, sync_each_commit: bool = True) -> dict:
    """`sync_each_commit=False` when `warehouse` is a temporary file synced and swapped in by the caller."""
    return {
        "inputs": AchatsInputs(data_dir=str(data_dir), shared_dir=str(shared_dir) if shared_dir else ""),
        "duckdb": duckdb_resource(str(warehouse), sync_each_commit, default_threads(data_dir, shared_dir)),
        "dashboard": DashboardOutput(output_dir=str(dashboard_dir)),
        "run_context": RunContext(previous_warehouse=str(previous) if previous else ""),
    }
