"""adv15 #10 (case PRIVT): the masked reason of a quarantined « Total tiers » footer cites the
non-diffusible unit whose lines it follows, not a namesake the run has nothing to do with; an
ambiguous name that no line links to a unit cites none. No name leaks either way."""

from __future__ import annotations

import re

from tests.conftest import run_mini

HEADER = ["Exercice", "N° mandat", "Date mandat", "Code tiers", "Fournisseur", "SIRET", "Libellé", "Montant TTC"]


def _row(mandate: str, day: str, code: str, name: str, siret: str, label: str, amount: str) -> dict:
    return dict(zip(HEADER, ["2024", mandate, day, code, name, siret, label, amount], strict=True))


def test_private_total_footer_cites_the_unit_of_its_block(mini, tmp_path):
    # a namesake first, so that it has the smaller SIREN (the one a « first unit » pick would cite)
    namesake, _ = mini.unit("", cj="1000", naf="81.21Z", statutDiffusionUniteLegale="P",
                            nomUniteLegale="WOJCIECHOWSKI", prenom1UniteLegale="BARNABE")
    person, person_siret = mini.unit("", cj="1000", naf="81.21Z", statutDiffusionUniteLegale="P",
                                     nomUniteLegale="WOJCIECHOWSKI", prenom1UniteLegale="BARNABE")
    assoc, assoc_siret = mini.unit("ASSOCIATION LES GRILLONS", cj="9220", naf="88.99B")
    assert namesake < person
    purchases = [
        _row("1", "05/02/2024", "T01", "WOJCIECHOWSKI BARNABE", person_siret, "jardinage", "500,00"),
        _row("2", "05/03/2024", "T01", "WOJCIECHOWSKI BARNABE", person_siret, "jardinage", "700,00"),
        # a footer whose sum is wrong: quarantined, its reason quotes the name
        _row("", "", "T01", "WOJCIECHOWSKI BARNABE", person_siret, "Total tiers Wojciechowski Barnabé", "1300,00"),
        _row("3", "05/03/2024", "T02", "ASSOCIATION LES GRILLONS", assoc_siret, "Prestation", "900,00"),
        _row("", "", "T02", "ASSOCIATION LES GRILLONS", assoc_siret, "Total tiers", "900,00"),
        # a shifted cell on another supplier's line: the name is both namesakes', the line neither's
        _row("4", "06/03/2024", "T02", "ASSOCIATION LES GRILLONS", assoc_siret, "Prestation", "Barnabé Wojciechowski"),
    ]
    data = mini.write(purchases, header=HEADER)
    (data / "achats.toml").write_text("[controles]\nmax_quarantined_share = 0.9\n", encoding="utf-8")
    con = run_mini(data, tmp_path)
    (reason,) = con.execute("SELECT quarantine_reason FROM purchase_lines WHERE source_line = 4").fetchone()
    assert f"« unité non diffusible (SIREN {person}) »" in reason
    assert namesake not in reason
    assert "1 300,00 €" in reason and "1 200,00 €" in reason
    (shifted,) = con.execute("SELECT quarantine_reason FROM purchase_lines WHERE source_line = 7").fetchone()
    assert "« unité non diffusible »" in shifted and "SIREN" not in shifted, shifted
    # the figures: the two payments and the association's line count; both footers and the shifted line do not
    total, quarantined = con.execute("SELECT total_amount_eur, quarantined_line_count FROM objective8_summary "
                                     "WHERE period = 'ALL'").fetchone()
    assert total == 2100 and quarantined == 3
    # no name in any published table
    for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall():
        text = " ".join(str(v) for row in con.execute(f'SELECT * FROM "{view}"').fetchall() for v in row)
        assert not re.search("WOJCIECHOWSKI|BARNAB", text, re.IGNORECASE), view
    con.close()
