"""The purchase reader against polars reading the same file as text, in the same run.

    python -m bench.reader --lines 1000000 3000000

Each size is measured in its own child process (peak memory is a process's high-water mark and
never goes down), after the file is written by the parent. Printed per size: the reader's wall
time and lines/s, polars' plain text read (`read_csv`, every column as text) of the same file,
the ratio, and each child's peak RSS (in decimal GB, the unit of the target, and MiB). The
marginal cost per line is the slope between the sizes, in wall time and in processor time
(every thread's, imports included: the slope removes them), which a machine loaded by other work
inflates far less than wall time. With `--repeat N`, the text read and the reader alternate N
times per size and the medians are compared (the peak is the highest), since the load of a shared
machine changes from one run to the next.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"


def write_file(path: Path, n: int, seed: int = 3) -> None:
    """A French export: ';', decimal comma, thousands spaces, some bad rows and subtotals."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f"FOURNISSEUR {i:05d} SARL" for i in range(20_000)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("N° mandat;Date mandat;Tiers;N° SIRET;Montant TTC;Direction;Code CPV\n")
        for i in range(n):
            cents = rng.randint(-5_000, 50_000_000)
            units, frac = divmod(abs(cents), 100)
            amount = ("-" if cents < 0 else "") + f"{units:,}".replace(",", " ") + f",{frac:02d}"
            if i % 5_000 == 1:
                amount = "douze"
            d = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.choice((2023, 2024, 2025))}"
            f.write(f"M{i:08d};{d};{rng.choice(names)};;{amount};Direction {i % 17};45000000\n")


def child(kind: str, path: str) -> None:
    import polars as pl

    start = time.perf_counter()
    if kind == "text":
        df = pl.read_csv(path, separator=";", infer_schema=False)
        n = df.height
    else:
        from achats.sources.purchases import read_purchase_sources

        root = Path(path).parent.parent
        lines, _ = read_purchase_sources(root, files=[Path(path)])
        n = lines.height
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"kind": kind, "rows": n, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime}))


def measure(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.reader", "--child", kind, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict]) -> dict:
    """Median time and processor time of several runs; the highest peak."""
    return {"rows": runs[0]["rows"], "seconds": statistics.median(r["seconds"] for r in runs),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 3_000_000])
    ap.add_argument("--repeat", type=int, default=1, help="mesures alternées par taille (médiane)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    results = []
    for n in args.lines:
        path = OUT / f"reader_{n}" / "purchases" / "mandats.csv"
        if not path.exists():
            write_file(path, n)
        texts, readers = [], []
        for _ in range(args.repeat):
            texts.append(measure("text", path))
            readers.append(measure("reader", path))
        text, ours = median_of(texts), median_of(readers)
        results.append((n, text, ours))
        gb = ours["peak_mb"] * 1024 * 1024 / 1e9
        print(f"{n:>10,} lignes : lecteur {ours['seconds']:.2f} s ({n / ours['seconds']:,.0f} lignes/s, "
              f"pic {gb:.3f} Go = {ours['peak_mb']:,.0f} Mio) ; polars texte {text['seconds']:.2f} s "
              f"(pic {text['peak_mb']:,.0f} Mio) ; rapport {ours['seconds'] / text['seconds']:.1f}×"
              .replace(",", " ").replace(".", ",") + (f" (médianes de {args.repeat})" if args.repeat > 1 else ""))
    if len(results) >= 2:
        (n1, t1, o1), (n2, t2, o2) = results[0], results[-1]
        ours_slope = (o2["seconds"] - o1["seconds"]) / (n2 - n1)
        text_slope = (t2["seconds"] - t1["seconds"]) / (n2 - n1)
        print(f"coût marginal par ligne : lecteur {ours_slope * 1e6:.2f} µs, polars texte "
              f"{text_slope * 1e6:.2f} µs, rapport {ours_slope / text_slope:.1f}×")
        ours_cpu = (o2["cpu_seconds"] - o1["cpu_seconds"]) / (n2 - n1)
        text_cpu = (t2["cpu_seconds"] - t1["cpu_seconds"]) / (n2 - n1)
        print(f"temps processeur marginal par ligne : lecteur {ours_cpu * 1e6:.2f} µs, polars texte "
              f"{text_cpu * 1e6:.2f} µs, rapport {ours_cpu / text_cpu:.1f}× (charge moyenne "
              f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
