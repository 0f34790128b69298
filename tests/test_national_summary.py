"""`achats run-all`'s national summary: a supplier paid by two buyers is one ESS supplier, and the
national amounts are exact euros (DECIMAL(18,2)), like every buyer's own views."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from achats.pipelines.buyers import BuyersLayout, build_national_summary, run_buyer
from tests.conftest import MiniData, write_csv

# buyer A and buyer B both pay ASSOCIATION DES JARDINS; only B pays ASSOCIATION VELO SOLIDAIRE
LINES = {"acheteur_a": [("ASSOCIATION DES JARDINS", "100,10"), ("BOULANGERIE ORDINAIRE", "50,20")],
         "acheteur_b": [("ASSOCIATION DES JARDINS", "30,30"), ("ASSOCIATION VELO SOLIDAIRE", "40,40"),
                        ("BOULANGERIE ORDINAIRE", "12,10")]}


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> tuple[Path, BuyersLayout]:
    tmp = tmp_path_factory.mktemp("national")
    shared = MiniData(tmp / "commun")
    shared.unit("ASSOCIATION DES JARDINS", cj="9220")
    shared.unit("ASSOCIATION VELO SOLIDAIRE", cj="9220")
    shared.unit("BOULANGERIE ORDINAIRE", cj="5499")
    shared.write([])
    shutil.rmtree(shared.root / "purchases")
    buyers = tmp / "acheteurs"
    for key, lines in LINES.items():
        write_csv(buyers / key / "purchases" / "achats.csv", ["Fournisseur", "Montant", "Date"],
                  [[n, a, "01/03/2024"] for n, a in lines], delimiter=";")
        (buyers / key / "achats.toml").write_text('[acheteur]\ndepartement = "31"\n', encoding="utf-8")
    layout = BuyersLayout(buyers_dir=str(buyers), shared_dir=str(shared.root), output_dir=str(tmp / "out"))
    for key in LINES:
        run_buyer(layout, key)
    return build_national_summary(layout, sorted(LINES)), layout


def test_a_supplier_of_two_buyers_counts_once(national):
    path, layout = national
    with duckdb.connect(str(path), read_only=True) as con:
        per_buyer = dict(con.execute("SELECT buyer_key, ess_supplier_count FROM buyers_objective8").fetchall())
        count, = con.execute("SELECT ess_supplier_count FROM national_objective8").fetchone()
        assert per_buyer == {"acheteur_a": 1, "acheteur_b": 2}
        # JARDINS (both buyers) and VELO: 2 distinct suppliers, not 1 + 2
        assert count == 2
        assert max(per_buyer.values()) <= count <= sum(per_buyer.values())
        listed = con.execute("SELECT buyer_key, count(*) FROM buyers_ess_suppliers GROUP BY ALL ORDER BY 1").fetchall()
    assert listed == [("acheteur_a", 1), ("acheteur_b", 2)]


def test_national_amounts_are_exact_euros(national):
    path, _ = national
    with duckdb.connect(str(path), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE table_name = 'national_objective8'").fetchall())
        total, ess, matched_ess, lines = con.execute(
            "SELECT total_amount_eur, ess_amount_eur, matched_ess_amount_eur, line_count "
            "FROM national_objective8").fetchone()
    assert {c: t for c, t in types.items() if c.endswith("_eur")} == \
        {c: "DECIMAL(18,2)" for c in types if c.endswith("_eur")}
    assert types["ess_supplier_count"] == types["line_count"] == "BIGINT"
    # 100,10 + 50,20 + 30,30 + 40,40 + 12,10 ; ESS: the two associations
    assert (total, ess, matched_ess, lines) == (Decimal("233.10"), Decimal("170.80"), Decimal("170.80"), 5)


def test_a_buyer_whose_supplier_list_disagrees_with_its_count_stops_the_summary(national, tmp_path):
    _, layout = national
    copy = BuyersLayout(buyers_dir=layout.buyers_dir, shared_dir=layout.shared_dir, output_dir=str(tmp_path / "out"))
    for key in LINES:
        target = copy.warehouse(key)
        target.parent.mkdir(parents=True)
        shutil.copy(layout.warehouse(key), target)
    with duckdb.connect(str(copy.warehouse("acheteur_b"))) as con:
        con.execute("CREATE TABLE published_copy AS SELECT * FROM objective8_summary")
        con.execute("DROP VIEW objective8_summary")
        con.execute("CREATE VIEW objective8_summary AS SELECT * REPLACE (7::BIGINT AS ess_supplier_count) "
                    "FROM published_copy")
    with pytest.raises(ValueError, match="acheteur_b.*ess_supplier_count vaut 7"):
        build_national_summary(copy, sorted(LINES))
    assert not copy.summary_path().exists()
