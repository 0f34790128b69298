"""Privacy of what the run shows around the lines (adversarial review, round 5, defects 3 and 14f)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_mini, write_csv


def test_drift_warning_keeps_two_non_diffusible_units_apart(mini, tmp_path: Path) -> None:
    """Case PV6: two non-diffusible units, ESS by manual decision, paid in Q1 only (5 000 € and
    4 000 €): two lines, each by its SIREN, not « Unité non diffusible : -9 000 € ». Two diffusible
    units of one name are two lines too."""
    from dagster_duckdb import DuckDBResource

    from achats.pipelines import checks
    from achats.pipelines.resources import AchatsInputs

    p1, s1 = mini.unit("TAMARILLO SECRET SARL", cj="5499", statutDiffusionUniteLegale="P")
    p2, s2 = mini.unit("", cj="1000", statutDiffusionUniteLegale="P", nomUniteLegale="WOJCIECHOWSKI",
                       prenom1UniteLegale="BARNABE")
    _, z = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    a1, t1 = mini.unit("ASSOCIATION SPORTIVE", cj="9220")
    a2, t2 = mini.unit("ASSOCIATION SPORTIVE", cj="9220", commune="31069")
    lines = [("TAMARILLO SECRET SARL", s1, "5 000,00", "10/01/2024"), ("WOJCIECHOWSKI BARNABE", s2, "4 000,00", "10/02/2024"),
             ("ASSOCIATION SPORTIVE", t1, "300,00", "10/02/2024"), ("ZORGLUB TRAVAUX PUBLICS", z, "5 000,00", "10/04/2024"),
             ("ASSOCIATION SPORTIVE", t2, "200,00", "10/05/2024")]
    data = mini.write([{"Fournisseur": n, "SIRET": s, "Montant": m, "Date": d} for n, s, m, d in lines])
    write_csv(data / "status" / "ess_manuel.csv", ["siren", "est_ess", "justification"],
              [[p1, "oui", "Vérifié"], [p2, "oui", "Vérifié"]])
    run_mini(data, tmp_path).close()
    result = checks.ess_share_drift(inputs=AchatsInputs(data_dir=str(data)),
                                    duckdb=DuckDBResource(database=str(tmp_path / "wh" / "w.duckdb")))
    moves = result.metadata["moves"].value.splitlines()
    assert moves == ["**2024-Q2** : 100,0 % → 3,8 %",
                     f"  - unité non diffusible (SIREN {p1}) : -5 000 €",
                     f"  - unité non diffusible (SIREN {p2}) : -4 000 €",
                     f"  - ASSOCIATION SPORTIVE (SIREN {a1}) : -300 €",
                     f"  - ASSOCIATION SPORTIVE (SIREN {a2}) : +200 €"]
