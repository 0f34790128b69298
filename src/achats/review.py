"""The review queue: suppliers the matcher could not settle, out to a person and back as overrides.

Export groups lines by supplier as typed, sorted by the amount at stake, with the top candidates.
Import turns filled-in decisions into `overrides.csv` rows (who, when, decision), which win on
every later run; a supplier keeps its decision as long as its name and identifier stay the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb

from achats.errors import InputError
from achats.identifiers import clean_identifier
from achats.names import normalize
from achats.sources.purchases import header_key, read_csv_table, read_xlsx_tables

TOP = 3
HEADERS = ["Fournisseur saisi", "SIRET saisi", "Statut", "Motif", "Nombre de lignes", "Montant (€)"]
for _i in range(1, TOP + 1):
    HEADERS += [f"Candidat {_i} SIREN", f"Candidat {_i} nom", f"Candidat {_i} score", f"Candidat {_i} ESS"]
DECISION_HEADERS = ["Décision (SIREN, SIRET ou « aucun »)", "Décidé par", "Note", "Clé fournisseur"]
OVERRIDE_COLUMNS = ["supplier_name", "siret", "decision", "decided_by", "decided_at", "note"]
NO_MATCH = {"aucun", "aucune", "none", "introuvable", "-"}

_QUEUE_SQL = """
WITH lines AS (
    SELECT r.supplier_key, count(*) AS line_count, sum(p.amount_eur) AS amount_eur
    FROM res_purchase_line_supplier AS r
    JOIN stg_purchase_lines AS p USING (line_id)
    WHERE r.match_status IN ('review', 'unmatched') AND r.match_method <> 'override'
    GROUP BY r.supplier_key
),
cands AS (
    SELECT
        c.supplier_key, c.rank, c.siren, c.score,
        CASE WHEN ps.siren IS NOT NULL OR coalesce(u.is_non_diffusible, false)
             THEN 'unité non diffusible (SIREN ' || c.siren || ')'
             ELSE coalesce(u.legal_name, c.name) END AS name,
        coalesce(s.is_ess_undated OR s.esus_last_start IS NOT NULL, false) AS is_ess
    FROM res_match_candidates AS c
    LEFT JOIN stg_unite_legale AS u USING (siren)
    LEFT JOIN cls_supplier_status AS s USING (siren)
    LEFT JOIN res_private_siren AS ps USING (siren)
    WHERE c.rank <= $top
)
SELECT m.supplier_key, m.supplier_name, m.siret_raw, m.match_status, m.reason, l.line_count, l.amount_eur,
       list(struct_pack(siren := c.siren, name := c.name, score := c.score, is_ess := c.is_ess)
            ORDER BY c.rank) FILTER (WHERE c.siren IS NOT NULL) AS candidates
FROM lines AS l
JOIN res_supplier_match AS m USING (supplier_key)
LEFT JOIN cands AS c USING (supplier_key)
GROUP BY ALL
ORDER BY abs(any_value(l.amount_eur)) DESC, m.supplier_key
"""


def review_rows(con: duckdb.DuckDBPyConnection) -> list[list]:
    """One row per supplier to review, largest amount at stake first."""
    out = []
    for key, name, siret, status, reason, n, amount, cands in con.execute(_QUEUE_SQL, {"top": TOP}).fetchall():
        row = [name, siret, "à vérifier" if status == "review" else "non rapproché", reason, n, round(amount, 2)]
        cands = list(cands or [])
        for i in range(TOP):
            c = cands[i] if i < len(cands) else None
            row += [c["siren"], c["name"], round(c["score"], 2), "oui" if c["is_ess"] else "non"] if c else [None] * 4
        out.append(row + [None, None, None, key])
    return out


def export_review(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Write the queue as .xlsx or .csv (by the file's suffix); return the number of suppliers."""
    rows = review_rows(con)
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
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "À vérifier"
    ws.append(header)
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col in range(len(HEADERS) + 1, len(header) + 1):
        ws.cell(1, col).fill = PatternFill("solid", fgColor="FFF2CC")
    ws.freeze_panes = "B2"
    for col, width in zip("ABCD", (40, 18, 14, 60), strict=True):
        ws.column_dimensions[col].width = width
    wb.save(path)
    return len(rows)


def _read_table(path: Path) -> list[list[str]]:
    if not path.exists():
        raise InputError(f"{path} : fichier introuvable")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        table = read_xlsx_tables(path, path.name)[0]
    else:
        table = read_csv_table(path, path.name)[0]
    return [cells for _, cells in table.rows]


def read_decisions(path: Path, default_by: str) -> list[dict]:
    """Filled-in rows of an exported review file, validated; errors name the row and field."""
    rows = _read_table(path)
    if not rows:
        raise InputError(f"{path.name} : fichier vide")
    keys = [header_key(h) for h in rows[0]]
    need = {"name": header_key(HEADERS[0]), "siret": header_key(HEADERS[1]),
            "decision": header_key(DECISION_HEADERS[0]), "by": header_key(DECISION_HEADERS[1]),
            "note": header_key(DECISION_HEADERS[2])}
    missing = [k for k, h in need.items() if h not in keys and k in ("name", "decision")]
    if missing:
        raise InputError(f"{path.name} : ce n'est pas un fichier de revue exporté par « achats review export » "
                         f"(colonnes « {HEADERS[0]} » et « {DECISION_HEADERS[0]} » attendues)")
    col = {k: keys.index(h) if h in keys else None for k, h in need.items()}
    today = dt.date.today().isoformat()
    out = []
    for n, cells in enumerate(rows[1:], start=2):
        def get(k: str, cells=cells) -> str:
            i = col[k]
            return cells[i].strip() if i is not None and i < len(cells) else ""

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
        out.append({"supplier_name": get("name"), "siret": get("siret"), "decision": decision,
                    "decided_by": get("by") or default_by, "decided_at": today, "note": get("note")})
    return out


def _override_key(name: str, siret: str) -> tuple[str, str]:
    s1, s2 = clean_identifier(siret)
    return normalize(name), s1 or s2 or ""


def import_decisions(review_file: Path, overrides_path: Path, default_by: str) -> tuple[int, int]:
    """Merge decisions into overrides.csv (a later decision on the same supplier replaces the
    earlier one); return (decisions read, rows in overrides.csv)."""
    decisions = read_decisions(review_file, default_by)
    existing: dict[tuple[str, str], dict] = {}
    if overrides_path.exists():
        text = overrides_path.read_text(encoding="utf-8-sig")
        for rec in csv.DictReader(io.StringIO(text)):
            existing[_override_key(rec.get("supplier_name", ""), rec.get("siret", ""))] = rec
    for d in decisions:
        existing[_override_key(d["supplier_name"], d["siret"])] = d
    tmp = overrides_path.with_name(overrides_path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=OVERRIDE_COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for rec in existing.values():
            w.writerow({c: rec.get(c, "") for c in OVERRIDE_COLUMNS})
    tmp.replace(overrides_path)
    return len(decisions), len(existing)
