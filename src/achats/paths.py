"""Locate files shipped with the package (SQL, reference tables) in a checkout or a wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def _shipped(name: str, repo_relative: str) -> Path:
    """A wheel carries `achats/<name>`; an editable checkout keeps it at the repo root."""
    packaged = Path(str(resources.files("achats"))) / name
    if packaged.is_dir():
        return packaged
    return _REPO_ROOT / repo_relative


def sql_dir() -> Path:
    return _shipped("sql", "sql")


def reference_dir() -> Path:
    return _shipped("reference", "data/reference")


def sample_dir() -> Path:
    """The embedded sample only exists in a checkout (it is not shipped in the wheel)."""
    return _REPO_ROOT / "data" / "sample"


def read_sql(relative: str) -> str:
    return (sql_dir() / relative).read_text(encoding="utf-8")
