"""The embedded sample is exactly what its documented generator writes."""

from __future__ import annotations

import filecmp
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _differences(cmp: filecmp.dircmp) -> list[str]:
    out = [*cmp.diff_files, *cmp.left_only, *cmp.right_only]
    for sub in cmp.subdirs.values():
        out += _differences(sub)
    return out


def test_sample_is_reproducible(tmp_path):
    build = runpy.run_path(str(ROOT / "data" / "build_sample.py"))["main"]
    assert build(["--out", str(tmp_path / "sample"), "--truth", str(tmp_path / "truth.csv")]) == 0
    assert _differences(filecmp.dircmp(ROOT / "data" / "sample", tmp_path / "sample")) == []
    assert (tmp_path / "truth.csv").read_bytes() == (ROOT / "tests" / "data" / "sample_truth.csv").read_bytes()
