"""Adversarial review #5, defect 6: the annual report and the dashboard's « Principaux fournisseurs
ESS » show the legal basis at each line's date (family and evidence of that date, in French) and
the ESS spend as counted, which adds up to the ESS figure; a line not ESS at its date has no ESS
family. Built from the reviewer's case CL1; figures computed by hand."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from html import unescape

import pytest

from achats.config import load_settings
from achats.report import build_report
from tests.conftest import run_mini, write_csv


def _cl1(mini):
    """IOTA: an association (9220) in 2022, an SAS with the INSEE flag since 2023; DELTA: an SAS
    agréée ESUS in 2023 only; OMICRON: agréée ESUS with a gap (2023-01-01 → 2023-05-31);
    LAMBDA: an association ceased on 2024-04-01."""
    iota, iota_siret = mini.unit("IOTA COOP", cj="5710", economieSocialeSolidaireUniteLegale="O")
    delta, delta_siret = mini.unit("DELTA SERVICES", cj="5710")
    omicron, omicron_siret = mini.unit("OMICRON SOLIDAIRE", cj="5710")
    _l, lambda_siret = mini.unit("LAMBDA LOISIRS", cj="9220", etatAdministratifUniteLegale="C",
                                 dateDebut="2024-04-01")
    lines = [("IOTA COOP", iota_siret, "10000", "01/06/2022"), ("IOTA COOP", iota_siret, "20000", "01/06/2023"),
             ("DELTA SERVICES", delta_siret, "100", "31/12/2022"), ("DELTA SERVICES", delta_siret, "200", "01/01/2023"),
             ("DELTA SERVICES", delta_siret, "400", "31/12/2023"), ("DELTA SERVICES", delta_siret, "800", "01/01/2024"),
             ("OMICRON SOLIDAIRE", omicron_siret, "31", "01/03/2023"),
             ("OMICRON SOLIDAIRE", omicron_siret, "37", "01/07/2023"),
             ("LAMBDA LOISIRS", lambda_siret, "13", "31/03/2024"), ("LAMBDA LOISIRS", lambda_siret, "17", "01/04/2024")]
    esus = [{"siren": delta, "raison_sociale": "DELTA", "date_agrement": "2023-01-01", "date_fin_agrement": "2023-12-31"},
            {"siren": omicron, "raison_sociale": "OMICRON", "date_agrement": "2018-01-01",
             "date_fin_agrement": "2022-12-31"},
            {"siren": omicron, "raison_sociale": "OMICRON", "date_agrement": "2023-06-01",
             "date_fin_agrement": "2028-05-31"}]
    data = mini.write([{"Fournisseur": n, "SIRET": s, "Montant": a, "Date": d} for n, s, a, d in lines], esus=esus)
    write_csv(data / "sirene" / "StockUniteLegaleHistorique_test.csv",
              ["siren", "dateFin", "dateDebut", "etatAdministratifUniteLegale", "categorieJuridiqueUniteLegale",
               "economieSocialeSolidaireUniteLegale"],
              [[iota, "2022-12-31", "2015-01-01", "A", "9220", ""], [iota, "", "2023-01-01", "A", "5710", "O"]])
    return data


def _spaces(text: str) -> str:
    return re.sub(r"[\u202f\u00a0 ]+", " ", text).strip()


def _table(page: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after a heading, as text cells."""
    part = page[page.index(heading):]
    body = part[part.index("<tbody"):part.index("</tbody>")]
    return [[_spaces(unescape(re.sub(r"<[^>]+>", "", c))) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


@pytest.fixture
def cl1(mini, tmp_path):
    data = _cl1(mini)
    return data, run_mini(data, tmp_path), tmp_path


def test_report_shows_the_basis_at_the_lines_date_in_french(cl1):
    data, con, _ = cl1
    settings = load_settings(data)
    top22 = _table(build_report(con, 2022, settings), "Principaux fournisseurs ESS")
    # in 2022 IOTA was an association, not a company with the INSEE flag
    assert top22 == [["IOTA COOP", top22[0][1], "Association", "Association déclarée (catégorie juridique 9220)",
                      "10 000 €"]]
    top23 = {r[0]: r[2:] for r in _table(build_report(con, 2023, settings), "Principaux fournisseurs ESS")}
    assert top23["IOTA COOP"] == ["Société commerciale de l'ESS",
                                  "Inscrite ESS au répertoire SIRENE (indicateur INSEE = O)", "20 000 €"]
    # DELTA's 2023 lines (200 + 400) are ESS by its agrément of that year, not « échu »
    assert top23["DELTA SERVICES"] == ["Société commerciale de l'ESS", "ESUS agréé du 2023-01-01 au 2023-12-31", "600 €"]
    # OMICRON: only the 37 € paid inside the agrément count
    assert top23["OMICRON SOLIDAIRE"] == ["Société commerciale de l'ESS", "ESUS agréé du 2023-06-01 au 2028-05-31",
                                          "37 €"]


def test_a_line_not_ess_at_its_date_has_no_ess_family(cl1):
    _, con, _ = cl1
    got = con.execute("""SELECT p.purchase_date::VARCHAR, r.is_ess_at_line_date, r.ess_family, r.ess_basis_at_line_date
                         FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)
                         WHERE p.supplier_name = 'LAMBDA LOISIRS' ORDER BY 1""").fetchall()
    assert got == [("2024-03-31", True, "association", "Association déclarée (catégorie juridique 9220)"),
                   ("2024-04-01", False, None, None)]


def _dashboard_top(html: str) -> dict[str, list[str]]:
    return {r[0]: r[2:] for r in _table(html, "Principaux fournisseurs ESS")}


def test_dashboard_top_suppliers_show_the_ess_spend_as_counted(cl1):
    _, con, tmp_path = cl1
    html = (tmp_path / "dash" / "tableau_de_bord_ess.html").read_text(encoding="utf-8")
    top = _dashboard_top(html)
    # ESS at their dates: IOTA 30 000, DELTA 600, OMICRON 37, LAMBDA 13 — 30 650 € in all
    assert {k: v[2] for k, v in top.items()} == {"IOTA COOP": "30 000 €", "DELTA SERVICES": "600 €",
                                                 "OMICRON SOLIDAIRE": "37 €", "LAMBDA LOISIRS": "13 €"}
    assert top["IOTA COOP"][:2] == ["Associations, Sociétés commerciales de l'ESS",
                                    "Association déclarée (catégorie juridique 9220) | "
                                    "Inscrite ESS au répertoire SIRENE (indicateur INSEE = O)"]
    # the table adds up to the ESS figure (every line here is matched)
    assert con.execute("SELECT ess_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0] \
        == Decimal("30650.00")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium absent : test navigateur ignoré")
def test_dashboard_top_suppliers_follow_the_line_dates_in_the_browser(cl1):
    """The page redraws the table from its embedded facts: the same rule there, per filter."""
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.test_dashboard_browser import _cells, _launch

    _, _, tmp_path = cl1
    with playwright.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page()
        page.goto((tmp_path / "dash" / "tableau_de_bord_ess.html").as_uri())
        page.wait_for_timeout(500)
        shown = dict(zip(_cells(page, "table-top-ess", 0), map(_spaces, _cells(page, "table-top-ess", 4)), strict=True))
        assert shown == {"IOTA COOP": "30 000 €", "DELTA SERVICES": "600 €", "OMICRON SOLIDAIRE": "37 €",
                         "LAMBDA LOISIRS": "13 €"}
        page.select_option("#filter-period", "2023")
        page.wait_for_timeout(150)
        shown = dict(zip(_cells(page, "table-top-ess", 0), _cells(page, "table-top-ess", 3), strict=True))
        assert shown == {"IOTA COOP": "Inscrite ESS au répertoire SIRENE (indicateur INSEE = O)",
                         "DELTA SERVICES": "ESUS agréé du 2023-01-01 au 2023-12-31",
                         "OMICRON SOLIDAIRE": "ESUS agréé du 2023-06-01 au 2028-05-31"}
        browser.close()
