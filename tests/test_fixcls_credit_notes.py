"""Adversarial review #5, defect 1: a credit note reverses spend already paid, so it follows the
status of the payment it cancels, not the supplier's status on its own date. Built from the
reviewer's case CL3; figures computed by hand."""

from __future__ import annotations

import shutil
from decimal import Decimal

import duckdb

from achats.recount import objective8_expected, objective8_mismatches
from tests.conftest import run_mini


def _cl3(mini, mandates: bool = False):
    """DELTA: SAS agréée ESUS in 2023 only, paid 1 000 € in Dec. 2023, credited in Jan. 2024;
    LAMBDA: association ceased 2024-04-01, paid 500 € in March, credited after its cessation;
    ZORGLUB: a plain company paid 5 000 €."""
    _delta, delta = mini.unit("DELTA SERVICES", cj="5710")
    _lambda, lambd = mini.unit("LAMBDA LOISIRS", cj="9220", etatAdministratifUniteLegale="C",
                               dateDebut="2024-04-01")
    _z, zorglub = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    rows = [("DELTA SERVICES", delta, "1000", "15/12/2023"), ("DELTA SERVICES", delta, "-1000", "10/01/2024"),
            ("LAMBDA LOISIRS", lambd, "500", "20/03/2024"), ("LAMBDA LOISIRS", lambd, "-500", "10/04/2024"),
            ("ZORGLUB TRAVAUX PUBLICS", zorglub, "5000", "11/04/2024")]
    esus = [{"siren": _delta, "raison_sociale": "DELTA SERVICES", "date_agrement": "2023-01-01",
             "date_fin_agrement": "2023-12-31"}]
    if not mandates:
        return mini.write([{"Fournisseur": n, "SIRET": s, "Montant": a, "Date": d} for n, s, a, d in rows],
                          esus=esus)
    # a second DELTA payment on 05/01/2024, after its agrément ended (not ESS): the credit note
    # names mandate 1, so it reverses the 2023 payment, not the latest one
    rows = [*rows[:1], ("DELTA SERVICES", delta, "300", "05/01/2024"), *rows[1:]]
    mandate = ["1", "2", "1", "3", "4", "5"]
    return mini.write([{"Mandat": m, "Fournisseur": n, "SIRET": s, "Montant": a, "Date": d}
                       for m, (n, s, a, d) in zip(mandate, rows, strict=True)],
                      header=["Mandat", "Fournisseur", "SIRET", "Montant", "Date"], esus=esus)


def _ess(con) -> dict[str, tuple[Decimal, Decimal]]:
    return {p: (t, e) for p, t, e in con.execute(
        "SELECT period, total_amount_eur, ess_amount_eur FROM objective8_summary").fetchall()}


def test_a_credit_note_follows_the_status_of_the_payment_it_reverses(mini, tmp_path):
    con = run_mini(_cl3(mini), tmp_path)
    got = _ess(con)
    # both ESS purchases are cancelled in full: nothing ESS is left over the whole period
    assert got["ALL"] == (Decimal("5000.00"), Decimal("0.00"))
    # each credit stays in its own quarter and carries the ESS status of the payment it reverses:
    # 2023-Q4 +1 000 ESS; 2024-Q1 DELTA −1 000 (ESS, as in Dec. 2023) + LAMBDA +500 (ESS, active)
    assert got["2023-Q4"] == (Decimal("1000.00"), Decimal("1000.00"))
    assert got["2024-Q1"] == (Decimal("-500.00"), Decimal("-500.00"))
    # 2024-Q2: LAMBDA −500 (ESS, as on 20/03) + ZORGLUB 5 000 (not ESS)
    assert got["2024-Q2"] == (Decimal("4500.00"), Decimal("-500.00"))
    # the periods add up
    assert sum(e for p, (_t, e) in got.items() if p.startswith("20")) == got["ALL"][1]
    by_year = dict(con.execute("SELECT period, ess_amount_eur FROM objective8_by_year").fetchall())
    assert by_year.get("2024") == Decimal("-1000.00") and by_year.get("2023") == Decimal("1000.00")
    # the line view says on which date, through which line, the credit was judged
    rows = con.execute("""SELECT p.amount_eur, s.status_date, q.purchase_date
                          FROM cls_purchase_line_status s JOIN stg_purchase_lines p USING (line_id)
                          JOIN stg_purchase_lines q ON q.line_id = s.status_line_id
                          WHERE p.amount_eur < 0 ORDER BY p.purchase_date""").fetchall()
    assert [(str(a), str(d), str(q)) for a, d, q in rows] == [
        ("-1000.00", "2023-12-15", "2023-12-15"), ("-500.00", "2024-03-20", "2024-03-20")]
    assert objective8_mismatches(con) == []


def test_a_credit_note_with_a_mandate_number_follows_that_mandate(mini, tmp_path):
    con = run_mini(_cl3(mini, mandates=True), tmp_path)
    got = _ess(con)
    # DELTA: +1 000 (2023, ESS), +300 (05/01/2024, not ESS), −1 000 naming mandate 1 (ESS, as the
    # 2023 payment; the latest earlier payment would have made it not ESS)
    assert got["2024-Q1"] == (Decimal("-200.00"), Decimal("-500.00"))
    assert got["ALL"] == (Decimal("5300.00"), Decimal("0.00"))
    assert objective8_mismatches(con) == []


def test_the_recount_applies_the_credit_rule_with_its_own_code(mini, tmp_path):
    """The second computation finds the reversed payment itself: judging the credits at their own
    date again in the line status (as before the fix) leaves its ESS figure at 0."""
    con = run_mini(_cl3(mini), tmp_path)
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    rw = duckdb.connect(str(copy))
    rw.execute("""UPDATE cls_purchase_line_status SET is_ess_at_date = FALSE
                  WHERE line_id IN (SELECT line_id FROM stg_purchase_lines WHERE amount_eur < 0)""")
    assert objective8_expected(rw)["ALL"]["matched_ess_amount_eur"] == Decimal("0.00")
    rw.close()


def test_a_credit_note_dated_before_the_payment_its_mandate_names_follows_it(mini, tmp_path):
    """Fourth review, CN1 rows 11-12: DELTA (ESUS in 2023 only), mandate 90: −250 € on
    10/11/2022, then +250 € on 01/03/2023 (an export dating the cancellation before the payment).
    The credit follows the payment it names (ESS, 2023): the supplier's net ESS spend is 0 €.
    Before: judged at its own date (not ESS), ESS 250 €."""
    _delta, delta = mini.unit("DELTA SERVICES", cj="5710")
    _z, zorglub = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    esus = [{"siren": _delta, "raison_sociale": "DELTA SERVICES", "date_agrement": "2023-01-01",
             "date_fin_agrement": "2023-12-31"}]
    rows = [("90", "DELTA SERVICES", delta, "-250", "10/11/2022"), ("90", "DELTA SERVICES", delta, "250", "01/03/2023"),
            ("91", "ZORGLUB TRAVAUX PUBLICS", zorglub, "1000", "02/03/2023")]
    data = mini.write([{"Mandat": m, "Fournisseur": n, "SIRET": s, "Montant": a, "Date": d} for m, n, s, a, d in rows],
                      header=["Mandat", "Fournisseur", "SIRET", "Montant", "Date"], esus=esus)
    con = run_mini(data, tmp_path)
    got = _ess(con)
    assert got["ALL"] == (Decimal("1000.00"), Decimal("0.00"))
    assert got["2022-Q4"] == (Decimal("-250.00"), Decimal("-250.00"))
    assert got["2023-Q1"] == (Decimal("1250.00"), Decimal("250.00"))
    assert objective8_mismatches(con) == []
