"""The dashboard's fast paths against the general ones: figures built as plain dicts and serialised
without plotly.py's validation (dashboards/build.py `_fig_html`) against what plotly's graph_objects
give; sums turned into floats by DuckDB against Python's conversion of the exact DECIMAL sums."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal

import duckdb
import plotly.graph_objects as go
import plotly.offline
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from achats.dashboards import build, carto

NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*')


def figures(page: str) -> dict[str, dict]:
    """Every figure of a page (or of a figure's HTML), parsed back from its Plotly.newPlot call."""
    out, dec = {}, json.JSONDecoder()
    for m in NEWPLOT.finditer(page):
        data, i = dec.raw_decode(page, m.end())
        i = page.index(",", i) + 1
        while page[i].isspace():
            i += 1
        layout, _ = dec.raw_decode(page, i)
        out[m.group(1)] = {"data": data, "layout": layout}
    return out


def assert_plotly_form(fig: dict) -> None:
    """plotly's validator accepts every property and leaves the figure as it is: no misspelt key, no
    shorthand plotly.py would rewrite (a title as a bare string, a colour scale by name)."""
    validated = go.Figure(fig).to_dict()
    assert validated == fig


def test_every_figure_of_the_sample_page_is_in_plotly_form(sample_run):
    figs = figures(sample_run["dashboard"].read_text(encoding="utf-8"))
    assert set(figs) == {"fig-trend", "fig-family", "fig-entities", "fig-cpv", "fig-map"}
    for fig in figs.values():
        assert fig["layout"]["template"] == go.Figure().to_dict()["layout"]["template"]
        assert_plotly_form(fig)


def test_the_map_draws_every_part_of_a_multi_part_territory(sample_con, tmp_path, monkeypatch):
    """An intercommunality in several pieces (an exclave, an island) has one outline per piece, each
    carrying its figures on hover."""
    home = build._home(sample_con)
    src = sorted((build.reference_dir() / "geo").glob(f"epci-{home}-*partie*.geojson"))[0]
    geo = json.loads(src.read_text(encoding="utf-8"))
    feat = geo["features"][0]
    assert feat["geometry"]["type"] == "Polygon"
    main_ring = feat["geometry"]["coordinates"][0]
    x0, y0 = main_ring[0]
    islet = [[x0 + 0.5, y0], [x0 + 0.6, y0], [x0 + 0.6, y0 + 0.1], [x0 + 0.5, y0]]
    feat["geometry"] = {"type": "MultiPolygon", "coordinates": [[main_ring], [islet]]}
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / src.name).write_text(json.dumps(geo), encoding="utf-8")
    for extra in (build.reference_dir() / "geo").glob(f"communes-{home}-*centroides.csv"):
        shutil.copy(extra, tmp_path / "geo" / extra.name)
    monkeypatch.setattr(build, "reference_dir", lambda: tmp_path)
    fig = figures(build._map(sample_con, home))["fig-map"]
    code = feat["properties"]["code"]
    parts = [t for t in fig["data"] if t.get("meta") == f"epci:{code}"]
    assert [list(zip(t["x"], t["y"], strict=True)) for t in parts] == [
        [tuple(p) for p in main_ring], [tuple(p) for p in islet]]
    assert parts[0]["name"] == parts[1]["name"] and "Dépense : " in parts[0]["name"]
    assert len([t for t in fig["data"] if str(t.get("meta", "")).startswith("epci:")]) == len(geo["features"]) + 1
    assert_plotly_form(fig)


hostile_text = st.lists(st.sampled_from(list("aé’\"'<>/&\\ \u2028\u00a0€%{}") + ["</script>", "<!--", "%{y}"]),
                        min_size=1, max_size=8).map("".join)
amount = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
share = st.none() | st.floats(min_value=-1, max_value=2, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entities=st.lists(st.tuples(hostile_text, amount, amount, share), max_size=6, unique_by=lambda t: t[0]),
       divisions=st.lists(st.tuples(st.sampled_from(["45", "79", "90", "98"]), st.none() | hostile_text, amount, share),
                          max_size=5),
       quarters=st.lists(st.tuples(st.integers(2019, 2030), st.integers(1, 4), share, share, share), min_size=1,
                         max_size=6, unique_by=lambda t: t[:2]),
       families=st.lists(st.tuples(st.sampled_from(["association", "cooperative", "autre « x »"]), amount),
                         max_size=6),
       target=st.none() | st.floats(min_value=0, max_value=1, allow_nan=False),
       incomplete=st.booleans())
def test_figures_from_hostile_rows_are_plotly_valid_and_keep_their_values(entities, divisions, quarters, families,
                                                                          target, incomplete):
    ents = [{"buying_entity": e, "amount_eur": a, "ess_amount_eur": b, "ess_share": s} for e, a, b, s in entities]
    divs = [{"cpv_division": d, "cpv_label": lbl, "buyer_amount_eur": a, "ess_share": s} for d, lbl, a, s in divisions]
    qs = [{"period": f"{y}-Q{n}", "ess_share": s, "ess_share_low": lo, "ess_share_high": hi}
          for y, n, s, lo, hi in sorted(quarters)]
    fam = [{"quarter": qs[i % len(qs)]["period"], "ess_family": f, "amount_eur": a} for i, (f, a) in enumerate(families)]
    figs = figures(build._breakdowns(ents, divs) + build._trend(qs, fam, [qs[0]["period"]] if incomplete else [], target))
    for fig in figs.values():
        assert_plotly_form(fig)
    ent_sorted = sorted(ents, key=lambda r: r["amount_eur"])
    bars = figs["fig-entities"]["data"]
    assert bars[0]["y"] == bars[1]["y"] == [r["buying_entity"] for r in ent_sorted]
    assert bars[0]["x"] == [r["amount_eur"] for r in ent_sorted]
    assert figs["fig-cpv"]["data"][0]["values"] == [max(r["buyer_amount_eur"], 0) for r in divs]
    trend = figs["fig-trend"]["data"]
    assert trend[2]["y"] == [100 * (q["ess_share"] or 0) for q in qs]
    assert ("meta" in trend[-1]) == (target is not None)
    assert ("annotations" in figs["fig-trend"]["layout"]) == incomplete


@settings(max_examples=60, deadline=None)
@given(groups=st.lists(st.lists(st.none() | st.integers(-10**13, 10**13), min_size=1, max_size=40), min_size=1, max_size=8))
def test_duckdb_double_of_a_decimal_sum_is_pythons_float(groups):
    """The filter facts take `coalesce(sum(x), 0)::DOUBLE` where the page took
    `round(float(sum or 0), 2)`: the same float for any amounts a buyer can have (lines of up
    to a hundred billion euros; beyond 2^53 cents, 90 000 billion euros, floats lose the cent anyway)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (g INTEGER, x DECIMAL(18, 2))")
    con.executemany("INSERT INTO t VALUES (?, ?)",
                    [(g, None if c is None else Decimal(c).scaleb(-2)) for g, cents in enumerate(groups) for c in cents])
    got = dict(con.execute("SELECT g, coalesce(sum(x), 0)::DOUBLE FROM t GROUP BY g").fetchall())
    exact = dict(con.execute("SELECT g, sum(x) FROM t GROUP BY g").fetchall())
    assert got == {g: round(float(v or 0), 2) for g, v in exact.items()}


def test_the_page_leaves_no_temporary_table_and_builds_on_a_read_only_warehouse(sample_run, sample_con, tmp_path):
    """build_dashboard reads the lines once into temporary tables: a read-only connection allows
    them, and none is left behind for the steps that follow on the same connection."""
    page = build.build_dashboard(sample_con, tmp_path).read_text(encoding="utf-8")
    assert sample_con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0] == 0
    assert figures(page) == figures(sample_run["dashboard"].read_text(encoding="utf-8"))


def test_a_failed_build_keeps_its_own_error(sample_con, tmp_path, monkeypatch):
    """Dropping the temporary tables after a failure inside a transaction must not replace the
    failure's own error by DuckDB's « transaction aborted »."""
    def failing_page(con, output_dir):
        con.execute("SELECT * FROM relation_absente")

    monkeypatch.setattr(build, "_write_dashboard", failing_page)
    sample_con.begin()
    with pytest.raises(duckdb.CatalogException, match="relation_absente"):
        build.build_dashboard(sample_con, tmp_path)
    sample_con.rollback()


def test_plotlyjs_bytes_are_what_plotly_gives_as_text():
    """The page takes plotly.js as bytes from the package: the very text plotly.offline gives."""
    assert build.plotlyjs_bytes().decode("utf-8") == plotly.offline.get_plotlyjs()


page_text = st.lists(st.sampled_from(["a", "é", "€", "\u202f", "\n", "\r", "\r\n", "\u2028", "</script>", "😀", "\x00"]),
                     max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=page_text, js=page_text, tail=page_text, linesep=st.sampled_from(["\n", "\r\n"]))
def test_the_page_written_as_bytes_is_the_page_written_as_text(head, js, tail, linesep, tmp_path, monkeypatch):
    """_write_page (plotly.js kept as bytes) against the text-mode write it replaces, on this system
    and on one whose line separator is Windows' (text mode writes every '\\n' as os.linesep)."""
    monkeypatch.setattr(build.os, "linesep", linesep)
    build._write_page(tmp_path / "fast.html", head, js.encode("utf-8"), tail)
    with open(tmp_path / "text.html", "w", encoding="utf-8", newline=linesep) as fh:
        fh.write(head + js + tail)
    assert (tmp_path / "fast.html").read_bytes() == (tmp_path / "text.html").read_bytes()


agg_value = st.none() | st.sampled_from(["", "a", "A", "b", "é", "e", "É", "a,b", " | ", "'", "z\u202f", "😀", "ESUS"])


@settings(max_examples=80, deadline=None)
@given(groups=st.lists(st.lists(st.tuples(agg_value, st.none() | st.booleans()), min_size=1, max_size=7),
                       min_size=1, max_size=6),
       sep=st.sampled_from([",", " | ", "'", ""]))
# list_distinct keeps no order (DuckDB 2.0 gives e, é, É, a, b, c here): the sort is what orders them
@example(groups=[[("c", True), ("b", True), ("a", True), ("b", True), ("É", True), ("é", True), ("e", True)]], sep=",")
def test_distinct_sorted_is_the_string_agg_it_replaces(groups, sep):
    """carto.distinct_sorted (a list made distinct, sorted and joined) against
    string_agg(DISTINCT x, sep ORDER BY x) FILTER (WHERE …) on NULLs, duplicates, empty strings,
    case, accents, separators inside the values and groups the filter leaves empty, bare and
    inside the coalesce(…, '') the page reads it through."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (g INTEGER, x VARCHAR, f BOOLEAN)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(g, x, f) for g, rows in enumerate(groups) for x, f in rows])
    lit = "'" + sep.replace("'", "''") + "'"
    old = f"string_agg(DISTINCT x, {lit} ORDER BY x) FILTER (WHERE f)"
    new = carto.distinct_sorted("x", sep, "f")
    got = con.execute(f"SELECT g, coalesce({new}, ''), {new} IS NULL FROM t GROUP BY g ORDER BY g").fetchall()
    want = con.execute(f"SELECT g, coalesce({old}, ''), {old} IS NULL FROM t GROUP BY g ORDER BY g").fetchall()
    assert [r[:2] for r in got] == [r[:2] for r in want]
    # bare, NULL where string_agg is NULL except when every kept value is NULL ('' then): hence the coalesce
    assert all(g[2] <= w[2] for g, w in zip(got, want, strict=True))
