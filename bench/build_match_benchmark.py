"""Build the labelled matching benchmark from real DECP titulaires (run once; outputs are committed).

    python bench/build_match_benchmark.py [--shared ../shared]

Real part: the same SIREN typed differently by different buyers in the 2019 DECP files
("BOUYGUES TELECOM" / "BOUYGUES TEL ENTREPRISES"). The reference keeps, for each SIREN, its most
frequent spelling; every other spelling is a query whose answer is that SIREN. Real units from the
recorded Recherche d'entreprises searches (many GANYMEDE, LA POSTE…) are added as distractors.
Harder cases are then derived with a fixed seed: truncations, typos, legal forms, abbreviations,
valid SIRETs of another company, homonyms (a second SIREN with the same name), and names of real
organisations absent from the reference (the answer is "no match").
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from achats.identifiers import complete_luhn

HERE = Path(__file__).parent
RNG = random.Random(2014856)


def _swap_two_letters(name: str) -> str | None:
    """The name with two neighbouring letters of its longest word swapped (a typing slip); None
    when that word is too short (no draw is made then, so later draws stay as they were)."""
    tokens = name.split()
    longest = max(range(len(tokens)), key=lambda i: len(tokens[i]))
    tok = tokens[longest]
    if len(tok) < 5:
        return None
    i = RNG.randrange(1, len(tok) - 2)
    tokens[longest] = tok[:i] + tok[i + 1] + tok[i] + tok[i + 2:]
    return " ".join(tokens)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(HERE.parents[1] / "shared"))
    shared = Path(ap.parse_args().shared)
    spellings: dict[str, Counter] = defaultdict(Counter)
    sirets: dict[str, str] = {}
    for f in sorted((shared / "samples" / "decp").glob("decp_2019-*.json")):
        for m in json.loads(f.read_text(encoding="utf-8"))["marches"]:
            for t in m.get("titulaires") or []:
                ident = re.sub(r"\D", "", str(t.get("id", "")))
                name = (t.get("denominationSociale") or "").strip()
                if len(ident) == 14 and name and str(t.get("typeIdentifiant", "")).upper() == "SIRET":
                    spellings[ident[:9]][name] += 1
                    sirets.setdefault(ident[:9], ident)
    reference, queries = [], []
    for siren, names in sorted(spellings.items()):
        canonical = sorted(names, key=lambda n: (-names[n], -len(n), n))[0]
        reference.append({"siren": siren, "siret": sirets[siren], "name": canonical, "departement": "", "source": "decp"})
        for n in sorted(names):
            queries.append({"name": n, "siret": "", "true_siren": siren,
                            "kind": "canonical" if n == canonical else "real_variant"})
    seen = {r["siren"] for r in reference}
    for f in sorted((shared / "samples" / "recherche_entreprises").glob("search-*.json")):
        for x in json.loads(f.read_text(encoding="utf-8"))["result"]["results"]:
            if x.get("siren") and x["siren"] not in seen and x.get("nom_raison_sociale"):
                seen.add(x["siren"])
                reference.append({"siren": x["siren"], "siret": (x.get("siege") or {}).get("siret") or "",
                                  "name": x["nom_raison_sociale"],
                                  "departement": (x.get("siege") or {}).get("departement") or "",
                                  "source": "recherche_entreprises"})
    decp_units = [r for r in reference if r["source"] == "decp"]
    long_names = [r for r in decp_units if len(r["name"]) >= 34]
    for r in RNG.sample(long_names, min(60, len(long_names))):
        queries.append({"name": r["name"][:30], "siret": "", "true_siren": r["siren"], "kind": "truncated"})
    for r in RNG.sample(decp_units, 120):
        if (typo := _swap_two_letters(r["name"])) is not None:
            queries.append({"name": typo, "siret": "", "true_siren": r["siren"], "kind": "typo"})
    for r in RNG.sample(decp_units, 80):
        form = RNG.choice(["SARL {}", "{} SAS", "STE {}", "Ets {}", "{} S.A.", "Société {}"])
        queries.append({"name": form.format(r["name"].title() if RNG.random() < .5 else r["name"]), "siret": "",
                        "true_siren": r["siren"], "kind": "legal_form"})
    for r in RNG.sample(decp_units, 60):
        other = RNG.choice(decp_units)
        if other["siren"] != r["siren"]:
            queries.append({"name": r["name"], "siret": other["siret"], "true_siren": r["siren"], "kind": "wrong_siret"})
    for r in RNG.sample(decp_units, 40):
        twin = complete_luhn(f"9{RNG.randrange(10**7):07d}")
        reference.append({"siren": twin, "siret": complete_luhn(twin + "0001"), "name": r["name"],
                          "departement": "", "source": "homonym"})
        queries.append({"name": r["name"], "siret": "", "true_siren": "", "kind": "homonym"})
    siae = list(csv.DictReader((shared / "samples" / "marche_inclusion" / "siae_structures_from_fixture.csv")
                               .read_text(encoding="utf-8").splitlines()))
    for s in RNG.sample(siae, 200):
        if s["siret"][:9] not in seen:
            queries.append({"name": s["name"], "siret": "", "true_siren": "", "kind": "unknown"})
    # the right SIRET with a misspelt or differently typed name: the identifier must win (drawn
    # last so that the cases above keep their draws)
    variants = [q for q in queries if q["kind"] == "real_variant"]
    for q in RNG.sample(variants, min(40, len(variants))):
        queries.append({"name": q["name"], "siret": sirets[q["true_siren"]], "true_siren": q["true_siren"],
                        "kind": "siret_variant"})
    for r in RNG.sample(decp_units, 60):
        if (typo := _swap_two_letters(r["name"])) is not None:
            queries.append({"name": typo, "siret": r["siret"], "true_siren": r["siren"], "kind": "siret_typo"})
    # a homonym query has no single right answer: any auto-accept of it is an error
    homonym_names = {r["name"] for r in reference if r["source"] == "homonym"}
    for q in queries:
        if q["kind"] in ("canonical", "real_variant", "legal_form", "typo", "truncated") and q["name"] in homonym_names:
            q["true_siren"], q["kind"] = "", "homonym"
    for name, rows, cols in (("match_reference.csv", reference, ["siren", "siret", "name", "departement", "source"]),
                             ("match_queries.csv", queries, ["name", "siret", "true_siren", "kind"])):
        with open(HERE / "data" / name, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    print(f"{len(reference)} unités de référence, {len(queries)} requêtes : {Counter(q['kind'] for q in queries)}")


if __name__ == "__main__":
    main()
