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


def _launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])


def _cells(page, table: str, col: int) -> list[str]:
    return page.locator(f"#{table} tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{col}] ? r.cells[{col}].innerText : '')")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium absent (apt-get install chromium) : test navigateur ignoré")
def test_every_panel_follows_the_filters(sample_run, sample_con):
    """Each filter on each panel gives the figures SQL gives; sourcing, renewals and drill-down work."""
    errors: list[str] = []
    q = sample_con.execute
    with playwright.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(sample_run["dashboard"].as_uri())
        page.wait_for_timeout(500)
        buyer = q("SELECT siren, legal_name FROM stg_unite_legale WHERE siren = "
                  "(SELECT buyer_siren FROM run_parameters)").fetchone()
        assert buyer[0] in page.locator("#buyer-header").inner_text()
        assert buyer[1] in page.locator("h1").inner_text()
        lines_all = q("SELECT line_count FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
        assert page.locator("#card-total .sub").inner_text() == f"{lines_all:,} lignes".replace(",", "\u202f")
        for period, entity, division in (("2025", "", ""), ("2024-Q2", "Direction des Routes", ""),
                                         ("", "", "90"), ("2023", "", "79")):
            page.select_option("#filter-period", period)
            page.select_option("#filter-entity", entity)
            page.select_option("#filter-division", division)
            page.wait_for_timeout(150)
            where = ["r.match_status = 'matched'"]
            params: list = []
            if period:
                where.append("p.quarter LIKE ?")
                params.append(period + ("%" if len(period) == 4 else ""))
            if entity:
                where.append("p.buying_entity = ?")
                params.append(entity)
            if division:
                where.append("r.cpv_division = ?")
                params.append(division)
            w = " AND ".join(where)
            # top ESS suppliers: the selected period's ESS spend as counted (lines ESS at their date)
            top = q(f"""SELECT s.display_name, sum(p.amount_eur) FROM purchase_lines_resolved r JOIN purchase_lines p
                        USING (line_id) JOIN suppliers s USING (siren)
                        WHERE {w} AND r.is_ess_at_line_date AND NOT s.is_non_diffusible AND NOT s.is_entrepreneur_individuel
                        GROUP BY ALL ORDER BY 2 DESC LIMIT 5""", params).fetchall()
            shown = dict(zip(_cells(page, "table-top-ess", 0), _cells(page, "table-top-ess", 4), strict=True))
            for name, amount in top:
                assert shown[name] == eur(amount), (period, entity, division, name)
            # offer table and trend: the division's spend; the last quarter's share
            mw = w.replace("r.match_status = 'matched'", "true")
            if division:
                t, me = q(f"""SELECT sum(p.amount_eur), sum(p.amount_eur) FILTER (WHERE r.is_ess_at_line_date AND r.match_status = 'matched')
                              FROM purchase_lines_resolved r JOIN purchase_lines p USING (line_id) WHERE {mw}""",
                          params).fetchone()
                assert _cells(page, "table-offer", 2) == [eur(t)]
                assert _cells(page, "table-offer", 3) == [eur(me or 0)]
            # quality: lines per match status and method
            methods = q(f"""SELECT r.match_status, r.match_method, count(*) FROM purchase_lines_resolved r
                            JOIN purchase_lines p USING (line_id) WHERE {mw} GROUP BY ALL ORDER BY 1, 2""", params).fetchall()
            assert _cells(page, "table-methods", 2) == [str(n) if n < 1000 else f"{n:,}".replace(",", "\u202f")
                                                        for _, _, n in methods]
            # trend: the share of the last quarter shown
            last = q(f"""SELECT p.quarter, sum(r.ess_point_eur) / sum(p.amount_eur) FROM purchase_lines_resolved r
                         JOIN purchase_lines p USING (line_id) WHERE {mw} AND p.quarter IS NOT NULL
                         GROUP BY 1 ORDER BY 1 DESC LIMIT 1""", params).fetchone()
            y = page.evaluate("() => { const d = document.getElementById('fig-trend').data[2]; return d.y[d.y.length - 1]; }")
            assert abs(y - 100 * last[1]) < 1e-6
            # map: the EPCI's hover text carries the filtered spend
            epci, amount = q(f"""SELECT s.epci_siren, sum(p.amount_eur) FROM purchase_lines_resolved r JOIN purchase_lines p
                                 USING (line_id) JOIN suppliers s USING (siren) WHERE {w} AND s.epci_siren IN (SELECT epci_siren FROM ref_epci)
                                 GROUP BY 1 ORDER BY 2 DESC LIMIT 1""", params).fetchone()
            names = page.evaluate(f"() => document.getElementById('fig-map').data.filter(t => t.meta === 'epci:{epci}')"
                                  ".map(t => t.name)")
            assert names and all(f"Dépense : {eur(amount)}" in n for n in names)
        # renewals: in the window, for the category
        page.select_option("#filter-period", "")
        page.select_option("#filter-entity", "")
        page.select_option("#filter-division", "")
        page.wait_for_timeout(150)
        assert page.locator("#card-total .sub").inner_text().startswith(f"{lines_all:,}".replace(",", "\u202f"))
        n_window = q("SELECT count(*) FROM contract_renewals WHERE is_in_renewal_window").fetchone()[0]
        assert n_window > 0 and page.locator("#table-renewals tbody tr").count() == n_window
        division = q("SELECT cpv_division FROM contract_renewals WHERE is_in_renewal_window AND local_inclusive_structure_count > 0 "
                     "ORDER BY cpv_division LIMIT 1").fetchone()[0]
        page.select_option("#filter-division", division)
        page.wait_for_timeout(150)
        assert page.locator("#table-renewals tbody tr").count() == q(
            "SELECT count(*) FROM contract_renewals WHERE is_in_renewal_window AND cpv_division = ?", [division]).fetchone()[0]
        # sourcing follows the category, then a word and an EPCI
        units = q("SELECT count(DISTINCT siren) FROM ess_sourcing WHERE cpv_division = ?", [division]).fetchone()[0]
        assert page.locator("#sourcing-count").inner_text().startswith(f"{units} structure")
        page.select_option("#filter-division", "")
        page.wait_for_timeout(100)
        page.fill("#sourcing-search", "toulouse")
        page.wait_for_timeout(100)
        expected = q("""SELECT count(DISTINCT siret) FROM ess_sourcing WHERE siret IN (SELECT siret FROM ess_sourcing
                        WHERE strip_accents(lower(concat_ws(' ', display_name, commune_name, epci_name, naf_label))) LIKE '%toulouse%')""").fetchone()[0]
        assert page.locator("#table-sourcing tbody tr").count() == expected > 0
        page.fill("#sourcing-search", "")
        epci = q("SELECT epci_siren FROM ess_sourcing GROUP BY 1 ORDER BY count(DISTINCT siret) DESC, 1 LIMIT 1").fetchone()[0]
        page.select_option("#sourcing-epci", epci)
        page.wait_for_timeout(100)
        assert page.locator("#table-sourcing tbody tr").count() == q(
            "SELECT count(DISTINCT siret) FROM ess_sourcing WHERE epci_siren = ?", [epci]).fetchone()[0]
        links = page.locator("#table-sourcing tbody tr a").evaluate_all("as => as.map(a => a.href)")
        assert links and all(h.startswith("https://annuaire-entreprises.data.gouv.fr/entreprise/") or
                             h.startswith("https://lemarche.inclusion.beta.gouv.fr/") for h in links)
        # drill-down: a supplier from the top table, under a period
        page.select_option("#filter-period", "2025")
        page.wait_for_timeout(150)
        link = page.locator("#table-top-ess a.drill-supplier").first
        siren = link.get_attribute("data-siren")
        link.click()
        page.wait_for_timeout(150)
        t, n = q("""SELECT sum(p.amount_eur), count(*) FROM purchase_lines_resolved r JOIN purchase_lines p USING (line_id)
                    WHERE r.match_status = 'matched' AND r.siren = ? AND p.quarter LIKE '2025%'""", [siren]).fetchone()
        assert page.locator("#drill-total").inner_text() == f"Pour les filtres choisis : {eur(t)} sur {n} lignes."
        assert siren in page.locator("#drill-title").inner_text()
        # drill-down: an EPCI chosen on the map
        page.select_option("#drill-epci", epci)
        page.wait_for_timeout(150)
        t = q("""SELECT sum(p.amount_eur) FROM purchase_lines_resolved r JOIN purchase_lines p USING (line_id)
                 JOIN suppliers s USING (siren) WHERE r.match_status = 'matched' AND s.epci_siren = ?
                 AND p.quarter LIKE '2025%'""", [epci]).fetchone()[0]
        assert page.locator("#drill-total").inner_text().startswith(f"Pour les filtres choisis : {eur(t)} dont ESS")
        browser.close()
    assert errors == []
