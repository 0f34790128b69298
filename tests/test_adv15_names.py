"""Round 15 of the adversarial review: a file of « reversements » (a commune paying out subsidies,
taxes or participations to other bodies) is spending, not a list of credits; only an « ordre de
reversement » (ORV) claws money back."""

from __future__ import annotations

import pytest

from achats.sources.purchases import _cancellation_name, read_purchase_sources


@pytest.mark.parametrize("name, expected", [
    ("reversements_2024", False),
    ("Reversements T2", False),
    ("ordres_de_reversement_2024", True),
    ("ORV 2024", True),
    ("annulations_mandats_2024", True),
    ("Avoirs", True),
])
def test_only_an_order_of_reversal_is_a_list_of_credits(name, expected):
    assert _cancellation_name(name) is expected


def test_a_file_of_reversements_is_spending(tmp_path):
    folder = tmp_path / "purchases"
    folder.mkdir()
    (folder / "mandats_2024.csv").write_text(
        "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC\n"
        "2024;1;05/02/2024;TRANSPORTS PYRENEENS;90400002300005;5000,00\n", encoding="utf-8")
    (folder / "reversements_2024.csv").write_text(
        "Exercice;N° mandat;Date mandat;Bénéficiaire;SIRET;Objet;Montant\n"
        "2024;11;05/03/2024;ASSOCIATION LES GRILLONS;90400001500001;Reversement subvention CAF;3000,00\n"
        "2024;12;05/03/2024;TRANSPORTS PYRENEENS;90400002300005;Reversement participation;1000,00\n",
        encoding="utf-8")
    df, _ = read_purchase_sources(tmp_path)
    ok = df.filter(df["status"] == "ok")
    assert ok["amount_eur"].sum() == pytest.approx(9000.0)
    assert sorted(ok["amount_eur"].to_list()) == [1000.0, 3000.0, 5000.0]


def test_a_third_party_ledger_is_refused_rather_than_netted_to_zero(tmp_path):
    from achats.errors import InputError

    folder = tmp_path / "purchases"
    folder.mkdir()
    (folder / "grand_livre_401.csv").write_text(
        "Date;Compte;Pièce;Tiers;SIRET;Libellé;Débit;Crédit\n"
        "05/02/2024;4011;M1;ASSOCIATION LES GRILLONS;90400001500001;Mandat 1 prise en charge;;1000,00\n"
        "12/02/2024;4011;P1;ASSOCIATION LES GRILLONS;90400001500001;Paiement mandat 1;1000,00;\n"
        "05/03/2024;4011;M2;TRANSPORTS PYRENEENS;90400002300005;Mandat 2 prise en charge;;3000,00\n"
        "14/03/2024;4011;P2;TRANSPORTS PYRENEENS;90400002300005;Paiement mandat 2;3000,00;\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"grand_livre_401\.csv : colonnes débit / crédit d'un compte de tiers"):
        read_purchase_sources(tmp_path)


def test_an_expense_ledger_is_still_debit_less_credit(tmp_path):
    folder = tmp_path / "purchases"
    folder.mkdir()
    (folder / "grand_livre_6.csv").write_text(
        "Date;Compte;Tiers;SIRET;Libellé;Débit;Crédit\n"
        "05/02/2024;6042;ASSOCIATION LES GRILLONS;90400001500001;Prestation;1000,00;\n"
        "05/03/2024;6042;TRANSPORTS PYRENEENS;90400002300005;Transport;3000,00;\n"
        "15/03/2024;6042;TRANSPORTS PYRENEENS;90400002300005;Avoir;;500,00\n", encoding="utf-8")
    df, _ = read_purchase_sources(tmp_path)
    ok = df.filter(df["status"] == "ok")
    assert ok["amount_eur"].sum() == pytest.approx(3500.0)


def test_an_export_with_nothing_to_count_stops_with_the_kinds_of_its_lines(tmp_path):
    import duckdb

    from achats import warehouse as wh
    from achats.config import Settings
    from achats.errors import InputError

    folder = tmp_path / "purchases"
    folder.mkdir()
    rows = ("2024;1;05/02/2024;TRANSPORTS PYRENEENS;90400002300005;5000,00;\n"
            "2024;2;05/03/2024;ASSOCIATION LES GRILLONS;90400001500001;3000,00;\n")
    (folder / "mandats.csv").write_text(
        "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC;Montant payé\n" + rows, encoding="utf-8")
    with duckdb.connect() as con, pytest.raises(InputError, match=r"aucune ligne de paiement à compter parmi les 2 "
                                                                    r"lignes lues \(2 not_paid \(quarantined\)\)"):
        wh.load_purchases(con, tmp_path, Settings())
    # one paid line: counted, the unpaid one left out with its reason, no stop
    (folder / "mandats.csv").write_text(
        "Exercice;N° mandat;Date mandat;Fournisseur;SIRET;Montant TTC;Montant payé\n" + rows
        + "2024;3;05/04/2024;TRANSPORTS PYRENEENS;90400002300005;1000,00;1000,00\n", encoding="utf-8")
    with duckdb.connect() as con:
        df = wh.load_purchases(con, tmp_path, Settings())
    assert df.filter(df["status"] == "ok")["amount_eur"].sum() == pytest.approx(1000.0)
