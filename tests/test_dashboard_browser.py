"""The dashboard in a real headless Chromium: no console error, every panel drawn, true numbers."""

from __future__ import annotations

import shutil

import pytest

from achats.formatting import eur, pct

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright absent : test navigateur ignoré")
PANELS = ["cards", "trend", "breakdown", "offer", "map", "suppliers", "quality"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium absent (apt-get install chromium) : test navigateur ignoré")
def test_dashboard_renders_in_chromium(sample_run, sample_con, tmp_path):
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(sample_run["dashboard"].as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        for panel in PANELS:
            section = page.locator(f'section[data-panel="{panel}"]')
            assert section.is_visible(), panel
        plots = page.locator(".js-plotly-plot")
        assert plots.count() >= 5
        for i in range(plots.count()):
            assert plots.nth(i).locator(".main-svg").count() > 0, f"graphique {i} non dessiné"
        assert page.locator("#table-top-ess tbody tr").count() > 0
        s = sample_con.execute("SELECT ess_share, ess_amount_eur, review_amount_eur, unmatched_amount_eur "
                               "FROM objective8_summary WHERE period = 'ALL'").fetchone()
        assert page.locator("#card-ess-share .value").inner_text() == pct(s[0])
        assert page.locator("#card-ess-amount .value").inner_text() == eur(s[1])
        assert page.locator("#card-review .value").inner_text() == eur(s[2])
        assert page.locator("#card-unmatched .value").inner_text() == eur(s[3])
        page.screenshot(path=str(tmp_path / "tableau_de_bord.png"), full_page=True)
        # filters: a quarter, then a buying entity within it
        quarter = sample_con.execute("SELECT max(period) FROM objective8_summary WHERE period NOT IN ('ALL', 'sans date')").fetchone()[0]
        page.select_option("#filter-period", quarter)
        q = sample_con.execute("SELECT ess_share, total_amount_eur, ess_supplier_count, quarantined_line_count "
                               "FROM objective8_summary WHERE period = ?", [quarter]).fetchone()
        assert page.locator("#card-ess-share .value").inner_text() == pct(q[0])
        assert page.locator("#card-total .value").inner_text() == eur(q[1])
        assert page.locator("#card-suppliers .value").inner_text() == str(q[2])
        entity = "Direction des Routes"
        page.select_option("#filter-entity", entity)
        t, pt = sample_con.execute("""
            SELECT sum(p.amount_eur), sum(r.ess_point_eur) FROM purchase_lines p JOIN purchase_lines_resolved r
            USING (line_id) WHERE p.quarter = ? AND p.buying_entity = ?""", [quarter, entity]).fetchone()
        assert page.locator("#card-total .value").inner_text() == eur(t)
        assert page.locator("#card-ess-share .value").inner_text() == pct(pt / t)
        page.screenshot(path=str(tmp_path / "tableau_de_bord_filtre.png"))
        browser.close()
    assert errors == []
    assert (tmp_path / "tableau_de_bord.png").stat().st_size > 50_000
