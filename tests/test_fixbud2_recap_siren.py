"""Adversarial review 17, defect 4 (cases RECSIR, RECNAME), figures by hand: a recap row by
supplier whose amount is its supplier's sum by SIREN (two establishments paid) or over the names
that may be it (« ASS. LES GRILLONS ») is a total row (README: « même SIRET, sinon même SIREN »),
not a table of payments that stops the run."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from achats.errors import InputError
from tests.reader_inputs import counted, read_exports

SIRET = ("Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Objet;Montant TTC\n"
         "2024;1;05/02/2024;ASSOCIATION LES GRILLONS;90410004700003;adhésion;1000,00\n"
         "2024;2;05/03/2024;ASSOCIATION LES GRILLONS;90410004700011;animation;500,00\n"
         "2024;3;05/03/2024;TRANSPORTS PYRENEENS;90410002100008;transport;700,00\n;;;;;;\n"
         "Fournisseur;SIRET;Montant total\n")
NAME = ("Exercice;N° mandat;Date mandat;Fournisseur;Objet;Montant TTC\n"
        "2024;1;05/02/2024;ASSOCIATION LES GRILLONS;adhésion;1000,00\n"
        "2024;2;05/03/2024;ASS. LES GRILLONS;animation;500,00\n"
        "2024;3;05/03/2024;TRANSPORTS PYRENEENS;transport;700,00\n;;;;;\n"
        "Fournisseur;Montant total\n")


@pytest.mark.parametrize(("text", "rows"), [
    (SIRET, "ASSOCIATION LES GRILLONS;90410004700003;1500,00\nTRANSPORTS PYRENEENS;90410002100008;700,00\n"),
    (NAME, "ASSOCIATION LES GRILLONS;1500,00\nTRANSPORTS PYRENEENS;700,00\n")], ids=["RECSIR", "RECNAME"])
def test_recsir_a_recap_row_by_siren_or_respelled_name_is_a_total(tmp_path, text, rows):
    """1 000 + 500 + 700 = 2 200 € (published: the run stopped); both recap rows are totals."""
    lines, _ = read_exports(tmp_path, {"mandats.csv": text + rows})
    assert counted(lines) == Decimal("2200.00")
    recap = lines.filter(pl.col("source_line").is_in([7, 8])).sort("source_line")
    assert recap["row_kind"].to_list() == ["total", "total"]
    assert "(1 500,00 €) est la somme des 2 ligne(s)" in recap["quarantine_reason"][0]


def test_a_recap_row_matching_no_sum_still_stops_the_run(tmp_path):
    """Counter-example: 1 400 is neither the SIRET's (1 000), the SIREN's (1 500) nor the name's
    sum: the table is no recap; its columns are not the detail's, so the run stops naming line 6."""
    rows = "ASSOCIATION LES GRILLONS;90410004700003;1400,00\nTRANSPORTS PYRENEENS;90410002100008;700,00\n"
    with pytest.raises(InputError, match=r"mandats\.csv, ligne 6 : un second tableau commence"):
        read_exports(tmp_path, {"mandats.csv": SIRET + rows})
