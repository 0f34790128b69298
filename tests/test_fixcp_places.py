"""Adversarial review 15, defect 6 (case LOCT): with both « Code postal » and « Ville », a town name
shared by several départements (MONTAUT: Landes and Pyrénées-Atlantiques) left the line without
département, so a namesake of another département made it a review; the postal code beside it now
says which département, while a town known in one département only still wins over the postal code."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import polars as pl

from achats.sources.purchases import map_headers
from achats.warehouse import load_reference, run_sql, write_frame
from tests.conftest import run_mini

BUYER_64 = '[acheteur]\nsiren = "216445445"\ndepartement = "64"\n'


def _departements(cells: list[tuple[str | None, str | None]]) -> list[str | None]:
    con = duckdb.connect()
    load_reference(con)
    n = len(cells)
    write_frame(con, "src_purchase_lines", pl.DataFrame(
        {"line_id": [str(i) for i in range(n)], "commune_raw": [c[0] for c in cells],
         "commune_other_raw": [c[1] for c in cells], "category": [None] * n},
        schema={"line_id": pl.String, "commune_raw": pl.String, "commune_other_raw": pl.String,
                "category": pl.String}))
    run_sql(con, "staging/stg_purchase_lines.sql")
    got = dict(con.execute("SELECT line_id, line_departement FROM stg_purchase_lines").fetchall())
    return [got[str(i)] for i in range(n)]


def test_a_shared_town_name_takes_the_postal_code_beside_it():
    cells = [("MONTAUT", "64800"), ("MONTAUT", "40500"), ("Montaut", "1000"),
             # a town known in one département wins over a postal code that disagrees (a bureau
             # distributeur across a border, or a typo)
             ("PAU", "33000"), ("BORDEAUX", "64000"),
             # the commune column holds the postal code, the other the town: the same rule
             ("64800", "MONTAUT"), ("33000", "PAU"),
             # a shared name with no postal code, or no place at all: nothing guessed
             ("SAINT-MARTIN", None), ("SAINT-MARTIN", ""), (None, None),
             # an INSEE code in the commune column wins; Corsica's postal codes beside a shared name
             ("64445", None), ("64445", "40500"), ("MONTAUT", "20167")]
    assert _departements(cells) == ["64", "40", "01", "64", "33", "64", "64", None, None, None, "64", "64", "2A"]


def test_the_postal_code_column_is_read_beside_the_town_not_the_street_address():
    head = ["Exercice", "N° mandat", "Date mandat", "Fournisseur", "Adresse", "Code postal", "Ville", "Montant TTC"]
    cols = map_headers(head)
    assert head[cols["commune"]] == "Ville" and head[cols["commune_other"]] == "Code postal"
    cols = map_headers(["Fournisseur", "CP", "Adresse", "Localité", "Montant"])
    assert {cols["commune"], cols["commune_other"]} == {1, 3}
    assert "commune_other" not in map_headers(["Fournisseur", "Adresse", "Ville", "Montant"])


def test_loct_the_postal_code_settles_a_namesake_end_to_end(mini, tmp_path):
    """LOCT: « LES JARDINS DU GAVE » is an association in Montaut (Landes, 40191) and an SARL in
    Montaut (Pyrénées-Atlantiques, 64400). The line reads « 64800;MONTAUT », 6 000 €: by hand it is
    the SARL, ESS 0 of 10 000 €. Before, the line had no département: a review at 0,80 and an ESS
    point of 1 198,80 €."""
    assoc, _ = mini.unit("LES JARDINS DU GAVE", cj="9220", naf="81.21Z", commune="40191")
    sarl, _ = mini.unit("LES JARDINS DU GAVE", cj="5499", naf="81.21Z", commune="64400")
    mini.unit("TRANSPORTS PYRENEENS", cj="5710", naf="49.41A", commune="64445")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    (data / "achats.toml").write_text(BUYER_64, encoding="utf-8")
    (data / "purchases" / "mandats.csv").write_text(
        "Exercice;N° mandat;Date mandat;Fournisseur;Adresse;Code postal;Ville;Montant TTC\n"
        "2024;1;05/02/2024;LES JARDINS DU GAVE;2 chemin du Gave;64800;MONTAUT;6000,00\n"
        "2024;2;05/02/2024;TRANSPORTS PYRENEENS;1 rue de Pau;64000;PAU;4000,00\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    rows = con.execute("""
        SELECT l.mandate_number, l.line_departement, r.siren, r.match_status
        FROM stg_purchase_lines AS l JOIN res_purchase_line_supplier AS r USING (line_id)
        ORDER BY l.mandate_number::INTEGER""").fetchall()
    assert rows[0] == ("1", "64", sarl, "matched") and assoc != sarl
    assert rows[1][1] == "64"
    total, ess, low, high, xlow, xhigh = con.execute("""
        SELECT total_amount_eur, ess_amount_eur, ess_amount_low_eur, ess_amount_high_eur,
               ess_amount_extreme_low_eur, ess_amount_extreme_high_eur
        FROM objective8_summary WHERE period = 'ALL'""").fetchone()
    assert total == Decimal("10000.00")
    # by hand: no ESS line; a name match keeps a small doubt, within a few euros of 0
    assert Decimal(0) <= low <= ess < Decimal(20) and high < Decimal(20)
    assert xlow == Decimal(0) and xhigh < Decimal(6000)
