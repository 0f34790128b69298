"""Candidate blocking against a SIRENE of any size.

DuckDB tokenises the national reference into integer tokens in a streaming, multi-core scan, once
per stock: the token tables are cached beside it under a fingerprint of the staged rows
(`prepare_reference`). Each supplier name's candidates (reference names sharing a rare token) are
ranked over sorted postings in numpy (`rank_candidates`); only the reference names kept (or those
of a SIREN given as an identifier) are brought into Python, where `ResolverIndex` scores each
name's ranked candidates as they are (no second blocking). Python never holds more than the block
and the postings of the supplier names' tokens.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from achats.candidate_keys import SUSPECT_DF, TYPO_POOL, fewest_keystrokes, joined_keys, split_keys
from achats.identifiers import clean_identifier, rna_number, zeros_restored
from achats.names import ABBREVIATIONS, GENERIC, normalize
from achats.resolution import (
    MAX_POSTING,
    RefColumns,
    ResolverIndex,
    SirenInfo,
    sorted_distinct,
    typo_buckets,
)

# Raw folded token -> the normalised tokens it can stand for, read backwards for queries.
_RAW_FORMS: dict[str, set[str]] = defaultdict(set)
for _abbr, _full in ABBREVIATIONS.items():
    _RAW_FORMS[_full].add(_abbr)
_RAW_FORMS["SAINTE"].add("STE")  # « PAROISSE STE ANNE » (achats.names.raw_tokens reads STE by its neighbours)

TOKENS_PER_QUERY = 4
CANDIDATE_BUDGET = 3_000  # reference names a query may pull in through its rare tokens
CANDIDATES_PER_QUERY = 60  # reference names per query kept by shared rare tokens, before scoring
SECOND_LOOK_PER_QUERY = 10  # more reference names per query no name holds whole, by its words' other spellings
FOLD = "trim(regexp_replace(upper(strip_accents(coalesce({col}, ''))), '[^A-Z0-9]+', ' ', 'g'))"

_REF_NAMES_SQL = """
CREATE OR REPLACE TEMP TABLE _ref_name AS
WITH names AS (
    SELECT siren, NULL::VARCHAR AS siret, legal_name AS name, 'denomination' AS kind, is_non_diffusible AS private
    FROM stg_unite_legale
    UNION ALL SELECT siren, NULL, usual_name_1, 'usuel', is_non_diffusible FROM stg_unite_legale WHERE usual_name_1 IS NOT NULL
    UNION ALL SELECT siren, NULL, usual_name_2, 'usuel', is_non_diffusible FROM stg_unite_legale WHERE usual_name_2 IS NOT NULL
    UNION ALL SELECT siren, NULL, usual_name_3, 'usuel', is_non_diffusible FROM stg_unite_legale WHERE usual_name_3 IS NOT NULL
    UNION ALL SELECT siren, NULL, sigle, 'sigle', is_non_diffusible FROM stg_unite_legale WHERE sigle IS NOT NULL
    UNION ALL SELECT siren, siret, enseigne_1, 'enseigne', is_non_diffusible FROM stg_etablissement WHERE enseigne_1 IS NOT NULL
    UNION ALL SELECT siren, siret, enseigne_2, 'enseigne', is_non_diffusible FROM stg_etablissement WHERE enseigne_2 IS NOT NULL
    UNION ALL SELECT siren, siret, enseigne_3, 'enseigne', is_non_diffusible FROM stg_etablissement WHERE enseigne_3 IS NOT NULL
    UNION ALL SELECT siren, siret, usual_name, 'enseigne', is_non_diffusible FROM stg_etablissement WHERE usual_name IS NOT NULL
)
SELECT row_number() OVER (ORDER BY siren, kind, siret NULLS FIRST, name) AS name_id, siren, siret, name, kind,
       coalesce(private, false) AS private
FROM names
WHERE name IS NOT NULL AND upper(trim(name)) NOT IN ('[ND]', 'ND', '[NON-DIFFUSIBLE]', 'NON-DIFFUSIBLE', 'NON DIFFUSIBLE')
"""
# Names are folded here only: the folded text is neither carried through the names' sort nor
# written to the cache. A name without letters or digits folds to "", whose one token "" is dropped.
_REF_TOKENS_SQL = f"""
CREATE OR REPLACE TEMP TABLE _ref_name_token AS
SELECT DISTINCT name_id, token
FROM (SELECT name_id, unnest(string_split({FOLD.format(col='name')}, ' ')) AS token FROM _ref_name)
WHERE token <> ''
"""
_VOCAB_SQL = """
CREATE OR REPLACE TEMP TABLE _ref_vocab AS
SELECT token, count(*) AS df, row_number() OVER (ORDER BY token)::INTEGER AS tid FROM _ref_name_token GROUP BY token
"""
# Tokens as integers: the candidate joins over millions of (query, name) pairs hash integers, not strings.
_INT_TOKENS_SQL = """
CREATE OR REPLACE TEMP TABLE _ref_token AS
SELECT t.name_id::INTEGER AS name_id, v.tid FROM _ref_name_token t JOIN _ref_vocab v USING (token)
"""


_TOKEN_TABLES = ("_ref_name", "_ref_vocab", "_ref_token")
REFERENCE_CACHE = ".cache_rapprochement"  # the token tables' cache, a folder inside sirene/ (never read as a stock)
CACHE_MIN_NAMES = 200_000  # below this, tokenising takes less time than the cache's own reads and writes
CACHE_KEEP_SECONDS = 86_400  # a key unread for a day is removed when another is written (stock or perimeter changed)
# What the token tables are made of: every staged row whose names are tokenised (count and sum of
# row hashes, so any change of a name, unit, establishment or privacy flag changes it) and the SQL
# that tokenises them.
_FINGERPRINT_SQL = """
SELECT (SELECT count(*) || ':' || coalesce(sum(hash(siren, legal_name, usual_name_1, usual_name_2, usual_name_3,
                                                     sigle, is_non_diffusible)::HUGEINT), 0) FROM stg_unite_legale)
    || '/' || (SELECT count(*) || ':' || coalesce(sum(hash(siren, siret, enseigne_1, enseigne_2, enseigne_3,
                                                          usual_name, is_non_diffusible)::HUGEINT), 0)
               FROM stg_etablissement)
"""


def reference_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Key of the token tables: the staged SIRENE rows they come from and the code that builds them.
    One scan of the staged tables (a fraction of a second per million units), so that a cache can
    never outlive a change of the stock, of its perimeter or of the tokenisation."""
    code = "\n".join((_REF_NAMES_SQL, _REF_TOKENS_SQL, _VOCAB_SQL, _INT_TOKENS_SQL))
    rows = con.execute(_FINGERPRINT_SQL).fetchall()[0][0]
    return hashlib.sha256(f"{code}\n{rows}".encode()).hexdigest()[:24]


def _drop(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """Drop these temporary tables or views of the connection, whichever each is: one catalog
    query for all of them (a query of duckdb_views() per name cost ~15 ms a run)."""
    for name, kind in con.execute("""
            SELECT table_name, table_type FROM information_schema.tables
            WHERE table_catalog = 'temp' AND table_name IN (SELECT unnest(?::VARCHAR[]))""",
                                  [list(names)]).fetchall():
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")


def _read_cache(con: duckdb.DuckDBPyConnection, folder: Path) -> bool:
    """The token tables from a complete cache folder (its manifest is written last); False if absent
    or unreadable, and the caller builds them again."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        _drop(con, _TOKEN_TABLES)
        for table in _TOKEN_TABLES:
            path = str(folder / f"{table[1:]}.parquet").replace("'", "''")
            # names stay on disk (read for the block only); the integer tables are joined, in memory
            verb = "VIEW" if table == "_ref_name" else "TABLE"
            con.execute(f"CREATE TEMP {verb} {table} AS SELECT * FROM read_parquet('{path}')")
            if con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] != manifest[table]:
                raise ValueError(f"{table}: row count differs from the manifest")
        os.utime(folder)  # in use: not removed as an old key by another run
    except (OSError, ValueError, KeyError, duckdb.Error):
        _drop(con, _TOKEN_TABLES)
        return False
    return True


def _write_cache(con: duckdb.DuckDBPyConnection, cache_dir: Path, folder: Path, damaged: bool) -> bool:
    """Write the token tables beside the stock: into a temporary folder renamed when complete, so
    that a reader never sees half a cache; keys unread for CACHE_KEEP_SECONDS are removed (several buyers
    sharing one stock each have their perimeter's key). False if the place is not writable."""
    tmp = cache_dir / f".tmp_{folder.name}_{os.getpid()}"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        counts = {}
        for table in _TOKEN_TABLES:
            path = str(tmp / f"{table[1:]}.parquet").replace("'", "''")
            # as the table is: every reader orders what it reads, and a sort here cost a third of the writes
            con.execute(f"COPY {table} TO '{path}' (FORMAT parquet)")
            counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        (tmp / "manifest.json").write_text(json.dumps(counts), encoding="utf-8")
        if folder.exists() and not damaged:  # another run wrote this key meanwhile: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
            return True
        if folder.exists():  # a damaged cache under the same key (it could not be read)
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        for old in cache_dir.glob("tokens_*"):  # another run may be reading a recent key: left alone
            if old != folder and time.time() - old.stat().st_mtime > CACHE_KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
    except (OSError, duckdb.Error):
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    return True


def prepare_reference(con: duckdb.DuckDBPyConnection, cache_dir: Path | None = None) -> dict[str, int | str]:
    """The reference's names and their integer tokens (temp tables, gone with the connection).

    They change only with the SIRENE stock: with `cache_dir`, they are read from the cache kept
    there under the stock's fingerprint, or built and written there for the next run."""
    cache = "sans cache"
    if cache_dir is not None:
        folder = cache_dir / f"tokens_{reference_fingerprint(con)}"
        damaged = folder.is_dir()  # until read back
        cache = "lu" if damaged and _read_cache(con, folder) else "construit"
    if cache != "lu":
        _drop(con, _TOKEN_TABLES)
        for sql in (_REF_NAMES_SQL, _REF_TOKENS_SQL, _VOCAB_SQL, _INT_TOKENS_SQL, "DROP TABLE _ref_name_token"):
            con.execute(sql)
    names = con.execute("SELECT count(*) FROM _ref_name").fetchall()[0][0]
    if cache == "construit" and names < CACHE_MIN_NAMES:
        cache = "sans cache (petit référentiel)"
    elif cache == "construit" and not _write_cache(con, cache_dir, folder, damaged):
        cache = "construit, non écrit (dossier non inscriptible)"
    vocab = con.execute("SELECT count(*) FROM _ref_vocab").fetchall()[0][0]
    return {"reference_names": names, "vocabulary": vocab, "cache": cache}


def _raw_forms(token: str) -> set[str]:
    return {token} | _RAW_FORMS.get(token, set())


def query_tokens(con: duckdb.DuckDBPyConnection, names: list[str]
                 ) -> tuple[list[tuple[int, str, float]], list[tuple[int, str, float]], dict[str, int]]:
    """For query number i (its place in `names`): the rare reference tokens that generate its
    candidates (exact, abbreviation, prefix of a truncated last word, typo variant), and every
    token of it known to the reference, which ranks those candidates. Weights are rarities (idf);
    the document frequencies of the tokens involved come last (the match model's rarity feature)."""
    queries = [normalize(n).split() for n in names]
    joined = [joined_keys(toks) for toks in queries]
    wanted = sorted({raw for toks in queries for t in toks for raw in _raw_forms(t)} | {k for ks in joined for k in ks})
    con.register("_wanted", pl.DataFrame({"token": wanted}, schema={"token": pl.String}).to_arrow())
    try:
        df = dict(con.execute("SELECT v.token, v.df FROM _ref_vocab v JOIN _wanted USING (token)").fetchall())
    finally:
        con.unregister("_wanted")
    missing = {t for toks in queries for t in toks if not (_raw_forms(t) & df.keys())}
    prefixed, typos, near_df = _near_tokens(con, missing)
    df.update(near_df)
    n_names = max(1, con.execute("SELECT count(*) FROM _ref_name").fetchall()[0][0])
    rare: list[tuple[int, str, float]] = []
    every: list[tuple[int, str, float]] = []
    for qid, toks in enumerate(queries):
        options: list[tuple[int, str, bool]] = []  # (document frequency, token, is generic)
        for i, t in enumerate(toks):
            hits = [r for r in _raw_forms(t) if r in df and (r == t or r not in near_df)]
            if not hits:
                hits = (prefixed.get(t, []) if i == len(toks) - 1 else []) or typos.get(t, [])
            options.extend((df[h], h, t in GENERIC) for h in hits)
        options.extend((df[k], k, False) for k in joined[qid] if k in df)  # words typed split
        _choose(qid, options, n_names, rare, every)
    return rare, every, df


def _choose(qid: int, options: list[tuple[int, str, bool]], n_names: int,
            rare: list[tuple[int, str, float]], every: list[tuple[int, str, float]]) -> None:
    """The rarest specific tokens of a query generate its candidates, while they stay few; every
    token ranks them (weights: idf)."""
    specific = sorted(o for o in options if not o[2] and o[0] <= MAX_POSTING)
    chosen, budget = [], 0
    for o in specific[:TOKENS_PER_QUERY]:  # rarest first, while the candidates stay few
        if chosen and budget + o[0] > CANDIDATE_BUDGET:
            break
        chosen.append(o)
        budget += o[0]
    if not chosen:
        chosen = sorted(o for o in options if o[0] <= 10 * MAX_POSTING)[:1]
    rare.extend((qid, tok, math.log(1 + n_names / n)) for n, tok, _ in chosen)
    every.extend((qid, tok, math.log(1 + n_names / n)) for n, tok, _ in set(options))


def not_held_whole(con: duckdb.DuckDBPyConnection, names: list[str], qids: np.ndarray, name_ids: np.ndarray,
                   token_df: dict[str, int]) -> dict[int, list[str]]:
    """The queries that have no candidate, or whose best-ranked candidate lacks one of their words
    the register knows as typed (3 letters or more, not generic; a word it does not know already
    had its close spellings and longer words): no reference name holds them whole. Each with all
    its words: the one mistyped may be the one the best candidate holds (a slip of the fingers
    that gives another real word), not the one it lacks."""
    first = np.r_[True, qids[1:] != qids[:-1]] if len(qids) else np.zeros(0, dtype=bool)
    best = dict(zip(qids[first].tolist(), name_ids[first].tolist(), strict=True))
    con.register("_best", pl.DataFrame({"name_id": sorted(set(best.values()))}, schema={"name_id": pl.Int32}).to_arrow())
    try:
        rows = con.execute("""
            SELECT t.name_id, v.token FROM _ref_token t SEMI JOIN _best b USING (name_id)
            JOIN _ref_vocab v USING (tid)""").fetchall()
    finally:
        con.unregister("_best")
    held: dict[int, set[str]] = defaultdict(set)
    for name_id, token in rows:
        held[name_id].add(token)
    out: dict[int, list[str]] = {}
    for qid, name in enumerate(names):
        words = [t for t in dict.fromkeys(normalize(name).split()) if len(t) >= 3 and t not in GENERIC]
        if qid not in best:
            out[qid] = words
            continue
        has = held.get(best[qid], set())
        if any(not (raw & has) for t in words if (raw := {r for r in _raw_forms(t) if r in token_df})):
            out[qid] = words
    return out


def other_spelling_tokens(con: duckdb.DuckDBPyConnection, names: list[str], lacking: dict[int, list[str]],
                          token_df: dict[str, int]) -> tuple[list[tuple[int, str, float]], list[tuple[int, str, float]]]:
    """A second look for the queries no reference name holds whole (`lacking`: their words): each
    word is asked for again as a typo (the three closest spellings), the start of a
    longer word (the last word) or two glued words, even when the register knows it as typed (a
    slip of the fingers can give another real word, a rare one: only words held by at most
    SUSPECT_DF names). Missing words already had the first two. At most SECOND_LOOK_PER_QUERY
    more names per query: the first look's stay.
    Returns the rare and ranking tokens of those queries, as query_tokens does; `token_df` gets the
    frequencies of the new tokens."""
    present = {t for ws in lacking.values() for t in ws if token_df.get(t, SUSPECT_DF + 1) <= SUSPECT_DF}
    prefixed, typos, near_df = _near_tokens(con, present, limit=4)
    halves = sorted({h for ws in lacking.values() for t in ws for cut in split_keys(t) for h in cut})
    con.register("_halves", pl.DataFrame({"token": halves}, schema={"token": pl.String}).to_arrow())
    try:
        half_df = dict(con.execute("SELECT v.token, v.df FROM _ref_vocab v JOIN _halves USING (token)").fetchall())
    finally:
        con.unregister("_halves")
    token_df.update(near_df)
    token_df.update(half_df)
    n_names = max(1, con.execute("SELECT count(*) FROM _ref_name").fetchall()[0][0])
    rare: list[tuple[int, str, float]] = []
    every: list[tuple[int, str, float]] = []
    for qid, words in sorted(lacking.items()):
        toks = normalize(names[qid]).split()
        new: list[str] = []
        for t in words:
            if t in present:
                new += [x for x in typos.get(t, []) if x != t][:3]
                if t == toks[-1]:
                    new += [x for x in prefixed.get(t, []) if x != t]
            new += [h for a, b in split_keys(t) if a in half_df and b in half_df for h in (a, b)]
        new = [x for x in dict.fromkeys(new) if x in token_df]
        if not new:
            continue
        options = [(token_df[x], x, x in GENERIC) for x in new]
        known = [(token_df[r], r, t in GENERIC) for t in toks for r in _raw_forms(t) if r in token_df]
        _choose(qid, options, n_names, rare, [])
        every.extend((qid, tok, math.log(1 + n_names / n)) for n, tok, _ in set(options) | set(known))
    return rare, every


def _near_tokens(con: duckdb.DuckDBPyConnection, missing: set[str], limit: int = 3
                 ) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, int]]:
    """Reference tokens a missing query token may be: longer tokens it starts (a truncated last
    word) or close spellings (a typo), searched among tokens sharing its first two letters."""
    prefixes = sorted({start for t in missing if len(t) >= 3 for start in typo_buckets(t)})
    if not prefixes:
        return {}, {}, {}
    con.register("_pref", pl.DataFrame({"p": prefixes}, schema={"p": pl.String}).to_arrow())
    try:
        rows = con.execute("SELECT token, df FROM _ref_vocab JOIN _pref ON left(token, 2) = p").fetchall()
    finally:
        con.unregister("_pref")
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for tok, _ in rows:
        by_prefix[tok[:2]].append(tok)
    for v in by_prefix.values():
        v.sort()
    prefixed: dict[str, list[str]] = {}
    for t in missing:
        if len(t) >= 3:
            bucket = by_prefix.get(t[:2], [])
            i = bisect.bisect_left(bucket, t)
            longer = []
            while i < len(bucket) and bucket[i].startswith(t) and len(longer) < 50:
                longer.append(bucket[i])
                i += 1
            prefixed[t] = longer
    typos = {t: fewest_keystrokes(t, near, limit) for t, near in
             _typo_tokens(sorted(t for t in missing if len(t) >= 4), by_prefix, TYPO_POOL).items()}
    used = {x for v in (*prefixed.values(), *typos.values()) for x in v}
    return prefixed, typos, {tok: n for tok, n in rows if tok in used}


def _typo_tokens(tokens: list[str], by_prefix: dict[str, list[str]], limit: int = 3) -> dict[str, list[str]]:
    """The `limit` (three) closest spellings (ratio >= 80) of each token among the reference tokens filed
    under its typo_buckets, as `process.extract(t, near, limit=3)` over the buckets put end to end
    would give them (best score first, then the earlier one), but with one `cdist` call per
    two-letter start over every token filed under it, on all cores."""
    hits: dict[str, list[tuple[float, int, str]]] = {t: [] for t in tokens}
    by_start: dict[str, list[tuple[str, int]]] = defaultdict(list)  # start -> (token, offset in its near list)
    for t in tokens:
        offset = 0
        for start in typo_buckets(t):
            by_start[start].append((t, offset))
            offset += len(by_prefix.get(start, []))
    for start, asked in by_start.items():
        bucket = by_prefix.get(start, [])
        if not bucket:
            continue
        scores = process.cdist([t for t, _ in asked], bucket, scorer=fuzz.ratio, score_cutoff=80,
                               dtype=np.float64, workers=-1)
        for (t, offset), row in zip(asked, scores, strict=True):
            for j in np.flatnonzero(row >= 80).tolist():
                hits[t].append((-float(row[j]), offset + j, bucket[j]))
    return {t: [tok for _, _, tok in sorted(h)[:limit]] for t, h in hits.items()}


# A unit whose name must not be shown: non-diffusible (P, or the former N), its head office
# non-diffusible (as in mart_suppliers), or a natural person whose names SIRENE gives as [ND].
_PRIVATE_SQL = """
WITH place AS (
    SELECT e.siren, e.is_non_diffusible FROM stg_etablissement e JOIN _want USING (siren)
    QUALIFY row_number() OVER (PARTITION BY e.siren ORDER BY e.is_siege DESC, e.is_active DESC, e.siret) = 1
)
SELECT w.siren FROM _want w
LEFT JOIN stg_unite_legale u USING (siren)
LEFT JOIN place p USING (siren)
WHERE coalesce(u.is_non_diffusible, false) OR coalesce(p.is_non_diffusible, false)
    OR contains(upper(coalesce(u.legal_name, '')), '[ND]')
"""


def private_sirens(con: duckdb.DuckDBPyConnection, sirens: Iterable[str]) -> set[str]:
    """The SIRENs among these whose names no output may show (see _PRIVATE_SQL)."""
    wanted = sorted({s for s in sirens if s})
    con.register("_want", pl.DataFrame({"siren": wanted}, schema={"siren": pl.String}).to_arrow())
    try:
        return {r[0] for r in con.execute(_PRIVATE_SQL).fetchall()}
    finally:
        con.unregister("_want")


def rank_candidates(con: duckdb.DuckDBPyConnection, rare: list[tuple[int, str, float]],
                    every: list[tuple[int, str, float]], limit: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Each query's best `limit` (CANDIDATES_PER_QUERY) reference names: (query, name_id) pairs, and the
    queries whose best rank is still tied past the limit.

    Candidates share a rare token with the query; their rank is the summed rarity of every query
    token they contain, rounded to 1e-9, the smaller name_id first on a tie. Done with sorted
    postings in numpy rather than as a join over every (query, candidate) pair: most candidates
    contain only the rare token that brought them, so the other tokens are looked up by binary
    search in their postings instead of being joined against the whole reference's tokens."""
    limit = CANDIDATES_PER_QUERY if limit is None else limit
    if not rare:  # no query shares a word with the register (empty postings cannot be cut)
        return np.zeros(0, np.int64), np.zeros(0, np.int64), []
    wanted = sorted({tok for _, tok, _ in every} | {tok for _, tok, _ in rare})
    con.register("_wanted_tok", pl.DataFrame({"token": wanted}, schema={"token": pl.String}).to_arrow())
    try:
        tid_of = dict(con.execute("SELECT token, tid FROM _ref_vocab JOIN _wanted_tok USING (token)").fetchall())
        got = con.execute("""
            SELECT t.tid, t.name_id FROM _ref_token t SEMI JOIN (
                SELECT tid FROM _ref_vocab JOIN _wanted_tok USING (token)) w USING (tid)
            ORDER BY t.tid, t.name_id""").fetchnumpy()
    finally:
        con.unregister("_wanted_tok")
    tids, post = np.asarray(got["tid"], dtype=np.int32), np.asarray(got["name_id"], dtype=np.int32)
    starts = np.flatnonzero(np.r_[True, tids[1:] != tids[:-1]]) if len(tids) else np.zeros(0, np.int64)
    bounds = dict(zip(tids[starts].tolist(), zip(starts.tolist(), np.r_[starts[1:], len(tids)].tolist(),
                                                   strict=True), strict=True))
    by_query: dict[int, tuple[dict[int, float], dict[int, float]]] = defaultdict(lambda: ({}, {}))
    for qid, tok, w in rare:
        if tok in tid_of:
            by_query[qid][0][tid_of[tok]] = w
    for qid, tok, w in every:
        if tok in tid_of and qid in by_query:
            by_query[qid][1][tid_of[tok]] = w
    out_q: list[np.ndarray] = []
    out_n: list[np.ndarray] = []
    crowded: list[int] = []
    for qid in sorted(by_query):
        rare_w, all_w = by_query[qid]
        others = {t: w for t, w in all_w.items() if t not in rare_w}
        names_parts, score_parts = [], []
        for t in rare_w:
            lo, hi = bounds.get(t, (0, 0))
            cand = post[lo:hi]
            if not len(cand):
                continue
            rare_s = np.zeros(len(cand))
            other_s = np.zeros(len(cand))
            for parts, weights in ((rare_s, rare_w), (other_s, others)):
                for u, w in weights.items():
                    if u == t:
                        parts += w
                        continue
                    ulo, uhi = bounds.get(u, (0, 0))
                    if ulo == uhi:
                        continue
                    pu = post[ulo:uhi]
                    pos = np.minimum(np.searchsorted(pu, cand), len(pu) - 1)
                    parts += w * (pu[pos] == cand)
            names_parts.append(cand)
            score_parts.append(np.round(rare_s + other_s, 9))
        if not names_parts:
            continue
        names = np.concatenate(names_parts)
        scores = np.concatenate(score_parts)
        if len(names_parts) > 1:  # a name holding several rare tokens came once per token, same score
            names, first = np.unique(names, return_index=True)
            scores = scores[first]
        order = np.lexsort((names, -scores))
        if len(order) > limit and scores[order[limit]] >= scores[order[0]] - 1e-9:
            crowded.append(qid)
        top = order[:limit]
        out_n.append(names[top])
        out_q.append(np.full(len(top), qid, dtype=np.int64))
    if not out_q:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), crowded
    return np.concatenate(out_q), np.concatenate(out_n), crowded


def _blocked_entries(index: ResolverIndex, queries: list[str], qid: np.ndarray, name_id: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """Typed name -> sorted distinct entries of the index for DuckDB's (query, reference name) pairs."""
    if len(qid) == 0:
        return {}
    lut = np.full(max(max(index.by_ref_id, default=0), int(name_id.max())) + 1, -1, dtype=np.int64)
    lut[np.fromiter(index.by_ref_id.keys(), dtype=np.int64)] = np.fromiter(index.by_ref_id.values(), dtype=np.int64)
    entry = lut[name_id]
    keep = entry >= 0
    qid, entry = qid[keep].astype(np.int64), entry[keep]
    o = np.lexsort((entry, qid))
    qid, entry = qid[o], entry[o]
    distinct = np.ones(len(qid), dtype=bool)
    distinct[1:] = (qid[1:] != qid[:-1]) | (entry[1:] != entry[:-1])
    qid, entry = qid[distinct], entry[distinct]
    bounds = np.flatnonzero(np.diff(qid)) + 1
    return {queries[int(g[0])]: e for g, e in zip(np.split(qid, bounds), np.split(entry, bounds), strict=True)}


def rna_sirens(con: duckdb.DuckDBPyConnection, rnas: list[str]) -> dict[str, str]:
    """Each typed RNA number that exactly one unit of the loaded SIRENE carries, to its SIREN (a
    number two units carry designates neither)."""
    if not rnas:
        return {}
    rows = con.execute("""
        SELECT upper(trim(identifiantAssociationUniteLegale)) AS rna, min(lpad(trim(siren), 9, '0')),
               count(DISTINCT lpad(trim(siren), 9, '0'))
        FROM src_sirene_unite_legale
        WHERE upper(trim(identifiantAssociationUniteLegale)) IN (SELECT unnest($1::VARCHAR[]))
        GROUP BY 1""", [rnas]).fetchall()
    return {rna: siren for rna, siren, n in rows if n == 1}


def build_blocked_index(con: duckdb.DuckDBPyConnection, queries: list[tuple[str | None, str | None]],
                        cache_dir: Path | None = None) -> ResolverIndex:
    """A ResolverIndex over the reference names that can matter for these (name, identifier) queries
    (the reference's token tables cached in `cache_dir`, see prepare_reference)."""
    t0 = time.perf_counter()
    reference = prepare_reference(con, cache_dir)
    t_reference = time.perf_counter() - t0
    distinct_names = sorted({n for n, _ in queries if n and normalize(n)})
    rare, every, token_df = query_tokens(con, distinct_names)
    ids = [clean_identifier(s) for _, s in queries if s]
    # a number that lost two or more leading zeros: its unit is looked at too (ResolverIndex.resolve)
    ids += [clean_identifier(p) for _, s in queries if s for p in [zeros_restored(s)] if p]
    id_sirets = sorted({siret for siret, _ in ids if siret})
    by_rna = rna_sirens(con, sorted({r for _, s in queries if s for r in [rna_number(s)] if r}))
    id_sirens = sorted({siren for _, siren in ids if siren} | set(by_rna.values()))
    qids, name_ids, crowded_ids = rank_candidates(con, rare, every)
    t_look = time.perf_counter()
    lacking = not_held_whole(con, distinct_names, qids, name_ids, token_df)
    rare2, every2 = other_spelling_tokens(con, distinct_names, lacking, token_df)
    if rare2:  # the second look's candidates join the first's (the first's order and crowding kept)
        q2, n2, _ = rank_candidates(con, rare2, every2, SECOND_LOOK_PER_QUERY)
        qids, name_ids = np.concatenate([qids, q2]), np.concatenate([name_ids, n2])
    t_look = time.perf_counter() - t_look
    con.register("_ids", pl.DataFrame({"siren": id_sirens}, schema={"siren": pl.String}).to_arrow())
    con.register("_sirets", pl.DataFrame({"siret": id_sirets}, schema={"siret": pl.String}).to_arrow())
    # as a list: a polars column made from a numpy array imports numpy.ma (see sorted_distinct)
    con.register("_cand", pl.DataFrame({"name_id": sorted_distinct(name_ids).tolist()},
                                       schema={"name_id": pl.Int64}).to_arrow())
    try:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _block AS
            SELECT n.* FROM _ref_name n
            WHERE n.name_id IN (SELECT name_id FROM _cand) OR n.siren IN (SELECT siren FROM _ids)""")
        block = con.sql("SELECT siren, siret, name, kind, private, name_id FROM _block ORDER BY name_id").pl()
        names = RefColumns(block.rename({"name_id": "ref_id"}))  # stays in polars: no object per name
        sirets = dict(con.execute("""
            SELECT e.siret, e.siren FROM stg_etablissement e JOIN _sirets USING (siret)""").fetchall())
        info: dict[str, SirenInfo] = {}
        # départements as one string per unit (unit separator), columns to lists: a list per row costs more
        units = con.sql("""
            WITH wanted AS (SELECT DISTINCT siren FROM _block UNION SELECT siren FROM _ids
                            UNION SELECT siren FROM stg_etablissement JOIN _sirets USING (siret))
            SELECT w.siren, u.legal_name, u.sigle, coalesce(u.is_active, true) AS active, u.categorie_juridique,
                   string_agg(DISTINCT e.departement_code, chr(31)) AS deps
            FROM wanted w
            LEFT JOIN stg_unite_legale u USING (siren)
            LEFT JOIN stg_etablissement e USING (siren)
            WHERE u.siren IS NOT NULL OR e.siren IS NOT NULL
            GROUP BY ALL""").pl()
        for siren, legal, sigle, active, cj, deps in zip(*(units[c].to_list() for c in units.columns), strict=True):
            info[siren] = SirenInfo(set(deps.split("\x1f")) if deps is not None else set(), bool(active), legal or sigle or siren, cj)
    finally:
        for view in ("_cand", "_ids", "_sirets"):
            con.unregister(view)
    n_names = con.execute("SELECT count(*) FROM _ref_name").fetchall()[0][0]
    t1 = time.perf_counter()
    index = ResolverIndex(names, info, sirets, private_sirens(con, info), token_df=token_df, n_names=n_names)
    index.rna = by_rna
    index.blocked = _blocked_entries(index, distinct_names, qids, name_ids)
    # names whose best candidates were more than the block could hold: never auto-accepted on the name
    index.crowded = {distinct_names[q] for q in crowded_ids}
    index.reference_cache = str(reference["cache"])
    index.timings.update(reference=t_reference, blocking=t1 - t0 - t_reference, index=time.perf_counter() - t1)
    index.second_look = {"queries": len(lacking), "seconds": t_look}  # part of the blocking time, for the benchmarks
    return index
