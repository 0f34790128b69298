"""Edge cases a second adversarial review found in the purchase and DECP readers: a debit/credit
column, partial overlaps and corrected re-exports across files, UTF-16 and Mac Roman exports,
suppliers whose name starts with a total word, XLSX formulas without a cached value, DECP dates
that do not exist and DECP amounts written as text with a currency."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from achats.errors import InputError
from achats.sources.purchases import read_purchase_sources, read_purchases
from tests.reader_inputs import ok_total, write_export


def _by_name(df: pl.DataFrame, column: str) -> dict:
    return dict(zip(df["supplier_name"].fill_null(""), df[column], strict=True))


# --- 1. debit / credit column -------------------------------------------------------------


@pytest.mark.parametrize(("header", "debit", "credit"), [
    ("Sens", "D", "C"), ("D/C", "d", "c"), ("Débit/Crédit", "Débit", "Crédit"),
    ("Type de mouvement", "Mandat", "Annulation"), ("Type de mouvement", "Mandat", "Réduction"),
])
def test_credit_lines_are_negative(tmp_path, header, debit, credit):
    text = (f"Fournisseur;Montant TTC;{header}\nA;100,00;{debit}\nB;40,00;{credit}\n"
            f"C;-10,00;{credit}\nD;25,00;\n")
    df = read_purchases(write_export(tmp_path, "s.csv", text))
    assert _by_name(df, "status") == {"A": "ok", "B": "ok", "C": "ok", "D": "ok"}
    got = _by_name(df, "amount_eur")
    assert (got["A"], got["B"], got["C"], got["D"]) == (100, -40, -10, 25)
    assert ok_total(df) == Decimal("75.00")


def test_sign_contradicting_the_direction_and_unknown_direction_are_quarantined(tmp_path):
    text = "Fournisseur;Montant TTC;Sens\nA;100,00;D\nB;-40,00;D\nC;+15,00;C\nE;30,00;X\nF;12,00;C\n"
    df = read_purchases(write_export(tmp_path, "s.csv", text))
    status = _by_name(df, "status")
    assert status == {"A": "ok", "B": "quarantined", "C": "quarantined", "E": "quarantined", "F": "ok"}
    reasons = _by_name(df, "quarantine_reason")
    assert "s.csv, ligne 3, champ « Sens »" in reasons["B"] and "contredit" in reasons["B"]
    assert "ligne 4, champ « Sens »" in reasons["C"]
    assert "« X »" in reasons["E"] and "inconnu" in reasons["E"]
    assert ok_total(df) == Decimal("88.00")
    assert df.height == 5


# --- 7. real names that start with a total word ---------------------------------------------


def test_supplier_named_like_a_total_with_purchase_evidence_is_a_purchase(tmp_path):
    text = ("Fournisseur;SIRET;Date mandat;N° mandat;Montant TTC\n"
            "ALPHA;;15/01/2024;M1;100,00\n"
            "SOUS-TOTAL PRODUCTIONS;12345678901234;16/01/2024;M2;2 500,00\n"
            "TOTAL SPECTACLES;;17/01/2024;M3;300,00\n"
            "BETA;;18/01/2024;M4;50,00\n"
            "Sous-total;;;;2 950,00\n"
            "Total général;;;;2 950,00\n")
    df = read_purchases(write_export(tmp_path, "t.csv", text))
    status = _by_name(df, "status")
    assert status["SOUS-TOTAL PRODUCTIONS"] == "ok"
    assert status["TOTAL SPECTACLES"] == "ok"
    assert status["Sous-total"] == status["Total général"] == "quarantined"
    assert ok_total(df) == Decimal("2950.00")


def test_label_total_with_a_date_and_the_block_sum_is_still_a_total(tmp_path):
    text = ("Direction;Fournisseur;Date mandat;Montant TTC\n"
            "Routes;A;15/01/2024;100,00\nRoutes;B;16/01/2024;50,00\n"
            "Sous-total Routes;;31/01/2024;150,00\nÉcoles;C;17/01/2024;20,00\n")
    df = read_purchases(write_export(tmp_path, "t.csv", text))
    assert df.filter(pl.col("row_kind") == "total").height == 1
    assert ok_total(df) == Decimal("170.00")


# --- 8. XLSX formula without a cached value -------------------------------------------------


def test_formula_without_cached_value_is_quarantined_with_its_own_reason(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Fournisseur", "Montant TTC"])
    ws.append(["A", 100.5])
    ws.append(["B", "=B2*2"])  # openpyxl never computes it: no cached value in the file
    ws.append(["C", None])
    (tmp_path / "purchases").mkdir()
    wb.save(tmp_path / "purchases" / "f.xlsx")
    df = read_purchases(tmp_path)
    reasons = _by_name(df, "quarantine_reason")
    assert _by_name(df, "status") == {"A": "ok", "B": "quarantined", "C": "quarantined"}
    assert "f.xlsx (feuille « Sheet »), ligne 3, champ « Montant TTC »" in reasons["B"]
    assert "formule sans valeur calculée (ouvrir puis enregistrer le fichier dans le tableur)" in reasons["B"]
    assert "montant manquant" in reasons["C"] and "formule" not in reasons["C"]
    assert ok_total(df) == Decimal("100.50")


# --- 6. encodings ---------------------------------------------------------------------------

ACCENTED = ("Fournisseur;Montant TTC;Date mandat\nSociété Générale d'Électricité;1 234,56;15/01/2024\n"
            "Crèche « Les Pâquerettes »;12,50;16/01/2024\nÉCOLE FRANÇAISE;100,00 €;17/01/2024\n")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "mac_roman", "cp1252", "utf-8-sig"])
def test_exports_in_other_encodings_are_read_right(tmp_path, encoding):
    lines, files = read_purchase_sources(write_export(tmp_path, "e.csv", ACCENTED, encoding))
    assert lines["supplier_name"].to_list() == ["Société Générale d'Électricité", "Crèche « Les Pâquerettes »",
                                                "ÉCOLE FRANÇAISE"]
    assert ok_total(lines) == Decimal("1347.06")
    expected = {"utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "mac_roman": "Mac Roman",
                "cp1252": "Windows-1252", "utf-8-sig": None}[encoding]
    got = files["encoding"][0]
    assert (got is None if expected is None else expected in got), got


def test_encoding_is_said_in_the_run_warnings(tmp_path):
    from achats.sources.purchases import duplicate_warnings

    _, files = read_purchase_sources(write_export(tmp_path, "e.csv", ACCENTED, "mac_roman"))
    assert any("purchases/e.csv" in w and "Mac Roman" in w for w in duplicate_warnings(files))


def test_undecidable_encoding_stops_with_the_files_name(tmp_path):
    # bytes that are neither UTF-8 nor plausible French text in any 8-bit code page
    root = tmp_path
    (root / "purchases").mkdir()
    (root / "purchases" / "x.csv").write_bytes(b"Fournisseur;Montant\n\xa4\xa6\xac\xb9;1,00\n")
    with pytest.raises(InputError, match=r"purchases/x\.csv.*encodage"):
        read_purchases(root)


# --- 4 and 5. DECP: dates that do not exist, amounts written with a currency ------------------


def _decp_folder(tmp_path: Path, marches: list[dict]) -> Path:
    import json

    (tmp_path / "contracts").mkdir(parents=True, exist_ok=True)
    (tmp_path / "contracts" / "d.json").write_text(json.dumps({"marches": marches}), encoding="utf-8")
    return tmp_path


def _marche(cid: str, montant: object, date: object) -> dict:
    return {"id": cid, "acheteur": {"id": "22310001700019"}, "objet": f"Objet {cid}", "montant": montant,
            "dateNotification": date, "titulaires": [{"typeIdentifiant": "SIRET", "id": "39893557700039"}]}


def test_decp_date_that_does_not_exist_is_counted_undated_with_its_reason(tmp_path):
    from achats.sources.decp import read_contracts

    df = read_contracts(_decp_folder(tmp_path, [
        _marche("A", 100, "2024-02-30"), _marche("B", 200, "bientôt"), _marche("C", 300, None),
        _marche("D", 400, "2024-02-29"), _marche("E", 500, "1890-01-01")]), None)
    issue = dict(zip(df["contract_id_raw"], df["date_issue"], strict=True))
    assert "« 2024-02-30 »" in issue["A"] and "n'existe pas" in issue["A"] and "d.json" in issue["A"]
    assert "illisible" in issue["B"] and "absente" in issue["C"] and "hors plage" in issue["E"]
    assert issue["D"] is None
    assert (df["status"] == "ok").all() and df.filter(pl.col("date_issue").is_not_null())["notification_date"] \
        .is_null().all()


@pytest.mark.parametrize(("raw", "expected"), [
    ("80000 €", Decimal("80000.00")), ("80 000,00 EUR", Decimal("80000.00")), ("€ 1 234,5", Decimal("1234.50")),
    ("12 500,75 euros", Decimal("12500.75")), ("1.234.567,89 €", Decimal("1234567.89")),
    ("80 000.00 EUR", Decimal("80000.00")),
])
def test_decp_amount_text_with_currency_is_read_by_the_strict_rules(raw, expected):
    from achats.decp_recount import _valid_amount
    from achats.sources.decp import check_amount

    value, status, issue = check_amount(raw)
    assert (value, status, issue) == (expected, "valid", None)
    assert _valid_amount(raw, 1e9) == expected  # the independent recount agrees


@pytest.mark.parametrize("raw", ["250,000 €", "12,34,56 €", "1,5.0 EUR", "80 000 €uros de plus", "€", "- 5 €",
                                 "80000 $"])
def test_decp_ambiguous_or_foreign_currency_text_stays_refused(raw):
    from achats.decp_recount import _valid_amount
    from achats.sources.decp import check_amount

    value, status, issue = check_amount(raw)
    assert value is None and status in ("unreadable", "negative") and issue
    assert _valid_amount(raw, 1e9) is None


def test_contracts_summary_counts_contracts_whose_date_does_not_exist(tmp_path):
    import duckdb

    from achats.sources.decp import read_contracts
    from achats.warehouse import run_sql, write_frame

    data = _decp_folder(tmp_path, [_marche("A", 100, "2024-02-30"), _marche("B", 200, None),
                                   _marche("C", 300, "2024-03-01")])
    con = duckdb.connect()
    run_sql(con, "reference/macros.sql")
    con.execute("CREATE TABLE cls_supplier_status (siren VARCHAR, is_active BOOLEAN, ceased_date DATE, "
                "manual_is_ess BOOLEAN, is_ess_undated BOOLEAN, is_inclusive BOOLEAN, in_ess_france BOOLEAN, "
                "is_endowment_fund BOOLEAN)")
    con.execute("CREATE TABLE src_esus (siren VARCHAR, date_agrement DATE, date_fin_agrement DATE)")
    con.execute("CREATE TABLE stg_siae_unit (siren VARCHAR, is_whole_unit BOOLEAN, sirets VARCHAR[], "
                "unlisted_active BIGINT)")
    con.execute("CREATE TABLE stg_unite_legale_historique (siren VARCHAR, start_date DATE, end_date DATE, "
                "categorie_juridique VARCHAR, insee_ess_flag VARCHAR, is_active BOOLEAN)")
    con.execute("CREATE TABLE ref_categorie_juridique_ess (categorie_juridique VARCHAR, ess_family VARCHAR, "
                "is_ess_by_statute BOOLEAN)")
    write_frame(con, "src_contracts", read_contracts(data, None))
    run_sql(con, "marts/mart_contracts_summary.sql")
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT period, contract_count, undated_contract_count, unusable_date_contract_count, notified_amount_eur "
        "FROM mart_contracts_summary").fetchall()}
    assert got["sans date"] == (2, 2, 1, Decimal("300.00"))
    assert got["ALL"] == (3, 2, 1, Decimal("600.00"))


# --- 2 and 3. partial overlaps and corrected re-exports across files -------------------------

HEAD = "Fournisseur;SIRET;Date mandat;N° mandat;Montant TTC\n"


def _rows(*rows: tuple) -> str:
    return HEAD + "".join(f"{n};{s};{d};{m};{a}\n" for n, s, d, m, a in rows)


JAN = [("ALPHA", "73282932000074", f"{d:02d}/01/2024", f"M{d}", f"{100 + d},00") for d in range(1, 11)]


def test_partial_overlap_with_mandate_numbers_counts_each_payment_once(tmp_path):
    # a January export and a January–February export: 3 of 10 rows of the second one are January's
    feb = JAN[:3] + [("BETA", "", f"{d:02d}/02/2024", f"F{d}", "10,00") for d in range(1, 8)]
    write_export(tmp_path, "janvier.csv", _rows(*JAN))
    lines, files = read_purchase_sources(write_export(tmp_path, "fevrier.csv", _rows(*feb)))
    dup = lines.filter(pl.col("status") == "duplicate")
    assert sorted(dup["source_row"].to_list()) == [1, 2, 3]
    assert set(dup["source_file"]) == {"purchases/janvier.csv"} or set(dup["source_file"]) == {"purchases/fevrier.csv"}
    assert "déjà présent" in dup["quarantine_reason"][0]
    assert ok_total(lines) == sum(Decimal(100 + d) for d in range(1, 11)) + 70
    assert lines.height == 20  # every input row accounted for


def test_identical_payments_inside_one_file_stay_two_payments(tmp_path):
    rows = [JAN[0], JAN[0], JAN[1]]
    write_export(tmp_path, "a.csv", _rows(*rows))
    lines, _ = read_purchase_sources(write_export(tmp_path, "b.csv", _rows(JAN[0], JAN[5])))
    # b.csv's M1 is the same payment as one of a.csv's two M1 rows: a.csv keeps both of its own
    ok = lines.filter(pl.col("status") == "ok")
    assert ok.filter(pl.col("source_file") == "purchases/a.csv").height == 3
    assert lines.filter(pl.col("status") == "duplicate").height == 1
    assert ok_total(lines) == Decimal("101") * 2 + Decimal("102") + Decimal("106")


def test_weak_overlap_is_warned_and_shown_in_the_files_table(tmp_path):
    from achats.sources.purchases import duplicate_warnings

    head = "Fournisseur;Date mandat;Montant TTC\n"
    a = head + "".join(f"ALPHA;{d:02d}/01/2024;{100 + d},00\n" for d in range(1, 11))
    b = head + "ALPHA;01/01/2024;101,00\nALPHA;02/01/2024;102,00\n" + "".join(
        f"BETA;{d:02d}/02/2024;10,00\n" for d in range(1, 9))
    write_export(tmp_path, "a.csv", a)
    lines, files = read_purchase_sources(write_export(tmp_path, "b.csv", b))
    assert (lines["status"] == "ok").all()  # no proof: counted, but not silently
    row = files.filter(pl.col("source_file") == "purchases/b.csv").row(0, named=True)
    assert row["possible_overlap_of"] == "purchases/a.csv" and row["possible_overlap_row_count"] == 2
    assert row["possible_overlap_eur"] == Decimal("203.00")
    warning = [w for w in duplicate_warnings(files) if "purchases/b.csv" in w]
    assert warning and "purchases/a.csv" in warning[0] and "203,00 €" in warning[0]


def test_corrected_reexport_counts_the_later_version_once(tmp_path):
    first = _rows(*JAN[:3])
    later = _rows(JAN[0], ("ALPHA", "73282932000074", "02/01/2024", "M2", "150,00"), JAN[2],
                  ("ALPHA", "73282932000074", "05/02/2024", "M40", "7,00"))
    write_export(tmp_path, "export_1.csv", first)
    lines, files = read_purchase_sources(write_export(tmp_path, "export_2.csv", later))
    old = lines.filter((pl.col("source_file") == "purchases/export_1.csv") & (pl.col("source_row") == 2))
    assert old["status"][0] == "duplicate" and old["row_kind"][0] == "superseded"
    assert old["duplicate_of"][0] == "purchases/export_2.csv"
    reason = old["quarantine_reason"][0]
    assert "102,00 €" in reason and "150,00 €" in reason and "ligne 3" in reason and "export_2.csv" in reason
    new = lines.filter((pl.col("source_file") == "purchases/export_2.csv") & (pl.col("source_row") == 2))
    assert new["status"][0] == "ok"
    assert ok_total(lines) == Decimal("101") + Decimal("150") + Decimal("103") + Decimal("7")
    assert lines.height == 7


def test_corrected_reexport_wins_whatever_the_files_order(tmp_path):
    # the later export is the one whose payments go further in time, not the one read last
    later = _rows(("ALPHA", "73282932000074", "02/01/2024", "M2", "150,00"),
                  ("ALPHA", "73282932000074", "05/02/2024", "M40", "7,00"))
    write_export(tmp_path, "b_janvier.csv", _rows(*JAN[:3]))
    lines, _ = read_purchase_sources(write_export(tmp_path, "a_fevrier.csv", later))
    kept = lines.filter((pl.col("status") == "ok") & (pl.col("mandate_number") == "M2"))
    assert kept["source_file"].to_list() == ["purchases/a_fevrier.csv"]


# --- properties: values read back exactly ----------------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_LOWER = "abcdefghijklmnopqrstuvwxyzéèêàâçôîùû"
_WORD = st.text(alphabet=_LOWER, min_size=2, max_size=9).filter(lambda w: any(c.isascii() for c in w))
# « Ets » first: a name made of one random word could be « TOTAL », rightly read as a total row
_NAME = st.tuples(st.lists(_WORD, min_size=1, max_size=4), st.sampled_from(["upper", "title", "lower"])).map(
    lambda t: "Ets " + " ".join(getattr(w, t[1])() for w in t[0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_NAME, min_size=1, max_size=6),
       encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "mac_roman", "cp1252", "utf-8"]))
def test_french_names_read_back_exactly_in_every_encoding(tmp_path_factory, names, encoding):
    root = tmp_path_factory.mktemp("enc")
    text = "Fournisseur;Montant TTC\n" + "".join(f"{n};{i},50\n" for i, n in enumerate(names, start=1))
    try:
        df = read_purchases(write_export(root, "e.csv", text, encoding))
    except InputError as e:
        # a few accented capitals tell nothing (« AÎ » in Mac Roman is « Aë » in Windows-1252): the
        # run may stop and say so, never read other names
        assert "indécidable" in str(e) and encoding in ("mac_roman", "cp1252"), str(e)
        return
    assert df["supplier_name"].to_list() == names
    assert ok_total(df) == sum(Decimal(i) + Decimal("0.5") for i in range(1, len(names) + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.integers(min_value=1, max_value=10**9), st.sampled_from(["D", "C", "Débit", "Crédit",
                                                                                             "Annulation", "Mandat", ""])),
                     min_size=1, max_size=12))
def test_direction_gives_the_sign_property(tmp_path_factory, rows):
    root = tmp_path_factory.mktemp("dir")
    body = "".join(f"F{i};{c // 100:,},{c % 100:02d};{d}\n".replace(",", " ", (f"{c // 100:,}".count(",")))
                   for i, (c, d) in enumerate(rows))
    df = read_purchases(write_export(root, "d.csv", "Fournisseur;Montant TTC;Sens\n" + body))
    expected = sum(Decimal(c) / 100 * (-1 if d in ("C", "Crédit", "Annulation") else 1) for c, d in rows)
    assert (df["status"] == "ok").all() and ok_total(df) == expected


@given(cents=st.integers(min_value=1, max_value=99_999_998_00),
       style=st.sampled_from(["{u} €", "{s},{c} €", "{s},{c} EUR", "{p}.{c} €", "€ {u},{c}", "{d},{c} euros"]))
def test_decp_currency_amounts_read_back_exactly(cents, style):
    from achats.decp_recount import _valid_amount
    from achats.sources.decp import check_amount

    units, c = divmod(cents, 100)
    text = style.format(u=units, c=f"{c:02d}", s=f"{units:,}".replace(",", " "), p=f"{units:,}",
                        d=f"{units:,}".replace(",", "."))
    value = Decimal(units) if style == "{u} €" else Decimal(cents) / 100
    assume(value > 0 and not (units >= 99_999_999 and set(str(units)) == {"9"}))  # zero, « sans maximum »
    assert check_amount(text) == (value, "valid", None), text
    assert _valid_amount(text, 1e9) == value, text


def test_euro_sign_glued_to_a_letter_is_not_french(tmp_path):
    """Windows-1252 « AÛ » is Mac Roman « A€ »: a euro sign glued to a letter is the misread."""
    text = "Fournisseur;Montant TTC\nEts AÛ;1,50\nEts BOB;2,50\n"
    df = read_purchases(write_export(tmp_path, "e.csv", text, "cp1252"))
    assert df["supplier_name"].to_list() == ["Ets AÛ", "Ets BOB"]


def test_one_letter_that_reads_french_in_two_code_pages_stops_the_run(tmp_path):
    """« Ets Ùa » written in Mac Roman is « Ets ôa » in Windows-1252: both plausible, one byte of
    evidence; the run stops and says so rather than publish a name nobody typed."""
    for enc in ("mac_roman", "cp1252"):
        with pytest.raises(InputError, match="indécidable"):
            read_purchases(write_export(tmp_path / enc, "e.csv", "Fournisseur;Montant TTC\nEts Ùa;1,50\n"
                                        if enc == "mac_roman" else "Fournisseur;Montant TTC\nEts ôa;1,50\n", enc))
