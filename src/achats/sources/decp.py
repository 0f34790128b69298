"""Parse DECP contract data (v1 2019 and v2 2024+) with their known quirks.

One output row per contract and titulaire; a contract's amount is split evenly among its
titulaires so that co-contracting never counts the same euro twice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl

from achats.errors import InputError
from achats.identifiers import clean_identifier

SCHEMA = {
    "contract_uid": pl.String, "source_file": pl.String, "source_index": pl.Int64,
    "format_version": pl.String, "buyer_id": pl.String, "object": pl.String, "cpv": pl.String,
    "cpv_division": pl.String, "notification_date": pl.Date, "amount_eur": pl.Float64,
    "titulaire_count": pl.Int32, "titulaire_id_raw": pl.String, "titulaire_id_type": pl.String,
    "titulaire_siret": pl.String, "titulaire_siren": pl.String, "titulaire_name": pl.String,
    "has_social_consideration": pl.Boolean, "status": pl.String, "quarantine_reason": pl.String,
}
_TZ = re.compile(r"([+-]\d{2}:?\d{2}|Z)$")


def normalize_cpv(raw: object) -> str | None:
    """8 digits without check digit; 7 digits lost a leading zero."""
    if raw is None:
        return None
    digits = re.sub(r"\D", "", str(raw).split("-")[0])
    if len(digits) == 7:
        digits = "0" + digits
    return digits if len(digits) == 8 else None


def parse_decp_date(raw: object) -> dt.date | None:
    """ISO dates with optional timezone; typo years like 0218 are read as 2018."""
    if not raw:
        return None
    s = _TZ.sub("", str(raw).strip())[:10]
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s)
    if not m:
        return None
    year, month, day = (int(g) for g in m.groups())
    if year < 1000:  # '0218' -> 2018, '0019' -> 2019
        year = 2000 + year % 100
    try:
        d = dt.date(year, month, day)
    except ValueError:
        return None
    return d if 2000 <= d.year <= dt.date.today().year + 1 else None


def _contracts(doc: object) -> list[dict]:
    """v1: {'marches': [...]}; v2: {'marches': {'marche': [...]}}; also a bare list."""
    if isinstance(doc, list):
        return [c for c in doc if isinstance(c, dict)]
    if isinstance(doc, dict):
        m = doc.get("marches", doc.get("marche"))
        if isinstance(m, dict):
            m = m.get("marche", [])
        if isinstance(m, list):
            return [c.get("marche", c) if isinstance(c, dict) else c for c in m if isinstance(c, dict)]
    raise ValueError("structure inattendue")


def _as_dict(x: object) -> dict:
    return x if isinstance(x, dict) else {}


def _as_list(x: object) -> list:
    return x if isinstance(x, list) else []


def _text(x: object) -> str | None:
    return None if x is None or isinstance(x, dict | list) else str(x)


def _titulaires(contract: dict) -> list[dict]:
    out = []
    for t in _as_list(contract.get("titulaires")):
        if isinstance(t, dict):
            out.append(t.get("titulaire", t) if isinstance(t.get("titulaire"), dict) else t)
    return out


def _social(contract: dict) -> bool:
    cs = contract.get("considerationsSociales")
    if isinstance(cs, dict):
        cs = cs.get("considerationSociale")
    if isinstance(cs, str):
        cs = [cs]
    return any(c and "pas de consid" not in str(c).lower() for c in _as_list(cs))


def _amount(raw: object) -> float | None:
    if raw is None or raw == "" or isinstance(raw, bool | dict | list):
        return None
    try:
        return float(str(raw).replace(",", ".").replace(" ", ""))
    except ValueError:
        return None


def parse_decp_file(path: Path, data_dir: Path, buyer_siren: str | None) -> list[dict]:
    display = path.relative_to(data_dir).as_posix()
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        contracts = _contracts(doc)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{display} : JSON DECP illisible ({exc})") from exc
    rows: list[dict] = []
    for i, c in enumerate(contracts, start=1):
        rows.extend(_contract_rows(c, i, display, buyer_siren))
    return rows


def _contract_rows(c: dict, i: int, display: str, buyer_siren: str | None) -> list[dict]:
    """One row per titulaire; a contract of unexpected shape is kept, quarantined, not dropped."""
    buyer = _as_dict(c.get("acheteur"))
    buyer_id = re.sub(r"\D", "", str(_text(buyer.get("id")) or ""))
    if buyer_siren and not buyer_id.startswith(buyer_siren):
        return []
    tits = _titulaires(c)
    version = "v2" if any("titulaire" in t for t in _as_list(c.get("titulaires")) if isinstance(t, dict)) \
        or "considerationsSociales" in c else "v1"
    cpv = normalize_cpv(_text(c.get("codeCPV")))
    base = {
        "contract_uid": _text(c.get("uid")) or f"{buyer_id}{_text(c.get('id')) or ''}" or f"{display}#{i}",
        "source_file": display, "source_index": i, "format_version": version, "buyer_id": buyer_id or None,
        "object": _text(c.get("objet")), "cpv": cpv, "cpv_division": cpv[:2] if cpv else None,
        "notification_date": parse_decp_date(_text(c.get("dateNotification"))),
        "has_social_consideration": _social(c), "status": "ok", "quarantine_reason": None,
    }
    amount = _amount(c.get("montant"))
    problems = []
    if amount is None:
        problems.append("montant absent ou illisible")
    if base["notification_date"] is None:
        problems.append(f"date de notification illisible « {_text(c.get('dateNotification'))} »")
    rows = []
    for t in tits or [{}]:
        siret, siren = clean_identifier(_text(t.get("id")))
        id_type = str(_text(t.get("typeIdentifiant")) or "").upper().replace("-", "_")
        if id_type and id_type != "SIRET" and not id_type.startswith("SIRE"):
            siret, siren = None, None  # TVA / HORS_UE identifiers are not SIREN
        row = dict(base)
        n = len(tits) or 1
        row.update(amount_eur=amount / n if amount is not None else None, titulaire_count=n,
                   titulaire_id_raw=_text(t.get("id")), titulaire_id_type=id_type or None,
                   titulaire_siret=siret, titulaire_siren=siren, titulaire_name=_text(t.get("denominationSociale")))
        if problems:
            row.update(status="quarantined",
                       quarantine_reason=f"{display}, marché n° {i} ({_text(c.get('id'))}) : " + " ; ".join(problems))
        rows.append(row)
    return rows


def read_contracts(data_dir: Path, buyer_siren: str | None) -> pl.DataFrame:
    folder = data_dir / "contracts"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    rows: list[dict] = []
    for path in files:
        rows.extend(parse_decp_file(path, data_dir, buyer_siren))
    return pl.DataFrame(rows, schema=SCHEMA)
