"""Resources: where inputs are read and where the warehouse and dashboard are written."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from achats.config import Settings, load_settings


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


class DashboardOutput(dg.ConfigurableResource):
    output_dir: str

    @property
    def path(self) -> Path:
        return Path(self.output_dir)


def default_resources() -> dict:
    """Resources for `dagster dev`: paths come from the environment at run time, not import time."""
    return {
        "inputs": AchatsInputs(data_dir=dg.EnvVar("ACHATS_DATA_DIR")),
        "duckdb": DuckDBResource(database=dg.EnvVar("ACHATS_WAREHOUSE")),
        "dashboard": DashboardOutput(output_dir=dg.EnvVar("ACHATS_DASHBOARD_DIR")),
        "run_context": RunContext(),
    }


def resources_for(data_dir: Path, warehouse: Path, dashboard_dir: Path, previous: Path | None = None,
                  shared_dir: Path | None = None) -> dict:
    return {
        "inputs": AchatsInputs(data_dir=str(data_dir), shared_dir=str(shared_dir) if shared_dir else ""),
        "duckdb": DuckDBResource(database=str(warehouse)),
        "dashboard": DashboardOutput(output_dir=str(dashboard_dir)),
        "run_context": RunContext(previous_warehouse=str(previous) if previous else ""),
    }
