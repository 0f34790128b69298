"""Adversarial review #4, finding 3: the candidates of a line not yet matched are ESS by their
status AT THE LINE'S DATE (an ESUS agrément outside its window does not count), as a matched
line's unit is; expected figures computed by hand from the candidates' probabilities."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import run_mini


def _homonyms(mini, second_window: tuple[str, str] | None):
    """Two units with the same name (nothing to choose between them: the line stays in review),
    the first ESUS in 2022 only, the second (optionally) in 2024 only; a line in each year."""
    a, _ = mini.unit("MIRABELLE PROPRETE", cj="5499", naf="81.21Z")
    b, _ = mini.unit("MIRABELLE PROPRETE", cj="5499", naf="81.21Z")
    other, _ = mini.unit("BOULANGERIE ORDINAIRE", cj="5499")
    esus = [{"siren": a, "raison_sociale": "M", "date_agrement": "2022-01-01", "date_fin_agrement": "2022-12-31"}]
    if second_window:
        esus.append({"siren": b, "raison_sociale": "M", "date_agrement": second_window[0],
                     "date_fin_agrement": second_window[1]})
    data = mini.write([{"Fournisseur": "MIRABELLE PROPRETE", "Montant": "1000", "Date": "15/06/2022"},
                       {"Fournisseur": "MIRABELLE PROPRETE", "Montant": "2000", "Date": "15/06/2024"},
                       {"Fournisseur": "BOULANGERIE ORDINAIRE", "SIRET": mini.etabs[2]["siret"],
                        "Montant": "5000", "Date": "16/06/2024"}], esus=esus)
    return a, b, data


def _probabilities(con) -> dict[str, float]:
    """Each homonym's probability (scaled as the estimate scales candidates adding up to more than 1)."""
    rows = con.execute("""
        SELECT mc.siren, mc.score / greatest(1.0, sum(mc.score) OVER (PARTITION BY mc.supplier_key))
        FROM res_match_candidates mc JOIN res_supplier_match m USING (supplier_key)
        WHERE m.supplier_name = 'MIRABELLE PROPRETE' AND mc.score > 0""").fetchall()
    return dict(rows)


def _summary(con, period: str) -> dict[str, Decimal]:
    row = con.execute("""SELECT ess_amount_eur, ess_amount_low_eur, ess_amount_high_eur,
                                ess_amount_extreme_low_eur, ess_amount_extreme_high_eur
                         FROM objective8_summary WHERE period = ?""", [period]).fetchone()
    return dict(zip(["point", "low", "high", "xlow", "xhigh"], row, strict=True))


def _cents(x: float) -> Decimal:
    return Decimal(str(round(x, 2))).quantize(Decimal("0.01"))


def test_an_esus_agrement_outside_its_dates_counts_for_no_candidate(mini, tmp_path):
    a, _b, data = _homonyms(mini, None)
    con = run_mini(data, tmp_path)
    assert con.execute("SELECT count(*) FROM res_purchase_line_supplier r JOIN res_supplier_match m "
                       "USING (supplier_key) WHERE m.supplier_name = 'MIRABELLE PROPRETE' "
                       "AND r.match_status = 'review'").fetchone()[0] == 2
    p = _probabilities(con)
    # 2024: neither homonym is ESS (the agrément ended 2022-12-31): nothing, not even as possible
    q24 = _summary(con, "2024-Q2")
    assert q24["point"] == q24["high"] == q24["xhigh"] == Decimal("0.00")
    # 2022: 1 000 € × the probability of the unit ESUS in 2022
    q22 = _summary(con, "2022-Q2")
    assert q22["point"] == _cents(1000 * p[a])
    assert q22["xhigh"] == Decimal("1000.00") and q22["xlow"] == Decimal("0.00")
    assert _summary(con, "ALL")["point"] == _cents(1000 * p[a])


def test_the_interval_follows_each_candidates_dated_status(mini, tmp_path):
    a, b, data = _homonyms(mini, ("2024-01-01", "2024-12-31"))
    con = run_mini(data, tmp_path)
    p = _probabilities(con)
    total = _summary(con, "ALL")
    # each line is ESS only through the homonym ESUS in its own year
    assert total["point"] == _cents(1000 * p[a]) + _cents(2000 * p[b])
    assert _summary(con, "2024-Q2")["point"] == _cents(2000 * p[b])
    # the interval contains the point and cannot be « everything is ESS »: each line is half likely
    assert total["low"] <= total["point"] <= total["high"] < Decimal("3000.00")
    # the interval draws one homonym for the key (a name paid twice is most often one supplier), but
    # the extreme bounds keep every case: nothing says both lines are the same homonym, so the 2022
    # unit in 2022 and the other in 2024 is possible, 3 000 € (review 15, defect 1: adv14b had taken
    # the key for one supplier, 2 000 €, which left such a truth outside the bounds)
    assert total["xhigh"] == Decimal("3000.00") and total["xlow"] == Decimal("0.00")
