"""Second computations of the published purchase figures, written apart from the SQL that
publishes them, so that a blocking check compares two independent results.

`objective8_mismatches` recomputes mart_objective8_summary from the line level (purchase lines,
their supplier decision and their supplier's status at the line date) in polars; the ESS point
and its bounds, which rest on match probabilities, are held between hard bounds instead: what a
decision by an identifier or a person makes sure, give or take every other line (a key accepted
by its name alone may be another unit, so it is open too).
`file_total_mismatches` re-reads every purchase file's accepted amount cells from the raw file,
with its own small amount parser (the csv module for text, python-calamine for a workbook: not the
reader's parser), and compares each file's total with the accepted lines' amounts.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
import warnings
import zipfile
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree as ET

import duckdb
import polars as pl

from achats.formatting import number_fr

CENT = Decimal("0.01")
# decisions on the name alone, never sure (the shipped model's acceptance error rate)
NAME_METHODS = ("name_exact", "name_fuzzy")
ZERO = Decimal("0.00")

# objective8_summary columns recomputed exactly, and how: (column, lines kept, summed or counted)
_EXACT = {
    "total_amount_eur": ("ok", None),
    "matched_ess_amount_eur": ("ok", "matched_ess"),
    "matched_non_ess_amount_eur": ("ok", "matched_non_ess"),
    "review_amount_eur": ("ok", "review"),
    "unmatched_amount_eur": ("ok", "unmatched"),
    "esus_amount_eur": ("ok", "esus"),
    "inclusive_amount_eur": ("ok", "inclusive"),
    "ess_or_inclusive_amount_eur": ("ok", "ess_or_inclusive"),
    "quarantined_amount_eur": ("quarantined", None),
    "duplicate_amount_eur": ("duplicate", None),
}


# _frame takes a DB-API result as Arrow on purpose (see there): DuckDB's advice to use a relation
# instead does not apply, and would be printed at each call
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning,
                        module=r"achats\.recount")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, schema: dict, params: dict | None = None) -> pl.DataFrame:
    """A query's rows as a polars frame with these column names and types, through execute() (a
    check may run on a connection whose last execute() result is unfinished; a relation would
    refuse it). As Arrow, not Python rows: half the time of the objective-8 recount's ten frames
    (≈ 50 ms a run), Decimal values built and read back for nothing."""
    result = con.execute(sql, params) if params else con.execute(sql)
    table = result.to_arrow_table()
    if table.num_columns != len(schema):
        raise ValueError(f"{table.num_columns} colonnes lues pour {len(schema)} attendues")
    return pl.from_arrow(table.rename_columns(list(schema))).cast(schema)


def _line_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every input line with its period, status, amount, supplier decision and status flags."""
    lines = _frame(con, "SELECT line_id, quarter, status, amount_eur, purchase_date IS NULL FROM stg_purchase_lines",
                   {"line_id": pl.String, "quarter": pl.String, "status": pl.String, "amount_eur": pl.Decimal(18, 2),
                    "is_undated": pl.Boolean})
    # a line decided without review (its candidates share one ESS outcome) is matched, yet its
    # point rests on its candidates' probabilities and its extreme bounds keep them all: open too
    decided = _frame(con, """SELECT r.line_id, r.siren, r.match_status, r.match_method,
                                    m.id_siren IS NOT NULL OR coalesce(m.is_decided_without_review, false) AS set_aside,
                                    coalesce(m.is_decided_without_review, false) AS unreviewed
                             FROM res_purchase_line_supplier AS r JOIN res_supplier_match AS m USING (supplier_key)""",
                     {"line_id": pl.String, "siren": pl.String, "match_status": pl.String, "match_method": pl.String,
                      "set_aside": pl.Boolean, "unreviewed": pl.Boolean})
    flags = _frame(con, "SELECT line_id, is_ess_at_date, is_esus_at_date, is_inclusive_at_date, "
                   "is_known_unit AND NOT is_active_at_date AS is_ceased FROM cls_purchase_line_status",
                   {"line_id": pl.String, "is_ess_at_date": pl.Boolean, "is_esus_at_date": pl.Boolean,
                    "is_inclusive_at_date": pl.Boolean, "is_ceased": pl.Boolean})
    flags = flags.drop("is_inclusive_at_date").join(_inclusive_lines(con), on="line_id", how="left")
    df = lines.join(decided, on="line_id", how="left").join(flags, on="line_id", how="left")
    df = _credit_notes_follow_their_payment(con, df)
    # a credit note of a unit also paid without a date may reverse that payment, whichever payment
    # the SQL's pairing picks: open in the extreme bounds too
    undated = df.filter((pl.col("status") == "ok") & pl.col("is_undated") & (pl.col("amount_eur") > 0))["siren"]
    df = df.with_columns(is_undated=pl.col("is_undated").fill_null(False)
                         | ((pl.col("amount_eur") < 0) & pl.col("siren").is_in(undated.drop_nulls().implode())))
    ess, esus, incl = (pl.col(c).fill_null(False) for c in ("is_ess_at_date", "is_esus_at_date", "is_inclusive_at_date"))
    matched = pl.col("match_status") == "matched"
    return df.with_columns(
        period=pl.col("quarter").fill_null("sans date"),
        matched_ess=matched & ess, matched_non_ess=matched & ~ess,
        review=pl.col("match_status") == "review", unmatched=pl.col("match_status") == "unmatched",
        unreviewed=matched & pl.col("unreviewed").fill_null(False),
        # accepted by its name alone: another unit at the measured error rate, so open in the
        # interval and in the extreme bounds alike (an identifier or a person's decision is sure)
        by_name=matched & ~pl.col("unreviewed").fill_null(False) & pl.col("match_method").is_in(NAME_METHODS),
        # a matched line whose identifier designates another unit: the extreme bounds keep both; so
        # for a line without a date, whose unit's status may change within its exercice
        set_aside_ess=matched & ess & (pl.col("set_aside").fill_null(False) | pl.col("match_method").is_in(NAME_METHODS)
                                       | pl.col("is_undated").fill_null(False)),
        # and one paid to a unit ceased at its date: the money may still be its own (its liquidation)
        open_extreme=~matched | pl.col("set_aside").fill_null(False) | pl.col("match_method").is_in(NAME_METHODS)
        | pl.col("is_ceased").fill_null(False) | pl.col("is_undated").fill_null(False),
        esus=matched & esus, inclusive=matched & incl, ess_or_inclusive=matched & (ess | incl))


def _inclusive_lines(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Each matched line's inclusive flag, read again from the lists and SIRENE (not from
    cls_line_unit_status): the lists name establishments, so a line is inclusive when its SIRET is
    listed, its unit is listed by SIREN alone or has an ESAT's main activity (88.10C), or it names
    no establishment and its unit has no active one outside the lists; never for a unit ceased at
    its date."""
    siae = _frame(con, "SELECT siren, siret FROM src_siae", {"siren": pl.String, "siret": pl.String})
    whole = set(siae.filter(pl.col("siret").is_null())["siren"])
    listed_sirets = set(siae["siret"].drop_nulls())
    listed_sirens = set(siae["siren"])
    units = _frame(con, "SELECT siren, naf FROM stg_unite_legale", {"siren": pl.String, "naf": pl.String})
    esat = set(units.filter(pl.col("naf") == "88.10C")["siren"])
    # active establishments of listed units (a national stock holds millions of others)
    others = {siren for siren, siret in con.execute(
        "SELECT siren, siret FROM stg_etablissement WHERE is_active AND siren IN (SELECT siren FROM src_siae)"
    ).fetchall() if siret not in listed_sirets}
    lines = _frame(con, """SELECT r.line_id, r.siren, r.siret,
                                  coalesce(c.is_known_unit AND NOT c.is_active_at_date, false) AS ceased,
                                  c.status_date
                           FROM res_purchase_line_supplier AS r
                           LEFT JOIN cls_purchase_line_status AS c USING (line_id)
                           WHERE r.siren IS NOT NULL""",
                   {"line_id": pl.String, "siren": pl.String, "siret": pl.String, "ceased": pl.Boolean,
                    "status_date": pl.Date})
    closed, listed_since = _moved_establishments(con, listed_sirets)
    known = set(units["siren"])
    flag = [siren in known and not ceased and (
        siren in whole or siren in esat or (
            siret in listed_sirets
            # a closed establishment of a unit that moved: every active one is listed, and one of them
            # was already open at the line's date
            or (siret in closed and siren not in others and day is not None
                and listed_since.get(siren, date.max) <= day)
            if siret else siren in listed_sirens and siren not in others))
        for siren, siret, ceased, day in zip(lines["siren"], lines["siret"], lines["ceased"], lines["status_date"],
                                             strict=True)]
    return pl.DataFrame({"line_id": lines["line_id"], "is_inclusive_at_date": pl.Series(flag, dtype=pl.Boolean)})


def _moved_establishments(con: duckdb.DuckDBPyConnection, listed_sirets: set[str]) -> tuple[set[str], dict[str, date]]:
    """Read from the SIRENE file itself (not stg_siae_unit): the closed establishments of the listed
    units, and for each unit the earliest creation date of its listed establishments still open."""
    rows = con.execute("""SELECT lpad(trim(siret), 14, '0'), etatAdministratifEtablissement, dateCreationEtablissement
                          FROM src_sirene_etablissement
                          WHERE left(lpad(trim(siret), 14, '0'), 9) IN (SELECT siren FROM src_siae)""").fetchall()
    closed: set[str] = set()
    since: dict[str, date] = {}
    for siret, state, created in rows:
        if state == "F":
            closed.add(siret)
        elif siret in listed_sirets:
            try:
                day = date.fromisoformat((created or "").strip())
            except ValueError:
                continue
            since[siret[:9]] = min(day, since.get(siret[:9], date.max))
    return closed - listed_sirets, since


def _budget_words(column: str) -> pl.Expr:
    """The words of a line's budget cell (« Budget annexe eau », « CCAS »), null for a service or
    direction cell: a credit names a payment by mandate n° or invoice only within one budget."""
    words = (pl.col(column).str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
             .str.replace_all(r"[^a-z0-9]+", " ").str.strip_chars().str.split(" ").list.unique())
    return pl.when(words.list.eval(pl.element().is_in(["budget", "budgets", "bud", "ccas", "cias"])).list.any()) \
        .then(words).alias(column)


def _one_budget(credit: str = "budget", payment: str = "paid_budget") -> pl.Expr:
    """Whether a credit and a payment may be of one budget: either cell blank or not a budget,
    or every word of one found in the other (« Budget annexe » and « Budget annexe eau »)."""
    return ((pl.col(credit).list.set_difference(pl.col(payment)).list.len() == 0)
            | (pl.col(payment).list.set_difference(pl.col(credit)).list.len() == 0)).fill_null(True)


def _credit_notes_follow_their_payment(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> pl.DataFrame:
    """A matched credit note takes the status flags of the payment it reverses: the positive matched
    line of the same unit whose mandate n° the credit's text cites (same exercice, file and sheet),
    else whose invoice it names, else with its own mandate number (same file and sheet, and same
    exercice when the file states both; on or before it, else after it), else the
    latest dated on or before it, each of its own budget when both lines name one (status depends only on the unit and the date, so any such line's
    flags will do)."""
    keys = _frame(con, """SELECT p.line_id, r.siren, p.mandate_number,
                                 coalesce(p.purchase_date, make_date(p.fiscal_year, 7, 1)) AS day,
                                 p.cited_mandate, p.invoice_ref, p.fiscal_year, p.fiscal_year_stated AS stated,
                                 p.source_file || '/' || coalesce(p.source_sheet, '') AS source,
                                 p.buying_entity AS budget
                          FROM stg_purchase_lines AS p JOIN res_purchase_line_supplier AS r USING (line_id)
                          WHERE p.status = 'ok' AND r.match_status = 'matched'""",
                  {"line_id": pl.String, "siren": pl.String, "mandate_number": pl.String, "day": pl.Date,
                   "cited_mandate": pl.String, "invoice_ref": pl.String, "fiscal_year": pl.Int32,
                   "stated": pl.Boolean, "source": pl.String, "budget": pl.String})
    keys = keys.with_columns(_budget_words("budget"))
    # an undated line without exercice is judged at the reference date, after every dated line
    keys = keys.with_columns(pl.col("day").fill_null(pl.date(9999, 12, 31)))
    # an undated payment may have been paid on any day of its exercice: its credit notes too
    cols = ["is_ess_at_date", "is_esus_at_date", "is_inclusive_at_date", "is_ceased", "is_undated"]
    lines = df.select("line_id", "amount_eur", *cols).join(keys, on="line_id")
    named = _named_payment(lines, cols)
    paid = lines.filter(pl.col("amount_eur") > 0).select("siren", "mandate_number", "day", "fiscal_year", "stated",
                                                         "source", "budget", *cols).sort("day")
    credits = lines.filter(pl.col("amount_eur") < 0).select("line_id", "siren", "mandate_number", "day",
                                                            "fiscal_year", "stated", "source", "budget").sort("day")
    if credits.is_empty() or paid.is_empty():
        return df
    # the payment of its own mandate number, of the same file and sheet and, when the file states
    # both exercices, the same one (n°s restart per budget and exercice): the latest on or before
    # it (rank 0), else the first after it (1)
    before = pl.col("paid_day") <= pl.col("day")
    same_year = ((pl.col("fiscal_year") == pl.col("paid_year"))
                 | ~(pl.col("stated") & pl.col("paid_stated"))).fill_null(True)
    same_mandate = (credits.filter(pl.col("mandate_number").is_not_null())
                    .join(paid.rename({"day": "paid_day", "fiscal_year": "paid_year", "source": "paid_source",
                                       "stated": "paid_stated", "budget": "paid_budget"}),
                          on=["siren", "mandate_number"])
                    .filter((pl.col("source") == pl.col("paid_source")) & same_year & _one_budget())
                    .with_columns(rank=pl.when(before).then(0).otherwise(1))
                    .sort("rank", pl.when(before).then(-pl.col("paid_day").cast(pl.Int32))
                          .otherwise(pl.col("paid_day").cast(pl.Int32)), maintain_order=True)
                    .unique("line_id", keep="first", maintain_order=True)
                    .select("line_id", "rank", "paid_day", *cols))
    # else the latest payment on or before it, of its own budget when both lines name one
    latest = (credits.join(paid.select("siren", "day", "budget", *cols)
                           .rename({"day": "paid_day", "budget": "paid_budget"}), on="siren")
              .filter((pl.col("paid_day") <= pl.col("day")) & _one_budget())
              .sort("paid_day", descending=True).unique("line_id", keep="first"))
    found = pl.concat([named, same_mandate,
                       latest.select("line_id", "paid_day", *cols).with_columns(rank=pl.lit(2))],
                      how="diagonal_relaxed")
    found = (found.filter(pl.col("paid_day").is_not_null()).sort("rank").unique("line_id", keep="first")
             .select("line_id", *[pl.col(c).alias(f"paid_{c}") for c in cols]))
    return (df.join(found, on="line_id", how="left")
            .with_columns(*[pl.coalesce(f"paid_{c}", c).alias(c) for c in cols])
            .drop([f"paid_{c}" for c in cols]))


def _named_payment(lines: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Per credit, the flags of the payment it names: the mandate n° it cites (compared as digits
    without leading zeros or a « .0 », same exercice when both have one, same file and sheet: n°s
    restart per budget; rank -2), else the same invoice (rank -1); among several, one of its own
    exercice, then of its own file and sheet, then the latest on or before it, then the first after it."""
    number = (pl.col("mandate_number").str.strip_chars().str.extract(r"^0*([0-9]+?)(?:\.0+)?$", 1)
              .alias("number"))
    paid = lines.filter(pl.col("amount_eur") > 0).select(
        "siren", number, "invoice_ref", pl.col("fiscal_year").alias("paid_year"), pl.col("source").alias("paid_source"),
        pl.col("day").alias("paid_day"), pl.col("budget").alias("paid_budget"), *cols)
    credits = lines.filter(pl.col("amount_eur") < 0).select("line_id", "siren", "cited_mandate", "invoice_ref",
                                                             "fiscal_year", "source", "day", "budget")
    by_cite = credits.filter(pl.col("cited_mandate").is_not_null()).join(
        paid.drop("invoice_ref"), left_on=["siren", "cited_mandate"], right_on=["siren", "number"]).filter(
        (pl.col("fiscal_year") == pl.col("paid_year")).fill_null(True)
        & (pl.col("source") == pl.col("paid_source")) & _one_budget()).with_columns(rank=pl.lit(-2))
    by_invoice = credits.filter(pl.col("invoice_ref").is_not_null()).join(
        paid.drop("number"), on=["siren", "invoice_ref"]).filter(_one_budget()).with_columns(rank=pl.lit(-1))
    keep = ["line_id", "rank", "fiscal_year", "paid_year", "source", "paid_source", "day", "paid_day", *cols]
    both = pl.concat([by_cite.select(keep), by_invoice.select(keep)])
    later = pl.col("paid_day") > pl.col("day")
    return (both.sort(pl.col("rank"), (pl.col("fiscal_year") != pl.col("paid_year")).fill_null(True),
                      pl.col("source") != pl.col("paid_source"), later,
                      pl.when(later).then(pl.col("paid_day").cast(pl.Int32)).otherwise(-pl.col("paid_day").cast(pl.Int32)),
                      maintain_order=True)
            .unique("line_id", keep="first", maintain_order=True)
            .select("line_id", "rank", pl.col("paid_day"), *cols))


def _sums(df: pl.DataFrame) -> pl.DataFrame:
    """The exact figures of each group of lines (polars aggregations, no SQL)."""
    amount = pl.col("amount_eur")
    aggs = [amount.filter((pl.col("status") == status) & (pl.lit(True) if flag is None else pl.col(flag)))
            .sum().alias(col) for col, (status, flag) in _EXACT.items()]
    ok_uncertain = ((pl.col("status") == "ok")
                    & (pl.col("review") | pl.col("unmatched") | pl.col("unreviewed") | pl.col("by_name")))
    aggs += [
        pl.col("status").is_in(["ok", "quarantined"]).sum().alias("line_count"),
        (pl.col("status") == "quarantined").sum().alias("quarantined_line_count"),
        (pl.col("status") == "duplicate").sum().alias("duplicate_line_count"),
        amount.filter(ok_uncertain & (amount < 0)).sum().alias("uncertain_credit"),
        amount.filter(ok_uncertain & (amount > 0)).sum().alias("uncertain_spend"),
        amount.filter((pl.col("status") == "ok") & pl.col("set_aside_ess")).sum().alias("set_aside_ess"),
        amount.filter((pl.col("status") == "ok") & (pl.col("unreviewed") | pl.col("by_name")) & pl.col("matched_ess"))
        .sum().alias("unreviewed_ess"),
        amount.filter((pl.col("status") == "ok") & pl.col("open_extreme") & (amount < 0)).sum().alias("open_credit"),
        amount.filter((pl.col("status") == "ok") & pl.col("open_extreme") & (amount > 0)).sum().alias("open_spend"),
    ]
    return df.group_by("period").agg(aggs)


def _named_ties(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Each credit note tied to the one payment it names, of the same supplier (matched unit, else
    name key): the mandate n° its text cites, else its invoice, else its own mandate n°, the first of
    these that names any payment; a mandate n° only in the same file and sheet and the same exercice
    (for its own n°, when the file states both). A reference that names several payments, or an invoice (namesakes may
    number theirs alike), ties nothing: the credit then counts on its own, which only widens a bound."""
    rows = _frame(con, """SELECT p.line_id, p.amount_eur, r.match_status, r.siren, r.supplier_key, p.mandate_number,
                                 p.cited_mandate, p.invoice_ref, p.fiscal_year, p.fiscal_year_stated AS stated,
                                 p.source_file || '/' || coalesce(p.source_sheet, '') AS source,
                                 p.buying_entity AS budget
                          FROM stg_purchase_lines AS p JOIN res_purchase_line_supplier AS r USING (line_id)
                          WHERE p.status = 'ok'""",
                  {"line_id": pl.String, "amount_eur": pl.Decimal(18, 2), "match_status": pl.String,
                   "siren": pl.String, "supplier_key": pl.String, "mandate_number": pl.String,
                   "cited_mandate": pl.String, "invoice_ref": pl.String, "fiscal_year": pl.Int32,
                   "stated": pl.Boolean, "source": pl.String, "budget": pl.String})
    rows = rows.with_columns(_budget_words("budget"), payee=pl.when(pl.col("match_status") == "matched").then("u" + pl.col("siren"))
                             .otherwise("k" + pl.col("supplier_key")))
    paid = rows.filter(pl.col("amount_eur") > 0).select(
        "payee", pl.col("line_id").alias("paid_line_id"), pl.col("fiscal_year").alias("paid_year"), "invoice_ref",
        "mandate_number", pl.col("source").alias("paid_source"), pl.col("stated").alias("paid_stated"),
        pl.col("budget").alias("paid_budget"),
        pl.col("mandate_number").str.strip_chars().str.extract(r"^0*([0-9]+?)(?:\.0+)?$", 1).alias("number"))
    credits = rows.filter(pl.col("amount_eur") < 0)
    # a mandate n° is the buyer's numbering of one exercice and one budget (file and sheet)
    same_file = pl.col("source") == pl.col("paid_source")
    cited_year = (pl.col("fiscal_year") == pl.col("paid_year")).fill_null(True)
    # its own n°: a year only read from the dates may split a December mandate from its reduction
    own_year = ((pl.col("fiscal_year") == pl.col("paid_year"))
                | ~(pl.col("stated") & pl.col("paid_stated"))).fill_null(True)
    by = [
        credits.join(paid.drop("invoice_ref", "mandate_number"), left_on=["payee", "cited_mandate"],
                     right_on=["payee", "number"]).filter(same_file & cited_year & _one_budget()),
        credits.join(paid.drop("mandate_number", "number"), on=["payee", "invoice_ref"]).filter(_one_budget()),
        credits.join(paid.drop("invoice_ref", "number"), on=["payee", "mandate_number"])
        .filter(same_file & own_year & _one_budget()),
    ]
    found = pl.concat([b.select("line_id", "paid_line_id", rank=pl.lit(i)) for i, b in enumerate(by)])
    # an invoice n° is the supplier's own numbering, which namesakes may share: it ties nothing
    first = found.filter(pl.col("rank") == pl.col("rank").min().over("line_id")).filter(pl.col("rank") != 1)
    return (first.group_by("line_id").agg(pl.col("paid_line_id").n_unique().alias("n"),
                                          pl.col("paid_line_id").first())
            .filter(pl.col("n") == 1).select("line_id", "paid_line_id"))


def _open_supplier_bounds(con: duckdb.DuckDBPyConnection, df: pl.DataFrame) -> pl.DataFrame:
    """Per period and ALL, in cents, the worst and best ESS value of the lines open in the extreme
    bounds, supplier by supplier: a key with a sure unit (matched, not decided without review) is
    one supplier, so one unit (or none) for all its lines; a key that is only a name may be several
    namesakes, so each of its lines is a supplier of its own, but for a credit note and the payment
    it names (_named_ties). Under a unit, a line counts ESS or not by that unit's statuses (any it
    may take: at its date, its exercice for an undated line, its cessation set aside); a line that
    unit is not listed for may count either way. « None » counts 0; a unit no candidate names
    (missed) may be ESS: every line. Half a cent per line for the estimate, rounded line by line,
    that the bounds hold (none for a supplier of one line: its rounded estimate lies between 0 and
    its amount)."""
    keys = _frame(con, """SELECT r.line_id, r.supplier_key, CAST(round(p.amount_eur * 100) AS BIGINT) AS cents
                          FROM stg_purchase_lines AS p JOIN res_purchase_line_supplier AS r USING (line_id)""",
                  {"line_id": pl.String, "supplier_key": pl.String, "cents": pl.Int64})
    sure = df.select("line_id", sure=(pl.col("match_status") == "matched") & ~pl.col("unreviewed").fill_null(False))
    keys = (keys.join(sure, on="line_id", how="left").join(_named_ties(con), on="line_id", how="left")
            .with_columns(supplier_key=pl.when(pl.col("sure").fill_null(False)).then("k" + pl.col("supplier_key"))
                          .otherwise("l" + pl.coalesce("paid_line_id", "line_id")))
            .drop("sure", "paid_line_id"))
    units = _frame(con, """SELECT line_id, siren,
                                  least(is_ess_at_date, is_ess_on_every_day)::INT AS ess_min,
                                  greatest(is_ess_if_active, is_ess_if_active_on_some_day, is_ess_on_some_day)::INT
                                      AS ess_max
                           FROM cls_line_unit_status""",
                   {"line_id": pl.String, "siren": pl.String, "ess_min": pl.Int64, "ess_max": pl.Int64})
    lines = (df.filter((pl.col("status") == "ok") & pl.col("open_extreme")).select("line_id", "period")
             .join(keys, on="line_id"))
    out = []
    for grain in (lines, lines.with_columns(period=pl.lit("ALL"))):
        group = ["period", "supplier_key"]
        listed = grain.join(units, on="line_id").select(*group, "siren").unique()
        cents = pl.col("cents")
        per_unit = (listed.join(grain, on=group).join(units, on=["line_id", "siren"], how="left")
                    .with_columns(low=pl.when(pl.col("ess_min").is_null()).then(pl.min_horizontal(cents, 0))
                                  .otherwise(pl.min_horizontal(cents * pl.col("ess_min"), cents * pl.col("ess_max"))),
                                  high=pl.when(pl.col("ess_min").is_null()).then(pl.max_horizontal(cents, 0))
                                  .otherwise(pl.max_horizontal(cents * pl.col("ess_min"), cents * pl.col("ess_max"))))
                    .group_by(*group, "siren").agg(pl.col("low").sum(), pl.col("high").sum())
                    .group_by(group).agg(pl.col("low").min().alias("unit_low"), pl.col("high").max().alias("unit_high")))
        per_key = (grain.group_by(group).agg(cents.sum().alias("net"), pl.len().alias("n"))
                   .join(per_unit, on=group, how="left")
                   .with_columns(tol=pl.when(pl.col("n") > 1).then((pl.col("n") + 1) // 2).otherwise(0))
                   .with_columns(low=pl.min_horizontal(0, "net", pl.col("unit_low").fill_null(0)) - pl.col("tol"),
                                 high=pl.max_horizontal(0, "net", pl.col("unit_high").fill_null(0)) + pl.col("tol")))
        out.append(per_key.group_by("period").agg(pl.col("low").sum().alias("open_low"),
                                                  pl.col("high").sum().alias("open_high")))
    return pl.concat(out, how="vertical_relaxed")


def objective8_expected(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    """Per period ('sans date', each quarter, 'ALL'): the exact figures, and the hard bounds of the
    ESS amount: matched ESS, plus every credit (low) or every spend (high) of the uncertain lines;
    for the extreme bounds, each open supplier's worst and best case (_open_supplier_bounds)."""
    df = _line_frame(con)
    both = pl.concat([_sums(df), _sums(df.with_columns(period=pl.lit("ALL")))], how="vertical_relaxed")
    opened = {r["period"]: r for r in _open_supplier_bounds(con, df).to_dicts()}
    out: dict[str, dict[str, object]] = {"sans date": {}}
    for row in both.to_dicts():
        fig = {k: (v if "count" in k else Decimal(str(v or 0)).quantize(CENT)) for k, v in row.items() if k != "period"}
        sure = fig["matched_ess_amount_eur"] - fig.pop("unreviewed_ess")
        fig["ess_low_bound"] = sure + fig.pop("uncertain_credit")
        fig["ess_high_bound"] = sure + fig.pop("uncertain_spend")
        certain = fig["matched_ess_amount_eur"] - fig.pop("set_aside_ess")
        # never wider than every open credit on one side, every open spend on the other
        key_low, key_high = (Decimal(opened.get(row["period"], {}).get(k) or 0) / 100 for k in ("open_low", "open_high"))
        fig["extreme_low_bound"] = certain + max(fig.pop("open_credit"), key_low)
        fig["extreme_high_bound"] = certain + min(fig.pop("open_spend"), key_high)
        out[row["period"]] = fig
    if not out["sans date"]:  # published even at zero
        out["sans date"] = {**{c: ZERO for c in _EXACT}, "line_count": 0, "quarantined_line_count": 0,
                            "duplicate_line_count": 0, "ess_low_bound": ZERO, "ess_high_bound": ZERO,
                            "extreme_low_bound": ZERO, "extreme_high_bound": ZERO}
    return out


def objective8_mismatches(con: duckdb.DuckDBPyConnection, table: str = "mart_objective8_summary") -> list[str]:
    """Differences, in French, between the published figures and the line-level recount."""
    expected = objective8_expected(con)
    cols = [*_EXACT, "line_count", "quarantined_line_count", "duplicate_line_count", "ess_amount_eur",
            "ess_amount_low_eur", "ess_amount_high_eur", "ess_amount_extreme_low_eur", "ess_amount_extreme_high_eur"]
    rows = con.execute(f"SELECT period, {', '.join(cols)} FROM {table}").fetchall()
    published = {r[0]: dict(zip(cols, r[1:], strict=True)) for r in rows}
    out = []
    for period in sorted(set(expected) | set(published)):
        if period not in published:
            out.append(f"{period} : période absente des chiffres publiés ({_brief(expected[period])})")
            continue
        if period not in expected:
            out.append(f"{period} : période publiée sans aucune ligne d'achat")
            continue
        exp, pub = expected[period], published[period]
        for col in [*_EXACT, "line_count", "quarantined_line_count", "duplicate_line_count"]:
            got = pub[col] if "count" in col else Decimal(str(pub[col] or 0)).quantize(CENT)
            if got != exp[col]:
                out.append(f"{period} : {col} publié {_fr(got)} ≠ recompté {_fr(exp[col])}")
        for col in ("ess_amount_eur", "ess_amount_low_eur", "ess_amount_high_eur",
                    "ess_amount_extreme_low_eur", "ess_amount_extreme_high_eur"):
            lo, hi = ((exp["extreme_low_bound"], exp["extreme_high_bound"]) if "extreme" in col
                      else (exp["ess_low_bound"], exp["ess_high_bound"]))
            v = Decimal(str(pub[col] or 0)).quantize(CENT)
            if not lo - CENT <= v <= hi + CENT:
                out.append(f"{period} : {col} publié {_fr(v)} hors des bornes recomptées "
                           f"[{_fr(lo)} ; {_fr(hi)}] (ESS rapproché ± lignes incertaines)")
    return out


def _fr(v: object) -> str:
    return number_fr(v, 2, " ") if isinstance(v, Decimal) else str(v)


def _brief(fig: dict) -> str:
    return f"total {_fr(fig['total_amount_eur'])}, {fig['line_count']} lignes"


# -- accepted amounts re-read from the raw purchase files --------------------------------------

_ENCODINGS = {"UTF-16 (avec BOM)": "utf-16", "UTF-16 LE (sans BOM)": "utf-16-le", "UTF-16 BE (sans BOM)": "utf-16-be",
              "Windows-1252": "cp1252", "Mac Roman": "mac_roman", "ISO-8859-1 (Latin-1)": "latin-1",
              "ISO-8859-15 (Latin-9)": "iso8859-15"}
_SPACES = re.compile(r"[\s\u00a0\u202f'’]")


def parse_amount(text: object, decimal_mark: str | None) -> Decimal | None:
    """An amount cell as a person reads it, to the cent (half-cents rounded up, as Excel shows
    them): 1 234,56 / 1234.56 / (50,00) / 150,00- / -50 € / 300,00 CR (a credit) ; a number cell as it
    is. None when the text is not a plain amount (the reader decides those alone; not checked here)."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return Decimal(repr(float(text))).quantize(CENT, ROUND_HALF_UP)
    t = _SPACES.sub("", str(text)).upper().replace("€", "").replace("EUR", "")
    negative = False
    if re.search(r"[0-9](?:CR|DB|DR)\.?$", t):  # a ledger's accounting mark: CR credit, DB/DR debit
        negative, t = t.rstrip(".").endswith("CR"), t.rstrip(".")[:-2]
        if re.search(r"[-+()]", t):  # a sign besides the mark: refused by the reader too
            return None
    if t.startswith("(") and t.endswith(")"):
        negative, t = True, t[1:-1]
    if t.endswith("-"):
        negative, t = not negative, t[:-1]
    if t[:1] in "+-" and t:
        negative, t = negative ^ (t[0] == "-"), t[1:]
    if not re.fullmatch(r"\d[\d.,]*", t or "x"):
        return None
    if "," in t and "." in t:
        dec = "," if t.rfind(",") > t.rfind(".") else "."
    elif t.count(",") == 1 and not (decimal_mark == "." and re.search(r",\d{3}$", t)):
        dec = ","
    elif t.count(".") == 1 and not (decimal_mark == "," and re.search(r"\.\d{3}$", t)):
        dec = "."
    else:
        dec = None
    whole, _, frac = t.rpartition(dec) if dec else (t, "", "")
    if not dec:
        whole, frac = t, ""
    try:
        value = Decimal(re.sub(r"[.,]", "", whole) + ("." + frac if frac else ""))
    except InvalidOperation:
        return None
    return (-value if negative else value).quantize(CENT, ROUND_HALF_UP)


def _csv_rows(path: Path, encoding: str | None) -> dict[int, list[str]]:
    """Physical line number where each record starts -> its cells (csv module, own delimiter guess)."""
    data = path.read_bytes()
    codec = _ENCODINGS.get(encoding or "", "utf-8-sig")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delim = max([";", "\t", ",", "|"], key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    out, line = {}, 1
    for cells in reader:
        out[line] = cells
        line = reader.line_num + 1
    return out


_SPREADSHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_ATTR = re.compile(rb"""(?<![\w:.-])(r|hidden)\s*=\s*["']([^"']*)["']""")
_PACKAGE = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_SHEETS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheets/"


def _hidden_rows(path: Path, sheet: str) -> set[int]:
    """Row numbers of a sheet's rows marked hidden in its XML (hidden="1" or "true"; a row written
    without its number follows the one before it)."""
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rid = next(s.get(_DOC_REL) for s in book.iterfind(f"{_SHEETS}{_SPREADSHEET}sheet") if s.get("name") == sheet)
        target = next(r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
                      if r.get("Id") == rid and r.tag == _PACKAGE + "Relationship")
        xml = z.read(target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target))
    hidden, row = set(), 0
    for tag in _ROW_TAG.finditer(xml):
        attrs = dict(_ROW_ATTR.findall(tag.group(1)))
        row = int(attrs[b"r"]) if b"r" in attrs else row + 1
        if attrs.get(b"hidden", b"0") not in (b"", b"0", b"false", b"f"):
            hidden.add(row)
    return hidden


def _xlsx_rows(path: Path, sheet: str | None) -> tuple[dict[int, list[object]], set[int]]:
    """Row number -> cell values of a sheet, and its hidden rows, read by python-calamine (Rust),
    apart from the reader's parser: values as saved (a formula's last result), a merged range's
    value in its top-left cell only (the reader's reading; a covered cell may keep a value in the
    file). A workbook calamine cannot hand over (a date-formatted number past year 9999) is read
    by openpyxl's full load, as before."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        wb = CalamineWorkbook.from_path(str(path))
        try:
            names = [m.name for m in wb.sheets_metadata if m.typ != SheetTypeEnum.ChartSheet]
            name = sheet if sheet and sheet in names else names[0]
            ws = wb.get_sheet_by_name(name)
            rows = {i: values for i, values in enumerate(ws.to_python(skip_empty_area=False), start=1)}
            merged = ws.merged_cell_ranges or []
        finally:
            wb.close()
        hidden = _hidden_rows(path, name)
    except Exception:  # noqa: BLE001 - any value or part calamine refuses
        return _openpyxl_rows(path, sheet)
    for (r1, c1), (r2, c2) in merged:  # 0-based
        for r in range(r1 + 1, r2 + 2):
            cells = rows.get(r, [])
            for c in range(c1, min(c2 + 1, len(cells))):
                if (r, c) != (r1 + 1, c1):
                    cells[c] = None
    return rows, hidden


def _openpyxl_rows(path: Path, sheet: str | None) -> tuple[dict[int, list[object]], set[int]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
    hidden = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
    rows = {i: list(values) for i, values in enumerate(ws.iter_rows(values_only=True), start=1)}
    wb.close()
    return rows, hidden


@lru_cache(maxsize=8192)
def _raw_forms(raw: str) -> tuple[str, Decimal | None]:
    """A quoted amount's text without its spaces, and its number (None when it is none): worked
    out once per text, not at each of the ≈ 18 000 cells of a sample's files it is held against."""
    try:
        number = Decimal(raw.strip())
    except InvalidOperation:
        number = None
    return _SPACES.sub("", raw), number


def _same_text(cell: object, raw: str | None) -> bool:
    if raw is None or cell is None:
        return False
    text, number = _raw_forms(raw)
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        try:
            value = Decimal(repr(float(cell)))
            return number is not None and value == number
        except InvalidOperation:
            return False
    return _SPACES.sub("", str(cell)) == text


_PARTS = re.compile(r" ([+−]) ")


def _same_part(cell: object, part: tuple[int, str, bool]) -> bool:
    """The cell is the part's: a rate part (sign 0) matches its cell with or without the « % »
    the reader added."""
    sign, text, _ = part
    if sign != 0:
        return _same_text(cell, text)
    bare = text[:-1].rstrip() if text.endswith("%") else text
    return _same_text(cell, text) or _same_text(cell, bare) or _same_text(_percent_cell(cell), bare)


def _percent_cell(cell: object) -> object:
    """A spreadsheet's percent cell holds the fraction: 0,2 is shown « 20 % »."""
    if isinstance(cell, int | float) and not isinstance(cell, bool) and 0 < abs(cell) < 1:
        return float(Decimal(repr(float(cell))) * 100)
    return cell


def _raw_parts(raw: str | None) -> list[tuple[int, str, bool]]:
    """The cells an amount was made of, as the reader wrote them in amount_raw: one cell, or two
    joined by « + » (HT + TVA) or « − » (debit − credit, an empty debit on a credit line, or a
    mandate less its cancelled part). A cell between bars (« |−1 000,00| ») counts by its size: a
    cancelled part written negative is still taken off. A part ending in « % » is a VAT rate
    (« 1 000,00 + 20,00 % »): the line is HT plus its VAT at that rate, sign 0 here."""
    pieces = _PARTS.split(raw or "")
    parts = [(1, pieces[0].strip(), False)]
    for op, text in zip(pieces[1::2], pieces[2::2], strict=True):
        text = text.strip()
        bars = len(text) > 1 and text.startswith("|") and text.endswith("|")
        if op == "+" and text.endswith("%"):
            parts.append((0, text, False))
            continue
        parts.append((1 if op == "+" else -1, text[1:-1] if bars else text, bars))
    return parts


def _part_column(lines: list[dict], rows: dict[int, list], width: int, p: int, every: int = 32) -> int | None:
    """The column holding the lines' part `p` on most lines (the first of several such), None when
    no line's cell holds it. Every `every` lines, a column that could no longer reach the leading
    one even if it held the part on every line left is no longer tried: the same answer, without
    testing each of the ≈ 18 000 cells of a sample's files (most columns fall behind at once)."""
    todo = [ln for ln in lines if len(ln["parts"]) > p and ln["parts"][p][1]]
    hits = [0] * width
    tried = list(range(width))
    for k, ln in enumerate(todo, start=1):
        cells = rows.get(ln["source_line"]) or ()
        part = ln["parts"][p]
        for j in tried:
            if j < len(cells) and _same_part(cells[j], part):  # a cell past the end of its row: nothing
                hits[j] += 1
        if k % every == 0:
            best, left = max(hits, default=0), len(todo) - k
            tried = [j for j in tried if hits[j] + left >= best]
    best = max(hits, default=0)
    return hits.index(best) if best > 0 else None


def file_total_mismatches(con: duckdb.DuckDBPyConnection, data_dir: Path) -> tuple[list[str], int]:
    """Per purchase file (and sheet): the accepted lines' total against the same lines' amount
    cells re-read from the raw file. The amount column is the one whose cells hold the accepted
    lines' raw amounts; a line on a hidden row, or whose cell says another amount, is a mismatch.
    A sign set by a separate column (Sens, Débit/Crédit) is the reader's: only the size is
    compared there. Return (French mismatches, cells that are not plain amounts, left unchecked)."""
    files = _frame(con, "SELECT source_file, source_sheet, encoding, decimal_mark FROM src_purchase_files",
                   dict.fromkeys(("source_file", "source_sheet", "encoding", "decimal_mark"), pl.String))
    out, unchecked = [], 0
    for f in files.iter_rows(named=True):
        path = data_dir / f["source_file"]
        where = f["source_file"] + (f" (feuille « {f['source_sheet']} »)" if f["source_sheet"] else "")
        # plain rows, not a polars frame: its Decimal column costs ~0.1 s to turn back into Python
        lines = [dict(zip(("source_row", "source_line", "amount_raw", "amount_eur"), row, strict=True))
                 for row in con.execute("""SELECT source_row, source_line, amount_raw, amount_eur
                                           FROM src_purchase_lines WHERE status = 'ok' AND source_file = $f
                                           AND coalesce(source_sheet, '') = $s ORDER BY source_row""",
                                        {"f": f["source_file"], "s": f["source_sheet"] or ""}).fetchall()]
        if not lines or not path.is_file():
            if lines:
                out.append(f"{where} : fichier introuvable à la relecture")
            continue
        if path.suffix.lower() in (".csv", ".txt"):  # a .txt payment export is delimited text
            rows, hidden = _csv_rows(path, f["encoding"]), set()
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            rows, hidden = _xlsx_rows(path, f["source_sheet"])
        else:
            continue
        def cell(ln: dict, j: int, rows: dict = rows) -> object:
            cells = rows.get(ln["source_line"]) or []
            return cells[j] if j < len(cells) else None

        width = max((len(rows.get(ln["source_line"]) or []) for ln in lines), default=0)
        for ln in lines:
            ln["parts"] = _raw_parts(ln["amount_raw"])
        # the column of each part the reader added up (the amount, then a credit or a VAT one)
        cols = [_part_column(lines, rows, width, p) for p in range(max(len(ln["parts"]) for ln in lines))]
        if not cols or cols[0] is None and all(ln["parts"][0][1] for ln in lines):
            out.append(f"{where} : aucune colonne du fichier ne contient les montants acceptés")
            continue
        reread, counted, bad = ZERO, ZERO, []
        for ln in lines:
            value: Decimal | None = ZERO
            for p, (sign, text, size) in enumerate(ln["parts"]):
                if not text:  # an empty side of a debit/credit pair
                    continue
                raw = cell(ln, cols[p]) if cols[p] is not None else None
                if sign == 0:  # a VAT rate: HT plus its VAT, rounded to the cent as on an invoice
                    raw = _percent_cell(raw)
                    rate = parse_amount(str(raw).replace("%", ""), f["decimal_mark"]) if raw is not None else None
                    value = None if rate is None or value is None else value + (
                        abs(value) * rate / 100).quantize(CENT, ROUND_HALF_UP) * (-1 if value < 0 else 1)
                    continue
                part = parse_amount(raw, f["decimal_mark"]) if cols[p] is not None else None
                part = abs(part) if size and part is not None else part
                value = None if part is None or value is None else value + sign * part
            amount = Decimal(str(ln["amount_eur"])).quantize(CENT)
            if ln["source_line"] in hidden:
                bad.append(f"ligne {ln['source_line']} masquée, comptée {_fr(amount)}")
                continue
            if value is None:
                unchecked += 1
                continue
            if value != amount and value == -amount:
                value = amount  # sign from a Sens / Débit-Crédit column
            reread += value
            counted += amount
            if value != amount:
                bad.append(f"ligne {ln['source_line']} : cellule {_fr(value)}, comptée {_fr(amount)}")
        if bad or reread != counted:
            shown = " ; ".join(bad[:5]) + (" …" if len(bad) > 5 else "")
            out.append(f"{where} : total accepté {_fr(counted)} ≠ cellules relues {_fr(reread)} ({shown})")
    return out, unchecked


def not_paid_mismatches(con: duckdb.DuckDBPyConnection, data_dir: Path) -> tuple[list[str], int]:
    """Per purchase file (and sheet): source_file_reconciliation.not_paid_amount_eur against the
    not-paid lines' cells re-read from the raw file (a rejected mandate's amount, or a mandate not
    paid yet: its mandate's amount), found on each line's own row by the text the reader quoted
    (`amount_raw`) and parsed here. Return (French mismatches, lines whose cell is not one plain
    amount, left unchecked)."""
    # the published row of each file and sheet, under the names the view shows (masked when they
    # reveal a non-diffusible unit's name)
    files = con.execute("""
        WITH named AS (
            SELECT f.source_file, f.source_sheet, f.encoding, f.decimal_mark,
                   coalesce((SELECT m.masked_file FROM res_file_mask AS m WHERE m.source_file_md5 = md5(f.source_file)),
                            f.source_file) AS shown_file,
                   coalesce((SELECT m.masked_sheet FROM res_sheet_mask AS m
                             WHERE m.source_file_md5 = md5(f.source_file) AND m.source_sheet_md5 = md5(f.source_sheet)),
                            f.source_sheet) AS shown_sheet
            FROM src_purchase_files AS f)
        SELECT n.source_file, n.source_sheet, n.encoding, n.decimal_mark, n.shown_file, n.shown_sheet,
               r.not_paid_amount_eur
        FROM named AS n LEFT JOIN source_file_reconciliation AS r
            ON r.source_file = n.shown_file AND coalesce(r.source_sheet, '') = coalesce(n.shown_sheet, '')
        ORDER BY 1, 2""").fetchall()
    out, unchecked = [], 0
    for source_file, sheet, encoding, decimal_mark, shown_file, shown_sheet, shown in files:
        f = {"source_file": source_file, "source_sheet": sheet, "encoding": encoding, "decimal_mark": decimal_mark}
        lines = con.execute("""SELECT source_line, amount_raw, amount_eur FROM src_purchase_lines
                               WHERE row_kind = 'not_paid' AND source_file = $f AND coalesce(source_sheet, '') = $s
                               ORDER BY source_row""", {"f": source_file, "s": sheet or ""}).fetchall()
        where = shown_file + (f" (feuille « {shown_sheet} »)" if shown_sheet else "")
        path = data_dir / f["source_file"]
        if not lines or not path.is_file() or path.suffix.lower() not in (".csv", ".txt", ".xlsx", ".xlsm"):
            if not lines and shown not in (None, ZERO):
                out.append(f"{where} : {_fr(shown)} publiés en mandats non payés, aucune ligne non payée")
            continue
        if path.suffix.lower() in (".csv", ".txt"):
            rows = _csv_rows(path, f["encoding"])
        else:
            rows, _hidden = _xlsx_rows(path, f["source_sheet"])
        reread, partial = ZERO, False
        for line, raw, amount in lines:
            parts = _raw_parts(raw)
            if not raw:  # no amount at all: nothing published for it, and nothing re-read either
                unchecked += amount is None
                continue
            if len(parts) != 1 or parts[0][0] != 1:  # a composed amount: the file is left unchecked
                unchecked += 1
                partial = True
                continue
            cells = [c for c in rows.get(line) or [] if _same_part(c, parts[0])]
            value = parse_amount(cells[0], f["decimal_mark"]) if cells else None
            if value is None:
                out.append(f"{where}, ligne {line} : montant « {raw} » de la ligne non payée introuvable à la relecture")
                continue
            if amount is not None and value == -Decimal(str(amount)).quantize(CENT):
                value = -value  # sign from a Sens / Débit-Crédit column
            reread += value
        if not partial and (shown is None or Decimal(str(shown)).quantize(CENT) != reread):
            out.append(f"{where} : mandats non payés publiés {_fr(shown)} ≠ cellules relues {_fr(reread)}")
    return out, unchecked


def contracts_ess_expected(con: duckdb.DuckDBPyConnection) -> dict[str, Decimal]:
    """Amount notified to ESS titulaires per notification year ('sans date', 'ALL'), recounted in
    Python from the kept contract rows: each titulaire judged on the notification date — its
    SIRENE history period then (legal form of an ESS statute, INSEE flag, state), else its current
    unit, its ESUS agrément window — with a manual decision first, as the published figure."""
    statute = {cj for cj, ok in con.execute(
        "SELECT categorie_juridique, is_ess_by_statute FROM ref_categorie_juridique_ess").fetchall() if ok}
    # a fonds de dotation filed under 9300 is no fondation (loi n° 2014-856, art. 1)
    endowment = {r[0] for r in con.execute("SELECT siren FROM cls_supplier_status WHERE is_endowment_fund").fetchall()}
    history: dict[str, list[tuple]] = {}
    for siren, start, end, cj, flag, active in con.execute(
            "SELECT siren, start_date, end_date, categorie_juridique, insee_ess_flag, is_active "
            "FROM stg_unite_legale_historique").fetchall():
        history.setdefault(siren, []).append((start, end, cj in statute and siren not in endowment, flag == "O",
                                              active))
    units = {r[0]: r[1:] for r in con.execute(
        "SELECT siren, is_active, ceased_date, manual_is_ess, legal_form_family IS NOT NULL, has_insee_flag, "
        "in_ess_france FROM cls_supplier_status").fetchall()}
    esus: dict[str, list[tuple]] = {}
    for siren, start, end in con.execute("SELECT siren, date_agrement, date_fin_agrement FROM src_esus").fetchall():
        esus.setdefault(siren, []).append((start, end))
    out: dict[str, Decimal] = {"ALL": ZERO}
    for day, siren, amount in con.execute(
            "SELECT notification_date, titulaire_siren, amount_eur FROM src_contracts WHERE NOT is_duplicate "
            "AND status = 'ok' AND contract_kind = 'marche' AND amount_status = 'valid'").fetchall():
        period = str(day.year) if day else "sans date"
        out.setdefault(period, ZERO)
        unit = units.get(siren)
        if unit is None or amount is None:
            continue
        is_active, ceased, manual, statute_form, flag, ess_france = unit
        then = [h for h in history.get(siren, []) if day and h[0] and h[0] <= day and (h[1] is None or day <= h[1])]
        if then:
            _start, _end, statute_form, flag, active = max(then, key=lambda h: h[0])
        else:
            active = bool(is_active or (ceased is not None and day is not None and ceased > day))
        agreed = any(day and s and e and s <= day <= e for s, e in esus.get(siren, []))
        ess = manual if manual is not None else (statute_form or flag or ess_france or agreed)
        if active and ess:
            cents = Decimal(str(amount)).quantize(CENT, ROUND_HALF_UP)
            out[period] += cents
            out["ALL"] += cents
    return out


def contracts_ess_mismatches(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Differences, in French, between contracts_summary's ESS titulaire amounts and the recount."""
    expected = contracts_ess_expected(con)
    published = dict(con.execute("SELECT period, ess_titulaire_amount_eur FROM mart_contracts_summary").fetchall())
    return [f"{p} : montant aux titulaires ESS publié {_fr(published.get(p) or ZERO)} ≠ recompté {_fr(v)}"
            for p, v in sorted(expected.items()) if Decimal(str(published.get(p) or 0)).quantize(CENT) != v]
