"""Action 1: the named local ESS offer (`ess_sourcing`), contracts coming up for renewal
(`contract_renewals`), the local scope options, and the sourcing export."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from achats.config import load_settings
from achats.errors import InputError
from achats.export import SOURCING_COLUMNS, export_sourcing_xlsx
from achats.sources.decp import read_contracts
from tests.conftest import run_mini

BUYER = "223100017"


def test_sample_sourcing_has_named_local_offer_in_several_divisions(sample_con):
    n, divisions, units = sample_con.execute(
        "SELECT count(*), count(DISTINCT cpv_division), count(DISTINCT siren) FROM ess_sourcing").fetchone()
    assert n > 0 and divisions >= 5 and units >= 20
    # every row: an active ESS or inclusive unit, an active establishment of the buyer's département
    wrong = sample_con.execute("""
        SELECT count(*) FROM ess_sourcing s
        JOIN cls_supplier_status c USING (siren) JOIN stg_etablissement e USING (siret)
        WHERE NOT (c.is_active AND (c.is_ess OR c.is_inclusive)) OR NOT e.is_active
           OR e.departement_code <> (SELECT home_departement FROM run_parameters)""").fetchone()[0]
    assert wrong == 0
    # the counts per division and the named list are one and the same offer
    mismatch = sample_con.execute("""
        SELECT count(*) FROM ess_offer_by_category o
        FULL JOIN (SELECT cpv_division, count(DISTINCT siren) FILTER (WHERE is_ess) AS ess,
                          count(DISTINCT siren) FILTER (WHERE is_inclusive) AS inc
                   FROM ess_sourcing GROUP BY 1) s USING (cpv_division)
        WHERE coalesce(o.local_ess_supplier_count, 0) <> coalesce(s.ess, 0)
           OR coalesce(o.local_inclusive_supplier_count, 0) <> coalesce(s.inc, 0)""").fetchone()[0]
    assert mismatch == 0
    # already a supplier: the amount is what the buyer paid that unit (matched lines)
    diff = sample_con.execute("""
        SELECT count(*) FROM (SELECT DISTINCT siren, supplier_amount_eur FROM ess_sourcing WHERE is_current_supplier) s
        JOIN suppliers p USING (siren) WHERE abs(s.supplier_amount_eur - p.matched_amount_eur) > 0.005""").fetchone()[0]
    assert diff == 0
    assert sample_con.execute("SELECT count(*) FROM ess_sourcing WHERE is_current_supplier").fetchone()[0] > 0
    assert sample_con.execute("SELECT count(*) FROM ess_sourcing WHERE NOT is_current_supplier").fetchone()[0] > 0
    assert sample_con.execute("SELECT count(*) FROM ess_sourcing WHERE epci_name IS NULL OR commune_name IS NULL "
                              "OR annuaire_url NOT LIKE 'https://annuaire-entreprises.data.gouv.fr/entreprise/%'"
                              ).fetchone()[0] == 0


def test_sample_renewals_window_and_local_offer(sample_con):
    ref, low, high = sample_con.execute(
        "SELECT reference_date, renewal_min_months, renewal_max_months FROM run_parameters").fetchone()
    rows = sample_con.execute("""
        SELECT notification_date, duration_last_months, estimated_end_date, is_in_renewal_window, cpv_division,
               local_ess_structure_count FROM contract_renewals""").fetchall()
    assert sum(r[3] for r in rows) > 0
    import datetime as dt

    def add_months(d: dt.date, n: int) -> dt.date:
        y, m = divmod(d.month - 1 + n, 12)
        import calendar
        return dt.date(d.year + y, m + 1, min(d.day, calendar.monthrange(d.year + y, m + 1)[1]))

    for notified, months, end, in_window, _, _ in rows:
        expected = add_months(notified, months) if notified and months else None
        assert end == expected
        assert in_window == bool(end and add_months(ref, low) < end <= add_months(ref, high))
    # the local offer count of a contract is ess_sourcing's for its division
    for division, count in {(r[4], r[5]) for r in rows if r[4]}:
        assert count == sample_con.execute("SELECT count(DISTINCT siren) FILTER (WHERE is_ess) FROM ess_sourcing "
                                           "WHERE cpv_division = ?", [division]).fetchone()[0]


def _contract(buyer: str, uid: str, siret: str, notified: str, months: int, cpv: str, **extra) -> dict:
    return {"id": uid, "acheteur": {"id": buyer}, "nature": "Marché", "objet": f"Marché {uid}",
            "codeCPV": cpv, "dureeMois": months, "dateNotification": notified, "montant": 120000,
            "titulaires": [{"titulaire": {"id": siret, "typeIdentifiant": "SIRET"}}], **extra}


def _mini_territory(mini, toml: str = "") -> tuple[Path, dict]:
    """A buyer in Toulouse; ESS units in Toulouse, Blagnac (same EPCI), Agassac (far, other EPCI),
    Albi (other département); one non-diffusible ESS unit in Toulouse."""
    s = {}
    s["buyer"] = mini.unit("DEPARTEMENT TEST", cj="7220", naf="84.11Z", commune="31555", n=1)
    s["toulouse"] = mini.unit("JARDINS SOLIDAIRES TOULOUSE", cj="9220", naf="81.30Z", commune="31555", n=2)
    s["blagnac"] = mini.unit("ESPACES VERTS SOLIDAIRES BLAGNAC", cj="9220", naf="81.30Z", commune="31069", n=3)
    s["agassac"] = mini.unit("PAYSAGES DU COMMINGES", cj="9220", naf="81.30Z", commune="31001", n=4)
    s["albi"] = mini.unit("JARDINS D'ALBI", cj="9220", naf="81.30Z", commune="81004", n=5)
    s["private"] = mini.unit("MADAME SECRETE", cj="9220", naf="81.30Z", commune="31555", n=6,
                             statutDiffusionUniteLegale="P")
    s["company"] = mini.unit("PAYSAGES SA", cj="5710", naf="81.30Z", commune="31555", n=7)
    data = mini.write([{"Fournisseur": "JARDINS SOLIDAIRES TOULOUSE", "SIRET": s["toulouse"][1], "Montant": "1000,00",
                        "Date": "2025-12-31"},
                       {"Fournisseur": "PAYSAGES SA", "SIRET": s["company"][1], "Montant": "5000,00",
                        "Date": "2025-06-30"}])
    (data / "achats.toml").write_text(f'[acheteur]\nsiren = "{s["buyer"][0]}"\n' + toml, encoding="utf-8")
    contracts = [
        _contract(s["buyer"][1], "A", s["company"][1], "2025-01-15", 24, "77310000-6"),  # ends 2027-01-15: in the window
        _contract(s["buyer"][1], "B", s["company"][1], "2025-01-15", 6, "77310000-6"),  # ends 2025-07-15: over
        _contract(s["buyer"][1], "C", s["company"][1], "2024-03-01", 12, "77310000-6",  # 12 then 30 months: ends 2026-09-01
                  modifications=[{"modification": {"dureeMois": 30, "dateNotificationModification": "2025-01-01"}}],
                  considerationsSociales={"considerationSociale": ["Clause sociale", "Critère social"]}),
        _contract(s["buyer"][1], "D", s["company"][1], "2025-09-01", 60, "77310000-6"),  # ends 2030: later
    ]
    (data / "contracts").mkdir()
    (data / "contracts" / "decp.json").write_text(json.dumps({"marches": {"marche": contracts}}), encoding="utf-8")
    return data, s


def test_local_scope_departement_epci_distance_and_masking(mini, tmp_path):
    data, s = _mini_territory(mini)
    con = run_mini(data, tmp_path / "dep")
    named = dict(con.execute("SELECT siren, display_name FROM ess_sourcing WHERE cpv_division = '77'").fetchall())
    assert set(named) == {s["toulouse"][0], s["blagnac"][0], s["agassac"][0], s["private"][0]}
    assert named[s["private"][0]] == "Unité non diffusible"
    row = con.execute("SELECT commune_code, commune_name, establishment_name FROM ess_sourcing WHERE siren = ?",
                      [s["private"][0]]).fetchone()
    assert row == (None, None, None)
    assert "SECRETE" not in json.dumps(con.execute("SELECT * FROM ess_sourcing").fetchall(), default=str)
    cur = con.execute("SELECT is_current_supplier, supplier_amount_eur, CAST(last_payment_date AS VARCHAR) "
                      "FROM ess_sourcing WHERE siren = ? LIMIT 1", [s["toulouse"][0]]).fetchone()
    assert cur == (True, 1000.0, "2025-12-31")
    renewals = dict(con.execute("SELECT object[-1:], renewal_status FROM contract_renewals").fetchall())
    assert renewals == {"A": "à préparer", "B": "terminé", "C": "à préparer", "D": "plus tard"}
    c = con.execute("""SELECT estimated_end_date, has_social_clause, has_social_criterion, is_reserved,
                              local_ess_structure_count, legal_levers FROM contract_renewals
                       WHERE object = 'Marché C'""").fetchone()
    assert str(c[0]) == "2026-09-01" and c[1:4] == (True, True, False) and c[4] == 4
    assert "Clause sociale" not in c[5] and "Allotissement" in c[5]
    con.close()

    data.joinpath("achats.toml").write_text(
        f'[acheteur]\nsiren = "{s["buyer"][0]}"\n[local]\nperimetre = "epci"\nepci = ["200072643"]\n', encoding="utf-8")
    con = run_mini(data, tmp_path / "epci")
    assert {r[0] for r in con.execute("SELECT siren FROM ess_sourcing").fetchall()} == {s["agassac"][0]}
    assert con.execute("SELECT local_ess_supplier_count FROM ess_offer_by_category WHERE cpv_division = '77'"
                       ).fetchone()[0] == 1
    con.close()

    data.joinpath("achats.toml").write_text(
        f'[acheteur]\nsiren = "{s["buyer"][0]}"\n[local]\nperimetre = "distance"\ndistance_km = 20\n'
        '[renouvellements]\nfenetre_mois = [0, 12]\n', encoding="utf-8")
    con = run_mini(data, tmp_path / "distance")
    found = dict(con.execute("SELECT siren, distance_km FROM ess_sourcing").fetchall())
    assert set(found) == {s["toulouse"][0], s["blagnac"][0], s["private"][0]}  # Agassac is ~60 km away
    assert found[s["toulouse"][0]] == 0 and 0 < found[s["blagnac"][0]] < 20
    window = {r[0] for r in con.execute("SELECT object[-1:] FROM contract_renewals WHERE is_in_renewal_window").fetchall()}
    assert window == {"C"}  # ends 2026-09-01, within 12 months of 2025-12-31; A ends after
    con.close()


def test_decp_duration_after_modifications(tmp_path):
    doc = {"marches": [{"id": "X1", "uid": BUYER + "00019X1", "acheteur": {"id": BUYER + "00019"},
                        "dateNotification": "2024-01-10", "montant": 1000, "dureeMois": "12",
                        "titulaires": [{"id": "12345678900011", "typeIdentifiant": "SIRET"}],
                        "modifications": [{"dureeMois": 18, "dateNotificationModification": "2024-06-01"},
                                          {"dureeMois": 36, "dateNotificationModification": "2024-09-01"},
                                          {"dureeMois": "NC", "dateNotificationModification": "2024-12-01"}]},
                       {"id": "X2", "uid": BUYER + "00019X2", "acheteur": {"id": BUYER + "00019"},
                        "dateNotification": "2024-01-10", "montant": 1000, "dureeMois": 0, "titulaires": []}]}
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "d.json").write_text(json.dumps(doc), encoding="utf-8")
    df = read_contracts(tmp_path, BUYER).sort("contract_id_raw")
    assert df["duration_months"].to_list() == [12, None]
    assert df["duration_last_months"].to_list() == [36, None]
    assert df["social_considerations"].to_list() == [None, None]  # v1: unknown, not "none"


def test_cartography_settings(tmp_path):
    (tmp_path / "achats.toml").write_text('[local]\nperimetre = "distance"\ndistance_km = 12.5\n'
                                          '[renouvellements]\nfenetre_mois = [3, 18]\n[objectifs]\npart_ess = 0.3\n'
                                          'autre = 1\n', encoding="utf-8")
    c = load_settings(tmp_path)
    assert (c.cartography.local_scope, c.cartography.local_distance_km, c.cartography.renewal_min_months,
            c.cartography.renewal_max_months, c.cartography.target_ess_share) == ("distance", 12.5, 3, 18, 0.3)
    assert any("autre" in w for w in c.warnings)
    for bad in ('[local]\nperimetre = "region"\n', '[local]\nperimetre = "epci"\n',
                '[renouvellements]\nfenetre_mois = [24, 6]\n', '[objectifs]\npart_ess = 30\n'):
        (tmp_path / "achats.toml").write_text(bad, encoding="utf-8")
        with pytest.raises(InputError):
            load_settings(tmp_path)


def test_sourcing_export_french_headers_filter_and_links(sample_con, tmp_path):
    path = tmp_path / "sourcing.xlsx"
    n = export_sourcing_xlsx(sample_con, path)
    assert n == sample_con.execute("SELECT count(*) FROM ess_sourcing").fetchone()[0]
    ws = openpyxl.load_workbook(path).active
    assert [c.value for c in ws[1]] == [label for _, label in SOURCING_COLUMNS]
    assert ws.auto_filter.ref == f"A1:W{n + 1}" and ws.freeze_panes == "A2"
    col = [k for k, _ in SOURCING_COLUMNS].index("annuaire_url") + 1
    siren_col = [k for k, _ in SOURCING_COLUMNS].index("siren") + 1
    for r in range(2, n + 2):
        assert ws.cell(r, col).hyperlink.target.endswith("/entreprise/" + ws.cell(r, siren_col).value)
    names = {ws.cell(r, 3).value for r in range(2, n + 2)}
    private = {r[0] for r in sample_con.execute(
        "SELECT legal_name FROM stg_unite_legale WHERE is_non_diffusible AND legal_name IS NOT NULL").fetchall()}
    assert not names & private
