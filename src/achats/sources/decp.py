"""Parse DECP contract data (v1 2019, v2 2024+, JSON or XML) with their known quirks.

One output row per contract and titulaire; a contract's amount is split evenly among its
titulaires, to the cent, so that co-contracting never counts the same euro twice. Figures must
survive real files: placeholder ids are no identity, placeholder amounts are no amount, undated
contracts still count, and a contract republished in several files counts once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from achats.errors import InputError
from achats.identifiers import clean_identifier, siren_from_french_vat

# Above this a contract's amount is not believed (1 Md€: far above any local buyer's contract,
# far below the 1e17 or 9 999 999 999 placeholders seen in real files).
DEFAULT_MAX_CONTRACT_AMOUNT_EUR = 1_000_000_000
# An integer part made only of nines from this value on is a placeholder ("pas de maximum").
PLACEHOLDER_NINES_FROM = 99_999_999

SCHEMA = {
    "contract_uid": pl.String, "identity_method": pl.String, "contract_id_raw": pl.String,
    "source_file": pl.String, "source_index": pl.Int64, "format_version": pl.String,
    "contract_kind": pl.String, "buyer_id": pl.String, "object": pl.String, "cpv": pl.String,
    "cpv_division": pl.String, "notification_date": pl.Date, "notification_date_raw": pl.String,
    "date_issue": pl.String,
    "amount_initial_eur": pl.Float64, "amount_last_eur": pl.Float64, "modification_count": pl.Int32,
    "amount_status": pl.String, "amount_issue": pl.String, "amount_eur": pl.Float64,
    "titulaire_count": pl.Int32, "titulaire_id_raw": pl.String, "titulaire_id_type": pl.String,
    "titulaire_siret": pl.String, "titulaire_siren": pl.String, "titulaire_name": pl.String,
    "has_social_consideration": pl.Boolean, "status": pl.String, "quarantine_reason": pl.String,
    "is_duplicate": pl.Boolean, "duplicate_reason": pl.String, "duplicate_kind": pl.String,
    "duration_months": pl.Int32, "duration_last_months": pl.Int32, "social_considerations": pl.String,
    "titulaire_ids_last": pl.String, "titulaire_ids_modified": pl.String,
}
_TZ = re.compile(r"([+-]\d{2}:?\d{2}|Z)$")
# Compared once spaces and - _ . / are removed: 'N/A', 'n.c.', 'sans objet' are placeholders too.
_PLACEHOLDER_IDS = {"nc", "null", "none", "nan", "na", "nd", "?", "sansobjet", "inconnu", "undefined"}


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
    french = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", s)  # some platforms write 01/03/2024
    if not m and not french:
        return None
    if m:
        year, month, day = (int(g) for g in m.groups())
    else:
        day, month, year = (int(g) for g in french.groups())
    if year < 1000:  # '0218' -> 2018, '0019' -> 2019
        year = 2000 + year % 100
    try:
        d = dt.date(year, month, day)
    except ValueError:
        return None
    return d if 2000 <= d.year <= dt.date.today().year + 1 else None


def date_issue(raw: object, display: str, i: int, what: str = "date de notification") -> str | None:
    """Why a contract's date is unusable (the contract still counts, in « sans date »); None when
    it is a real date."""
    if raw is None or not str(raw).strip():
        return f"{display}, enregistrement n° {i} : {what} absente : marché compté dans « sans date »"
    if parse_decp_date(raw) is not None:
        return None
    s = _TZ.sub("", str(raw).strip())[:10]
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s)
    french = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", s)
    where = f"{display}, enregistrement n° {i}"
    if iso or french:
        year, month, day = (int(g) for g in iso.groups()) if iso else (int(g) for g in reversed(french.groups()))
        year = 2000 + year % 100 if year < 1000 else year
        try:
            dt.date(year, month, day)
        except ValueError:
            return f"{where} : {what} « {raw} » n'existe pas (jour ou mois hors calendrier) : marché compté dans " \
                   f"« sans date »"
        return f"{where} : {what} « {raw} » hors plage (2000 à {dt.date.today().year + 1}) : marché compté dans " \
               f"« sans date »"
    return f"{where} : {what} illisible « {str(raw)[:40]} » : marché compté dans « sans date »"


def is_placeholder_id(raw: object) -> bool:
    """Empty, 'NC', 'null', all zeros, one character repeated: such an id identifies nothing."""
    if raw is None or isinstance(raw, dict | list | bool):
        return True
    core = re.sub(r"[\s\-_./]", "", str(raw))
    return not core or len(set(core)) == 1 or core.lower() in _PLACEHOLDER_IDS


def check_amount(raw: object, max_amount: float = DEFAULT_MAX_CONTRACT_AMOUNT_EUR) -> tuple[Decimal | None, str, str | None]:
    """(amount to the cent, status, French issue): only a 'valid' amount is ever summed."""
    if raw is None or raw == "":
        return None, "missing", "montant absent"
    if isinstance(raw, bool | dict | list):
        return None, "unreadable", f"montant illisible « {str(raw)[:40]} »"
    if isinstance(raw, str) and _CURRENCY.search(raw):
        return _check_currency_text(raw, max_amount)
    text = str(raw).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if isinstance(raw, str) and (re.fullmatch(r"[0-9]{1,3}[.,][0-9]{3}", text) or ("," in text and "." in text)):
        # "250,000" may be 250 or 250 000: a text amount that proves neither is not an amount
        return None, "unreadable", f"montant ambigu « {raw[:40]} » (séparateur de milliers ou décimal ?)"
    text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None, "unreadable", f"montant illisible « {str(raw)[:40]} »"
    if not value.is_finite():
        return None, "non_finite", f"montant non fini « {raw} »"
    if value < 0:
        return None, "negative", f"montant négatif ({raw})"
    if value == 0:
        return None, "zero", "montant nul (accord-cadre sans montant ?)"
    integer = str(int(value)) if value < Decimal("1e30") else "1"
    if value >= PLACEHOLDER_NINES_FROM and set(integer) == {"9"}:
        return None, "placeholder", f"montant fictif {integer} (sans maximum ?)"
    if value > max_amount:
        return None, "above_ceiling", f"montant invraisemblable {str(raw)[:40]} (plafond {max_amount:.0f} €)"
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "valid", None


_CURRENCY = re.compile(r"€|\beur(?:os?)?\b", re.IGNORECASE)


def _check_currency_text(raw: str, max_amount: float) -> tuple[Decimal | None, str, str | None]:
    """An amount written as text with its currency (« 80 000,00 EUR ») is read by the purchase
    reader's strict rules on the cell alone: groups of three, one decimal mark its own marks prove,
    one sign. What they refuse (« 250,000 € »: thousands or thousandths?) stays refused."""
    from achats.sources import amounts

    cell = pl.Series([raw.strip()])
    fmt = amounts.infer_format(cell)
    cents = amounts.parse_columns(pl.DataFrame({"a": cell}), "a", fmt)["_cents"][0]
    if cents is None:
        return None, "unreadable", f"montant {amounts.refusal(raw.strip(), fmt).removeprefix('montant ')[:120]}"
    return check_amount(Decimal(cents).scaleb(-2), max_amount)


def split_cents(amount: Decimal, n: int) -> list[Decimal]:
    """Even shares to the cent whose sum is exactly `amount` (the first ones get the spare cents)."""
    cents = int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))
    base, spare = divmod(cents, n)
    return [Decimal(base + (1 if k < spare else 0)) / 100 for k in range(n)]


# --- file reading ---------------------------------------------------------------------------

def contract_files(data_dir: Path) -> list[Path]:
    """Every file of contracts/ (hidden and office lock files apart); the reader refuses unknown kinds."""
    folder = data_dir / "contracts"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_value(elem: ET.Element) -> object:
    """Leaf -> text; 'titulaires' holding only 'titulaire' -> list; otherwise a dict."""
    children = list(elem)
    if not children:
        text = (elem.text or "").strip()
        return text or None
    tag = _strip_ns(elem.tag)
    tags = {_strip_ns(c.tag) for c in children}
    if len(tags) == 1 and tag.endswith("s") and tag[:-1] == next(iter(tags)):
        return [_xml_value(c) for c in children]
    out: dict[str, object] = {}
    for c in children:
        key, value = _strip_ns(c.tag), _xml_value(c)
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def load_xml(raw: bytes, display: str) -> list[tuple[str | None, object]]:
    """DECP XML (v1 schema: <marches><marche>…): records in document order, with their element name."""
    head = raw[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in raw.lower():
        raise InputError(f"{display} : XML DECP refusé (déclaration DOCTYPE/ENTITY interdite)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise InputError(f"{display} : XML DECP illisible ({exc})") from exc
    if _strip_ns(root.tag) in ("marche", "contrat-concession"):
        return [(_strip_ns(root.tag), _xml_value(root))]
    return [(_strip_ns(c.tag), _xml_value(c)) for c in root]


def _records(doc: object) -> list[tuple[str | None, object]]:
    """v1: {'marches': [...]}; v2: {'marches': {'marche': [...], 'contrat-concession': [...]}}; a bare list.

    Non-objects are kept (then quarantined), never silently dropped."""
    if isinstance(doc, list):
        return [(None, c) for c in doc]
    if isinstance(doc, dict):
        m = doc.get("marches", doc.get("marche"))
        if isinstance(m, dict):
            out: list[tuple[str | None, object]] = []
            for key in ("marche", "contrat-concession"):
                items = m.get(key, [])
                out.extend((key, c) for c in (items if isinstance(items, list) else [items]))
            return out
        if isinstance(m, list):
            return [(None, c.get("marche", c) if isinstance(c, dict) and isinstance(c.get("marche"), dict) else c)
                    for c in m]
    raise ValueError("structure inattendue")


def load_records(path: Path, display: str) -> list[tuple[str | None, object]]:
    """The raw records of one DECP file (.json or .xml, any case), or a French InputError."""
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    if suffix == ".xml":
        return load_xml(raw, display)
    if suffix != ".json":
        raise InputError(f"{display} : fichier non reconnu dans contracts/ (attendu : DECP en .json ou .xml) ; "
                         "retirez-le ou convertissez-le")
    try:
        return _records(json.loads(raw.decode("utf-8-sig")))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{display} : JSON DECP illisible ({exc})") from exc


# --- one record -----------------------------------------------------------------------------

def _as_dict(x: object) -> dict:
    return x if isinstance(x, dict) else {}


def _as_list(x: object) -> list:
    return x if isinstance(x, list) else [] if x is None else [x]


def _text(x: object) -> str | None:
    return None if x is None or isinstance(x, dict | list) else str(x)


def _flatten(items: object) -> list:
    out: list = []
    for x in _as_list(items):
        out.extend(_flatten(x) if isinstance(x, list) else [x])
    return out


def _parties(contract: dict, kind: str) -> list[dict]:
    """Titulaires (marché) or concessionnaires (concession), v1 flat or v2 wrapped."""
    key, inner = ("concessionnaires", "concessionnaire") if kind == "concession" else ("titulaires", "titulaire")
    return _unwrap_parties(contract.get(key), inner)


def _unwrap_parties(raw: object, inner: str) -> list[dict]:
    """Every party however the publisher nests it: a list, `{inner: {…}}`, `{inner: [ … ]}` (the
    xmltodict shape of two or more), or a list of those; a wrapper is never taken for a party."""
    out: list[dict] = []
    for t in _flatten(raw):
        if isinstance(t, dict) and isinstance(t.get(inner), dict | list):
            out.extend(_unwrap_parties(t[inner], inner))
        elif isinstance(t, dict):
            out.append(t)
    return out


def _social(contract: dict) -> bool:
    cs = contract.get("considerationsSociales")
    if isinstance(cs, dict):
        cs = cs.get("considerationSociale")
    return any(c and "pas de consid" not in str(c).lower() for c in _as_list(cs))


def _social_list(contract: dict) -> str | None:
    """The declared social considerations (v2: « Clause sociale », « Critère social », « Marché
    réservé »…) joined by ' ; '; None when the record has no such field (v1 files)."""
    if "considerationsSociales" not in contract:
        return None
    cs = contract.get("considerationsSociales")
    if isinstance(cs, dict):
        cs = cs.get("considerationSociale")
    return " ; ".join(sorted({str(c).strip() for c in _flatten(cs) if c and str(c).strip()}))


def _filled(x: object) -> bool:
    return not (x is None or x == "" or x == [] or x == {} or (isinstance(x, float) and x != x))


def _kind(c: dict, element: str | None) -> str:
    """Concession or marché: consolidated files carry empty concession keys on every marché."""
    if element == "contrat-concession":
        return "concession"
    declared = f"{_text(c.get('_type')) or ''} {_text(c.get('nature')) or ''}".lower()
    if "concession" in declared or "délégation" in declared:
        return "concession"
    if "march" in declared or "accord" in declared:
        return "marche"
    if (_filled(c.get("autoriteConcedante")) and not _filled(c.get("acheteur"))) \
            or (_filled(c.get("concessionnaires")) and not _filled(c.get("titulaires"))):
        return "concession"
    return "marche"


def _buyer_id(c: dict, kind: str) -> str:
    holder = c.get("autoriteConcedante") if kind == "concession" and _filled(c.get("autoriteConcedante")) \
        else c.get("acheteur")
    raw = _as_dict(holder).get("id") if isinstance(holder, dict) else c.get("acheteur.id", holder)
    return re.sub(r"\D", "", str(_text(raw) or ""))


def buyer_unit(buyer_id: str) -> str:
    """The buyer's SIREN: the first nine digits of the SIRET it published under."""
    return buyer_id[:9] if len(buyer_id) == 14 else buyer_id


def _modifications(c: dict) -> list[dict]:
    mods = []
    for m in _flatten(c.get("modifications")):
        if isinstance(m, dict):
            mods.append(m["modification"] if isinstance(m.get("modification"), dict) else m)
    return mods


def _mod_date(m: dict, month_first: bool | None = False) -> dt.date | None:
    for key in ("dateNotificationModification", "dateSignatureModification", "datePublicationDonneesModification"):
        d = _date_in_file_order(m.get(key), month_first)
        if d:
            return d
    return None


def _last_amount(mods: list[dict], amount_key: str, max_amount: float,
                 month_first: bool | None = False) -> Decimal | None:
    """Amount after the latest modification carrying a valid amount (latest date, in the file's
    day/month order, else last in list)."""
    best: tuple[dt.date, int, Decimal] | None = None
    for pos, m in enumerate(mods):
        value, status, _ = check_amount(m.get(amount_key), max_amount)
        if status == "valid" and value is not None:
            key = (_mod_date(m, month_first) or dt.date.min, pos, value)
            best = key if best is None or key[:2] > best[:2] else best
    return best[2] if best else None


def _last_titulaires(mods: list[dict], month_first: bool | None = False) -> str | None:
    """The titulaires after the latest modification naming some (a cession): their SIREN, else
    their published id, sorted and joined by ','; None when no modification changed them."""
    best: tuple[dt.date, int, list[str]] | None = None
    for pos, m in enumerate(mods):
        ids = [clean_identifier(_text(t.get("id")))[1] or str(_text(t.get("id")) or "").strip()
               for t in _unwrap_parties(m.get("titulaires"), "titulaire")]
        if any(ids):
            key = (_mod_date(m, month_first) or dt.date.min, pos, sorted({i for i in ids if i}))
            best = key if best is None or key[:2] > best[:2] else best
    return ",".join(best[2]) if best else None


def _modified_titulaires(mods: list[dict]) -> str | None:
    """Every titulaire any modification names (a cession, an « avenant de transfert »), even one a
    later cession replaced: their SIREN, else their published id, sorted and joined by ','. The
    masking must know them all (a former holder's name may stay in the objet)."""
    ids = {clean_identifier(_text(t.get("id")))[1] or str(_text(t.get("id")) or "").strip()
           for m in mods for t in _unwrap_parties(m.get("titulaires"), "titulaire")}
    ids.discard("")
    return ",".join(sorted(ids)) or None


def _months(raw: object) -> int | None:
    """`dureeMois`: a whole number of months between 1 and 600 (50 years), else unknown."""
    try:
        value = float(str(_text(raw)).strip().replace(",", "."))
    except (TypeError, ValueError):
        return None
    return int(value) if value == value and 1 <= value <= 600 and value == int(value) else None


def _last_duration(mods: list[dict], month_first: bool | None = False) -> int | None:
    """Duration after the latest modification that changed it (latest date, else last in list)."""
    best: tuple[dt.date, int, int] | None = None
    for pos, m in enumerate(mods):
        months = _months(m.get("dureeMois"))
        if months is not None:
            key = (_mod_date(m, month_first) or dt.date.min, pos, months)
            best = key if best is None or key[:2] > best[:2] else best
    return best[2] if best else None


def _identity(c: dict, buyer_id: str, kind: str, parties: list[dict], date_raw: str | None,
              amount_raw: object, position: str) -> tuple[str, str]:
    """The contract's uid, else buyer + id, else a fingerprint of its content, else its position.

    The buyer is its SIREN, not the SIRET it published under: one buyer publishes through several
    establishments (a consolidated file and its own profile), and a uid is the SIRET followed by
    the id, so the SIRET part of a uid is replaced by the SIREN."""
    raw_id, uid = _text(c.get("id")), _text(c.get("uid"))
    unit = buyer_unit(buyer_id)
    id_ok = raw_id is not None and not is_placeholder_id(raw_id)
    if uid and not is_placeholder_id(uid) and not is_placeholder_id(uid.removeprefix(buyer_id)) \
            and (raw_id is None or id_ok):
        uid = uid.strip()
        return (unit + uid[len(buyer_id):] if buyer_id and uid.startswith(buyer_id) else uid), "uid"
    if id_ok and buyer_id and raw_id:
        return f"{unit}{raw_id.strip()}", "acheteur+id"
    content = [sorted(str(_text(t.get("id")) or "").strip() for t in parties), str(_text(c.get("objet")) or "").strip(),
               str(date_raw or "").strip(), "" if amount_raw is None else str(amount_raw),
               str(_text(c.get("dureeMois")) or "").strip()]
    if not any(content[0]) and not any(content[1:]):
        return position, "position"
    digest = hashlib.sha256(json.dumps([kind, unit, *content]).encode()).hexdigest()[:20]
    return f"empreinte:{digest}", "empreinte"


def _order_cells(records: list[tuple[str | None, object]]) -> list[str]:
    """The non-ISO numeric notification dates of one file, which decide its day/month order."""
    return sorted({raw for _, c in records if isinstance(c, dict)
                   for k in ("dateNotification", "dateSignature", "dateDebutExecution")
                   if (raw := _text(c.get(k))) and re.fullmatch(r"\s*\d{1,2}/\d{1,2}/\d{4}\s*", raw)})


def _date_in_file_order(raw: object, month_first: bool | None) -> dt.date | None:
    """A publication or modification date read in its file's proven order; a d/m date that could
    be either in a file proving both orders is no date (the version falls back on the others)."""
    text = _text(raw)
    m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", text) if isinstance(text, str) else None
    if m and month_first is not False:
        first, second = int(m.group(1)), int(m.group(2))
        if month_first or second > 12:
            text = f"{second:02d}/{first:02d}/{m.group(3)}"
        elif first <= 12 and first != second:
            return None
    return parse_decp_date(text)


def file_date_order(records: list[tuple[str | None, object]]
                    ) -> tuple[dict[str, tuple[str | None, str | None]], bool | None]:
    """Each non-ISO numeric notification date of one file rewritten day-first, once the file's
    day/month order is decided from all of them (the purchase reader's rule): a platform writing
    03/15/2024 is read month-first; a date no order can be decided for maps to (None, why). With
    it, the order the file's other dates (publication, modifications) are read in: True when its
    notification dates prove month-first only, None when they prove both orders, False otherwise
    (the French order)."""
    from achats.sources.purchases import _date_order, _order_proofs

    cells = _order_cells(records)
    if not cells:
        return {}, False
    series = pl.Series(cells, dtype=pl.String).str.strip_chars()
    proven = _order_proofs(series)
    day_first, month_first = proven["day"].any(), proven["month"].any()
    fixed, ambiguous, proofs = _date_order(series)
    out: dict[str, tuple[str | None, str | None]] = {}
    for cell, text, unsure in zip(cells, fixed.to_list(), ambiguous.to_list(), strict=True):
        out[cell] = (None, f"ambiguë : ce fichier écrit des dates jour/mois (« {proofs[0]} ») et mois/jour "
                           f"(« {proofs[1]} »), l'ordre du jour et du mois ne peut être décidé") \
            if unsure and proofs else (text, None)
    return out, (None if day_first and month_first else bool(month_first))


def _contract_rows(c: object, element: str | None, i: int, display: str, buyer_siren: str | None,
                   max_amount: float, date_order: dict[str, tuple[str | None, str | None]] | None = None,
                   month_first: bool | None = False) -> list[dict]:
    """One row per titulaire; a record of unexpected shape is kept, quarantined, not dropped
    (`month_first`: the file's day/month order, for its modification dates)."""
    position = f"{display}#{i}"
    if not isinstance(c, dict):
        return [{"contract_uid": position, "identity_method": "position", "source_file": display, "source_index": i,
                 "status": "quarantined", "is_duplicate": False, "titulaire_count": 0,
                 "quarantine_reason": f"{display}, enregistrement n° {i} : pas un objet marché "
                                      f"({type(c).__name__})"}]
    kind = _kind(c, element)
    buyer_id = _buyer_id(c, kind)
    if buyer_siren and buyer_id and not buyer_id.startswith(buyer_siren):
        return []
    parties = _parties(c, kind)
    date_keys = ("dateSignature", "dateDebutExecution", "dateNotification") if kind == "concession" \
        else ("dateNotification",)
    date_raw = next((_text(c.get(k)) for k in date_keys if _text(c.get(k))), None)
    date_read, date_doubt = (date_order or {}).get(date_raw or "", (date_raw, None))
    notified = parse_decp_date(date_read)
    amount_key = "valeurGlobale" if kind == "concession" and _filled(c.get("valeurGlobale")) else "montant"
    amount_raw = c.get(amount_key)
    uid, method = _identity(c, buyer_id, kind, parties, date_raw, amount_raw, position)
    amount, amount_status, amount_issue = check_amount(amount_raw, max_amount)
    mods = _modifications(c)
    last = _last_amount(mods, amount_key, max_amount, month_first)
    last = last if last is not None else amount
    core = [(notified.isoformat() if notified else str(date_raw or "").strip()),
            sorted(str(_text(t.get("id")) or "").strip() for t in parties)]
    amount_key_text = str(amount) if amount is not None else ("" if amount_raw is None else str(amount_raw))
    wrapped = any(isinstance(t, dict) and ("titulaire" in t or "concessionnaire" in t)
                  for t in _flatten(c.get("titulaires") or c.get("concessionnaires")))
    cpv = normalize_cpv(_text(c.get("codeCPV")))
    base = {
        "contract_uid": uid, "identity_method": method, "contract_id_raw": _text(c.get("id")),
        "source_file": display, "source_index": i,
        "format_version": "v2" if wrapped or "considerationsSociales" in c else "v1",
        "contract_kind": kind, "buyer_id": buyer_id or None, "object": _text(c.get("objet")), "cpv": cpv,
        "cpv_division": cpv[:2] if cpv else None, "notification_date": notified,
        "notification_date_raw": date_raw,
        "date_issue": (f"{display}, enregistrement n° {i} : date « {date_raw} » {date_doubt} : marché compté dans "
                       f"« sans date »") if date_doubt else
        date_issue(date_read, display, i, "date de signature ou de notification"
                   if kind == "concession" else "date de notification"),
        "amount_initial_eur": float(amount) if amount is not None else None,
        "amount_last_eur": float(last) if last is not None else None, "modification_count": len(mods),
        "amount_status": amount_status, "amount_issue": amount_issue,
        "has_social_consideration": _social(c), "status": "ok", "quarantine_reason": None,
        "is_duplicate": False, "duplicate_reason": None, "duplicate_kind": None, "_core": json.dumps(core),
        "_date": core[0], "_tits": json.dumps(core[1]), "_ceded": _ceded(parties, mods),
        "_amount": amount_key_text, "_objet": _objet_key(c.get("objet")), "_cpv": cpv,
        "_lots": lot_labels(c.get("objet")),
        "_publication": json.dumps([display, str(_text(c.get("datePublicationDonnees")) or "").strip()]),
        "duration_months": _months(c.get("dureeMois")),
        "duration_last_months": _last_duration(mods, month_first) or _months(c.get("dureeMois")),
        "social_considerations": _social_list(c),
        "titulaire_ids_last": _last_titulaires(mods, month_first),
        "titulaire_ids_modified": _modified_titulaires(mods),
    }
    if not buyer_id:
        who = "autorité concédante" if kind == "concession" else "acheteur"
        base.update(status="quarantined",
                    quarantine_reason=f"{display}, enregistrement n° {i} ({base['contract_id_raw']}) : {who} absent")
    # a titulaire listed twice in one record is one titulaire: one share, the repeat kept as a
    # duplicate row with its reason (never a second share of the amount)
    keys = [_party_key(t) for t in parties]
    first = [k is None or keys.index(k) == j for j, k in enumerate(keys)] or [True]
    n = sum(first)
    shares = iter(split_cents(amount, n) if amount is not None else [None] * n)
    rows = []
    for t, own in zip(parties or [{}], first, strict=True):
        share = next(shares) if own else None
        siret, siren = clean_identifier(_text(t.get("id")))
        id_type = str(_text(t.get("typeIdentifiant")) or "").upper().replace("-", "_")
        if id_type and id_type != "SIRET" and not id_type.startswith("SIRE"):
            # a HORS_UE identifier is no SIREN; a French VAT number holds one, kept when its key checks
            siret, siren = None, siren_from_french_vat(_text(t.get("id"))) if id_type.startswith("TVA") else None
        row = dict(base)
        row.update(amount_eur=float(share) if share is not None else None, titulaire_count=n,
                   titulaire_id_raw=_text(t.get("id")), titulaire_id_type=id_type or None,
                   titulaire_siret=siret, titulaire_siren=siren,
                   titulaire_name=_text(t.get("denominationSociale") or t.get("nom")))
        if not own:
            said = f"« {_text(t.get('id'))} »" if keys[len(rows)][0] == "id" else "sans identifiant, de même nom,"
            row.update(is_duplicate=True, duplicate_kind="titulaire_repete", duplicate_reason=(
                f"{display}, enregistrement n° {i}, champ « titulaires » : titulaire {said} cité deux fois : compté "
                f"une fois, sa part du montant n'est pas doublée"))
        rows.append(row)
    return rows


def _party_key(t: dict) -> tuple[str, str] | None:
    """What makes two titulaires of one record the same: their identifier, letters and digits only
    (« 906000013 00001 » is 90600001300001), else, without one, their name; None without either."""
    ident = re.sub(r"[^0-9A-Z]", "", str(_text(t.get("id")) or "").upper())
    if ident:
        return "id", ident
    name = "".join(ch for ch in unicodedata.normalize("NFKD", str(_text(t.get("denominationSociale") or t.get("nom"))
                                                                  or "")).casefold() if ch.isalnum())
    return ("name", name) if name else None


def _ceded(parties: list[dict], mods: list[dict]) -> bool:
    """The record writes at top level the titulaires a modification of its own brought (a
    cession republished with the new titulaire): its top-level titulaires are not the initial ones."""
    top = {str(_text(t.get("id")) or "").strip() for t in parties} - {""}
    return bool(top) and any({str(_text(t.get("id")) or "").strip()
                              for t in _unwrap_parties(m.get("titulaires"), "titulaire")} == top for m in mods)


def _version_key(c: dict, month_first: bool | None = False) -> tuple:
    """Later versions of a contract: more recent modification, more modifications, later publication
    (dates read in the file's proven day/month order, file_date_order)."""
    mods = _modifications(c)
    last_mod = max((d for d in (_mod_date(m, month_first) for m in mods) if d), default=dt.date.min)
    published = _date_in_file_order(c.get("datePublicationDonnees"), month_first) or dt.date.min
    return last_mod, len(mods), published


def parse_decp_file(path: Path, data_dir: Path, buyer_siren: str | None,
                    max_amount: float = DEFAULT_MAX_CONTRACT_AMOUNT_EUR) -> list[dict]:
    """Rows of one file, before duplicates across files are marked (see read_contracts)."""
    return [r for r, _, _ in _file_rows(path, data_dir, buyer_siren, max_amount)]


def _file_rows(path: Path, data_dir: Path, buyer_siren: str | None,
               max_amount: float) -> list[tuple[dict, str, tuple]]:
    display = path.relative_to(data_dir).as_posix()
    out = []
    records = load_records(path, display)
    order, month_first = file_date_order(records)
    for i, (element, c) in enumerate(records, start=1):
        content = json.dumps(c, sort_keys=True, ensure_ascii=False, default=str)
        version = _version_key(c, month_first) if isinstance(c, dict) else ()
        out.extend((row, content, version)
                   for row in _contract_rows(c, element, i, display, buyer_siren, max_amount, order, month_first))
    return out


def _objet_key(raw: object) -> str:
    """The objet as a republication may retype it: case, accents, punctuation and spaces ignored
    (« l?air » and « l'air », a final dot), so that only a change of words tells another lot."""
    text = unicodedata.normalize("NFKD", str(_text(raw) or "")).casefold()
    return "".join(ch for ch in text if ch.isalnum())


# « Lot 1 », « lot n°2 », « LOT 03 – … », « Lot B : … », « Lot 1 bis », « Lot 2b »:
# the number (with its bis/ter/quater or glued letter) or the single letter that follows the word
# lot; « lot de 50 chaises », « lot d'outillage » name no lot; « Lots 1, 2 et 3 » names three
_LOT_WORD = re.compile(r"\blot(s?)(?![a-z])", re.IGNORECASE)
_LOT_NUMBER = r"(?:(?:n\s*[°ºo]?\.?|num(?:[ée]ro)?\.?|#)\s*)?(\d+)(?:\s*(bis|ter|quater)(?![a-z])|([a-z])(?![\w'’]))?"
_LOT_FIRST = re.compile(r"\s*(?:(?:n\s*[°ºo]?\.?|num(?:[ée]ro)?\.?|#)\s*)?[:\-–—]?\s*" + _LOT_NUMBER, re.IGNORECASE)
_LOT_NEXT = re.compile(r"\s*(?:,|&|/|\bet\b)\s*" + _LOT_NUMBER, re.IGNORECASE)
_LOT_LETTER = re.compile(r"\s*[:\-–—]?\s*([a-z])(?![\w'’])", re.IGNORECASE)
# « Lots 2 à 4 », « lots 2-4 », « lots n°2 au n°4 »: every lot from the first to the last, after
# the plural only, between plain numbers, and not a street number (« lots 2 à 4 rue … »)
_LOT_RANGE = re.compile(r"\s*(?:[-–—]|\b(?:à|a|au)\b)\s*(?:(?:n\s*[°ºo]?\.?|num(?:[ée]ro)?\.?|#)\s*)?(\d+)"
                        r"(?![\w'’])(?!\s*(?:bis|ter|quater|rue|av|avenue|bd|boulevard|all[ée]e|chemin|place"
                        r"|impasse|route|quai|cours|square|esplanade)\b)", re.IGNORECASE)
_LOT_RANGE_SPAN = 50  # a wider « range » is no list of lots (« lots 1 à 500 » is not read)


def _lot_number(m: re.Match) -> str:
    number, spaced, glued = m.group(1), m.group(2), m.group(3)
    return str(int(number)) + (spaced or glued or "").casefold()


def lot_labels(objet: object) -> frozenset[str]:
    """The lots an objet names (« 2 » for « Lot n°02 », « b » for « LOT B », « 1bis » for « Lot 1 bis »,
    1 and 2 for « Lots 1 et 2 », 2, 3 and 4 for « Lots 2 à 4 »); empty when it names none. A republication repeats its objet, so
    two records naming other lots are other contracts, and two publications naming the same lot of
    one id, date and titulaires are one."""
    text = str(_text(objet) or "")
    found: set[str] = set()
    for word in _LOT_WORD.finditer(text):
        m = _LOT_FIRST.match(text, word.end())
        if m is None:
            letter = _LOT_LETTER.match(text, word.end())
            found.update([letter.group(1).casefold()] if letter else [])
            continue
        found.add(_lot_number(m))
        while word.group(1):  # « Lots 1, 2 et 3 », « Lots 2 à 4 »
            span = _LOT_RANGE.match(text, m.end()) if m.re is not _LOT_RANGE and not (m.group(2) or m.group(3)) \
                else None
            if span and 0 < int(span.group(1)) - int(m.group(1)) <= _LOT_RANGE_SPAN:
                found.update(str(n) for n in range(int(m.group(1)), int(span.group(1)) + 1))
                m = span
            elif not (m := _LOT_NEXT.match(text, m.end())):
                break
            else:
                found.add(_lot_number(m))
    return frozenset(found)


def _same_contract(a: dict, b: dict) -> bool:
    """Two records of one uid, date and titulaires: the same contract when, without contradicting
    CPVs or lots, they agree on the amount (a corrected objet) or on the objet (a corrected amount),
    or when two publications name the same lot (an amended objet and amount: the lot proves it).
    Lots sharing an id differ by titulaire, objet (« Lot 2 ») or CPV, and stay apart, whatever
    their amounts: several lots won by one titulaire at one maximum are ordinary."""
    if a["_cpv"] and b["_cpv"] and a["_cpv"] != b["_cpv"]:
        return False
    if a["_lots"] and b["_lots"] and a["_lots"] != b["_lots"]:
        return False
    if a["_tits"] != b["_tits"]:  # other titulaires: other lots, unless one record shows a cession
        return (a["_ceded"] or b["_ceded"]) and a["_amount"] == b["_amount"] and a["_objet"] == b["_objet"]
    return a["_amount"] == b["_amount"] or a["_objet"] == b["_objet"] or _same_lot_republished(a, b)


def _same_lot_republished(a: dict, b: dict) -> bool:
    """Two publications naming the same lot(s) of one id, date and titulaires: a lot is awarded
    once, so the later one amends it; one publication's records stay apart (it lists, it does not
    republish), and objets naming no lot prove nothing."""
    return bool(a["_lots"]) and a["_lots"] == b["_lots"] and a["_publication"] != b["_publication"]


def _root(parent: dict[str, str], p: str) -> str:
    while parent[p] != p:
        p = parent[p]
    return p


def _apart(a: tuple[dict[str, set], set], b: tuple[dict[str, set], set], same_amount_only: bool) -> bool:
    """Two merged sets that cannot be one contract: they name two lots, or share a publication
    (by the objet alone: any; by the amount: one whose records are not one record listed twice)."""
    if len(a[1] | b[1]) > 1:
        return True
    common = a[0].keys() & b[0].keys()
    return bool(common) and (not same_amount_only or any(len(a[0][p] | b[0][p]) > 1 for p in common))


def _initial_titulaires(records: dict[str, tuple[tuple, dict, int]], members: list[str], last: str) -> str | None:
    """When the latest version writes a cession's titulaires at top level, the latest version of
    the contract that still names other titulaires (those at notification), else None."""
    if not records[last][1]["_ceded"]:
        return None
    before = [p for p in members if records[p][1]["_tits"] != records[last][1]["_tits"] and not records[p][1]["_ceded"]]
    return max(before, key=lambda p: (records[p][0], records[p][2])) if before else None


def _mark_duplicates(rows: list[tuple[dict, str, tuple]]) -> None:
    """Exact republications count once; of several versions of one contract, the latest is kept.

    A contract is its uid (or fingerprint), its notification date and titulaires, and either its
    amount or its objet (see _same_contract): a republication with another amount and no
    modification is a corrected version, not a second contract; the latest publication wins.
    Two records of one publication (one file, one datePublicationDonnees) are never versions of
    each other unless listed twice (same objet and amount): a file lists lots sharing an id, it
    does not republish its own record. Records naming two lots (lot_labels) are two contracts."""
    first_seen: dict[str, str] = {}
    records: dict[str, tuple[tuple, dict, int]] = {}  # position -> (version, first row, order)
    for order, (row, content, version) in enumerate(rows):
        pos = f"{row['source_file']} n° {row['source_index']}"
        origin = first_seen.setdefault(content, pos)
        if origin != pos:
            row.update(is_duplicate=True, duplicate_reason=f"republication identique de {origin}",
                       duplicate_kind="republication")
        elif row["status"] == "ok":
            records.setdefault(pos, (version, row, order))
    groups: dict[tuple[str, str], list[str]] = {}
    for pos, (_, row, _) in records.items():
        groups.setdefault((row["contract_uid"], row["_date"]), []).append(pos)
    component: dict[str, str] = {}  # position -> the kept position of its contract
    carried: dict[str, tuple[dict, str]] = {}  # kept position -> figures after modifications, and whence
    per_uid: dict[str, set[str]] = {}
    for (uid, _), members in groups.items():
        parent = {p: p for p in members}
        # a file does not republish its own record: two records of one publication (same file,
        # same datePublicationDonnees) with two amounts are two lots, not a corrected amount; links
        # by the same amount first, so that another file's republication joins the lot it repeats
        # (publication -> the objets and amounts it lists, lots named) of each merged set: one
        # publication's records are one contract only when listed twice (same objet and amount),
        # and no contract names two lots, even through a third record that names none
        listed = {p: ({records[p][1]["_publication"]: {(records[p][1]["_objet"], records[p][1]["_amount"])}},
                      {records[p][1]["_lots"]} - {frozenset()}) for p in members}
        for same_amount_only in (True, False):
            for k, a in enumerate(members):
                for b in members[k + 1:]:
                    ra, rb = _root(parent, a), _root(parent, b)
                    if ra == rb or _apart(listed[ra], listed[rb], same_amount_only):
                        continue
                    if (records[a][1]["_amount"] == records[b][1]["_amount"] or not same_amount_only) \
                            and _same_contract(records[a][1], records[b][1]):
                        parent[ra] = rb
                        for pub, seen in listed[ra][0].items():
                            listed[rb][0].setdefault(pub, set()).update(seen)
                        listed[rb][1].update(listed[ra][1])
        latest: dict[str, str] = {}
        for p in members:
            root = _root(parent, p)
            if root not in latest or (records[p][0], records[p][2]) > (records[latest[root]][0],
                                                                       records[latest[root]][2]):
                latest[root] = p
        for root, last in list(latest.items()):
            initial = _initial_titulaires(records, [p for p in members if _root(parent, p) == root], last)
            if initial:  # a cession republished at top level: the titulaires at notification are kept
                latest[root] = initial
                carried[initial] = ({k: records[last][1][k] for k in ("amount_last_eur", "duration_last_months",
                                                                       "modification_count", "titulaire_ids_last")}, last)
        for p in members:
            component[p] = latest[_root(parent, p)]
        per_uid.setdefault(uid, set()).update(latest.values())
    for row, _, _ in rows:
        pos = f"{row['source_file']} n° {row['source_index']}"
        if row["is_duplicate"] or pos not in records:
            continue
        kept = component[pos]
        if pos in carried:
            row.update(carried[pos][0])
        if kept != pos and kept in carried and carried[kept][1] == pos:
            row.update(is_duplicate=True, duplicate_kind="superseded",
                       duplicate_reason=f"republication après cession de {kept} : son titulaire à la notification "
                                        f"est gardé, avec le montant et la durée après modifications de celle-ci")
        elif kept != pos:
            was, now = records[pos][1]["_amount"], records[kept][1]["_amount"]
            change = f" (montant {was or 'absent'} → {now or 'absent'})" if was != now else ""
            if was != now and records[pos][1]["_objet"] != records[kept][1]["_objet"] \
                    and _same_lot_republished(records[pos][1], records[kept][1]):
                named = sorted(records[kept][1]["_lots"], key=lambda lot: (len(lot.rstrip("abcdefghijklmnopqrstuvwxyz")),
                                                                          lot))
                lots = ", ".join(named)
                change = f"{change[:-1]} ; objet modifié, {'mêmes lots' if len(named) > 1 else 'même lot'} {lots})"
            row.update(is_duplicate=True, duplicate_kind="superseded",
                       duplicate_reason=f"version antérieure remplacée par {kept}{change}")
        if len(per_uid[row["contract_uid"]]) > 1:  # one id shared by distinct contracts (lots)
            kept_row = records[kept][1]
            digest = hashlib.sha256(json.dumps([kept_row["_core"], kept_row["_amount"], kept_row["_objet"]])
                                    .encode()).hexdigest()[:8]
            row.update(contract_uid=f"{row['contract_uid']}~{digest}", identity_method=f"{row['identity_method']}+lot")


def read_contracts(data_dir: Path, buyer_siren: str | None,
                   max_amount: float = DEFAULT_MAX_CONTRACT_AMOUNT_EUR, one_buyer: bool = False) -> pl.DataFrame:
    """All contracts of contracts/, each contract's rows marked once current, the others duplicates.
    Without `buyer_siren`, every buyer's; with `one_buyer` (a buyer's run), an error if they are
    several buyers' (see _one_buyer_only)."""
    rows: list[tuple[dict, str, tuple]] = []
    for path in contract_files(data_dir):
        rows.extend(_file_rows(path, data_dir, buyer_siren, max_amount))
    if one_buyer and not buyer_siren:
        _one_buyer_only(rows)
    _mark_duplicates(rows)
    return pl.DataFrame([{k: r.get(k) for k in SCHEMA} for r, _, _ in rows], schema=SCHEMA)


def _one_buyer_only(rows: list[tuple[dict, str, tuple]]) -> None:
    """Without `[acheteur] siren`, the files' contracts are the buyer's only if they name one
    buyer: a consolidated file of several buyers would otherwise add everyone's contracts to its
    figures, silently. Stop and ask for the SIREN, naming the buyers found."""
    records: dict[str, set[tuple[str, int]]] = {}
    for row, _, _ in rows:
        if row.get("buyer_id"):
            records.setdefault(buyer_unit(row["buyer_id"]), set()).add((row["source_file"], row["source_index"]))
    if len(records) < 2:
        return
    ranked = sorted(records.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    shown = ", ".join(f"{siren} ({len(recs)} marchés)" for siren, recs in ranked[:5])
    more = f" et {len(ranked) - 5} autres" if len(ranked) > 5 else ""
    files = sorted({f for recs in records.values() for f, _ in recs})
    raise InputError(
        f"{', '.join(files[:3])}{' …' if len(files) > 3 else ''} : les fichiers DECP portent les marchés de "
        f"{len(ranked)} acheteurs (SIREN {shown}{more}) et achats.toml ne dit pas lequel est l'acheteur : "
        f"ajoutez siren = \"…\" (le SIREN de l'acheteur, 9 chiffres) dans la section [acheteur] de achats.toml, "
        f"sinon les marchés des autres acheteurs seraient comptés")


def file_buyers(path: Path, data_dir: Path) -> dict[str, int]:
    """The buyers (SIREN) whose records a DECP file holds, with their number of records."""
    out: dict[str, int] = {}
    for element, c in load_records(path, path.relative_to(data_dir).as_posix()):
        if isinstance(c, dict):
            unit = buyer_unit(_buyer_id(c, _kind(c, element))) or "sans acheteur"
            out[unit] = out.get(unit, 0) + 1
    return out


def foreign_file_warning(path: Path, data_dir: Path, buyer_siren: str | None) -> str | None:
    """French warning for a DECP file that holds none of the buyer's contracts (another buyer's
    export, a wrong download): its records are counted nowhere, and a silent 0 would look like a
    buyer without contracts."""
    buyers = file_buyers(path, data_dir)
    buyers.pop("sans acheteur", None)  # already in quarantine, with their reason
    if not buyers or (buyer_siren and buyer_siren in buyers):
        return None
    display = path.relative_to(data_dir).as_posix()
    ranked = sorted(buyers.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{siren} ({n})" for siren, n in ranked[:5])
    more = f" et {len(ranked) - 5} autres" if len(ranked) > 5 else ""
    whose = f"de l'acheteur (SIREN {buyer_siren})" if buyer_siren else "de l'acheteur"
    count = f"{sum(buyers.values()):,}".replace(",", " ")
    return (f"{display} : aucun marché {whose} ; ses {count} enregistrements sont ceux "
            f"d'autres acheteurs (SIREN {shown}{more}) et ne sont comptés nulle part : vérifiez le fichier "
            f"ou le SIREN de [acheteur] dans achats.toml")
