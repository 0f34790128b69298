"""Adversarial review 11, defect 10 (case FD): a 9300 unit named « FONDS DE DOTATION DE LA
FONDATION … » is a fonds de dotation, not a fondation, whatever else its name says."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import run_mini


def test_fonds_de_dotation_naming_a_fondation_is_no_fondation(mini, tmp_path):
    """The phrase « fonds de dotation » (or FDD) decides alone; FONDS alone yields to FONDATION
    (« FONDS POUR LA FONDATION DES ARTS », « FONDATION DU FONDS MONDIAL … » stay fondations)."""
    rows = [("FONDS DE DOTATION DE LA FONDATION DU SUD", "1000"), ("FONDS POUR LA FONDATION DES ARTS", "2000"),
            ("DOTATION SOLIDAIRE OCCITANIE", "3000"), ("FONDATION ORANGE BLEUE", "4000"),
            ("FDD FONDATION DES AMIS DU CANAL", "500"), ("FONDATION DU FONDS MONDIAL POUR LA NATURE", "60")]
    sirets = {name: mini.unit(name, cj="9300")[1] for name, _ in rows}
    data = mini.write([{"Fournisseur": n, "SIRET": sirets[n], "Montant": a, "Date": "02/02/2024"} for n, a in rows])
    con = run_mini(data, tmp_path)
    total, ess, low, high = con.execute("""
        SELECT total_amount_eur, ess_amount_eur, ess_amount_extreme_low_eur, ess_amount_extreme_high_eur
        FROM objective8_summary WHERE period = 'ALL'""").fetchone()
    assert total == Decimal("10560.00")
    assert ess == low == high == Decimal("6060.00")  # 2 000 + 4 000 + 60: the three fondations
    funds = {r[0] for r in con.execute("SELECT legal_name FROM stg_unite_legale WHERE is_endowment_fund").fetchall()}
    assert funds == {"FONDS DE DOTATION DE LA FONDATION DU SUD", "DOTATION SOLIDAIRE OCCITANIE",
                     "FDD FONDATION DES AMIS DU CANAL"}
