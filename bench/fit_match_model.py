"""Fit the match model on the labelled benchmark and write it as data (run by hand; output committed).

    python -m bench.fit_match_model [--out data/reference/match_model.json]

Queries are split by supplier (all spellings of one SIREN fall in the same part): 50 % to fit the
weights, 20 % to recalibrate their scale and choose the acceptance probability for each target, 30 % held out for
`bench/match_quality.py`. The model is a conditional logit with a "none" option (see
achats.match_model), fitted by Newton's method with a small ridge penalty. Features the
benchmark cannot teach (place, activity) keep fixed Fellegi–Sunter weights log(m/u), written below
with their m and u. Reviewed decisions are never fed back here automatically.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np

from achats.config import Thresholds
from achats.match_model import FEATURES, PRIOR_FEATURES, MatchModel, is_uninformative
from achats.names import normalize
from achats.paths import reference_dir
from achats.resolution import ID_NAME_MIN
from bench.match_quality import build_index, load, missed_shares

RIDGE = 0.5
TARGETS = (0.95, 0.98, 0.99, 0.995, 0.999)
MIN_ACCEPT = 0.7  # whatever the aggregate precision, never accept unseen a candidate with 3 chances in 10 to be wrong
# Fixed weights: (m = P(feature | same unit), u = P(feature | another candidate)); weight log(m / u).
PRIORS = {
    "line_place_agree": (0.95, 0.05),  # the line's commune/département is one of the unit's establishments
    "line_place_conflict": (0.05, 0.95),  # ... and is not
    "buyer_place_agree": (0.60, 0.15),  # the buyer's département: a hint, local suppliers are frequent
    "inactive": (0.05, 0.20),  # ceased units are still paid for past work, less often
}


DISTRACTORS = 40_000  # synthetic units added to the reference: the fit sees a dense register
SYNTH_QUERIES = 3_000  # labelled spellings of synthetic units (and absent names) added to the fit
SYNTH_WEIGHTS = (1.0, 0.5, 0.25, 0.1)  # tried; the calibration part chooses


def dense_reference(reference: list[dict], n: int = DISTRACTORS, seed: int = 7) -> list[dict]:
    """The benchmark's reference plus n synthetic units (bench.synth: trades, surnames, places,
    brands, associations), so that near names and common tokens are as frequent as in SIRENE."""
    from bench.synth import luhn_sirens, names

    df = names(int(n * 1.3), seed).drop_nulls("name").head(n)
    sirens = luhn_sirens(97_000_000, df.height).to_list()
    return reference + [{"siren": s, "siret": "", "name": name, "departement": "", "cj": cj, "source": "synth"}
                        for s, name, cj in zip(sirens, df["name"].to_list(), df["cj"].to_list(), strict=True)]


def synthetic_queries(dense: list[dict], n: int = SYNTH_QUERIES, seed: int = 5) -> list[dict]:
    """Training queries on the synthetic units: spellings as accounting exports degrade them
    (bench.match_scale.degrade: legal forms, STE, ASSOC., case, truncation, swapped letters), and
    20 % names absent from the register (answer: none). Kind "synthetic", never tested."""
    import random

    from bench.match_scale import degrade
    from bench.synth import SYLLABLES, TRADES, names

    rng = random.Random(seed)
    synth = [r for r in dense if r.get("source") == "synth"]
    out = []
    for r in rng.sample(synth, int(n * 0.8)):
        out.append({"name": degrade(r["name"], rng), "siret": "", "true_siren": r["siren"], "kind": "synthetic"})
    # the same unit with one letter dropped or changed (a typo), and another unit whose longest word
    # differs by a whole syllable or more (a different name that looks alike: RENOUVEAU/RENARDEAU)
    for r in rng.sample(synth, n // 5):
        out.append({"name": _edit(r["name"], rng, big=False), "siret": "", "true_siren": r["siren"],
                    "kind": "synthetic"})
    known_names = {normalize(r["name"]) for r in dense}
    for r in rng.sample(synth, n // 5):
        other = _edit(r["name"], rng, big=True)
        if normalize(other) not in known_names:
            out.append({"name": other, "siret": "", "true_siren": "", "kind": "synthetic"})
    # absent names drawn like the register's own (another seed): near names of real units, the
    # hardest negatives ("ASSOCIATION JUMELAGE ALBI" when only "... ALBAN" exists)
    known = {normalize(r["name"]) for r in dense}
    fresh = [x for x in names(n, seed + 1000).drop_nulls("name")["name"].to_list() if normalize(x) not in known]
    for x in fresh[: (n - len(out)) // 2]:
        out.append({"name": degrade(x, rng), "siret": "", "true_siren": "", "kind": "synthetic"})
    for _ in range(n - len(out)):
        brand = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([2, 3, 4])))
        shape = rng.choice([f"{brand} {rng.choice(TRADES)}", f"ASSOC {brand}", f"ASSOCIATION {brand}", brand])
        out.append({"name": shape, "siret": "", "true_siren": "", "kind": "synthetic"})
    return out


def _edit(name: str, rng, big: bool) -> str:
    """Change the longest word of a name: one letter dropped or replaced (big=False), or its middle
    replaced by two to four other letters (big=True)."""
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) < 5:
        return name
    letters = "AEIOUBCDFGLMNPRST"
    if big:
        j = rng.randrange(1, len(w) - 3)
        k = j + rng.randrange(2, min(5, len(w) - j))
        mid = "".join(rng.choice(letters) for _ in range(k - j))
        if mid == w[j:k]:
            return name
        words[i] = w[:j] + mid + w[k:]
    else:
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + (rng.choice(letters) if rng.random() < 0.5 else "") + w[j + 1:]
    return " ".join(words)


def part(q: dict) -> str:
    """train / calib / test, fixed by the supplier (its SIREN, or its name when it has none)."""
    key = q["true_siren"] or normalize(q["name"])
    h = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 10
    return "train" if h < 5 else "calib" if h < 7 else "test"


def design(queries: list[dict], index) -> list[tuple[dict, np.ndarray, int, list]]:
    """(query, feature matrix of its candidates, position of the true unit or -1, candidates)."""
    out = []
    for q in queries:
        ident = index.check_identifier(q["siret"] or None)
        if not normalize(q["name"]):
            continue
        cands, _ = index.candidates(q["name"], ident, None, None)
        x = np.array([[c.features[f] for f in FEATURES] for c in cands]) if cands else np.zeros((0, len(FEATURES)))
        y = next((k for k, c in enumerate(cands) if c.siren == q["true_siren"]), -1)
        out.append((q, x, y, cands))
    return out


def fit(rows: list[tuple[dict, np.ndarray, int, list]], ridge: float = RIDGE,
        synthetic_weight: float = 1.0) -> tuple[np.ndarray, float]:
    """Newton's method on the conditional logit with a none option; weights then intercept.
    Synthetic queries count `synthetic_weight` times a real one."""
    d = (next((r[1].shape[1] for r in rows if len(r[1])), len(FEATURES))) + 1
    theta = np.zeros(d)
    for _ in range(50):
        grad = -ridge * np.r_[theta[:-1], 0.0]
        hess = -ridge * np.diag(np.r_[np.ones(d - 1), 0.0])
        for q, x, y, _ in rows:
            if not len(x):
                continue
            c = synthetic_weight if q["kind"] == "synthetic" else 1.0
            z = np.c_[x, np.ones(len(x))]
            s = z @ theta
            top = max(0.0, s.max())
            e = np.exp(s - top)
            p = e / (math.exp(-top) + e.sum())
            mean = p @ z
            if y >= 0:
                grad += c * z[y]
            grad -= c * mean
            hess -= c * ((z * p[:, None]).T @ z - np.outer(mean, mean))
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def log_likelihood(rows, w: np.ndarray, b: float) -> float:
    """Of the labels (the true candidate, or none) under the conditional logit."""
    total = 0.0
    for _q, x, y, _ in rows:
        if not len(x):
            continue
        s = x @ w + b
        top = max(0.0, s.max())
        log_denom = top + math.log(math.exp(-top) + np.exp(s - top).sum())
        total += (s[y] if y >= 0 else 0.0) - log_denom
    return total


def can_accept(q: dict, cands: list, k: int) -> bool:
    """What the resolver's guard rules leave to the threshold: not a name that names no one, not
    one of two homonyms without the line's place, not an identifier contradicted by the name."""
    top = cands[k]
    if is_uninformative(normalize(q["name"])):
        return False
    if any(c.norm == top.norm for i, c in enumerate(cands) if i != k):
        return False
    return not (top.features.get("id") and max(top.features.get("id_sim", 0.0),
                                                 top.features.get("id_name", 0.0)) < ID_NAME_MIN)


def accept_thresholds(model: MatchModel, rows) -> dict[float, float]:
    """For each target, the smallest probability whose acceptances, all together, keep that precision."""
    tops = []
    for q, x, y, cands in rows:
        if not len(x):
            continue
        xs = [dict(zip(FEATURES, r, strict=True)) for r in x]
        probs, _ = model.probabilities(xs)
        k = int(np.argmax(probs))
        if not can_accept(q, cands, k):
            continue  # the resolver's rules never accept it, whatever its probability
        tops.append((probs[k], k == y))
    tops.sort(reverse=True)
    out = {}
    for target in TARGETS:
        best, correct = 1.0, 0
        for n, (p, ok) in enumerate(tops, start=1):  # the largest top set that keeps the target
            correct += ok
            if correct / n >= target:
                best = p
        out[target] = round(max(MIN_ACCEPT, best), 6)
    return out


def missed_on_fit_split(model: MatchModel, queries: list[dict]) -> dict[str, float]:
    """The share of « none of the candidates » that is a real unit missed, per decision class, on
    the real queries of the fit split (train and calib) matched with the fitted model as shipped
    (a name that names no one is a class of its own, bench.match_quality.missed_class); for the
    class "matched", the share of acceptances by the name that were another unit."""
    fit_part = [q for q in queries if part(q) != "test"]
    index = build_index(load()[0], model)
    index.prime(q["name"] for q in fit_part)
    resolved = [(q, index.resolve(q["name"], q["siret"] or None, None, None, Thresholds())) for q in fit_part]
    shares = missed_shares(resolved)
    return {k: round(v, 6) for k, v in shares.items()}


def with_fit_split_rates(model: MatchModel, queries: list[dict]) -> MatchModel:
    """The model with its missed shares and acceptance error rate measured on the fit split."""
    shares = missed_on_fit_split(model, queries)
    accept_error = shares.pop("matched")
    return MatchModel(model.weights, model.intercept, model.accept_by_target, model.meta, shares, accept_error)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(reference_dir() / "match_model.json"))
    ap.add_argument("--missed-only", action="store_true",
                    help="keep the weights and thresholds of --out, re-estimate only the missed shares "
                         "and the acceptance error rate")
    args = ap.parse_args()
    out = Path(args.out)
    reference, queries = load()
    if args.missed_only:
        shipped = MatchModel.from_json(out.read_text(encoding="utf-8"))
        model = with_fit_split_rates(shipped, queries)
        out.write_text(model.to_json(), encoding="utf-8")
        print(f"parts manquées écrites dans {out} : {model.missed_share} ; "
              f"part d'acceptations fausses : {model.accept_error}")
        return
    blank = MatchModel({}, 0.0, {})
    dense = dense_reference(reference)
    index = build_index(dense, blank)
    # the held-out part (test) is never designed here
    rows = design([q for q in queries if part(q) != "test"] + synthetic_queries(dense), index)
    # a homonym query's supplier is one of two units with the same name, not "none": its label
    # would teach the model to doubt every identical name, so it is left out of the fit
    known = [r for r in rows if r[0]["kind"] != "homonym"]
    train = [r for r in known if r[0]["kind"] == "synthetic" or part(r[0]) == "train"]
    calib = [r for r in known if r[0]["kind"] != "synthetic" and part(r[0]) == "calib"]
    # other synthetic spellings (another seed), never fitted: the dense register's own calibration
    synth_calib = design(synthetic_queries(dense, n=SYNTH_QUERIES // 3, seed=11), index)
    # how much the synthetic spellings weigh against the real ones: the weight whose model, once
    # rescaled, best predicts both the real calibration part and the synthetic one (mean
    # log-likelihood per query, the two counting alike); the test part is never looked at
    best = None
    for sw in SYNTH_WEIGHTS:
        w, b = fit(train, synthetic_weight=sw)
        # the ridge shrinks the scores: one scale and one shift, fitted on the calibration part, undo it
        scores = [(q, (x @ w + b)[:, None], y, c) for q, x, y, c in calib]
        (scale,), shift = fit(scores, ridge=0.0)
        w, b = w * scale, b * scale + shift
        ll_real, ll_synth = log_likelihood(calib, w, b) / len(calib), log_likelihood(synth_calib, w, b) / len(synth_calib)
        ll = ll_real + ll_synth
        print(f"poids des orthographes synthétiques {sw} : log-vraisemblance moyenne, calibrage réel {ll_real:.4f}, "
              f"synthétique {ll_synth:.4f}")
        if best is None or ll > best[0]:
            best = (ll, sw, w, b, scale, shift)
    _, synthetic_weight, w, b, scale, shift = best
    weights = {f: round(float(v), 6) for f, v in zip(FEATURES, w, strict=True)}
    weights.update({f: round(math.log(m / u), 6) for f, (m, u) in PRIORS.items()})
    assert set(weights) == set(FEATURES) | set(PRIOR_FEATURES)
    model = MatchModel(weights, round(b, 6), {})
    # the thresholds come from the real calibration part; the precision a probability buys is lower
    # in the synthetic dense register (short invented brands one letter apart): its thresholds are
    # written beside, for a buyer matching against such a register to set `accept` by hand
    thresholds, synth_thr = accept_thresholds(model, calib), accept_thresholds(model, synth_calib)
    print("seuils, calibrage synthétique dense (indicatif) : "
          + ", ".join(f"{t} -> {p:.4f}" for t, p in synth_thr.items()))
    meta = {"fitted_on": "bench/data/match_queries.csv, part train (50 % of suppliers), and "
                         f"{SYNTH_QUERIES} synthetic spellings; reference plus {DISTRACTORS} synthetic units",
            "thresholds_on": "part calib (20 %)",
            "dense_synthetic_accept_by_target": {f"{k:.3f}": v for k, v in synth_thr.items()},
            "held_out": "part test (30 %)",
            "train_queries": len(train), "calib_queries": len(calib), "ridge": RIDGE,
            "calibration_scale": round(float(scale), 6), "calibration_shift": round(float(shift), 6),
            "synthetic_weight": synthetic_weight,
            "priors_m_u": {k: list(v) for k, v in PRIORS.items()}}
    model = MatchModel(weights, round(b, 6), thresholds, meta)
    model = with_fit_split_rates(model, queries)
    out.write_text(model.to_json(), encoding="utf-8")
    print(f"modèle écrit dans {out} : {len(train)} requêtes d'ajustement, {len(calib)} de calibrage du seuil")
    for f, v in weights.items():
        print(f"  {f:<22} {v:+.3f}")
    print(f"  {'constante':<22} {b:+.3f}")
    print("seuils d'acceptation : " + ", ".join(f"{t} -> {p:.4f}" for t, p in thresholds.items()))


if __name__ == "__main__":
    main()
