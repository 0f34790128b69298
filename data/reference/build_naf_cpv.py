"""Derive the NAF division -> CPV division table from the equinox CPV -> NACE A*64 table.

Run from the repo root: python data/reference/build_naf_cpv.py
Why derived: no official NAF<->CPV table is published at this grain; each CPV code is
mapped by equinox to one A*64 group of NACE divisions, so inverting it tells, for each
NAF division, which CPV divisions hold products of that group and in what share.
"""

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).parent
SECTIONS = {
    "A": (1, 3), "B": (5, 9), "C": (10, 33), "D": (35, 35), "E": (36, 39), "F": (41, 43),
    "G": (45, 47), "H": (49, 53), "I": (55, 56), "J": (58, 63), "K": (64, 66), "L": (68, 68),
    "M": (69, 75), "N": (77, 82), "O": (84, 84), "P": (85, 85), "Q": (86, 88), "R": (90, 93),
    "S": (94, 96), "T": (97, 98), "U": (99, 99),
}
MIN_SHARE = 0.10


def divisions_of(a64: str) -> list[int]:
    """Expand an A*64 code ('C10-12', 'M69_70', 'F', 'A01') into NACE divisions."""
    m = re.fullmatch(r"([A-U])(\d{2})?(?:([-_])(\d{2}))?", a64)
    if not m:
        raise ValueError(a64)
    letter, first, sep, last = m.groups()
    if first is None:
        lo, hi = SECTIONS[letter]
        return list(range(lo, hi + 1))
    if last is None:
        return [int(first)]
    if sep == "_":
        return [int(first), int(last)]
    return list(range(int(first), int(last) + 1))


def main() -> None:
    by_cpv_div: dict[str, Counter] = defaultdict(Counter)
    with open(HERE / "cpv8_to_cpa_a64_equinox.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_cpv_div[row["cpv_code8"][:2]][row["cpa_nace_a64"]] += 1
    rows = []
    for cpv_div, counts in sorted(by_cpv_div.items()):
        total = sum(counts.values())
        for a64, n in counts.items():
            share = n / total
            if share < MIN_SHARE:
                continue
            for div in divisions_of(a64):
                rows.append((f"{div:02d}", a64, cpv_div, round(share, 3), n))
    rows.sort()
    with open(HERE / "naf_division_to_cpv_division.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["naf_division", "nace_a64", "cpv_division", "share_of_cpv_division", "cpv_code_count"])
        w.writerows(rows)
    print(f"{len(rows)} rows")


if __name__ == "__main__":
    main()
