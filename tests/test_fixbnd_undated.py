"""Adversarial review 14b, defect 7: a line with an exercice but no date may have been paid on any
day of that exercice. Its estimate stays at the 1st of July, but its extreme bounds take every
status its supplier had during the exercice (case HIST: ALL's extreme high 57 000 € published,
121 000 € by hand). Figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import run_mini, write_csv

_HEADER = ["Exercice", "N° mandat", "Date mandat", "Tiers", "SIRET", "Objet", "Montant TTC"]
_HISTORY = ["siren", "dateFin", "dateDebut", "etatAdministratifUniteLegale", "categorieJuridiqueUniteLegale",
            "economieSocialeSolidaireUniteLegale"]


def _figures(con) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    rows = con.execute("""SELECT period, ess_amount_extreme_low_eur, ess_amount_eur, ess_amount_extreme_high_eur
                          FROM objective8_summary""").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _checks_pass(con) -> None:
    from achats.pipelines import checks
    from achats.recount import objective8_mismatches

    assert checks.periods_mismatches(con, "mart_objective8_summary") == []
    assert checks.periods_mismatches(con, "objective8_by_year") == []
    assert objective8_mismatches(con) == []


def test_an_undated_line_is_bounded_by_every_status_of_its_exercice(mini, tmp_path):
    """HIST's line 8: an association until 30/06/2024, an SAS since 01/07/2024, paid by its SIRET
    1 000 € in March (ESS), 2 000 € in September (not) and 64 000 € in 2024 without a date: judged
    at 1 July (not ESS) for the estimate, but it may have been paid in the first half: extreme high
    1 000 + 64 000 = 65 000 €. A company that became a SCOP on 01/04/2024, paid 10 000 € in 2024
    without a date, counts ESS at 1 July, but may have been paid in the first quarter: its extreme
    low drops to 0. Dated lines keep their exact value."""
    mosaic, mosaic_siret = mini.unit("ATELIER MOSAIQUE", cj="5710")
    scop, scop_siret = mini.unit("MENUISERIE DEVENUE SCOP", cj="5458")
    data = mini.write([
        ["2024", "1", "15/03/2024", "ATELIER MOSAIQUE", mosaic_siret, "x", "1000,00"],
        ["2024", "2", "15/09/2024", "ATELIER MOSAIQUE", mosaic_siret, "x", "2000,00"],
        ["2024", "7", "", "ATELIER MOSAIQUE", mosaic_siret, "x", "64000,00"],
        ["2024", "8", "", "MENUISERIE DEVENUE SCOP", scop_siret, "x", "10000,00"],
    ], header=_HEADER)
    write_csv(data / "sirene" / "StockUniteLegaleHistorique_test.csv", _HISTORY, [
        [mosaic, "2024-06-30", "2015-01-01", "A", "9220", ""], [mosaic, "", "2024-07-01", "A", "5710", ""],
        [scop, "2024-03-31", "2010-01-01", "A", "5710", ""], [scop, "", "2024-04-01", "A", "5458", ""]])
    con = run_mini(data, tmp_path)
    fig = _figures(con)
    # estimate: March 1 000 € and the SCOP's 10 000 € (ESS at 1 July)
    assert fig["ALL"] == (Decimal("1000.00"), Decimal("11000.00"), Decimal("75000.00"))
    assert fig["sans date"] == (Decimal("0.00"), Decimal("10000.00"), Decimal("74000.00"))
    assert fig["2024-Q1"] == (Decimal("1000.00"),) * 3 and fig["2024-Q3"] == (Decimal("0.00"),) * 3
    year = con.execute("""SELECT ess_amount_extreme_low_eur, ess_amount_eur, ess_amount_extreme_high_eur
                          FROM objective8_by_year WHERE year = '2024'""").fetchone()
    assert year == fig["ALL"]
    _checks_pass(con)


def test_an_undated_line_and_an_esus_agreement_that_ends_within_its_exercice(mini, tmp_path):
    """An ESUS company agreed until 31/03/2024, paid 5 000 € in 2024 without a date and 3 000 € on
    10/05/2024: the estimate counts neither (1 July and May are after the agreement), the extreme
    high counts the undated 5 000 €, not the dated 3 000 €."""
    esus, esus_siret = mini.unit("RECYCLERIE OURANOS", cj="5710")
    data = mini.write([
        ["2024", "1", "", "RECYCLERIE OURANOS", esus_siret, "Collecte", "5000,00"],
        ["2024", "2", "10/05/2024", "RECYCLERIE OURANOS", esus_siret, "Collecte", "3000,00"],
    ], header=_HEADER, esus=[{"siren": esus, "raison_sociale": "RECYCLERIE OURANOS",
                             "date_agrement": "2019-04-01", "date_fin_agrement": "2024-03-31"}])
    con = run_mini(data, tmp_path)
    assert _figures(con)["ALL"] == (Decimal("0.00"), Decimal("0.00"), Decimal("5000.00"))
    _checks_pass(con)
