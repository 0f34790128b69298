"""A second, independent count of the buyer's marchés straight from the DECP files.

It shares no counting code with the reader and the SQL marts (only the XML decoding), so that a
bug in splitting, deduplication, joins or periods shows up as a difference with contracts_summary.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from achats.sources.decp import DEFAULT_MAX_CONTRACT_AMOUNT_EUR, load_xml, parse_decp_date


@dataclass(frozen=True)
class Recount:
    contract_count: int
    notified_amount_eur: Decimal
    # the buyers (SIREN) of the marchés counted: without a buyer SIREN, several is an error
    buyer_sirens: frozenset[str] = frozenset()
    # titulaires with an identifier over the counted marchés, each co-titulaire apart
    titulaire_id_count: int = 0


def _items(doc: object) -> list[tuple[str, object]]:
    marches = doc.get("marches") if isinstance(doc, dict) else doc
    if isinstance(marches, list):
        return [("", m.get("marche", m) if isinstance(m, dict) and isinstance(m.get("marche"), dict) else m)
                for m in marches]
    if isinstance(marches, dict):
        out = []
        for key in ("marche", "contrat-concession"):
            value = marches.get(key) or []
            out += [(key, m) for m in (value if isinstance(value, list) else [value])]
        return out
    return []


def _blank(value: object) -> bool:
    text = re.sub(r"[\s\-_./]", "", "" if value is None else str(value))
    return text.lower() in ("", "nc", "null", "none", "nan", "n/a", "na", "nd", "n.c.", "?", "sansobjet",
                            "inconnu", "undefined") or text == text[0] * len(text)


_MONEY = re.compile(r"^\s*(?:€|eur(?:os?)?)?\s*(.*?)\s*(?:€|eur(?:os?)?)?\s*$", re.IGNORECASE)
# with a currency: groups of three after a space or the other mark, at most two decimals
_WITH_CURRENCY = re.compile(r"\d{1,3}(?:([ .])\d{3})+(?:,\d{1,2})?|\d{1,3}(?:([ ,])\d{3})+(?:\.\d{1,2})?"
                            r"|\d+(?:[.,]\d{1,2})?")


def _valid_amount(value: object, ceiling: float) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and re.search(r"€|\beur(?:os?)?\b", value, re.IGNORECASE):
        core = _MONEY.match(value.replace("\u00a0", " ").replace("\u202f", " ")).group(1)
        if not _WITH_CURRENCY.fullmatch(core):
            return None
        if re.fullmatch(r"\d{1,3}[.,]\d{3}", core):  # thousands or thousandths: ambiguous
            return None
        has_comma_decimal = re.search(r",\d{1,2}$", core) is not None
        digits = core.replace(" ", "")
        value = digits.replace(".", "").replace(",", ".") if has_comma_decimal or "," not in digits and \
            re.search(r"\.\d{3}(?:\.|$)", digits) else digits.replace(",", "")
    if isinstance(value, str):
        bare = re.sub(r"[\s\u00a0\u202f]", "", value)
        if re.fullmatch(r"\d{1,3}[.,]\d{3}", bare) or ("," in bare and "." in bare):
            return None
    try:
        number = float(str(value).replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0 or number > ceiling:
        return None
    if number >= 99_999_999 and set(str(int(number))) == {"9"}:
        return None
    return Decimal(str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
                   ).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _mods(c: dict) -> list[dict]:
    flat, todo = [], list(c.get("modifications") or []) if isinstance(c.get("modifications"), list) else []
    while todo:
        m = todo.pop(0)
        if isinstance(m, list):
            todo = m + todo
        elif isinstance(m, dict):
            flat.append(m.get("modification") if isinstance(m.get("modification"), dict) else m)
    return flat


def _freshness(c: dict, order: int, month_first: bool | None = False) -> tuple:
    """Latest modification date, number of modifications, publication date, then reading order;
    the dates read in the file's day/month order (_month_first), as its notification dates."""
    mods = _mods(c)
    first_dates = []
    for m in mods:  # each modification's first readable date
        for k in ("dateNotificationModification", "dateSignatureModification", "datePublicationDonneesModification"):
            d = _ordered_day(m.get(k), month_first) if isinstance(m.get(k), str) else None
            if d:
                first_dates.append(d)
                break
    published = c.get("datePublicationDonnees")
    return (max(first_dates, default=_MIN), len(mods),
            (_ordered_day(published, month_first) if isinstance(published, str) else None) or _MIN, order)


def _ordered_day(raw: str, month_first: bool | None) -> dt.date | None:
    """A d/m/yyyy cell swapped when its file is month-first (or the cell proves it), no date when
    its file proves both orders and the cell could be either."""
    m = _DMY.fullmatch(raw)
    if m and month_first is not False:
        a, b = int(m.group(1)), int(m.group(2))
        if month_first or b > 12:
            raw = f"{b:02d}/{a:02d}/{m.group(3)}"
        elif a <= 12 and a != b:
            return None
    return parse_decp_date(raw)


_MIN = dt.date.min


def recount_contracts(data_dir: Path, buyer_siren: str | None,
                      ceiling: float = DEFAULT_MAX_CONTRACT_AMOUNT_EUR) -> Recount:
    """Marchés (not concessions) of the buyer: count and sum of plausible initial amounts."""
    seen: set[str] = set()
    buyers: set[str] = set()
    found: dict[str, list[tuple[tuple, Decimal | None, str, str, str, str, int, frozenset[str], str, bool]]] = {}
    order = 0
    folder = data_dir / "contracts"
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        display = path.relative_to(data_dir).as_posix()
        if path.suffix.lower() == ".xml":
            items = [(k or "", v) for k, v in load_xml(path.read_bytes(), display)]
        elif path.suffix.lower() == ".json":
            items = _items(json.loads(path.read_bytes().decode("utf-8-sig")))
        else:
            continue
        month_first = _month_first(items)
        for index, (element, c) in enumerate(items, start=1):
            order += 1
            if not isinstance(c, dict):
                continue
            text = json.dumps(c, sort_keys=True, ensure_ascii=False, default=str)
            if text in seen:
                continue
            seen.add(text)
            if _is_concession(c, element):
                continue
            acheteur = c.get("acheteur")
            buyer = acheteur.get("id") if isinstance(acheteur, dict) else c.get("acheteur.id", acheteur)
            buyer = "".join(ch for ch in str(buyer or "") if ch.isdigit())
            if not buyer or (buyer_siren and buyer[:9] != buyer_siren):
                continue
            buyers.add(buyer[:9])
            amount = _valid_amount(c.get("montant"), ceiling)
            montant = c.get("montant")
            day, holders = json.loads(_core(c, month_first))
            key = _key(c, buyer, f"{display}#{index}") + "|" + json.dumps(day)
            cpv = re.sub(r"\D", "", str(c.get("codeCPV") or "").split("-")[0])
            objet = "" if c.get("objet") is None or isinstance(c.get("objet"), dict | list) else str(c.get("objet"))
            found.setdefault(key, []).append((
                _freshness(c, order, month_first), amount,
                str(amount) if amount is not None else ("" if montant is None else str(montant)),
                "".join(ch for ch in unicodedata.normalize("NFKD", objet).casefold() if ch.isalnum()),
                cpv.zfill(8) if len(cpv) in (7, 8) else "",
                display + "|" + (str(c.get("datePublicationDonnees")).strip()
                                 if isinstance(c.get("datePublicationDonnees"), str) else ""),
                # a titulaire listed twice in one record is one (its id without spaces or signs)
                len({re.sub(r"[^0-9A-Z]", "", tid.upper()) for tid in _titulaire_ids(c)} - {""}),
                _lots_named(objet), json.dumps(holders),
                any(sorted(set(_titulaire_ids(m)) - {""}) == sorted(set(holders) - {""}) != [] for m in _mods(c))))
    clusters = [cluster for versions in found.values() for cluster in _clusters(versions)]
    kept = [max(cluster) for cluster in clusters]
    total = sum((v[1] for v in kept if v[1] is not None), Decimal(0))
    return Recount(contract_count=len(kept), notified_amount_eur=total, buyer_sirens=frozenset(buyers),
                   titulaire_id_count=sum(_holders_at_notification(c) for c in clusters))


def _holders_at_notification(cluster: list[tuple]) -> int:
    """Identified titulaires of a contract when notified: a latest version naming its own
    cession's titulaires at top level tells nothing of them; the latest other version does."""
    latest = max(cluster)
    before = [v for v in cluster if not v[9] and v[8] != latest[8]]
    return max(before)[6] if latest[9] and before else latest[6]


def _lots_named(objet: str) -> frozenset[str]:
    """The lots an objet names, read word by word: the word after « lot »/« lots » (past « n »,
    « no », « numero ») when it is a number (« 03 » is 3; « 1bis », « 1 bis », « 2b » kept whole)
    or a lone letter not cut by an apostrophe (« lot d'outillage » names no lot); after « lots »,
    the further numbers joined by « et » (« lots 1, 2 et 3 »)."""
    words = [w.strip() for w in re.findall(r"(?<=\d)\s*[-–—]\s*(?=\d)|[^\W_]+|['’,&/]",
                                           unicodedata.normalize("NFKC", objet).casefold())]
    found = set()
    for k, word in enumerate(words):
        glued = re.fullmatch(r"lots?(\d+)([a-z]?|bis|ter|quater)", word)
        if glued:
            found.add(_numbered(glued, words[k + 1:k + 2]))
            continue
        if word not in ("lot", "lots"):
            continue
        rest = words[k + 1:]
        while rest and rest[0] in ("n", "no", "num", "numero", "numéro"):
            rest = rest[1:]
        number = re.fullmatch(r"(?:n|no)?(\d+)([a-z]?|bis|ter|quater)", rest[0]) if rest else None
        after = words[k + 1:k + 3] + ["", ""]
        if number:
            found.add(_numbered(number, rest[1:2]))
            rest = rest[1:]
            while word == "lots" and rest:  # « lots 1 et 2 », « lots n°1, n°2 »: a joining word, a number
                ranged = _range_to(number, rest) if number else None
                if ranged:  # « lots 2 à 4 », « lots 2-4 »: every lot from the first to the last
                    found.update(str(n) for n in range(int(number.group(1)), ranged[0] + 1))
                    rest, number = rest[ranged[1]:], None
                rest = rest[1:] if rest and rest[0] in ("bis", "ter", "quater") else rest
                if not rest or rest[0] not in (",", "&", "/", "et"):
                    break
                rest = rest[1:]
                while rest and rest[0] in ("n", "no"):
                    rest = rest[1:]
                number = re.fullmatch(r"(?:n|no)?(\d+)([a-z]?|bis|ter|quater)", rest[0]) if rest else None
                if not number:
                    break
                found.add(_numbered(number, rest[1:2]))
                rest = rest[1:]
        elif len(after[0]) == 1 and "a" <= after[0] <= "z" and after[1] not in ("'", "’"):
            found.add(after[0])
    return frozenset(found)


_STREET = {"rue", "av", "avenue", "bd", "boulevard", "allee", "allée", "chemin", "place", "impasse", "route",
           "quai", "cours", "square", "esplanade"}


def _range_to(first: re.Match, rest: list[str]) -> tuple[int, int] | None:
    """After « lots 2 », the last lot of a range « à 4 », « au n°4 », « - 4 » and the words it takes;
    None when the first lot is not a plain number (« 2 bis »), the range runs backwards or over
    50 lots, or the last number is a street number (« lots 2 à 4 rue … »)."""
    if first.group(2) or not rest or rest[0] not in ("à", "a", "au", "-", "–", "—"):
        return None
    k = 1
    while k < len(rest) and rest[k] in ("n", "no", "num", "numero", "numéro"):
        k += 1
    if k >= len(rest) or not rest[k].isdigit() or (rest[k + 1:k + 2] and rest[k + 1] in _STREET | {"bis", "ter", "quater"}):
        return None
    last = int(rest[k])
    return (last, k + 1) if 0 < last - int(first.group(1)) <= 50 else None


def _numbered(number: re.Match, following: list[str]) -> str:
    """« 03 » is 3; a glued letter or bis/ter/quater, glued or the next word, is part of the lot."""
    suffix = number.group(2) or (following[0] if following and following[0] in ("bis", "ter", "quater") else "")
    return str(int(number.group(1))) + suffix


def _clusters(versions: list[tuple]) -> list[list[tuple]]:
    """Versions of one id and date grouped into contracts: the same titulaires (or, same amount
    and objet, one record writing at top level the titulaires its own modification brought: a
    cession), no two different CPVs, no
    two lots named in the objets (_lots_named), and the same amount or the same objet (letters and
    digits), or the same lot named by two publications. Clusters are merged until stable, by the same amount first. Records of one
    publication (file and publication date) are one contract only when listed twice (same objet
    and amount): a file lists lots, it does not republish its own record."""
    def linked(a: tuple, b: tuple, by_amount: bool) -> bool:
        if (a[4] and b[4] and a[4] != b[4]) or (a[7] and b[7] and a[7] != b[7]):
            return False
        if a[8] != b[8]:  # other titulaires: another lot, unless a record names its own cession's
            return (a[9] or b[9]) and a[2] == b[2] and a[3] == b[3]
        # the same lot named by two publications: an amended objet and amount of one lot
        return a[2] == b[2] or (not by_amount and (a[3] == b[3] or (bool(a[7]) and a[7] == b[7] and a[5] != b[5])))

    def apart(x: list[tuple], y: list[tuple], by_amount: bool) -> bool:
        if len({v[7] for v in x + y if v[7]}) > 1:
            return True
        for pub in {v[5] for v in x} & {v[5] for v in y}:
            if not by_amount or len({(v[3], v[2]) for v in x + y if v[5] == pub}) > 1:
                return True
        return False

    clusters = [[v] for v in versions]
    for by_amount in (True, False):
        merged = True
        while merged:
            merged = False
            for i in range(len(clusters)):
                for j in range(i + 1, len(clusters)):
                    if apart(clusters[i], clusters[j], by_amount):
                        continue
                    if any(linked(a, b, by_amount) for a in clusters[i] for b in clusters[j]):
                        clusters[i] += clusters.pop(j)
                        merged = True
                        break
                if merged:
                    break
    return clusters


def _empty(x: object) -> bool:
    return x in (None, "", [], {}) or (isinstance(x, float) and math.isnan(x))


def _is_concession(c: dict, element: str) -> bool:
    if element == "contrat-concession":
        return True
    words = " ".join(str(c.get(k)) for k in ("_type", "nature")
                     if c.get(k) is not None and not isinstance(c.get(k), dict | list)).lower()
    if "concession" in words or "délégation" in words:
        return True
    if "march" in words or "accord" in words:
        return False
    return (not _empty(c.get("autoriteConcedante")) and _empty(c.get("acheteur"))) or \
        (not _empty(c.get("concessionnaires")) and _empty(c.get("titulaires")))


def _titulaire_ids(c: dict) -> list[str]:
    raw = c.get("titulaires")
    ids, stack = [], list(raw) if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    while stack:
        t = stack.pop()
        if isinstance(t, list):
            stack += t
        elif isinstance(t, dict) and isinstance(t.get("titulaire"), dict | list):
            stack.append(t["titulaire"])  # a wrapper, {"titulaire": {…}} or {"titulaire": [ … ]}
        elif isinstance(t, dict):
            tid = t.get("id")
            ids.append("" if tid is None or isinstance(tid, dict | list) else str(tid).strip())
    return sorted(ids)


_DMY = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*")


def _month_first(items: list[tuple[str, object]]) -> bool | None:
    """True when the file's d/m/yyyy dates prove month-first only, None when they prove both
    orders (a date whose two parts could be either is then no date), False otherwise."""
    firsts, seconds = set(), set()
    for _, c in items:
        for key in ("dateNotification", "dateSignature", "dateDebutExecution"):
            raw = c.get(key) if isinstance(c, dict) else None
            m = _DMY.fullmatch(raw) if isinstance(raw, str) else None
            if m:
                firsts.add(int(m.group(1)))
                seconds.add(int(m.group(2)))
    day_first, month_first = max(firsts, default=0) > 12, max(seconds, default=0) > 12
    return None if day_first and month_first else month_first


def _core(c: dict, month_first: bool | None) -> str:
    """Date and titulaires: lots sharing one id with other titulaires or dates are other contracts."""
    raw = c.get("dateNotification")
    raw = "" if raw is None or isinstance(raw, dict | list) else str(raw)
    m = _DMY.fullmatch(raw)
    if m and month_first is not False:
        a, b = int(m.group(1)), int(m.group(2))
        if month_first or b > 12:  # month-first proven, or this cell proves its own order
            raw = f"{b:02d}/{a:02d}/{m.group(3)}"
        elif a <= 12 and a != b:  # both orders in the file and nothing to tell this one
            raw = f"?{raw}"
    day = parse_decp_date(raw) if not raw.startswith("?") else None
    raw = raw.removeprefix("?")
    return json.dumps([day.isoformat() if day else raw.strip(), _titulaire_ids(c)])


def _key(c: dict, buyer: str, position: str) -> str:
    """A contract is its buyer's SIREN (not the SIRET it was published under) and its id; a uid is
    the publishing SIRET followed by the id, so its SIRET part counts as the SIREN."""
    cid, uid = c.get("id"), c.get("uid")
    cid = None if isinstance(cid, dict | list) else cid
    uid = None if isinstance(uid, dict | list) else uid
    siren = buyer[:9] if len(buyer) == 14 else buyer
    if uid is not None and not _blank(uid) and not _blank(str(uid)[len(buyer):] if str(uid).startswith(buyer)
                                                             else uid) and (cid is None or not _blank(cid)):
        text = str(uid).strip()
        return "uid:" + (siren + text[len(buyer):] if text.startswith(buyer) else text)
    if cid is not None and not _blank(cid):
        return "uid:" + siren + str(cid).strip()
    ids = _titulaire_ids(c)
    fields = ["" if c.get(k) is None or isinstance(c.get(k), dict | list) else str(c.get(k)).strip()
              for k in ("objet", "dateNotification", "dureeMois")]
    fields.insert(2, "" if c.get("montant") is None else str(c.get("montant")))
    if not any(ids) and not any(fields):
        return "pos:" + position
    return "fp:" + json.dumps([siren, sorted(ids), fields])
