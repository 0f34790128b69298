"""Adversarial review adv13, defects 3 and 6: a credit's invoice in its own « N° facture » column,
and two buying organisations in one export (« Collectivité »). Inputs are the reviewer's cases INV
and BUDL, with counter-examples; figures computed by hand, to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl

from achats.config import _column_mapping
from achats.sources.purchases import read_purchase_sources
from tests.reader_inputs import accounted, counted, read_exports

Z, ZS = "ZORGLUB TRAVAUX PUBLICS", "81234568400003"
Q, QS = "ASSOCIATION QUINOA SOLIDAIRE", "81234567600009"
INV_HEAD = "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;{col};Etat;Montant TTC\n"


def _not_paid(lines: pl.DataFrame) -> list[int]:
    return sorted(lines.filter(pl.col("row_kind") == "not_paid")["source_line"].to_list())


def _inv(col: str, credit_ref: str) -> str:
    return (INV_HEAD.format(col=col)
            + f"2024;10;05/03/2024;{Z};{ZS};Travaux voirie;F2024-118;Payé;500,00\n"
            + f"2024;11;06/03/2024;{Z};{ZS};Travaux trottoirs;F2024-119;Annulé;500,00\n"
            + f"2024;12;07/03/2024;{Z};{ZS};Avoir;{credit_ref};Payé;-500,00\n"
            + f"2024;13;08/03/2024;{Q};{QS};Repas;;Payé;2 000,00\n")


def test_inv_a_credit_on_a_paid_invoice_does_not_undo_a_cancelled_mandate(tmp_path: Path):
    """INV: the avoir names F2024-118 (mandate 10, paid) in « N° facture »: it reduces that
    invoice; mandate 11 (F2024-119, Annulé) was never paid: 500 − 500 + 2 000 = 2 000."""
    for col, cell in (("N° facture", "F2024-118"), ("Référence facture", "f 2024/118"),
                      ("N° de facture fournisseur", "F2024-118")):
        lines, files = read_exports(_dir(tmp_path, col), {"mandats.csv": _inv(col, cell)})
        accounted(lines, files)
        assert _not_paid(lines) == [3], col
        assert counted(lines) == Decimal("2000.00"), col


def test_inv_a_credit_on_the_cancelled_invoice_is_its_reversal(tmp_path: Path):
    """The avoir names F2024-119, the cancelled mandate's invoice: the pair is counted as written
    (sum nil), 500 + 500 − 500 + 2 000 = 2 500, as when the objet names it (INV2)."""
    lines, files = read_exports(tmp_path, {"mandats.csv": _inv("N° facture", "F2024-119")})
    accounted(lines, files)
    assert _not_paid(lines) == []
    assert counted(lines) == Decimal("2500.00")


def test_inv_a_credit_note_numbered_on_its_own_still_pairs(tmp_path: Path):
    """Counter-example: the credit's cell holds its own number (AV-7), named by no other line: it
    says nothing of the pair, which stands as before (same payee, opposite amount): 2 500."""
    lines, files = read_exports(tmp_path, {"mandats.csv": _inv("N° facture", "AV-7")})
    accounted(lines, files)
    assert _not_paid(lines) == []
    assert counted(lines) == Decimal("2500.00")


def header_dir(col: str) -> str:
    """A folder per header tried, ASCII letters only."""
    return "".join(ch for ch in col if ch.isascii() and ch.isalnum())


def _dir(root: Path, col: str) -> Path:
    d = root / header_dir(col)
    d.mkdir()
    return d


def _budl(col: str, ville: str, regie: str) -> str:
    return (f"{col};Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Etat;Montant TTC\n"
            f"{ville};2024;5;05/02/2024;{Z};{ZS};Travaux;Payé;1 000,00\n"
            f"{regie};2024;5;05/02/2024;{Z};{ZS};Travaux réseau;Annulé;1 000,00\n"
            f"{ville};2024;9;15/02/2024;{Z};{ZS};Annulation du mandat 5;Payé;-1 000,00\n"
            f"{ville};2024;10;15/02/2024;{Q};{QS};Repas;Payé;3 000,00\n")


def test_budl_two_organisations_of_one_export_are_not_paired(tmp_path: Path):
    """BUDL: the ville's annulation of its mandate 5 does not undo the régie's cancelled mandate 5:
    1 000 − 1 000 + 3 000 = 3 000, the régie's line out."""
    for col in ("Collectivité", "Organisme", "Entité juridique", "Établissement"):
        lines, files = read_exports(_dir(tmp_path, col),
                                    {"mandats.csv": _budl(col, "Ville de Muret", "Régie des eaux")})
        accounted(lines, files)
        assert _not_paid(lines) == [3], col
        assert counted(lines) == Decimal("3000.00"), col


def test_budl_one_organisation_written_alike_still_pairs(tmp_path: Path):
    """Counter-example: one organisation, written with another case and accents: the annulation
    is the cancelled mandate's, counted as written: 1 000 + 1 000 − 1 000 + 3 000 = 4 000."""
    lines, files = read_exports(tmp_path, {"mandats.csv": _budl("Collectivité", "Ville de Muret",
                                                               "VILLE DE MURET")})
    accounted(lines, files)
    assert _not_paid(lines) == []
    assert counted(lines) == Decimal("4000.00")


def test_budl_the_organisation_column_beside_a_service_column(tmp_path: Path):
    """A « Service » column (no separation) beside « Collectivité »: the organisations still
    separate the régie's cancelled mandate 5 from the ville's annulation: 3 000."""
    text = _budl("Collectivité", "Ville de Muret", "Régie des eaux")
    rows = text.splitlines()
    text = "\n".join([rows[0] + ";Service"] + [r + ";Voirie" for r in rows[1:]]) + "\n"
    lines, files = read_exports(tmp_path, {"mandats.csv": text})
    accounted(lines, files)
    assert _not_paid(lines) == [3]
    assert counted(lines) == Decimal("3000.00")


def test_inv_the_invoice_and_organisation_columns_named_in_achats_toml(tmp_path: Path):
    """Headers no alias knows (« Pièce tiers », « Budget/Entité ») named in [colonnes]: read as
    the invoice and the organisation, the figures of INV and BUDL follow."""
    inv = _inv("Pièce tiers", "F2024-118")
    lines, files = read_purchase_sources(_write(tmp_path / "inv", inv), _toml({"facture": "Pièce tiers"}))
    assert _not_paid(lines) == [3]
    assert counted(lines) == Decimal("2000.00")
    budl = _budl("Entité payeuse", "Ville de Muret", "Régie des eaux")
    lines, files = read_purchase_sources(_write(tmp_path / "budl", budl),
                                         _toml({"collectivite": "Entité payeuse"}))
    assert _not_paid(lines) == [3]
    assert counted(lines) == Decimal("3000.00")


def _toml(values: dict[str, str]) -> dict[str, str]:
    """[colonnes] as achats.toml writes it, turned into fields the way the config reads it."""
    warnings: list[str] = []
    errors: list[str] = []
    out = _column_mapping(values, "achats.toml", warnings, errors)
    assert not warnings and not errors, (warnings, errors)
    return out


def _write(d: Path, text: str) -> Path:
    (d / "purchases").mkdir(parents=True)
    (d / "purchases" / "mandats.csv").write_text(text, encoding="utf-8")
    return d
