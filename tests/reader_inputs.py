"""Hostile payment exports, generated deterministically from a seed: every number style the
reader accepts or refuses, dates in every format, padded cells, repeated rows, total rows,
blank and ragged lines, quotes (the non-native split), cp1252, three delimiters. Used to show
that a faster reader gives exactly the same lines, ids, amounts and reasons as before."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import polars as pl

from achats.errors import InputError
from achats.sources.purchases import read_purchase_sources

HEADERS = ["N° mandat", "Date mandat", "Tiers", "N° SIRET", "Montant TTC", "Direction", "Code CPV", "Exercice"]


def _amount(rng: random.Random, style: int) -> str:
    cents = rng.choice([rng.randint(-10_000, 10_000), rng.randint(0, 10**9), rng.randint(0, 10**9),
                        rng.randint(0, 10**11), rng.randint(0, 10**13) if rng.random() < 0.05 else 500])
    units, frac = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    if style == 0:  # French
        body = f"{units:,}".replace(",", rng.choice([" ", "\u00a0", "\u202f", ""])) + f",{frac:02d}"
    elif style == 1:  # English
        body = f"{units:,}" + f".{frac:02d}" if rng.random() < 0.7 else f"{units}.{frac:02d}"
    elif style == 2:  # German-like
        body = f"{units:,}".replace(",", ".") + f",{frac:02d}"
    else:  # whole euros
        body = f"{units}"
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["douze", "12,34,56", "1.23,45", "-5-", "(-5)", "١٢٣", "１２３", "1 23", "12.5.6",
                           "5--", "+-5", "1e3", "0x10", "12,", ",5", "1,000", "1.000", "99999999999999999999",
                           "", " ", "€ 12,50", "12,50 €", "12,5", "−7,00", "(12,00)", "12,00-", "+ 3,00",
                           "50470778597037", "31000", "45000000", "1'234,50", "12,345", "NaN"])
    if roll < 0.05 and sign:
        return f"({body})" if rng.random() < 0.5 else f"{body}-"
    return sign + body


def _date(rng: random.Random, style: int) -> str:
    y = rng.choice([2019, 2023, 2024, 2024, 2025]) if rng.random() > 0.02 else rng.choice([1899, 2099])
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["", "31/02/2024", "hier", "2024-13-01", "45000", "45123.0", "15 mars 2024",
                           "1er avril 2024", "2024-03-05T10:11:12", "05/03/2024 10:11", "5/3/24", "20240305"])
    return [f"{d:02d}/{m:02d}/{y:04d}", f"{y:04d}-{m:02d}-{d:02d}", f"{d:02d}.{m:02d}.{y:04d}",
            f"{d:02d}/{m:02d}/{y % 100:02d}"][style]


def _row(rng: random.Random, i: int, amount_style: int, date_style: int, names: list[str]) -> list[str]:
    name = rng.choice(names) if rng.random() < 0.08 else f"FOURNISSEUR {rng.randint(1, 60)}"
    siret = rng.choice(["", "", "", "12345678200010", "552100554", "abc", "44306184100047"])
    year = rng.choice(["", "", "", "", "2024", "2023", "2024.0"]) if rng.random() > 0.02 else rng.choice(
        ["24", "deux mille"])
    cells = [f"M{i:06d}", _date(rng, date_style), name, siret, _amount(rng, amount_style),
             f"Direction {i % 5}", rng.choice(["45000000", "", "72000000-5"]), year]
    if rng.random() < 0.05:
        cells = [f" {c} " if c else c for c in cells]
    return cells


def hostile_files(root: Path, seed: int, n: int = 400) -> list[Path]:
    """A few files under root/purchases, each in its own style; their paths."""
    rng = random.Random(seed)
    names = ["ASSOCIATION LES AMIS", "SARL DUPONT", "SCOP ATELIER", "TOTAL ENERGIES", "REPORTERS SANS FRONTIERES",
             "Total", "Sous-total direction", "TOTAL GÉNÉRAL", "cumul", "", "PRÉNOM NOM", "Ste « Ça va »"]
    folder = root / "purchases"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    styles = [(";", "utf-8", False), (",", "utf-8-sig", True), ("\t", "cp1252", False), (";", "utf-8", True),
              ("|", "utf-8", False)]
    for k, (delim, encoding, quoted) in enumerate(styles):
        regular = k == 4  # every line with the header's fields: what polars' own reader takes whole
        amount_style = rng.choice([0, 0, 1, 2, 3]) if delim != "," else rng.choice([1, 3])
        date_style = rng.randint(0, 3)
        width = len(HEADERS) - (k % 2)
        lines = [delim.join(HEADERS[:width])]
        rows = []
        for i in range(n):
            cells = _row(rng, i, amount_style, date_style, names)[:width]
            if rows and rng.random() < 0.04:
                cells = list(rng.choice(rows))  # the same row again
            rows.append(cells)
            roll = rng.random() if not regular else 0.05 + rng.random()
            if roll < 0.02:
                lines.append("")  # blank line
                continue
            if roll < 0.03:
                lines.append(delim.join(HEADERS[:width]))  # the header repeated
                continue
            if roll < 0.04:
                cells = cells + ["extra"]  # ragged
            elif roll < 0.05:
                cells = cells[:-2]
            if quoted and rng.random() < 0.2:
                cells = [f'"{c}"' if rng.random() < 0.5 else c for c in cells]
                if rng.random() < 0.1:
                    cells[2] = f'"{cells[2].strip(chr(34))} {delim} et fils"'
            text = delim.join(cells)
            if quoted and rng.random() < 0.02:
                text = delim.join(cells[:2]) + f'{delim}"SARL\nSUR DEUX LIGNES"{delim}' + delim.join(cells[3:])
            lines.append(text)
        path = folder / f"export_{seed}_{k}.csv"
        path.write_bytes(("\r\n" if k == 2 else "\n").join(lines).encode(encoding, errors="replace") + b"\n")
        paths.append(path)
    return paths


def read_each(root: Path, paths: list[Path]) -> pl.DataFrame:
    """Every file read on its own (a file's lines do not depend on the others); a refused file
    is one row with status `refused` and the error's text."""
    frames = []
    for p in paths:
        try:
            frames.append(read_purchase_sources(root, files=[p])[0])
        except InputError as exc:
            frames.append(pl.DataFrame({"source_file": [p.name], "status": ["refused"],
                                        "quarantine_reason": [str(exc)]}))
    return pl.concat(frames, how="diagonal_relaxed")


def write_export(root: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """One export file under root/purchases, written in `encoding`; the data directory's root."""
    p = root / "purchases" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode(encoding))
    return root


def ok_total(df: pl.DataFrame) -> Decimal:
    """The accepted lines' total, summed exactly."""
    return sum((Decimal(str(a)) for a in df.filter(pl.col("status") == "ok")["amount_eur"]), Decimal(0))


# -- small hand-made exports across files (the adversarial reviews' cases, figures by hand) --------

CROSS_FILE_HEADER = "N° mandat;Date mandat;Tiers;N° SIRET;Montant TTC;Direction\n"
CROSS_FILE_MAIN = (CROSS_FILE_HEADER
                   + "D1;15/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;1 000,00;DSI\n"
                   "D2;16/01/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;2 000,00;DSI\n"
                   "D3;17/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;3 000,00;DSI\n"
                   "D4;18/01/2024;ZORGLUB TRAVAUX PUBLICS;81234568400003;4 000,00;DSI\n"
                   "D5;19/01/2024;ASSOCIATION QUINOA SOLIDAIRE;81234567600009;5 000,00;DSI\n")


def read_exports(tmp_path: Path, files: dict[str, str]):
    """The purchase files written as UTF-8 text under purchases/, read together."""
    (tmp_path / "purchases").mkdir()
    for name, text in files.items():
        (tmp_path / "purchases" / name).write_text(text, encoding="utf-8")
    return read_purchase_sources(tmp_path)


def counted(lines: pl.DataFrame) -> Decimal:
    """The accepted lines' amount, to the cent."""
    ok = lines.filter(lines["status"] == "ok")
    return sum((Decimal(str(a)) for a in ok["amount_eur"].to_list()), Decimal(0)).quantize(Decimal("0.01"))


def accounted(lines: pl.DataFrame, files: pl.DataFrame) -> None:
    """Every data row of every file is accepted, quarantined or a duplicate: nothing dropped."""
    per_file = dict(zip(files["source_file"], files["data_row_count"], strict=True))
    for name, n in per_file.items():
        mine = lines.filter(lines["source_file"] == name)
        assert mine.height == n
        assert mine.filter(mine["status"].is_in(["ok", "quarantined", "duplicate"])).height == n


def read_with_notes(root: Path, name: str, text: str) -> tuple[pl.DataFrame, str]:
    """One export read alone: its lines and its files' column notes, joined."""
    lines, files = read_purchase_sources(write_export(root, name, text))
    return lines, "\n".join(n for n in files["column_note"].to_list() if n)


def amounts_by_line(df: pl.DataFrame) -> list[Decimal | None]:
    return df.sort("source_line")["amount_eur"].to_list()

