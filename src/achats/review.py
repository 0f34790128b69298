"""The review queue: suppliers the matcher could not settle, out to a person and back as overrides.

Export groups lines by supplier key (normalised name, typed legal form, identifier, place; every
spelling it groups is listed), sorted by the expected
change of the ESS figure once decided (amount × uncertainty about ESS), with the top candidates. Import appends the filled-in decisions to `overrides.csv` with
who and when; a decision names the exported supplier key, so it applies to exactly the lines
that were reviewed. Nothing is overwritten: for each key the latest decision wins.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb

from achats.errors import InputError
from achats.export import COUNT_FORMAT, EUR_FORMAT, SCORE_FORMAT, safe_text, unquote, write_table
from achats.identifiers import clean_identifier
from achats.names import normalize
from achats.sources.purchases import (
    decode,
    header_key,
    read_csv_table,
    read_xlsx_tables,
    sniff_delimiter,
)

TOP = 3
HEADERS = ["Fournisseur saisi", "SIRET saisi", "Statut", "Motif", "Nombre de lignes", "Montant (€)"]
for _i in range(1, TOP + 1):
    HEADERS += [f"Candidat {_i} SIREN", f"Candidat {_i} nom", f"Candidat {_i} score", f"Candidat {_i} ESS"]
# every spelling the row's decision applies to, with its line count: the reviewer decides for all
SPELLINGS_HEADER = "Orthographes saisies décidées ensemble (lignes)"
HEADERS.append(SPELLINGS_HEADER)
DECISION_HEADERS = ["Décision (SIREN, SIRET ou « aucun »)", "Décidé par", "Note", "Clé fournisseur"]
OVERRIDE_COLUMNS = ["supplier_key", "supplier_name", "siret", "decision", "decided_by", "decided_at", "note"]
REVIEWER_ENV = "ACHATS_REVIEWER"
NO_MATCH = {"aucun", "aucune", "none", "introuvable", "-"}

_QUEUE_SQL = """
WITH lines AS (
    -- expected change of the ESS figure once a person decides: amount × E|ESS decided − P(ESS)|,
    -- i.e. amount × 2 p (1 − p) with p the probability that the supplier is ESS (0 when every
    -- candidate, and "none", have the same ESS status: such a decision moves nothing)
    SELECT r.supplier_key, count(*) AS line_count, sum(p.amount_eur) AS amount_eur,
           sum(abs(p.amount_eur) * 2 * coalesce(e.point_weight, 0) * (1 - coalesce(e.point_weight, 0))) AS expected_change
    FROM res_purchase_line_supplier AS r
    JOIN stg_purchase_lines AS p USING (line_id)
    LEFT JOIN mart_purchase_line_estimate AS e USING (line_id)
    WHERE r.match_status IN ('review', 'unmatched') AND r.match_method <> 'override'
    GROUP BY r.supplier_key
),
cands AS (
    SELECT
        c.supplier_key, c.rank, c.siren, c.score,
        CASE WHEN ps.siren IS NOT NULL OR coalesce(u.is_non_diffusible, false)
             THEN 'unité non diffusible (SIREN ' || c.siren || ')'
             ELSE coalesce(u.legal_name, c.name) END AS name,
        coalesce(s.is_ess_undated OR s.esus_last_start_date IS NOT NULL, false) AS is_ess
    FROM res_match_candidates AS c
    LEFT JOIN stg_unite_legale AS u USING (siren)
    LEFT JOIN cls_supplier_status AS s USING (siren)
    LEFT JOIN res_private_siren AS ps USING (siren)
    WHERE c.rank <= $top
),
spellings AS (
    -- the typed names as every output shows them (masked for a non-diffusible unit)
    SELECT supplier_key, string_agg(shown || ' (' || n || ')', ' | ' ORDER BY n DESC, shown) AS spellings
    FROM (
        SELECT k.supplier_key, coalesce(lm.supplier_name, p.supplier_name) AS shown, count(*) AS n
        FROM res_line_supplier_key AS k
        JOIN stg_purchase_lines AS p USING (line_id)
        LEFT JOIN res_line_mask AS lm USING (line_id)
        WHERE k.supplier_key IN (SELECT supplier_key FROM lines)
        GROUP BY ALL
    )
    GROUP BY supplier_key
)
SELECT m.supplier_key, m.supplier_name, m.siret_raw, m.match_status, m.reason, l.line_count, l.amount_eur,
       list(struct_pack(siren := c.siren, name := c.name, score := c.score, is_ess := c.is_ess)
            ORDER BY c.rank) FILTER (WHERE c.siren IS NOT NULL) AS candidates, sp.spellings
FROM lines AS l
JOIN res_supplier_match AS m USING (supplier_key)
LEFT JOIN spellings AS sp USING (supplier_key)
LEFT JOIN cands AS c USING (supplier_key)
GROUP BY ALL
ORDER BY any_value(l.expected_change) DESC, abs(any_value(l.amount_eur)) DESC, m.supplier_key
"""


def review_rows(con: duckdb.DuckDBPyConnection) -> list[list]:
    """One row per supplier to review, the decision expected to move the ESS figure most first."""
    out = []
    for key, name, siret, status, reason, n, amount, cands, spellings in con.execute(
            _QUEUE_SQL, {"top": TOP}).fetchall():
        row = [name, siret, "à vérifier" if status == "review" else "non rapproché", reason, n, round(amount, 2)]
        cands = list(cands or [])
        for i in range(TOP):
            c = cands[i] if i < len(cands) else None
            row += [c["siren"], c["name"], round(c["score"], 2), "oui" if c["is_ess"] else "non"] if c else [None] * 4
        out.append(row + [spellings, None, None, None, key])
    return out


def export_review(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Write the queue as .xlsx or .csv (by the file's suffix); return the number of suppliers."""
    rows = [[safe_text(v) for v in row] for row in review_rows(con)]
    header = HEADERS + DECISION_HEADERS
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=";", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8-sig")
        return len(rows)
    import openpyxl

    formats: list[str | None] = [None, None, None, None, COUNT_FORMAT, EUR_FORMAT]
    for _ in range(TOP):
        formats += [None, None, SCORE_FORMAT, None]
    formats += [None] + [None] * len(DECISION_HEADERS)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "À vérifier"
    # the decision columns, to fill in, stand out
    write_table(ws, header, formats, rows, freeze="B2",
                header_fills={i: "FFF2CC" for i in range(len(HEADERS), len(header))})
    ws.column_dimensions["D"].width = 60
    wb.save(path)
    return len(rows)


def _read_table(path: Path) -> list[tuple[int, list[str]]]:
    """(line the user sees in the file, cells) of every non-empty row."""
    if not path.exists():
        raise InputError(f"{path} : fichier introuvable")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        table = read_xlsx_tables(path, path.name)[0]
    else:
        table = read_csv_table(path, path.name)[0]
    return [(line, [unquote(c) for c in cells]) for line, cells in table.rows]


def now_text() -> str:
    """Local time to the second: decisions imported later sort later."""
    return dt.datetime.now().isoformat(timespec="seconds")


def read_decisions(path: Path, reviewer: str) -> list[dict]:
    """Filled-in rows of an exported review file, validated; errors name the row and field.
    A row's own « Décidé par » wins over `reviewer` (who imports)."""
    numbered = _read_table(path)
    rows = [cells for _, cells in numbered]
    if not rows:
        raise InputError(f"{path.name} : fichier vide")
    keys = [header_key(h) for h in rows[0]]
    need = {"name": header_key(HEADERS[0]), "siret": header_key(HEADERS[1]),
            "decision": header_key(DECISION_HEADERS[0]), "by": header_key(DECISION_HEADERS[1]),
            "note": header_key(DECISION_HEADERS[2]), "key": header_key(DECISION_HEADERS[3])}
    missing = [k for k, h in need.items() if h not in keys and k in ("name", "decision")]
    if missing:
        raise InputError(f"{path.name} : ce n'est pas un fichier de revue exporté par « achats review export » "
                         f"(colonnes « {HEADERS[0]} » et « {DECISION_HEADERS[0]} » attendues)")
    col = {k: keys.index(h) if h in keys else None for k, h in need.items()}
    at = now_text()
    out = []
    for n, cells in numbered[1:]:
        def get(k: str, cells=cells, strip: bool = True) -> str:
            i = col[k]
            value = one_line_end(cells[i] if i is not None and i < len(cells) else "")
            return value.strip() if strip else value

        decision = get("decision")
        if not decision:
            continue
        if decision.lower() in NO_MATCH:
            decision = "aucun"
        else:
            siret, siren = clean_identifier(decision)
            if not siren:
                raise InputError(f"{path.name}, ligne {n}, champ « {DECISION_HEADERS[0]} » : « {decision} » "
                                 f"n'est ni un SIREN ni un SIRET valide, ni « aucun »")
            decision = siret or siren
        if not get("key") and not get("name"):
            raise InputError(f"{path.name}, ligne {n} : ni « {DECISION_HEADERS[3]} » ni « {HEADERS[0]} » : "
                             "impossible de savoir à quel fournisseur s'applique la décision")
        out.append({"supplier_key": get("key"), "supplier_name": get("name", strip=False),
                    "siret": get("siret"), "decision": decision, "decided_by": get("by") or reviewer,
                    "decided_at": at, "note": get("note"), "review_row": n})
    return out


def identity(siret_raw: str | None) -> str:
    """An identifier as a decision compares it: the valid SIRET, else the valid SIREN, else the
    text as typed (as `resolution.supplier_key` does)."""
    siret, siren = clean_identifier(siret_raw)
    return siret or siren or (siret_raw or "").strip()


def decision_target(rec: dict) -> tuple[str, ...]:
    """What a decision applies to: its supplier key, else (for older rows) its name and identifier."""
    key = (rec.get("supplier_key") or "").strip()
    if key:
        return ("key", key)
    return ("name", normalize(rec.get("supplier_name") or ""), identity(rec.get("siret")))


def decision_time(text: str | None) -> dt.datetime:
    """`decided_at` as a comparable time; a missing or unreadable one sorts first."""
    try:
        t = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return dt.datetime.min
    return t.astimezone().replace(tzinfo=None) if t.tzinfo else t


def current_decisions(records: list[dict]) -> dict[tuple[str, ...], int]:
    """For each target, the index of the decision in force: the latest `decided_at`, and on a tie
    the later row."""
    best: dict[tuple[str, ...], tuple[dt.datetime, int]] = {}
    for i, rec in enumerate(records):
        rank = (decision_time(rec.get("decided_at")), i)
        target = decision_target(rec)
        if target not in best or rank >= best[target]:
            best[target] = rank
    return {target: i for target, (_, i) in best.items()}


def _same(a: dict, b: dict) -> bool:
    return all((a.get(c) or "").strip() == (b.get(c) or "").strip() for c in ("decision", "decided_by", "note"))


DECISION_COLUMNS = ("decision", "siren", "siren_retenu")  # this writer's, then older files'


def _overrides_delimiter(text: str) -> str:
    """The delimiter whose header row names a decision column: the header is one physical line
    (column names hold no delimiter nor line break), so this is exact whatever the notes hold;
    the sniff over records otherwise."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    for delim in (",", ";", "\t", "|"):
        names = {header_key(h).replace(" ", "_") for h in next(csv.reader([first], delimiter=delim), [])}
        if names & set(DECISION_COLUMNS):
            return delim
    return sniff_delimiter(text)


def parse_overrides(text: str, display: str = "overrides.csv") -> list[dict]:
    """Rows of `overrides.csv` with canonical keys (older files: no supplier_key, French headers,
    ';'), and the apostrophes `safe_text` added removed; `line` is where the record starts (a
    note may span lines). A file whose header names no decision column is refused: read as
    empty decisions, a later import would rewrite it and erase the history."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_overrides_delimiter(text))
    header: list[str] | None = None
    out = []
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if header is None:
            header = [header_key(h).replace(" ", "_") for h in cells]
            if not set(header) & set(DECISION_COLUMNS):
                raise InputError(f"{display}, ligne {line} : l'en-tête « {', '.join(cells)} » ne nomme aucune "
                                 f"colonne de décision (« decision » attendue) ; fichier non lu, rien n'est effacé")
            continue
        rec = {k: unquote(v).strip() for k, v in zip(header, cells, strict=False) if k}
        out.append({
            "supplier_key": rec.get("supplier_key") or rec.get("cle_fournisseur") or "",
            "supplier_name": rec.get("supplier_name") or rec.get("fournisseur") or rec.get("nom") or "",
            "siret": rec.get("siret") or "",
            "decision": rec.get("decision") or rec.get("siren") or rec.get("siren_retenu") or "",
            "decided_by": rec.get("decided_by") or "", "decided_at": rec.get("decided_at") or "",
            "note": rec.get("note") or "", "line": line})  # the line a reason names
    return out


def keys_without_group(decisions: list[dict], known_keys: set[str] | None) -> list[tuple[int, str]]:
    """(row, key) of the decisions whose supplier key names no supplier group of the warehouse
    (an edited or stale key): such a decision would apply to nothing."""
    if known_keys is None:
        return []
    return [(d["review_row"], d["supplier_key"]) for d in decisions
            if d["supplier_key"] and d["supplier_key"] not in known_keys]


def import_decisions(review_file: Path, overrides_path: Path, reviewer: str,
                     known_keys: set[str] | None = None) -> tuple[int, int, int]:
    """Append decisions to overrides.csv, keeping every earlier one (the history); a decision equal
    to the one in force for its supplier is not written twice, and one whose key matches no
    supplier group of `known_keys` (when given) is not written at all. Return (read, added, rows
    in file)."""
    decisions = read_decisions(review_file, reviewer)
    stale = {key for _, key in keys_without_group(decisions, known_keys)}
    decisions_read = len(decisions)
    decisions = [d for d in decisions if d["supplier_key"] not in stale]
    records = parse_overrides(decode(overrides_path.read_bytes(), overrides_path.name)) \
        if overrides_path.exists() and overrides_path.stat().st_size else []
    current = current_decisions(records)
    added = 0
    for d in decisions:
        target = decision_target(d)
        if target in current and _same(records[current[target]], d):
            continue
        records.append(d)
        current[target] = len(records) - 1
        added += 1
    if added:
        text = overrides_text(records)
        if [_fields(r) for r in parse_overrides(text)] != [_fields(r) for r in records]:
            raise InputError(f"{overrides_path.name} : relu après écriture, le fichier ne redonne pas exactement "
                             "les décisions écrites ; rien n'est écrit (signalez ce cas)")
        tmp = overrides_path.with_name(overrides_path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="")
        tmp.replace(overrides_path)
    return decisions_read, added, len(records)


def one_line_end(text: str) -> str:
    """Line breaks inside a cell as « \\n »: a lone « \\r » (old Mac) would end the record in
    overrides.csv, where the csv writer does not quote it."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fields(rec: dict) -> list[str]:
    return [one_line_end(rec.get(c) or "").strip() for c in OVERRIDE_COLUMNS]


def overrides_text(records: list[dict]) -> str:
    """`overrides.csv` as the import writes it: « , », every field that needs it quoted (a note
    may hold line breaks, « ; », quotes), formulas neutralised by `safe_text`."""
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=OVERRIDE_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for rec in records:
        w.writerow({c: safe_text(one_line_end(rec.get(c) or "")) for c in OVERRIDE_COLUMNS})
    return buf.getvalue()


UNUSED_DECISIONS_SQL = """
SELECT o.source_row, coalesce(o.supplier_key, o.supplier_name) AS target
FROM src_overrides AS o
WHERE o.is_current AND o.source_row NOT IN (
    SELECT m.override_row FROM res_supplier_match AS m WHERE m.override_row IS NOT NULL)
ORDER BY o.source_row
"""


def unused_decision_warning(con: duckdb.DuckDBPyConnection) -> str | None:
    """French warning for the decisions in force in overrides.csv that applied to no supplier of
    this run (a key edited by hand, data that changed): they are kept, but decide nothing."""
    rows = con.execute(UNUSED_DECISIONS_SQL).fetchall()
    if not rows:
        return None
    shown = ", ".join(f"ligne {n} (« {t} »)" for n, t in rows[:5]) + (" …" if len(rows) > 5 else "")
    return (f"{len(rows)} décision(s) en vigueur de overrides.csv ne correspondent à aucun fournisseur de ce "
            f"calcul et ne s'appliquent à rien : {shown}. Vérifiez la clé fournisseur (ou le nom) de ces lignes.")


def rejected_decision_warnings(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One French warning per row of overrides.csv that `achats run` could not apply (its reason
    names the file, line and field): a decision must never be dropped without a word."""
    rows = con.execute("SELECT rejected_reason FROM src_overrides WHERE rejected_reason IS NOT NULL "
                       "ORDER BY source_row").fetchall()
    return [reason for (reason,) in rows]
