"""The benchmarks' peak memory is the measured process's own: on Linux a child started by
subprocess inherits its parent's ru_maxrss (the national bench reported the data generation's
1.5 GiB as the pipeline's peak at 1/10), so the bench reads VmHWM instead."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import RssSampler, own_peak_gib

ROOT = Path(__file__).resolve().parents[1]
CHILD = ("import resource; from bench import own_peak_gib; "
         "print(own_peak_gib(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)")

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")


def test_a_child_reports_its_own_peak_not_its_parents():
    held = bytearray(400 * 2**20)
    for i in range(0, len(held), 4096):  # resident, not only reserved
        held[i] = 1
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=ROOT)
    own, inherited = map(float, out.stdout.split())
    del held
    assert own < 0.2  # a bare interpreter, whatever ru_maxrss says (here: `inherited`, the parent's)
    assert own < inherited or inherited < 0.39
    assert own_peak_gib() >= 0.39  # the parent's own peak does include what it held


def test_the_sampler_places_a_peak_in_its_window():
    with RssSampler(every=0.01) as rss:
        time.sleep(0.05)
        start = time.time()
        held = bytearray(200 * 2**20)
        for i in range(0, len(held), 4096):
            held[i] = 1
        time.sleep(0.05)
        end = time.time()
        del held
        time.sleep(0.05)
    before = rss.peak_between(0, start - 0.001)
    during = rss.peak_between(start, end)
    assert before is not None and during is not None
    assert during - before > 0.15
    assert rss.peak_between(end + 10, end + 20) is None
