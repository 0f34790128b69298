"""`achats run` says on the console when a file's own total row differs from what it read
(adversarial review 14, defect 9): the view and the dashboard showed it, the console did not."""

from __future__ import annotations

from decimal import Decimal

from achats.pipelines.cli import input_warnings
from tests.conftest import run_mini


def test_a_declared_total_that_differs_from_the_lines_is_warned_with_both_amounts(mini, tmp_path):
    _, zs = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710")
    _, qs = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([{"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": zs, "Montant": "100,00",
                        "Date": "01/03/2024"}, {"Fournisseur": "Total", "Montant": "100,00"}])
    (data / "purchases" / "mandats.csv").write_text(
        "N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
        f"1;05/03/2024;ZORGLUB TRAVAUX PUBLICS;{zs};1 000,00\n"
        f"2;06/03/2024;ASSOCIATION QUINOA SOLIDAIRE;{qs};3 000,00\n"
        f"3;07/03/2024;ASSOCIATION QUINOA SOLIDAIRE;{qs};500,00\n"
        ";;TOTAL GENERAL;;5 500,00\n", encoding="utf-8")
    # a net total: the cancelled mandate is left out of it, as out of the spending
    (data / "purchases" / "mandats_nets.csv").write_text(
        "Tiers;SIRET;N° mandat;Date mandat;Etat;Montant TTC\n"
        f"ZORGLUB TRAVAUX PUBLICS;{zs};11;05/04/2024;Payé;700,00\n"
        f"ZORGLUB TRAVAUX PUBLICS;{zs};12;06/04/2024;Annulé;300,00\n"
        f"ASSOCIATION QUINOA SOLIDAIRE;{qs};13;07/04/2024;Payé;200,00\n"
        "TOTAL GENERAL;;;;;900,00\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    rec = dict(con.execute("SELECT source_file, has_matching_total FROM source_file_reconciliation").fetchall())
    total = con.execute("SELECT total_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]
    con.close()
    assert rec == {"purchases/achats.csv": True, "purchases/mandats.csv": False, "purchases/mandats_nets.csv": True}
    assert total == Decimal("5500.00")
    said = [w for w in input_warnings(tmp_path / "wh" / "w.duckdb", data) if "total déclaré" in w]
    assert len(said) == 1, said
    assert said[0].startswith("purchases/mandats.csv : ")
    assert "(5 500,00 €)" in said[0] and "(4 500,00 €," in said[0] and "-1 000,00 €" in said[0]
