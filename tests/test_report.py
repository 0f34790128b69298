"""The SPASER annual pack."""

from __future__ import annotations

import pytest

from achats.config import load_settings
from achats.errors import InputError
from achats.formatting import eur
from achats.paths import sample_dir
from achats.report import build_report, grade
from pipelines.cli import main


def test_year_figures_equal_the_sum_of_its_quarters(sample_con, sample_run, tmp_path):
    out = tmp_path / "bilan.html"
    assert main(["report", "--year", "2024", "--warehouse", str(sample_run["warehouse"]), "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    total, ess = sample_con.execute("SELECT sum(total_amount_eur), sum(ess_amount_eur) FROM objective8_summary "
                                    "WHERE period LIKE '2024-Q%'").fetchone()
    mi = sample_con.execute("""SELECT coalesce(sum(p.amount_eur), 0), coalesce(sum(r.ess_point_eur), 0)
        FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)
        WHERE p.quarter IS NULL AND p.fiscal_year = 2024""").fetchone()  # year-only lines count in their year
    assert f"data-key='Dépense totale'>{eur(total + mi[0])}<" in text
    assert f"data-key='Dépense ESS (estimation)'>{eur(ess + mi[1])}<" in text
    for section in ("chiffres", "qualite", "fournisseurs", "pistes", "methode"):
        assert f'id="{section}"' in text
    assert "pas un avis juridique" in text


def test_method_note_states_the_parameters_the_code_uses(sample_con):
    settings = load_settings(sample_dir())
    text = build_report(sample_con, 2025, settings)
    assert "0,90" in text and "0,70" in text and f"{settings.esus_default_years} ans" in text


def test_year_without_data_is_a_clear_error(sample_con):
    with pytest.raises(InputError, match="Aucune ligne d'achat pour l'année 1999"):
        build_report(sample_con, 1999, load_settings(sample_dir()))


@pytest.mark.parametrize("value,cuts,rev,expected", [
    (0.97, (0.95, 0.85, 0.7), False, "A"), (0.80, (0.95, 0.85, 0.7), False, "C"), (0.5, (0.95, 0.85, 0.7), False, "D"),
    (0.01, (0.02, 0.05, 0.1), True, "A"), (0.2, (0.02, 0.05, 0.1), True, "D"), (None, (0, 0, 0), True, "–"),
])
def test_grades(value, cuts, rev, expected):
    assert grade(value, cuts, rev) == expected
