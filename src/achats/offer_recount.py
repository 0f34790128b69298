"""Second computation of the local ESS offer per CPV division (action 1): the NAF → CPV map is
read from the two reference files here, with its own prefix test, instead of ref_naf_cpv_all, so
that a wrong join or a widened row in the SQL shows up as a disagreement. The local ESS and
inclusive establishments themselves are those of mart_ess_sourcing (their selection is not
recounted here)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from achats.paths import reference_dir


@dataclass(frozen=True)
class NafCpvMap:
    curated: tuple[tuple[str, tuple[str, ...], str], ...]  # division, NAF codes (empty: whole), CPV division
    derived: tuple[tuple[str, str], ...]  # division, CPV division (share >= 0.2)


def load_map(ref: Path | None = None) -> NafCpvMap:
    ref = ref or reference_dir()
    with open(ref / "naf_division_to_cpv_division_curated.csv", encoding="utf-8", newline="") as f:
        curated = tuple((r["naf_division"], tuple((r.get("naf_codes") or "").split()), r["cpv_division"])
                        for r in csv.DictReader(f))
    pairs = {(d, c) for d, _, c in curated}
    with open(ref / "naf_division_to_cpv_division.csv", encoding="utf-8", newline="") as f:
        derived = tuple((r["naf_division"], r["cpv_division"]) for r in csv.DictReader(f)
                        if float(r["share_of_cpv_division"]) >= 0.2
                        and (r["naf_division"], r["cpv_division"]) not in pairs)
    return NafCpvMap(curated, derived)


def cpv_divisions(naf: str | None, m: NafCpvMap) -> set[str]:
    """Every CPV division an activity serves: curated rows whose codes begin its NAF code (or that
    cover its whole division), then derived rows of its division."""
    if not naf:
        return set()
    code = naf.replace(".", "").strip().upper()
    division = code[:2]
    out = {cpv for d, codes, cpv in m.curated
           if d == division and (not codes or any(code.startswith(c.replace(".", "").upper()) for c in codes))}
    return out | {cpv for d, cpv in m.derived if d == division}


def offer_mismatches(con: duckdb.DuckDBPyConnection, m: NafCpvMap | None = None) -> list[str]:
    """Disagreements between the warehouse's offer (named rows, counts per division) and the map
    applied here; empty when both agree."""
    m = m or load_map()
    rows = con.execute("SELECT siret, siren, naf, is_ess, is_inclusive, cpv_division FROM mart_ess_sourcing"
                       ).fetchall()
    units = {(siret, siren, naf, bool(ess), bool(inc)) for siret, siren, naf, ess, inc, _ in rows}
    shown = {(siret, cpv) for siret, _, _, _, _, cpv in rows}
    expected = {(u[0], cpv) for u in units for cpv in cpv_divisions(u[2], m)}
    out = [f"{siret} → {cpv} : en trop" for siret, cpv in sorted(shown - expected)]
    out += [f"{siret} → {cpv} : manquant" for siret, cpv in sorted(expected - shown)]
    ess: dict[str, set[str]] = {}
    inclusive: dict[str, set[str]] = {}
    for _siret, siren, naf, is_ess, is_inclusive in units:
        for cpv in cpv_divisions(naf, m):
            if is_ess:
                ess.setdefault(cpv, set()).add(siren)
            if is_inclusive:
                inclusive.setdefault(cpv, set()).add(siren)
    published = con.execute("""SELECT cpv_division, local_ess_supplier_count, local_inclusive_supplier_count
                                 FROM mart_ess_offer_by_category""").fetchall()
    out += [f"division {cpv} : absente de l'offre publiée" for cpv in sorted((ess.keys() | inclusive.keys())
                                                                             - {r[0] for r in published})]
    for cpv, n_ess, n_inc in published:
        if (n_ess or 0, n_inc or 0) != (len(ess.get(cpv, ())), len(inclusive.get(cpv, ()))):
            out.append(f"division {cpv} : {n_ess} ESS / {n_inc} inclusives publiées, recompte "
                       f"{len(ess.get(cpv, ()))} / {len(inclusive.get(cpv, ()))}")
    return out
