"""Screenshots of the dashboard for the README (`make screenshots`), taken in headless Chromium."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(html: str = "dashboards/output/tableau_de_bord_ess.html", out: str = "docs/images") -> int:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Chromium est introuvable : apt-get install chromium", file=sys.stderr)
        return 2
    Path(out).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(Path(html).resolve().as_uri())
        page.wait_for_timeout(800)
        page.screenshot(path=f"{out}/tableau_de_bord_haut.png")
        page.add_style_tag(content=".filters{position:static}")  # the sticky bar would cover the panels
        for panel in ("breakdown", "offer", "map", "quality", "renewals"):
            page.locator(f'section[data-panel="{panel}"]').screenshot(path=f"{out}/tableau_de_bord_{panel}.png")
        # the sourcing panel as a buyer uses it: one category, then the drill-down on a supplier
        page.select_option("#sourcing-division", "90")
        page.locator('section[data-panel="sourcing"]').screenshot(path=f"{out}/tableau_de_bord_sourcing.png")
        page.locator("#table-top-ess a.drill-supplier").first.click()
        page.wait_for_timeout(300)
        page.locator('section[data-panel="drill"]').screenshot(path=f"{out}/tableau_de_bord_drill.png")
        browser.close()
    print(f"Captures écrites dans {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
