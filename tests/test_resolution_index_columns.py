"""The index built from DuckDB's block as columns, in polars, holds exactly what the per-name loop
it replaced built: entries, repeats pointing at their pair's last entry, sigles, privacy."""

from __future__ import annotations

import random
from collections import defaultdict

from achats.names import normalize
from achats.resolution import RefColumns, RefName, ResolverIndex


def _loop_index(names: list[RefName]) -> dict:
    """The former ResolverIndex.__init__ loop, name by name (the specification)."""
    entries, exact, sigles, sigle_of = [], defaultdict(set), defaultdict(set), defaultdict(set)
    by_siren, by_ref_id, private, seen = defaultdict(list), {}, set(), {}
    for ref in names:
        norm = normalize(ref.name)
        if not norm:
            continue
        if ref.kind == "sigle":
            sigles[norm.replace(" ", "")].add(ref.siren)
            sigle_of[ref.siren].add(norm.replace(" ", ""))
            continue
        if (norm, ref.siren) in seen and ref.siret is None:
            if ref.ref_id is not None:
                by_ref_id[ref.ref_id] = seen[(norm, ref.siren)]
            continue
        idx = len(entries)
        seen[(norm, ref.siren)] = idx
        if ref.ref_id is not None:
            by_ref_id[ref.ref_id] = idx
        entries.append((norm, ref.siren, ref.siret, ref.name))
        if ref.private:
            private.add(idx)
        by_siren[ref.siren].append(idx)
        exact[norm].add(ref.siren)
    return {"entries": entries, "exact": dict(exact), "sigles": dict(sigles), "sigle_of": dict(sigle_of),
            "by_siren": dict(by_siren), "by_ref_id": by_ref_id, "private_entries": private}


def _messy_names(n: int, seed: int) -> list[RefName]:
    """Repeats of a name for one unit, with and without an establishment, sigles, names that
    normalise to nothing or to the same text, private establishments, rows without a DuckDB id."""
    rng = random.Random(seed)
    words = ["ESAT", "DE", "MURET", "SARL", "LA", "ASSOCIATION", "ATELIER", "Café", "S.A.R.L.", "&", "-", "BOIS"]
    out = []
    for k in range(n):
        name = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
        kind = rng.choice(["denomination", "usuel", "enseigne", "sigle"])
        siret = f"{rng.randint(1, 4):014d}" if kind == "enseigne" and rng.random() < 0.8 else None
        out.append(RefName(f"{rng.randint(1, 6):09d}", siret, name, kind, rng.random() < 0.2,
                           k if rng.random() < 0.9 else None))
    return out


def _built(index: ResolverIndex) -> dict:
    return {"entries": index.entries, "exact": dict(index.exact), "sigles": dict(index.sigles),
            "sigle_of": dict(index.sigle_of), "by_siren": dict(index.by_siren), "by_ref_id": index.by_ref_id,
            "private_entries": index.private_entries}


def test_columns_build_the_same_index_as_the_per_name_loop():
    for seed in range(5):
        names = _messy_names(400, seed)
        expected = _loop_index(names)
        assert any(len(v) > 1 for v in expected["by_siren"].values())  # repeats are exercised
        assert len(expected["by_ref_id"]) > len(expected["entries"])  # some rows point at another entry
        for given in (names, RefColumns.of(names)):
            assert _built(ResolverIndex(given, {}, {})) == expected


def test_empty_block():
    index = ResolverIndex(RefColumns.of([]), {}, {})
    assert index.entries == [] and index.by_ref_id == {} and not index.exact
