"""One review decision decides only spellings with the same typed legal form, and the review row
lists every spelling it decides (finding RV2: « LE PETIT JARDIN SARL » was decided as the
association « LE PETIT JARDIN » by a reviewer who only saw « LE PETIT JARDIN »)."""

from __future__ import annotations

import csv
import io

from achats.pipelines.cli import main
from achats.resolution import legacy_supplier_key, supplier_key
from achats.review import DECISION_HEADERS, SPELLINGS_HEADER, export_review, review_rows
from achats.warehouse import _override_for
from tests.conftest import run_mini

DECISION, NOTE, KEY = DECISION_HEADERS[0], DECISION_HEADERS[2], DECISION_HEADERS[3]


def test_key_keeps_the_typed_legal_form():
    assert supplier_key("LE PETIT JARDIN SARL", None, "31") != supplier_key("LE PETIT JARDIN", None, "31")
    assert supplier_key("LE PETIT JARDIN SARL", None, "31") == supplier_key("S.A.R.L. Le Petit Jardin", None, "31")
    assert supplier_key("STE ARC EN CIEL", None, None) != supplier_key("ARC EN CIEL", None, None)
    assert supplier_key("AMIS DU VELO / TOULOUSE", None, None) != supplier_key("AMIS DU VELO TOULOUSE", None, None)
    # what stays together: case, accents, « & », abbreviations, « ETS » (a business, not a form)
    assert supplier_key("JARDINS ET CIE", None, None) == supplier_key("Jardins & Compagnie", None, None)
    assert supplier_key("ETS MARTIN", None, None) == supplier_key("MARTIN", None, None)
    # a name without legal-form word keeps its former key: the decisions stored under it still apply
    assert supplier_key("LE PETIT JARDIN", "123", "31") == legacy_supplier_key("LE PETIT JARDIN", "123", "31")


def test_a_decision_stored_under_the_former_key_decides_only_the_spelling_reviewed():
    old_key = legacy_supplier_key("LE PETIT JARDIN", None, "31")  # both spellings shared it
    seen_plain = {"supplier_key": old_key, "supplier_name": "LE PETIT JARDIN", "decision": "792000150"}
    lookup = ({old_key: seen_plain}, {})
    plain_key, sarl_key = supplier_key("LE PETIT JARDIN", None, "31"), supplier_key("LE PETIT JARDIN SARL", None, "31")
    assert _override_for(lookup, plain_key, "LE PETIT JARDIN", None, "31") is seen_plain
    assert _override_for(lookup, sarl_key, "LE PETIT JARDIN SARL", None, "31") is None
    seen_sarl = {**seen_plain, "supplier_name": "LE PETIT JARDIN SARL", "decision": "792000168"}
    lookup = ({old_key: seen_sarl}, {})
    assert _override_for(lookup, sarl_key, "LE PETIT JARDIN SARL", None, "31") is seen_sarl
    assert _override_for(lookup, plain_key, "LE PETIT JARDIN", None, "31") is None


def test_rv2_decision_on_the_association_does_not_decide_the_sarl(mini, tmp_path):
    assoc, _ = mini.unit("LE PETIT JARDIN", cj="9220", commune="31555")
    sarl, _ = mini.unit("LE PETIT JARDIN", cj="5499", commune="31395")
    data = mini.write([
        {"Fournisseur": "LE PETIT JARDIN", "Montant": "3100", "Date": "23/07/2024"},
        {"Fournisseur": "Le Petit Jardin", "Montant": "200", "Date": "24/07/2024"},
        {"Fournisseur": "LE PETIT JARDIN SARL", "Montant": "3300", "Date": "24/08/2024"},
    ])
    con = run_mini(data, tmp_path / "r1")
    out = tmp_path / "revue.csv"
    export_review(con, out)
    con.close()
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    header = rows[0]
    plain = [r for r in rows[1:] if r[0] == "LE PETIT JARDIN"]
    assert len(plain) == 1
    # the row lists every spelling its decision applies to, and only those
    assert plain[0][header.index(SPELLINGS_HEADER)] == "LE PETIT JARDIN (1) | Le Petit Jardin (1)"
    assert all("SARL" not in r[header.index(SPELLINGS_HEADER)] for r in rows[1:] if r[0] != "LE PETIT JARDIN SARL")
    plain[0][header.index(DECISION)] = assoc
    plain[0][header.index(NOTE)] = "Appel du 12/03 ; confirmé\nMail trésorerie ; ok"
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows([header, plain[0]])
    out.write_text(buf.getvalue(), encoding="utf-8-sig")
    assert main(["review", "import", str(out), "--data-dir", str(data), "--by", "agent.dcp",
                 "--warehouse", str(tmp_path / "r1" / "wh" / "w.duckdb")]) == 0
    con = run_mini(data, tmp_path / "r2")
    res = {r[0]: r[1:] for r in con.execute("""
        SELECT p.supplier_name, r.match_method, r.match_status, r.siren, r.is_ess_at_line_date
        FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id)""").fetchall()}
    assert res["LE PETIT JARDIN"] == ("override", "matched", assoc, True)
    assert res["Le Petit Jardin"] == ("override", "matched", assoc, True)
    method, status, siren, _ = res["LE PETIT JARDIN SARL"]
    assert method != "override"  # the reviewer never saw it
    if status == "review":  # then it has a review row of its own
        assert [r[0] for r in review_rows(con)] == ["LE PETIT JARDIN SARL"]
    else:
        assert siren == sarl
    # by hand: the decided lines, 3 100 + 200 = 3 300 €, are ESS; the SARL's 3 300 € are not decided ESS
    assert con.execute("SELECT sum(amount_eur) FROM purchase_lines p JOIN purchase_lines_resolved r USING (line_id) "
                       "WHERE r.match_method = 'override' AND r.is_ess_at_line_date").fetchone()[0] == 3300
