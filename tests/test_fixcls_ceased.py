"""Adversarial review #5, defect 10: a payment to a unit already ceased on its date counts non-ESS
but is no longer silent (a reason on the line and a warning of `achats run`), and an identifier
set aside because its unit ceased is not said to « contradict » a name it agrees with. Built from
the reviewer's case CL2; figures computed by hand."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from achats.pipelines.cli import input_warnings
from achats.resolution import Status
from tests.conftest import luhn_complete, run_mini
from tests.test_match_model import THR, _index, _siren


def test_an_identifier_of_a_ceased_unit_is_set_aside_without_a_contradiction():
    old, new = _siren(1), _siren(2)
    index = _index({old: ("ENTRAIDE DU LAURAGAIS", None, False, "9220"),
                    new: ("ENTRAIDE ET SOLIDARITE DU LAURAGAIS", None, True, "9220")})
    r = index.resolve("ENTRAIDE ET SOLIDARITE DU LAURAGAIS", luhn_complete(old + "0001"), None, None, THR)
    assert (r.siren, r.status) == (new, Status.MATCHED)
    assert "contredit" not in r.reason and "unité cessée" in (r.id_flag or "")


def test_a_payment_to_a_ceased_unit_counts_non_ess_with_a_reason_and_a_warning(mini, tmp_path):
    _old, old_siret = mini.unit("ENTRAIDE DU LAURAGAIS", cj="9220", etatAdministratifUniteLegale="C",
                                dateDebut="2024-01-01")
    mini.unit("ENTRAIDE ET SOLIDARITE DU LAURAGAIS", cj="9220")
    _z, z_siret = mini.unit("ZORGLUB TRAVAUX PUBLICS", cj="5499")
    data = mini.write([
        {"Fournisseur": "ENTRAIDE ET SOLIDARITE DU LAURAGAIS", "SIRET": old_siret, "Montant": "1000", "Date": "15/03/2024"},
        {"Fournisseur": "ENTRAIDE DU LAURAGAIS", "SIRET": old_siret, "Montant": "2000", "Date": "16/03/2024"},
        {"Fournisseur": "ZORGLUB TRAVAUX PUBLICS", "SIRET": z_siret, "Montant": "4000", "Date": "17/03/2024"}])
    con = run_mini(data, tmp_path)
    rows = dict(con.execute("""SELECT p.amount_eur, r.match_reason FROM purchase_lines p
                               JOIN purchase_lines_resolved r USING (line_id)""").fetchall())
    # the figure is unchanged: the successor's 1 000 € ESS, the ceased unit's 2 000 € not
    assert con.execute("SELECT ess_amount_eur FROM objective8_summary WHERE period = 'ALL'").fetchone()[0] \
        == Decimal("1000.00")
    assert "unité déjà cessée le 16/03/2024" in rows[Decimal("2000.00")]
    assert "cessée" not in rows[Decimal("4000.00")]
    assert "contredit" not in rows[Decimal("1000.00")]
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()
    warned = [re.sub(r"\s+", " ", w) for w in input_warnings(Path(path)) if "cessée" in w]
    assert len(warned) == 1
    assert warned[0].startswith("1 ligne(s) rapprochée(s) (2 000 €, dont 2 000 € à des unités ESS par leur statut)")
