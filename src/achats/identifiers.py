"""SIREN/SIRET clean-up and checks (Luhn key, La Poste exception)."""

from __future__ import annotations

import re

LA_POSTE_SIREN = "356000000"
_NON_DIGIT = re.compile(r"[\s.\-/_\u00a0\u202f]")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def complete_luhn(body: str) -> str:
    """`body` followed by the digit that makes the whole number pass the Luhn check."""
    for digit in "0123456789":
        if luhn_ok(body + digit):
            return body + digit
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def siren_valid(siren: str) -> bool:
    return len(siren) == 9 and siren.isdigit() and luhn_ok(siren)


def siret_valid(siret: str) -> bool:
    """La Poste's establishments do not follow Luhn: INSEE checks the digit sum mod 5 instead."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN):
        return luhn_ok(siret) or sum(int(c) for c in siret) % 5 == 0
    return luhn_ok(siret)


# How spreadsheets and accounting exports protect an identifier as text, or label it:
# ="81234567600009" (an Excel formula keeps leading zeros), '81234567600009 (a leading apostrophe),
# "SIRET 812 345 676 00009", "N° SIREN : 812345676". Only these wrappers are dropped: the rest must
# still be digits with a valid key.
_EXCEL_FORMULA = re.compile(r'=\s*"([^"]*)"')
_QUOTES = "'\"\u2018\u2019`"
_LABEL = re.compile(r"(?:(?:N|NO|NUM|NUMERO|NUMÉRO)\s*[°º.]?\s*(?:DE\s+)?)?SIRE[NT]\s*(?:(?:N|NO)\s*[°º.]\s*)?[:#=]?\s*",
                    re.IGNORECASE)
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff]")


def _unwrap(text: str) -> str:
    """The identifier inside an Excel text wrapper, quotes or a SIRET/SIREN label."""
    text = _INVISIBLE.sub("", text).strip()
    m = _EXCEL_FORMULA.fullmatch(text)
    if m:
        text = m.group(1).strip()
    if text[:1] in _QUOTES:
        text = text[1:-1] if len(text) > 1 and text[-1] == text[0] and text[0] != "'" else text[1:]
        text = text.strip()
    m = _LABEL.match(text)
    if m and m.end() < len(text) and text[m.end()].isdigit():
        text = text[m.end():]
    return text.strip()


def clean_identifier(raw: str | None) -> tuple[str | None, str | None]:
    """Return (siret, siren) from a hand-typed identifier, or (None, None).

    Spaces and dots are removed, and the text wrappers of spreadsheets and exports (``="…"``, a
    leading apostrophe, a « SIRET » label); a 13-digit or 8-digit value lost its leading zero
    in a spreadsheet and gets it back only when that makes the key valid. A French VAT number
    (FR + key + SIREN) gives its SIREN when its key checks.
    """
    if raw is None:
        return None, None
    text = _unwrap(str(raw))
    if text.endswith(".0"):  # spreadsheets turn identifiers into floats
        text = text[:-2]
    text = _NON_DIGIT.sub("", text)
    if text[:2].upper() == "FR":
        return None, siren_from_french_vat(text)
    if not text.isdigit() or len(set(text)) == 1:  # "00000000000000" is a placeholder, not an identifier
        return None, None
    if len(text) == 13 and siret_valid("0" + text) or len(text) == 8 and siren_valid("0" + text):
        text = "0" + text
    if len(text) == 14:
        return (text if siret_valid(text) else None), (text[:9] if siren_valid(text[:9]) else None)
    if len(text) == 9:
        return None, (text if siren_valid(text) else None)
    return None, None


def zeros_restored(raw: str | None) -> str | None:
    """The 14-digit SIRET or 9-digit SIREN a number becomes once the two or more leading zeros a
    spreadsheet ate are put back (10 to 12 digits, 6 or 7 digits), when its key then checks; None
    otherwise. A key checks one time in ten by chance: the caller also asks that the unit exists
    and that its name agrees with the typed one (`BlockedIndex.resolve`)."""
    if raw is None:
        return None
    text = _unwrap(str(raw))
    text = _NON_DIGIT.sub("", text[:-2] if text.endswith(".0") else text)
    if not text.isdigit() or len(set(text)) == 1:
        return None
    if 10 <= len(text) <= 12 and siret_valid(text.zfill(14)):
        return text.zfill(14)
    if 6 <= len(text) <= 7 and siren_valid(text.zfill(9)):
        return text.zfill(9)
    return None


_RNA = re.compile(r"W[0-9A-Z]{9}")


def rna_number(raw: str | None) -> str | None:
    """An association's RNA number (« W643000123 ») typed where a SIRET is expected, or None. SIRENE
    carries it (identifiantAssociationUniteLegale): it designates a unit only through that column."""
    if raw is None:
        return None
    text = _NON_DIGIT.sub("", _unwrap(str(raw))).upper()
    return text if _RNA.fullmatch(text) and sum(c.isdigit() for c in text) >= 6 else None


_FR_VAT = re.compile(r"FR([0-9]{2})([0-9]{9})")


def siren_from_french_vat(raw: str | None) -> str | None:
    """The SIREN inside a French VAT number (FR + 2-digit key + SIREN), only when the key checks
    ((12 + 3 × (SIREN mod 97)) mod 97) and the SIREN is valid: a DECP titulaire may be identified
    this way, and the SIREN is what the ESS status is attached to."""
    if raw is None:
        return None
    m = _FR_VAT.fullmatch(_NON_DIGIT.sub("", str(raw)).upper())
    if not m:
        return None
    key, siren = int(m.group(1)), m.group(2)
    return siren if key == (12 + 3 * (int(siren) % 97)) % 97 and siren_valid(siren) else None


# A VAT number as written in a « N° TVA intracommunautaire » column: an optional « TVA » label, then
# the country prefix (two letters, « CHE » for Switzerland) and 2 to 13 letters or digits.
_VAT_LABEL = re.compile(r"^(?:(?:N|NO|NUM|NUMERO|NUMÉRO)\s*[°º.]?\s*(?:DE\s+)?)?(?:TVA|VAT)\s*"
                        r"(?:INTRA(?:COMMUNAUTAIRE|COM)?\.?)?\s*[:#=]?\s*", re.IGNORECASE)
_VAT_SHAPE = re.compile(r"(CHE|[A-Z]{2})[0-9A-Z+*]{2,13}")


def vat_identifier(raw: str | None) -> tuple[str, str | None]:
    """What a VAT-number cell says about the supplier: ("siren", SIREN) for a French VAT number
    whose key checks (or a SIRET/SIREN typed there), ("foreign", None) for another country's number
    (no SIREN in it: nothing is guessed from its digits), ("invalid", None) for a French-looking or
    numeric value that checks as nothing, ("text", None) for words (« non assujetti »), ("", None)
    when empty."""
    if raw is None:
        return "", None
    text = _unwrap(str(raw))
    text = _VAT_LABEL.sub("", text, count=1) if _VAT_LABEL.match(text) else text
    if not text.strip():
        return "", None
    siret, siren = clean_identifier(text)
    if siren or siret:
        return "siren", siren or siret[:9]
    compact = _NON_DIGIT.sub("", text).upper()
    m = _VAT_SHAPE.fullmatch(compact)
    if m and m.group(1) != "FR" and any(c.isdigit() for c in compact):
        return "foreign", None
    return ("invalid", None) if any(c.isdigit() for c in compact) else ("text", None)
