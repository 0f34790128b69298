"""Read the ESS France, ESUS and SIAE/EA lists, whose headers vary from one release to the next."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import polars as pl

from achats.errors import InputError
from achats.identifiers import clean_identifier
from achats.sources.purchases import _date_order, decode, header_key, parse_date, sniff_delimiter

ESS_FRANCE_SCHEMA = {"siren": pl.String, "source_file": pl.String, "source_row": pl.Int64}
ESUS_SCHEMA = {"siren": pl.String, "raison_sociale": pl.String, "date_agrement": pl.Date,
               "date_fin_agrement": pl.Date, "source_file": pl.String, "source_row": pl.Int64}
SIAE_SCHEMA = {"siret": pl.String, "siren": pl.String, "name": pl.String, "kind": pl.String,
               "naf": pl.String, "post_code": pl.String, "department": pl.String, "slug": pl.String,
               "source_file": pl.String, "source_row": pl.Int64}
REJECT_SCHEMA = {"source_file": pl.String, "source_row": pl.Int64, "reason": pl.String}


class _Rows(list):
    """Data rows, with the line the user sees of each (Excel row, CSV line) for reasons."""

    lines: list[int]

    def line(self, n: int) -> int:
        """The line of the n-th data row (1-based)."""
        return self.lines[n - 1] if 0 < n <= len(self.lines) else n


def _read_table(path: Path, display: str) -> tuple[list[str], _Rows]:
    header, numbered = _read_numbered(path, display)
    rows = _Rows(cells for _, cells in numbered)
    rows.lines = [line for line, _ in numbered]
    return header, rows


def _read_numbered(path: Path, display: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from achats.sources.purchases import read_xlsx_tables

        table = read_xlsx_tables(path, display)[0]
        rows = [(line, cells) for line, cells in table.rows if any(c.strip() for c in cells)]
    else:
        import csv
        import io

        text = decode(path.read_bytes(), display)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
        rows = [(reader.line_num, r) for r in reader if r]
    if not rows:
        raise InputError(f"{display} : fichier vide")
    # published lists sometimes open with a title: the header is the first row naming an identifier
    for i, (_, row) in enumerate(rows[:30]):
        keys = [header_key(h) for h in row]
        if any(k in ("siren", "siret") or k.startswith(("siren ", "siret ", "n siren", "n siret", "numero siren"))
               for k in keys):
            return keys, rows[i + 1:]
    return [header_key(h) for h in rows[0][1]], rows[1:]


def _col(header: list[str], display: str, *names: str, required: bool = True) -> int | None:
    for n in names:
        if header_key(n) in header:
            return header.index(header_key(n))
    if required:
        raise InputError(f"{display} : colonne obligatoire « {names[0]} » absente")
    return None


# A list is known by a word of its file name, whatever the case, accents or separators
# (« ESUS_agrements_2025.csv », « Liste_ESS_France.csv », « siae-export.xlsx »): a glob on the
# lower-case stem found them on Windows and missed them on Linux, in silence.
STATUS_KINDS = {
    "ess_manuel": re.compile(r"(?:^|_)ess_?manuel"),
    "ess_france": re.compile(r"(?:^|_)ess_?france"),
    "esus": re.compile(r"(?:^|_)esus"),
    "siae": re.compile(r"(?:^|_)siae"),
}
STATUS_SUFFIXES = {"ess_manuel": (".csv",), "ess_france": (".csv", ".xlsx"), "esus": (".csv", ".xlsx"),
                   "siae": (".csv", ".xlsx")}
TOOL_FILES = ("recherche_candidats.csv",)  # written by « achats fetch --recherche », read apart


def status_name_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", Path(name).stem).encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def status_file_kind(path: Path, display: str | None = None) -> str | None:
    """The list a status file holds, from its name; None when no list is named or its type is not
    read. Two lists in one name stop the run: which figures it feeds cannot be guessed."""
    kinds = [k for k, pattern in STATUS_KINDS.items() if pattern.search(status_name_key(path.name))]
    if len(kinds) > 1:
        raise InputError(f"{display or path.name} : le nom du fichier désigne plusieurs listes "
                         f"({', '.join(kinds)}) ; renommez-le pour n'en désigner qu'une "
                         "(ess_france…, esus…, siae… ou ess_manuel…)")
    if not kinds or path.suffix.lower() not in STATUS_SUFFIXES[kinds[0]]:
        return None
    return kinds[0]


def status_files(data_dir: Path, kind: str) -> list[Path]:
    """The files of `status/` (not its sub-folders) holding one list, named in any case."""
    folder = data_dir / "status"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))
                  and status_file_kind(p, p.relative_to(data_dir).as_posix()) == kind)


def unread_status_warnings(data_dir: Path) -> list[str]:
    """Files of `status/` that no reader takes: a list under an unforeseen name must not be
    left out of the figures in silence."""
    folder = data_dir / "status"
    out = []
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        rel = path.relative_to(folder)
        if not path.is_file() or any(part.startswith((".", "~$")) for part in rel.parts):
            continue
        display = path.relative_to(data_dir).as_posix()
        if len(rel.parts) == 1 and (path.name in TOOL_FILES or status_file_kind(path, display)):
            continue
        why = "dans un sous-dossier de status/" if len(rel.parts) > 1 else \
            "son nom ne désigne aucune liste connue ou son type n'est pas lu"
        out.append(f"{display} : fichier non lu ({why}) ; ses structures ne comptent pas comme ESS. Une liste "
                   "se place directement dans status/, en .csv ou .xlsx, et son nom contient « ess_france », "
                   "« esus », « siae » ou « ess_manuel » (.csv), en majuscules ou minuscules")
    return out


def read_ess_france(data_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    ok, bad = [], []
    for path in status_files(data_dir, "ess_france"):
        display = path.relative_to(data_dir).as_posix()
        header, rows = _read_table(path, display)
        i = _col(header, display, "SIREN", "siren")
        for n, row in enumerate(rows, start=1):
            _, siren = clean_identifier(row[i] if i < len(row) else "")
            if siren:
                ok.append({"siren": siren, "source_file": display, "source_row": n})
            else:
                bad.append({"source_file": display, "source_row": n,
                            "reason": f"{display}, ligne {rows.line(n)}, champ « SIREN » : SIREN invalide"})
    return pl.DataFrame(ok, schema=ESS_FRANCE_SCHEMA), pl.DataFrame(bad, schema=REJECT_SCHEMA)


def read_esus(data_dir: Path, default_years: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An agreement without an end date lasts `default_years` (5 years, code du travail L3332-17-1)."""
    ok, bad = [], []
    for path in status_files(data_dir, "esus"):
        display = path.relative_to(data_dir).as_posix()
        header, rows = _read_table(path, display)
        i_siren = _col(header, display, "siren", "SIREN", "siret")
        i_name = _col(header, display, "raison_sociale", "raison sociale", "nom", required=False)
        i_start = _col(header, display, "date_agrement", "date d'agrément", "date agrement")
        i_end = _col(header, display, "date_fin_agrement", "date de fin d'agrément", required=False)
        lines = rows.lines
        rows = _Rows(row + [""] * (len(header) - len(row)) for row in rows)
        rows.lines = lines
        dates = _dates_in_file_order(rows, [i for i in (i_start, i_end) if i is not None])
        for n, row in enumerate(rows, start=1):
            _, siren = clean_identifier(row[i_siren])
            where = f"{display}, ligne {rows.line(n)}"
            try:
                start = _esus_date(dates, row, i_start, where, "date_agrement")
                end = _esus_date(dates, row, i_end, where, "date_fin_agrement") if i_end is not None else None
            except ValueError as exc:
                bad.append({"source_file": display, "source_row": n, "reason": str(exc)})
                continue
            if not siren or start is None:
                field = "siren" if not siren else "date_agrement"
                bad.append({"source_file": display, "source_row": n,
                            "reason": f"{where}, champ « {field} » : valeur manquante ou invalide"})
                continue
            if end is None:
                end = _add_years(start, default_years) - dt.timedelta(days=1)
            elif end < start:  # never valid: a typo (2017 for 2027?) a person must correct
                bad.append({"source_file": display, "source_row": n,
                            "reason": f"{where}, champ « date_fin_agrement » : fin d'agrément "
                                      f"{end:%d/%m/%Y} antérieure à son début ({start:%d/%m/%Y})"})
                continue
            ok.append({"siren": siren, "raison_sociale": row[i_name] if i_name is not None else None,
                       "date_agrement": start, "date_fin_agrement": end,
                       "source_file": display, "source_row": n})
    return pl.DataFrame(ok, schema=ESUS_SCHEMA), pl.DataFrame(bad, schema=REJECT_SCHEMA)


def _dates_in_file_order(rows: list[list[str]], columns: list[int]) -> dict[str, tuple[str | None, str | None]]:
    """Each date cell of the file rewritten day-first once the file's day/month order is decided
    from all its cells (as the purchase reader does): a list written 03/15/2024 is read month-first;
    a cell no order can be decided for maps to (None, why)."""
    cells = sorted({row[i].strip() for row in rows for i in columns})
    fixed, ambiguous, proofs = _date_order(pl.Series(cells, dtype=pl.String))
    out: dict[str, tuple[str | None, str | None]] = {}
    for cell, text, unsure in zip(cells, fixed.to_list(), ambiguous.to_list(), strict=True):
        why = (f"date « {cell} » ambiguë : ce fichier écrit des dates jour/mois (« {proofs[0]} ») et mois/jour "
               f"(« {proofs[1]} »), l'ordre du jour et du mois ne peut être décidé") if unsure and proofs else None
        out[cell] = (None, why) if why else (text, None)
    return out


def _esus_date(dates: dict[str, tuple[str | None, str | None]], row: list[str], i: int, where: str,
               field: str) -> dt.date | None:
    """The cell's date in the file's day/month order; ValueError with the French reason otherwise."""
    text, why = dates[row[i].strip()]
    if why:
        raise ValueError(f"{where}, champ « {field} » : {why}")
    try:
        return parse_date(text or "")
    except ValueError:
        raise ValueError(f"{where}, champ « {field} » : date illisible « {row[i].strip()[:40]} »") from None


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


# The marché de l'inclusion's own download names its columns in French (« Raison sociale;Enseigne;
# SIRET;Type;Secteurs d'activité;Ville;Code postal;Département ») and the import format in English
# (siret,name,kind,…): both are read. The first name is the one an error message gives.
SIAE_COLUMNS = {
    "siret": ("siret", "SIRET de la structure", "N° SIRET", "Numéro SIRET"),
    "kind": ("kind", "Type", "Type de structure", "Type de la structure"),
    "name": ("name", "Raison sociale", "Nom", "Nom de la structure", "Dénomination"),
    "naf": ("naf", "Code NAF", "NAF", "Code APE", "APE"),
    "post_code": ("post_code", "Code postal", "CP"),
    "department": ("department", "Département", "Code département"),
    "slug": ("slug", "Slug"),
}
SIAE_KIND_CODES = ("EI", "AI", "ACI", "ETTI", "EITI", "GEIQ", "EA", "EATT", "ESAT")
# the long labels of a type, most specific first (« entreprise adaptée de travail temporaire »
# before « entreprise adaptée »)
_SIAE_KIND_LABELS = (
    ("EITI", "insertion par le travail independant"), ("ETTI", "travail temporaire d insertion"),
    ("EATT", "entreprise adaptee de travail temporaire"), ("EA", "entreprise adaptee"),
    ("ACI", "chantier d insertion"), ("AI", "association intermediaire"),
    ("GEIQ", "groupement d employeurs pour l insertion"), ("ESAT", "aide par le travail"),
    ("EI", "entreprise d insertion"),
)


def siae_kind(text: str) -> str:
    """The type code of a structure: the code itself (« EI »), a label that gives it in brackets
    (« Entreprise d'insertion (EI) ») or the long label alone; any other text upper-cased as is."""
    raw = text.strip()
    if raw.upper() in SIAE_KIND_CODES:
        return raw.upper()
    bracket = re.search(r"\(([A-Za-z]{2,5})\)", raw)
    if bracket and bracket.group(1).upper() in SIAE_KIND_CODES:
        return bracket.group(1).upper()
    key = header_key(raw)
    for code, label in _SIAE_KIND_LABELS:
        if label in key:
            return code
    return raw.upper()


def read_siae(data_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    ok, bad = [], []
    for path in status_files(data_dir, "siae"):
        display = path.relative_to(data_dir).as_posix()
        header, rows = _read_table(path, display)
        idx = {k: _col(header, display, *names, required=k in ("siret", "kind")) for k, names in SIAE_COLUMNS.items()}
        for n, row in enumerate(rows, start=1):
            row = row + [""] * (len(header) - len(row))
            siret, siren = clean_identifier(row[idx["siret"]])
            kind = siae_kind(row[idx["kind"]])
            if not siren or not kind:
                bad.append({"source_file": display, "source_row": n,
                            "reason": f"{display}, ligne {rows.line(n)} : SIRET ou type de structure invalide"})
                continue
            rec = {k: (row[i].strip() or None) if i is not None else None for k, i in idx.items()}
            rec.update(siret=siret, siren=siren, kind=kind, source_file=display, source_row=n)
            ok.append(rec)
    return pl.DataFrame(ok, schema=SIAE_SCHEMA), pl.DataFrame(bad, schema=REJECT_SCHEMA)
