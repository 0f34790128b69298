"""The fast matching path gives exactly what the slow, obvious one gives.

The batched kernels, the vectorised choice of candidates, the typo search by `cdist` and the
ASCII shortcut of `fold` are rewrites for speed: each is compared here with the per-item code it
replaced, on data with ties, and the whole resolver is compared name by name with one batch.
"""

from __future__ import annotations

import csv
import os
import random
import unicodedata
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from rapidfuzz import fuzz, process

from achats import blocking
from achats.blocking import (
    _typo_tokens,
    build_blocked_index,
    prepare_reference,
    query_tokens,
    rank_candidates,
)
from achats.config import Thresholds
from achats.names import fold, normalize, normalize_many
from achats.resolution import _rank_key, best_per_unit, kernel_scores, typo_buckets
from achats.warehouse import load_reference, load_sirene, run_sql
from bench.match_scale import make_queries
from bench.synth import write_stocks

BENCH_DATA = Path(__file__).resolve().parents[1] / "bench" / "data"


def _best_per_unit_loop(qid, entry, unit, ker, keep):
    """The per-query loop best_per_unit replaced: best entry per unit (first wins a tie), then the
    `keep` best units, a tie going to the unit seen first."""
    out = []
    for q in sorted(set(qid.tolist())):
        best: dict[int, tuple[int, tuple]] = {}
        for r in np.flatnonzero(qid == q).tolist():
            k = tuple(ker[r].tolist())
            u = int(unit[r])
            if u not in best or _rank_key(k) > _rank_key(best[u][1]):
                best[u] = (r, k)
        out.extend(r for r, _ in sorted(best.values(), key=lambda rk: -_rank_key(rk[1]))[:keep])
    return out


def test_best_per_unit_matches_the_loop_with_ties():
    rng = np.random.default_rng(5)
    n_q = 60
    sizes = rng.integers(0, 40, n_q)
    qid = np.repeat(np.arange(n_q), sizes)
    entry = np.concatenate([np.sort(rng.choice(500, s, replace=False)) for s in sizes])
    unit = entry // 3  # entries of one unit sit together, as a SIREN's names do
    ker = rng.choice([0.5, 0.75, 0.8, 1.0], size=(len(qid), 6))  # few values: many ties
    got = best_per_unit(qid, entry, unit, ker, 8).tolist()
    assert got == _best_per_unit_loop(qid, entry, unit, ker, 8)
    assert len(got) > 100


def test_kernel_scores_are_the_scorers_one_pair_at_a_time():
    q = ["JARDINS COCAGNE", "BOULANGERIE CAPITLOE", "ESAT MURET", "X"]
    c = ["JARDINS COCAGNE TOULOUSAINS", "BOULANGERIE PATISSERIE CAPITOLE", "ESAT MURET", "ARTELIA"]
    core = ["JARDINS COCAGNE", "BOULANGERIE CAPITLOE", "ESAT", "X"]
    got = kernel_scores(q, c, core)
    for k, (a, b, co) in enumerate(zip(q, c, core, strict=True)):
        pre = b[:len(a)] if len(b) > len(a) else b
        expected = [fuzz.token_sort_ratio(a, b), fuzz.token_set_ratio(a, b), fuzz.ratio(a, b),
                    fuzz.partial_ratio(a, b), fuzz.ratio(a, pre), fuzz.token_set_ratio(co, b)]
        assert got[k].tolist() == pytest.approx([e / 100 for e in expected], abs=1e-6)


def test_typo_search_by_cdist_is_extract_over_the_buckets():
    rng = random.Random(1)
    letters = "ABCDEFR"
    vocab = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 8))) for _ in range(8000)})
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for t in vocab:
        by_prefix[t[:2]].append(t)
    tokens = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(400)})
    got = _typo_tokens(tokens, by_prefix)
    for t in tokens:
        near = [x for start in typo_buckets(t) for x in by_prefix.get(start, [])]
        assert got[t] == [m for m, _, _ in process.extract(t, near, scorer=fuzz.ratio, score_cutoff=80, limit=3)]
    assert sum(1 for v in got.values() if v) > 50


def _fold_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE").replace("ß", "ss"))
    return "".join(c for c in text if not unicodedata.combining(c)).upper()


def test_fold_shortcut_is_the_unicode_fold_on_every_benchmark_name():
    names = []
    for f in ("match_reference.csv", "match_queries.csv"):
        with (BENCH_DATA / f).open(encoding="utf-8") as fh:
            names += [r["name"] for r in csv.DictReader(fh)]
    names += ["Société Générale", "ŒUVRE", "straße", "ｆｕｌｌ", "ﬁnance", "l’atelier"]
    assert len(names) > 1000
    assert [fold(n) for n in names] == [_fold_unicode(n) for n in names]


def test_normalize_many_is_normalize_on_benchmark_and_synthetic_names():
    names = []
    for f in ("match_reference.csv", "match_queries.csv"):
        with (BENCH_DATA / f).open(encoding="utf-8") as fh:
            names += [r["name"] for r in csv.DictReader(fh)]
    rng = random.Random(2)
    names += [" ".join(rng.choice(["S.A.R.L.", "Ste", "&", "ASSOC.", "de", "la", "Œuvre", "DUPONT", "+", "SA",
                                   "l'ÉCOLE", "ets", "DES", "A.B", "x", "1901", "-", "(co-traitant)"])
                        for _ in range(rng.randint(0, 5))) for _ in range(3000)]
    names += [None, "", "SA", "DE LA", "SOCIETE DES EAUX", "  &  "]
    assert normalize_many(names) == [normalize(n) for n in names]


@pytest.fixture(scope="module")
def synthetic_reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    write_stocks(folder / "sirene", 4000)
    con = duckdb.connect(str(folder / "ref.duckdb"))
    load_reference(con)
    load_sirene(con, folder)
    run_sql(con, "staging/stg_unite_legale.sql")
    run_sql(con, "staging/stg_etablissement.sql")
    yield con
    con.close()


def test_one_batch_decides_as_name_by_name(synthetic_reference):
    """All names primed in one batch (one kernel call per scorer) or each name on its own: the
    same statuses, units and probabilities."""
    con = synthetic_reference
    queries = make_queries(con, 300, 11)
    names = [q for q, _ in queries]
    thr = Thresholds()
    batch = build_blocked_index(con, [(n, None) for n in names])
    batch.prime(names)
    alone = build_blocked_index(con, [(n, None) for n in names])
    assert batch.blocked.keys() == alone.blocked.keys() and len(batch.blocked) > 250
    got_batch = [batch.resolve(n, None, None, None, thr) for n in names]
    got_alone = []
    for n in names:
        alone.prime([n])
        got_alone.append(alone.resolve(n, None, None, None, thr))
    assert [(r.status, r.siren, round(r.score, 9)) for r in got_batch] == \
        [(r.status, r.siren, round(r.score, 9)) for r in got_alone]
    assert sum(r.status == "matched" for r in got_batch) > 100
    truth = dict(queries)
    right = sum(1 for n, r in zip(names, got_batch, strict=True) if r.status == "matched" and r.siren == truth[n])
    assert right >= 0.99 * sum(r.status == "matched" for r in got_batch)


def _top_by_sql(con, rare, every, limit):
    """The one-pass DuckDB ranking rank_candidates replaced: every (query, candidate) pair joined
    against the reference's tokens, then a window per query."""
    schema = {"qid": pl.Int64, "token": pl.String, "w": pl.Float64}
    con.register("_qrare", pl.DataFrame(rare, schema=schema, orient="row").to_arrow())
    con.register("_qall", pl.DataFrame(every, schema=schema, orient="row").to_arrow())
    try:
        top = con.execute(f"""
            WITH qrare AS (SELECT DISTINCT q.qid, v.tid, q.w FROM _qrare q JOIN _ref_vocab v USING (token)),
            qall AS (SELECT DISTINCT q.qid, v.tid, q.w FROM _qall q JOIN _ref_vocab v USING (token)),
            cands AS (SELECT q.qid, t.name_id, sum(q.w) AS rare_w FROM qrare q JOIN _ref_token t USING (tid)
                      GROUP BY q.qid, t.name_id),
            others AS (SELECT qid, tid, w FROM qall ANTI JOIN qrare USING (qid, tid)),
            extra AS (SELECT c.qid, c.name_id, sum(o.w) AS other_w
                      FROM cands c JOIN others o USING (qid) JOIN _ref_token t ON t.name_id = c.name_id AND t.tid = o.tid
                      GROUP BY c.qid, c.name_id),
            scored AS (SELECT c.qid, c.name_id, round(c.rare_w + coalesce(e.other_w, 0), 9) AS shared
                       FROM cands c LEFT JOIN extra e USING (qid, name_id))
            SELECT qid, name_id, shared, row_number() OVER (PARTITION BY qid ORDER BY shared DESC, name_id) AS rn
            FROM scored QUALIFY rn <= {limit + 1} ORDER BY qid, rn""").fetchall()
    finally:
        con.unregister("_qrare")
        con.unregister("_qall")
    best = {q: s for q, _, s, rn in top if rn == 1}
    crowded = sorted(q for q, _, s, rn in top if rn == limit + 1 and s >= best[q] - 1e-9)
    return [(q, n) for q, n, _, rn in top if rn <= limit], crowded


@pytest.mark.parametrize("limit", [3, 60])
def test_rank_candidates_is_the_sql_ranking(synthetic_reference, monkeypatch, limit):
    """Candidates ranked in numpy over sorted postings: the same pairs, in the same order, and the
    same crowded queries as the join-and-window SQL, ties on the summed rarity included (a small
    limit cuts through ties on most queries)."""
    con = synthetic_reference
    monkeypatch.setattr(blocking, "CANDIDATES_PER_QUERY", limit)
    prepare_reference(con)
    names = sorted({q for q, _ in make_queries(con, 400, 5)} | {"BOULANGERIE DU MARCHE", "ASSOCIATION SPORTIVE"})
    rare, every, _ = query_tokens(con, names)
    qids, name_ids, crowded = rank_candidates(con, rare, every)
    want_pairs, want_crowded = _top_by_sql(con, rare, every, limit)
    assert list(zip(qids.tolist(), name_ids.tolist(), strict=True)) == want_pairs
    assert sorted(crowded) == want_crowded
    assert len(want_pairs) > 2 * len(names) if limit == 3 else len(want_pairs) > 0
    if limit == 3:
        assert len(want_crowded) > 0


def _token_tables(con):
    return [con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("_ref_name", "_ref_vocab", "_ref_token")]


def test_reference_token_cache_is_reused_and_never_stale(synthetic_reference, tmp_path, monkeypatch):
    """The token tables read back from the cache are the ones a build gives; a changed unit name,
    a changed privacy flag or an unwritable folder make it build again, never read an old cache."""
    con = synthetic_reference
    monkeypatch.setattr(blocking, "CACHE_MIN_NAMES", 0)
    cache = tmp_path / "cache"
    assert prepare_reference(con, cache)["cache"] == "construit"
    built = _token_tables(con)
    assert prepare_reference(con, cache)["cache"] == "lu"
    assert _token_tables(con) == built
    assert len(list(cache.glob("tokens_*"))) == 1
    con.execute("CREATE TABLE _saved_ul AS SELECT * FROM stg_unite_legale")
    try:
        siren = con.execute("SELECT min(siren) FROM stg_unite_legale WHERE legal_name IS NOT NULL").fetchall()[0][0]
        con.execute("UPDATE stg_unite_legale SET legal_name = 'ZORGLUB INEDIT' WHERE siren = ?", [siren])
        assert prepare_reference(con, cache)["cache"] == "construit"
        assert con.execute("SELECT count(*) FROM _ref_vocab WHERE token = 'ZORGLUB'").fetchall() == [(1,)]
        assert len(list(cache.glob("tokens_*"))) == 2  # the old key, recently read, stays for other runs
        con.execute("UPDATE stg_unite_legale SET is_non_diffusible = NOT is_non_diffusible WHERE siren = ?", [siren])
        assert prepare_reference(con, cache)["cache"] == "construit"
        assert con.execute("SELECT bool_and(private) = NOT bool_or(NOT private) FROM _ref_name WHERE siren = ?",
                           [siren]).fetchall() == [(True,)]
        fresh = tmp_path / "fresh"
        assert prepare_reference(con, fresh)["cache"] == "construit"
        assert prepare_reference(con, cache)["cache"] == "lu"
        assert _token_tables(con) == (prepare_reference(con), _token_tables(con))[1]
    finally:
        con.execute("CREATE OR REPLACE TABLE stg_unite_legale AS SELECT * FROM _saved_ul")
        con.execute("DROP TABLE _saved_ul")
    assert prepare_reference(con, cache)["cache"] == "lu"  # the original stock again: its key was kept
    assert _token_tables(con) == built
    for key in cache.glob("tokens_*"):
        os.utime(key, (0, 0))  # unread for ages: removed when another key is written
    con.execute("UPDATE stg_unite_legale SET legal_name = legal_name || ' BIS' WHERE siren = (SELECT min(siren) FROM stg_unite_legale)")
    try:
        assert prepare_reference(con, cache)["cache"] == "construit"
        assert len(list(cache.glob("tokens_*"))) == 1
    finally:
        con.execute("UPDATE stg_unite_legale SET legal_name = left(legal_name, length(legal_name) - 4) WHERE siren = (SELECT min(siren) FROM stg_unite_legale)")
    assert prepare_reference(con, cache)["cache"] == "construit"
    assert _token_tables(con) == built
    (cache / f"tokens_{blocking.reference_fingerprint(con)}" / "ref_token.parquet").write_bytes(b"not parquet")
    assert prepare_reference(con, cache)["cache"] == "construit"  # a damaged cache is rebuilt
    assert _token_tables(con) == built
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the folder should be: nothing can be written there
    assert prepare_reference(con, blocked)["cache"].startswith("construit, non écrit")
    assert _token_tables(con) == built


def test_a_cache_written_meanwhile_by_another_run_is_kept(synthetic_reference, tmp_path, monkeypatch):
    """Two runs building the same key at once: the second keeps the first one's complete copy (a
    third run may be reading it) instead of replacing it."""
    con = synthetic_reference
    monkeypatch.setattr(blocking, "CACHE_MIN_NAMES", 0)
    cache = tmp_path / "cache"
    prepare_reference(con, cache)
    folder = cache / f"tokens_{blocking.reference_fingerprint(con)}"
    (folder / "other_run").write_text("")
    assert blocking._write_cache(con, cache, folder, damaged=False)
    assert (folder / "other_run").exists() and not list(cache.glob(".tmp_*"))
    assert prepare_reference(con, cache)["cache"] == "lu"
