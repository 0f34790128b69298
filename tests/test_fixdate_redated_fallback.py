"""A year-end mandate not yet paid when the export was extracted has a blank « Date de paiement »
and is dated by its « Date mandat » (round-10 fallback); the next export gives its payment date
(adversarial review round 12, defect 3, case DUPF). The cross-file « same mandate dated
otherwise » rule must see, per line, that the fallback line dates the mandate: counted once."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from achats.sources.purchases import duplicate_warnings, read_purchase_sources
from tests.reader_inputs import ok_total, write_export

HEADER = "Exercice;N° mandat;Date mandat;Date de paiement;Fournisseur;SIRET;Objet;Montant TTC\n"
QUINOA = "ASSOCIATION QUINOA SOLIDAIRE;81234567600009;Subvention"
ZORGLUB = "ZORGLUB TRAVAUX PUBLICS;81234568400003"


def _paid(year: int, n: int, cents: int) -> str:
    day = f"{n % 27 + 1:02d}/{n % 12 + 1:02d}/{year}"
    return f"{year};{n};{day};{day};{ZORGLUB};Travaux {n};{cents // 100},{cents % 100:02d}\n"


def _dupf(tmp_path, later_payment: tuple[str, str]) -> None:
    """The reviewer's layout: 2024 extracted on 2 January 2025, then the 2025 export."""
    write_export(tmp_path, "export_2024_extrait_le_02-01-2025.csv", HEADER
                 + "".join(_paid(2024, n, 100_000 + 100 * n) for n in range(1, 30))
                 + f"2024;50;20/12/2024;;{QUINOA};5 000,00\n2024;51;21/12/2024;;{QUINOA};3 000,00\n")
    write_export(tmp_path, "export_2025.csv", HEADER
                 + f"2024;50;20/12/2024;{later_payment[0]};{QUINOA};5 000,00\n"
                 + f"2024;51;21/12/2024;{later_payment[1]};{QUINOA};3 000,00\n"
                 + "".join(_paid(2025, n, 1000 * n) for n in range(1, 20)))


def _ess(lines: pl.DataFrame) -> Decimal:
    return ok_total(lines.filter(pl.col("siret_raw") == "81234567600009"))


def test_dupf_mandate_dated_by_the_fallback_and_paid_in_the_next_export_counts_once(tmp_path):
    _dupf(tmp_path, ("05/01/2025", "06/01/2025"))
    lines, files = read_purchase_sources(tmp_path)
    # 29 paid lines of 2024 (1 001 … 1 029 €) + 8 000 once + 19 lines of 2025 (10 … 190 €)
    assert ok_total(lines) == Decimal("39335.00")
    assert _ess(lines) == Decimal("8000.00")
    dup = lines.filter(pl.col("status") == "duplicate")
    assert sorted(dup["mandate_number"]) == ["50", "51"]
    assert all("date du mandat et date de son paiement" in r for r in dup["quarantine_reason"])
    assert not any("ne disent pas" in w for w in duplicate_warnings(files, lines))


def test_two_mandate_dates_of_the_same_number_are_not_proved_one_payment(tmp_path):
    """Counter-example: both exports leave the payment date blank and their mandate dates differ;
    two mandate dates do not say « date of the mandate, date of its payment »: counted in both,
    and said."""
    write_export(tmp_path, "export_a.csv", HEADER + f"2024;50;02/12/2024;;{QUINOA};5 000,00\n"
                 + _paid(2024, 1, 100_000))
    write_export(tmp_path, "export_b.csv", HEADER + f"2024;50;20/12/2024;;{QUINOA};5 000,00\n"
                 + _paid(2024, 2, 200_000))
    lines, files = read_purchase_sources(tmp_path)
    assert (lines["status"] == "duplicate").sum() == 0
    assert _ess(lines) == Decimal("10000.00")
    assert any("ne disent pas que l'une date le mandat" in w for w in duplicate_warnings(files, lines))


def test_two_payment_dates_in_a_file_with_a_fallback_elsewhere_stay_two_payments(tmp_path):
    """Counter-example: the fallback changes the kind of date of its own lines only; two lines
    both dated by their « Date de paiement » a few days apart are two payments."""
    write_export(tmp_path, "export_a.csv", HEADER + f"2024;50;01/12/2024;10/12/2024;{QUINOA};5 000,00\n"
                 + f"2024;60;05/12/2024;;{ZORGLUB};Travaux;700,00\n")
    write_export(tmp_path, "export_b.csv", HEADER + f"2024;50;01/12/2024;20/12/2024;{QUINOA};5 000,00\n"
                 + _paid(2024, 2, 200_000))
    lines, _ = read_purchase_sources(tmp_path)
    assert (lines["status"] == "duplicate").sum() == 0
    assert ok_total(lines) == Decimal("12700.00")
