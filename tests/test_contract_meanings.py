"""The contract views hold what their documentation (sql/registry.yaml, hence COMMENT ON and the data
dictionary) says, checked on the sample: an analyst who follows a description gets the published
figure."""

from __future__ import annotations

import re

from achats.registry import load_registry

REGISTRY = load_registry()


def _comment(con, view: str, column: str) -> str:
    return con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
                       [view, column]).fetchone()[0] or ""


def _all(con, column: str):
    return con.execute(f"SELECT {column} FROM objective8_summary WHERE period = 'ALL'").fetchone()[0]


def test_every_euro_amount_of_the_contract_is_exact(sample_con):
    """README: every euro amount of the views is DECIMAL(18,2) (contract_renewals had DOUBLE)."""
    declared = {(v, c.name): c.type for v in REGISTRY.contract_views() for c in REGISTRY[v].columns
                if c.name.endswith("_eur")}
    assert {k: t for k, t in declared.items() if t != "DECIMAL(18,2)"} == {}
    stored = sample_con.execute(f"""
        SELECT table_name, column_name, data_type FROM duckdb_columns()
        WHERE column_name LIKE '%\\_eur' ESCAPE '\\' AND table_name IN ({', '.join('?' * len(REGISTRY.contract_views()))})
        AND data_type <> 'DECIMAL(18,2)'""", list(REGISTRY.contract_views())).fetchall()
    assert stored == []
    # the DECP amounts keep their value, to the cent
    differ = sample_con.execute("""
        SELECT count(*) FROM contract_renewals AS v JOIN mart_contract_renewals AS m USING (contract_uid)
        WHERE abs(v.amount_last_eur - m.amount_last_eur) > 0.005
           OR (v.amount_initial_eur IS NULL) <> (m.amount_initial_eur IS NULL)""").fetchone()[0]
    assert differ == 0


def test_review_lines_carry_the_proposed_units_status(sample_con):
    """is_ess_at_line_date is not NULL on a line to check (review): it is the proposed SIREN's status,
    and the published matched ESS spending counts matched lines only, as the description says."""
    everything, matched, review_ess = sample_con.execute("""
        SELECT sum(p.amount_eur) FILTER (WHERE r.is_ess_at_line_date),
               sum(p.amount_eur) FILTER (WHERE r.is_ess_at_line_date AND r.match_status = 'matched'),
               count(*) FILTER (WHERE r.match_status = 'review' AND r.is_ess_at_line_date IS NOT NULL)
        FROM purchase_lines_resolved AS r JOIN purchase_lines AS p USING (line_id)""").fetchone()
    assert review_ess > 0 and everything > matched
    assert matched == _all(sample_con, "matched_ess_amount_eur")
    for column in ("siren", "is_ess_at_line_date", "ess_family", "ess_basis_at_line_date", "is_esus_at_line_date",
                   "is_inclusive_at_line_date"):
        assert "à vérifier" in _comment(sample_con, "purchase_lines_resolved", column), column
    assert "match_status = 'matched'" in _comment(sample_con, "purchase_lines_resolved", "is_ess_at_line_date")


def test_opportunities_share_is_the_matched_share(sample_con):
    rows = sample_con.execute("SELECT buyer_ess_amount_eur, buyer_amount_eur, ess_share FROM opportunities").fetchall()
    assert rows
    for ess, total, share in rows:
        assert abs(share - float(ess) / float(total)) < 1e-12
        assert share < 0.5  # « achète peu à l'ESS »
    doc = _comment(sample_con, "opportunities", "ess_share")
    assert "buyer_ess_amount_eur / buyer_amount_eur" in doc and "pas l'estimation centrale" in doc
    assert "50 %" in sample_con.execute("SELECT comment FROM duckdb_views() WHERE view_name = 'opportunities'"
                                        ).fetchone()[0]


def test_suppliers_public_grouped_row_is_named_as_documented(sample_con):
    grouped = sample_con.execute("SELECT display_name, evidence, ess_family FROM suppliers_public WHERE siren IS NULL"
                                 ).fetchall()
    assert grouped, "the sample pays natural persons or non-diffusible units"
    label = re.search(r"« ([^«»(]+)\(n\) »", _comment(sample_con, "suppliers_public", "display_name"))
    assert label, "the description quotes the grouped row's name"
    evidence = re.search(r"« ([^«»]+) »", _comment(sample_con, "suppliers_public", "evidence")).group(1)
    for name, ev, family in grouped:
        assert re.fullmatch(re.escape(label.group(1)) + r"\([0-9]+\)", name)
        assert ev == evidence and family is None


def test_extreme_low_bound_is_what_its_description_says(sample_con):
    """Lines matched for sure (an identifier the name confirms, or a person) that are ESS at their
    date; nothing from lines accepted on their name alone, decided without review, in review or
    unmatched, whose credit notes only lower it (net of the payment they reverse): the bound can
    be under the matched ESS spending. ALL reads each line's bound at the ALL grain (ess_all_low_eur:
    a credit note netted with its payment whatever their quarters)."""
    sure_ess, others_low, skipped = sample_con.execute("""
        SELECT sum(amount_eur) FILTER (WHERE is_certain AND NOT is_accepted_by_name AND is_ess_at_date),
               sum(ess_all_low_eur) FILTER (WHERE NOT (is_certain AND NOT is_accepted_by_name)),
               sum(amount_eur) FILTER (WHERE match_status = 'matched' AND is_ess_at_date
                                       AND NOT (is_certain AND NOT is_accepted_by_name))
        FROM mart_purchase_line_estimate""").fetchone()
    assert others_low <= 0
    assert _all(sample_con, "ess_amount_extreme_low_eur") == sure_ess + others_low
    assert skipped > 0 and _all(sample_con, "ess_amount_extreme_low_eur") < _all(sample_con, "matched_ess_amount_eur")
    for view in ("objective8_summary", "objective8_by_year"):
        doc = _comment(sample_con, view, "ess_amount_extreme_low_eur")
        assert "seul nom" in doc and "sans vérification" in doc and "avoirs" in doc, view


def test_history_line_count_means_the_summarys(sample_con):
    latest = sample_con.execute("""
        SELECT h.line_count, s.line_count FROM objective8_history AS h JOIN objective8_summary AS s USING (period)
        WHERE h.run_id = (SELECT run_id FROM objective8_history ORDER BY run_at DESC LIMIT 1) AND period = 'ALL'
        """).fetchone()
    assert latest[0] == latest[1] == sample_con.execute(
        "SELECT count(*) FROM purchase_lines WHERE status IN ('ok', 'quarantined')").fetchone()[0]
    assert "quarantaine" in _comment(sample_con, "objective8_history", "line_count")


def test_a_payment_already_in_a_larger_file_is_a_duplicate_as_documented(mini, tmp_path):
    """The 90 % rule marks lines of a file that is not a copy as duplicate: the counts and
    descriptions of duplicates cover it (they spoke of identical files only)."""
    from achats.pipelines.cli import run_pipeline
    from tests.conftest import write_csv

    _, asso = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    _, btp = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5710")
    data = mini.write([])
    (data / "purchases" / "achats.csv").unlink()
    header = ["Date mandat", "N° mandat", "Tiers", "SIRET", "Montant", "Direction"]
    t1 = [["15/01/2024", "11", "ASSOCIATION QUINOA SOLIDAIRE", asso, "1 000,00", "DSI"],
          ["20/01/2024", "12", "ZORGLUB TRAVAUX PUBLICS", btp, "3 000,00", "DSI"],
          ["05/02/2024", "13", "ZORGLUB TRAVAUX PUBLICS", btp, "2 500,00", "Voirie"],
          ["10/03/2024", "14", "ASSOCIATION QUINOA SOLIDAIRE", asso, "700,00", "Voirie"]]
    write_csv(data / "purchases" / "mandats_T1_2024.csv", header, t1, delimiter=";")
    write_csv(data / "purchases" / "extraction_janvier_2024.csv", header, t1[:2], delimiter=";")
    import duckdb

    wh = run_pipeline(data, tmp_path / "w.duckdb", tmp_path / "dash")
    with duckdb.connect(str(wh), read_only=True) as con:
        dup = con.execute("""SELECT row_kind, duplicate_of, count(*), sum(amount_eur) FROM purchase_lines
                             WHERE status = 'duplicate' GROUP BY ALL""").fetchall()
        summary = con.execute("SELECT total_amount_eur, duplicate_line_count, duplicate_amount_eur "
                              "FROM objective8_summary WHERE period = 'ALL'").fetchone()
        per_file = con.execute("SELECT duplicate_line_count, overlap_line_count, duplicate_of FROM "
                               "source_file_reconciliation WHERE source_file LIKE '%extraction%'").fetchone()
        docs = {(t, c): _comment(con, t, c) for t, c in [
            ("objective8_summary", "duplicate_line_count"), ("objective8_summary", "duplicate_amount_eur"),
            ("source_file_reconciliation", "duplicate_line_count"), ("purchase_lines", "status"),
            ("purchase_lines", "duplicate_of")]}
    # 7 200 € counted once; the 2 payments of the extraction (4 000 €) are duplicates of the larger file
    assert dup == [("data", "purchases/mandats_T1_2024.csv", 2, 4000)]
    assert summary == (7200, 2, 4000)
    assert per_file == (2, 2, None)  # not a copy: duplicate_of (the file copy) stays NULL
    for key, doc in docs.items():
        assert "90 %" in doc, key


def test_quarter_follows_the_fiscal_year_as_documented(mini, tmp_path):
    """A payment of January imputed to the previous exercice is in that exercice's 4th quarter, not
    in the quarter of its date: the description of purchase_lines.quarter says so."""
    from achats.pipelines.cli import run_pipeline

    _, asso = mini.unit("ASSOCIATION QUINOA SOLIDAIRE", cj="9220")
    data = mini.write([{"Exercice": "2023", "Date": "15/01/2024", "Fournisseur": "ASSOCIATION QUINOA SOLIDAIRE",
                        "SIRET": asso, "Montant": "1000"},
                       {"Exercice": "2025", "Date": "20/12/2024", "Fournisseur": "ASSOCIATION QUINOA SOLIDAIRE",
                        "SIRET": asso, "Montant": "300"},
                       {"Exercice": "2024", "Date": "20/05/2024", "Fournisseur": "ASSOCIATION QUINOA SOLIDAIRE",
                        "SIRET": asso, "Montant": "500"}],
                      header=["Exercice", "Date", "Fournisseur", "SIRET", "Montant"])
    import duckdb

    wh = run_pipeline(data, tmp_path / "w.duckdb", tmp_path / "dash")
    with duckdb.connect(str(wh), read_only=True) as con:
        quarters = dict(con.execute("SELECT amount_eur::INT, quarter FROM purchase_lines").fetchall())
        doc = _comment(con, "purchase_lines", "quarter")
    assert quarters == {1000: "2023-Q4", 300: "2025-Q1", 500: "2024-Q2"}
    assert "4e trimestre de l'exercice" in doc and "1er trimestre de l'exercice" in doc


def test_a_ceased_ess_unit_keeps_its_family_as_documented(sample_con):
    """suppliers.ess_family is the family of the unit's ESS evidence: a ceased association is not ESS
    at the reference date (is_ess false) but keeps « association »."""
    rows = sample_con.execute("""SELECT is_active FROM suppliers WHERE NOT is_ess AND ess_family IS NOT NULL""").fetchall()
    assert rows and not any(active for (active,) in rows)
    public = sample_con.execute("""SELECT count(*) FROM suppliers_public WHERE NOT is_ess AND ess_family IS NOT NULL"""
                                ).fetchone()[0]
    assert public == len(rows)
    for view in ("suppliers", "suppliers_public"):
        assert "cessée" in _comment(sample_con, view, "ess_family"), view
