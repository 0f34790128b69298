"""Locate files shipped with the package (SQL, reference tables) in a checkout or a wheel."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


def files_under(*folders: Path) -> Iterator[Path]:
    """Every file under `folders`, linked folders followed as a run reads through them, each
    folder once (a link back up, or a folder reached twice, is not walked again); folders in name
    order. A folder that cannot be looked at is walked all the same."""
    seen: set[tuple[int, int]] = set()
    for folder in folders:
        for root, dirs, files in os.walk(folder, followlinks=True):
            try:
                st = os.stat(root)
            except OSError:
                st = None
            if st is not None:
                if (st.st_dev, st.st_ino) in seen:
                    dirs.clear()
                    continue
                seen.add((st.st_dev, st.st_ino))
            dirs.sort()
            yield from (Path(root) / name for name in files)
