"""Read the buyer's payment exports (CSV/XLSX) whatever their headers, encoding and number format.

Every data row comes out exactly once: `ok`, `quarantined` with a French reason that names the
file, the row and the field, or `duplicate` when the whole file repeats another one. A file that
cannot be read at all raises InputError.

The work is vectorised: a file becomes one polars frame of text cells, and amounts, dates, years,
total rows and plausibility are decided by expressions over whole columns. Python only words the
reasons of the few rows that fail, and walks the few candidate total rows in order.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import polars as pl

from achats import progress
from achats.errors import InputError
from achats.identifiers import clean_identifier, luhn_ok, vat_identifier
from achats.names import fold
from achats.sources import amounts

# Field -> accepted headers (compared after folding case, accents and punctuation).
ALIASES: dict[str, list[str]] = {
    "supplier_name": ["Raison sociale du Fournisseur", "Fournisseur", "Tiers", "Nom du tiers",
                      "Raison sociale", "Bénéficiaire", "Nom fournisseur", "Libellé tiers",
                      "Libellé fournisseur", "Dénomination", "Nom du fournisseur", "Titulaire",
                      "Créancier", "Nom du bénéficiaire", "Raison sociale fournisseur",
                      # who is paid, as a sheet of subsidies or services names it (tried last)
                      "Prestataire", "Attributaire", "Association", "Entreprise", "Société", "Nom",
                      "Nom de l'association", "Nom de l'entreprise", "Nom du prestataire"],
    "siret": ["SIRET", "N° SIRET", "Siret du tiers", "Numéro SIRET", "Siret fournisseur",
              "Code SIRET", "SIRET du fournisseur", "SIREN", "N° SIREN", "Siren du tiers",
              "Identifiant", "SIRET/SIREN"],
    # the supplier's VAT number: a French one (FR + key + SIREN) identifies it when no SIRET does
    # (`_vat_into_identifier`)
    "vat_number": ["N° TVA intracommunautaire", "Numéro de TVA intracommunautaire", "TVA intracommunautaire",
                   "N° TVA", "Numéro TVA", "Numéro de TVA", "N° de TVA", "N° TVA intracom", "TVA intracom",
                   "N° TVA intra", "TVA intra", "Identifiant TVA", "VAT number", "VAT ID", "N° identification TVA"],
    "amount": ["Montant TTC", "Montant mandaté", "Dépense achat (€)", "Montant", "Montant payé",
               "Montant TTC (€)", "Montant (€)", "Montant en euros", "Dépense", "Montant HT",
               "Montant HT (€)", "Montant réglé", "Montant du mandat",
               "Somme"],  # a hand-made sheet's amount (« Nom | Identifiant | Somme »)
    "date": ["Date mandat", "Date de mandatement", "Date de paiement", "Date", "Date du mandat",
             "Date d'émission", "Date de règlement", "Date comptable", "Date facture"],
    # « Gestion »: the exercice as Hélios (DGFiP) names it; taken only when its values are years
    "fiscal_year": ["Exercice", "Année", "Annee budgetaire", "Exercice comptable", "Gestion", "Année de gestion"],
    # a month or period column (« Mois » = Janvier, « Période » = 01/2024, « T1 2024 »): the
    # quarter of a line with no date (`period_parts`), never its day
    "period": ["Mois", "Période", "Mois de paiement", "Période de paiement", "Mois comptable", "Période comptable",
               "Mois de mandatement", "Mois du mandat", "Mois d'émission", "Month", "Period"],
    "category": ["Code CPV", "Catégorie d'achat (optionnelle)", "Catégorie", "Nature",
                 "Catégorie d'achat", "CPV", "Compte", "Compte nature", "Famille d'achat"],
    "buying_entity": ["Entité acheteuse (optionnelle)", "Direction", "Service", "Entité acheteuse",
                      "Service gestionnaire", "Direction gestionnaire", "Pôle",
                      # each budget numbers its mandates from 1: the budget tells two mandates apart
                      "Budget", "Libellé budget", "Code budget"],
    "mandate_number": ["N° mandat", "Numéro de mandat", "N° de mandat", "Mandat", "Numéro mandat"],
    "commune": ["Code commune", "Code INSEE", "Code INSEE commune", "Commune", "Ville", "Code postal", "CP",
                "Localité"],
    # debit or credit: a credit line (annulation, réduction) written with a positive amount
    "direction": ["Sens", "D/C", "Débit/Crédit", "Débit / Crédit", "Type de mouvement", "Sens du mouvement",
                  "Nature du mouvement", "Sens de l'opération", "Débit Crédit"],
    # the mandate's state (Payé, Pris en charge, Rejeté, Annulé): a rejected or cancelled mandate
    # was never paid
    # a second amount column the amount is composed with (`_amount_pair`): a ledger's credit beside
    # its debit (debit − credit), the VAT beside an HT amount when no column is TTC (HT + TVA)
    "amount_credit": [],
    "amount_vat": [],
    # a further cancelled part taken off after the amount is composed: « Montant HT | Montant TVA |
    # Montant annulé » (HT + TVA − annulé), or « Montant annulé | Montant réduit » (two parts)
    "amount_cancel": [],
    # the next date column, read on a line whose chosen date cell is blank (`_fallback_date_column`)
    "date_other": [],
    # the mandated amount beside a paid one (« Montant TTC » beside « Montant payé »): a line whose
    # paid cell is blank but whose mandate has an amount was not paid yet (`_unpaid_mandates`)
    "amount_mandated": [],
    # another address column beside the postal code or town (`_address_companion`): both empty on a
    # row is an address missing from the tiers file, not a column shift
    "address_other": [],
    # the other place column beside the one read as `commune` (« Code postal » beside « Ville »,
    # `_place_companion`): a town shared by several départements leaves the postal code to say which
    "commune_other": [],
    "payment_status": ["État du mandat", "Statut du mandat", "État", "Statut", "État de la pièce",
                       "Statut de la pièce", "État du paiement", "Statut du paiement", "Etat mandat", "Statut mandat"],
    # the supplier's invoice (or credit note) a line pays: a credit naming a paid mandate's invoice
    # reduces that one, it is not the reversal of another, cancelled mandate (`_column_refs`)
    "invoice_ref": ["N° facture", "Numéro de facture", "N° de facture", "Numéro facture", "Référence facture",
                    "Réf. facture", "Référence de la facture", "N° facture fournisseur", "N° pièce fournisseur",
                    "Numéro de pièce fournisseur"],
    # the buying organisation of a pooled export (a town and its régie, CCAS or syndicat): each
    # numbers its mandates from 1, so two values never pair a mandate with a reversal
    # (« Entité juridique » stays the buying entity, `_ORG_WORDS` makes it separate as well)
    "buying_org": ["Collectivité", "Organisme", "Établissement", "Etablissement public",
                   "Collectivité acheteuse", "Organisme payeur", "Nom de la collectivité"],
}
REQUIRED = ("amount",)
# In the order a payment export is most faithful to what was paid.
MAX_SCAN_ROWS = 30
LARGE_XLSX_BYTES = 8 * 1024 * 1024
OUTPUT_SCHEMA = {
    "line_id": pl.String, "source_file": pl.String, "source_sheet": pl.String,
    "source_row": pl.Int64, "source_line": pl.Int64, "supplier_name": pl.String,
    "siret_raw": pl.String, "amount_raw": pl.String, "amount_eur": pl.Decimal(18, 2),
    "purchase_date": pl.Date, "fiscal_year": pl.Int32, "quarter": pl.String,
    # the exercice is the file's own (« Exercice » column), not the year of a date: mandate n°s
    # restart each exercice (cls_line_reversal)
    "fiscal_year_stated": pl.Boolean,
    "category": pl.String, "buying_entity": pl.String, "mandate_number": pl.String,
    "commune_raw": pl.String, "commune_other_raw": pl.String, "status": pl.String, "quarantine_reason": pl.String,
    "is_duplicate": pl.Boolean, "row_kind": pl.String, "duplicate_of": pl.String,
    # what a line names of the piece it reverses (`_reversal_refs`), for cls_line_reversal
    "cited_mandate": pl.String, "invoice_ref": pl.String,
}
# One row per file and sheet read: what the reconciliation view compares the lines with.
FILE_SCHEMA = {
    "source_file": pl.String, "source_sheet": pl.String, "data_row_count": pl.Int64,
    "decimal_mark": pl.String, "declared_total_eur": pl.Decimal(18, 2), "declared_total_row": pl.Int64,
    "duplicate_of": pl.String, "content_sha256": pl.String, "overlap_of": pl.String,
    "overlap_row_count": pl.Int64, "encoding": pl.String, "possible_overlap_of": pl.String,
    "possible_overlap_row_count": pl.Int64, "possible_overlap_eur": pl.Decimal(18, 2), "period_note": pl.String,
    "column_note": pl.String, "unread_sheets": pl.List(pl.String),
}
_KEY = re.compile(r"[^a-z0-9]+")
MIN_YEAR, MAX_YEAR = 1990, dt.date.today().year + 1


# « Montant soldé »: the participle, written with its accent, says the amount was paid in full
# (Grand Angle); « Solde » without it is a running balance, never a line's amount
_SETTLED = re.compile(r"\bsold(?:\u00e9|e\u0301)(e?s?)\b", re.IGNORECASE)


def header_key(text: str) -> str:
    return _KEY.sub(" ", fold(_SETTLED.sub(r"regle\1", str(text))).lower()).strip()


_ALIAS_KEYS = {field: [header_key(a) for a in names] for field, names in ALIASES.items()}


# Second pass for headers no alias names exactly ("Montant TTC en €", "Nom fournisseur / tiers"):
# field -> (words one of which the header must contain, words it must not contain)
_CONTAINS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # the amount is chosen by `_amount_column` among every header with one of these words
    ("amount", ("montant", "mt", "mnt", "depense", "mandate", "paye", "regle", "net a payer", "ttc", "ht", "amount",
                "paid"),
     ("nombre", "taux", "tva", "engage", "engagement", "commande", "budget", "prevu", "restant", "disponible",
      "reste", "credit ouvert", "annule", "annulation", "unitaire", "quantite",
      # a number or a date that names a mandate is not its amount (« Mandate number », « Date mandaté »)
      "numero", "number", "no", "num", "n", "code", "id", "ref", "reference", "date",
      # « Payé le », « Mandaté le »: a date; a running total (« Mandaté cumulé ») is no line's amount
      "le", "cumul", "cumule", "cumulee", "cumules", "cumulees", "cumulatif", "solde")),
    ("siret", ("siret", "siren"), ()),
    ("vat_number", ("intracommunautaire", "intracom", "intra", "n tva", "no tva", "num tva", "numero tva",
                    "numero de tva", "n de tva", "identifiant tva", "identification tva", "vat number", "vat no",
                    "vat id"),
     ("montant", "taux", "date", "regime", "assujetti", "amount", "rate")),
    # the payment's own date, not the supplier's creation or an invoice's due date
    ("date", ("date de paiement", "date paiement", "date de mandatement", "date mandat", "date de reglement",
              "date reglement", "date",
              # « Payé le », « Mandaté le »: a date named by its verb
              "paye le", "payee le", "regle le", "reglee le", "mandate le", "mandatee le", "verse le", "decaisse le"),
     ("creation", "naissance", "echeance", "livraison", "commande", "engagement", "notification", "debut",
      "fin", "immatriculation", "modification", "maj", "mise a jour",
      # a payment's due or planned date is no payment (« Date limite de paiement », « prévisionnelle »)
      "limite", "prevision", "previsionnel", "previsionnelle", "prevu", "prevue", "theorique")),
    ("supplier_name", ("raison sociale", "fournisseur", "tiers", "beneficiaire", "creancier", "titulaire",
                       "supplier", "vendor", "payee", "prestataire", "attributaire"),
     ("code", "numero", "n ", "id ", "siret", "siren", "adresse", "ville", "cp ", "date")),
    ("fiscal_year", ("exercice", "annee"), ()),
    ("period", ("mois", "periode", "month", "period"),
     ("date", "montant", "nombre", "nb", "duree", "debut", "fin", "execution", "validite", "cumul", "engagement",
      "amount", "reporting")),
    ("category", ("cpv", "categorie", "nature", "famille"), ("date",)),
    # « Service fait le », « Date de service fait »: the date the service was certified, not a service
    ("buying_entity", ("direction", "service", "entite", "pole"), ("date", "fait")),
    ("mandate_number", ("mandat", "mandate number", "mandate no"), ("date", "montant")),
    ("invoice_ref", ("n facture", "no facture", "numero facture", "numero de facture", "n de facture",
                     "ref facture", "reference facture", "n piece fournisseur"), ("date", "montant")),
    ("buying_org", ("collectivite", "organisme"),
     ("date", "montant", "siret", "siren", "code", "adresse", "commune", "ville")),
    ("direction", ("sens", "debit credit", "mouvement"), ("date", "montant", "numero", "n", "code", "id", "libelle")),
    # « Libellé état » (Hélios/PES), « Libellé statut » beside a « Code statut » of letters (Astre):
    # the label is read, the code (P, A, R) is not
    ("payment_status", ("etat", "statut", "status", "situation"),
     ("date", "montant", "juridique", "fournisseur", "tiers", "siret", "siren", "entreprise", "civil", "code")),
]
_AMOUNT_WORDS, _AMOUNT_BANNED = _CONTAINS[0][1], _CONTAINS[0][2]
# what a payment export calls the amount actually paid or mandated, whatever the finance software
# (« mandaté », « liquidé » in Astre or Grand Angle, « ordonnancé », « décaissé », « du mandat », « Mt
# mandat », « paiement », « réglé », « net », « à payer »): any of them beats an invoice's amount
_PAID_WORDS = ("mandate", "mandatee", "mandates", "mandat", "mandats", "mandatement", "paye", "payee", "payes",
               "paiement", "paiements", "regle", "reglee", "regles", "reglement", "verse", "versee", "paid",
               "payment", "net a payer", "a payer", "net", "liquide", "liquidee", "liquides", "liquidation",
               "ordonnance", "ordonnancee", "ordonnancement", "decaisse", "decaissee", "decaissement")
_TTC_WORDS = ("ttc", "t t c", "toutes taxes comprises")
_HT_WORDS = ("ht", "h t", "hors taxe", "hors taxes", "hors tva", "net de taxe", "net de taxes", "net de tva")


def _has_words(key: str, words: str) -> bool:
    """Whole words only: « date » is not in « montant mandate »."""
    return f" {words} " in f" {key} "


def map_headers(header: list[str], explicit: dict[str, str] | None = None) -> dict[str, int]:
    """Field -> column index: exact aliases first (in alias order), then headers that contain a
    telling word, and an explicit mapping from achats.toml wins over both. The amount is chosen
    among all its candidates by `_amount_column`."""
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for name, aliases in _ALIAS_KEYS.items():
        if name == "amount":
            amount = _amount_column(keys, set(found.values()))
            if amount is not None:
                found[name] = amount
            continue
        if name == "date":
            dates = date_candidates(keys, set(found.values()))
            if dates:
                found[name] = dates[0]
            continue
        for alias in aliases:
            if alias in keys and keys.index(alias) not in found.values():
                found[name] = keys.index(alias)
                break
    for name, words, banned in _CONTAINS:
        if name in found or name == "amount":
            continue
        for word in words:
            hits = [i for i, k in enumerate(keys) if _has_words(k, word) and i not in found.values()
                    and not any(_has_words(k, b.strip()) for b in banned)]
            if hits:
                found[name] = hits[0]
                break
    for name, column in (explicit or {}).items():
        if name not in ALIASES:  # already reported when achats.toml was read
            continue
        if header_key(column) in keys:
            found[name] = keys.index(header_key(column))
    if "amount" not in found and "amount" not in (explicit or {}):
        found.update(_ledger_pair(keys, found))
    if "amount" in found and "amount" not in (explicit or {}):
        found.update(_amount_pair(keys, found))
        if not any(f in found for f in ("amount_credit", "amount_vat")):
            cancelled = _cancelled_columns(keys, found)
            # a net amount beside the cancelled part (« Montant net mandaté ») is what was paid: taken
            # as it is, nothing subtracted twice
            nets = [i for i in amount_candidates(keys, set(found.values()) - {found["amount"]})
                    if _already_net(keys[i]) and _amount_rank(keys[i])[0] == 0]
            if cancelled and nets and not _already_net(keys[found["amount"]]):
                found["amount"] = nets[0]
            if len(cancelled) in (1, 2) and not _already_net(keys[found["amount"]]):
                # two distinct parts (« Montant annulé | Montant réduit »): both taken off; their
                # values are checked in `_amount_columns_by_values`
                found["amount_credit"] = cancelled[0]
                if len(cancelled) == 2:
                    found["amount_cancel"] = cancelled[1]
        elif "amount_vat" in found:  # HT + TVA, then the cancelled part (TTC) taken off
            cancelled = _cancelled_columns(keys, found)
            if len(cancelled) == 1 and not _already_net(keys[found["amount"]]):
                found["amount_cancel"] = cancelled[0]
    if "date" in found and "date" not in (explicit or {}):
        fallback = _fallback_date_column(keys, found)
        if fallback is not None:
            found["date_other"] = fallback
    if "commune" in found:
        other = _address_companion(keys, found)
        if other is not None:
            found["address_other"] = other
        place = _place_companion(keys, found)
        if place is not None:
            found["commune_other"] = place
            # a postal code is no INSEE code (64270 is Igon's code and Saint-Sever's bureau): beside a
            # town column, the town is read as the commune and the postal code only settles its
            # département (stg_purchase_lines)
            if (_postal_header(keys[found["commune"]]) and not _postal_header(keys[place])
                    and "commune" not in (explicit or {})):
                if found.get("address_other") == place:
                    found["address_other"] = found["commune"]
                found["commune"], found["commune_other"] = place, found["commune"]
    return found


# a part of the mandate taken back, in its own column (Astre, Grand Angle: « Montant mandaté |
# Montant annulé », « Montant des réductions », « Annulations »): what was paid is the mandate less it
_CANCEL_WORDS = ("annule", "annules", "annulee", "annulees", "annulation", "annulations", "annul", "reduit",
                 "reduits", "reduite", "reduites", "reduction", "reductions")
# a column naming the cancellation's date, number, reason or state, not its amount
_CANCEL_BANNED = ("date", "le", "numero", "n", "no", "num", "code", "id", "ref", "reference", "motif", "libelle",
                  "objet", "nombre", "nb", "taux", "etat", "statut", "type", "nature", "par", "cumul", "cumule")
# an amount that already has the cancelled part taken out (« Montant net mandaté », « Montant après
# réduction », « Reste à payer »): subtracting the cancelled column again would count it twice
# « Montant payé », « Montant réglé », « Montant versé », « Montant décaissé »: what was paid is net
# too (a fully cancelled mandate reads 0 paid), never a mandate to take the cancelled part from
_NET_WORDS = ("net", "nets", "nette", "apres", "deduit", "deduits", "deduite", "deduction", "reste", "restant",
              "solde", "definitif", "final", "paye", "payes", "payee", "payees", "regle", "regles", "reglee",
              "reglees", "verse", "verses", "versee", "versees", "decaisse", "decaisses", "decaissee", "decaissees")


def _cancelled_header(key: str) -> bool:
    """A header that names the amount cancelled or reduced on a mandate, and nothing net of it."""
    return any(_has_words(key, w) for w in _CANCEL_WORDS) and not any(
        _has_words(key, w) for w in _CANCEL_BANNED + _NET_WORDS)


def _already_net(key: str) -> bool:
    return any(_has_words(key, w) for w in _NET_WORDS)


def _cancelled_columns(keys: list[str], found: dict[str, int]) -> list[int]:
    """Columns holding a mandate's cancelled or reduced part (their values are checked to be
    amounts in `_columns_by_values`)."""
    taken = set(found.values())
    return [i for i, k in enumerate(keys) if i not in taken and k and _cancelled_header(k)]


def _fallback_date_column(keys: list[str], found: dict[str, int]) -> int | None:
    """The date column read on a line whose chosen date cell is blank (« Date de paiement » empty,
    « Date mandat » filled): the next candidate in `date_candidates` order, never an invoice's or
    a liquidation's date (an earlier step, further from the payment)."""
    rest = [i for i in date_candidates(keys, set(found.values())) if _date_stage(keys[i]) != _DATE_LATE]
    return rest[0] if rest else None


_ADDRESS_WORDS = ("code postal", "cp", "ville", "commune", "localite", "adresse", "code commune", "bureau distributeur")


def _address_companion(keys: list[str], found: dict[str, int]) -> int | None:
    """Another address column than the one read as `commune` (the town beside the postal code)."""
    taken = set(found.values())
    return next((i for i, k in enumerate(keys) if i not in taken and k
                 and any(_has_words(k, w) for w in _ADDRESS_WORDS)), None)


_PLACE_WORDS = ("code postal", "cp", "ville", "commune", "localite", "code commune")


_POSTAL_WORDS = ("code postal", "cp", "bureau distributeur", "postal")
_TOWN_WORDS = ("ville", "commune", "localite", "insee")


def _postal_header(key: str) -> bool:
    """A header naming a postal code (« CP », « Code postal »), not a town or an INSEE code."""
    return any(_has_words(key, w) for w in _POSTAL_WORDS) and not any(_has_words(key, w) for w in _TOWN_WORDS)


def _place_companion(keys: list[str], found: dict[str, int]) -> int | None:
    """The postal code beside the town read as `commune` (or the town beside a postal code): the
    town's name may be shared by several départements (« MONTAUT »), the postal code then settles it
    (stg_purchase_lines). A street address (« Adresse ») is no place column."""
    taken = {i for f, i in found.items() if f != "address_other"}
    return next((i for i, k in enumerate(keys) if i not in taken and k and not _has_words(k, "adresse")
                 and any(_has_words(k, w) for w in _PLACE_WORDS)), None)


_VAT_NOTE_END = "[colonnes] montant = …)"
# a VAT amount, not its rate, code or the supplier's VAT number
_VAT_BANNED = ("taux", "code", "numero", "n", "no", "num", "intracommunautaire", "intra", "identifiant",
               "pourcentage", "regime", "assujetti", "date", "ttc")


# a ledger's plain columns (« Débit | Crédit », « Débit € »): an amount only as a pair, since a
# « Crédit » alone may be a budget credit, never a payment
_LEDGER_UNITS = frozenset({"eur", "euro", "euros", "en", "e"})


def _ledger_side(key: str, side: str) -> bool:
    words = key.split()
    return bool(words) and words[0] in (side, side + "s") and set(words[1:]) <= _LEDGER_UNITS


def _ledger_pair(keys: list[str], found: dict[str, int]) -> dict[str, int]:
    """« Débit | Crédit » without any amount column: one plain debit and one plain credit column
    are the amount, debit − credit, as « Montant débit | Montant crédit » (`_amount_pair`); their
    values are checked to be amounts in `_columns_by_values`."""
    taken = set(found.values())
    debit = [i for i, k in enumerate(keys) if i not in taken and _ledger_side(k, "debit")]
    credit = [i for i, k in enumerate(keys) if i not in taken and _ledger_side(k, "credit")]
    return {"amount": debit[0], "amount_credit": credit[0]} if len(debit) == 1 and len(credit) == 1 else {}


def _refuse_third_party_ledger(header: list[str], values, where: str) -> None:
    """Débit − crédit is the spending of an expense account (class 6), not of a third party's: on
    a supplier account (401, 4011…) a mandate is written in Crédit and its payment in Débit, so
    every paid mandate nets to 0. Such a ledger (its « Compte » column holds class-4 accounts) stops
    the run rather than publish a spending of nothing."""
    for j, h in enumerate(header):
        key = header_key(h)
        if not _has_words(key, "compte") or _has_words(key, "libelle"):
            continue
        filled = [v.strip() for v in _filled(values(j))]
        if filled and _share(filled, lambda v: re.fullmatch(r"4[0-9]{1,9}", v) is not None) >= VALUE_SHARE:
            raise InputError(f"{where} : colonnes débit / crédit d'un compte de tiers (colonne « {h.strip()} » : "
                             f"comptes de classe 4, « {filled[0]} ») : un mandat y est inscrit au crédit et son "
                             f"paiement au débit, débit − crédit ne mesure pas la dépense ; exportez les mandats "
                             f"(ou un compte de charges, classe 6), ou nommez dans achats.toml la colonne du "
                             f"montant payé ([colonnes] montant = …)")


def _amount_pair(keys: list[str], found: dict[str, int]) -> dict[str, int]:
    """The second column an amount is composed with, when the file has no single paid amount: a
    ledger's « Montant débit | Montant crédit » (a credit line is a negative amount, not a missing
    one: debit − credit), or « Montant HT | Montant TVA » without any TTC column (what was paid is
    HT + TVA, line by line). Only one debit and one credit, or one VAT column: otherwise nothing."""
    a = found["amount"]
    cands = amount_candidates(keys, set(found.values()) - {a})
    debit = [i for i in cands if _has_words(keys[i], "debit")]
    credit = [i for i in cands if _has_words(keys[i], "credit")]
    if a in debit + credit and len(debit) == 1 and len(credit) == 1 and debit != credit:
        return {"amount": debit[0], "amount_credit": credit[0]}
    if _amount_rank(keys[a])[0] == 1 and not any(_has_words(keys[i], w) for i in cands for w in _TTC_WORDS):
        taken = set(found.values())
        vat = [i for i, k in enumerate(keys) if i not in taken and _has_words(k, "tva")
               and not any(_has_words(k, b) for b in _VAT_BANNED)]
        if len(vat) == 1:
            return {"amount_vat": vat[0]}
    return {}


# how close a date column is to the day the money left: the payment itself (règlement, paiement,
# décaissement), its acceptance by the public accountant (prise en charge, visa, date comptable),
# the mandate (émission, mandatement), a bare « Date », then the earlier steps (liquidation,
# facture, service fait, réception, pièce)
_DATE_STAGES: tuple[tuple[str, ...], ...] = (
    ("paiement", "paiements", "reglement", "decaissement", "paye", "payee", "regle", "reglee", "decaisse",
     "decaissee", "virement", "payment", "paid", "versement", "verse", "valeur"),
    ("prise en charge", "pec", "visa", "vise", "comptable", "comptabilisation", "comptabilise"),
    ("mandat", "mandatement", "mandate", "emission", "emis", "ordonnancement", "ordonnance", "mandate date"),
)
_DATE_LATE = len(_DATE_STAGES) + 1  # an earlier step than the mandate (facture, liquidation, service fait…)
_DATE_EARLY_WORDS = ("facture", "liquidation", "liquide", "service fait", "piece", "reception", "saisie",
                     "invoice", "creation", "validation", "bon")


def _date_stage(key: str) -> int:
    for stage, words in enumerate(_DATE_STAGES):
        if any(_has_words(key, w) for w in words):
            return stage
    return _DATE_LATE if any(_has_words(key, w) for w in _DATE_EARLY_WORDS) else len(_DATE_STAGES)


def date_candidates(keys: list[str], taken: set[int] | None = None) -> list[int]:
    """Columns that may hold the payment's date, the most faithful first: an exact alias or a
    header with a date word and none of a supplier's creation or an invoice's due date, ranked by
    `_date_stage` (« Date règlement » before « Date mandat », « Date de décaissement » before « Date
    comptable »), then as before: exact aliases in their order, then the other headers."""
    taken = taken or set()
    aliases = _ALIAS_KEYS["date"]
    _, words, banned = next(c for c in _CONTAINS if c[0] == "date")
    order: dict[int, int] = {}
    for i, k in enumerate(keys):
        if i in taken or not k:
            continue
        if k in aliases:
            order[i] = aliases.index(k)
            continue
        if any(_has_words(k, b.strip()) for b in banned):
            continue
        hit = next((j for j, w in enumerate(words) if _has_words(k, w)), None)
        if hit is not None:
            order[i] = len(aliases) + hit
    return sorted(order, key=lambda i: (_date_stage(keys[i]), order[i], i))


def _date_choice_note(header: list[str], cols: dict[str, int], explicit: dict[str, str] | None,
                      where: str) -> list[str]:
    """A French note naming the date column the reader chose among several (the payment's date
    decides the quarter), so that the operator sees the choice and can name another one."""
    if "date" not in cols or "date" in (explicit or {}):
        return []
    keys = [header_key(h) for h in header]
    cands = date_candidates(keys, {i for f, i in cols.items() if f not in ("date", "date_other")})
    if len(cands) < 2 or cols["date"] not in cands:
        return []
    others = ", ".join(f"« {header[i].strip()} »" for i in cands if i != cols["date"])
    why = {0: " ; la date du paiement plutôt que celle du mandat ou de la facture",
           1: " ; la date de prise en charge par le comptable plutôt que celle du mandat ou de la facture",
           2: " ; la date du mandat plutôt que celle de la facture ou de la liquidation"}.get(
        _date_stage(keys[cols["date"]]), "")
    return [f"{where} : colonne de date « {header[cols['date']].strip()} » choisie parmi plusieurs (les autres : "
            f"{others}{why}) ; elle décide du trimestre ; si ce n'est pas la bonne, nommez-la dans achats.toml "
            f"([colonnes] date = …)"]


def amount_candidates(keys: list[str], taken: set[int] | None = None) -> list[int]:
    """Columns that may hold the amount: an exact alias, or a header with an amount word and no
    word of a committed, cancelled, unit or tax-only amount, nor of a number or a date."""
    taken = taken or set()
    aliases = set(_ALIAS_KEYS["amount"])
    return [i for i, k in enumerate(keys) if i not in taken and k and (
        k in aliases or (any(_has_words(k, w) for w in _AMOUNT_WORDS)
                         and not any(_has_words(k, b) for b in _AMOUNT_BANNED) and not _cancelled_header(k)))]


def _amount_rank(key: str) -> tuple[int, int, int, int, int]:
    """Lower is more faithful to what was paid: a header that says HT last (what was paid carries
    its taxes), then a paid or mandated amount (« liquidé », « net payé », « du mandat ») before any
    other one (« TTC facture », « initial », plain « montant »: an invoice paid in two mandates
    would count twice), then TTC before an untaxed word (the README's « TTC when both exist »),
    then an exact alias in the aliases' order."""
    paid = 0 if any(_has_words(key, w) for w in _PAID_WORDS) else 1
    ht = 1 if any(_has_words(key, w) for w in _HT_WORDS) and not any(_has_words(key, w) for w in _TTC_WORDS) \
        else 0
    # what was paid or mandated is the invoice with its taxes, less what was held back: TTC by
    # nature unless its header says HT (« Montant mandaté » beats « Montant TTC facture »)
    tax = 0 if any(_has_words(key, w) for w in _TTC_WORDS) else 2 if ht else 0 if paid == 0 else 1
    aliases = _ALIAS_KEYS["amount"]
    return ht, paid, tax, 0 if key in aliases else 1, aliases.index(key) if key in aliases else len(aliases)


def _amount_column(keys: list[str], taken: set[int]) -> int | None:
    """The amount column among every candidate, whatever their order in the file (the first one
    is not the paid one in « Montant initial | Montant annulé | Montant net payé »)."""
    cands = amount_candidates(keys, taken)
    return min(cands, key=lambda i: (*_amount_rank(keys[i]), i)) if cands else None


def _amount_choice_note(header: list[str], cols: dict[str, int], explicit: dict[str, str] | None,
                        where: str) -> list[str]:
    """A French note naming the amount column the reader chose by itself among several candidates,
    so that the operator sees the choice and can name another one in achats.toml."""
    if "amount" not in cols or "amount" in (explicit or {}):
        return []
    keys = [header_key(h) for h in header]
    # a further part taken off after the amount is composed (`amount_cancel`)
    also = f" − « {header[cols['amount_cancel']].strip()} »" if "amount_cancel" in cols else ""
    if "amount_credit" in cols and _cancelled_header(keys[cols["amount_credit"]]):
        return [f"{where} : montant de chaque ligne = « {header[cols['amount']].strip()} » − "
                f"« {header[cols['amount_credit']].strip()} »{also} (la part annulée ou réduite du mandat n'est pas payée ; "
                f"une ligne dont la part annulée dépasse le mandat est mise en quarantaine) ; si ce n'est pas le bon, "
                f"nommez la colonne de montant dans achats.toml ([colonnes] montant = …)"]
    cancelled = [i for i in _cancelled_columns(keys, {f: i for f, i in cols.items() if f != "amount_credit"})
                 if i != cols.get("amount_credit")]
    cancel_note = []
    why = (f"« {header[cols['amount']].strip()} » est déjà net" if _already_net(keys[cols["amount"]])
           else "plusieurs colonnes d'annulation ou de réduction" if len(cancelled) > 1
           else "le montant est déjà composé de deux colonnes" if "amount_credit" in cols
           else None)  # else refused for its values by `_amount_columns_by_values`, which said so
    if cancelled and why is not None:
        names = ", ".join(f"« {header[i].strip()} »" for i in cancelled)
        cancel_note = [f"{where} : colonne(s) {names} non retranchée(s) du montant ({why}) ; si le montant payé "
                       f"n'est pas « {header[cols['amount']].strip()} », nommez la bonne colonne dans achats.toml "
                       f"([colonnes] montant = …)"]
    if "amount_credit" in cols:
        return cancel_note + [f"{where} : montant de chaque ligne = « {header[cols['amount']].strip()} » − "
                f"« {header[cols['amount_credit']].strip()} » (une ligne au crédit est un montant négatif) ; si ce "
                f"n'est pas le bon, nommez la colonne de montant dans achats.toml ([colonnes] montant = …)"]
    if "amount_vat" in cols:
        return cancel_note + [f"{where} : pas de colonne TTC : montant payé de chaque ligne = « {header[cols['amount']].strip()} » "
                f"+ « {header[cols['amount_vat']].strip()} »{also} (HT + TVA{', moins la part annulée' if also else ''}) ; si ce n'est pas le bon, nommez la colonne "
                f"de montant dans achats.toml ({_VAT_NOTE_END}"]
    cands = amount_candidates(keys, {i for f, i in cols.items() if f != "amount"})
    if len(cands) < 2:
        return cancel_note
    others = ", ".join(f"« {header[i].strip()} »" for i in cands if i != cols["amount"])
    _, paid, tax, *_ = _amount_rank(keys[cols["amount"]])
    why = [w for w, ok in (("le TTC plutôt que le HT", tax == 0 and any(_amount_rank(keys[i])[0] == 1 for i in cands)),
                           ("le montant payé", paid == 0)) if ok]
    return cancel_note + [f"{where} : colonne de montant « {header[cols['amount']].strip()} » choisie parmi plusieurs (les autres : "
            f"{others}{' ; ' + ', '.join(why) if why else ''}) ; si ce n'est pas la bonne, nommez-la dans "
            f"achats.toml ([colonnes] montant = …)"]


def parse_amount(text: str) -> Decimal | None:
    """One cell on its own (the file's other cells give no evidence): its own marks decide."""
    if not text.strip():
        return None
    series = pl.Series([text])
    fmt = amounts.infer_format(series)
    parsed = amounts.parse_columns(pl.DataFrame({"a": series}), "a", fmt).row(0, named=True)
    if parsed["_cents"] is None:
        raise ValueError(text)
    return Decimal(parsed["_cents"]).scaleb(-2)


_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y/%m/%d", "%Y%m%d")


FRENCH_MONTHS = {m: i for i, m in enumerate(
    ["janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre",
     "decembre"], start=1)}
# the months as spreadsheets abbreviate them (French « févr. », « janv », English « Feb », « Sept »)
MONTH_WORDS = {**FRENCH_MONTHS, **{a: i for i, names in enumerate([
    ("janv", "jan", "january"), ("fevr", "fev", "feb", "february"), ("mar", "march"), ("avr", "apr", "april"),
    ("may",), ("june", "jun"), ("juil", "jul", "july"), ("aou", "aug", "august"), ("sept", "sep", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for a in names}}
_WEEKDAY = (r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lun|mar|mer|jeu|ven|sam|dim"
            r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\.?,?\s+")
# « 15 mars 2024 », « 1er avril 2024 », « 3 févr. 2021 », « 12-janv-21 », « Mardi 7 septembre 2021 »
_FRENCH_DATE = re.compile(rf"^(?:{_WEEKDAY})?(\d{{1,2}})(?:er)?[\s.\-/]*([a-z]+)\.?[\s.\-/]*(\d{{4}}|\d{{2}})$")


def parse_text_month(text: str) -> dt.date | None:
    """A date whose month is written in letters, whole or abbreviated, with or without the day
    of the week; a two-digit year is 20yy (19yy when that would be in the future). None when the
    text is no such date; ValueError for an impossible one (« 31 févr. 2021 »)."""
    m = _FRENCH_DATE.match(fold(text.strip()).lower())
    if not m or m.group(2) not in MONTH_WORDS:
        return None
    year = int(m.group(3))
    if len(m.group(3)) == 2:
        year += 2000 if 2000 + year <= dt.date.today().year + 1 else 1900
    return dt.date(year, MONTH_WORDS[m.group(2)], int(m.group(1)))


def parse_date(text: str) -> dt.date | None:
    s = text.strip()
    if not s:
        return None
    s = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?.*$", "", s)  # drop a time part
    lettered = parse_text_month(s)
    if lettered is not None:
        return lettered
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.0+)?", s):  # an Excel serial day number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(s)))
    raise ValueError(text)


# --- file decoding -----------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """The file's text in the encoding `detect_encoding` finds."""
    return data.decode(detect_encoding(data, name))


ENCODING_LABELS = {"utf-16": "UTF-16 (avec BOM)", "utf-16-le": "UTF-16 LE (sans BOM)",
                   "utf-16-be": "UTF-16 BE (sans BOM)", "cp1252": "Windows-1252", "mac_roman": "Mac Roman",
                   "latin-1": "ISO-8859-1 (Latin-1)", "iso8859-15": "ISO-8859-15 (Latin-9)"}
# accented letters and signs of French text: frequent ones weigh more than rare ones
_FR_COMMON = set("éèàçêôâîùÉÈÀÇÊ€°«»’\u00a0")
_FR_RARE = set("ëïûüäöÿœæÂÎÔÛËÏÜÙÄÖŒÆ“”‘–—…²§¼½¾\u202f")
# letters written only inside a word (« œuvre », « CŒUR »), and signs written only outside one
# (« ½ journée »): where Latin-9 and Windows-1252 put œ and ½ on the same byte, this tells them apart
_IN_WORD_ONLY = set("œŒæÆ")
_FRACTIONS = set("¼½¾")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _plausibility(text: str) -> int:
    """How much the non-ASCII characters of a decoding look like French: a frequent accented letter
    whose case agrees with its neighbours (« Société », « ÉCOLE ») counts, a letter of the wrong case
    inside a word (« SociÈtÈ »), a sign inside a word or a character foreign to French (« SociŽtŽ »,
    control characters, ∑) counts against."""
    score = 0
    for m in _NON_ASCII.finditer(text):  # only these count: the ASCII rest is skipped in C
        i, ch = m.start(), m.group()
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        weight = 3 if ch in _FR_COMMON else 1 if ch in _FR_RARE else 0
        if weight == 0 or (ch in _IN_WORD_ONLY and not (prev.isalpha() or nxt.isalpha())):
            score -= 3
        elif ch.isalpha():
            word_start = not prev.isalpha()
            if ch.islower():
                ok = not (prev.isalpha() and prev.isupper() and i > 1 and text[i - 2].isalpha()) \
                    and not (nxt.isalpha() and nxt.isupper())
            else:
                ok = not (prev.isalpha() and prev.islower()) and (word_start or not (nxt.isalpha() and nxt.islower()))
            score += weight if ok else -3
        elif ch == "€" or ch in _FRACTIONS:  # never glued to a letter (« A€ » is a misread « AÛ »)
            score += weight if not (prev.isalpha() or nxt.isalpha()) else -3
        else:
            score += weight if not (prev.isalpha() and nxt.isalpha()) else -3
    return score


def detect_encoding(data: bytes, name: str) -> str:
    """A byte-order mark first; then the pattern of NUL bytes of UTF-16 without BOM; then UTF-8;
    an 8-bit file is read in the code page (Windows-1252, Mac Roman, Latin-1, Latin-9) whose decoding
    looks most like French text. When none wins, the run stops rather than misread the names. A large
    file is neither stripped nor decoded whole to be checked (each would copy it)."""
    if not data or data.isspace():
        raise InputError(f"{name} : fichier vide")
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:8192]
    if b"\x00" in head:
        half = len(head) // 2 or 1
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if odd > 0.3 * half and even < 0.02 * half:
            return "utf-16-le"
        if even > 0.3 * half and odd < 0.02 * half:
            return "utf-16-be"
        # a few stray NUL bytes in an 8-bit or UTF-8 file: not UTF-16, read on
    try:
        _check_utf8(data)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # the bytes around the first non-ASCII bytes are the evidence (every candidate is one byte per
    # character, so each snippet decodes exactly): a large file is not decoded three times
    snippets = b"\n".join(data[max(m.start() - 3, 0): m.end() + 3]
                           for _, m in zip(range(20_000), re.finditer(rb"[\x80-\xff]+", data), strict=False))
    candidates = ["mac_roman", "latin-1"]
    if not re.search(rb"[\x81\x8d\x8f\x90\x9d]", data):  # bytes Windows-1252 leaves undefined
        candidates.insert(0, "cp1252")
    scores = sorted(((_plausibility(snippets.decode(enc)), enc) for enc in candidates),
                    key=lambda x: -x[0])  # stable: Windows-1252 first among equals
    best, enc = scores[0]
    # Latin-9 (ISO-8859-15, Unix and Oracle finance systems) puts « € » on 0xA4 and « œ » on 0xBD,
    # where Windows-1252 and Latin-1 have « ¤ » and « ½ »: chosen only when it reads strictly better
    # (a « ´ » typed as an apostrophe, 0xB4, is no « Ž » and must not make a file undecidable)
    latin9 = _plausibility(snippets.decode("iso8859-15"))
    if latin9 > best and latin9 >= 0:
        return "iso8859-15"
    # a rival reading as plausible, or nearly (within one frequent letter: « Ets ôa » in Windows-1252
    # is « Ets Ùa » in Mac Roman), is a guess: thin evidence stops the run rather than misread names
    tied = [e for s, e in scores[1:] if s >= 0 and best - s < 3 and snippets.decode(e) != snippets.decode(enc)]
    if best < 0 or tied:
        raise InputError(f"{name} : encodage indécidable (ni UTF-8, ni UTF-16, et ni Windows-1252, ni Mac Roman, "
                         f"ni Latin-1, ni Latin-9 ne donnent un texte français plausible) ; enregistrez l'export en CSV UTF-8")
    return enc


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first records into the most consistent number of fields.
    Records, not physical lines: a quoted note written over several lines (Alt+Entrée in Excel)
    is one field, and a « ; » on its continuation lines must not outvote the file's « , ». Each
    delimiter scores the physical lines its records of the most common width cover, so reading a
    multi-line field as several short records earns nothing."""
    best, best_score = ",", -1.0
    for delim in (";", ",", "\t", "|"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        widths: list[tuple[int, int]] = []  # (fields, physical lines) of each non-empty record
        start = 0
        try:
            for record in reader:
                if len(widths) >= MAX_SCAN_ROWS:
                    break
                if record and (len(record) > 1 or record[0].strip()):
                    widths.append((len(record), reader.line_num - start))
                start = reader.line_num
        except csv.Error:  # a NUL byte, a field too large: this delimiter reads what it read
            pass
        if not widths or max(w for w, _ in widths) < 2:
            continue
        counts = [w for w, _ in widths]
        mode = max(set(counts), key=lambda w: (sum(n for c, n in widths if c == w), w))
        score = sum(n for c, n in widths if c == mode) + (mode / 100)
        if score > best_score:
            best, best_score = delim, score
    return best


@dataclass
class CellTable:
    """One sheet as a frame: `_line` (physical line) and `_cells` (list of text cells, as many as
    the row has fields), or `_raw` (the line's text) for a delimited file read fast; a
    spreadsheet's native numbers per column in `numeric_col`."""

    sheet: str | None
    frame: pl.DataFrame
    numeric_col: dict[int, pl.Series] = field(default_factory=dict)
    hidden: bool = False
    # rows hidden in the workbook (by a filter or by hand), by their Excel row number
    hidden_lines: frozenset[int] = frozenset()
    # set for a delimited file read fast: `frame` then holds `_line` and `_raw` (the line's text),
    # split into fields only once the header tells how many there should be
    delim: str | None = None
    data: bytes | None = None  # the file as UTF-8, for polars' own reader when every row is regular
    # `frame` holds the first lines only (a large file without quotes): polars reads the rest
    partial: bool = False
    encoding: str = "utf-8"  # the delimited file's encoding as detected (said in the run log when not UTF-8)

    def head_cells(self, n: int) -> list[list[str]]:
        """The first rows as cells, exactly (the csv module on a few lines)."""
        if self.delim is None:
            return self.frame.head(n)["_cells"].to_list()
        return [next(csv.reader([raw], delimiter=self.delim)) for raw in self.frame.head(n)["_raw"]]

    @property
    def rows(self) -> list[tuple[int, list[str]]]:
        """(line, cells) in Python, for small files read back (review decisions)."""
        return list(zip(self.frame["_line"].to_list(), self.head_cells(self.frame.height), strict=True))


def read_csv_table(path: Path, display: str) -> list[CellTable]:
    return [split_delimited(path.read_bytes(), display)]


def _utf8_bytes(data: bytes, display: str) -> bytes:
    """The file as UTF-8 bytes without BOM (polars reads only UTF-8)."""
    return _utf8_bytes_and_encoding(data, display)[0]


def _utf8_bytes_and_encoding(data: bytes, display: str) -> tuple[bytes, str]:
    """(UTF-8 bytes without BOM, the file's encoding as detected); a UTF-8 file is checked, never
    decoded whole (one more copy of a large file in memory)."""
    enc = detect_encoding(data, display)  # NUL bytes first: ASCII-only UTF-16 is valid UTF-8 too
    if enc in ("utf-8", "utf-8-sig"):
        return data.removeprefix(b"\xef\xbb\xbf"), "utf-8"
    return data.decode(enc).removeprefix("\ufeff").encode("utf-8"), enc


def _valid_utf8(data: bytes) -> bool:
    """Arrow's UTF-8 validation of the bytes in place (no copy, no Python strings): twenty times
    faster than decoding them, and it refuses what Python's decoder refuses (a test checks)."""
    import pyarrow as pa  # imported by polars' to_arrow anyway; not at module import (start-up time)

    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _check_utf8(data: bytes, chunk: int = 1 << 24) -> None:
    """Raise UnicodeDecodeError unless `data` is UTF-8. Arrow checks valid files; an invalid one is
    decoded 16 MB at a time for Python's error (a whole large file decoded at once would be one
    more copy of it in memory)."""
    if _valid_utf8(data):
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        decoder.decode(view[start:start + chunk])
    decoder.decode(b"", final=True)


def _fields_regex(delim: str) -> str:
    d = re.escape(delim)
    return f'{d}(?:"(?:[^"]|"")*"|[^{d}"]*)'


HEAD_LINES = 200  # the first lines of a large quote-free file, where its header is looked for
PARTIAL_READ_BYTES = 8 * 1024 * 1024  # smaller files are split line by line first (cheap at that size)


def split_delimited(data: bytes, display: str, head_only: bool = False) -> CellTable:
    """Every physical line split into fields by a vectorised regex; a file whose quoted fields
    span lines is split by the csv module instead (rare, and still exact). With `head_only`, a
    large file without quotes keeps its first lines only (`partial`): if every line has the
    header's fields, polars' own reader splits the whole file once (see table_to_frame)."""
    raw, encoding = _utf8_bytes_and_encoding(data, display)
    head = raw[:65536].decode("utf-8", errors="ignore")
    delim = sniff_delimiter(head)
    sep = next((c for c in "\x1f\x1e\x1d\x01" if c.encode() not in raw), None)
    quotes = raw.count(b'"') if b'"' in raw else 0  # `in` is a fast scan; count only when needed
    if sep is None or quotes % 2:
        return _split_with_csv_module(raw.decode("utf-8"), delim, encoding)
    source, partial = raw, False
    if head_only and not quotes and len(raw) > PARTIAL_READ_BYTES:
        cut = 0
        for _ in range(HEAD_LINES):
            cut = raw.find(b"\n", cut) + 1
            if cut == 0:
                break
        if cut:
            source, partial = raw[:cut], True
    lines = pl.read_csv(source, has_header=False, separator=sep, quote_char=None,
                        schema={"_raw": pl.String}, raise_if_empty=False)
    text = pl.col("_raw").fill_null("")
    lines = lines.with_row_index("_line", offset=1).with_columns(
        pl.col("_line").cast(pl.Int64), text.str.strip_chars_end("\r") if b"\r" in source else text)
    # an empty line is not a row; a line of separators only is (an empty row, quarantined)
    kept = pl.col("_raw").str.contains(r"\S")  # the same as a non-empty stripped line, without the copy
    if delim.isspace():
        kept = kept | pl.col("_raw").str.contains(delim, literal=True)
    lines = lines.filter(kept)
    if quotes and (lines["_raw"].str.count_matches('"', literal=True) % 2 == 1).any():
        # a quoted field goes on to the next line: the csv module splits such files exactly
        return _split_with_csv_module(raw.decode("utf-8"), delim, encoding)
    if quotes:
        quoted = lines.filter(pl.col("_raw").str.contains('"', literal=True))
        prefixed = pl.lit(delim) + pl.col("_raw")
        if not quoted.select((prefixed.str.extract_all(_fields_regex(delim)).list.join("") == prefixed).all()
                             ).item():
            return _split_with_csv_module(raw.decode("utf-8"), delim, encoding)
    if partial and lines.height <= MAX_SCAN_ROWS:  # blank lines at the top: read every line
        return split_delimited(data, display)
    return CellTable(None, lines, delim=delim, data=raw, partial=partial, encoding=encoding)


def _split_with_csv_module(text: str, delim: str, encoding: str = "utf-8") -> CellTable:
    """Exact split when quoted fields hold line breaks; a record's line is where it starts, the
    line the user finds it on when opening the file (its last line would point at the next one)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    lines, cells = [], []
    start = 1
    for record in reader:
        if record and (len(record) > 1 or record[0].strip()):
            lines.append(start)
            cells.append(record)
        start = reader.line_num + 1
    frame = pl.DataFrame({"_line": lines, "_cells": cells},
                         schema={"_line": pl.Int64, "_cells": pl.List(pl.String)})
    return CellTable(None, frame, encoding=encoding)


def read_xlsx_tables(path: Path, display: str) -> list[CellTable]:
    """Every sheet. A merged cell's value belongs to its top-left cell only (the rows it spans
    below are not given a copy of an amount they never had)."""
    # A large export is streamed (read-only mode); merged cells only occur in small, hand-made files.
    streamed = path.stat().st_size > LARGE_XLSX_BYTES
    try:
        wb = _load_workbook(path, data_only=True, streamed=streamed)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(f"{display} : classeur Excel illisible ({type(exc).__name__})") from exc
    formulas = _uncomputed_formulas(path, streamed)
    tables = []
    for ws in wb.worksheets:
        lines, cells, numbers = [], [], []
        uncomputed = formulas.get(ws.title, {})
        for r_idx, row in enumerate(ws.iter_rows(values_only=True), start=1):
            texts = [_cell_text(v) for v in row]
            if uncomputed:  # the formula itself, never an empty cell: the reason will say why
                texts = [uncomputed.get((r_idx, c), t) for c, t in enumerate(texts)]
                width = max((c + 1 for r, c in uncomputed if r == r_idx), default=0)
                texts += [uncomputed.get((r_idx, c), "") for c in range(len(texts), width)]
                row = tuple(row) + (None,) * (len(texts) - len(row))
            while texts and not texts[-1].strip():
                texts.pop()
            if not texts:
                continue
            lines.append(r_idx)
            cells.append(texts)
            numbers.append([float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
                            for v in row[: len(texts)]])
        frame = pl.DataFrame({"_line": lines, "_cells": cells},
                             schema={"_line": pl.Int64, "_cells": pl.List(pl.String)})
        width = max((len(n) for n in numbers), default=0)
        numeric = {c: pl.Series([n[c] if c < len(n) else None for n in numbers], dtype=pl.Float64)
                   for c in range(width)}
        tables.append(CellTable(ws.title, frame, numeric, hidden=ws.sheet_state != "visible",
                                hidden_lines=_hidden_rows(ws, path, streamed)))
    return tables


def _load_workbook(path: Path, data_only: bool, streamed: bool):  # noqa: ANN202 - an openpyxl Workbook
    """A streamed (read-only) sheet stops at the last row its `<dimension>` tag names, which some
    tools write wrong: its dimensions are forgotten, so that every row written is read, as the
    full load reads them."""
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=data_only, read_only=streamed)
    if streamed:
        for ws in wb.worksheets:
            ws.reset_dimensions()
    return wb


_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="([0-9]+)"[^>]*?\bhidden="(?:1|true)"'
                         rb'|<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="([0-9]+)"')


def _hidden_rows(ws: object, path: Path, streamed: bool) -> frozenset[int]:
    """Excel row numbers of the sheet's hidden rows. A streamed sheet has no row dimensions in
    openpyxl: its XML is scanned (in slices) for rows marked hidden."""
    if not streamed:
        return frozenset(r for r, d in ws.row_dimensions.items() if d.hidden)  # type: ignore[attr-defined]
    import zipfile

    sheet_xml = getattr(ws, "_worksheet_path", None)
    if not sheet_xml:
        return frozenset()
    found: set[int] = set()
    with zipfile.ZipFile(path) as z, z.open(sheet_xml) as f:
        tail = b""
        while chunk := f.read(1 << 22):
            text = tail + chunk
            found.update(int(m.group(1) or m.group(2)) for m in _HIDDEN_ROW.finditer(text))
            tail = text[-512:]
    return frozenset(found)


_FORMULA_NO_VALUE = re.compile(rb"<c\b[^>]*>(?:(?!</c>).)*?<f\b(?:(?!</c>).)*?</c>", re.DOTALL)
_CACHED_VALUE = re.compile(rb"<v\b[^>/]*>[^<]+</v>")


def _uncomputed_formulas(path: Path, streamed: bool) -> dict[str, dict[tuple[int, int], str]]:
    """Sheet -> (row, column) -> formula, for formula cells saved without a computed value (a file
    written by a tool that never calculated it). The sheets' XML is scanned first; the workbook is
    opened a second time, for its formulas, only when such a cell exists."""
    import zipfile


    try:
        with zipfile.ZipFile(path) as z:
            found = False
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    xml = z.read(name)
                    if b"<f" in xml and any(not _CACHED_VALUE.search(m.group(0))
                                            for m in _FORMULA_NO_VALUE.finditer(xml)):
                        found = True
                        break
    except (zipfile.BadZipFile, OSError, KeyError):
        return {}
    if not found:
        return {}
    out: dict[str, dict[tuple[int, int], str]] = {}
    values = _load_workbook(path, data_only=True, streamed=streamed)
    forms = _load_workbook(path, data_only=False, streamed=streamed)
    for ws_v, ws_f in zip(values.worksheets, forms.worksheets, strict=True):
        cells = {}
        for r_idx, (rv, rf) in enumerate(zip(ws_v.iter_rows(values_only=True), ws_f.iter_rows(values_only=True),
                                             strict=False), start=1):
            for c, f in enumerate(rf):
                f = getattr(f, "text", f)  # an array formula
                if isinstance(f, str) and f.startswith("=") and (c >= len(rv) or rv[c] is None):
                    cells[(r_idx, c)] = f
        if cells:
            out[ws_v.title] = cells
    return out


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) > 1e8:  # identifiers stored as numbers
        return str(int(v))
    return str(v)


# --- rows -> lines -----------------------------------------------------------------------


def find_header(rows: list[list[str]], explicit: dict[str, str]) -> int | None:
    """Index of the first row that names an amount and a supplier (or SIRET)."""
    for i, cells in enumerate(rows[:MAX_SCAN_ROWS]):
        mapping = map_headers(cells, explicit)
        if "amount" in mapping and ("supplier_name" in mapping or "siret" in mapping or "vat_number" in mapping) \
                and not _criteria_row(cells, mapping, explicit):
            return i
    return None


def _criteria_row(cells: list[str], mapping: dict[str, int], explicit: dict[str, str]) -> bool:
    """A report's filter block above its table (« Tiers : | Tous | Montant TTC : | >= 0,00 »):
    the amount's or the supplier's cell is a label ending with « : », not a column's name (unless
    achats.toml names that very header)."""
    named = {header_key(v) for v in (explicit or {}).values() if isinstance(v, str)}
    return any(f in mapping and mapping[f] < len(cells) and (cells[mapping[f]] or "").strip().endswith(":")
               and header_key(cells[mapping[f]]) not in named for f in ("amount", "supplier_name", "siret"))


@dataclass(frozen=True)
class ReadOptions:
    """What the reader needs besides the file: the explicit column mapping and the ceiling."""

    explicit: dict[str, str] = field(default_factory=dict)
    max_line_amount_eur: Decimal = Decimal(100_000_000)
    # [colonnes."motif"] of achats.toml: (pattern, mapping); a matching file uses it instead of `explicit`
    by_file: tuple[tuple[str, dict[str, str]], ...] = ()
    section: str = "[colonnes]"  # where `explicit` comes from, for messages

    def for_file(self, display: str) -> ReadOptions:
        """The mapping of this file: its own section if one pattern names it, else [colonnes]. Two
        sections naming one file stop the run: which headers to trust is the buyer's call."""
        from achats.config import file_pattern_matches

        hits = [(p, m) for p, m in self.by_file if file_pattern_matches(p, display)]
        if len(hits) > 1:
            names = ", ".join(f'[colonnes."{p}"]' for p, _ in hits)
            raise InputError(f"{display} : désigné par plusieurs sections de achats.toml ({names}) ; gardez-en une "
                             "qui ne désigne que lui")
        return ReadOptions(hits[0][1], self.max_line_amount_eur, section=f'[colonnes."{hits[0][0]}"]') if hits else self


# Labels of total rows, in any text cell (compared in lower case). STRONG labels make a total
# row by themselves; a cell that only starts with "total" ("TOTAL ENERGIES") needs the sum too.
_TOTAL_STRONG_WHOLE = re.compile(
    # words that only ever label a total, at the start of a cell
    r"^\s*(?:sous[- ]?totale?s?|sous[- ]?totaux|s/\s*total\w*|grand[- ]total|total(?:e|es)?\s+g[ée]n[ée]ral\w*)\b"
    # words that also start real names ("REPORTERS SANS FRONTIERES", "CUMULUS"): the whole cell only
    r"|^\s*(?:totaux|cumuls?|cumul g[ée]n[ée]ral|report(?:é|e)?(?:\s+[àa] nouveau)?|[aà] reporter|montant total"
    r"|somme|(?:montant\s+)?total(?:e|es)?(?:\s+(?:ttc|ht|net|[àa] payer|pay[ée]|mandat[ée]))?)\s*[:.=]?\s*[0-9]*\s*$"
    r"|^\s*total(?:e|es)?\s*[:=]"
    r"|^\s*total(?:e|es)?\s+(?:de |du |des |pour |par )?(?:la |le |l')?(?:direction|service|p[ôo]le|dga|dg"
    r"|exercice|ann[ée]e|mois|trimestre|p[ée]riode|mandats?|factures?|fournisseurs?|chapitre|compte|budget"
    r"|feuille|page|[0-9])\b", re.IGNORECASE)
_GRAND_TOTAL = re.compile(r"g[ée]n[ée]ral|grand|^\s*total(?:e|es)?\s*[:.]?\s*$|montant total|totaux",
                          re.IGNORECASE)


class UnitError(InputError):
    """An amount column in thousands or millions of euros: the whole file is refused."""


# a unit other than the euro in the amount's header: « Montant (k€) », « en milliers d'euros », « M€ »
_SCALED_UNIT = re.compile(r"\b[km]\s*(?:€|eur\b|euros?\b)|\b[km]eur(?:os?)?\b|\bmill(?:iers?|ions?)\s+d",
                          re.IGNORECASE)


def _check_amount_unit(header: list[str], cols: dict[str, int], where: str) -> None:
    """Amounts in k€ or M€ read as euros would be a thousand times too small: the file is refused
    (converting would put on the reader a scale it cannot check against the source), named with
    its header."""
    if "amount" not in cols:
        return
    text = header[cols["amount"]]
    if _SCALED_UNIT.search(text):
        raise UnitError(f"{where} : la colonne de montant « {text.strip()} » n'est pas en euros (milliers ou "
                        f"millions d'euros) : fichier refusé. Exportez les montants en euros, ou convertissez "
                        f"la colonne en euros et renommez son en-tête.")


class MappingError(InputError):
    """A [colonnes] mapping that names a header the file does not have: the whole file is refused."""


def _file_name(where: str) -> str:
    """'purchases/a/b (1).xlsx (feuille « X »)' -> 'b (1).xlsx'."""
    return re.sub(r" \(feuille « .* »\)$", "", where).rsplit("/", 1)[-1]


def _check_explicit_columns(header: list[str], explicit: dict[str, str], where: str,
                            section: str = "[colonnes]") -> None:
    """A header named in achats.toml must be in the file: the reader would otherwise pick another
    column by itself (« Montant TTC » instead of the « Montant hors taxes » asked for)."""
    from achats.config import COLUMN_KEYS

    keys = {header_key(c) for c in header}
    missing = [(name, column) for name, column in explicit.items()
               if name in ALIASES and header_key(column) not in keys]
    if missing:
        present = ", ".join(f"« {c.strip()} »" for c in header if c.strip())
        asked = " ; ".join(f"{section} {COLUMN_KEYS.get(name, name)} = « {column} »" for name, column in missing)
        own = ("" if section != "[colonnes]" else
               f", ou donnez à ce fichier ses en-têtes dans une section [colonnes.\"{_file_name(where)}\"]")
        raise MappingError(f"{where} : achats.toml {asked} : en-tête absent de ce fichier (en-têtes présents : "
                           f"{present}) ; corrigez achats.toml ou l'en-tête du fichier{own}")


# second header row under merged cells: « Montant » over « HT » and « TTC »
_TAX_WORDS = re.compile(r"^(?:ht|ttc|hors taxes?|h t|t t c|toutes taxes comprises|tva|net|brut)$")


def _two_row_header(header: list[str], below: list[str] | None, where: str,
                    explicit: dict[str, str]) -> list[str] | None:
    """The header completed by the row under it when that row only names tax bases (« HT »,
    « TTC »): each such cell joins the header cell above it, or the merged cell that spans it
    (its value sits in the span's first cell): « Montant » + « TTC » = « Montant TTC ». Then the
    usual choice of the amount column applies. Ambiguous (the same name twice): refused."""
    if not below:
        return None
    cells = [c.strip() for c in below]
    filled = [i for i, c in enumerate(cells) if c]
    if not filled or any(not _TAX_WORDS.match(header_key(cells[i])) for i in filled):
        return None
    width = max(len(header), len(cells))
    top = [header[i].strip() if i < len(header) else "" for i in range(width)]
    out, parent = [], ""
    for i in range(width):
        parent = top[i] or parent
        sub = cells[i] if i < len(cells) else ""
        out.append(f"{parent} {sub}".strip() if sub else top[i])
    keys = [header_key(c) for c in out if c]
    cols = map_headers(out, explicit)
    if "amount" not in cols or keys.count(header_key(out[cols["amount"]])) > 1:
        raise InputError(f"{where} : en-tête sur deux lignes ambigu (« {' | '.join(top)} » au-dessus de "
                         f"« {' | '.join(cells)} ») : la colonne de montant ne peut être choisie ; écrivez un "
                         f"en-tête sur une seule ligne (par exemple « Montant HT », « Montant TTC »)")
    return out


# headers of a column that may say what a piece is (« Type de pièce », « Type d'opération »,
# « Nature de la pièce », « Type »): a sign only when its values say debit or credit
_PIECE_TYPE_WORDS = ("type", "piece", "operation", "nature de la piece", "nature de l operation")
_FREE_TEXT_WORDS = ("libelle", "objet", "intitule", "designation", "commentaire", "observation", "observations")
VALUE_SAMPLE_ROWS = 200  # data rows whose values confirm a column chosen by its header
VALUE_SHARE = 0.9  # share of a sample's non-empty values that must fit the column's role


def _folded(text: str) -> str:
    """Lower case without accents, as `_apply_direction` compares a sign's value."""
    v = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in v if not unicodedata.combining(c))


def _direction_value(text: str) -> bool:
    """Whether a cell is one `_apply_direction` reads as a debit or a credit (the same words)."""
    v = _folded(text)
    if not v or re.search(_NEGATION, v):
        return False
    says_credit, says_debit = bool(re.search(_CREDIT, v)), bool(re.search(_DEBIT, v))
    # as `_apply_direction`: « Mandat » is a debit unless a credit word goes with it
    return says_credit != says_debit or (not says_credit and bool(re.search(_MANDATE_WORD, v))) \
        or bool(re.search(_REJECTED, v))


def _date_value(text: str) -> bool:
    """A date as written in a cell; bare digits are codes first (an account « 60632 » is no Excel
    day number, a « 20240115 » reference no date) and never make a column one of dates. Every
    date format has a digit, even once folded (« 1er mars 2024 »): text without one is no date,
    told without trying each format."""
    if re.fullmatch(r"\s*[0-9]+(?:\.0+)?\s*", text) or not re.search(r"\d", fold(text)):
        return False
    try:
        return parse_date(text) is not None
    except ValueError:
        return False


_PERIOD_MONTH_YEAR = re.compile(r"^(0?[1-9]|1[0-2])[/.\- ]((?:19|20)[0-9]{2})$")  # 01/2024, 1-2024
_PERIOD_YEAR_MONTH = re.compile(r"^((?:19|20)[0-9]{2})(?:[/.\- ](0?[1-9]|1[0-2])|(0[1-9]|1[0-2]))$")  # 2024-01, 202401
_PERIOD_QUARTER = re.compile(r"^(?:(?:t|q)([1-4])|([1-4])(?:er|e|eme|nd)? trimestre)(?:[ /.\-_]*((?:19|20)[0-9]{2}))?$"
                             r"|^((?:19|20)[0-9]{2})[ /.\-_]*(?:t|q)([1-4])$")
_PERIOD_WORD = re.compile(r"^([a-z]+)\.?(?:[ /.\-_]*([0-9]{4}|[0-9]{2}))?$")  # Janvier, janv.-24, Juin 2024
_PERIOD_LEADING_NUMBER = re.compile(r"^(0?[1-9]|1[0-2])\s*[-.:]\s*([a-z]+)$")  # « 01 - Janvier »


def period_parts(text: str) -> tuple[int | None, int | None] | None:
    """(year, month) of a month or period cell: « Janvier », « 01 », « 01/2024 », « 2024-01 »,
    « janv.-24 », « T1 2024 » (a quarter: its middle month), « 2024 » (a year alone), or a full date
    (its month: a spreadsheet « Mois » formatted « janv-24 » holds the 1st of the month). Either part
    may be None; None when the cell is no period (« 13 », « Fonctionnement »): never guessed."""
    v = _folded(text).rstrip(".")
    if not v:
        return None
    if re.fullmatch(r"0?[1-9]|1[0-2]", v):
        return None, int(v)
    if re.fullmatch(r"(?:19|20)[0-9]{2}", v):
        return (int(v), None) if MIN_YEAR <= int(v) <= MAX_YEAR else None
    year: int | None
    if m := _PERIOD_MONTH_YEAR.match(v):
        year, month = int(m.group(2)), int(m.group(1))
    elif m := _PERIOD_YEAR_MONTH.match(v):
        year, month = int(m.group(1)), int(m.group(2) or m.group(3))
    elif m := _PERIOD_QUARTER.match(v):
        q = m.group(1) or m.group(2) or m.group(5)
        y = m.group(3) or m.group(4)
        year, month = (int(y) if y else None), 3 * int(q) - 1
    elif (m := _PERIOD_WORD.match(v)) and m.group(1) in MONTH_WORDS:
        y = m.group(2)
        year = None if y is None else int(y) if len(y) == 4 else 2000 + int(y)
        month = MONTH_WORDS[m.group(1)]
    elif (m := _PERIOD_LEADING_NUMBER.match(v)) and MONTH_WORDS.get(m.group(2)) == int(m.group(1)):
        year, month = None, int(m.group(1))
    elif _date_value(text) or re.fullmatch(r"[0-9]{5}(?:\.0+)?", v):  # a whole date, or an Excel day number
        try:
            d = parse_date(text)
        except ValueError:
            return None
        if d is None:
            return None
        year, month = d.year, d.month
    else:
        return None
    return (year, month) if year is None or MIN_YEAR <= year <= MAX_YEAR else None


def _share(values: list[str], test) -> float:
    """Share of the non-empty values that pass `test`, tried once per distinct value (a column
    repeats its services and categories)."""
    present = [v for v in values if v.strip()]
    passed = {v: test(v) for v in set(present)}
    return sum(1 for v in present if passed[v]) / len(present) if present else 0.0


def _columns_by_values(header: list[str], cols: dict[str, int], rows: list[list[str]],
                       explicit: dict[str, str], where: str) -> tuple[dict[str, int], list[str]]:
    """The mapping checked against the first data rows, with a French note per change. A column
    of dates is no buying entity nor category (« Service fait le »: the date the service was
    certified); a « Type de pièce » column whose values are Mandat / Annulation / Réduction is the
    debit/credit column, so that a cancellation written positive is counted negative. A column
    named in achats.toml is never changed."""
    named = {header_key(c) for c in (explicit or {}).values()}

    def values(i: int) -> list[str]:
        return [r[i] if i < len(r) else "" for r in rows]

    blanked = list(header)
    notes: list[str] = []
    cancel_dropped: list[int] = []
    if "amount" not in (explicit or {}):
        blanked, notes, cancel_dropped = _amount_columns_by_values(header, cols, values, named, explicit, where)
        if notes:
            cols = map_headers(blanked, explicit)
    for name, label in (("buying_entity", "entité acheteuse"), ("category", "catégorie")):
        i = cols.get(name)
        if i is None or header_key(header[i]) in named or name in (explicit or {}):
            continue
        if _share(values(i), _date_value) >= VALUE_SHARE:
            blanked[i] = ""
            notes.append(f"{where} : la colonne « {header[i].strip()} » n'est pas lue comme {label} : ses "
                         f"valeurs sont des dates")
    notes += _supplier_codes(header, cols, values, blanked, named, explicit, where)
    a, c = cols.get("amount"), cols.get("amount_credit")
    if a is not None and c is not None and "amount" not in (explicit or {}) \
            and _ledger_side(header_key(header[a]), "debit") and _ledger_side(header_key(header[c]), "credit"):
        wrong = [header[j].strip() for j in (a, c) if _filled(values(j)) and not _holds_amounts(_filled(values(j)))]
        if wrong:  # read by their header alone: a « Crédit » of text is no ledger's credit
            raise InputError(f"{where} : colonne(s) {', '.join(f'« {w} »' for w in wrong)} : ses valeurs ne sont "
                             f"pas des montants, les colonnes « {header[a].strip()} » / « {header[c].strip()} » ne "
                             f"peuvent être lues comme débit − crédit ; nommez la colonne de montant dans achats.toml "
                             f"([colonnes] montant = …, et credit = … pour la colonne au crédit)")
    if a is not None and c is not None and "amount" not in (explicit or {}):
        _refuse_third_party_ledger(header, values, where)
    i = cols.get("period")
    if i is not None and "period" not in (explicit or {}) and header_key(header[i]) not in named \
            and _share([v for v in values(i) if header_key(v) != header_key(header[i])],  # a repeated header
                       lambda v: period_parts(v) is not None) < VALUE_SHARE:
        blanked[i] = ""
        notes.append(f"{where} : la colonne « {header[i].strip()} » n'est pas lue comme mois ou période : ses "
                     f"valeurs ne sont pas des mois (« Janvier », « 01/2024 », « T1 2024 »)")
    i = cols.get("fiscal_year")
    if i is not None and "fiscal_year" not in (explicit or {}) and header_key(header[i]) not in named \
            and _has_words(header_key(header[i]), "gestion") \
            and _share(values(i), lambda v: re.fullmatch(r"\s*(?:19|20)[0-9]{2}(?:\.0+)?\s*", v) is not None) \
            < VALUE_SHARE:  # « Gestion » is the exercice in Hélios only when it holds years
        blanked[i] = ""
        notes.append(f"{where} : la colonne « {header[i].strip()} » n'est pas lue comme exercice : ses valeurs ne "
                     f"sont pas des années")
    direction = None
    if "direction" not in cols and "direction" not in (explicit or {}):
        for i, h in enumerate(header):
            k = header_key(h)
            if (i in cols.values() and cols.get("category") != i) or header_key(h) in named \
                    or not any(_has_words(k, w) for w in _PIECE_TYPE_WORDS) \
                    or any(_has_words(k, w) for w in _FREE_TEXT_WORDS):
                continue
            if _share(values(i), _direction_value) >= VALUE_SHARE:
                direction = i
                blanked[i] = ""
                notes.append(f"{where} : la colonne « {h.strip()} » est lue comme sens débit/crédit (ses valeurs "
                             f"sont Mandat, Annulation, Réduction…) : une annulation ou une réduction écrite "
                             f"positive compte en négatif")
                break
            # the credit word alone is quoted, never the cell (it may name someone)
            credits = [m.group(0) for v in values(i) if _direction_value(v) and (m := re.search(_CREDIT, _folded(v)))]
            if credits:  # some cancellations among other values: the sign is not guessed, but said
                notes.append(f"{where} : la colonne « {h.strip()} » contient des annulations ou réductions "
                             f"(« {credits[0]} ») mais d'autres valeurs que Mandat/Annulation/Réduction : elle n'est "
                             f"pas lue comme sens, leurs montants gardent le signe écrit ; vérifiez-les ou nommez "
                             f"cette colonne dans achats.toml ([colonnes] sens = …)")
    if not notes:
        return cols, []
    out = map_headers(blanked, explicit)
    if direction is not None:
        out["direction"] = direction
    for name in ("amount_cancel", "amount_credit"):
        if out.get(name) in cancel_dropped:
            out.pop(name)
    if "amount_cancel" in out and not any(f in out for f in ("amount_credit", "amount_vat")):
        out["amount_credit"] = out.pop("amount_cancel")  # the one part left is taken off alone
    return out, notes


def _code_value(text: str) -> bool:
    """A tiers code, not a name: one short token with a digit, mostly digits (« 0012 », « F0045 »,
    « TIERS00012 »); a name has a space or mostly letters (« 3M FRANCE », « A2MICILE »)."""
    v = text.strip()
    if not v or len(v) > 16 or re.search(r"\s", v):
        return False
    alnum = [c for c in v if c.isalnum()]
    digits = sum(c.isdigit() for c in alnum)
    return digits > 0 and digits * 2 >= len(alnum)


def _name_value(text: str) -> bool:
    """A cell that may be a supplier's name: letters, and not a code."""
    return bool(re.search(r"[^\W\d_]{2}", text)) and not _code_value(text)


def _supplier_codes(header: list[str], cols: dict[str, int], values, blanked: list[str], named: set[str],
                    explicit: dict[str, str] | None, where: str) -> list[str]:
    """A supplier column chosen by its header (« Tiers », « Fournisseur ») whose values are tiers
    codes gives way to the next supplier-named column whose values are names (« Libellé tiers »,
    « Nom du tiers », « Raison sociale »): Astre, Civil Net and Sedit write the code under the bare
    word. Without such a column the codes stay, and the note says so. Blanks the code column in
    `blanked` when it gives way."""
    i = cols.get("supplier_name")
    if i is None or "supplier_name" in (explicit or {}) or header_key(header[i]) in named:
        return []
    if _share(values(i), _code_value) < VALUE_SHARE:
        return []
    trial = list(blanked)
    trial[i] = ""
    j = map_headers(trial, explicit).get("supplier_name")
    # a name per code: « Type tiers » (Association, Entreprise) names a kind, not each supplier
    distinct = (len({v.strip() for v in values(j) if v.strip()}) * 2 >= len({v.strip() for v in values(i) if v.strip()})
                if j is not None else False)
    if j is not None and distinct and _share(values(j), _name_value) >= VALUE_SHARE:
        blanked[i] = ""
        return [f"{where} : la colonne « {header[i].strip()} » contient des codes de tiers, pas des noms : le nom du "
                f"fournisseur est lu dans « {header[j].strip()} » ; si ce n'est pas la bonne, nommez-la dans "
                f"achats.toml ([colonnes] fournisseur = …)"]
    return [f"{where} : À VÉRIFIER : la colonne « {header[i].strip()} », lue comme nom du fournisseur, contient "
            f"des codes de tiers, pas des noms, et aucune autre colonne de nom n'a été trouvée ; les fournisseurs "
            f"sans SIRET ne pourront pas être rapprochés par leur nom : nommez la colonne du nom dans achats.toml "
            f"([colonnes] fournisseur = …)"]


# a cell written as an amount: digits with spaces, points, commas or apostrophes between them, a
# sign or parentheses, a currency (« 1 000,00 € », « (250,00) », « -12.5 »); « Oui », « Non », « O »,
# a date, a name are not
_AMOUNT_TEXT = re.compile(r"\s*(?:[+\-−(]\s*)?(?:€|eur|euros?)?\s*[+\-−]?\s*[0-9](?:[0-9 .,'\u00a0\u202f]*[0-9])?"
                          r"\s*(?:€|eur|euros?)?\s*[)\-]?\s*", re.IGNORECASE)
AMOUNT_VALUE_SHARE = 0.5  # below this share of amounts among its filled cells, a column holds no amounts


def _amount_value(text: str) -> bool:
    """Whether a cell is written as an amount (a date « 05/02/2024 » is not: no slash)."""
    return bool(_AMOUNT_TEXT.fullmatch(text))


def _filled(values: list[str]) -> list[str]:
    """The cells that say something: a dash alone (« - », « — ») stands for nothing paid, neither
    an amount nor a word."""
    return [v for v in values if v.strip() and re.search(r"[^\s\-−–—]", v)]


def _holds_amounts(filled: list[str]) -> bool:
    """Most filled cells are written as amounts, and they are not only 0 and 1 (a yes/no flag
    written as a number: « Payé » 1/0 is no amount of 1 €)."""
    return _share(filled, _amount_value) >= AMOUNT_VALUE_SHARE and not {v.strip() for v in filled} <= {"0", "1"}


# a participle alone (« Montant réduit ») may name the amount once reduced, not the part taken off;
# a noun (« Réductions », « Annulations ») or « annulé » (« Montant annulé ») names the part
_AMBIGUOUS_CANCEL_WORDS = ("reduit", "reduits", "reduite", "reduites")


def _ambiguous_cancel_header(key: str) -> bool:
    """Whether a cancelled-part header may also be read as the amount after reduction."""
    return any(_has_words(key, w) for w in _AMBIGUOUS_CANCEL_WORDS) and not any(
        _has_words(key, w) for w in _CANCEL_WORDS if w not in _AMBIGUOUS_CANCEL_WORDS)


def _same_size(x: str, y: str) -> bool:
    """Two amount cells written with the same digits, whatever their sign and spaces."""
    def bare(v: str) -> str:
        return re.sub(r"[\s\u00a0\u202f+\-−()€]", "", v)
    return bool(x.strip()) and _amount_value(x) and bare(x) == bare(y)


def _net_of_other_part(whole: list[str], first: list[str], second: list[str], first_key: str,
                       second_key: str) -> int | None:
    """Which of two cancelled-part columns (0: `first`, 1: `second`) is the net amount: equal to
    the amount less the other column on nearly every line with an amount (9 in 10), the other non-zero on
    at least one (« Montant mandaté | Montant annulé | Montant réduit » where réduit = mandaté −
    annulé). Taken off too, every line would read 0. None when neither is."""
    rows = [(w, x, y) for w, x, y in zip(whole, first, second, strict=True)
            if w.strip() and _amount_value(w) and re.search(r"[1-9]", w)]
    if not rows:
        return None
    cells = pl.Series([c for r in rows for c in r if c.strip()])
    fmt = amounts.infer_format(cells)

    def cents(col: list[str]) -> list[int | None]:
        df = amounts.parse_columns(pl.DataFrame({"a": pl.Series(col, dtype=pl.String)}), "a", fmt)
        return [0 if not c.strip() else v for c, v in zip(col, df["_cents"].to_list(), strict=True)]

    w, x, y = (cents([r[i] for r in rows]) for i in range(3))
    order = [(1, y, x), (0, x, y)] if _ambiguous_cancel_header(second_key) and not _ambiguous_cancel_header(
        first_key) else [(0, x, y), (1, y, x)]
    for pos, net, part in order:
        if any(v is None for v in (*w, *net, *part)) or not any(part):
            continue
        # nearly every line (a typed slip on one line in ten does not hide the layout): two true
        # parts adding up to the whole mandate on so many lines would be a file of cancellations only
        if sum(n == t - abs(p) for t, n, p in zip(w, net, part, strict=True)) * 10 >= len(rows) * 9:
            return pos
    return None


def _amount_columns_by_values(header: list[str], cols: dict[str, int], values, named: set[str],
                              explicit: dict[str, str] | None, where: str) -> tuple[list[str], list[str], list[int]]:
    """The amount column chosen by its header must hold amounts (a « Payé » column of Oui/Non
    is a state, not the amount: the next candidate is taken), and a cancelled part subtracted from
    it must hold amounts that differ from it (a « Montant réduit » equal to the amount on most
    lines is the amount after reduction, not the reduction). Returns the header with the
    refused columns blanked, the French notes, and the cancelled columns dropped."""
    blanked, notes, dropped = list(header), [], []
    current = cols
    for _ in range(len(header)):
        i = current.get("amount")
        if i is None or header_key(header[i]) in named:
            break
        filled = _filled(values(i))
        if not filled or _holds_amounts(filled):
            break
        others = [j for j in amount_candidates([header_key(h) for h in blanked], {i}) if j != i]
        if not others:
            break
        blanked[i] = ""
        notes.append(f"{where} : la colonne « {header[i].strip()} » n'est pas lue comme montant : ses valeurs ne "
                     f"sont pas des montants (Oui/Non, 0/1, dates ou texte)")
        current = map_headers(blanked, explicit)
    a = current.get("amount")
    for j in (current.get("amount_credit"), current.get("amount_cancel")):
        if j is None or a is None or not _cancelled_header(header_key(header[j])):
            continue
        part, whole = values(j), values(a)
        filled = _filled(part)
        # compared over every line with a non-zero amount: a cancelled part is blank or 0 on the
        # lines paid in full, so its non-zero cells alone are mostly full cancellations
        paid = [(x, y) for x, y in zip(part, whole, strict=True)
                if y.strip() and _amount_value(y) and re.search(r"[1-9]", y)]
        equal = sum(_same_size(x, y) for x, y in paid)
        if filled and not _holds_amounts(filled):
            why = "ses valeurs ne sont pas des montants"
        elif paid and equal * 2 > len(paid) and _ambiguous_cancel_header(header_key(header[j])):
            why = (f"elle est égale à « {header[a].strip()} » sur la plupart des lignes : c'est un montant après "
                   f"réduction, pas la part retirée")
        else:
            why = None
            if paid and equal * 2 > len(paid):  # « Montant annulé » says a part: taken off, and said
                notes.append(f"{where} : la colonne « {header[j].strip()} » est égale à « {header[a].strip()} » sur "
                             f"{equal} des {len(paid)} lignes : ces mandats sont comptés annulés en totalité (0) ; "
                             f"si c'est le montant payé, nommez-la dans achats.toml ([colonnes] montant = …)")
        if why is not None:
            dropped.append(j)
            notes.append(f"{where} : la colonne « {header[j].strip()} » n'est pas retranchée du montant : {why} ; si "
                         f"c'est la part annulée ou réduite du mandat, vérifiez-la")
    j, k = current.get("amount_credit"), current.get("amount_cancel")
    if a is not None and j is not None and k is not None and j not in dropped and k not in dropped \
            and "amount_vat" not in current:
        pos = _net_of_other_part(values(a), values(j), values(k), header_key(header[j]), header_key(header[k]))
        if pos is not None:
            net, other = (j, k) if pos == 0 else (k, j)
            dropped.append(net)
            notes.append(f"{where} : la colonne « {header[net].strip()} » n'est pas retranchée du montant : elle est "
                         f"égale à « {header[a].strip()} » − « {header[other].strip()} » sur (presque) toutes les lignes : "
                         f"c'est le montant net, pas une seconde part retirée")
    if j is not None and k is not None and j not in dropped and k not in dropped and "amount_vat" not in current:
        # two columns that give the same part on most lines where both are filled are one part
        # written twice (« Montant annulé | Annulations »): taken off once
        both = [(x, y) for x, y in zip(values(j), values(k), strict=True)
                if re.search(r"[1-9]", x) and re.search(r"[1-9]", y)]
        if both and sum(_same_size(x, y) for x, y in both) * 2 > len(both):
            dropped.append(k)
            notes.append(f"{where} : la colonne « {header[k].strip()} » n'est pas retranchée du montant : elle est "
                         f"égale à « {header[j].strip()} » sur la plupart des lignes où les deux sont remplies : "
                         f"c'est la même part, retirée une fois")
    return blanked, notes, dropped


# what a list of receipts (titres de recette, ordres de recette) is called, as a sheet, a file or
# the header of its n°: the words left once years, months and export words are set aside
_RECEIPT_NAME_WORDS = frozenset({"titre", "titres", "recette", "recettes", "tr", "or", "ordre", "ordres"})
_RECEIPT_NAME_CORE = frozenset({"titre", "titres", "recette", "recettes"})
_NAME_FILLER = frozenset({
    "de", "des", "du", "d", "le", "la", "les", "l", "emis", "emise", "emises", "export", "exports", "extraction",
    "extrait", "liste", "journal", "etat", "edition", "fichier", "budget", "principal", "annexe", "bp", "ba",
    "exercice", "exo", "annee", "helios", "copie", "v", "janvier", "fevrier", "mars", "avril", "mai", "juin",
    "juillet", "aout", "septembre", "octobre", "novembre", "decembre", "trimestre", "t", "s", "semestre"})
_RECEIPT_NUMBER = re.compile(r"^(?:n|no|num|numero|ref|reference)(?: d[eu])? (?:titres?|ordres? de recettes?)"
                             r"(?: de recettes?)?$|^(?:titres?|ordres? de recettes?)(?: de recettes?)? (?:n|no|num|numero)$")


def _receipt_name(name: str) -> bool:
    """A sheet or file named as a list of receipts (« Titres 2024 », « titres_de_recette_2024 »,
    « Recettes T1 »): once years, months and export words are set aside, only receipt words are
    left. « Titres restaurant », « Mandats et titres » or « achats_recettes_cuisine » name
    something else, or both: not receipts."""
    words = [w for w in header_key(name).split() if not w.isdigit() and w not in _NAME_FILLER]
    words = [re.sub(r"^(?:(?:19|20)[0-9]{2}|[tsq][1-4])$", "", w) for w in words]
    words = [w for w in words if w]
    return bool(words) and set(words) <= _RECEIPT_NAME_WORDS and bool(set(words) & _RECEIPT_NAME_CORE)


def receipt_evidence(display: str, sheet: str | None, header: list[str], cols: dict[str, int]) -> str | None:
    """Why a sheet lists receipts (titres de recette: money the buyer receives, not a purchase),
    or None: its n° column says « N° titre » with no n° of mandate beside it, or the sheet (else
    the file) is named for receipts. A « Titre… » value in a debit/credit column is a credit of a
    payment file, not this."""
    if "mandate_number" not in cols:
        for h in header:
            if _RECEIPT_NUMBER.match(header_key(h)):
                return f"colonne « {h.strip()} »"
    if sheet is not None and _receipt_name(sheet):
        return f"feuille « {sheet} »"
    if _receipt_name(Path(display).stem):
        return f"fichier « {Path(display).name} »"
    return None


def table_to_frame(table: CellTable, display: str, options: ReadOptions,
                   delimited: bool) -> tuple[pl.DataFrame, dict]:
    """(lines, file facts) of one sheet."""
    where = f"{display}" + (f" (feuille « {table.sheet} »)" if table.sheet else "")
    first = table.head_cells(MAX_SCAN_ROWS)
    h = find_header(first, options.explicit)
    cancel_col = None
    if h is None:
        h, cancel_col = _cancellation_header(first, options.explicit)
    if h is None:
        raise InputError(f"{where} : aucune ligne d'en-tête reconnue (il faut au moins une colonne "
                         f"de montant et une colonne de fournisseur ou de SIRET)")
    header = first[h]
    skip = 1  # header rows
    combined = _two_row_header(header, first[h + 1] if h + 1 < len(first) else None, where, options.explicit)
    if combined is not None:
        header, skip = combined, 2
    width = len(header)
    cols = map_headers(header, options.explicit)
    if cancel_col is not None:  # « Montant annulé » is the only amount: a list of cancellations
        cols["amount"] = cancel_col
    credits = f"colonne « {header[cancel_col].strip()} »" if cancel_col is not None \
        else cancellation_evidence(display, table.sheet)
    _check_explicit_columns(header, options.explicit, where, options.section)
    if "amount_vat" in options.explicit and "amount" in cols and _amount_rank(header_key(header[cols["amount"]]))[0] != 1:
        # the VAT in euros is added to an HT amount only: added to a TTC one it would count twice
        raise InputError(f"{where} : {options.section} montant_tva nomme « {header[cols['amount_vat']].strip()} », "
                         f"mais la colonne de montant « {header[cols['amount']].strip()} » n'est pas un montant HT : "
                         f"la TVA y compterait deux fois ; retirez montant_tva, ou nommez la colonne HT "
                         f"(montant = …)")
    cols, column_notes = _columns_by_values(header, cols, table.head_cells(h + skip + VALUE_SAMPLE_ROWS)[h + skip:],
                                            options.explicit, where)
    column_notes += _amount_choice_note(header, cols, options.explicit, where)
    column_notes += _date_choice_note(header, cols, options.explicit, where)
    _check_amount_unit(header, cols, where)
    cols = _with_mandated_amount(header, cols)
    df = None
    if table.partial and skip == 1:
        df = _native_whole(table, h, cols, width)
    if table.partial and df is None:  # some line is blank or ragged: every line read and split, as below
        table.frame, table.partial = split_delimited(table.data, display).frame, False
    body = table.frame.slice(h + skip).with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64))
    numeric = None
    if "amount" in cols and cols["amount"] in table.numeric_col:
        numeric = table.numeric_col[cols["amount"]].slice(h + skip)
    second = next((f for f in ("amount_credit", "amount_vat") if f in cols), None)
    numeric2 = table.numeric_col[cols[second]].slice(h + skip) \
        if second is not None and cols[second] in table.numeric_col else None
    numeric3 = table.numeric_col[cols["amount_cancel"]].slice(h + skip) \
        if "amount_cancel" in cols and cols["amount_cancel"] in table.numeric_col else None
    # the mandated amount of a mandate not paid yet, as the spreadsheet stores it (1500.5 is no
    # French text amount: read as the number it is, `_unpaid_amounts`)
    numeric_mandated = table.numeric_col[cols["amount_mandated"]].slice(h + skip) \
        if "amount_mandated" in cols and cols["amount_mandated"] in table.numeric_col else None
    if df is None and skip == 1 and table.delim is not None and _regular(body, width, table.delim, table.data):
        meta = body.select("source_row", "_line")
        header_line = int(table.frame["_line"][h])
        del body
        table.frame = pl.DataFrame()  # free the lines' text before the file is read again
        df = _native_columns(meta, cols, width, table.delim, table.data, header_line)
        if df is None:  # the native reader disagreed: split the lines ourselves after all
            table.frame = split_delimited(table.data, display).frame
            body = table.frame.slice(h + skip).with_row_index("source_row", offset=1).with_columns(
                pl.col("source_row").cast(pl.Int64))
    table.data = None
    if df is None:
        df = _delimited_columns(body, cols, width, table.delim) if table.delim is not None \
            else _cells_to_columns(body, cols, width)
        del body
    if "vat_number" in cols:
        df, vat_notes = _vat_into_identifier(df, cols, header, where)
        column_notes += vat_notes
    first_header = header[0].strip() if header else ""
    cell_cols = [c for c in df.columns if re.fullmatch(r"_c[0-9]+", c)]
    if cell_cols:
        label = pl.any_horizontal([pl.col(c).str.contains(_LABEL_START) for c in cell_cols])
    else:
        label = pl.col("_raw").str.contains(_label_prefilter(table.delim or "\x1f"))
    df = df.with_columns(
        (pl.col("_first") == first_header).fill_null(False).alias("_header_candidate"),
        label.alias("_label_candidate"),
        (numeric if numeric is not None else pl.lit(None, pl.Float64)).alias("_amount_num"),
        (numeric2 if numeric2 is not None else pl.lit(None, pl.Float64)).alias("_amount2_num"),
        (numeric3 if numeric3 is not None else pl.lit(None, pl.Float64)).alias("_amount3_num"),
        (numeric_mandated if numeric_mandated is not None else pl.lit(None, pl.Float64)).alias("_mandated_num"),
        (pl.col("source_line").is_in(list(table.hidden_lines)) if table.hidden_lines else pl.lit(False))
        .alias("_hidden"),
    ).drop("_first")
    table.frame = pl.DataFrame()  # the lines' text lives on only where the next steps need it
    # line ids need only the row's text: hashed in DuckDB on another thread while polars decides
    # every row (both release the GIL), the two cores of a small machine work at once
    keys = df.select(cell_cols or ["_raw"])
    with ThreadPoolExecutor(1) as pool:
        ids = pool.submit(lambda k: _with_line_ids(k, display, table.sheet, cell_cols, table.delim)
                          .select("_occurrence", "line_id"), keys)  # the text is freed when it ends
        del keys
        # the row's text is read again only to name a total label or check a repeated header, or
        # the mandate a reversal names (« Annulation du mandat 10 », `_cited_mandate`) or the invoice
        # a credit note names (« Avoir sur facture F2024-118 », `_invoice_ref`)
        def found(pattern: str) -> pl.Expr:
            return pl.any_horizontal([pl.col(c).str.contains(pattern) for c in cell_cols]) if cell_cols \
                else pl.col("_raw").str.contains(pattern)

        cite = found(_CITE_PREFILTER)
        if "payment_status" in cols or "direction" in cols:  # only these leave a mandate out, to pair
            cite = cite | (found(_INVOICE_PREFILTER) & found(_CREDIT_OR_OUT_PREFILTER))
        candidate = pl.col("_label_candidate") | pl.col("_header_candidate") | cite.fill_null(False)
        # a row without amount, or without supplier nor SIRET, may be a page's layout (`_layout_kind`)
        # or a count (`_count_label`): its cells are kept (equality tests, no regex over every line)
        blank = [(pl.col(f).fill_null("").str.strip_chars() == "") for f in ("_amount", "_supplier_name", "_siret")
                 if f in df.columns]
        if len(blank) == 3:
            candidate = candidate | blank[0] | (blank[1] & blank[2])
        text = pl.concat_str([pl.col(c) for c in cell_cols], separator=table.delim) if cell_cols else pl.col("_raw")
        df = df.with_columns(pl.when(candidate).then(text).alias("_raw")).drop(cell_cols)
        df, facts = _decide(df, cols, header, where, options, delimited, table.delim, ids, credits)
        ids_frame = ids.result()
    if facts.pop("_vat_rate", False):  # the « TVA » column is a rate: HT + HT × rate, and said
        column_notes = [n for n in column_notes if not n.endswith(_VAT_NOTE_END)] + [
            f"{where} : pas de colonne TTC, et la colonne « {header[cols['amount_vat']].strip()} » donne un taux de "
            f"TVA, pas un montant : montant payé = « {header[cols['amount']].strip()} » × (1 + taux) (HT + TVA "
            f"calculée au taux de la ligne, arrondie au centime) ; si ce n'est pas le bon, nommez la colonne de "
            f"montant dans achats.toml ([colonnes] montant = …)"]
    if (doubt := facts.pop("_vat_doubt", None)) is not None:
        vat_head = header[cols["amount_vat"]].strip()
        column_notes.append(
            f"{where} : À VÉRIFIER : chaque valeur de la colonne « {vat_head} » est un taux français mais pourrait "
            f"aussi être la TVA en euros de sa ligne (au plus 20 % du HT, comme sur une facture à plusieurs taux "
            f"ou en partie exonérée) : lue comme des taux, ces lignes comptent {_cents_text(doubt[0])} ; lue comme des euros, elles "
            f"compteraient {_cents_text(doubt[1])}. Si ce sont des montants en euros, écrivez dans achats.toml "
            f"[colonnes] montant_tva = \"{vat_head}\"")
    column_notes += facts.pop("_state_notes", [])
    facts["column_note"] = "\n".join(column_notes) or None
    facts["receipts"] = receipt_evidence(display, table.sheet, header, cols)
    # what the chosen date column dates (payment, mandate…): a mandate dated otherwise in two
    # exports needs a date of each kind (`_redated_payments`)
    facts["date_stage"] = _date_stage(header_key(header[cols["date"]])) if "date" in cols else None
    assert ids_frame.height == df.height  # _decide keeps every row, in order
    return pl.concat([df, ids_frame], how="horizontal"), facts


def _with_line_ids(df: pl.DataFrame, display: str, sheet: str | None, cell_cols: list[str],
                   delim: str | None) -> pl.DataFrame:
    """`_occurrence` (rank among identical rows of the sheet, computed on those rows only) and
    `line_id`, from the row's text (or its cells joined by the delimiter: the same text)."""
    key = pl.struct(cell_cols) if cell_cols else pl.col("_raw")
    df = df.with_columns(pl.lit(0, pl.Int64).alias("_occurrence"))
    ids = _line_ids(df, display, sheet, cell_cols, delim)
    # the ids of rank 0 are a hash of the text: rows whose id repeats are the only ones that may
    # repeat, and the exact text decides; repeated rows are hashed again with their rank
    repeated = _repeated(ids)
    if repeated.any():
        idx = repeated.arg_true()
        ranks = df.select(key.alias("k")).to_series().gather(idx).to_frame("k").select(
            pl.int_range(pl.len()).over("k").cast(pl.Int64).alias("r"))["r"]
        df = df.with_columns(df["_occurrence"].scatter(idx, ranks))
        again = idx.filter(ranks > 0)
        if not again.is_empty():
            ids = ids.scatter(again, _line_ids(df[again], display, sheet, cell_cols, delim))
    return df.with_columns(ids.alias("line_id"))


def _repeated(values: pl.Series) -> pl.Series:
    """Candidates for `is_duplicated()`, through a sort of 64-bit hashes (several times faster on
    millions of strings): every repeated value, and the rare values whose hash another shares
    (the exact comparison that follows leaves those at rank 0)."""
    hashes = values.hash(seed=3)
    ordered = hashes.sort()
    shared = ordered.filter(ordered == ordered.shift(1))
    if shared.is_empty():
        return pl.repeat(False, values.len(), dtype=pl.Boolean, eager=True)
    return hashes.is_in(shared.unique())


# words a total label starts with: a cheap first filter before _TOTAL_STRONG_WHOLE
_TOTAL_WORDS = r"(?:sous|s/|total|grand|cumul|report|[aà] reporter|montant total|somme)"
_LABEL_START = rf"(?i)^\s*{_TOTAL_WORDS}"


def _label_prefilter(delim: str) -> str:
    """A cell that starts with a total word, anywhere in the row's text."""
    return rf"(?i)(?:^|{re.escape(delim)})\s*\"?\s*{_TOTAL_WORDS}"


def _regular(body: pl.DataFrame, width: int, delim: str, data: bytes | None) -> bool:
    """No quote anywhere and every row with exactly the header's fields: the usual export."""
    if data is None or body.is_empty() or b'"' in data:
        return False
    return bool((body["_raw"].str.count_matches(delim, literal=True) + 1 == width).all())


def _native_read(data: bytes, delim: str, width: int, header_line: int) -> pl.DataFrame | None:
    """Every line after the header, as `width` text columns (a blank line is a row of NULLs);
    None when a line has more fields."""
    try:
        return pl.read_csv(data, has_header=False, separator=delim, quote_char=None, skip_rows=header_line,
                           schema={f"column_{i + 1}": pl.String for i in range(width)}, infer_schema=False,
                           raise_if_empty=False)
    except (pl.exceptions.PolarsError, ValueError):
        return None


def _native_whole(table: CellTable, h: int, cols: dict[str, int], width: int) -> pl.DataFrame | None:
    """A large quote-free file read once by polars: regular when no line has more fields than the
    header (polars refuses it) and the data part holds exactly width − 1 delimiters per row (so no
    line has fewer, and none is blank). Then row i is the line right after the header plus i, as
    `_regular` and `_native_columns` would have found. None otherwise."""
    assert table.delim is not None and table.data is not None
    header_line = int(table.frame["_line"][h])
    data = table.data
    start = 0
    for _ in range(header_line):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None
    native = _native_read(data, table.delim, width, header_line) if width >= 2 else None
    if native is None or native.is_empty() or \
            data.count(table.delim.encode(), start) != (width - 1) * native.height:
        return None
    n = native.height
    meta = pl.DataFrame({"source_row": pl.int_range(1, n + 1, dtype=pl.Int64, eager=True),
                         "_line": pl.int_range(header_line + 1, header_line + n + 1, dtype=pl.Int64, eager=True)})
    table.frame = pl.DataFrame()
    return _native_columns(meta, cols, width, table.delim, data, header_line, native)


def _after_amount_index(cols: dict[str, int], width: int, delim: str | None) -> int | None:
    """In a comma-separated file, the field after the amount: where the cents of an unquoted
    `3000,50` land when the row's last (empty) field was left out, so that the count is right."""
    if delim != "," or "amount" not in cols or cols["amount"] + 1 >= width:
        return None
    return cols["amount"] + 1


def _split_shape(amount: pl.Expr, after: pl.Expr) -> pl.Expr:
    """The field after the amount when the pair reads as one split amount (digits, then one or two
    digits), else NULL."""
    return pl.when(amount.str.contains(r"^[+-]?[0-9]+$") & after.str.contains(r"^[0-9]{1,2}$")).then(after)


def _native_columns(meta: pl.DataFrame, cols: dict[str, int], width: int, delim: str, data: bytes,
                    header_line: int, native: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """Polars' own multi-threaded CSV reader splits a regular file; rows are matched to lines by
    position. Every cell is kept as `_c{i}` (stripped): the row's identity and its labels are read
    from them, so the lines' text need not be kept. None when the reader disagrees."""
    native = native if native is not None else _native_read(data, delim, width, header_line)
    if native is None:
        return None
    positions = meta["_line"] - header_line - 1
    if native.height <= positions.max():
        return None
    if positions[0] == 0 and positions[-1] == meta.height - 1:  # no blank line: rows are lines
        native = native.head(meta.height)
    else:
        native = native[positions.cast(pl.UInt32)]
    cells = native.rename({f"column_{i + 1}": f"_c{i}" for i in range(width)})
    del native
    # which columns have padded cells (strip and compare: cheaper than a regex), the columns checked
    # in parallel, each stripped copy dropped at once; only padded columns are stripped for good
    padded = cells.select((pl.col(c).str.strip_chars() != pl.col(c)).any() for c in cells.columns).row(0)
    cells = cells.with_columns((pl.col(c).str.strip_chars() if pad else pl.col(c)).fill_null("")
                               for c, pad in zip(cells.columns, padded, strict=True))
    out = pl.concat([meta.select("source_row", pl.col("_line").alias("source_line")), cells], how="horizontal")
    after = _after_amount_index(cols, width, delim)
    return out.with_columns(
        (_split_shape(pl.col(f"_c{cols['amount']}"), pl.col(f"_c{after}")) if after is not None
         else pl.lit(None, pl.String)).alias("_after_amount"),
        pl.lit(width, pl.Int64).alias("_n_fields"), pl.lit(False).alias("_extra_filled"),
        pl.all_horizontal([pl.col(f"_c{i}") == "" for i in range(width)]).alias("_blank"),
        pl.col("_c0").alias("_first"),
        *[(pl.col(f"_c{cols[name]}") if name in cols else pl.lit("")).alias(f"_{name}") for name in ALIASES],
    )


def _delimited_columns(body: pl.DataFrame, cols: dict[str, int], width: int, delim: str) -> pl.DataFrame:
    """Fields of a delimited file: lines without a quote are split on the delimiter itself (no
    regex, no lists); quoted lines go through the field regex. Only mapped columns are kept."""
    after = _after_amount_index(cols, width, delim)
    wanted = sorted(set(cols.values()) | {0} | ({after} if after is not None else set()))
    quoted = pl.col("_raw").str.contains('"', literal=True)
    plain = body.filter(~quoted)
    parts = pl.col("_raw").str.splitn(delim, width + 1)
    field = (lambda i: parts.struct.field(f"field_{i}").str.strip_chars().fill_null(""))  # noqa: E731
    plain = plain.select(
        "source_row", pl.col("_line").alias("source_line"), "_raw",
        (_split_shape(field(cols["amount"]), field(after)) if after is not None else pl.lit(None, pl.String))
        .alias("_after_amount"),
        (pl.col("_raw").str.count_matches(delim, literal=True) + 1).cast(pl.Int64).alias("_n_fields"),
        (parts.struct.field(f"field_{width}").str.replace_all(re.escape(delim), "").str.strip_chars() != "")
        .fill_null(False).alias("_extra_filled"),
        *[parts.struct.field(f"field_{i}").str.strip_chars().fill_null("").alias(f"_c{i}") for i in wanted])
    tricky = body.filter(quoted)
    if tricky.height:
        unquote = (pl.element().str.slice(1).str.replace(r'^"((?s).*)"$', "$1").str.replace_all('""', '"')
                   .str.strip_chars())
        tricky = tricky.with_columns((pl.lit(delim) + pl.col("_raw")).str.extract_all(_fields_regex(delim))
                                     .alias("_quoted"))
        tricky = tricky.with_columns(pl.col("_quoted").list.eval(unquote).alias("_cells"))
        # the amount as written, quotes included: a quoted "3000" is no split amount
        raw_cell = (lambda i: pl.col("_quoted").list.get(i, null_on_oob=True).str.slice(1).str.strip_chars()  # noqa: E731
                    .fill_null(""))
        tricky = tricky.select(
            "source_row", pl.col("_line").alias("source_line"), "_raw",
            (_split_shape(raw_cell(cols["amount"]), raw_cell(after)) if after is not None
             else pl.lit(None, pl.String)).alias("_after_amount"),
            pl.col("_cells").list.len().cast(pl.Int64).alias("_n_fields"),
            (pl.col("_cells").list.slice(width).list.join("") != "").fill_null(False).alias("_extra_filled"),
            *[pl.col("_cells").list.get(i, null_on_oob=True).fill_null("").alias(f"_c{i}") for i in wanted])
        plain = pl.concat([plain, tricky]).sort("source_row")
    blank = pl.col("_raw").str.replace_all(f'[{re.escape(delim)}"\\s]', "") == ""
    return plain.with_columns(
        blank.alias("_blank"), pl.col("_c0").alias("_first"),
        *[(pl.col(f"_c{cols[name]}") if name in cols else pl.lit("")).alias(f"_{name}") for name in ALIASES],
    ).drop([f"_c{i}" for i in wanted])


def _cells_to_columns(body: pl.DataFrame, cols: dict[str, int], width: int) -> pl.DataFrame:
    """Fields of a spreadsheet (or of a file the csv module split): lists of cells."""
    body = body.with_columns(pl.col("_cells").list.eval(pl.element().str.strip_chars()).alias("_stripped"))
    stripped = pl.col("_stripped")
    exprs = [
        pl.col("source_row"), pl.col("_line").alias("source_line"),
        pl.lit(None, pl.String).alias("_after_amount"),  # quoting unknown here: nothing to suspect
        pl.col("_cells").list.len().cast(pl.Int64).alias("_n_fields"),
        # non-empty fields past the header's width; trailing empty ones are separators a tool added
        (stripped.list.slice(width).list.join("") != "").fill_null(False).alias("_extra_filled"),
        (stripped.list.join("") == "").alias("_blank"),
        stripped.list.join("\x1f").alias("_raw"),
        stripped.list.get(0, null_on_oob=True).alias("_first"),
    ]
    for name in ALIASES:
        if name in cols:
            exprs.append(stripped.list.get(cols[name], null_on_oob=True).fill_null("").alias(f"_{name}"))
        else:
            exprs.append(pl.lit("").alias(f"_{name}"))
    return body.select(exprs)


_VAT_EXAMPLES = 3
_ID_SEPARATORS = r"[\s.\-/_\u00a0\u202f]"


def _luhn9_ok(siren: pl.Expr) -> pl.Expr:
    """Luhn's key of a 9-digit text, in polars (`identifiers.luhn_ok`); false for anything else."""
    total = pl.lit(0, pl.Int64)
    for i in range(9):
        d = siren.str.slice(i, 1).cast(pl.Int64, strict=False)
        total = total + (pl.when(d * 2 > 9).then(d * 2 - 9).otherwise(d * 2) if i % 2 else d)
    return (siren.str.contains(r"^[0-9]{9}$") & (total % 10 == 0)).fill_null(False)


def _vat_into_identifier(df: pl.DataFrame, cols: dict[str, int],
                         header: list[str], where: str) -> tuple[pl.DataFrame, list[str]]:
    """The identifier a line is matched with, when the file has a VAT-number column: the SIRET or
    SIREN column wins when its cell checks (it names the establishment paid), the VAT number
    fills in where that cell is empty or checks as nothing, and a French VAT number that names
    another SIREN than the SIRET is said, line by line. A foreign VAT number holds no SIREN: the
    line is matched by its name, and the file's note says so; a value that checks as nothing is
    kept as the identifier so that the line is flagged « identifiant invalide », as in a SIRET
    column."""
    vat_head = header[cols["vat_number"]].strip()
    has_siret = "siret" in cols
    if not has_siret:
        cols["siret"] = cols["vat_number"]  # messages name the column the identifier came from
    # the usual shapes (FR + 11 digits, 9 or 14 digits) are checked in polars; any other value once
    # in Python (`vat_identifier`, `clean_identifier`: Excel wrappers, labels, lost leading zeros)
    # each step is a column of its own: an expression used twice would be computed twice
    df = df.with_columns(pl.col("_vat_number").str.to_uppercase().str.replace_all(_ID_SEPARATORS, "").alias("_vat_c"))
    df = df.with_columns(pl.col("_vat_c").str.contains(r"^FR[0-9]{11}$").alias("_fr"),
                         pl.col("_vat_c").str.slice(4, 9).alias("_fr_siren"))
    fr_ok = pl.col("_fr") & (pl.col("_vat_c").str.slice(2, 2).cast(pl.Int64, strict=False)
                             == (12 + 3 * (pl.col("_fr_siren").cast(pl.Int64, strict=False) % 97)) % 97) \
        & _luhn9_ok(pl.col("_fr_siren"))
    df = df.with_columns(fr_ok.fill_null(False).alias("_fr_ok"))
    df = df.with_columns(
        pl.when(pl.col("_vat_number") == "").then(pl.lit("")).when(pl.col("_fr_ok")).then(pl.lit("siren"))
        .when(pl.col("_fr")).then(pl.lit("invalid")).alias("_vat_kind"),
        pl.when(pl.col("_fr_ok")).then(pl.col("_fr_siren")).alias("_vat_siren")).drop("_vat_c", "_fr", "_fr_siren",
                                                                                       "_fr_ok")
    odd = df.filter(pl.col("_vat_kind").is_null())["_vat_number"].unique().to_list()
    if odd:
        kinds = pl.DataFrame({"_vat_number": odd, "_k": [vat_identifier(v)[0] for v in odd],
                              "_s": [vat_identifier(v)[1] for v in odd]}, schema={"_vat_number": pl.String,
                                                                                  "_k": pl.String, "_s": pl.String})
        df = df.join(kinds, on="_vat_number", how="left", maintain_order="left").with_columns(
            pl.coalesce("_vat_kind", "_k").alias("_vat_kind"), pl.coalesce("_vat_siren", "_s").alias("_vat_siren")
        ).drop("_k", "_s")
    if has_siret:
        df = df.with_columns(pl.col("_siret").str.replace_all(_ID_SEPARATORS, "").alias("_sd"))
        df = df.with_columns(pl.col("_sd").str.slice(0, 9).alias("_head"),
                             pl.col("_sd").str.contains(r"^(?:[0-9]{9}|[0-9]{14})$").alias("_shape"))
        df = df.with_columns((pl.col("_shape") & (pl.col("_head") != "000000000") & _luhn9_ok(pl.col("_head")))
                             .alias("_plain"))
        df = df.with_columns(pl.when(pl.col("_plain")).then(pl.col("_head")).alias("_own_siren"),
                             (pl.col("_plain") | (pl.col("_siret") == "")).alias("_own_done")) \
            .drop("_sd", "_head", "_shape", "_plain")
        odd = df.filter(~pl.col("_own_done"))["_siret"].unique().to_list()
        if odd:
            own = pl.DataFrame({"_siret": odd, "_o": [(lambda t: t[1] or (t[0][:9] if t[0] else None))(
                clean_identifier(v)) for v in odd]}, schema={"_siret": pl.String, "_o": pl.String})
            df = df.join(own, on="_siret", how="left", maintain_order="left").with_columns(
                pl.coalesce("_own_siren", "_o").alias("_own_siren")).drop("_o")
        df = df.drop("_own_done")
    else:
        df = df.with_columns(pl.lit(None, pl.String).alias("_own_siren"))
    use_vat = pl.col("_own_siren").is_null() & (
        pl.col("_vat_kind").is_in(["siren"]) | ((pl.col("_siret") == "") & (pl.col("_vat_kind") == "invalid")))
    notes: list[str] = []

    def listed(rows: pl.DataFrame, shown: str) -> str:
        parts = [f"ligne {r['source_line']} : « {r[shown]} »" for r in rows.head(_VAT_EXAMPLES).iter_rows(named=True)]
        more = f", et {rows.height - _VAT_EXAMPLES} autre(s)" if rows.height > _VAT_EXAMPLES else ""
        return "; ".join(parts) + more

    data = pl.col("_blank").not_()
    foreign = df.filter(data & (pl.col("_vat_kind") == "foreign") & pl.col("_own_siren").is_null())
    if foreign.height:
        notes.append(f"{where} : {foreign.height} ligne(s) ont dans la colonne « {vat_head} » un numéro de TVA "
                     f"étranger ({listed(foreign, '_vat_number')}) : il ne contient pas de SIREN, le fournisseur "
                     f"n'est rapproché que par son nom")
    words = df.filter(data & (pl.col("_vat_kind") == "text") & pl.col("_own_siren").is_null())
    if words.height:
        notes.append(f"{where} : {words.height} ligne(s) n'ont pas de numéro de TVA lisible dans la colonne "
                     f"« {vat_head} » ({listed(words, '_vat_number')}) : le fournisseur n'est rapproché que par son nom")
    if has_siret:
        siret_head = header[cols["siret"]].strip()
        both = df.filter(data & pl.col("_own_siren").is_not_null() & pl.col("_vat_siren").is_not_null()
                         & (pl.col("_own_siren") != pl.col("_vat_siren")))
        if both.height:
            shown = both.with_columns((pl.col("_siret") + " » / « " + pl.col("_vat_number")).alias("_pair"))
            notes.append(f"{where} : {both.height} ligne(s) où « {siret_head} » et « {vat_head} » désignent deux "
                         f"SIREN différents ({listed(shown, '_pair')}) : la ligne est rapprochée par « {siret_head} » ; "
                         f"vérifiez ces fournisseurs")
        fixed = df.filter(data & use_vat & (pl.col("_siret") != "") & (pl.col("_vat_kind") == "siren"))
        if fixed.height:
            notes.append(f"{where} : {fixed.height} ligne(s) dont « {siret_head} » ne se lit pas "
                         f"({listed(fixed, '_siret')}) sont rapprochées par le SIREN du numéro de TVA de « {vat_head} »")
    return df.with_columns(pl.when(use_vat).then(pl.col("_vat_number")).otherwise(pl.col("_siret")).alias("_siret")) \
        .drop("_vat_kind", "_vat_siren", "_own_siren"), notes


_TIME_PART = r"[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?.*$"
_DIGITS = r"[^0-9]"


def _date_expr(col: pl.Expr) -> pl.Expr:
    """Every accepted date format at once; a format that reads a two-digit year as year 24 is
    not taken (the next format reads it as 2024)."""
    t = col.str.replace(_TIME_PART, "")
    parsed = []
    for fmt in _DATE_FORMATS:
        d = t.str.strptime(pl.Date, fmt, strict=False)
        parsed.append(pl.when(d.dt.year() >= 1000).then(d))
    serial = pl.when(t.str.contains(r"^[0-9]{5}(?:\.0+)?$")).then(
        pl.lit(dt.date(1899, 12, 30)) + pl.duration(days=t.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)))
    return pl.coalesce(*parsed, serial.cast(pl.Date))


# a numeric date whose first two parts can each be a day or a month: 3/15/2024, 15.03.24
_NUMERIC_DATE = r"^([0-9]{1,2})([/.\-])([0-9]{1,2})([/.\-])([0-9]{2}|[0-9]{4})((?:[T ].*)?)$"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY_ONLY = r"(?:1[3-9]|2[0-9]|3[01])"  # a day that cannot be a month
_DAY_FIRST_PROOF = rf"^{_DAY_ONLY}[/.\-]{_MONTH}[/.\-](?:[0-9]{{2}}|[0-9]{{4}})(?:$|[T ])"
_MONTH_FIRST_PROOF = rf"^{_MONTH}[/.\-]{_DAY_ONLY}[/.\-](?:[0-9]{{2}}|[0-9]{{4}})(?:$|[T ])"
_AMBIGUOUS = rf"^({_MONTH})[/.\-]({_MONTH})[/.\-](?:[0-9]{{2}}|[0-9]{{4}})(?:$|[T ])"
_SWAP = "${3}${2}${1}${4}${5}${6}"


def _order_proofs(dates: pl.Series) -> pl.DataFrame:
    """Each numeric date cell beside whether it proves day-first (« 15/03 ») or month-first
    (« 03/15 »): the evidence every reader decides a file's day/month order from."""
    return dates.to_frame("d").with_columns(
        pl.col("d").str.contains(_DAY_FIRST_PROOF).alias("day"),
        pl.col("d").str.contains(_MONTH_FIRST_PROOF).alias("month"))


def _date_order(dates: pl.Series) -> tuple[pl.Series, pl.Series, tuple[str, str] | None]:
    """The sheet's day/month order, decided once from all its numeric dates, so that a
    month-first export is never read day-first: returns the cells rewritten day-first, the
    cells no order can be decided for, and the first proof of each order when both occur."""
    frame = _order_proofs(dates)
    day_first, month_first = frame["day"].any(), frame["month"].any()
    none = pl.repeat(False, dates.len(), dtype=pl.Boolean, eager=True)
    if not month_first:  # day-first proven, or no proof: the French order, as written
        return dates, none, None
    swapped = dates.str.replace(_NUMERIC_DATE, _SWAP)
    if not day_first:  # month-first proven and never contradicted: every numeric date swapped
        return swapped, none, None
    ambiguous = frame.select(pl.col("d").str.extract_groups(_AMBIGUOUS).struct.field("1", "2")
                             ).select((pl.col("1").cast(pl.Int32) != pl.col("2").cast(pl.Int32))
                                      .fill_null(False))["1"]
    proofs = (frame.filter("day")["d"][0], frame.filter("month")["d"][0])
    fixed = pl.select(pl.when(frame["month"]).then(swapped).when(ambiguous).then(pl.lit(""))
                      .otherwise(dates)).to_series()
    return fixed, ambiguous, proofs


def _date_column(dates: pl.Series) -> pl.Series:
    """The file's own date format, found on a sample, reads the whole column in one pass; only
    cells it cannot read go through every other format."""
    present = dates.filter(dates != "")
    if present.is_empty():
        return pl.Series(values=[None] * dates.len(), dtype=pl.Date)
    sample = present.head(2000).to_frame("d")
    best = max(_DATE_FORMATS, key=lambda f: sample.select(
        pl.col("d").str.replace(_TIME_PART, "").str.strptime(pl.Date, f, strict=False).dt.year()
        .is_between(1000, 9999).sum()).item())
    timed = dates.str.contains(":", literal=True).any()  # no time part to drop: no copy of the column
    day = pl.col("d").str.replace(_TIME_PART, "") if timed else pl.col("d")
    frame = dates.to_frame("d").with_columns(day.str.strptime(pl.Date, best, strict=False).alias("p"))
    frame = frame.with_columns(pl.when(pl.col("p").dt.year() >= 1000).then(pl.col("p")).alias("p"))
    missing = frame["p"].is_null() & (frame["d"] != "")
    if missing.any():
        idx = missing.arg_true()
        fixed = frame["d"].gather(idx).to_frame("d").select(_date_expr(pl.col("d")))["d"]
        frame = frame.with_columns(frame["p"].scatter(idx, fixed))
    return frame["p"]


def _cancellation_header(rows: list[list[str]], explicit: dict[str, str]) -> tuple[int | None, int | None]:
    """(header row, amount column) of a table of cancellations: no paid amount, but one column of
    the amount cancelled (« Montant annulé », « Montant des réductions ») beside a supplier or a
    SIRET. « Montant réduit » may be the amount after reduction: not taken."""
    for i, cells in enumerate(rows[:MAX_SCAN_ROWS]):
        mapping = map_headers(cells, explicit)
        if "amount" in mapping or not any(f in mapping for f in ("supplier_name", "siret", "vat_number")):
            continue
        keys = [header_key(c) for c in cells]
        cancel = [j for j in _cancelled_columns(keys, mapping) if not _ambiguous_cancel_header(keys[j])]
        if len(cancel) == 1:
            return i, cancel[0]
    return None, None


_CANCEL_NAME_CORE = frozenset({"annulation", "annulations", "annul", "reduction", "reductions", "reversement",
                               "reversements", "orv", "avoir", "avoirs"})
_CANCEL_NAME_WORDS = _CANCEL_NAME_CORE | {"mandat", "mandats", "mandatement", "paiement", "paiements", "depense",
                                          "depenses", "et", "sur", "ordre", "ordres"}


def _cancellation_name(name: str) -> bool:
    """A sheet or file named as a list of cancellations (« Annulations », « annulations_mandats_2024 »,
    « Réductions et ORV T2 »): once years, months and export words are set aside, only words of
    cancellation (and « mandats ») are left. « Mandats annulés » (mandates never paid) and
    « Mandats et annulations » (both) are not."""
    words = [w for w in header_key(name).split() if not w.isdigit() and w not in _NAME_FILLER]
    words = [w for w in (re.sub(r"^(?:(?:19|20)[0-9]{2}|[tsq][1-4])$", "", w) for w in words) if w]
    # « Reversements » alone is no list of credits: a commune pays out (reverses) subsidies, taxes,
    # participations to other bodies; only an « ordre de reversement » (ORV) claws money back
    core = set(words) & _CANCEL_NAME_CORE
    if core <= {"reversement", "reversements"} and not {"ordre", "ordres"} & set(words):
        return False
    return bool(words) and set(words) <= _CANCEL_NAME_WORDS and bool(core) \
        and "et" not in words[:1] and not ({"mandat", "mandats"} & set(words) and "et" in words)


def cancellation_evidence(display: str, sheet: str | None) -> str | None:
    """Why a whole sheet lists cancellations (its sheet's name, else its file's), or None."""
    if sheet is not None and _cancellation_name(sheet):
        return f"feuille « {sheet} »"
    if _cancellation_name(Path(display).stem):
        return f"fichier « {Path(display).name} »"
    return None


# what says a table repeats sums by supplier: a count column (« Nombre de mandats », « Nb »), a
# total amount (« Montant total », « Cumul »), or a title (« RÉCAPITULATIF PAR FOURNISSEUR »)
_RECAP_COUNT = re.compile(r"^(?:nombre|nb|nbre)\b")
_RECAP_AMOUNT = re.compile(r"\b(?:total|totaux|cumul|cumule|somme)\b")
_RECAP_TITLE = re.compile(r"\b(?:recapitulatif|recap|synthese|totaux|total|cumuls?)\b|\bpar\s+(?:fournisseurs?|tiers)\b")
# what says a table under the detail lists payments, not sums: a title of payments (« DÉPENSES
# PAYÉES PAR LA RÉGIE D'AVANCES ») that is no recap title, or a column a recap has not (« Objet »)
_PAYMENTS_TITLE = re.compile(r"\b(?:payes?|payees?|paiements?|depenses?|regies?|reglements?|factures?|mandats?)\b")
_DETAIL_COLUMN = re.compile(r"\b(?:objet|libelle|designation|intitule|motif|nature|description|detail|article|"
                            r"imputation|facture|reference|service)\b")
# a recap's paid amount beside its mandated amount (« Montant mandaté | Montant payé »)
_PAID_AMOUNT = re.compile(r"\b(?:paye|payes|payee|payees|regle|reglee|regles|reglees)\b")


def _split_raw(text: str | None, delim: str | None) -> list[str]:
    """A row's cells from its raw text (a CSV line, or a sheet's cells joined by \\x1f)."""
    if not text:
        return []
    return [c.strip() for c in (next(csv.reader([text], delimiter=delim)) if delim else text.split("\x1f"))]


def _field_columns(df: pl.DataFrame, cols: dict[str, int]) -> dict[int, str]:
    """Column position -> the frame's column of the header's field there."""
    return {cols[f]: f"_{f}" for f in cols if f"_{f}" in df.columns}


def _row_cells(r: dict, fields: dict[int, str], delim: str | None) -> list[str]:
    """A row's cells: from its raw text when kept, else (a row of the header's width, whose text
    is not kept) from the header's fields, other columns empty."""
    return _split_raw(r["_text"], delim) or [(r[fields[j]] or "").strip() if j in fields else ""
                                             for j in range(max(fields, default=-1) + 1)]


def _recap_headers(df: pl.DataFrame, cols: dict[str, int],
                   delim: str | None) -> dict[int, tuple[int, dict, str, bool]]:
    """Rows that head a table under the detail that may be a recap by supplier (« Fournisseur |
    SIRET | Nombre de mandats | Montant total »): a supplier or SIRET and an amount, but neither
    date nor n° of mandate where the file's header has one, no column a recap has not (« Objet »)
    and no title of payments (« DÉPENSES PAYÉES PAR LA RÉGIE »), which make a table of payments.
    source_row -> (line, its mapping over the row's own cells, wherever they sit, amount header,
    evidence: 2 a count column or a recap title, 1 a total amount (« Montant total »), 0 none, -1
    a table of payments; below 2 only rows that each repeat their supplier's sum make a recap,
    `_confirmed_recaps`)."""
    if not ({"date", "mandate_number"} & set(cols)):
        return {}
    fields = _field_columns(df, cols)
    cand = df.filter(pl.col("_cents").is_null() & ~pl.col("_blank")) \
        .select("source_row", "source_line", _row_text(df).alias("_text"), *fields.values())
    out: dict[int, tuple[int, dict, str]] = {}
    for r in cand.iter_rows(named=True):
        row, line, cells = r["source_row"], r["source_line"], _row_cells(r, fields, delim)
        if not any(cells) or any(_date_value(c) or _amount_value(c) for c in cells if c):
            continue
        mapping = map_headers(cells)
        if "amount" not in mapping or not ({"supplier_name", "siret"} & set(mapping)) \
                or {"date", "mandate_number", "date_other"} & set(mapping):
            continue
        keys = [header_key(c) for c in cells]
        paid = [j for j, k in enumerate(keys) if j != mapping["amount"] and k.startswith("montant")
                and _PAID_AMOUNT.search(k)]
        if len(paid) == 1 and not _PAID_AMOUNT.search(keys[mapping["amount"]]):
            mapping = {**mapping, "amount": paid[0]}  # the recap of paid sums beside mandated ones
        title = df.filter(pl.col("source_row") == row - 1).select(_row_text(df)).to_series().to_list()
        title_key = header_key(" ".join(_split_raw(title[0], delim))) if title else ""
        recap_title = bool(_RECAP_TITLE.search(title_key))
        payments = (_PAYMENTS_TITLE.search(title_key) and not recap_title) \
            or any(_DETAIL_COLUMN.search(k) for j, k in enumerate(keys) if j not in mapping.values())
        out[row] = (line, mapping, cells[mapping["amount"]],
                    -1 if payments else 2 if recap_title or any(_RECAP_COUNT.match(k) for k in keys)
                    else 1 if _RECAP_AMOUNT.search(keys[mapping["amount"]]) else 0)
    return out


def _confirmed_recaps(df: pl.DataFrame, recaps: dict[int, tuple[int, dict, str, int]], where: str,
                      cols: dict[str, int], header: list[str], fmt: amounts.NumberFormat,
                      delim: str | None) -> dict[int, tuple[int, dict, str, int]]:
    """The recaps kept: a count column or a recap title, else rows that each repeat their
    supplier's sum above (one at least under « Montant total », two without it), none that does
    not. A table not kept lists payments: read by `_second_headers` when its columns sit under the
    first header's, else the run stops naming its line (read with the first header's meaning, its
    amounts would be lost and its rows quarantined with wrong reasons)."""
    weak = [h for h, v in recaps.items() if v[3] < 2]
    if not weak:
        return recaps
    probe = pl.DataFrame(schema={"source_row": pl.Int64, "_status": pl.String, "_kind": pl.String,
                                 "_reason": pl.String, "_amount_usable": pl.Boolean})
    tried = {h: v for h, v in recaps.items() if v[3] >= 0}
    kinds = dict(zip(*(_recap_rows(df, probe, tried, where, cols, fmt, delim)[0]
                       .select("source_row", "_kind").get_columns()), strict=True)) if tried else {}
    starts = sorted(recaps)
    kept = {}
    for k, head in enumerate(starts):
        line, mapping, _, level = recaps[head]
        end = starts[k + 1] if k + 1 < len(starts) else df.height + 1
        block = [kind for row, kind in kinds.items() if head < row < end]
        if level == 2 or (level >= 0 and "data" not in block and block.count("total") >= (1 if level else 2)):
            kept[head] = recaps[head]
            continue
        moved = [f for f in ("supplier_name", "siret", "amount") if f in mapping and mapping[f] != cols.get(f)]
        if moved:
            cells = _row_cells(df.filter(pl.col("source_row") == head).select(
                _row_text(df).alias("_text"), *_field_columns(df, cols).values()).row(0, named=True),
                _field_columns(df, cols), delim)
            shown = " | ".join(c for c in cells if c)
            raise InputError(f"{where}, ligne {line} : un second tableau commence, avec son propre en-tête "
                             f"(« {shown} »), dont les colonnes ne sont pas à la place de celles de l'en-tête du "
                             f"fichier ({', '.join(header[cols[f]].strip() for f in cols if f in moved)}) ; "
                             f"ce n'est pas un récapitulatif par fournisseur (ni titre de récapitulatif ni "
                             f"colonne de nombre, et ses lignes ne répètent pas chacune la somme de leur "
                             f"fournisseur au-dessus) : ses lignes seraient lues avec le sens des colonnes du "
                             f"premier tableau ; mettez ce second tableau dans un autre fichier ou une autre "
                             f"feuille")
    return kept


def _recap_rows(df: pl.DataFrame, rows: pl.DataFrame, recaps: dict[int, tuple[int, dict, str, int]], where: str,
                cols: dict[str, int], fmt: amounts.NumberFormat,
                delim: str | None) -> tuple[pl.DataFrame, list[str]]:
    """The rows under a recap header (`_recap_headers`), up to a blank row: a total row when its
    amount is the sum of the supplier's accepted lines above (same SIRET, else same SIREN, else
    same name), outside the quarantine share; else a quarantined line with both amounts. The
    recap header is a header row. Returns `rows` (`_python_pass`) so amended, and the notes."""
    decided = dict(zip(rows["source_row"].to_list(), rows["_status"].to_list(), strict=True))
    fields = _field_columns(df, cols)
    few = df.select("source_row", "source_line", "_blank", "_cents", "_siret", "_supplier_name",
                    _row_text(df).alias("_text"), *(set(fields.values()) - {"_siret", "_supplier_name"}))
    changes: dict[int, tuple[str, str, str]] = {}
    notes: list[str] = []
    starts = sorted(recaps)
    for k, head in enumerate(starts):
        line, mapping, label, _ = recaps[head]
        changes[head] = ("quarantined", "header", f"{where}, ligne {line} : en-tête d'un récapitulatif par fournisseur "
                                                  f"(sommes par fournisseur des lignes au-dessus)")
        detail = few.filter((pl.col("source_row") < head) & ~pl.col("_blank") & pl.col("_cents").is_not_null())
        sums: dict[tuple[str, str], list[int]] = {}
        spelled: list[tuple[str, int]] = []  # (name, cents) of each accepted line, for a name written otherwise
        grand = 0
        for row, cents, siret, name in detail.select("source_row", "_cents", "_siret", "_supplier_name").iter_rows():
            if decided.get(row, "ok") != "ok":
                continue
            grand += cents
            spelled.append((header_key(name or ""), cents))
            digits = re.sub(r"[^0-9]", "", siret or "")
            for key in (("siret", digits) if len(digits) == 14 else None, ("siren", digits[:9]) if len(digits) in (9, 14)
                        else None, ("name", header_key(name or ""))):
                if key and key[1]:
                    sums.setdefault(key, [0, 0])
                    sums[key][0] += cents
                    sums[key][1] += 1
        below = few.filter(pl.col("source_row") > head)
        if k + 1 < len(starts):
            below = below.filter(pl.col("source_row") < starts[k + 1])
        totals = mismatched = 0
        for r in below.iter_rows(named=True):
            row, rline = r["source_row"], r["source_line"]
            if r["_blank"]:
                break
            cells = _row_cells(r, fields, delim)
            cell = {f: (cells[j] if j < len(cells) else "") for f, j in mapping.items()}
            digits = re.sub(r"[^0-9]", "", cell.get("siret", ""))
            name = cell.get("supplier_name", "")
            parsed = amounts.parse_columns(pl.DataFrame({"a": [cell["amount"]]}), "a", fmt)["_cents"][0]
            if parsed is None and delim is None:  # a sheet's native number
                try:
                    parsed = int((Decimal(cell["amount"]) * 100).to_integral_value(ROUND_HALF_UP))
                except ArithmeticError:
                    parsed = None
            if parsed is not None and not digits and _LABEL_START_RE.match(name):
                if parsed == grand:  # the recap's « TOTAL GÉNÉRAL »: the sum of every line above
                    totals += 1
                    changes[row] = ("quarantined", "total", (
                        f"{where}, ligne {rline} : total d'un récapitulatif par fournisseur ({_cents_text(parsed)}), "
                        f"égal à la somme des lignes acceptées au-dessus : ligne de total, hors totaux"))
                continue  # otherwise left to the other rules
            if parsed is None or not (name or digits):
                continue  # not a supplier's sum: left to the other rules
            key = ("siret", digits) if len(digits) == 14 else ("siren", digits) if len(digits) == 9 \
                else ("name", header_key(name))
            found, n = sums.get(key, (None, 0))
            who = f"SIRET {digits}" if len(digits) == 14 else f"SIREN {digits}" if len(digits) == 9 else "même nom"
            if found != parsed and len(digits) == 14:  # same SIRET, else same SIREN: two establishments paid
                alt, m = sums.get(("siren", digits[:9]), (None, 0))
                if alt == parsed:
                    found, n, who = alt, m, f"même SIREN {digits[:9]}"
            if found != parsed and not digits and header_key(name):  # the detail spells the name otherwise
                near = [c for other, c in spelled if _same_payee_possible(None, header_key(name), None, other)]
                if near and sum(near) == parsed:
                    found, n, who = parsed, len(near), "même fournisseur, nom écrit autrement"
            if found == parsed:
                totals += 1
                changes[row] = ("quarantined", "total", (
                    f"{where}, ligne {rline} : ligne d'un récapitulatif par fournisseur : son montant "
                    f"({_cents_text(parsed)}) est la somme des {n} ligne(s) acceptée(s) de ce fournisseur au-dessus "
                    f"({who}) : ligne de total, hors totaux"))
            else:
                mismatched += 1
                changes[row] = ("quarantined", "data", (
                    f"{where}, ligne {rline}, champ « {label} » : ligne "
                    f"d'un récapitulatif par fournisseur dont le montant ({_cents_text(parsed)}) n'est pas la somme "
                    f"des lignes acceptées de ce fournisseur au-dessus ({who} : "
                    f"{_cents_text(found) if found is not None else 'aucune ligne'}) : ni paiement ni total vérifié"))
        notes.append(f"{where}, ligne {line} : récapitulatif par fournisseur sous le détail : {totals} ligne(s) égale(s) "
                     f"à la somme de leur fournisseur (lignes de total, hors totaux)"
                     + (f", {mismatched} ligne(s) dont la somme diffère, en quarantaine avec les deux montants"
                        if mismatched else ""))
    fix = pl.DataFrame([{"source_row": r, "_s": a, "_k": b, "_r": c} for r, (a, b, c) in changes.items()],
                       schema={"source_row": pl.Int64, "_s": pl.String, "_k": pl.String, "_r": pl.String})
    missing = fix.filter(~pl.col("source_row").is_in(rows["source_row"].implode())).select("source_row")
    rows = pl.concat([rows, missing], how="diagonal_relaxed") if not missing.is_empty() else rows
    rows = rows.join(fix, on="source_row", how="left").with_columns(
        pl.coalesce("_s", "_status").alias("_status"), pl.coalesce("_k", "_kind").alias("_kind"),
        pl.coalesce("_r", "_reason").alias("_reason"),
        pl.when(pl.col("_k").is_not_null()).then(pl.lit(False)).otherwise(pl.col("_amount_usable"))
        .alias("_amount_usable")).drop("_s", "_k", "_r")
    return rows, notes


def _second_headers(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
                    skip: frozenset[int] = frozenset()) -> dict[int, tuple]:
    """Rows that are a header of their own, other than the table's (a second table below the
    first: « ANNULATIONS » headed « … Montant annulé »): source_row -> (line, header cells, whether
    its amount is a cancellation). Its fields must sit in the first header's columns, else the
    run stops naming the line: read with the first header's meaning, its lines would be wrong."""
    if "amount" not in cols:
        return {}
    fields = [f for f in cols if f in ALIASES and cols[f] < len(header)]
    # the few rows without an amount first: the text test is not run over every line
    cand = df.filter(pl.col("_cents").is_null()).filter(pl.col("_amount").str.contains(r"[^\W\d_]{3}"))
    out: dict[int, tuple] = {}
    for r in cand.select("source_row", "source_line", *[f"_{f}" for f in fields]).iter_rows(named=True):
        if r["source_row"] in skip:  # a recap by supplier (`_recap_headers`), no table of lines
            continue
        cells = [""] * len(header)
        for f in fields:
            cells[cols[f]] = (r[f"_{f}"] or "").strip()
        if any(_date_value(c) or _amount_value(c) for c in cells if c) or \
                all(header_key(cells[cols[f]]) == header_key(header[cols[f]]) for f in fields):
            continue  # a data row, or the same header repeated (`_repeated_parts`)
        mapping = map_headers(cells)
        keys = [header_key(c) for c in cells]
        cancel = [] if "amount" in mapping else \
            [j for j in _cancelled_columns(keys, mapping) if not _ambiguous_cancel_header(keys[j])]
        amount_at = mapping.get("amount", cancel[0] if len(cancel) == 1 else None)
        if amount_at is None or not any(f in mapping for f in ("supplier_name", "siret", "vat_number")):
            continue
        moved = [f for f in ("supplier_name", "siret", "date", "mandate_number") if f in mapping
                 and mapping[f] != cols.get(f)]
        if amount_at != cols["amount"] or moved:
            shown = " | ".join(c for c in cells if c)
            raise InputError(f"{where}, ligne {r['source_line']} : un second tableau commence, avec son propre "
                             f"en-tête (« {shown} »), dont les colonnes ne sont pas à la place de celles de "
                             f"l'en-tête du fichier : ses lignes seraient lues avec le sens des colonnes du premier "
                             f"tableau ; mettez ce second tableau dans un autre fichier ou une autre feuille")
        out[r["source_row"]] = (r["source_line"], cells[amount_at], "amount" not in mapping)
    return out


def _second_header_reasons(df: pl.DataFrame, heads: dict[int, tuple]) -> pl.Expr:
    """The reason of each second header row, and of the title right above it (« ANNULATIONS ET
    RÉDUCTIONS »: no amount, supplier, SIRET or date), both header rows, not payments."""
    reasons = {row: f"en-tête d'un second tableau (montant « {amount} »)" for row, (_, amount, _) in heads.items()}
    if heads:
        above = df.filter(pl.col("source_row").is_in([row - 1 for row in heads]) & ~pl.col("_blank")
                          & pl.all_horizontal([pl.col(f"_{f}").str.strip_chars() == ""
                                               for f in ("amount", "supplier_name", "siret", "date")]))
        reasons.update({row: "titre d'un second tableau, au-dessus de son en-tête" for row in above["source_row"]})
    return pl.col("source_row").replace_strict(reasons, default=None, return_dtype=pl.String) if reasons \
        else pl.lit(None, pl.String)


# a second table's title that lists mandates cancelled or rejected before payment (« MANDATS
# ANNULÉS (non payés) », « Mandats rejetés »), not credits on paid mandates (« ANNULATIONS ET
# RÉDUCTIONS »): the same reading as a file's name (`_cancellation_name`)
_NEVER_PAID_TITLE = re.compile(r"\b(?:non|jamais|pas)\s+(?:encore\s+)?(?:payes?|payees?|regles?|reglees?|verses?)\b"
                               r"|\bmandats?\s+(?:annules?|rejetes?|supprimes?)\b")


def _mandate_no(text: str | None) -> str:
    """A mandate number as compared between two tables: « 0007 » is « 7 »."""
    t = (text or "").strip()
    return t.lstrip("0") or t if t.isdigit() else t.casefold()


def _siren_of(siret: str | None) -> str:
    """The SIREN of a SIRET or SIREN cell (its first 9 of 9 or 14 digits), else ''."""
    digits = re.sub(r"[^0-9]", "", siret or "")
    return digits[:9] if len(digits) in (9, 14) else ""


def _never_paid_rows(df: pl.DataFrame, heads: dict[int, tuple], cols: dict[str, int], header: list[str],
                     where: str) -> tuple[dict[int, tuple[str, str, str]], set[int], list[str], set[int]]:
    """The rows of a second table of cancellations that take nothing off: under a title that says
    its mandates were never paid, a row whose cited mandate is not among this table's paid lines
    (same n°, same exercice) or that cites none. Returns row -> (field, value, reason), the heads
    of such tables, and the notes; elsewhere a cited mandate missing from the file is only said
    (a reduction of a mandate paid in another export still reduces the spending). The fourth:
    the rows left out whose cited n° is absent from this file's paid lines, which another file of
    the same exercice may pay (`_never_paid_paid_elsewhere`)."""
    credit_heads = sorted(row for row, (_, _, credit) in heads.items() if credit)
    if not credit_heads:
        return {}, set(), [], set()
    starts = sorted(heads)
    section = pl.lit(None, pl.Int64)
    for k, row in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else None
        part = (pl.col("source_row") > row) & (pl.col("source_row") < end if end is not None else pl.lit(True))
        section = pl.when(part).then(pl.lit(row)).otherwise(section)
    who = [pl.col(c) if c in df.columns else pl.lit(None, pl.String).alias(c)
           for c in ("_siret", "_supplier_name", "_buying_entity")]
    few = df.select("source_row", "source_line", "_cents", "_blank", "_mandate_number", "_fy_text", "_amount",
                    *who, section.alias("_section"))
    # each budget of a shared export numbers its mandates from 1: an annexe's n° 7 is not the principal's
    budget_column = "buying_entity" in cols and "budget" in header_key(header[cols["buying_entity"]]).split()
    paid: dict[str, list[tuple[str, str, str, int, str | None]]] = {}
    for num, fy, siret, name, cents, budget in few.filter(
            ~pl.col("_section").is_in(credit_heads).fill_null(False) & ~pl.col("_blank")
            & (pl.col("_cents") > 0).fill_null(False) & ~pl.col("source_row").is_in(starts)) \
            .select("_mandate_number", "_fy_text", "_siret", "_supplier_name", "_cents", "_buying_entity").iter_rows():
        if _mandate_no(num):
            paid.setdefault(_mandate_no(num), []).append(((fy or "").strip(), _siren_of(siret),
                                                          header_key(name or ""), cents, budget))

    def same_budget(num: str, budget: str | None) -> list[tuple]:
        """The paid lines of n° `num` that may be of the row's budget (`_other_budget_cells`)."""
        return [p for p in paid.get(num, []) if not _other_budget_cells(p[4], budget, budget_column)]

    def found(num: str, fy: str, siret: str | None, name: str | None, cents: int | None,
              budget: str | None) -> str | None:
        """None when the cited mandate is among the paid lines: same n°, same budget, same exercice
        (compared only when both lines give one), same supplier (SIREN, else name, when both give
        one) and an amount not above that mandate's; else why not."""
        lines = [p for p in same_budget(num, budget) if not fy or not p[0] or p[0] == fy]
        year = (f", exercice {fy}" if fy else "") + (f", budget « {budget.strip()} »" if budget and budget.strip() else "")
        if not lines:
            return f"absent des mandats payés de ce fichier (même n°{year})"
        siren, key = _siren_of(siret), header_key(name or "")
        same = [p for p in lines if (p[1] == siren if siren and p[1] else p[2] == key if key and p[2] else True)]
        if not same:
            return f"dont le n° est payé à un autre fournisseur dans ce fichier (même n°{year}) : pas ce mandat"
        if cents is not None and abs(cents) > sum(p[3] for p in same):
            return (f"dont le n° est payé à ce fournisseur dans ce fichier pour {_cents_text(sum(p[3] for p in same))}"
                    f" (même n°{year}), moins que le montant annulé : pas ce mandat")
        return None

    titles = df.filter(pl.col("source_row").is_in([row - 1 for row in credit_heads]) & ~pl.col("_blank")) \
        .select("source_row", _row_text(df).alias("_text"))
    said = {row + 1: m.group(0) for row, text in titles.iter_rows() if (m := _NEVER_PAID_TITLE.search(header_key(text)))}
    number_field = header[cols["mandate_number"]].strip() if "mandate_number" in cols else None
    out: dict[int, tuple[str, str, str]] = {}
    missing: dict[int, list[str]] = {}
    unlike: dict[int, list[str]] = {}  # a n° this file pays to another supplier, or for less
    absent: set[int] = set()
    for r in few.filter(pl.col("_section").is_in(credit_heads) & ~pl.col("_blank")
                        & pl.col("_cents").is_not_null()).iter_rows(named=True):
        num, fy = _mandate_no(r["_mandate_number"]), (r["_fy_text"] or "").strip()
        why = found(num, fy, r["_siret"], r["_supplier_name"], r["_cents"], r["_buying_entity"]) if num else None
        if num and why is None:
            continue
        if r["_section"] not in said:
            if num:
                (missing if why.startswith("absent") else unlike).setdefault(r["_section"], []).append(
                    f"ligne {r['source_line']} (n° « {num} »)")
            continue
        title = said[r["_section"]]
        if num:
            if not same_budget(num, r["_buying_entity"]):
                absent.add(r["source_row"])
            out[r["source_row"]] = ("mandate_number", r["_mandate_number"].strip(), (
                f"« {r['_mandate_number'].strip()} » : mandat annulé d'un second tableau titré « {title} », {why} "
                f": jamais payé, rien à "
                f"retrancher : ligne laissée hors de la dépense (row_kind = 'not_paid')"))
        else:
            out[r["source_row"]] = ("amount", (r["_amount"] or "").strip(), (
                f"mandat annulé d'un second tableau titré « {title} », sans n° de mandat qui le retrouve parmi les "
                f"mandats payés : jamais payé, rien à retrancher : ligne laissée hors de la dépense "
                f"(row_kind = 'not_paid')"))
    notes = []
    kept = few.filter(pl.col("source_row").is_in(list(out)))
    for head in sorted(said):
        lines = kept.filter(pl.col("_section") == head)["source_line"].to_list()
        shown = ", ".join(str(x) for x in lines[:10]) + (" …" if len(lines) > 10 else "")
        notes.append(f"{where}, ligne {heads[head][0]} : second tableau titré « {said[head]} » : des mandats annulés "
                     f"avant paiement, pas des annulations de mandats payés : seul un mandat cité trouvé parmi les "
                     f"paiements de ce fichier (même n°, même exercice, même fournisseur, montant non supérieur), "
                     f"ou, une fois tous les fichiers lus, d'un seul autre fichier du même exercice, est retranché"
                     + (f" ; {len(lines)} ligne(s) laissée(s) hors de la dépense, champ "
                        f"« {number_field or header[cols['amount']].strip()} » (row_kind = 'not_paid') : "
                        f"ligne(s) {shown}" if lines else ""))
    for head, rows in sorted(missing.items()):
        shown = ", ".join(rows[:5]) + (" …" if len(rows) > 5 else "")
        notes.append(f"{where}, champ « {number_field} » : {len(rows)} annulation(s) du second tableau de la ligne "
                     f"{heads[head][0]} citent un mandat absent des paiements de ce fichier ({shown}) : comptée(s) en "
                     f"négatif (réduction d'un mandat payé dans un autre export ?) ; si ces mandats n'ont jamais été "
                     f"payés, titrez ce tableau « Mandats annulés (non payés) » ; À VÉRIFIER")
    for head, rows in sorted(unlike.items()):
        shown = ", ".join(rows[:5]) + (" …" if len(rows) > 5 else "")
        notes.append(f"{where}, champ « {number_field} » : {len(rows)} annulation(s) du second tableau de la ligne "
                     f"{heads[head][0]} citent un n° que ce fichier paie à un autre fournisseur ou pour moins que le "
                     f"montant annulé ({shown}) : comptée(s) en négatif, mais ce n'est pas ce mandat ; À VÉRIFIER")
    return out, set(said), notes, absent


def _set_never_paid(df: pl.DataFrame, rows: dict[int, tuple[str, str, str]]) -> pl.DataFrame:
    """`_not_paid` (with its field and reason, `_not_paid_why`) on the rows `_never_paid_rows` keeps out."""
    if not rows:
        return df.with_columns(pl.lit(None, pl.String).alias("_not_paid_why"))
    at = pl.col("source_row")
    pick = {k: {row: v[k] for row, v in rows.items()} for k in range(3)}
    return df.with_columns(
        pl.when(at.is_in(list(rows))).then(at.replace_strict(pick[1], default=None, return_dtype=pl.String))
        .otherwise(pl.col("_not_paid")).alias("_not_paid"),
        pl.when(at.is_in(list(rows))).then(at.replace_strict(pick[0], default=None, return_dtype=pl.String))
        .otherwise(pl.col("_not_paid_field")).alias("_not_paid_field"),
        at.replace_strict(pick[2], default=None, return_dtype=pl.String).alias("_not_paid_why"))


def _credit_rows(df: pl.DataFrame, heads: dict[int, tuple], credits: str | None,
                 where: str, never_paid: set[int] = frozenset()) -> tuple[pl.Expr, list[str]]:
    """The rows read as credits (a cancellation counts negative whatever its written sign: a
    list of cancellations writes them positive), and the notes that say so in the run log."""
    notes = []
    if credits is not None:
        notes.append(f"{where} : lignes lues comme des annulations ({credits}) : chaque montant compte en négatif "
                     f"(crédit), quel que soit son signe écrit ; si ce sont des paiements, renommez la feuille, le "
                     f"fichier ou l'en-tête du montant")
    expr = pl.lit(credits is not None)
    starts = sorted(heads)
    for k, row in enumerate(starts):
        line, amount_header, credit = heads[row]
        part = pl.col("source_row") > row
        if k + 1 < len(starts):
            part = part & (pl.col("source_row") < starts[k + 1])
        if credit:
            expr = expr | part
        notes.append(f"{where}, ligne {line} : second tableau, avec son propre en-tête (montant « {amount_header} ») : "
                     + ("ses lignes sont des mandats annulés avant paiement" if row in never_paid
                        else "ses lignes sont des annulations, comptées en négatif (crédits)" if credit
                        else "ses lignes sont lues comme des paiements"))
    return expr, notes


def _decide(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
            options: ReadOptions, delimited: bool, delim: str | None = None,
            line_ids: Future | None = None, credits: str | None = None) -> tuple[pl.DataFrame, dict]:
    """Status and reason of every row, and the sheet's facts (number format, declared total).
    The line ids hashed meanwhile are waited for before the steps that hold most memory.
    `credits` says why the whole table lists cancellations (its lines count negative)."""
    second = next((f for f in ("amount_credit", "amount_vat") if f in cols), None)
    text_amounts = df.select(pl.col("_amount").filter(pl.col("_amount_num").is_null() & ~pl.col("_blank")))["_amount"]
    if second is not None:
        text_amounts = pl.concat([text_amounts, df.select(pl.col(f"_{second}").filter(
            pl.col("_amount2_num").is_null() & ~pl.col("_blank") & (pl.col(f"_{second}").str.strip_chars() != "")))
            .to_series().alias("_amount")])
    fmt = amounts.infer_format(text_amounts)
    if second == "amount_credit":  # a credit line: its amount is the credit cell's, made negative below
        swap = (pl.col("_amount").str.strip_chars() == "") & pl.col("_amount_num").is_null() & (
            (pl.col("_amount_credit").str.strip_chars() != "") | pl.col("_amount2_num").is_not_null())
        df = df.with_columns(swap.fill_null(False).alias("_credit_side")).with_columns(
            pl.when("_credit_side").then(pl.col("_amount_credit")).otherwise(pl.col("_amount")).alias("_amount"),
            pl.when("_credit_side").then(pl.col("_amount2_num")).otherwise(pl.col("_amount_num")).alias("_amount_num"),
            pl.when("_credit_side").then(None).otherwise(pl.col("_amount_credit")).alias("_amount_credit"),
            pl.when("_credit_side").then(None).otherwise(pl.col("_amount2_num")).alias("_amount2_num"))
    date_notes: list[str] = []
    fell_back: list[int] = []
    df = _unpaid_mandates(df, cols, header)  # before a blank payment date takes another date
    if "date_other" in cols:
        df = _fall_back_to_date(df, cols, header, where, date_notes, fell_back)
    df = _period_columns(df, cols)
    if "period" in cols:
        _note_period(df, cols, header, where, date_notes, _year_in_name(where))
    if "date" in cols:
        df = _month_only_dates(df, cols, header, where, date_notes)
    ordered, ambiguous, proofs = _date_order(df["_date"])
    issue = pl.lit(None, pl.String)
    if proofs is not None:
        issue = pl.when(ambiguous).then(pl.format(
            "date « {} » ambiguë : ce fichier écrit des dates jour/mois (« {} ») et mois/jour (« {} »), l'ordre "
            "du jour et du mois ne peut être décidé : ligne non comptée", pl.col("_date"), pl.lit(proofs[0]),
            pl.lit(proofs[1])))
    df = amounts.parse_columns(df, "_amount", fmt).with_columns(_date_column(ordered).alias("_date_parsed"),
                                                                issue.alias("_date_issue"))
    num = pl.col("_amount_num")
    num_ok = num.is_not_null() & num.is_finite() & (num.abs() < 1e15)
    if df["_amount_num"].null_count() < df.height:  # a spreadsheet's native numbers
        df = df.with_columns(
            pl.when(num_ok).then(_spreadsheet_cents(df["_amount_num"])).otherwise(pl.col("_cents")).alias("_cents"),
            pl.when(num_ok).then(num.abs().floor().cast(pl.Int64).cast(pl.String))
            .otherwise(pl.col("_int_digits")).alias("_int_digits"),
            pl.when(num_ok).then(num != num.floor()).otherwise(pl.col("_has_fraction")).alias("_has_fraction"),
            (pl.col("_too_long") | (num.is_not_null() & ~num_ok)).alias("_too_long"),
            pl.when(num.is_not_null()).then(num.cast(pl.String)).otherwise(pl.col("_amount")).alias("amount_raw"),
        )
    else:  # text cells only: the same values without rebuilding the columns
        df = df.with_columns(pl.col("_too_long").fill_null(False), pl.col("_amount").alias("amount_raw"))
    # « montant_tva » named in [colonnes]: the buyer says the column holds euros, never a rate
    vat_rate = second == "amount_vat" and "amount_vat" not in options.explicit and _vat_is_rate(df, fmt)
    vat_doubt = _vat_rate_doubt(df, fmt) if vat_rate else None
    cancelled = second == "amount_credit" and _cancelled_header(header_key(header[cols["amount_credit"]]))
    raw_cents = int(df["_cents"].fill_null(0).abs().sum()) if second is not None or "amount_cancel" in cols else 0
    zero_notes: list[str] = []
    if second is not None and not vat_rate:
        df = _compose_amount(df, second, fmt, cancelled)
    if vat_rate:
        df = _apply_vat_rate(df, fmt)
    if "amount_cancel" in cols and not vat_rate:  # a further part, once the amount is composed
        if "_credit_side" not in df.columns:
            df = df.with_columns(pl.lit(False).alias("_credit_side"))
        df = _compose_amount(df, "amount_cancel", fmt, True, num="_amount3_num", after=second)
        cancelled = True
    if cancelled and raw_cents and not (df["_cents"].fill_null(0) != 0).any():
        # every line reads 0 once its cancelled parts are taken off: more likely a net column taken
        # for a part than a file of cancelled mandates only; counted as read, and said loudly
        zero_notes.append(f"{where} : À VÉRIFIER : toutes les lignes valent 0 une fois les parts annulées ou "
                            f"réduites retranchées, alors que « {header[cols['amount']].strip()} » n'est pas nul ; "
                            f"si une de ces colonnes est le montant net, nommez-la dans achats.toml "
                            f"([colonnes] montant = …)")
    df = (df.with_columns(_cancel_issue(header, cols)).drop("_part_cents") if cancelled
          else df.with_columns(pl.lit(None, pl.String).alias("_amount_issue")))
    ceiling = int(options.max_line_amount_eur * 100)
    df = df.with_columns(
        (pl.col("_too_long") | (pl.col("_cents").abs() > ceiling)).fill_null(False).alias("_over"),
        *_identifier_shapes(df, cols, fmt),
        pl.col("_fiscal_year").str.replace(r"\.0+$", "").alias("_fy_text"),
    )
    recaps = _confirmed_recaps(df, _recap_headers(df, cols, delim), where, cols, header, fmt, delim)
    heads = _second_headers(df, cols, header, where, frozenset(recaps))
    credit_notes = []
    if credits is not None and credits.startswith(("feuille", "fichier")) and (df["_cents"] < 0).any():
        # named for cancellations, yet it writes some negative: its signs say which are credits
        credit_notes.append(f"{where} : nommé pour des annulations ({credits}) mais des montants y sont écrits en "
                            f"négatif : lu tel qu'écrit (les lignes positives comptent comme des paiements)")
        credits = None
    never_paid, unpaid_heads, unpaid_notes, absent = _never_paid_rows(df, heads, cols, header, where)
    credit_rows, notes = _credit_rows(df, heads, credits, where, unpaid_heads)
    credit_notes += notes + unpaid_notes
    credit_rows = credit_rows & ~pl.col("source_row").is_in(list(never_paid))
    df = df.with_columns(
        pl.when(credit_rows & (pl.col("_cents") > 0)).then(-pl.col("_cents")).otherwise(pl.col("_cents"))
        .alias("_cents"), _second_header_reasons(df, heads).alias("_second_header"))
    df = _apply_direction(df, "direction" in cols,
                          "direction" in cols and not _sense_header(header[cols["direction"]]))
    state_notes: list[str] = credit_notes
    cites: dict[int, str] = {}
    refs: dict[int, str] = {}
    used: set[int] = set()
    df = _mark_not_paid(df, cols, where, header, state_notes, cites, refs, used)
    df = _set_never_paid(df, never_paid)
    if fmt.decimal_mark != ",":  # cents are written after a comma only in a decimal-comma file
        df = df.with_columns(pl.lit(None, pl.String).alias("_after_amount"))
    if line_ids is not None:
        line_ids.result()
    rows, facts = _python_pass(df, cols, header, where, fmt, options, delimited, delim)
    recap_notes: list[str] = []
    if recaps:
        rows, recap_notes = _recap_rows(df, rows, recaps, where, cols, fmt, delim)
    facts["_vat_rate"] = vat_rate
    facts["_vat_doubt"] = vat_doubt
    facts["_state_notes"] = zero_notes + state_notes + date_notes + recap_notes
    # the lines dated by the other date column date what that column dates (`_redated_payments`)
    facts["date_fallback"] = (_date_stage(header_key(header[cols["date_other"]])), frozenset(fell_back)) \
        if fell_back else None
    facts["_cites"] = cites
    facts["_refs"] = refs
    facts["_used_credits"] = used
    facts["_never_paid_absent"] = absent
    # joined on the row numbers alone, then put beside the wide frame (no gather of its text)
    rows = df.select("source_row").join(rows, on="source_row", how="left", maintain_order="left")
    df = pl.concat([df, rows.drop("source_row")], how="horizontal").drop("_second_header", "_not_paid_why")
    if "date" in cols and "fiscal_year" in cols:  # after the total rows are known: they count nowhere
        _note_year_only(df, cols, header, where, facts["_state_notes"])
    if "date" not in cols and "fiscal_year" not in cols and (
            "period" not in cols or df.select((pl.col("_per_year").is_null() & ~pl.col("_blank")).any()).item()):
        facts["period_note"] = _name_period_note(where, facts.get("data_row_count", df.height))
    if "amount_mandated" in cols:
        df = _unpaid_amounts(df, fmt)
    return _finish(df, cols, header, where, _year_in_name(where)), facts


def _unpaid_amounts(df: pl.DataFrame, fmt: amounts.NumberFormat) -> pl.DataFrame:
    """A mandate not paid yet (`_unpaid`, row kind 'not_paid') carries its mandate's amount, as a
    rejected or cancelled one carries its own: quarantined, counted nowhere in the spending, but its
    amount is in source_file_reconciliation.not_paid_amount_eur instead of only in its reason."""
    mandated = amounts.parse_columns(df.select(pl.col("_unpaid").fill_null("").alias("_u")), "_u", fmt)["_cents"]
    if "_mandated_num" in df.columns and df["_mandated_num"].null_count() < df.height:
        # a spreadsheet's number cell is its number, whatever the file's written format
        num = df["_mandated_num"]
        ok = (num.is_not_null() & num.is_finite() & (num.abs() < 1e15)).fill_null(False)
        mandated = pl.select(pl.when(pl.lit(ok)).then(pl.lit(_spreadsheet_cents(num)).cast(mandated.dtype, strict=False))
                             .otherwise(pl.lit(mandated))).to_series()
    unpaid = pl.col("_unpaid").is_not_null() & (pl.col("_kind") == "not_paid") & pl.lit(mandated).is_not_null()
    return df.with_columns(
        pl.when(unpaid).then(pl.lit(mandated)).otherwise(pl.col("_cents")).alias("_cents"),
        pl.when(unpaid).then(True).otherwise(pl.col("_amount_usable")).alias("_amount_usable"),
        pl.when(unpaid).then(pl.col("_unpaid")).otherwise(pl.col("amount_raw")).alias("amount_raw"))


_VAT_RATE_CENTS = frozenset({210, 550, 700, 850, 1000, 1300, 1960, 2000})  # French VAT rates, old and new
_VAT_SLACK_CENTS = 2  # a VAT amount summed over an invoice's lines may differ from HT × rate by a cent or two


def _vat_is_rate(df: pl.DataFrame, fmt: amounts.NumberFormat) -> bool:
    """Whether a « TVA » column beside an HT amount gives the rate, not the amount: a « % » in a
    cell, or every non-zero value a French rate (20, 5,5, 2,1…) and either below 2,1 % of its line's
    HT (no VAT amount is that small) or, on most lines, not the VAT of its HT at any French rate
    (« 20,00 » beside 50,00 HT). Adding a rate as euros would be silent; HT is then taken, and said."""
    text = pl.col("_amount_vat").fill_null("").str.strip_chars()
    if df.select(text.str.contains("%").any()).item():
        return True
    v = _vat_cells(df, fmt)
    num = df["_amount2_num"]
    # a spreadsheet's percent cell holds the fraction (0,2 shown « 20 % »): its rate is 100 times it
    rate = pl.select((num * 10000).round(0).cast(pl.Int64)).to_series() if _fraction_rates(num) else v
    pair = pl.DataFrame({"ht": df["_cents"], "vat": v, "rate": rate}).filter(
        pl.col("vat").is_not_null() & (pl.col("vat") != 0))
    if pair.is_empty() or not pair.select(pl.col("rate").is_in(list(_VAT_RATE_CENTS)).all()).item():
        return False
    if pair.select((pl.col("vat") * 1000 < pl.col("ht").abs() * 21).all()).item():
        return True
    # every value a rate, and on most lines not the VAT of that HT at any French rate (« 20,00 »
    # beside 50,00 HT is no VAT amount: 20 % of it is 10,00); VAT amounts are that VAT on nearly
    # every line, rates only by chance (5,50 beside 55,00 HT); lines of 100 € HT, where both
    # readings agree, decide nothing
    ht, vat = pl.col("ht").abs(), pl.col("vat")
    as_amount = pl.any_horizontal([((ht * r / 10000).round(0) - vat).abs() <= _VAT_SLACK_CENTS
                                   for r in _VAT_RATE_CENTS])
    agree = ((ht * pl.col("rate") / 10000).round(0) - vat).abs() <= _VAT_SLACK_CENTS
    told = pair.filter(pl.col("ht").is_not_null()).select(as_amount.alias("amount"), agree.alias("agree")).filter(~pl.col("agree"))
    return not told.is_empty() and int(told["amount"].sum()) * 2 < told.height


def _vat_cells(df: pl.DataFrame, fmt: amounts.NumberFormat) -> pl.Series:
    """The « TVA » cells in cents (« 20,00 » is 2000), a spreadsheet's number where there is one."""
    text = pl.col("_amount_vat").fill_null("").str.strip_chars()
    v = amounts.parse_columns(df.select(text.alias("_a2")), "_a2", fmt)["_cents"]
    num = df["_amount2_num"]
    if num.is_not_null().any():
        v = pl.select(pl.when(num.is_not_null()).then(_spreadsheet_cents(num)).otherwise(v)).to_series()
    return v


def _vat_rate_doubt(df: pl.DataFrame, fmt: amounts.NumberFormat) -> tuple[int, int] | None:
    """A « TVA » column taken for rates (`_vat_is_rate`) whose every value could also be the VAT
    amount of its line: at most 20 % of its HT, as on an invoice mixing rates (20,00 on 150,00 HT:
    10 % and 20 % lines) or partly exempt (20,00 on 2 000,00 HT: most of it exempt, as an
    association's often is). Values alone cannot tell these apart (a column of rates beside HT of
    100 to 950 € reads the same), so the rate reading stays but is said loudly: (total read as
    rates, total read as euros) in cents, over the lines with both cells; None when some value
    cannot be a VAT amount, or the cells say « % » or are a spreadsheet's percent cells."""
    text = pl.col("_amount_vat").fill_null("").str.strip_chars()
    if df.select(text.str.contains("%").any()).item() or _fraction_rates(df["_amount2_num"]):
        return None
    pair = pl.DataFrame({"ht": df["_cents"], "vat": _vat_cells(df, fmt)}).filter(
        pl.col("ht").is_not_null() & pl.col("vat").is_not_null() & (pl.col("vat") != 0))
    if pair.is_empty():
        return None
    ht, vat, slack = pl.col("ht").abs(), pl.col("vat"), _VAT_SLACK_CENTS * 10000
    if not pair.select(((vat > 0) & (vat * 10000 <= ht * max(_VAT_RATE_CENTS) + slack)).all()).item():
        return None
    rated = (ht * vat + 5000) // 10000 * pl.when(pl.col("ht") < 0).then(-1).otherwise(1)
    got = pair.select((pl.col("ht") + rated).sum().alias("r"), (pl.col("ht") + vat).sum().alias("a"))
    return int(got["r"][0]), int(got["a"][0])


MAX_VAT_RATE_HUNDREDTHS = 2000  # 20 %, the highest French rate


def _fraction_rates(num: pl.Series) -> bool:
    """A spreadsheet column of percent cells: its non-zero numbers are all French rates written as
    fractions (0,2 ; 0,055 ; 0,021), as a cell formatted « 0,00 % » stores them."""
    filled = num.drop_nulls().filter(num.drop_nulls() != 0)
    return not filled.is_empty() and bool(((filled.abs() < 1) & (filled * 10000).round(0).cast(pl.Int64)
                                           .is_in(list(_VAT_RATE_CENTS))).all())


def _apply_vat_rate(df: pl.DataFrame, fmt: amounts.NumberFormat) -> pl.DataFrame:
    """HT plus its VAT at the line's rate (« TVA » 20,00 or 20 %): what was paid, the VAT rounded
    to the cent half away from zero as on an invoice. `amount_raw` says « 1 000,00 + 20,00 % » (the
    rate cell, « % » added when it has none), so that the independent re-read applies the same
    rate. A blank rate cell leaves HT; a cell that is no rate from 0 to 20 % leaves the line
    without amount (quarantined with both cells quoted)."""
    text = pl.col("_amount_vat").fill_null("").str.strip_chars()
    parsed = amounts.parse_columns(df.select(text.str.replace(r"\s*%$", "").alias("_r")), "_r", fmt)["_cents"]
    numbers = df["_amount2_num"]
    ok = numbers.is_not_null() & numbers.is_finite() & (numbers.abs() < 1e15)
    fraction = _fraction_rates(numbers)  # percent cells: 0,2 is 20 %
    native = (numbers * 10000).round(0).cast(pl.Int64) if fraction else _spreadsheet_cents(numbers)
    rate = pl.when(pl.lit(ok)).then(native).otherwise(parsed) if ok.any() else pl.lit(parsed)
    shown_num = (pl.col("_amount2_num") * 100).round(6) if fraction else pl.col("_amount2_num")
    raw2 = pl.when(pl.col("_amount2_num").is_not_null()).then(shown_num.cast(pl.String)).otherwise(text)
    present = ((text != "") | pl.col("_amount2_num").is_not_null()).fill_null(False)
    df = df.with_columns(rate.alias("_rate"), present.alias("_present2"), raw2.alias("_raw2"))
    good = pl.col("_rate").is_between(0, MAX_VAT_RATE_HUNDREDTHS)
    ht = pl.col("_cents")
    vat = ((ht.abs() * pl.col("_rate") + 5000) // 10000) * pl.when(ht < 0).then(-1).otherwise(1)
    shown = pl.when(pl.col("_raw2").str.ends_with("%")).then(pl.col("_raw2")).otherwise(
        pl.format("{} %", pl.col("_raw2")))
    return df.with_columns(
        pl.when(~pl.col("_present2")).then(ht).when(good).then(ht + vat).otherwise(None).alias("_cents"),
        pl.when(pl.col("_present2") & good).then(pl.format("{} + {}", pl.col("amount_raw"), shown))
        .otherwise(pl.col("amount_raw")).alias("amount_raw"),
        pl.when(pl.col("_present2") & ~good.fill_null(False)).then(pl.format("{} + {}", pl.col("_amount"), shown))
        .otherwise(pl.col("_amount")).alias("_amount"),
    ).drop("_rate", "_present2", "_raw2")


def _fall_back_to_date(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
                       notes: list[str], rows: list[int]) -> pl.DataFrame:
    """A line whose chosen date cell is blank takes the next date column's cell (« Date de
    paiement » empty: « Date mandat »), so that it keeps a quarter; the lines so dated are
    counted and named in a note (a warning of the run), never silent, and their `source_row`
    go to `rows`: such a line dates its mandate, not its payment."""
    used = (pl.col("_date").str.strip_chars() == "") & (pl.col("_date_other").str.strip_chars() != "")
    # a mandate not paid yet (`_unpaid_mandates`) keeps its mandate's date but is said apart
    found = df.select((used & pl.col("_unpaid").is_null()).fill_null(False).alias("u"), "source_line",
                      "source_row").filter("u")
    hit = found["source_line"]
    if hit.is_empty():
        return df.with_columns(pl.when(used).then(pl.col("_date_other")).otherwise(pl.col("_date")).alias("_date"))
    rows.extend(found["source_row"].to_list())
    shown = ", ".join(str(x) for x in hit.head(5).to_list()) + (" …" if hit.len() > 5 else "")
    notes.append(f"{where} : {hit.len()} ligne(s) sans « {header[cols['date']].strip()} » datée(s) par « "
                 f"{header[cols['date_other']].strip()} » de la même ligne (ligne(s) {shown}) : leur trimestre est "
                 f"celui de cette date ; si ces mandats ne sont pas encore payés, retirez-les de l'export")
    return df.with_columns(pl.when(used).then(pl.col("_date_other")).otherwise(pl.col("_date")).alias("_date"))


_UNPAID = "mandat pas encore payé à la date de l'export"
# what a header says was actually paid (not mandated): « Montant payé », « Montant réglé », « Montant
# versé », « Montant décaissé », « Montant du paiement »
_PAID_ONLY_WORDS = ("paye", "payes", "payee", "payees", "regle", "regles", "reglee", "reglees", "verse", "verses",
                    "versee", "versees", "decaisse", "decaisses", "decaissee", "decaissees", "paiement", "paid",
                    "payment")


def _with_mandated_amount(header: list[str], cols: dict[str, int]) -> dict[str, int]:
    """When the amount is what was paid and another column gives the mandate's amount, that column
    as `amount_mandated`: it tells a mandate not yet paid (paid cell blank) from a malformed line."""
    if "amount" not in cols or any(f in cols for f in ("amount_credit", "amount_vat", "amount_cancel")):
        return cols
    keys = [header_key(h) for h in header]
    if not any(_has_words(keys[cols["amount"]], w) for w in _PAID_ONLY_WORDS):
        return cols
    others = [i for i in amount_candidates(keys, set(cols.values()))
              if not any(_has_words(keys[i], w) for w in _PAID_ONLY_WORDS)]
    if not others:
        return cols
    return {**cols, "amount_mandated": min(others, key=lambda i: (*_amount_rank(keys[i]), i))}


def _unpaid_mandates(df: pl.DataFrame, cols: dict[str, int], header: list[str]) -> pl.DataFrame:
    """`_unpaid`: the mandated amount (cell quoted) of a line not paid when the export was taken —
    its paid cell blank, its mandate's amount written and not zero, and, when the chosen date is a
    payment's, no payment date either (a payment date with no amount paid is malformed, not
    unpaid). Such a line is no spending yet: left out with its reason (`_python_pass`)."""
    if "amount_mandated" not in cols:
        return df.with_columns(pl.lit(None, pl.String).alias("_unpaid"))
    mandated = pl.col("_amount_mandated").fill_null("").str.strip_chars()
    unpaid = (pl.col("_amount").fill_null("").str.strip_chars() == "") & pl.col("_amount_num").is_null() \
        & mandated.str.contains(r"[1-9]") & ~pl.col("_blank")
    if "date" in cols and _date_stage(header_key(header[cols["date"]])) == 0:
        unpaid = unpaid & (pl.col("_date").fill_null("").str.strip_chars() == "")
    return df.with_columns(pl.when(unpaid).then(mandated).alias("_unpaid"))


def _period_columns(df: pl.DataFrame, cols: dict[str, int]) -> pl.DataFrame:
    """`_per_year`, `_per_month` of each line's month or period cell (`period_parts`, read once per
    distinct value: a period column repeats a few dozen values), `_per_bad` when the cell is written
    but is no period."""
    if "period" not in cols:
        return df.with_columns(pl.lit(None, pl.Int32).alias("_per_year"), pl.lit(None, pl.Int32).alias("_per_month"),
                               pl.lit(False).alias("_per_bad"))
    text = pl.col("_period").fill_null("").str.strip_chars()
    distinct = df.select(text.unique())["_period"].to_list()
    parts = {v: period_parts(v) for v in distinct if v}
    years = {v: p[0] for v, p in parts.items() if p is not None and p[0] is not None}
    months = {v: p[1] for v, p in parts.items() if p is not None and p[1] is not None}
    bad = [v for v, p in parts.items() if p is None]
    return df.with_columns(
        text.replace_strict(years, default=None, return_dtype=pl.Int32).alias("_per_year"),
        text.replace_strict(months, default=None, return_dtype=pl.Int32).alias("_per_month"),
        (text.is_in(bad) & ~pl.col("_blank")).alias("_per_bad"))


# a month and its year with no day, written in a date column: « 01/2024 », « 1-2024 », « 2024-01 »
_MONTH_ONLY = r"^\s*(?:(?:0?[1-9]|1[0-2])[/.\-](?:19|20)[0-9]{2}|(?:19|20)[0-9]{2}[/\-](?:0[1-9]|1[0-2]))\s*$"


def _month_only_dates(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
                      notes: list[str]) -> pl.DataFrame:
    """A date cell that gives only a month and its year (« 01/2024 ») is no date, but it says the
    quarter: the line takes it as a period (year and month, no day, `purchase_date` empty) rather
    than being quarantined « date illisible »; the lines are counted and named in a note."""
    month = pl.col("_date").fill_null("").str.contains(_MONTH_ONLY)
    found = df.select(month.alias("m"), "source_line", "_date").filter("m")
    if found.is_empty():
        return df
    parts = {v: period_parts(v) for v in found["_date"].unique().to_list()}
    years = {v: p[0] for v, p in parts.items() if p is not None and p[0] is not None}
    months = {v: p[1] for v, p in parts.items() if p is not None and p[1] is not None}
    text = pl.col("_date").fill_null("")
    lines = found["source_line"]
    shown = ", ".join(str(x) for x in lines.head(5).to_list()) + (" …" if lines.len() > 5 else "")
    notes.append(f"{where} : {lines.len()} ligne(s) dont « {header[cols['date']].strip()} » ne donne qu'un mois "
                 f"(« {found['_date'][0].strip()} », ligne(s) {shown}) : leur trimestre est pris de ce mois et de son "
                 f"année, avec les règles de l'exercice (aucun jour n'est inventé) ; si l'export a une date complète, "
                 f"ajoutez-la")
    return df.with_columns(
        pl.when(month).then(text.replace_strict(years, default=None, return_dtype=pl.Int32))
        .otherwise(pl.col("_per_year")).alias("_per_year"),
        pl.when(month).then(text.replace_strict(months, default=None, return_dtype=pl.Int32))
        .otherwise(pl.col("_per_month")).alias("_per_month"),
        pl.when(month).then(False).otherwise(pl.col("_per_bad")).alias("_per_bad"),
        pl.when(month).then(text.str.strip_chars()).otherwise(pl.col("_period")).alias("_period"),
        pl.when(month).then(pl.lit("")).otherwise(pl.col("_date")).alias("_date"))


def _note_period(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str, notes: list[str],
                 name_year: int | None) -> None:
    """The lines without a date whose quarter (or year) is taken from the month or period column:
    counted and named in a note (a warning of the run), as the lines dated by another column are;
    the lines whose period has a month but no year anywhere stay « sans date », and are said too."""
    undated = (pl.col("_date").fill_null("").str.strip_chars() == "") & ~pl.col("_blank")
    has_year = pl.col("_per_year").is_not_null() | pl.lit("fiscal_year" in cols) & pl.col("_fiscal_year") \
        .fill_null("").str.contains(r"^\s*[0-9]{4}(\.0+)?\s*$") | pl.lit(name_year is not None)
    found = df.select((undated & pl.col("_per_month").is_not_null() & has_year).alias("q"),
                      (undated & pl.col("_per_month").is_not_null() & ~has_year).alias("n"), "source_line")
    label = header[cols["period"]].strip()

    def shown(lines: pl.Series) -> str:
        return ", ".join(str(x) for x in lines.head(5).to_list()) + (" …" if lines.len() > 5 else "")

    dated = found.filter("q")["source_line"]
    if not dated.is_empty():
        year_from = (f"l'année de la période, sinon « {header[cols['fiscal_year']].strip()} »"
                     if "fiscal_year" in cols else "l'année de la période" + (
                         f", sinon celle du nom du fichier ({name_year})" if name_year is not None else ""))
        notes.append(f"{where} : {dated.len()} ligne(s) sans date de paiement (ligne(s) {shown(dated)}) : leur "
                     f"trimestre est pris du mois de la colonne « {label} » et de {year_from} (le mois, pas le jour "
                     f"du paiement) ; si l'export a une colonne de date, ajoutez-la")
    yearless = found.filter("n")["source_line"]
    if not yearless.is_empty():
        notes.append(f"{where} : {yearless.len()} ligne(s) avec un mois dans « {label} » mais sans année (ni dans la "
                     f"période, ni colonne Exercice, ni année dans le nom du fichier) (ligne(s) {shown(yearless)}) : "
                     f"comptée(s) dans « sans date » (ajoutez une colonne Exercice ou nommez le fichier "
                     f"« …_exercice_AAAA »)")


def _note_year_only(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
                    notes: list[str]) -> None:
    """A line with an Exercice and an amount but no date in any date column counts in its year and
    in no quarter (« sans date » of objective8_summary, `undated_amount_eur` of its year): said, with
    its lines, never silent."""
    dated = [header[cols[f]].strip() for f in ("date", "date_other") if f in cols]
    undated = (pl.col("_date").str.strip_chars() == "") & ~pl.col("_blank") & pl.col("_per_month").is_null() \
        & ((pl.col("_amount").str.strip_chars() != "") | pl.col("_amount_num").is_not_null()) \
        & pl.col("_fiscal_year").str.contains(r"^\s*[0-9]{4}(\.0+)?\s*$") \
        & (pl.col("_kind").fill_null("data") != "total")
    hit = df.select(undated.fill_null(False).alias("u"), "source_line").filter("u")["source_line"]
    if hit.is_empty():
        return
    shown = ", ".join(str(x) for x in hit.head(5).to_list()) + (" …" if hit.len() > 5 else "")
    named = " ni ".join(f"« {d} »" for d in dated)
    notes.append(f"{where} : {hit.len()} ligne(s) sans {named}, avec un « {header[cols['fiscal_year']].strip()} » "
                 f"(ligne(s) {shown}) : comptée(s) dans leur exercice et dans la période « sans date » des trimestres "
                 f"(objective8_by_year.undated_amount_eur) ; si elles ont une date, complétez l'export")


def _cancel_issue(header: list[str], cols: dict[str, int]) -> pl.Expr:
    """A line whose cancelled part exceeds its mandate: a negative amount no one can explain, so
    the line is quarantined with both cells quoted rather than counted. Only a non-zero part says
    so: a negative mandate with nothing cancelled is an ordinary reduction, ORV or avoir line. A
    negative mandate with a part cancelled is quarantined too: which way the part goes is unknown."""
    part = pl.col("_part_cents").fill_null(0)
    mandate = pl.col("_cents") + part
    fields = [f for f in ("amount_credit", "amount_cancel") if f in cols
              and _cancelled_header(header_key(header[cols[f]]))]
    name = " » + « ".join(header[cols[f]].strip() for f in fields)
    cells = pl.concat_str([pl.col(f"_{f}").fill_null("").str.strip_chars() for f in fields], separator=" + ") \
        if len(fields) > 1 else pl.col(f"_{fields[0]}")
    live = ~pl.col("_credit_side") & pl.col("_cents").is_not_null() & (part != 0)
    return (pl.when(live & (mandate >= 0) & (pl.col("_cents") < 0)).then(pl.format(
        f"part annulée « {{}} » (colonne « {name} ») supérieure au montant du mandat « {{}} » : montant négatif "
        f"inexpliqué, ligne non comptée", cells, pl.col("_amount")))
        .when(live & (mandate < 0)).then(pl.format(
            f"part annulée « {{}} » (colonne « {name} ») sur un mandat négatif « {{}} » (réduction ou annulation) : "
            f"on ne sait pas si elle réduit ou augmente le crédit, ligne non comptée",
            cells, pl.col("_amount"))).alias("_amount_issue"))


def _compose_amount(df: pl.DataFrame, second: str, fmt: amounts.NumberFormat,
                    absolute: bool = False, num: str = "_amount2_num", after: str | None = None) -> pl.DataFrame:
    """The line's amount with its second column (`_amount_pair`): debit − credit, or HT + TVA. A
    credit line whose debit is empty already holds the credit cell: it becomes negative. A second
    cell that cannot be read leaves the line without amount (quarantined with the cell quoted).
    `amount_raw` then says what was added up (« 1 000,00 + 200,00 », « − 500,00 »), so that the
    independent re-read (recount.file_total_mismatches) finds and adds the same cells. A further
    cancelled part (`amount_cancel`, `num` its spreadsheet numbers) comes third: `after`, the
    second column, keeps its place in `amount_raw` (an empty part) on a line where it is blank."""
    minus = second in ("amount_credit", "amount_cancel")
    text = pl.col(f"_{second}").fill_null("").str.strip_chars()
    parsed = amounts.parse_columns(df.select(text.alias("_a2")), "_a2", fmt)["_cents"]
    numbers = df[num]
    ok = numbers.is_not_null() & numbers.is_finite() & (numbers.abs() < 1e15)
    cents2 = pl.when(pl.lit(ok)).then(_spreadsheet_cents(numbers)).otherwise(parsed) if ok.any() else pl.lit(parsed)
    present = (text != "") | pl.col(num).is_not_null()
    raw2 = pl.when(pl.col(num).is_not_null()).then(pl.col(num).cast(pl.String)).otherwise(text)
    if absolute:  # a cancelled part written negative is still taken off: its size, marked |…| for the re-read
        raw2 = pl.when(cents2 < 0).then(pl.format("|{}|", raw2)).otherwise(raw2)
        cents2 = cents2.abs()
    sign = "−" if minus else "+"
    df = df.with_columns(cents2.alias("_cents2"), present.fill_null(False).alias("_present2"), raw2.alias("_raw2"))
    credit_side = pl.col("_credit_side") if second == "amount_credit" else pl.lit(False)
    cents = pl.col("_cents")
    composed = (cents - pl.col("_cents2")) if minus else (cents + pl.col("_cents2"))
    if absolute:  # the part(s) taken off, for `_cancel_issue`
        part = pl.when(pl.col("_present2")).then(pl.col("_cents2"))
        if "_part_cents" in df.columns:
            part = pl.when(pl.col("_part_cents").is_null()).then(part).otherwise(
                pl.col("_part_cents") + pl.col("_cents2").fill_null(0))
        df = df.with_columns(part.alias("_part_cents"))
    if after is not None:  # the second column's place kept (« 1 000,00 +  − 600,00 »)
        blank = ~pl.col("amount_raw").str.contains(r" [+−] ")
        sign2 = "−" if after == "amount_credit" else "+"
        df = df.with_columns(pl.when(pl.col("_present2") & blank).then(pl.format(f"{{}} {sign2} ", pl.col("amount_raw")))
                             .otherwise(pl.col("amount_raw")).alias("amount_raw"))
    return df.with_columns(
        pl.when(credit_side).then(-cents)
        .when(pl.col("_present2") & pl.col("_cents2").is_null()).then(None)
        .when(pl.col("_present2")).then(composed)
        .otherwise(cents).alias("_cents"),
        pl.when(credit_side).then(pl.format(f" {sign} {{}}", pl.col("amount_raw")))
        .when(pl.col("_present2")).then(pl.format(f"{{}} {sign} {{}}", pl.col("amount_raw"), pl.col("_raw2")))
        .otherwise(pl.col("amount_raw")).alias("amount_raw"),
        # an unreadable second cell: the reason quotes the whole, as the amount read
        pl.when(pl.col("_present2") & pl.col("_cents2").is_null() & ~credit_side)
        .then(pl.format(f"{{}} {sign} {{}}", pl.col("_amount"), pl.col("_raw2")))
        .otherwise(pl.col("_amount")).alias("_amount"),
    ).drop("_cents2", "_present2", "_raw2")


def _spreadsheet_cents(num: pl.Series) -> pl.Series:
    """Cents of a spreadsheet's numbers as the spreadsheet shows them with two decimals (and as its
    ROUND does): half a cent away from zero, on the number's shortest decimal writing. 1234.565 is
    stored as 1234.56499999…: times 100 and rounded it would lose the half cent the cell shows.
    Vectorised; only values within a hair of a half cent go through Decimal."""
    x = (num * 100).fill_nan(None)
    cents = x.round(0)
    frac = (x - x.floor() - 0.5).abs()
    near = ((frac < 1e-6) & (num.abs() < 1e12)).fill_null(False)
    if near.any():
        idx = near.arg_true()
        fixed = [int(Decimal(repr(v)).quantize(Decimal("0.01"), ROUND_HALF_UP).scaleb(2)) for v in num.gather(idx)]
        cents = cents.scatter(idx, pl.Series(fixed, dtype=pl.Float64))
    return cents.cast(pl.Int64, strict=False)


def _identifier_shapes(df: pl.DataFrame, cols: dict[str, int], fmt: amounts.NumberFormat) -> list[pl.Series]:
    """`_ident_equal` (a whole amount equal to an identifier of the line) and `_code_shaped` (a
    whole amount with a code's number of digits), computed on the only rows that can be either:
    whole amounts of five digits or more."""
    n = df.height
    possible = df.select((~pl.col("_has_fraction") & (pl.col("_int_digits").str.len_chars() >= 5)).fill_null(False)
                         ).to_series()
    idx = possible.arg_true()
    ident = pl.repeat(False, n, dtype=pl.Boolean, eager=True).alias("_ident_equal")
    code = pl.repeat(False, n, dtype=pl.Boolean, eager=True).alias("_code_shaped")
    sign = pl.repeat(None, n, dtype=pl.String, eager=True).alias("_shift_sign")
    if idx.is_empty():
        return [ident, code, sign]
    num = pl.col("_amount_num")
    code_shaped = (pl.lit(fmt.has_decimals) & num.is_null() & pl.col("_amount").str.contains(r"^[+-]?[0-9]+$")
                   & pl.col("_int_digits").str.len_chars().is_in([5, 8, 9, 14]))
    ident_equal = pl.lit(False)
    # not the postal code beside the town (`commune_other`): an amount equal to a postal code
    # still in its own column is no shifted cell (a 31 000 € subsidy in 31000, tests/test_fixr3_adv10)
    for f in ("siret", "mandate_number", "category", "commune"):
        if f in cols:
            other = pl.col(f"_{f}").str.replace_all(_DIGITS, "").str.strip_chars_start("0")
            ident_equal = ident_equal | ((pl.col("_int_digits") == other) & (other.str.len_chars() >= 5))
    needed = ["_has_fraction", "_int_digits", "_amount", "_amount_num",
              *[f"_{f}" for f in ("siret", "mandate_number", "category", "commune") if f in cols]]
    sub = df.select(needed)[idx].select((~pl.col("_has_fraction") & ident_equal).fill_null(False).alias("i"),
                                        code_shaped.fill_null(False).alias("c"),
                                        pl.col("_int_digits").str.len_chars().is_in([9, 14]).alias("long"))
    # a postal code's or a CPV's shape (5 or 8 digits) is also every round amount from 10 000 to
    # 99 000 €: refused only when the row shows another sign of a column shift (SIREN and SIRET
    # shapes are above the default ceiling anyway, and keep their Luhn test)
    short = (sub["c"] & ~sub["long"]).arg_true()
    if not short.is_empty():
        signs = _shift_signs(df, cols, idx.gather(short))
        sub = sub.with_columns(sub["c"].scatter(short, signs.is_not_null()))
        sign = sign.scatter(idx.gather(short), signs)
    return [ident.scatter(idx, sub["i"]), code.scatter(idx, sub["c"]), sign]


def _shift_signs(df: pl.DataFrame, cols: dict[str, int], idx: pl.Series) -> pl.Series:
    """For the rows `idx`: a row whose cells moved by a column (a code landed in the amount) shows
    it elsewhere too: its date cell holds no date, its supplier cell no letter, or the code's own
    column (postal code, commune, CPV: one that at least 90 % of the file's rows fill) is empty in
    this row while its other address column (the town beside the postal code) is filled. A round
    amount on an intact row (its date, its supplier, its code, or no address at all) is an amount."""
    rows = df.select("_date", "_date_parsed", "_supplier_name", "_commune", "_category", "_address_other")[idx]
    holes = [f for f in ("commune", "category", "address_other")
             if f in cols and df.height and (df[f"_{f}"] != "").mean() >= SHIFT_HOLE_SHARE]
    # a postal code and its town both empty on a row is an address missing from the tiers file; one
    # of them empty beside the other filled is a value gone elsewhere (a companion filled on the other
    # rows tells them apart; without one, an empty postal code or town is a hole, as before)
    address = [f for f in ("commune", "address_other") if f in holes] if "commune" in holes else []
    holes = [f for f in holes if f not in ("commune", "address_other")]
    out: list[str | None] = []
    for r in rows.iter_rows(named=True):
        parsed = r["_date_parsed"]
        if "date" in cols and r["_date"] and (parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR) \
                and _unreadable_date(r["_date"]):
            out.append("sa cellule de date ne contient pas de date")
        elif "supplier_name" in cols and r["_supplier_name"] and not re.search(r"[^\W\d_]", r["_supplier_name"]):
            out.append("son fournisseur n'a aucune lettre")
        elif address and any(not r[f"_{f}"] for f in address) and (len(address) == 1 or any(r[f"_{f}"] for f in address)):
            out.append(f"sa colonne de {_HOLE_LABELS['commune']}, remplie sur les autres lignes, est vide")
        elif hole := next((f for f in holes if not r[f"_{f}"]), None):
            out.append(f"sa colonne de {_HOLE_LABELS[hole]}, remplie sur les autres lignes, est vide")
        else:
            out.append(None)
    return pl.Series(out, dtype=pl.String)


def _unreadable_date(text: str) -> bool:
    try:
        d = parse_date(text)
    except ValueError:
        return True
    return d is None or not MIN_YEAR <= d.year <= MAX_YEAR


SHIFT_HOLE_SHARE = 0.9
_HOLE_LABELS = {"commune": "code postal ou commune", "category": "code CPV ou catégorie"}


# values of a debit/credit column, compared in lower case: a credit first (« annulation de mandat »)
# whole words of the value, accents removed: « Non crédité » is not « crédit », « Débit
# (annulation) » says both; « mandat » is a debit unless a credit word goes with it (« Annulation
# de mandat », « Mandat annulé »)
# « annul » covers its abbreviation and every form of the word (« Mandat annulatif », « annulative »,
# « annulé(e)s », « d'annulation »), « réduction » the « mandat de réduction » and its inversions
_CREDIT = (r"^(?:c|cr|-)$|^titres?\b|\b(?:credits?|credite|annul(?:ations?|atifs?|atives?|ee?s?)?|reductions?"
           r"|reduct(?:if|ifs|ive|ives)|avoirs?|reversements?|orvs?)\b")
_DEBIT = r"^(?:d|db|dt|\+)$|\b(?:debits?|debite|depenses?|paiements?|reglements?|factures?)\b"
_MANDATE_WORD = r"\bmandat(?:s|e|ement|ements)?\b"
_NEGATION = r"\b(?:non|pas|sans|ni)\b"
# a piece or a mandate the public accountant rejected, or that was cancelled before payment, was
# never paid: its line is left out (row_kind 'not_paid'), whatever its amount's sign. In a sign or
# piece-type column only a rejection says so (« Mandat annulé » there is a cancelling piece, a
# credit); in a state column (« État du mandat ») a cancelled or deleted mandate too, but not a
# partly cancelled one (what is left of it was paid) nor an « Annulation » (a cancelling piece, whose
# amount is kept as written)
_REJECTED = r"\b(?:rejet(?:e|es|ee|ees|s)?|refus(?:e|es|ee|ees)?)\b"
_NOT_PAID = r"\b(?:rejet(?:e|es|ee|ees|s)?|refus(?:e|es|ee|ees)?|annul(?:e|es|ee|ees)|supprim(?:e|es|ee|ees))\b"
_PARTIAL = r"\bpartiel(?:le|s|les|lement)?\b"
# a state that says the mandate was paid (« Payé (annule et remplace le 690) ») is paid, whatever
# else the cell says
_PAID_STATE = (r"\b(?:payes?|payees?|regles?|reglees?|mandates?|mandatees?|soldes?|soldees?|acquittes?"
               r"|acquittees?|verses?|versees?)\b")
# the words that say the money left. « Mandaté » is not one: the ordonnateur issued the mandate,
# the comptable may still reject it, and « Mandaté puis annulé » was never paid
_PAID_PROPER = r"\b(?:payes?|payees?|regles?|reglees?|soldes?|soldees?|acquittes?|acquittees?|verses?|versees?)\b"
# words that govern the word after them: « non payé », « pas encore réglé », « sans paiement »
_NEGATION_WORDS = frozenset({"non", "pas", "sans", "ni", "jamais"})
# What a mandate's state says in the French finance software, word by word, as their exports write
# it (the attribution below is the developers' knowledge of these tools and of the reviewers'
# cases, not checked against each vendor's documentation; a word missing here leaves a column
# judged by its other values). A « Statut » column whose cells mostly say something else —
# Association, Radiée, Archivé — gives the supplier's record status, not the mandate's:
# - Hélios / PES V2 (DGFiP, the comptable's side): Pris en charge (PEC), Visé, Rejeté, Payé, Émis,
#   Annulé; the PES acknowledgements: Intégré, Accepté, Rejeté;
# - Civil Net Finances (Ciril): Mandaté, Bordereau édité, Transmis, Visé, Payé, Rejeté, Annulé;
# - Astre (Inetum): Liquidé, Mandaté, Intégré (PES), Payé, Annulé;
# - Grand Angle (CGI): Ordonnancé, Signé (bordereau signé), Certifié (service fait), Soldé;
# - Sedit (Berger-Levrault): Comptabilisé, Transmis, Accepté, Rejeté, Mis en paiement;
# - Coriolis: Accepté (by the comptable), Rejeté, Annulé, Mis en paiement, Impayé.
# These belong to a mandate (or a payment) only, never to a supplier's record.
_MANDATE_STATE_WORDS = (_PAID_STATE + r"|\b(?:vises?|visees?|pris|prise|charge|pec|rejet\w*|refus\w*|annul\w*"
                        r"|emis|emise|liquid\w*|ordonnanc\w*|comptabilis\w*|transmis\w*|bordereau\w*|impayes?"
                        r"|paiements?|reglements?|mandats?|accept\w*|integr\w*|signes?|signees?|certifi\w*"
                        r"|mis en paiement|mise en paiement)\b")
# workflow words a mandate's state shares with a supplier record's status (a tiers is « Validé »,
# « Bloqué », « Supprimé », « Suspendu », « En cours » of creation in Astre, Sedit and Coriolis
# alike): a column of these alone may be either, and is not taken for the mandate's state
_SHARED_STATE_WORDS = r"\b(?:supprim\w*|en cours|attente|valid\w*|suspendus?|bloques?|differes?)\b"
_STATE_WORDS = _MANDATE_STATE_WORDS + "|" + _SHARED_STATE_WORDS
# « annule le mandat 12 », « annule et remplace le 690 », « le mandat annulé 40 »: a cancelling word
# followed closely by a number names another piece, not the state of this one
_OTHER_PIECE_SPAN = 4
# ... unless a passive agent or a sequence stands between them: « annulé par le mandat 45 »,
# « annulé - remplacé par le 47 », « annulé puis réémis (n° 45) » say THIS line was cancelled and
# the number is its replacement or its cancelling piece
_THIS_PIECE_WORDS = frozenset({"par", "puis", "reemis", "reemise", "reemission"})
# a cancellation or a rejection that was itself refused, rejected or lifted: « Annulation
# refusée », « Annulation rejetée », « Rejet levé », « Refus annulé » — the mandate stands (the
# participle right after the noun: « Annulation après rejet » is a cancellation)
_UNDONE = re.compile(r"\b(?:annulations?|rejets?|refus|suppressions?)\s+(?:refusee?s?|rejetee?s?|levee?s?|annulee?s?"
                     r"|abandonnee?s?)\b"
                     # the noun forms: « Levée du rejet », « Refus d'annulation », « Rejet de l'annulation »,
                     # « Annulation du rejet », « Abandon de la suppression »
                     r"|\b(?:levees?|refus|rejets?|annulations?|abandons?)\s+(?:du|de|des|d)\s+(?:l\s+|la\s+)?"
                     r"(?:rejets?|annulations?|refus|suppressions?)\b")
# on a positive line, the noun « Annulation » followed by a word saying it was carried out
# (« Annulation totale », « Annulation effectuée », « Annulation du mandat validée ») is this
# mandate's state: it was cancelled. A bare « Annulation » stays a cancelling piece (kept as
# written, said when positive), and a negation (« Annulation non validée ») or a pending word
# (« Annulation en cours ») does not match
_CANCELLATION_DONE = re.compile(
    r"\b(?:annulations?|suppressions?)\s+(?:(?:du|de|des|d|la|l|le|mandat|piece|titre)\s+)*"
    r"(?:totales?|effectuee?s?|validee?s?|confirmee?s?|definitive?s?|definitifs?|acceptee?s?|faite?s?"
    r"|realisee?s?|executee?s?|enregistree?s?|prononcee?s?|comptabilisee?s?|visee?s?|integree?s?"
    r"|terminee?s?|approuvee?s?|actee?s?|traitee?s?)\b")
# the line is the re-issue of a rejected or cancelled mandate: « Réémis après rejet », « Réémis
# suite à annulation » (but « Rejeté puis réémis » tells the rejected line's own story)
_REISSUE = frozenset({"reemis", "reemise", "reemises", "reemission"})
# the `words` argument of `_says_not_paid` that asks for `_CANCELLATION_DONE` (a positive line only)
_DONE_ON_POSITIVE = "cancellation done"


def _says_not_paid(value: str, words: str) -> bool:
    """Whether a state (or sign) cell says its line was never paid: a not-paid word (`words`) that
    no negation governs (« non annulé » is not cancelled) and that names no other piece, and no
    paid word proper that no negation governs (« Rejeté - non payé », « Annulé (non mandaté) »
    and « Mandaté puis annulé » were never paid; « Payé (annule et remplace le 690) » was), and
    not a partial cancellation (what is left of it was paid)."""
    v = _folded(value)
    if not v or re.search(_PARTIAL, v):
        return False
    tokens = re.findall(r"[a-z0-9]+", v)

    def governed(i: int) -> bool:
        return any(t in _NEGATION_WORDS for t in tokens[max(0, i - 2):i])

    def other_piece(i: int) -> bool:
        after = tokens[i + 1:i + 1 + _OTHER_PIECE_SPAN]
        k = next((k for k, x in enumerate(after) if x.isdigit()), None)
        return k is not None and not _THIS_PIECE_WORDS.intersection(after[:k])

    if any(re.fullmatch(_PAID_PROPER, t) and not governed(i) for i, t in enumerate(tokens)):
        return False
    if _UNDONE.search(" ".join(tokens)):
        return False
    if words == _DONE_ON_POSITIVE:
        return bool(_CANCELLATION_DONE.search(" ".join(tokens))) and not _says_not_paid(value, _NOT_PAID)
    hits = [i for i, t in enumerate(tokens) if re.fullmatch(words, t) and not governed(i)]
    if hits and _REISSUE.intersection(tokens[:hits[0]]):
        return False
    return any(not other_piece(i) for i in hits)


def _mark_not_paid(df: pl.DataFrame, cols: dict[str, int], where: str, header: list[str],
                   notes: list[str], cites: dict[int, str] | None = None,
                   refs: dict[int, str] | None = None, used: set[int] | None = None) -> pl.DataFrame:
    """`_not_paid` for the lines never paid, but only from a column that holds mandate states, and
    not for a line whose reversal is in the same sheet (`_reversal_pairs`): that pair is counted as
    written (its sum is nil), not taken out twice. `cites` gets, per credit row, the n° of the
    mandate its text names, and `refs`, per credit or left-out row, the invoice or credit note its
    text names (`_invoice_ref`), for the pairing across sheets and files (`_pair_across_sources`);
    `used` the credit rows paired here, which no other sheet's mandate may use again."""
    if "payment_status" in cols:
        # the distinct values with their counts: the words are looked for in a few cells only
        counts = df.group_by("_payment_status").len()
        state = pl.col("_payment_status").fill_null("").str.strip_chars().str.to_lowercase() \
            .str.normalize("NFKD").str.replace_all(r"\p{M}", "")
        filled = counts.select(pl.col("len").filter(state != "").sum().alias("n"),
                               pl.col("len").filter(state.str.contains(_STATE_WORDS) & (state != "")).sum()
                               .alias("k"),
                               pl.col("len").filter(state.str.contains(_MANDATE_STATE_WORDS) & (state != "")).sum()
                               .alias("m")).row(0)
        label = header[cols["payment_status"]].strip()
        if filled[0] and filled[1] * 2 < filled[0]:
            notes.append(f"{where} : la colonne « {label} » donne surtout autre chose "
                         f"qu'un état de mandat (payé, visé, rejeté, annulé…) : c'est le statut du tiers, elle ne "
                         f"retire aucune ligne de la dépense")
            cols = {k: v for k, v in cols.items() if k != "payment_status"}
        elif filled[0] and not filled[2] and "date" in cols \
                and _date_stage(header_key(header[cols["date"]])) == 0:
            # Validé, Bloqué, Supprimé only: the words of a supplier record's status as much as of a
            # mandate's. In an export of payments (its date is the payment's) every line was paid:
            # without one word proper to a mandate, the column is the tiers', no line is taken out,
            # but it is said; in an export of mandates, a « Supprimé » mandate stays out
            notes.append(f"{where} : la colonne « {label} » ne contient que des états qu'un tiers a aussi (validé, "
                         f"bloqué, supprimé…) et aucun état propre à un mandat (payé, visé, rejeté, annulé…) : lue "
                         f"comme statut du tiers, elle ne retire aucune ligne de la dépense ; si une ligne « supprimé » "
                         f"ou « bloqué » n'a pas été payée, retirez-la du fichier")
            cols = {k: v for k, v in cols.items() if k != "payment_status"}
    df = df.with_columns(_not_paid(df, cols))
    if "payment_status" in cols:
        notes += _positive_cancellation_notes(df, where, header[cols["payment_status"]].strip())
    few = df.select("source_row", "_cents", "_siret", "_supplier_name", "_not_paid", "_direction_issue",
                    "_mandate_number", *(["_buying_entity"] if "_buying_entity" in df.columns else []))
    credits = few.filter(pl.col("_not_paid").is_null() & (pl.col("_cents") < 0)
                         & pl.col("_direction_issue").is_null())
    if credits.is_empty():
        return df
    texts = df.filter(pl.col("source_row").is_in(credits["source_row"].implode())).select(
        "source_row", _row_text(df).alias("_text"))
    cited = {row: n for row, text in texts.iter_rows() if (n := _cited_mandate(text))}
    if cites is not None:
        cites.update(cited)
    # the invoice a credit names (one citing no mandate), then, if one does, those the left-out name
    ref = {row: r for row, text in texts.iter_rows() if row not in cited and (r := _invoice_ref(text))}
    df = _reversal_refs(df, cited, ref)
    out = few.filter(pl.col("_not_paid").is_not_null() & (pl.col("_cents") > 0))
    if out.is_empty():
        return df
    if ref:
        named = df.filter(pl.col("source_row").is_in(out["source_row"].implode())) \
            .select("source_row", _row_text(df).alias("_text"))
        ref.update((row, r) for row, text in named.iter_rows() if (r := _invoice_ref(text)))
    if "invoice_ref" in cols:
        ref.update(_column_refs(df, set(credits["source_row"]) - set(cited), set(out["source_row"])))
    if refs is not None:
        refs.update(ref)
    entity = pl.col("_buying_entity") if "_buying_entity" in few.columns else pl.lit(None, pl.String)
    org = pl.col("_buying_org") if "buying_org" in cols else pl.lit(None, pl.String)
    budget_column = "buying_entity" in cols and "budget" in header_key(header[cols["buying_entity"]]).split()
    if "buying_org" not in cols and "buying_entity" in cols \
            and any(_has_words(header_key(header[cols["buying_entity"]]), w) for w in _ORG_WORDS):
        org = entity  # « Entité juridique »: an organisation, not a service
    fields = ("source_row", "_cents", "_siret", "_supplier_name", "_mandate_number", entity, org.alias("_org"))
    piece = [{"row": r[0], "cents": r[1], "siren": _siren_of(r[2]), "name": _name_key(r[3]),
              "no": _number_key(r[4]), "ref": ref.get(r[0]), "budget": r[5], "org": header_key(r[6] or "")}
             for r in df.filter(pl.col("source_row").is_in(out["source_row"].implode())).select(*fields).iter_rows()]
    numbers = _numbers_present(few["_mandate_number"], set(cited.values()))
    rev = [{"row": r[0], "cents": r[1], "siren": _siren_of(r[2]), "name": _name_key(r[3]),
            "cites": cited.get(r[0]) if cited.get(r[0]) != _number_key(r[4]) else None, "ref": ref.get(r[0]),
            "budget": r[5], "org": header_key(r[6] or "")}
           for r in df.filter(pl.col("source_row").is_in(credits["source_row"].implode())).select(*fields)
           .iter_rows()]
    # two organisations of a pooled export (« Ville de … », « Régie des eaux ») number their
    # mandates apart: one's reversal never undoes the other's cancelled mandate
    pairs = _reversal_pairs(piece, rev, numbers, local=True,
                            allowed=lambda p, c: not _other_budget_cells(p["budget"], c["budget"], budget_column)
                            and not (p["org"] and c["org"] and p["org"] != c["org"]))
    kept = [piece[i]["row"] for i, _ in pairs]
    if used is not None:
        used.update(rev[j]["row"] for _, j in pairs)
    if kept:
        notes.append(f"{where} : {len(kept)} mandat(s) rejeté(s) ou annulé(s) dont l'annulation (même tiers, montant "
                     f"opposé) est dans le même fichier : comptés tels qu'écrits avec elle (somme nulle), pas retirés "
                     f"deux fois")
        df = df.with_columns(pl.when(pl.col("source_row").is_in(kept)).then(None).otherwise(pl.col("_not_paid"))
                             .alias("_not_paid"),
                             pl.when(pl.col("source_row").is_in(kept)).then(None).otherwise(pl.col("_not_paid_field"))
                             .alias("_not_paid_field"))
    return df


def _reversal_refs(df: pl.DataFrame, cited: dict[int, str], ref: dict[int, str]) -> pl.DataFrame:
    """Per credit row, the mandate n° its text names (`_cited_mandate`) and the invoice it names
    (`_invoice_ref`), kept on the line (`cited_mandate`, `invoice_ref`): a credit that says which
    mandate it cancels is judged at that mandate's date, not at another payment's
    (cls_line_reversal)."""
    def mapped(values: dict[int, str]) -> pl.Expr:
        return pl.col("source_row").replace_strict(values, default=None, return_dtype=pl.String) if values \
            else pl.lit(None, pl.String)
    return df.with_columns(mapped(cited).alias("_cited"), mapped(ref).alias("_said_ref"))


def _words(value: str) -> list[str]:
    """The value's words, lower case without accents."""
    return re.findall(r"[a-z0-9]+", _folded(value))


def _positive_cancellation_notes(df: pl.DataFrame, where: str, label: str) -> list[str]:
    """A POSITIVE line counted though its state names a cancellation (« Annulation », « Annulation en
    cours », « Suppression demandée »): a cancelling piece written positive, or a mandate whose
    cancellation is pending or was carried out in words not known here. It is kept as written, and
    said with its lines, so that the buyer checks it (not « Annulation non validée »: it says the
    mandate stands)."""
    values = [x for x in df.select(pl.col("_payment_status").unique().drop_nulls())["_payment_status"].to_list()
              if re.match(r"(?:annulations?|suppressions?)\b", _folded(x))
              and not re.search(_PARTIAL, _folded(x)) and not _UNDONE.search(" ".join(_words(x)))
              and not _NEGATION_WORDS.intersection(_words(x))]
    if not values:
        return []
    rows = df.filter(pl.col("_payment_status").is_in(pl.Series(values, dtype=pl.String).implode())
                     & pl.col("_not_paid").is_null() & (pl.col("_cents") > 0).fill_null(False))
    if rows.is_empty():
        return []
    lines = rows["source_line"].to_list()
    shown = ", ".join(str(n) for n in lines[:10]) + (" …" if len(lines) > 10 else "")
    states = ", ".join(f"« {v} »" for v in sorted({s.strip() for s in rows["_payment_status"].to_list()})[:5])
    return [f"{where} : {len(lines)} ligne(s) positive(s) dont le champ « {label} » nomme une annulation "
            f"({states}), ligne(s) {shown} : comptée(s) telle(s) qu'écrite(s) comme une dépense ; si le mandat a "
            f"été annulé, il n'a pas été payé : écrivez « Annulé » (ou retirez la ligne) ; À VÉRIFIER"]


def _row_text(df: pl.DataFrame) -> pl.Expr:
    """The row's cells as one text, whichever way the sheet was split (line, list or columns)."""
    if "_raw" in df.columns:
        return pl.col("_raw").fill_null("")
    if "_stripped" in df.columns:
        return pl.col("_stripped").list.join(" ; ").fill_null("")
    cells = sorted((c for c in df.columns if re.fullmatch(r"_c[0-9]+", c)), key=lambda c: int(c[2:]))
    return pl.concat_str([pl.col(c).fill_null("") for c in cells], separator=" ; ") if cells else pl.lit("")


# « Annulation du mandat 10 », « ORV mandat n° 0300 », « annule le mandat no 12 »; the prefilter
# on the row's text as written, the pattern on its folded text
_CITE_PREFILTER = r"(?i)mandats?\s*(?:n\s*[°o]?|no|num|num[ée]ro)?\.?\s*[0-9]|(?-u:\b)avoirs?(?-u:\b)[^0-9;]{0,16}[0-9]"
# an invoice reference is kept only on a row that may be a credit or a left-out mandate (most
# objets of an export name an invoice: their text is not kept for nothing); ASCII word boundaries,
# a Unicode one makes the regex engine of polars ten times slower on text with accents
_INVOICE_PREFILTER = r"(?i)(?-u:\b)(?:factures?|fact|fac)(?-u:\b)[^0-9;]{0,16}[0-9]"
_CREDIT_OR_OUT_PREFILTER = r"(?i)annul|rejet|refus|suppr|r[ée]duc|avoir|(?-u:\b)orv|cr[ée]dit|(?:^|[;\s])-\s*[0-9]"
_CITED_MANDATE = re.compile(r"\bmandats?\s*(?:(?:n\s*[°o]?|no|num|numero)\.?\s*)?([0-9]+)\b")


def _ascii_folded(text: str) -> str:
    """Lower case, accents and other non-ASCII signs dropped: `_folded` for many cells at once (a
    character loop per cell is too slow for thousands of credits)."""
    v = text.lower()
    return v if v.isascii() else unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode()


# « Avoir sur facture F2024-118 », « facture n° 2024/118 », « avoir AV-12 »: an invoice or credit
# note reference (it holds a digit); a credit that names one and no mandate is a credit note on
# that invoice, the reversal of a cancelled mandate only if that mandate's text names it too
_INVOICE_REF = re.compile(r"\b(?:factures?|fact|fac|avoirs?)\b\s*(?:(?:n\s*[°o]?|no|num|numero|ref|reference)\b\.?\s*)?"
                          r"[:#]?\s*([a-z0-9][a-z0-9/_.-]*)")


def _invoice_ref(text: str) -> str | None:
    """The first invoice or credit note reference a row's text names, letters and digits only."""
    for m in _INVOICE_REF.finditer(_ascii_folded(text or "")):
        if any(ch.isdigit() for ch in m.group(1)):
            return re.sub(r"[^a-z0-9]", "", m.group(1))
    return None


# headers of a column naming the buying organisation (its values are two numbering sequences)
_ORG_WORDS = ("entite juridique", "collectivite", "organisme", "etablissement")


def _column_refs(df: pl.DataFrame, credit_rows: set[int], out_rows: set[int]) -> dict[int, str]:
    """Invoice references read in a « N° facture » column, as `_invoice_ref` writes them: every
    left-out mandate's, and a credit's only when another line of the file carries the same one (the
    invoice it reduces); a credit note's own number, named nowhere else, says nothing of its pair."""
    key = (pl.col("_invoice_ref").fill_null("").str.to_lowercase().str.normalize("NFKD")
           .str.replace_all(r"[^a-z0-9]", ""))
    # the few credit and left-out rows in Python, the file's other cells only counted (vectorised)
    cells = df.select("source_row", key.alias("_key")).filter(pl.col("_key").str.contains(r"[0-9]"))
    found = dict(cells.filter(pl.col("source_row").is_in(list(credit_rows | out_rows))).iter_rows())
    wanted = [k for row, k in found.items() if row in credit_rows]
    shared = set(cells.filter(pl.col("_key").is_in(wanted)).group_by("_key").len()
                 .filter(pl.col("len") > 1)["_key"]) if wanted else set()
    return {row: k for row, k in found.items() if row in out_rows or k in shared}


def _cited_mandate(text: str) -> str | None:
    """The n° of the mandate a credit's text names (its objet or label), as `_number_key` writes it."""
    m = _CITED_MANDATE.search(_ascii_folded(text or ""))
    return _number_key(m.group(1)) if m else None


@functools.lru_cache(maxsize=65536)
def _number_key(value: str | None) -> str | None:
    """A n° of mandate as compared: digits without leading zeros (« 000123 », « 123.0 » are 123)."""
    v = (value or "").strip()
    if v.endswith(".0") or v.endswith(".00"):
        v = v.rstrip("0")[:-1]
    return (v.lstrip("0") or "0") if v.isdigit() else (v or None)


def _numbers_present(column: pl.Series, wanted: set[str]) -> set[str]:
    """Which of the n°s `wanted` (as `_number_key` writes them) are in `column`: one vectorised pass,
    not a Python call per row of an export of millions."""
    if not wanted:
        return set()
    keys = column.cast(pl.String).str.strip_chars().str.replace(r"\.0+$", "").str.replace(r"^0+([0-9])", "${1}")
    return set(keys.filter(keys.is_in(list(wanted))).unique().to_list())


def _siren_of(siret: str | None) -> str | None:
    """`_payee_siren` for one cell (the pairing works on rows in Python): the same rule, French VAT
    numbers included, so the pairing and the duplicate rules see the same payee."""
    digits = re.sub(r"[^0-9]", "", siret or "")
    if len(digits) in (9, 14):
        return digits[:9]
    return digits[2:11] if len(digits) == 11 and "FR" in (siret or "").upper() else None


@functools.lru_cache(maxsize=65536)
def _name_key(name: str | None) -> str:
    """As `_payee_name`: without case, accents, punctuation or spacing differences."""
    return " ".join(re.sub(r"[^\w]+", " ", _ascii_folded(name or "")).split())


def _reversal_pairs(pieces: list[dict], credits: list[dict], numbers: set[str],
                    local: bool = False, allowed=None) -> list[tuple[int, int]]:
    """(piece, credit) index pairs: a cancelled mandate and its reversal, each used once. A credit
    whose text names a mandate n° reverses that mandate only: it pairs with it if it is one of
    `pieces`, with nothing if that n° is another (paid) mandate of `numbers` or, when `local`
    (one sheet with n°s), absent from it. Another credit pairs with the first piece of the same payee (the
    SIREN when both have one, else the name, « QUINOA SOLIDAIRE » for « ASSOCIATION QUINOA
    SOLIDAIRE ») and the opposite amount whose n° no credit names; a credit naming no mandate but an
    invoice or credit note (`ref`, « Avoir sur facture F2024-118 ») pairs only with a piece naming
    the same one. `allowed(piece, credit)` may refuse a pair (another sheet's, another budget's)."""
    def same(p: dict, c: dict) -> bool:
        return p["cents"] == -c["cents"] and _same_payee_possible(p["siren"], p["name"], c["siren"], c["name"]) \
            and (allowed is None or allowed(p, c))

    # indexed by n° and by amount: an export has thousands of credits, no pair is sought among all
    by_no: dict[str, list[int]] = {}
    by_cents: dict[int, list[int]] = {}
    for i, p in enumerate(pieces):
        by_no.setdefault(p["no"], []).append(i)
        by_cents.setdefault(p["cents"], []).append(i)
    used_p: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[int, int]] = []
    named = {c["cites"] for c in credits if c.get("cites")}
    for j, c in enumerate(credits):
        if not c.get("cites"):
            continue
        i = next((i for i in by_no.get(c["cites"], []) if i not in used_p and same(pieces[i], c)), None)
        if i is not None:
            used_p.add(i)
            used_c.add(j)
            pairs.append((i, j))
    for j, c in enumerate(credits):
        if j in used_c or (c.get("cites") and (c["cites"] in numbers or (local and numbers))):
            continue
        i = next((i for i in by_cents.get(-c["cents"], []) if i not in used_p and pieces[i]["no"] not in named
                  and (not c.get("ref") or pieces[i].get("ref") == c["ref"]) and same(pieces[i], c)), None)
        if i is not None:
            used_p.add(i)
            pairs.append((i, j))
    return pairs


def _not_paid(df: pl.DataFrame, cols: dict[str, int]) -> list[pl.Expr]:
    """`_not_paid` (the cell that says the line was never paid) and `_not_paid_field` (its field).
    The words are looked for in the column's distinct values, a few, not in every row."""
    value, field = pl.lit(None, pl.String), pl.lit(None, pl.String)
    for name, words in (("direction", _REJECTED), ("payment_status", _NOT_PAID)):
        if name not in cols:
            continue
        c = f"_{name}"
        said = pl.Series(c, [x for x in df.select(pl.col(c).unique().drop_nulls())[c].to_list()
                             if _says_not_paid(x, words)], pl.String)
        hit = pl.col(c).is_in(said.implode())
        if name == "payment_status":
            done = pl.Series(c, [x for x in df.select(pl.col(c).unique().drop_nulls())[c].to_list()
                                 if _says_not_paid(x, _DONE_ON_POSITIVE)], pl.String)
            hit = hit | (pl.col(c).is_in(done.implode()) & (pl.col("_cents") > 0).fill_null(False))
        value = pl.when(value.is_null() & hit).then(pl.col(c).str.strip_chars()).otherwise(value)
        field = pl.when(field.is_null() & hit).then(pl.lit(name)).otherwise(field)
    return [value.alias("_not_paid"), field.alias("_not_paid_field")]


def _sense_header(header: str) -> bool:
    """A header that names a sign (« Sens », « D/C », « Débit/Crédit », « Type de mouvement »),
    not a piece type (« Type de pièce »): only such a column may contradict a written sign."""
    key = header_key(header)
    return key in _ALIAS_KEYS["direction"] or any(_has_words(key, w) for w in ("sens", "debit credit", "mouvement"))


def _apply_direction(df: pl.DataFrame, present: bool, piece_type: bool = False) -> pl.DataFrame:
    """A debit/credit column gives the line its sign: a credit written with a positive amount is
    negative. An explicit sign that contradicts the column, or a value that is neither, is not
    guessed: `_direction_issue` says why the row is quarantined. A piece type (« Mandat »,
    « Annulation ») is no sign: a credit piece counts negative whatever its written sign, and a
    « Mandat » written negative is a reduction already, counted as written."""
    if not present:
        return df.with_columns(pl.lit(None, pl.String).alias("_direction_issue"))
    sense = pl.col("_direction").str.strip_chars().str.to_lowercase().str.normalize("NFKD") \
        .str.replace_all(r"\p{M}", "")
    negated = sense.str.contains(_NEGATION)
    says_credit = sense.str.contains(_CREDIT)
    says_debit = sense.str.contains(_DEBIT)
    rejected = sense.str.contains(_REJECTED) & ~negated  # never paid: left out by `_not_paid`
    both = says_credit & says_debit & ~rejected
    credit = says_credit & ~says_debit & ~negated & ~rejected
    debit = ~says_credit & (says_debit | sense.str.contains(_MANDATE_WORD)) & ~negated & ~rejected
    cents = pl.col("_cents")
    plus = pl.col("amount_raw").str.strip_chars().str.starts_with("+").fill_null(False)
    issue = (pl.when((sense == "") | rejected).then(None)
             .when(both).then(pl.format(
                 "sens « {} » contradictoire (dit à la fois débit et crédit) : ligne non comptée",
                 pl.col("_direction")))
             .when(~credit & ~debit).then(pl.format(
                 "sens « {} » inconnu (attendu D/C, Débit/Crédit, Mandat/Annulation ou Réduction) : ligne non comptée",
                 pl.col("_direction")))
             .when(cents.is_null() | pl.lit(piece_type)).then(None)
             .when((credit & plus) | (debit & (cents < 0))).then(pl.format(
                 "sens « {} » contredit le signe du montant « {} » : ligne non comptée",
                 pl.col("_direction"), pl.col("amount_raw"))))
    return df.with_columns(
        pl.when(credit & (cents > 0) & (~plus | pl.lit(piece_type))).then(-cents).otherwise(cents).alias("_cents"),
        issue.alias("_direction_issue"))


def _python_pass(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
                 fmt: amounts.NumberFormat, options: ReadOptions,
                 delimited: bool, delim: str | None = None) -> tuple[pl.DataFrame, dict]:
    """The reasons of failing rows and the total rows, in Python over those rows only."""
    lines: dict[int, int] = {}

    def reason(field_name: str, row: int, text: str) -> str:
        """« ligne N » is the row number the user sees (Excel row, physical line of the CSV)."""
        return f"{where}, ligne {lines[row]}, champ « {header[cols[field_name]]} » : {text}"

    width = len(header)
    flags = df.select(
        "source_row", "source_line", "_hidden", "_blank", "_header_candidate", "_n_fields", "_extra_filled", "_amount", "_cents",
        "_over", "_ident_equal", "_code_shaped", "_shift_sign", "_supplier_name", "_siret", "_date", "_date_parsed",
        "_fy_text", "_label_candidate", "_raw", "_int_digits", "amount_raw", "_direction_issue",
        "_mandate_number", "_after_amount", "_date_issue", "_not_paid", "_not_paid_field", "_amount_issue",
        "_period", "_per_year", "_per_bad", "_unpaid", "_second_header", "_not_paid_why",
        *[f"_{f}" for f in _SUBTOTAL_FIELDS if f != "supplier_name"])
    fy_ok = pl.col("_fy_text").str.contains(r"^[0-9]{4}$") & pl.col("_fy_text").cast(
        pl.Int32, strict=False).is_between(MIN_YEAR, MAX_YEAR)
    suspicious = (
        pl.col("_blank") | pl.col("_header_candidate") | pl.col("_cents").is_null() | pl.col("_over")
        | pl.col("_ident_equal") | pl.col("_code_shaped")
        | ((pl.col("_supplier_name") == "") & (pl.col("_siret") == ""))
        | ((pl.col("_date") != "") & (pl.col("_date_parsed").is_null()
                                      | ~pl.col("_date_parsed").dt.year().is_between(MIN_YEAR, MAX_YEAR)))
        | ((pl.col("_fy_text") != "") & ~fy_ok)
        | pl.lit("date" in cols and "fiscal_year" not in cols) & (pl.col("_date") == "") & pl.col("_per_year").is_null()
        | (pl.col("_per_bad") & (pl.col("_date") == ""))
        | pl.col("_label_candidate") | pl.col("_direction_issue").is_not_null()
        | pl.col("_after_amount").is_not_null() | pl.col("_date_issue").is_not_null() | pl.col("_hidden")
        | pl.col("_not_paid").is_not_null() | pl.col("_amount_issue").is_not_null()
        | pl.col("_second_header").is_not_null()
        # a spreadsheet subtotal's label (« Nombre DSI », « ZORGLUB Total ») on a row without date or n°
        | ((pl.col("_date") == "") & (pl.col("_mandate_number") == "")
           & pl.any_horizontal([pl.col(f"_{f}").str.contains(_SUBTOTAL_SHAPE) for f in _SUBTOTAL_FIELDS]))
    )
    if delimited:
        suspicious = suspicious | pl.col("_extra_filled") | (pl.col("_n_fields") < width)
    cand = flags.with_row_index("_pos").filter(suspicious.fill_null(True))
    out: dict[int, dict] = {}

    for r in cand.iter_rows(named=True):
        row = r["source_row"]
        line = lines[row] = r["source_line"]
        text = r["_raw"] or ""
        r["_stripped"] = [c.strip() for c in (next(csv.reader([text], delimiter=delim)) if delim
                                              else text.split("\x1f"))] if text else []
        problems: list[str] = []
        amount_refused = False
        if r["_blank"]:
            out[row] = {"_status": "quarantined", "_kind": "blank",
                        "_reason": f"{where}, ligne {line} : ligne vide", "_pos": r["_pos"]}
            continue
        if r["_header_candidate"] and [header_key(c) for c in r["_stripped"][:width]] == \
                [header_key(c) for c in header]:
            out[row] = {"_status": "quarantined", "_kind": "header",
                        "_reason": f"{where}, ligne {line} : ligne d'en-tête répétée", "_pos": r["_pos"]}
            continue
        if r["_second_header"]:  # `_second_headers`: the lines below are read with it
            out[row] = {"_status": "quarantined", "_kind": "header", "_pos": r["_pos"],
                        "_reason": f"{where}, ligne {line} : {r['_second_header']}"}
            continue
        layout = _layout_kind(r) if r["_cents"] is None and (
            not (r["_amount"] or "").strip() or _EURO_UNIT.match(r["_amount"])) else None
        if layout:  # nothing of a payment, no amount: the printed page's furniture, not a lost line
            out[row] = {"_status": "quarantined", "_kind": "layout", "_pos": r["_pos"],
                        "_reason": f"{where}, ligne {line} : ligne de mise en page ({layout}), sans montant : ni "
                                   f"paiement ni total, hors du contrôle de la part en quarantaine"}
            continue
        if delimited and (r["_extra_filled"] or r["_n_fields"] < width):
            problems.append(f"{where}, ligne {line} : {r['_n_fields']} champs au lieu de {width} "
                            f"(séparateur dans une valeur non protégée par des guillemets, par exemple une "
                            f"virgule décimale ?) : ligne non lue pour ne rien décaler")
        elif r["_after_amount"] is not None:
            amount_refused = True
            problems.append(reason("amount", row, (
                f"montant « {r['_amount']} » suivi du champ « {r['_after_amount']} » : peut-être « {r['_amount']},"
                f"{r['_after_amount']} » coupé par une virgule décimale non protégée (fichier à virgules) : ligne "
                f"ambiguë, non comptée (mettre le montant entre guillemets)")))
        elif r["_amount_issue"]:
            amount_refused = True
            problems.append(reason("amount", row, r["_amount_issue"]))
        elif r["_unpaid"] is not None:  # a mandate not paid yet: no spending, accounted for apart
            amount_refused = True
            problems.append(reason("amount", row, (
                f"vide, « {header[cols['amount_mandated']].strip()} » = « {r['_unpaid']} » : {_UNPAID} : ligne "
                f"laissée hors de la dépense (row_kind = 'not_paid') ; elle compte dans l'export qui porte son "
                f"paiement")))
        elif "amount" in cols:
            refusals = _amount_problems(r, reason, fmt, options, cols)
            amount_refused = bool(refusals)
            problems.extend(refusals)
        if not r["_supplier_name"] and not r["_siret"]:
            f = "supplier_name" if "supplier_name" in cols else "siret"
            problems.append(reason(f, row, "ni fournisseur ni SIRET"))
        if not r["_date"] and "date" in cols and "fiscal_year" not in cols and r["_per_year"] is None:
            problems.append(reason("date", row, "date manquante"))
        if not r["_date"] and r["_per_bad"]:  # the period would give the quarter: never guessed
            problems.append(reason("period", row, f"période illisible « {r['_period']} » (attendu un mois : "
                                                  f"« Janvier », « 01/2024 », « T1 2024 »)"))
        if r["_date_issue"]:
            problems.append(reason("date", row, r["_date_issue"]))
        elif r["_date"] and (r["_date_parsed"] is None or not MIN_YEAR <= r["_date_parsed"].year <= MAX_YEAR):
            try:
                d = parse_date(r["_date"])
                if d is not None and not MIN_YEAR <= d.year <= MAX_YEAR:
                    problems.append(reason("date", row, f"date hors plage « {r['_date']} »"))
                elif d is not None:
                    out.setdefault(row, {})["_date_fallback"] = d
            except ValueError:
                problems.append(reason("date", row, f"date illisible « {r['_date']} »"))
        if r["_direction_issue"]:
            problems.append(reason("direction", row, r["_direction_issue"]))
        if r["_not_paid"]:  # rejected or cancelled: no spending, accounted for apart
            problems.insert(0, reason(r["_not_paid_field"], row, r["_not_paid_why"] or (
                f"« {r['_not_paid']} » : mandat rejeté ou annulé, jamais payé : ligne laissée hors de la dépense "
                f"(row_kind = 'not_paid')")))
        if r["_hidden"]:  # filtered out or hidden by hand: not what the file's reader sees
            problems.append(f"{where}, ligne {line} : ligne masquée dans le classeur (filtre ou ligne masquée) : "
                            f"non comptée (afficher la ligne si c'est un paiement)")
        fy = r["_fy_text"]
        if fy and not (re.fullmatch(r"[0-9]{4}", fy) and MIN_YEAR <= int(fy) <= MAX_YEAR):
            problems.append(reason("fiscal_year", row, f"exercice illisible « {fy} »"))
        entry = out.setdefault(row, {})
        ragged = delimited and (r["_extra_filled"] or r["_n_fields"] < width)
        # an amount refused (ceiling, identifier, code shape) or on a ragged row is no amount at all
        readable = r["_cents"] is not None and not amount_refused and not ragged
        # yet a number refused for its plausibility (an identifier's or a code's shape, under the
        # ceiling) may be what the line paid: it counts in the quarantined amount, never lost
        kept = r["_cents"] is not None and not ragged and not r["_over"] and amount_refused \
            and (r["_ident_equal"] or r["_code_shaped"]) and r["_after_amount"] is None
        siret_digits = re.sub(r"[^0-9]", "", r["_siret"] or "")
        entry.update({"_cents_readable": r["_cents"] if readable else None,
                      "_anon": not r["_supplier_name"] and not r["_siret"],
                      "_weak": bool(r["_label_candidate"]) and _weak_total_label(r["_stripped"]),
                      "_valid_siret": len(siret_digits) in (9, 14) and luhn_ok(siret_digits),
                      "_undated": "date" in cols and not r["_date"],
                      "_purchase_like": _purchase_like(r)})
        if entry["_anon"] and not entry["_purchase_like"]:  # for a count row (« Nombre de mandats : »)
            entry["_cells"] = [c for c in r["_stripped"] if c and _COUNT_LABEL.match(c)]
        if entry["_valid_siret"] and r["_label_candidate"]:
            entry["_tiers_footer"] = _tiers_footer(r)
            entry["_siren"] = siret_digits[:9]
            entry["_dated_columns"] = "date" in cols or "mandate_number" in cols
        if not entry["_purchase_like"] and not entry["_valid_siret"] and not r["_siret"]:
            first, n = max(r["_pos"] - SUBTOTAL_LOOKBACK, 0), min(r["_pos"], SUBTOTAL_LOOKBACK)
            entry["_statistic"] = _spreadsheet_subtotal(
                {f: r[f"_{f}"] for f in _SUBTOTAL_FIELDS},
                {f: flags[f"_{f}"].slice(first, n).to_list() for f in _SUBTOTAL_FIELDS},
                r["_cents"] if readable else None, flags["_cents"].slice(first, n).to_list())
        entry.update({"_pos": r["_pos"], "_kind": "data", "_amount_usable": readable or kept,
                      "_status": "quarantined" if problems else "ok", "_line": line,
                      "_hidden_row": bool(r["_hidden"]),
                      "_not_paid_row": bool(r["_not_paid"]) or r["_unpaid"] is not None,
                      "_reason": " ; ".join(problems) if problems else None,
                      "_label": _total_label(r["_stripped"]) if r["_label_candidate"] else None})
    facts = _mark_totals(df, out, where)
    facts["decimal_mark"] = fmt.decimal_mark
    for v in out.values():
        if v.get("_hidden_row") and v.get("_kind") == "data":
            v["_kind"] = "hidden"
        elif v.get("_not_paid_row") and v.get("_kind") == "data":
            v["_kind"] = "not_paid"
    schema = {"source_row": pl.Int64, "_status": pl.String, "_kind": pl.String, "_reason": pl.String,
              "_date_fallback": pl.Date, "_amount_usable": pl.Boolean}
    return pl.DataFrame([{"source_row": k, **{c: v.get(c) for c in list(schema)[1:]}} for k, v in out.items()],
                        schema=schema), facts


def _amount_problems(r: dict, reason, fmt: amounts.NumberFormat, options: ReadOptions,
                     cols: dict[str, int]) -> list[str]:
    row, text = r["source_row"], r["_amount"]
    if r["_over"]:
        return [reason("amount", row, f"montant « {text} » au-delà du plafond de "
                       f"{_eur_text(options.max_line_amount_eur)} par ligne (achats.toml [controles] "
                       f"plafond_ligne_eur) : refusé")]
    if r["_cents"] is None:
        if not text:
            return [reason("amount", row, "montant manquant")]
        if text.startswith("="):
            return [reason("amount", row, f"formule sans valeur calculée (ouvrir puis enregistrer le fichier dans "
                           f"le tableur) « {text[:60]} »")]
        return [reason("amount", row, amounts.refusal(text, fmt))]
    if r["_ident_equal"]:
        return [reason("amount", row, f"montant « {text} » égal à un identifiant de la ligne (SIRET, "
                       f"n° de mandat, code) : probablement collé dans la mauvaise colonne, refusé")]
    if r["_code_shaped"]:
        digits = r["_int_digits"]
        shaped = len(digits) in (5, 8) or luhn_ok(digits)
        if shaped:
            kind = {5: "d'un code postal", 8: "d'un code CPV", 9: "d'un SIREN", 14: "d'un SIRET"}[len(digits)]
            shift = f", sur une ligne qui semble décalée ({r['_shift_sign']})" if r["_shift_sign"] else ""
            return [reason("amount", row, f"montant « {text} » sans centimes, avec la forme {kind}, dans "
                           f"un fichier dont les montants ont des centimes{shift} : refusé, compté dans le montant "
                           f"en quarantaine")]
    return []


def _eur_text(value: Decimal) -> str:
    return f"{int(value):,}".replace(",", " ") + " €"


def _total_label(cells: list[str]) -> str | None:
    """The cell that names the row a total, if one does (strong label)."""
    for c in cells:
        if c and _TOTAL_STRONG_WHOLE.search(c):
            return c
    return None


def _purchase_like(r: dict) -> bool:
    """The row has what a purchase has and a total row has not: an identifier, a date or a n° of
    mandate or invoice. Each of them is written with digits, and is no total label: « Total
    général » or « Total 2024 » typed in the n° of mandate column is a label, not an identifier."""
    return any(re.search(r"[0-9]", r[f] or "") and not _TOTAL_STRONG_WHOLE.search(r[f] or "")
               for f in ("_siret", "_date", "_mandate_number"))


# what a per-supplier footer says after « Total » (« Total tiers », « Total fournisseur F0012 »)
_TIERS_WORD = re.compile(r"(?i)^\s*(?:sous[- ]?)?total(?:e|es|aux)?\s+(?:du |des |par |pour )?(?:le |la |l')?"
                         r"(?:tiers|fournisseurs?|cr[ée]anciers?|b[ée]n[ée]ficiaires?|prestataires?|titulaires?"
                         r"|attributaires?|entreprises?|soci[ée]t[ée]s?|raison sociale|code)\b")


def _tiers_footer(r: dict) -> dict | None:
    """A supplier block's footer in a « mandats par tiers » report repeats the block's SIRET and
    name, and has no date and no n° of mandate: its total label is in another cell (« Total
    tiers » in the Libellé column) or prefixes the name (« Total tiers ZORGLUB »). Its amount is
    checked against the block by `_mark_totals`; the name alone (« TOTAL ENERGIES ») is no label."""
    if any(re.search(r"[0-9]", r[f] or "") and not _TOTAL_STRONG_WHOLE.search(r[f] or "")
           for f in ("_date", "_mandate_number")):
        return None
    name = (r["_supplier_name"] or "").strip()
    for c in r["_stripped"]:
        if c and c != name and (_TOTAL_STRONG_WHOLE.search(c) or _weak_total_label([c])):
            return {"label": c, "in_name": False,
                    "tiers_word": bool(_TOTAL_STRONG_WHOLE.search(c) or _TIERS_WORD.search(c))}
    if name and re.match(_LABEL_START, name):
        return {"label": name, "in_name": True, "tiers_word": False}
    return None


def _name_key(text: str) -> str:
    return " ".join(text.casefold().split())


class _TiersRows:
    """Each row's SIREN, name and amount, read once for a file with SIRET footer candidates; the
    block of a footer is walked up from it, so that a file costs its length, not its square."""

    def __init__(self, df: pl.DataFrame, skip: set[int]):
        cols = df.select(
            pl.col("_siret").fill_null("").str.replace_all(r"[^0-9]", "").str.slice(0, 9).alias("s"),
            pl.col("_supplier_name").fill_null("").str.to_lowercase().str.replace_all(r"\s+", " ")
            .str.strip_chars().alias("n"), pl.col("_cents"))
        self.siren, self.name, self.cents = cols["s"].to_list(), cols["n"].to_list(), cols["_cents"].to_list()
        self.skip = skip  # blank lines, repeated headers, statistics and the other footers

    def one_supplier(self, start: int, end: int, e: dict) -> bool:
        """Whether the rows between the previous total and a SIRET footer are that supplier's rows:
        each with its SIREN (or, without a SIRET, its name); a name-cell label names them too."""
        names, unnamed, seen = set(), set(), False
        for p in range(end - 1, start - 1, -1):
            if p in self.skip:
                continue
            if self.siren[p] == e["_siren"]:
                seen = True
                names.add(self.name[p])
            elif self.siren[p]:
                return False
            else:
                unnamed.add(self.name[p])
        names.discard("")
        if not seen or not unnamed <= names | {""}:
            return False
        if e["_tiers_footer"]["in_name"]:
            label = _name_key(e["_tiers_footer"]["label"])
            return bool(names) and all(n != label and n in label for n in names)
        return True

    def names_above(self, start: int, end: int, e: dict) -> bool:
        """Whether a name-cell label (« Total tiers ZORGLUB ») names the lines of its SIREN just above."""
        label = _name_key(e["_tiers_footer"]["label"])
        for p in range(end - 1, start - 1, -1):
            if p in self.skip:
                continue
            return self.siren[p] == e["_siren"] and bool(self.name[p]) and self.name[p] != label \
                and self.name[p] in label
        return False

    def run_sum(self, start: int, end: int, siren: str) -> int:
        """The sum of the supplier's lines just above a footer (for its message)."""
        total = 0
        for p in range(end - 1, start - 1, -1):
            if p in self.skip:
                continue
            if self.siren[p] != siren:
                break
            total += self.cents[p] or 0
        return total


# print layout: a page number (« Page 1/2 », « - 3 - »), an edition stamp, a unit under the header
_PAGE_MARK = re.compile(r"(?i)^\s*(?:(?:page|p\.|folio)\s*:?\s*[0-9]+(?:\s*(?:/|sur|of|de)\s*[0-9]+)?"
                        r"|[-–]\s*[0-9]+\s*[-–])\s*$")
_EDITION_MARK = re.compile(r"(?i)^\s*(?:[ée]dit[ée]|imprim[ée]|g[ée]n[ée]r[ée]|extrait)\s+le\b")
_EURO_UNIT = re.compile(r"(?i)^\s*\(?\s*(?:montants?\s+)?(?:en\s+)?(?:€|eur|euros?)\s*\)?\s*$")


_COUNT_LABEL = re.compile(r"(?i)^\s*(?:nombre|nb|nbre)\.?\s+(?:de\s+|d')?(?:mandats?|lignes?|factures?|pi[èe]ces?"
                          r"|paiements?|op[ée]rations?|[ée]critures?|titres?)\b[^0-9]*$")


def _count_label(e: dict) -> str | None:
    return next((c for c in e.get("_cells", []) if _COUNT_LABEL.match(c)), None)


def _layout_kind(r: dict) -> str | None:
    """What a row without amount, SIRET nor date is, when it is the printed page's furniture: a
    page number, an edition stamp, a unit row (« (en €) ») or a lone title (one cell of words,
    outside the supplier's column). A lone cell in the supplier's column may be a payment whose
    amount is missing (or a group's name): it stays a quarantined data line."""
    if r["_siret"] or r["_date"]:
        return None
    cells = [c for c in r["_stripped"] if c]
    if not cells:
        return None
    if all(_PAGE_MARK.match(c) for c in cells):
        return "numéro de page"
    if all(_EDITION_MARK.match(c) for c in cells):
        return "date d'édition"
    if all(_EURO_UNIT.match(c) for c in cells):
        return "unité des montants"
    if len(cells) == 1 and cells[0] != (r["_supplier_name"] or "").strip() and re.search(r"[^\W\d_]", cells[0]) \
            and " " in cells[0].strip() and not _LABEL_START_RE.match(cells[0]):
        return "titre ou note sur une seule cellule"
    return None


_LABEL_START_RE = re.compile(_LABEL_START)


def _weak_total_label(cells: list[str]) -> bool:
    return any(re.match(r"(?i)^\s*total(?:e|es|aux)?\b", c or "") for c in cells)


# what a spreadsheet's Données > Sous-total writes beside the group's name, in French or English
# (« Nombre DSI », « DSI Total », « Moyenne Voirie », « Voirie Average », « Max général »)
_SUBTOTAL_WORDS = (r"total|somme|nombre|nb|nbval|chiffres|moyenne|max|min|produit|[ée]cartypep?|varp?|count"
                   r"|count numbers|average|sum|product|std ?devp?")
_SUBTOTAL_SHAPE = rf"(?i)^\s*(?:{_SUBTOTAL_WORDS})\s+\S|\S\s+(?:{_SUBTOTAL_WORDS})\s*$"
_SUBTOTAL_FUNCTION = re.compile(rf"^(?:{_SUBTOTAL_WORDS})$".replace("[ée]", "e"))
_SUBTOTAL_GRAND = re.compile(r"^(?:(.+) (?:general|generale)|grand (.+))$")
# the text columns where a subtotal row writes its label (the column the list is grouped by)
_SUBTOTAL_FIELDS = ("buying_entity", "supplier_name", "category", "commune")
SUBTOTAL_LOOKBACK = 24  # rows above where the group's name is looked for (11 functions, stacked twice)


def _spreadsheet_subtotal(values: dict[str, str], above: dict[str, list[str]], cents: int | None,
                          above_cents: list[int | None]) -> str | None:
    """The label of a spreadsheet subtotal row (a count, an average, a total of a group) on a row
    without a payment's date, n° or SIRET: « <fonction> <groupe> » or « <groupe> <fonction> » right
    under the group's rows (or under the group's other subtotals), whose amount is a statistic of
    that block (sum, count, average, max, min…), or « <fonction> général ». A supplier named
    « TOTAL DIRECT ENERGIE » or « MAX DISTRIBUTION » in an alphabetical list has its own amount and
    no block of its name right above it: it stays a payment."""
    for f, cell in values.items():
        key = header_key(cell) if cell else ""
        if not key:
            continue
        grand = _SUBTOTAL_GRAND.match(key)
        if grand and _SUBTOTAL_FUNCTION.match(grand.group(1) or grand.group(2)):
            return cell
        words = key.split(" ")
        groups = {" ".join(words[cut:]) for cut in range(1, len(words)) if _SUBTOTAL_FUNCTION.match(" ".join(words[:cut]))}
        groups |= {" ".join(words[:cut]) for cut in range(1, len(words)) if _SUBTOTAL_FUNCTION.match(" ".join(words[cut:]))}
        keys = [header_key(v) if v else "" for v in above.get(f, [])]
        for group in groups:
            if cents is not None and any(_is_statistic(cents, b) for b in _group_block(keys, above_cents, group)):
                return cell
    return None


def _group_block(keys: list[str], cents: list[int | None], group: str) -> list[list[int]]:
    """The amounts of the group's rows right above a subtotal row, walking up until another value
    of the column: the group's other subtotals (« DSI Total » above « Nombre DSI ») and the rows
    where the column is empty (a nested subtotal, a merged cell) are passed. Two blocks: the
    group's rows alone (a nested subtotal is not summed again), and with the empty rows' amounts
    (the rows of a merged cell)."""
    strict: list[int] = []
    loose: list[int] = []
    seen = False
    for key, c in zip(reversed(keys), reversed(cents), strict=True):
        if key == group:
            seen = True
            if c is not None:
                strict.append(c)
                loose.append(c)
        elif not key:
            if c is not None:
                loose.append(c)
        elif not _subtotal_of(key, group):
            break
    return [b for b in (strict, loose) if b] if seen else []


def _subtotal_of(key: str, group: str) -> bool:
    """« <fonction> <groupe> » or « <groupe> <fonction> »."""
    if key.startswith(group + " "):
        return bool(_SUBTOTAL_FUNCTION.match(key[len(group) + 1:]))
    if key.endswith(" " + group):
        return bool(_SUBTOTAL_FUNCTION.match(key[:-len(group) - 1]))
    return False


def _is_statistic(cents: int, block: list[int]) -> bool:
    """Whether an amount is one of the statistics a spreadsheet's subtotal computes over a block
    (sum, count, average, max, min, product, standard deviation, variance), to the cent."""
    n = len(block)
    mean = sum(block) / n
    stats = [sum(block), n * 100, mean, max(block), min(block)]
    product = 1.0
    for c in block:
        product *= c / 100
    stats.append(product * 100)
    if n > 1:
        ss = sum((c - mean) ** 2 for c in block)
        for d in (n - 1, n):  # sample and population
            stats += [(ss / d) ** 0.5, ss / d / 100]
    return any(abs(cents - s) <= max(1.0, abs(s) * 1e-9) for s in stats)


def _mark_totals(df: pl.DataFrame, out: dict[int, dict], where: str) -> dict:
    """Total rows: a total label in any cell, or the sum of a block (since the previous total)
    or of the file so far. Walks the candidate rows in order with prefix sums of the others."""
    cands = sorted((v["_pos"], row) for row, v in out.items()
                   if v.get("_kind") == "data" and (v.get("_label") or v.get("_weak") or v.get("_anon")
                                                            or v.get("_statistic")))
    facts: dict = {"declared_total_cents": None, "declared_total_row": None}
    if not cands:
        return facts
    every = {v["_pos"] for v in out.values()}
    positions = pl.Series("p", sorted(every), dtype=pl.UInt32)
    base = df.select(
        pl.when(pl.int_range(pl.len()).is_in(positions)).then(0).otherwise(pl.col("_cents"))
        .fill_null(0).alias("v"),
        pl.when(pl.int_range(pl.len()).is_in(positions)).then(0).otherwise(1).alias("n"))
    base = base.with_columns((pl.col("v").cum_sum() - pl.col("v")).alias("cv"),
                             (pl.col("n").cum_sum() - pl.col("n")).alias("cn"))
    at = base[[p for p, _ in cands]]
    cv, cn = at["cv"].to_list(), at["cn"].to_list()
    # corrections for candidates that turn out not to be totals, and for the rows of `out` that
    # are no candidates (quarantined or checked rows left out of the prefix sums above)
    cand_rows = {p: row for p, row in cands}
    others = sorted((v["_pos"], v) for v in out.values() if v.get("_kind") == "data" and v["_pos"] not in cand_rows)
    corr_ok = corr_all = corr_n = 0
    base_ok = base_all = base_n = 0
    totals: list[tuple] = []
    oi = 0
    last_data_pos = base_pos = -1
    kinds = {v["_pos"]: v.get("_kind") for v in out.values()}
    footers = {v["_pos"] for v in out.values() if v.get("_tiers_footer")}
    tiers: _TiersRows | None = None
    non_cand_max = df.height - 1
    while non_cand_max >= 0 and non_cand_max in every:
        non_cand_max -= 1
    for k, (pos, row) in enumerate(cands):
        while oi < len(others) and others[oi][0] < pos:
            e = others[oi][1]
            oi += 1
            _add(e)
            corr_ok += e["_ok_cents"]
            corr_all += e["_all_cents"]
            corr_n += 1
        e = out[row]
        pre_ok, pre_all, pre_n = cv[k] + corr_ok, cv[k] + corr_all, cn[k] + corr_n
        block_ok, block_all, block_n = pre_ok - base_ok, pre_all - base_all, pre_n - base_n
        c = e["_cents_readable"]
        sums = {block_ok, block_all, pre_ok, pre_all}
        # a label alone is no proof when the row has what a purchase has (« SOUS-TOTAL PRODUCTIONS »
        # with its SIRET, date and n° of mandate): then its amount must also be a sum
        is_total = bool(e.get("_label")) and not e["_valid_siret"] and (
            not e.get("_purchase_like") or (c is not None and c in sums and c != 0))
        if not is_total and c is not None and not e["_valid_siret"] and c in sums and c != 0:
            needed = 1 if e["_anon"] or e.get("_undated") else 2
            # structure alone does not make a total of a row with a date or a n° of mandate (a
            # mandate whose supplier cell is merged above it, equal to the mandates before it by
            # chance): it stays a payment, quarantined for its own reason, as with a total label
            anon_total = e["_anon"] and not e.get("_purchase_like")
            is_total = (anon_total or e["_weak"]) and block_n >= needed
            # a grand total right under the last subtotal has an empty block: the whole file's sum
            # so far, on a row with nothing of a payment, after a total row, is the file's total
            is_total = is_total or ((anon_total or (e["_weak"] and not e.get("_purchase_like")))
                                    and block_n == 0 and bool(totals) and c in (pre_ok, pre_all))
        footer = e.get("_tiers_footer") if e["_valid_siret"] else None
        if footer and tiers is None:
            tiers = _TiersRows(df, {p for p, k in kinds.items() if k != "data"} | footers)
        if not is_total and footer and c is not None and c != 0 and c in (block_ok, block_all):
            is_total = tiers.one_supplier(base_pos + 1, pos, e)
            if is_total and not e.get("_label") and not footer["in_name"]:
                e["_label"] = footer["label"]  # named in the reason (a name cell is not quoted)
        failed_footer = not is_total and footer and e["_dated_columns"] and (
            (footer["tiers_word"] and not footer["in_name"])
            or (footer["in_name"] and tiers.names_above(base_pos + 1, pos, e)))
        if failed_footer:
            # a supplier's total row whose amount is not its block's sum: counted nowhere, said
            shown = "illisible" if c is None else _cents_text(c)
            own = tiers.run_sum(base_pos + 1, pos, e["_siren"])
            e.update(_status="quarantined", _reason=" ; ".join(x for x in (e.get("_reason"), (
                f"{where}, ligne {e['_line']} : ligne de total d'un tiers ("
                f"{'libellé de total devant son nom' if footer['in_name'] else '« ' + footer['label'] + ' »'}, même SIRET, "
                f"sans date ni n° de mandat) dont le montant {shown} n'est pas la somme des lignes de ce seul "
                f"tiers depuis le total précédent (ses lignes juste au-dessus font {_cents_text(own)}) : ni "
                f"paiement ni total, non comptée (vérifier l'export)")) if x))
        if not is_total and c is not None and e["_anon"] and not e.get("_purchase_like") \
                and c in (100 * block_n, 100 * pre_n) and c > 0 and _count_label(e):
            # « Nombre de mandats : 3 » under the lines: a count of them, no amount; it ends no block
            e.update(_status="quarantined", _kind="total",
                     _reason=f"{where}, ligne {e['_line']} : ligne de décompte (« {_count_label(e)} », égal au nombre "
                             f"de lignes au-dessus) : un nombre de lignes, pas un montant : hors totaux")
            continue
        if not is_total and e.get("_statistic"):
            # a count or an average is no sum: it ends no block and is no file total, it only counts nowhere
            e.update(_status="quarantined", _kind="total",
                     _reason=f"{where}, ligne {e['_line']} : ligne de sous-total du tableur (« {e['_statistic']} » : "
                             f"nombre, moyenne ou total d'un groupe de lignes) : hors totaux")
            continue
        if is_total:
            label = f" (« {e['_label']} »)" if e.get("_label") else ""
            how = " égale à la somme des lignes précédentes" if c is not None and c in sums else ""
            e.update(_status="quarantined", _kind="total",
                     _reason=f"{where}, ligne {e['_line']} : ligne de total{label}{how} : hors totaux")
            totals.append((pos, row, c, e.get("_label"), c is not None and c in (pre_ok, pre_all),
                           c is not None and c in (block_ok, block_all), len(totals)))
            base_ok, base_all, base_n = pre_ok, pre_all, pre_n
            base_pos = pos
        else:
            _add(e)
            corr_ok += e["_ok_cents"]
            corr_all += e["_all_cents"]
            corr_n += 1
            last_data_pos = max(last_data_pos, pos)
            if failed_footer:  # it still closes its block: the next supplier's footer sums from here
                base_ok, base_all, base_n, base_pos = pre_ok + e["_ok_cents"], pre_all + e["_all_cents"], pre_n + 1, pos
    last_data_pos = max(last_data_pos, non_cand_max,
                        max((v["_pos"] for v in out.values() if v.get("_kind") == "data"), default=-1))
    trailing = [t for t in totals if t[0] > last_data_pos]
    if trailing:
        pos, row, c, label, file_match, block_match, n_before = trailing[-1]
        grand = bool(label and _GRAND_TOTAL.search(label))
        if file_match or grand or not (block_match and n_before > 0):
            facts = {"declared_total_cents": c, "declared_total_row": row}
    return facts


def _add(e: dict) -> None:
    """What a non-total row adds to the running sums (accepted only / every readable amount)."""
    c = e.get("_cents_readable")
    e["_ok_cents"] = c if (e.get("_status") == "ok" and c is not None) else 0
    e["_all_cents"] = c if c is not None else 0


_NAME_EXERCICE = re.compile(r"(?:exercices?|exo|budget|annee)[ _.-]*((?:19|20)[0-9]{2})(?![0-9])")
# a year with a month beside it (2025-01-15, 20250115, 15-01-2025, 2025_01) is a day or month of
# extraction, not a budget year; so is a year just after « extrait », « édition », « généré »
_NAME_DATE = re.compile(r"(?<![0-9])(?:(?:19|20)[0-9]{2}[ _.-]?(?:0[1-9]|1[0-2])(?:[ _.-]?[0-3][0-9])?"
                        r"|(?:[0-3][0-9][ _.-]?)?(?:0[1-9]|1[0-2])[ _.-]?(?:19|20)[0-9]{2})(?![0-9])")
_NAME_EXTRACTION = re.compile(r"(?:extrait|extraction|extract|edition|edite|genere|generation|maj|mise a jour)"
                              r"[ _.-]*(?:du|le|au)?[ _.-]*((?:19|20)[0-9]{2})(?![0-9])")


def _name_stem(where: str) -> str:
    stem = Path(where.split(" (feuille")[0]).stem.casefold()
    return "".join(ch for ch in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(ch))


def _year_in_name(where: str) -> int | None:
    """The budget year a file's name states, for an export with neither date nor Exercice column:
    « exercice_2024 » or one bare year (« mandats_2024.csv »). A full date or a year-month
    (« extrait_2025-01-15 ») is when the file was extracted, not when its payments were made."""
    stem = _name_stem(where)
    stated = {int(y) for y in _NAME_EXERCICE.findall(stem)}
    if not stated:  # the dates of extraction taken out, one year left alone
        rest = _NAME_EXTRACTION.sub(" ", _NAME_DATE.sub(" ", stem))
        stated = {int(y) for y in re.findall(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])", rest)}
    return stated.pop() if len(stated) == 1 and MIN_YEAR <= min(stated) <= MAX_YEAR else None


def _name_period_note(where: str, n_rows: int) -> str | None:
    """French warning for a file without date or Exercice column whose name gives no budget year."""
    if _year_in_name(where) is not None:
        return None
    stem = _name_stem(where)
    found = _NAME_DATE.search(stem) or _NAME_EXTRACTION.search(stem)
    why = (f"« {found.group(0).strip(' _.-')} » dans son nom est une date (celle de l'extraction ?), pas "
           f"un exercice" if found else "son nom ne donne pas un exercice (« exercice_2024 » ou une année seule)")
    return (f"{where} : ni colonne de date ni colonne Exercice, et {why} : ses {n_rows} lignes sont comptées "
            f"dans « sans date » (ajoutez une colonne Exercice ou nommez le fichier « …_exercice_AAAA »)")


def _finish(df: pl.DataFrame, cols: dict[str, int], header: list[str], where: str,
            name_year: int | None = None) -> pl.DataFrame:
    """Dates, years and quarters; the Exercice is the line's year (see README)."""
    df = df.drop([c for c in ("_n_fields", "_extra_filled", "_header_candidate", "_label_candidate",
                              "_amount_num", "_int_digits", "_has_fraction", "_too_long", "_code_shaped",
                              "_shift_sign")
                  if c in df.columns])
    in_range = pl.col("_date_parsed").dt.year().is_between(MIN_YEAR, MAX_YEAR)
    date = pl.coalesce(pl.when(in_range).then(pl.col("_date_parsed")), pl.col("_date_fallback"))
    fy_stated = pl.when(pl.col("_fy_text").str.contains(r"^[0-9]{4}$")).then(
        pl.col("_fy_text").cast(pl.Int32, strict=False))
    fy_stated = pl.when(fy_stated.is_between(MIN_YEAR, MAX_YEAR)).then(fy_stated)
    df = df.with_columns(date.alias("purchase_date"), fy_stated.alias("_fy"))
    undated = pl.col("purchase_date").is_null()
    # a line without a date takes its month from the month or period column, its year from the
    # period, else the Exercice (else the file's name): the same rules as a date (see README)
    per_year = pl.coalesce(pl.col("_per_year"), pl.col("_fy"), pl.lit(
        name_year if "date" not in cols and "fiscal_year" not in cols else None, pl.Int32))
    year = pl.col("purchase_date").dt.year().cast(pl.Int32)
    month = pl.col("purchase_date").dt.month()
    # only then: a file without a period (column, or month-only dates) keeps the plain expressions
    if "period" in cols or df["_per_month"].is_not_null().any():
        year = pl.when(undated).then(per_year).otherwise(year).cast(pl.Int32)
        month = pl.when(undated).then(pl.col("_per_month")).otherwise(month)
    month_q = ((month - 1) // 3 + 1).cast(pl.Int32)
    gap = year - pl.col("_fy")
    # year * 10 + quarter, written as text once per distinct value (a few dozen), not per line
    quarter_code = (pl.when(year.is_null() | month.is_null()).then(None)
                    .when(pl.col("_fy").is_null() | (gap == 0)).then(year * 10 + month_q)
                    .when(gap == 1).then(pl.col("_fy") * 10 + 4)
                    .when(gap == -1).then(pl.col("_fy") * 10 + 1))
    codes = df.select(quarter_code.cast(pl.Int32).alias("q"))["q"]
    quarter = codes.replace_strict({c: f"{c // 10}-Q{c % 10}" for c in codes.unique().drop_nulls().to_list()},
                                   default=None, return_dtype=pl.String)
    fy_label = header[cols["fiscal_year"]] if "fiscal_year" in cols else ""
    per_gap = (pl.col("_per_year") - pl.col("_fy")).abs()
    mismatch = pl.col("_fy").is_not_null() & (
        pl.col("purchase_date").is_not_null() & (gap.abs() > 1) | undated & (per_gap > 1))
    mismatch_reason = pl.when(undated).then(pl.format(
        f"{where}, ligne {{}}, champ « {fy_label} » : exercice {{}} incohérent avec la période « {{}} »",
        pl.col("source_line"), pl.col("_fy"), pl.col("_period"))).otherwise(pl.format(
        f"{where}, ligne {{}}, champ « {fy_label} » : exercice {{}} incohérent avec la date {{}}",
        pl.col("source_line"), pl.col("_fy"), pl.col("_date")))
    status = pl.col("_status").fill_null("ok")
    kind = pl.col("_kind").fill_null("data")
    # the reason is worded on the mismatched rows only (a when/then would word it for every line)
    mismatched = df.select((mismatch & kind.is_in(["data", "hidden"])).fill_null(False)).to_series().arg_true()
    reason = df["_reason"]
    if not mismatched.is_empty():
        worded = df[mismatched].select(pl.when(pl.col("_reason").is_null()).then(mismatch_reason)
                                       .otherwise(pl.col("_reason") + " ; " + mismatch_reason))
        reason = reason.cast(pl.String).scatter(mismatched, worded.to_series())
    df = df.with_columns(
        # a line's month or period stands for its date in the rows' meaning (`_row_hashes`, `_fingerprint`)
        pl.when((pl.col("_date").fill_null("") == "") & (pl.col("_period").fill_null("") != ""))
        .then(pl.col("_period")).otherwise(pl.col("_date")).alias("_date"),
        pl.when((status == "ok") & mismatch).then(pl.lit("quarantined")).otherwise(status).alias("status"),
        reason.alias("quarantine_reason"),
        kind.alias("row_kind"),
        pl.coalesce(pl.col("_fy"), pl.col("purchase_date").dt.year().cast(pl.Int32), pl.col("_per_year"), pl.lit(
            name_year if "date" not in cols and "fiscal_year" not in cols else None, pl.Int32))
        .alias("fiscal_year"),
        pl.col("_fy").is_not_null().alias("fiscal_year_stated"),
        quarter.alias("quarter"),
        pl.when(pl.col("_amount_usable").fill_null(True) & pl.col("_cents").is_not_null())
        .then((pl.col("_cents").cast(pl.Decimal(18, 2), strict=False) / 100).cast(pl.Decimal(18, 2)))
        .alias("amount_eur"),  # exact: integer cents to DECIMAL(18, 2)
    )
    return df.drop("_date_parsed", "_date_fallback", "_date_issue", "_fy_text", "_status", "_reason", "_kind",
                   "_over", "_ident_equal", "_fy", "_amount_usable", "_per_year", "_per_month", "_per_bad")


_FIELD_COLUMNS = {"supplier_name": "supplier_name", "siret": "siret_raw", "category": "category",
                  "buying_entity": "buying_entity", "mandate_number": "mandate_number",
                  "commune": "commune_raw", "commune_other": "commune_other_raw"}


def _sheet_lines(table: CellTable, display: str, options: ReadOptions) -> tuple[pl.DataFrame, dict]:
    df, facts = table_to_frame(table, display, options, delimited=table.sheet is None)
    df = df.with_columns(
        *[pl.when(pl.col(f"_{f}") != "").then(pl.col(f"_{f}")).alias(out) for f, out in _FIELD_COLUMNS.items()],
        pl.when(pl.col("amount_raw") != "").then(pl.col("amount_raw")).alias("amount_raw"),
        pl.lit(display).alias("source_file"), pl.lit(table.sheet, pl.String).alias("source_sheet"),
        ((pl.col("_occurrence") > 0) & (pl.col("status") == "ok") & ~pl.col("_blank")).alias("is_duplicate"),
        pl.lit(None, pl.String).alias("duplicate_of"),
        # a credit's cited mandate n°, and the invoice of a « N° facture » cell (as `_invoice_ref`
        # writes it), else the one a credit's text names (`_reversal_refs`)
        (pl.col("_cited") if "_cited" in df.columns else pl.lit(None, pl.String)).alias("cited_mandate"),
        pl.coalesce(
            pl.col("_invoice_ref").fill_null("").str.to_lowercase().str.normalize("NFKD")
            .str.replace_all(r"[^a-z0-9]", "").pipe(lambda k: pl.when(k.str.contains(r"[0-9]")).then(k))
            if "_invoice_ref" in df.columns else pl.lit(None, pl.String),
            pl.col("_said_ref") if "_said_ref" in df.columns else pl.lit(None, pl.String)).alias("invoice_ref"),
    )
    # what later steps read (fingerprint, overlaps, synthesis sheets, line ids), the rest freed now
    keep = [c for c in OUTPUT_SCHEMA if c in df.columns] + ["_cents", "_date", "_amount", "_fiscal_year"]
    df = df.select(keep)
    df = _repeated_parts(df, display, table.sheet)
    if table.hidden:  # stale or scratch data kept out of sight: accounted for, counted nowhere
        df = _set_rows(df, pl.lit(True), "quarantined", "hidden", pl.format(
            f"{display} (feuille « {table.sheet} ») : feuille masquée, ligne {{}} non comptée (rendre la "
            f"feuille visible si ses lignes sont des paiements)", pl.col("source_line")))
    if facts.get("receipts"):  # titres de recette: money received, no purchase; accounted for apart
        where = display + (f" (feuille « {table.sheet} »)" if table.sheet else "")
        df = _set_rows(df, pl.lit(True), "quarantined", "receipt", pl.format(
            f"{where}, ligne {{}} : titre de recette ({facts['receipts']}) : une recette n'est pas un achat, "
            f"ligne non comptée dans la dépense (si ce sont des paiements, renommer la feuille, le fichier ou "
            f"l'en-tête du n°)", pl.col("source_line")))
    facts["data_row_count"] = df.height
    facts["encoding"] = None if table.encoding in ("utf-8", "utf-8-sig") else \
        ENCODING_LABELS.get(table.encoding, table.encoding)
    return df, facts


def _repeated_parts(df: pl.DataFrame, display: str, sheet: str | None) -> pl.DataFrame:
    """A header repeated inside a file cuts it into parts (exports pasted one after the other). A
    part whose rows are exactly those of an earlier part is the same export twice, like a copied
    file: its rows are `duplicate` (of the file itself, row kind `repeated`), counted nowhere.
    Identical rows within one part stay separate payments (see README)."""
    where = display + (f" (feuille « {sheet} »)" if sheet else "")
    headers = df["row_kind"] == "header"
    if not headers.any():
        return df
    df = df.with_columns(headers.cum_sum().alias("_part"))
    data = df.filter(pl.col("row_kind") == "data")
    seen: dict[str, int] = {}
    for part in data["_part"].unique(maintain_order=True).to_list():
        rows = data.filter(pl.col("_part") == part)
        key = _fingerprint(rows)
        first = seen.setdefault(key, part)
        if first == part:
            continue
        mine = df.filter((pl.col("_part") == part) & (pl.col("row_kind") == "data"))["source_line"]
        theirs = df.filter((pl.col("_part") == first) & (pl.col("row_kind") == "data"))["source_line"]
        header_line = df.filter(headers & (pl.col("_part") == part))["source_line"][0]
        df = _set_rows(df, pl.col("_part") == part, "duplicate", "repeated", pl.format(
            f"{where}, ligne {{}} : partie répétée du fichier (en-tête répété ligne {header_line}) : les lignes "
            f"{mine.min()} à {mine.max()} reprennent à l'identique les lignes {theirs.min()} à {theirs.max()} : "
            f"ligne non comptée", pl.col("source_line")), pl.lit(display))
        df = df.with_columns(pl.when(pl.col("_part") == part).then(False).otherwise(pl.col("is_duplicate"))
                             .alias("is_duplicate"))
    return _cumulative_parts(df.drop("_part"), display, where)


def _row_hashes(df: pl.DataFrame) -> list[int]:
    """Each row's meaning (the fields `_fingerprint` hashes), in file order."""
    return df.select(pl.concat_str([
        pl.col("supplier_name"), pl.col("siret_raw"), pl.col("_cents").cast(pl.String).fill_null(pl.col("_amount")),
        pl.col("purchase_date").cast(pl.String).fill_null(pl.col("_date")), pl.col("_fiscal_year"),
        pl.col("category"), pl.col("buying_entity"), pl.col("mandate_number")], separator="\x1f",
        ignore_nulls=True).hash(seed=7)).to_series().to_list()


def _cumulative_parts(df: pl.DataFrame, display: str, where: str) -> pl.DataFrame:
    """A cumulative export pasted after the previous one (January, then January–February): a part
    whose rows, in order, are the first rows of a later part of the file is the same payments again;
    its rows are `duplicate` (kind `repeated`), counted once, in the later part. A later part that
    does not start with them (other rows first, another order) proves nothing: both are counted."""
    headers = df["row_kind"] == "header"
    df = df.with_columns(headers.cum_sum().alias("_part"))
    live = df.filter((pl.col("row_kind") == "data") & (pl.col("status") != "duplicate"))
    parts = [(p, live.filter(pl.col("_part") == p)) for p in live["_part"].unique(maintain_order=True).to_list()]
    hashes = {p: _row_hashes(rows) for p, rows in parts}
    for k, (part, rows) in enumerate(parts):
        mine = hashes[part]
        later = next(((q, r) for q, r in parts[k + 1:] if len(hashes[q]) > len(mine)
                      and hashes[q][: len(mine)] == mine), None)
        if not mine or later is None:
            continue
        q, theirs = later
        header_line = df.filter(headers & (pl.col("_part") == q))["source_line"][0]
        first, last = theirs["source_line"][0], theirs["source_line"][len(mine) - 1]
        df = _set_rows(df, (pl.col("_part") == part) & (pl.col("status") != "duplicate"), "duplicate", "repeated",
                       pl.format(f"{where}, ligne {{}} : partie cumulée du fichier : les lignes "
                                 f"{rows['source_line'].min()} à {rows['source_line'].max()} sont reprises, dans le "
                                 f"même ordre, au début de la partie suivante (en-tête répété ligne {header_line}, "
                                 f"lignes {first} à {last}) : ligne comptée une fois, dans la partie suivante",
                                 pl.col("source_line")), pl.lit(display))
        df = df.with_columns(pl.when(pl.col("_part") == part).then(False).otherwise(pl.col("is_duplicate"))
                             .alias("is_duplicate"))
    return df.drop("_part")


def _set_rows(df: pl.DataFrame, where: pl.Expr, status: str, kind: str | None, reason: pl.Expr,
              duplicate_of: pl.Expr | None = None) -> pl.DataFrame:
    """Change the status (and reason) of the data rows `where` selects; other rows unchanged."""
    target = where & (pl.col("row_kind") == "data")
    cols = [pl.when(target).then(pl.lit(status)).otherwise(pl.col("status")).alias("status"),
            pl.when(target).then(reason).otherwise(pl.col("quarantine_reason")).alias("quarantine_reason")]
    if kind:
        cols.append(pl.when(target).then(pl.lit(kind)).otherwise(pl.col("row_kind")).alias("row_kind"))
    if duplicate_of is not None:
        cols.append(pl.when(target).then(duplicate_of).otherwise(pl.col("duplicate_of")).alias("duplicate_of"))
    return df.with_columns(cols)


def _payment_key() -> pl.Expr:
    """What makes two rows the same payment across files: payee, identifier, cents, date, n°."""
    return pl.concat_str([pl.col("supplier_name").str.to_lowercase(), pl.col("siret_raw"),
                          pl.col("_cents").cast(pl.String), pl.col("purchase_date").cast(pl.String),
                          pl.col("mandate_number")], separator="\x1f", ignore_nulls=True)


def _common_payment_key(siret: bool, mandate: bool, entity: bool) -> pl.Expr:
    """The payment key on the columns both exports have: the SIREN when both carry SIRETs, else
    the name (no case, accents or punctuation); the n° de mandat and the buying entity or budget
    only when both carry one."""
    parts = [_payee_siren() if siret else _payee_name(), pl.col("_cents").cast(pl.String),
             pl.col("purchase_date").cast(pl.String)]
    parts += [_mandate_key()] if mandate else []
    parts += [_entity_key()] if entity else []
    return pl.concat_str(parts, separator="\x1f", ignore_nulls=True)


def _key_counts(df: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    return df.filter((pl.col("status") == "ok") & pl.col("purchase_date").is_not_null()).group_by(key.alias("k")).len()


def _synthesis_sheets(frames: list[tuple[pl.DataFrame, dict]]) -> list[tuple[pl.DataFrame, dict]]:
    """A sheet whose rows are the per-supplier sums of another sheet ("Synthèse" beside "Détail")
    repeats that sheet: its rows are totals, not purchases."""
    if len(frames) < 2:
        return frames
    sums = []
    for df, _ in frames:
        ok = df.filter(pl.col("status") == "ok")
        sums.append({(k or "").lower(): v for k, v in ok.group_by("supplier_name").agg(
            pl.col("_cents").sum()).iter_rows()} if ok.height else {})
    totals = [sum(x.values()) for x in sums]
    counts = [f.filter(pl.col("status") == "ok").height for f, _ in frames]
    dated = [f.filter(pl.col("status") == "ok")["purchase_date"].is_not_null().any() for f, _ in frames]
    # rows with a payment date or a n° of mandate are payments: recurring equal amounts (rent, a
    # monthly subsidy) make a month's sheet add up like a summary without being one
    payments = [f.filter((pl.col("status") == "ok") & (pl.col("purchase_date").is_not_null()
                                                        | pl.col("mandate_number").is_not_null())).height > 0
                for f, _ in frames]
    out = []
    for i, (df, facts) in enumerate(frames):
        mine = sums[i]
        if payments[i]:
            out.append((df, facts))
            continue
        detail = next((j for j, other in enumerate(sums) if j != i and mine and len(mine) >= 1
                       and counts[j] > max(len(mine), counts[i])
                       and all(other.get(k) == v for k, v in mine.items())), None)
        if detail is None:  # by supplier and quarter, say: undated, fewer rows, the same total to the cent
            detail = next((j for j in range(len(frames)) if j != i and mine and not dated[i] and dated[j]
                           and counts[j] > counts[i] and totals[j] == totals[i]), None)
        covered = [detail] if detail is not None else _summed_sheets(i, sums, counts, dated, payments)
        if covered:
            names = ", ".join(f"« {frames[j][0]['source_sheet'][0]} »" for j in covered)
            what = f"de la feuille {names}" if len(covered) == 1 else f"des feuilles {names}"
            df = _set_rows(df, pl.col("status") == "ok", "quarantined", "total", pl.format(
                f"{df['source_file'][0]} (feuille « {df['source_sheet'][0]} »), ligne {{}} : feuille de synthèse, "
                f"reprend les totaux {what} (mêmes montants, ni date ni n° de mandat) : hors totaux",
                pl.col("source_line")))
            facts = {**facts, "period_note": None}  # its rows count nowhere: no « sans date » warning
        out.append((df, facts))
    return out


MAX_SUMMED_SHEETS = 60  # sheets beside a summary sheet tried together (a month's sheet per year, years)


def _summed_sheets(i: int, sums: list[dict], counts: list[int], dated: list[bool],
                   payments: list[bool]) -> list[int]:
    """The sheets, two or more in a row in the workbook (the summary itself left out), whose
    payments sheet `i` sums: a pivot table over the « 2023 » and « 2024 » sheets, or over the
    months of a year. Per supplier to the cent, or, for an undated sheet with fewer rows than they
    have, the total to the cent of all the other sheets, every one dated. The shortest run first."""
    mine = sums[i]
    others = [j for j in range(len(sums)) if j != i and payments[j]][:MAX_SUMMED_SHEETS]
    if not mine or len(others) < 2:
        return []
    mine_total = sum(mine.values())
    for length in range(2, len(others) + 1):
        for start in range(len(others) - length + 1):
            run = others[start:start + length]
            n = sum(counts[j] for j in run)
            if n <= max(len(mine), counts[i]):
                continue
            merged: dict = {}
            for j in run:
                for k, v in sums[j].items():
                    merged[k] = merged.get(k, 0) + v
            if all(merged.get(k) == v for k, v in mine.items()):
                return run
            # a total alone is weaker evidence than per-supplier sums: only over every other sheet
            # (the workbook's pivot), never a run picked among many that happens to add up
            if (length == len(others) and not dated[i] and all(dated[j] for j in run)
                    and sum(merged.values()) == mine_total):
                return run
    return []


def _fingerprint(df: pl.DataFrame) -> str:
    """The rows' meaning, not their bytes: the same export saved again (other encoding, other
    separator, other order, CSV or XLSX) has the same fingerprint. sha256 of the sorted row
    hashes (polars' hash: stable within a run, which is where files are compared)."""
    if df.height == 0:
        return ""
    hashes = df.select(pl.concat_str([
        pl.col("supplier_name"), pl.col("siret_raw"), pl.col("_cents").cast(pl.String).fill_null(pl.col("_amount")),
        pl.col("purchase_date").cast(pl.String).fill_null(pl.col("_date")), pl.col("_fiscal_year"),
        pl.col("category"), pl.col("buying_entity"), pl.col("mandate_number")], separator="\x1f",
        ignore_nulls=True).hash(seed=7).sort())
    data = hashes.to_series().rechunk().to_arrow()  # pyarrow, not numpy: the wheel alone has no numpy
    return hashlib.sha256(data.buffers()[1].to_pybytes()[: 8 * len(data)]).hexdigest()


def read_purchase_frames(path: Path, data_dir: Path, options: ReadOptions) -> list[tuple[pl.DataFrame, dict]]:
    """(lines, facts) per sheet of one file; a notes sheet beside the data sheet is not an error."""
    display = path.relative_to(data_dir).as_posix()
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        tables = [split_delimited(path.read_bytes(), display, head_only=True)]
    elif suffix in (".xlsx", ".xlsm"):
        tables = read_xlsx_tables(path, display)
    else:
        raise InputError(f"{display} : format non pris en charge (attendu .csv ou .xlsx)")
    out, errors = [], []
    options = options.for_file(display)
    for table in tables:
        try:
            out.append(_sheet_lines(table, display, options))
        except (UnitError, MappingError) as exc:  # a sheet of payments: never left aside as a notes sheet
            raise InputError(str(exc)) from None  # the run names InputError by its class name
        except InputError as exc:
            if len(tables) == 1:
                raise
            errors.append((table, str(exc)))
    if not out and errors:
        raise InputError(" ; ".join(e for _, e in errors))
    notes = [_skipped_sheet_note(table, display, error) for table, error in errors]
    if notes:  # said in the run log with the first sheet read: nothing is left aside in silence
        facts = out[0][1]
        facts["column_note"] = "\n".join(n for n in (facts.get("column_note"), *notes) if n)
        # their names, which the notes quote, for the masking of a name that names a person
        facts["unread_sheets"] = [table.sheet for table, _ in errors]
    return _synthesis_sheets(out)


SKIPPED_SHEET_ROWS = 500  # rows of an unread sheet looked at for payments


def _skipped_sheet_note(table: CellTable, display: str, error: str) -> str:
    """A sheet of a workbook whose header was not recognised, beside sheets that were. A sheet
    that holds payments (a row with a date, an amount and a name) stops the run naming it: its
    amounts would be missing from the totals. A cover page, a lookup list or a summary (no dated
    row with an amount and a name) is passed over with a note; a hidden sheet too (its lines would
    not count)."""
    where = f"{display} (feuille « {table.sheet} »)"
    rows = table.head_cells(SKIPPED_SHEET_ROWS)
    paying = [i for i, cells in enumerate(rows) if _payment_row(cells)]
    if paying and not table.hidden:
        raise InputError(
            f"{where} : feuille non lue alors que sa ligne {table.frame['_line'][paying[0]]} ressemble à un "
            f"paiement (une date, un montant et un nom) : aucune ligne d'en-tête reconnue dans ses "
            f"{MAX_SCAN_ROWS} premières lignes (il faut une colonne de montant, « Montant … », et une colonne "
            f"« Fournisseur » ou « SIRET ») ; renommez les en-têtes de cette feuille, ou retirez-la du classeur "
            f"si ce ne sont pas des paiements : sinon ses montants manqueraient aux totaux")
    filled = sum(1 for cells in rows if any(c.strip() for c in cells))
    return (f"{where} : feuille non lue ({error.split(' : ', 1)[-1]}) ; {filled} ligne(s) non vide(s), aucune "
            f"datée avec un montant et un nom (page de garde, liste de codes, synthèse ?) ; si elle contient des "
            f"paiements, ils manquent aux totaux : donnez-lui une ligne d'en-tête « Fournisseur » / « Montant »")


def _payment_row(cells: list[str]) -> bool:
    """A row written like a payment: a date, an amount and a name (letters, not a total label)."""
    texts = [c.strip() for c in cells if c and c.strip()]
    if _total_label(texts) or _weak_total_label(texts):
        return False
    dates = [c for c in texts if _date_value(c)]
    amounts_ = [c for c in texts if _amount_value(c) and c not in dates and re.search(r"[1-9]", c)]
    names = [c for c in texts if c not in dates and re.search(r"[^\W\d_]{3}", c)]
    return bool(dates) and bool(amounts_) and bool(names)


def read_purchase_file(path: Path, data_dir: Path, explicit: dict[str, str] | None = None) -> list[dict]:
    """One file's lines as dicts (for small uses: tests, the fetch step's SIREN list)."""
    frames = read_purchase_frames(path, data_dir, ReadOptions(explicit or {}))
    if not frames:
        return []
    return _finalise(pl.concat([f for f, _ in frames], how="diagonal_relaxed")).to_dicts()


# exports a buyer may drop that this reader cannot read: refused by name, never skipped in silence
UNREADABLE_EXPORTS = (".xls", ".ods", ".tsv", ".xlsb", ".numbers")


# delimited text saved under another name by many finance packages (« export_helios_2024.txt »):
# read when its first lines hold a payment header, otherwise a note, named in a warning
TEXT_EXPORTS = (".txt",)
TEXT_SNIFF_BYTES = 65536


def text_export(path: Path, display: str, explicit: dict[str, str] | None = None) -> bool:
    """Whether a .txt file is a payment export: delimited text whose first lines hold a header
    naming an amount and a supplier or SIRET, as a .csv must. Anything else (a note, a report laid
    out with spaces, bytes that are no text) is left out, and said (see unread_file_warnings)."""
    with path.open("rb") as fh:
        head = fh.read(TEXT_SNIFF_BYTES)
    if len(head) == TEXT_SNIFF_BYTES and head.rfind(b"\n") > 0:
        head = head[: head.rfind(b"\n") + 1]  # whole lines only
    try:
        table = split_delimited(head, display)
        return find_header(table.head_cells(MAX_SCAN_ROWS), explicit or {}) is not None
    except (InputError, UnicodeDecodeError, csv.Error):
        return False


def purchase_files(data_dir: Path, options: ReadOptions | None = None) -> list[Path]:
    """The .csv and .xlsx files of purchases/, and the .txt files that are delimited payment
    exports (notes in .txt or .pdf beside them are not data, and are named in a warning); an
    export in another spreadsheet format stops the run with its name rather than being left out."""
    folder = data_dir / "purchases"
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(("~$", "."))]
    other = sorted(p.relative_to(data_dir).as_posix() for p in files if p.suffix.lower() in UNREADABLE_EXPORTS)
    if other:
        raise InputError(f"{', '.join(other)} : format non pris en charge ; enregistrez ces exports en .xlsx ou en "
                         ".csv (UTF-8), sinon leurs montants manqueraient aux totaux")

    def explicit(p: Path) -> dict[str, str]:
        return options.for_file(p.relative_to(data_dir).as_posix()).explicit if options else {}

    return sorted(p for p in files if p.suffix.lower() in (".csv", ".xlsx", ".xlsm")
                  or (p.suffix.lower() in TEXT_EXPORTS and text_export(p, p.relative_to(data_dir).as_posix(),
                                                                       explicit(p))))


_SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini"})


def unread_file_warnings(paths: Iterable[str]) -> list[str]:
    """French warnings for the files of purchases/ the run did not read (paths relative to the
    data directory): nothing under purchases/ is left out in silence."""
    out = []
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        if name.startswith(("~$", ".")) or name.lower() in _SYSTEM_FILES:
            continue
        why = ("aucun en-tête de paiement reconnu (montant, et fournisseur ou SIRET) dans un texte délimité "
               "par « ; », « , », tabulation ou « | »" if Path(name).suffix.lower() in TEXT_EXPORTS
               else "seuls les .csv, les .xlsx et les exports texte (.txt) délimités sont lus")
        out.append(f"{path} : fichier non lu ({why}) ; s'il contient des paiements, ils manquent aux totaux : "
                   f"enregistrez-le en .csv ou en .xlsx avec sa ligne d'en-tête, ou sortez-le de purchases/")
    return out


def _original_first(path: Path) -> tuple:
    """Copies ('mandats (1).csv', 'Copie de mandats.csv') come after the file they copy."""
    copy_marks = re.search(r"\(\d+\)|copie|copy| - [0-9]+$", path.stem, re.IGNORECASE) is not None
    return (copy_marks, len(path.stem), path.as_posix())


def read_purchases(data_dir: Path, explicit: dict[str, str] | None = None,
                   files: Iterable[Path] | None = None) -> pl.DataFrame:
    """All purchase lines of the data directory, one row per input data row."""
    return read_purchase_sources(data_dir, explicit, files)[0]


def read_purchase_sources(data_dir: Path, explicit: dict[str, str] | None = None,
                          files: Iterable[Path] | None = None,
                          options: ReadOptions | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, files): every input data row, and one row per file and sheet read. A file whose
    rows repeat another file's is read, its rows marked `duplicate` and counted nowhere."""
    options = options or ReadOptions(explicit or {})
    paths = list(files) if files is not None else purchase_files(data_dir, options)
    if not paths:
        raise InputError(f"{data_dir / 'purchases'} : aucun fichier d'achats (.csv ou .xlsx)")
    frames, file_rows, seen = [], [], {}
    read = [(path, df, facts) for path in progress.track(sorted(paths, key=_original_first),
                                                         "Lecture des fichiers d'achats", unit="fichiers")
            for df, facts in read_purchase_frames(path, data_dir, options)]
    for path, df, facts in read:
        # files are compared only when there is more than one (a fingerprint costs a pass)
        facts["fingerprint"] = _fingerprint(df) if len(read) > 1 else ""
        display = path.relative_to(data_dir).as_posix()
        sheet = df["source_sheet"][0] if df.height else None
        first = seen.get(facts["fingerprint"]) if facts["fingerprint"] else None
        if first is not None:
            where = display + (f" (feuille « {sheet} »)" if sheet else "")
            df = df.with_columns(
                pl.lit("duplicate").alias("status"), pl.lit(first).alias("duplicate_of"),
                pl.lit(False).alias("is_duplicate"),
                pl.format(f"{where}, ligne {{}} : fichier identique à « {first} » : ligne non comptée",
                          pl.col("source_line")).alias("quarantine_reason"))
        elif facts["fingerprint"]:
            seen[facts["fingerprint"]] = display
        cents = facts.get("declared_total_cents")
        file_rows.append({
            "source_file": display, "source_sheet": sheet, "data_row_count": facts["data_row_count"],
            "decimal_mark": facts.get("decimal_mark"),
            "declared_total_eur": None if cents is None else cents / 100,
            "declared_total_row": facts.get("declared_total_row"), "duplicate_of": first,
            "content_sha256": facts["fingerprint"] or None, "encoding": facts.get("encoding"),
            "period_note": facts.get("period_note"), "column_note": facts.get("column_note"),
            "unread_sheets": facts.get("unread_sheets")})
        frames.append(df)
    frames, overlaps = _mark_overlaps(frames)
    for row in file_rows:
        row["overlap_of"], row["overlap_row_count"] = overlaps.get((row["source_file"], row["source_sheet"]),
                                                                   (None, 0))
    frames, possible, redated_notes = _match_across_files(frames, [facts.get("date_stage") for _, _, facts in read],
                                                          [facts.get("date_fallback") for _, _, facts in read])
    for k, row in enumerate(file_rows):
        other, n, cents = possible.get(k, (None, 0, 0))
        row.update(possible_overlap_of=other, possible_overlap_row_count=n,
                   possible_overlap_eur=Decimal(cents).scaleb(-2) if other else None)
        if k in redated_notes:
            row["column_note"] = "\n".join(x for x in (row["column_note"], redated_notes[k]) if x)
    order = {p.relative_to(data_dir).as_posix(): i for i, p in enumerate(sorted(paths))}
    lines = (frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")) if frames else None
    lines = _finalise(lines) if lines is not None else pl.DataFrame(schema=OUTPUT_SCHEMA)
    if len(frames) > 1:
        cites = {(df["source_file"][0], df["source_sheet"][0], row): n for _, df, facts in read if df.height
                 for row, n in facts.get("_cites", {}).items()}
        refs = {(df["source_file"][0], df["source_sheet"][0], row): r for _, df, facts in read if df.height
                for row, r in facts.get("_refs", {}).items()}
        used = {(df["source_file"][0], df["source_sheet"][0], row) for _, df, facts in read if df.height
                for row in facts.get("_used_credits", ())}
        lines, paired = _pair_across_sources(lines, cites, refs, used)
        for row in file_rows:
            note = paired.get((row["source_file"], row["source_sheet"]))
            if note:
                row["column_note"] = "\n".join(x for x in (row["column_note"], note) if x)
    if len(frames) > 1:
        absent = {(df["source_file"][0], df["source_sheet"][0], row) for _, df, facts in read if df.height
                  for row in facts.get("_never_paid_absent", ())}
        lines, taken = _never_paid_paid_elsewhere(lines, absent)
        for row in file_rows:
            note = taken.get((row["source_file"], row["source_sheet"]))
            if note:
                row["column_note"] = "\n".join(x for x in (row["column_note"], note) if x)
    if len(frames) > 1:
        lines = lines.sort(pl.col("source_file").replace_strict(order, default=None), "source_sheet",
                           "source_row", maintain_order=True, nulls_last=True)
    files_df = pl.DataFrame(file_rows, schema=FILE_SCHEMA)
    return lines, files_df


def _never_paid_paid_elsewhere(lines: pl.DataFrame, absent: set[tuple]) -> tuple[pl.DataFrame, dict]:
    """A row of « MANDATS ANNULÉS » left out because its cited mandate is not among its own
    file's paid lines (`_never_paid_rows`) whose mandate another file of the same exercice and
    budget pays (two half-year exports): same n°, same supplier (SIREN, else name) and an amount
    not above that mandate's, in exactly one other file or sheet. That mandate was paid, then
    cancelled: the row counts negative, as within one file, and its file's note says where the
    mandate is paid. Several such files: left out, and said. Returns the lines and the notes."""
    if not absent:
        return lines, {}
    cols = ("line_id", "source_file", "source_sheet", "source_row", "source_line", "amount_eur", "siret_raw",
            "supplier_name", "mandate_number", "fiscal_year", "buying_entity")
    pieces = [r for r in lines.filter((pl.col("row_kind") == "not_paid") & (pl.col("status") == "quarantined")
                                      & (pl.col("amount_eur") > 0)).select(cols).iter_rows(named=True)
              if (r["source_file"], r["source_sheet"], r["source_row"]) in absent and r["fiscal_year"] is not None]
    if not pieces:
        return lines, {}
    wanted = {_number_key(p["mandate_number"]) for p in pieces}
    paid: dict[tuple, list[dict]] = {}
    for r in lines.filter((pl.col("status") == "ok") & (pl.col("row_kind") == "data") & (pl.col("amount_eur") > 0)
                          & pl.col("mandate_number").is_not_null() & pl.col("fiscal_year").is_not_null()) \
            .select(cols).iter_rows(named=True):
        if _number_key(r["mandate_number"]) in wanted:
            paid.setdefault((_number_key(r["mandate_number"]), r["fiscal_year"]), []).append(r)
    taken: dict[str, str] = {}
    notes: dict[tuple, list[str]] = {}
    for p in pieces:
        siren, name = _siren_of(p["siret_raw"]), header_key(p["supplier_name"] or "")
        groups: dict[tuple, list[dict]] = {}
        for r in paid.get((_number_key(p["mandate_number"]), p["fiscal_year"]), []):
            if (r["source_file"], r["source_sheet"]) == (p["source_file"], p["source_sheet"]) \
                    or _other_budgets_unnamed_principal(p["source_file"], r["source_file"]) \
                    or _other_budget_cells(p["source_sheet"], r["source_sheet"]) \
                    or _other_budget_cells(p["buying_entity"], r["buying_entity"]):
                continue
            other, key = _siren_of(r["siret_raw"]), header_key(r["supplier_name"] or "")
            if (other == siren) if siren and other else (key == name) if name and key else True:
                groups.setdefault((r["source_file"], r["source_sheet"]), []).append(r)
        fits = {k: g for k, g in groups.items() if sum(r["amount_eur"] for r in g) >= p["amount_eur"]}
        here = p["source_file"] + (f" (feuille « {p['source_sheet']} »)" if p["source_sheet"] else "")
        number = f"n° « {p['mandate_number'].strip()} », exercice {p['fiscal_year']}"
        if len(fits) == 1:
            (file, sheet), g = next(iter(fits.items()))
            where = file + (f" (feuille « {sheet} »)" if sheet else "")
            taken[p["line_id"]] = where
            notes.setdefault((p["source_file"], p["source_sheet"]), []).append(
                f"{here}, ligne {p['source_line']} : mandat annulé ({number}) payé dans {where}, ligne(s) "
                f"{', '.join(str(r['source_line']) for r in g)} (même fournisseur, montant non inférieur) : payé "
                f"puis annulé, retranché (compté en négatif)")
        elif len(fits) > 1:
            shown = ", ".join(f + (f" (feuille « {s} »)" if s else "") for f, s in sorted(fits, key=str))
            notes.setdefault((p["source_file"], p["source_sheet"]), []).append(
                f"{here}, ligne {p['source_line']}, champ « N° mandat » : mandat annulé ({number}) payé dans "
                f"plusieurs autres fichiers ({shown}) : lequel est annulé ne peut être décidé, laissé hors de la "
                f"dépense (row_kind = 'not_paid') ; À VÉRIFIER")
    if taken:
        back = pl.col("line_id").is_in(list(taken))
        lines = lines.with_columns(
            pl.when(back).then(pl.lit("ok")).otherwise(pl.col("status")).alias("status"),
            pl.when(back).then(None).otherwise(pl.col("quarantine_reason")).alias("quarantine_reason"),
            pl.when(back).then(pl.lit("data")).otherwise(pl.col("row_kind")).alias("row_kind"),
            pl.when(back).then(-pl.col("amount_eur")).otherwise(pl.col("amount_eur")).alias("amount_eur"))
    return lines, {k: "\n".join(v) for k, v in notes.items()}


def _pair_across_sources(lines: pl.DataFrame, cites: dict[tuple, str], refs: dict[tuple, str] | None = None,
                         used: set[tuple] | None = None) -> tuple[pl.DataFrame, dict]:
    """A cancelled mandate left out in one sheet or file whose reversal is counted in another
    sheet of the workbook or another file of the same exercice and budget (a « Mandats » and an
    « Annulations » sheet, two half-year exports): paired by `_reversal_pairs` (the n° the
    reversal names, else payee and opposite amount) and counted as written with it (sum nil), as
    within one sheet, not taken out twice. A credit already paired within its sheet (`used`) pairs
    with nothing else, and a left-out mandate that another export repeats is that line's duplicate
    (`_not_paid_copies`), not a second mandate to pair. Returns the lines and a note per sheet
    that kept one."""
    lines, copies = _not_paid_copies(lines)
    out = lines.filter((pl.col("row_kind") == "not_paid") & (pl.col("amount_eur") > 0)
                       & (pl.col("status") == "quarantined")
                       & ~pl.col("quarantine_reason").fill_null("").str.contains(" ; ", literal=True))
    if out.is_empty():
        return lines, copies
    credits = lines.filter((pl.col("status") == "ok") & (pl.col("row_kind") == "data") & (pl.col("amount_eur") < 0))
    if credits.is_empty():
        return lines, copies
    numbers = _numbers_present(lines.filter(pl.col("row_kind") == "data")["mandate_number"], set(cites.values()))
    cols = ("line_id", "source_file", "source_sheet", "source_row", "source_line", "amount_eur", "siret_raw",
            "supplier_name", "mandate_number", "fiscal_year", "buying_entity")

    def entry(r: dict) -> dict:
        key = (r["source_file"], r["source_sheet"], r["source_row"])
        cited = cites.get(key)
        return {**r, "cents": int(r["amount_eur"] * 100), "siren": _siren_of(r["siret_raw"]),
                "name": _name_key(r["supplier_name"]), "no": _number_key(r["mandate_number"]),
                "cites": cited if cited != _number_key(r["mandate_number"]) else None,
                "ref": (refs or {}).get(key)}

    pieces = [entry(r) for r in out.select(cols).iter_rows(named=True)]
    revs = [e for r in credits.select(cols).iter_rows(named=True)
            if (e := entry(r)) and (r["source_file"], r["source_sheet"], r["source_row"]) not in (used or set())]
    kept: list[str] = []
    notes: dict[tuple, list[str]] = {}
    # one exercice and one budget at a time: another year's credit, or another budget's, is none
    for key in {(p["fiscal_year"],) for p in pieces}:
        ps = [p for p in pieces if (p["fiscal_year"],) == key]
        cs = [c for c in revs if c["fiscal_year"] == key[0]]
        for i, j in _reversal_pairs(ps, cs, numbers, allowed=lambda p, c: (
                (p["source_file"], p["source_sheet"]) != (c["source_file"], c["source_sheet"])
                and not _other_budgets(p["source_file"], c["source_file"])
                and not _other_budget_cells(p["source_sheet"], c["source_sheet"])
                and not _other_budget_cells(p["buying_entity"], c["buying_entity"]))):
            p, c = ps[i], cs[j]
            kept.append(p["line_id"])
            where = c["source_file"] + (f" (feuille « {c['source_sheet']} »)" if c["source_sheet"] else "")
            notes.setdefault((p["source_file"], p["source_sheet"]), []).append(
                f"{p['source_file']}, ligne {p['source_line']} : mandat rejeté ou annulé dont l'annulation (même tiers, "
                f"montant opposé{', n° de mandat cité' if c['cites'] else ''}) est comptée dans {where}, ligne "
                f"{c['source_line']} : compté tel qu'écrit avec elle (somme nulle), pas retiré deux fois")
    if not kept:
        return lines, copies
    back = pl.col("line_id").is_in(kept)
    lines = lines.with_columns(pl.when(back).then(pl.lit("ok")).otherwise(pl.col("status")).alias("status"),
                               pl.when(back).then(None).otherwise(pl.col("quarantine_reason"))
                               .alias("quarantine_reason"),
                               pl.when(back).then(pl.lit("data")).otherwise(pl.col("row_kind")).alias("row_kind"))
    said = {k: "\n".join(v) for k, v in notes.items()}
    return lines, {k: "\n".join(x for x in (copies.get(k), said.get(k)) if x) for k in {*copies, *said}}


def _not_paid_copies(lines: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """A rejected or cancelled mandate that another export repeats (same exercice, n°, date, payee
    and amount, in another file or sheet of the same budget) is one mandate: the copy is marked `duplicate` of the
    line that is counted (kept with its reversal) or of the file the rest of its export duplicates
    (a half-year export beside the full year's), as the cross-file rules mark a paid line — not a
    second mandate for one annulation piece to cancel. Returns the lines and a note per sheet."""
    out = lines.filter((pl.col("row_kind") == "not_paid") & (pl.col("status") == "quarantined")
                       & (pl.col("amount_eur") > 0) & pl.col("mandate_number").is_not_null())
    if out.is_empty():
        return lines, {}
    keys = ("fiscal_year", "mandate_number", "amount_eur", "purchase_date")
    cols = ("line_id", "source_file", "source_sheet", "source_line", "siret_raw", "supplier_name", "status",
            "row_kind", "buying_entity", *keys)
    twins = lines.filter(pl.col("row_kind").is_in(["data", "not_paid"]) & (pl.col("amount_eur") > 0)) \
        .select(cols).join(out.select(keys).unique(), on=list(keys), how="semi", nulls_equal=True)
    # the files a file's paid lines are duplicates of: its export is contained in theirs
    within = {(a, b) for a, b in lines.filter(pl.col("status") == "duplicate")
              .select("source_file", "duplicate_of").unique().iter_rows()}
    groups: dict[tuple, list[dict]] = {}
    for r in twins.iter_rows(named=True):
        groups.setdefault((r["fiscal_year"], _number_key(r["mandate_number"]), r["amount_eur"], r["purchase_date"]),
                          []).append(r)
    copy: dict[str, str] = {}
    notes: dict[tuple, list[str]] = {}
    for group in groups.values():
        for p in group:
            if p["row_kind"] != "not_paid" or p["status"] != "quarantined":
                continue
            q = next((q for q in group if (q["source_file"], q["source_sheet"]) != (p["source_file"], p["source_sheet"])
                      and q["line_id"] not in copy
                      and (q["status"] == "ok" or (p["source_file"], q["source_file"]) in within)
                      and not _other_budgets(p["source_file"], q["source_file"])
                      and not _other_budget_cells(p["source_sheet"], q["source_sheet"])
                      and not _other_budget_cells(p["buying_entity"], q["buying_entity"])
                      and _same_payee_possible(_siren_of(p["siret_raw"]), _name_key(p["supplier_name"]),
                                               _siren_of(q["siret_raw"]), _name_key(q["supplier_name"]))), None)
            if q is not None:
                copy[p["line_id"]] = (
                    f"{p['source_file']}, ligne {p['source_line']} : mandat rejeté ou annulé repris dans "
                    f"« {q['source_file']} », ligne {q['source_line']} (même exercice, n°, date, tiers et montant) : "
                    f"le même mandat, compté une fois, tel que là-bas\u0000{q['source_file']}")
                notes.setdefault((p["source_file"], p["source_sheet"]), []).append(copy[p["line_id"]].split("\u0000")[0])
    if not copy:
        return lines, {}
    hit = pl.col("line_id").is_in(list(copy))
    told = pl.col("line_id").replace_strict(copy, default=None)
    lines = lines.with_columns(
        pl.when(hit).then(pl.lit("duplicate")).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(pl.lit("data")).otherwise(pl.col("row_kind")).alias("row_kind"),
        pl.when(hit).then(told.str.split("\u0000").list.last()).otherwise(pl.col("duplicate_of")).alias("duplicate_of"),
        pl.when(hit).then(told.str.split("\u0000").list.first()).otherwise(pl.col("quarantine_reason"))
        .alias("quarantine_reason"))
    return lines, {k: "\n".join(v) for k, v in notes.items()}


def _negative_payee_warnings(lines: pl.DataFrame) -> list[str]:
    """A payee whose counted lines sum below zero: a cancellation or reduction whose mandate is in
    no file read (or was left out), which lowers that payee's and maybe the ESS figure. Said with
    the file and line of its largest credit, never the payee's name (it may be a person's)."""
    if not {"siret_raw", "supplier_name", "source_line", "status", "amount_eur"} <= set(lines.columns):
        return []
    ok = lines.filter((pl.col("status") == "ok") & pl.col("amount_eur").is_not_null())
    if ok.filter(pl.col("amount_eur") < 0).is_empty():
        return []
    ok = ok.with_columns(_payee().alias("_who"))
    sums = ok.group_by("_who").agg(pl.col("amount_eur").sum().alias("_sum")).filter(pl.col("_sum") < 0)
    if sums.is_empty():
        return []
    worst = ok.join(sums, on="_who").sort("amount_eur").unique("_who", keep="first", maintain_order=True)
    return [f"{r['source_file']}, ligne {r['source_line']} : les lignes comptées du tiers de cette ligne (même SIREN, "
            f"sinon même nom) font une somme négative ({_cents_text(int(r['_sum'] * 100))}) : une annulation ou une "
            f"réduction dont le mandat n'est dans aucun fichier lu ; la dépense de ce tiers, et peut-être la part "
            f"ESS, en sont réduites ; vérifiez"
            for r in worst.head(20).iter_rows(named=True)]


def _reversal_elsewhere_warnings(lines: pl.DataFrame) -> list[str]:
    """A mandate left out as cancelled whose cancelling piece (same supplier, opposite amount) is
    counted in another file: the spending may be reduced twice. Within one file the reader pairs
    them; across files it only says so, the two files may be two exports of other periods."""
    if not {"siret_raw", "supplier_name", "source_line"} <= set(lines.columns):
        return []
    digits = pl.col("siret_raw").fill_null("").str.replace_all(r"[^0-9]", "")
    key = (pl.when(digits.str.len_chars().is_in([9, 14])).then(pl.lit("s") + digits.str.slice(0, 9))
           .otherwise(pl.lit("n") + pl.col("supplier_name").fill_null("").str.to_uppercase()
                      .str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.replace_all(r"\s+", " ")
                      .str.strip_chars()).alias("_key"))
    out = lines.filter((pl.col("row_kind") == "not_paid") & (pl.col("amount_eur") > 0)).select(
        key, "source_file", "source_line", "amount_eur")
    if out.is_empty():
        return []
    credits = lines.filter((pl.col("status") == "ok") & (pl.col("amount_eur") < 0)).select(
        key, pl.col("source_file").alias("_cfile"), pl.col("source_line").alias("_cline"),
        (-pl.col("amount_eur")).alias("amount_eur"))
    pairs = out.join(credits, on=["_key", "amount_eur"]).filter(pl.col("source_file") != pl.col("_cfile")) \
        .unique(["source_file", "source_line"], keep="first", maintain_order=True)
    return [f"{r['source_file']}, ligne {r['source_line']} : mandat rejeté ou annulé laissé hors de la dépense, "
            f"mais une pièce du même tiers au montant opposé est comptée dans « {r['_cfile']} », ligne "
            f"{r['_cline']} : si c'est son annulation, la dépense est réduite deux fois ; vérifiez"
            for r in pairs.head(20).iter_rows(named=True)]


def duplicate_warnings(files: pl.DataFrame, lines: pl.DataFrame | None = None) -> list[str]:
    """French warnings naming each file that repeats another one, wholly, mostly or in part, the
    payments a later export corrected (from `lines`, when given) and the encodings read."""
    def sheet(file: str, name: str | None) -> str:
        return f"{file} (feuille « {name} »)" if name else file

    # the sheet a copy repeats: the first one read with the same content
    originals = {} if "content_sha256" not in files.columns else {
        r["content_sha256"]: r["source_sheet"] for r in files.filter(
            pl.col("duplicate_of").is_null() & pl.col("content_sha256").is_not_null()).iter_rows(named=True)}
    out = [f"{sheet(r['source_file'], r['source_sheet'])} : mêmes lignes que "
           f"« {sheet(r['duplicate_of'], originals.get(r.get('content_sha256')))} » ; ses lignes sont gardées "
           f"dans purchase_lines (statut duplicate) mais comptées nulle part"
           for r in files.filter(pl.col("duplicate_of").is_not_null()).iter_rows(named=True)]
    if "possible_overlap_of" in files.columns:
        out += [f"{r['source_file']} : {r['possible_overlap_row_count']} paiements "
                f"({_cents_text(int(r['possible_overlap_eur'] * 100))}) ont le même fournisseur et le même montant "
                f"qu'un paiement de « {r['possible_overlap_of']} », le même jour ou à moins de {REDATED_DAYS} jours "
                f"dans le même exercice, sans n° de mandat commun pour le prouver : comptés dans les deux fichiers ; "
                f"vérifiez que ces exports ne se recouvrent pas (voir source_file_reconciliation)"
                for r in files.filter(pl.col("possible_overlap_of").is_not_null()).iter_rows(named=True)]
    if lines is not None and {"row_kind", "source_file", "amount_eur", "duplicate_of"} <= set(lines.columns):
        out += _hidden_and_repeated_warnings(lines, sheet)
        out += _same_payment_warnings(files, lines)
        out += _reversal_elsewhere_warnings(lines)
        out += _negative_payee_warnings(lines)
    if lines is not None and "row_kind" in lines.columns:
        superseded = lines.filter(pl.col("row_kind") == "superseded")["quarantine_reason"].to_list()
        out += superseded[:20]
        if len(superseded) > 20:
            out.append(f"… et {len(superseded) - 20} autres paiements remplacés par leur version corrigée "
                       f"(row_kind = 'superseded' dans purchase_lines)")
    if "period_note" in files.columns:
        out += files.filter(pl.col("period_note").is_not_null())["period_note"].to_list()
    if "column_note" in files.columns:
        out += [n for c in files.filter(pl.col("column_note").is_not_null())["column_note"] for n in c.split("\n")]
    if "encoding" in files.columns:
        out += [f"{r['source_file']} : lu en {r['encoding']} (encodage détecté, le fichier n'est pas en UTF-8) ; "
                f"vérifiez les accents des noms dans purchase_lines"
                for r in files.filter(pl.col("encoding").is_not_null()).unique("source_file", maintain_order=True)
                .iter_rows(named=True)]
    if "overlap_of" in files.columns:
        out += [f"{r['source_file']} : {r['overlap_row_count']} paiements déjà présents dans « {r['overlap_of']} » "
                f"(même fournisseur, montant et date, et même n° de mandat si les deux fichiers en ont : au moins "
                f"{OVERLAP_SHARE:.0%} de ses paiements datés) ; comptés une seule fois (statut duplicate)".replace("%", "\u202f%")
                for r in files.filter(pl.col("overlap_of").is_not_null()).iter_rows(named=True)]
    return out


def _same_payment_warnings(files: pl.DataFrame, lines: pl.DataFrame) -> list[str]:
    """Payments found, line by line, in an earlier file (same payee, n° of mandate, date or
    exercice and amount): counted once, said per pair of files — a file copied whole or mostly
    found in a larger one has its own warning."""
    if "status" not in lines.columns:
        return []
    whole = set(files.filter(pl.col("duplicate_of").is_not_null() | (
        pl.col("overlap_of").is_not_null() if "overlap_of" in files.columns else pl.lit(False)))["source_file"])
    rows = lines.filter((pl.col("status") == "duplicate") & (pl.col("row_kind") == "data")
                        & pl.col("duplicate_of").is_not_null() & (pl.col("duplicate_of") != pl.col("source_file"))
                        & ~pl.col("source_file").is_in(list(whole)))
    out = []
    for (f, of), g in rows.group_by("source_file", "duplicate_of", maintain_order=True):
        cents = int(Decimal(g["amount_eur"].drop_nulls().sum() or 0) * 100)
        out.append(f"{f} : {g.height} paiement(s) ({_cents_text(cents)}) déjà présent(s) dans « {of} » (même "
                   f"fournisseur, n° de mandat, date ou exercice, et montant) : comptés une seule fois (statut "
                   f"duplicate, la raison de chaque ligne nomme la ligne de l'autre fichier)")
    return out


def _hidden_and_repeated_warnings(lines: pl.DataFrame, sheet) -> list[str]:
    """Rows hidden in a workbook (quarantined) and repeated parts of a file (duplicate), per file
    and sheet: what the operator may not see when opening the file."""
    if "source_sheet" not in lines.columns:
        lines = lines.with_columns(pl.lit(None, pl.String).alias("source_sheet"))
    texts = {
        "hidden": lambda n, eur: f"{n} ligne(s) masquée(s) (feuille masquée, filtre ou ligne masquée), {eur} lisibles, "
        "non comptées (quarantaine « masquée ») ; affichez-les dans le classeur si ce sont des paiements",
        "receipt": lambda n, eur: f"{n} ligne(s) de titres de recette ({eur}) : une recette n'est pas un achat, "
        "lignes non comptées dans la dépense (quarantaine « titre de recette », voir source_file_reconciliation) ; "
        "si ce sont des paiements, renommez la feuille, le fichier ou l'en-tête du n°",
        "repeated": lambda n, eur: "une partie du fichier, après un en-tête répété, reprend à l'identique une partie "
        "précédente, ou une partie est reprise au début d'une partie suivante (export concaténé ou cumulé ?) : "
        f"{n} lignes ({eur}) comptées une seule fois (statut duplicate, voir source_file_reconciliation)",
        "not_paid": lambda n, eur: f"{n} mandat(s) rejeté(s) ou annulé(s) ({eur}), jamais payé(s) : laissé(s) hors de "
        "la dépense (quarantaine, row_kind = 'not_paid', voir source_file_reconciliation)",
        _UNPAID: lambda n, eur: f"{n} mandat(s) pas encore payé(s) à la date de l'export (montant payé vide, montant du "
        "mandat écrit) : laissé(s) hors de la dépense (quarantaine, row_kind = 'not_paid', hors du contrôle de la part "
        "en quarantaine) ; ils comptent dans l'export qui porte leur paiement"}
    unpaid = pl.col("quarantine_reason").fill_null("").str.contains(_UNPAID, literal=True)
    out = []
    for kind, text in texts.items():
        rows = lines.filter((pl.col("row_kind") == "not_paid") & unpaid if kind == _UNPAID else
                            (pl.col("row_kind") == kind) & ~unpaid if kind == "not_paid" else pl.col("row_kind") == kind)
        for (f, sh), g in rows.group_by("source_file", "source_sheet", maintain_order=True):
            cents = int(Decimal(g["amount_eur"].drop_nulls().sum() or 0) * 100)
            out.append(f"{sheet(f, sh)} : {text(g.height, _cents_text(cents))}")
    return out


OVERLAP_SHARE = 0.9


def _mostly_shared(shared: pl.DataFrame, own: pl.DataFrame) -> bool:
    """At least OVERLAP_SHARE of a file's distinct dated payments (`own`: key, rows) are in the
    other file (`shared`: key, rows in both). A row repeated identically inside the file counts
    once here — it stays a payment of its own, but one doubled line must not hide a whole export
    inside a larger one. Two distinct payments at least: one proves nothing."""
    return own.height >= 2 and shared.height >= OVERLAP_SHARE * own.height


def _mark_overlaps(frames: list[pl.DataFrame]) -> tuple[list[pl.DataFrame], dict]:
    """A file whose dated payments are (nearly) all in another file — a quarter's export beside the
    half-year's, a copy with a total row added — is the same spending: its shared payments are
    `duplicate` of the larger file. Only dated rows count as evidence (two undated rows of equal
    amount may be two purchases)."""
    if len(frames) < 2:
        return frames, {}
    keyed = []
    for df in frames:
        ok = df.filter((pl.col("status") == "ok") & pl.col("purchase_date").is_not_null())
        counts = ok.group_by(_payment_key().alias("k")).len() if ok.height else None
        shape = tuple(ok[c].is_not_null().any() for c in ("siret_raw", "mandate_number", "buying_entity")) \
            if ok.height else None
        keyed.append((counts, ok.height, shape))
    overlaps: dict = {}
    for j in range(len(frames)):
        for i in range(len(frames)):
            cj, nj, sj = keyed[j]
            ci, ni, si = keyed[i]
            if i == j or cj is None or ci is None or nj < 2 or nj > ni or (nj == ni and j < i):
                continue
            key = _payment_key()
            shared = cj.join(ci, on="k", suffix="_o").select(pl.min_horizontal("len", "len_o").alias("n"), "k")
            if not _mostly_shared(shared, cj) and sj != si:
                # one export has no SIRET or no n° de mandat column: compare on what both have
                key = _common_payment_key(*(a and b for a, b in zip(sj, si, strict=True)))
                own = _key_counts(frames[j], key)
                shared = own.join(_key_counts(frames[i], key), on="k", suffix="_o") \
                    .select(pl.min_horizontal("len", "len_o").alias("n"), "k")
                if not _mostly_shared(shared, own):
                    continue
            elif not _mostly_shared(shared, cj):
                continue
            other = frames[i]["source_file"][0]
            take = {k: n for n, k in shared.iter_rows()}
            df = frames[j].with_columns(key.alias("_k"))
            df = df.with_columns(pl.int_range(pl.len()).over("_k").alias("_rank"))
            hit = (pl.col("status") == "ok") & pl.col("purchase_date").is_not_null() & (
                pl.col("_rank") < pl.col("_k").replace_strict(take, default=0, return_dtype=pl.Int64))
            n_hit = df.select(hit.sum()).item()
            df = _set_rows(df, hit, "duplicate", None, pl.format(
                f"{df['source_file'][0]}, ligne {{}} : paiement déjà présent dans « {other} » (au moins "
                f"{OVERLAP_SHARE:.0%} des paiements datés du fichier s'y retrouvent) : compté une fois".replace(
                    "%", "\u202f%"), pl.col("source_line")), pl.lit(other)).drop("_k", "_rank")
            frames[j] = df
            keyed[j] = (None, nj, sj)
            overlaps[(df["source_file"][0], df["source_sheet"][0])] = (other, n_hit)
            break
    return frames, overlaps


# rows hashed per DuckDB query: small enough that the texts DuckDB builds stay small beside the
# columns polars is parsing at the same time, large enough that the queries cost nothing
ID_SLICE_ROWS = 250_000


def _line_ids(df: pl.DataFrame, source_file: str, sheet: str | None, cell_cols: list[str],
              delim: str | None) -> pl.Series:
    """Stable line ids: md5 of file, sheet, the row's text and its rank among identical rows
    (insensitive to rows inserted elsewhere in the file). Hashed in DuckDB slice by slice, so the
    copy Arrow makes of the text stays small."""
    prefix = f"{source_file}\x1f{sheet or ''}\x1f"
    columns = cell_cols or ["_raw"]
    # one concat() instead of a chain of ||: the same text when no cell is NULL (a NULL made the
    # chain NULL, so then the chain is kept)
    # every rank 0 (the first pass over a sheet): the rank is the constant text "\x1f0"
    ranked = bool(df["_occurrence"].max())
    rank = "chr(31) || _occurrence::VARCHAR" if ranked else "$r"
    if any(df[c].null_count() for c in columns):
        text = "$p || " + " || $d || ".join(f'"{c}"' for c in columns) + f" || {rank}"
    else:
        text = "concat($p, " + ", $d, ".join(f'"{c}"' for c in columns) + f", {rank})"
    params = {"p": prefix, "d": delim or "\x1f"} if len(columns) > 1 else {"p": prefix}
    if not ranked:
        params["r"] = "\x1f0"
    con = duckdb.connect()
    parts = []
    try:
        for start in range(0, df.height, ID_SLICE_ROWS):
            # string views: handed to DuckDB without a copy
            con.register("_l", df.slice(start, ID_SLICE_ROWS).select(*columns, *(["_occurrence"] if ranked else []))
                         .to_arrow(compat_level=pl.CompatLevel.newest()))
            parts.append(con.sql(f"SELECT substr(md5({text}), 1, 16) AS line_id FROM _l", params=params
                                 ).pl()["line_id"])
            con.unregister("_l")
    finally:
        con.close()
    return pl.concat(parts) if parts else pl.Series("line_id", [], pl.String)


def _finalise(lines: pl.DataFrame) -> pl.DataFrame:
    """The output schema, in its order and types (a column already of its type is not cast: even
    a no-op cast costs a pass over millions of rows). Built from the Series themselves: a `select`
    would rechunk every column, a copy of the whole output at the reader's peak of memory."""
    schema = lines.schema
    return pl.DataFrame([lines[c] if schema.get(c) == t else lines.select(pl.col(c).cast(t)).to_series()
                         for c, t in OUTPUT_SCHEMA.items()])


# --- the same payment in two files ----------------------------------------------------------

# words of a file name that say it corrects an earlier export
_CORRECTION_NAME = re.compile(r"corrig|rectif|modif|r[ée]vis|v[0-9]+\b|version", re.IGNORECASE)


def _cents_text(cents: int) -> str:
    """1 234,56 € (French, no-break spaces avoided so messages stay greppable)."""
    sign = "-" if cents < 0 else ""
    units, c = divmod(abs(int(cents)), 100)
    return f"{sign}{units:,}".replace(",", " ") + f",{c:02d} €"


def _payee_siren() -> pl.Expr:
    """The SIREN of the line's SIRET or SIREN (or French VAT number), NULL without one."""
    digits = pl.col("siret_raw").fill_null("").str.replace_all(r"[^0-9]", "")
    french_vat = (digits.str.len_chars() == 11) & pl.col("siret_raw").str.to_uppercase().str.contains("FR")
    return pl.when(digits.str.len_chars().is_in([9, 14])).then(digits.str.slice(0, 9)) \
        .when(french_vat).then(digits.str.slice(2, 9))


def _payee_name() -> pl.Expr:
    """The name as written, without case, accents, punctuation or spacing differences."""
    return pl.col("supplier_name").fill_null("").str.normalize("NFKD").str.replace_all(r"\p{M}", "") \
        .str.to_lowercase().str.replace_all(r"[^\w]+", " ").str.strip_chars()


def _payee() -> pl.Expr:
    """Who was paid: the SIREN when the line has a SIRET or SIREN, else the name as written."""
    return pl.when(_payee_siren().is_not_null()).then(pl.lit("siren:") + _payee_siren()) \
        .otherwise(pl.lit("nom:") + _payee_name())


def _unify_payees(idx: pl.DataFrame) -> pl.DataFrame:
    """A row without SIRET (an export without that column) is paid to the SIREN that the rows of
    the same name carry elsewhere, when that name has one SIREN only: the same payee compared by
    SIREN where both rows have one, else by name."""
    known = idx.filter(pl.col("_siren").is_not_null() & (pl.col("_name") != "")).group_by("_name").agg(
        pl.col("_siren").unique().alias("_sirens"))
    known = known.filter(pl.col("_sirens").list.len() == 1).select(
        "_name", pl.col("_sirens").list.first().alias("_via"))
    if known.is_empty():
        return idx
    return idx.join(known, on="_name", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("_siren").is_null() & pl.col("_via").is_not_null()).then(pl.lit("siren:") + pl.col("_via"))
        .otherwise(pl.col("_who")).alias("_who")).drop("_via")


def _entity_key() -> pl.Expr:
    """The buying entity or budget as compared across files ("" when the export has none)."""
    return pl.col("buying_entity").fill_null("").str.normalize("NFKD").str.replace_all(r"\p{M}", "") \
        .str.to_lowercase().str.replace_all(r"[^\w]+", " ").str.strip_chars()


def _same_entity_possible(a: str, b: str) -> bool:
    """Two normalised entity labels that may name one entity: every distinctive word of the shorter
    one written out or abbreviated in the other (« DSI » and « Direction des systèmes
    d'information », « Voirie » and « Direction de la voirie »), as for payees."""
    if a == b:
        return True
    wa, wb = _distinctive_words(a) or a.split(), _distinctive_words(b) or b.split()
    return bool(wa and wb) and _shorter_found_in_other(wa, wb)


def _entity_groups(labels: list[str]) -> dict[str, str]:
    """Label -> the label that stands for its entity. A label joins a group only when it may name
    the same entity as every label of it, and as those of no other group: « Budget annexe » beside
    « Budget annexe eau » and « Budget annexe assainissement » stays its own entity, it does not
    join the two annexes."""
    groups: list[list[str]] = []
    for label in sorted(labels, key=lambda x: (-len(x), x)):  # the longest label stands for the group
        fits = [g for g in groups if all(_same_entity_possible(label, o) for o in g)]
        touches = [g for g in groups if any(_same_entity_possible(label, o) for o in g)]
        if len(fits) == 1 and len(touches) == 1:
            fits[0].append(label)
        else:
            groups.append([label])
    return {label: g[0] for g in groups for label in g}


def _split_by_entity(idx: pl.DataFrame) -> pl.DataFrame:
    """Two budgets (« Budget principal », « Budget annexe ») or two entities number their mandates
    each from 1: rows whose entities differ, both written, are never the same payment nor a
    correction of each other — labels written otherwise (« DSI », « Direction des systèmes
    d'information ») are compared as one entity. A row without entity takes the one entity its
    payment's other rows name (the same amount first), if they name only one. The budget is read
    from a budget column, else from the file's name (`_budget_label`); a row that states no budget
    takes only the budget principal of its partners, never an annexe's or a CCAS's: an export
    without budget is the main budget's, and the rows it shares with an annexe are said
    (`_unlent_budget_notes`)."""
    files = {f: _name_budget(f) or "" for f in idx["source_file"].unique().to_list()}
    col_bud = {e: _budget_label(e) or "" for e in idx["_ent"].unique().to_list()}
    idx = idx.with_columns(
        pl.col("_ent").replace_strict(col_bud, return_dtype=pl.String).alias("_bud"))
    idx = idx.with_columns(
        pl.when(pl.col("_bud") == "").then(pl.col("source_file").replace_strict(files, return_dtype=pl.String))
        .otherwise(pl.col("_bud")).alias("_bud"),
        pl.when(pl.col("_bud") != "").then(pl.lit("")).otherwise(pl.col("_ent")).alias("_entb"))
    labels = [x for x in idx["_entb"].unique().to_list() if x]
    if len(labels) > 1:
        idx = idx.with_columns(pl.col("_entb").replace(_entity_groups(labels)))
    buds = [x for x in idx["_bud"].unique().to_list() if x]
    if len(buds) > 1:
        idx = idx.with_columns(pl.col("_bud").replace(_entity_groups(buds)))
    ent, bud = pl.col("_entb"), pl.col("_bud")
    for group in (["_who", "_m", "_when"], ["_who", "_m", "_when", "_cents"]):  # the last one set wins
        for col, lendable in (("_entb", pl.lit(True)), ("_bud", pl.col("_bud") == "budget principal")):
            named = pl.when(pl.col(col) != "").then(pl.col(col))
            # n_unique counts the NULL of unnamed rows as a value
            one = (named.n_unique().over(group) - pl.col(col).eq("").any().over(group).cast(pl.Int64)) == 1
            lent = named.drop_nulls().first().over(group)
            take = (pl.col(col) == "") & one & pl.when(pl.col(col) != "").then(lendable).max().over(group)
            expr = pl.when(take).then(lent).otherwise(ent if col == "_entb" else bud)
            ent, bud = (expr, bud) if col == "_entb" else (ent, expr)
    key = ent + pl.lit("\x1f") + bud
    return idx.with_columns((pl.col("_who") + pl.lit("\x1f") + key).alias("_who"), key.alias("_entk"),
                            bud.alias("_budk"), pl.col("_who").alias("_who0")).drop("_entb")


def _unlent_budget_notes(idx: pl.DataFrame) -> dict[int, str]:
    """French note, per frame that states no budget, on its payments that have the payee, n° of
    mandate, date and amount of a row of another file stating a budget annexe or a CCAS: counted in
    both (an export without budget is taken for the main budget's), said so the buyer checks."""
    key = ["_who0", "_m", "_when", "_cents"]
    row = (pl.col("row_kind") == "data") & (pl.col("status") == "ok") & (pl.col("_m") != "")
    plain = idx.filter(row & (pl.col("_budk") == ""))
    named = idx.filter(row & ~pl.col("_budk").is_in(["", "budget principal"])).select(
        *key, pl.col("_f").alias("_of_f"), pl.col("source_file").alias("_of"), pl.col("source_line").alias("_ol"),
        pl.col("_budk").alias("_ob"))
    pairs = plain.join(named, on=key).filter(pl.col("_f") != pl.col("_of_f")).unique(["_frame", "_pos"], keep="first",
                                                                                         maintain_order=True)
    notes = {}
    for (k,), g in pairs.group_by("_frame"):
        g = g.sort("source_line")
        r = g.row(0, named=True)
        lines = ", ".join(str(x) for x in g["source_line"].head(5).to_list())
        more = f" (et {g.height - 5} autres)" if g.height > 5 else ""
        notes[int(k)] = (
            f"{r['source_file']} : {g.height} paiement(s) (lignes {lines}{more}) ont le même fournisseur, le même n° "
            f"de mandat, la même date et le même montant qu'une ligne de « {r['_of']} » (ex. ligne {r['source_line']} "
            f": n° {r['_m']}, ligne {r['_ol']} là-bas), qui relève de « {r['_ob']} » ; ce fichier ne dit pas son "
            f"budget (ni colonne « Budget », ni nom de budget dans le nom du fichier) : il est pris pour le budget "
            f"principal et ces paiements sont comptés dans les deux fichiers ; si c'est le même budget, nommez-le dans "
            f"le nom du fichier (« …_budget_annexe_eau ») ou retirez l'un des exports")
    return notes


def _mandate_key() -> pl.Expr:
    """A n° of mandate as compared across files: `000001` in a CSV is `1` once a spreadsheet has
    made it a number (`1.0` when read as a float). A mandate is numbered once per exercice, and
    some software writes the exercice with it (« 2024-000123 », « 2024/123 », « 123/2024 »,
    « 2024000123 »): the line's own exercice (or year) is taken off, never another year."""
    # slices and comparisons, no regex, and the two regexes once at the end: an expression is
    # evaluated again wherever it is used, and this runs on every row of every file
    m = pl.col("mandate_number").fill_null("").str.strip_chars()
    year = pl.col("fiscal_year").cast(pl.String)
    seps = " -/_."
    n = m.str.len_chars()
    fifth = m.str.slice(4, 1)
    before = (m.str.slice(0, 4) == year) & (
        (fifth.is_in(list(seps)) & (n > 5)) | ((fifth == "0") & (n >= 8)))
    after = (m.str.slice(-4) == year) & (n > 5) & m.str.slice(-5, 1).is_in(list(seps))
    m = pl.when(before.fill_null(False)).then(m.str.slice(4).str.strip_chars_start(seps)) \
        .when(after.fill_null(False)).then(m.str.head(-4).str.strip_chars_end(seps)).otherwise(m)
    return m.str.replace(r"^(\d+)\.0+$", "${1}").str.replace(r"^0+(\d)", "${1}")


def _file_rank(frames: list[pl.DataFrame]) -> dict[str, tuple]:
    """Which export's version of a payment counts: a file whose name says it corrects
    (« corrigé », « rectif », « v2 ») first — a quarter re-exported after a correction beats the
    older yearly export that goes further in time —; then the one whose accepted payments go
    further in time; then the name's order."""
    last: dict[str, dt.date] = {}
    for df in frames:
        if df.height:
            d = df.filter(pl.col("status") == "ok")["purchase_date"].max()
            f = df["source_file"][0]
            last[f] = max(last.get(f) or dt.date.min, d or dt.date.min)
    return {f: (_CORRECTION_NAME.search(Path(f).stem) is not None, d, f) for f, d in last.items()}


def _why_this_version(rank: dict[str, tuple], winner: str, loser: str) -> str:
    """The rule that chose, said plainly; when no file name says it corrects, the choice is a
    default the reader cannot prove: the warning asks for a check."""
    w, lo = rank[winner], rank[loser]
    if w[0] and not lo[0]:
        return "le nom du fichier retenu dit une correction : seule la version corrigée compte"
    def until(d: dt.date) -> str:
        return "sans date" if d == dt.date.min else f"jusqu'au {d:%d/%m/%Y}"

    if w[1] != lo[1]:
        basis = f"ses paiements vont {until(w[1])}, ceux de l'autre {until(lo[1])}"
    else:
        basis = "mêmes dates : départagé par l'ordre des noms de fichier"
    return (f"export supposé plus récent ({basis}) ; aucun nom de fichier ne dit laquelle des deux versions "
            f"est juste : À VÉRIFIER (renommer le fichier correct en « …_corrige » pour trancher)")


def _shared_candidates(frames: list[pl.DataFrame], order: dict[str, int], mandate: pl.Expr,
                       when: pl.Expr) -> pl.DataFrame | None:
    """The rows whose payee, mandate n° and date, or payee, date and amount, also occur in another
    file — found on 64-bit hashes over every row, then read in full for those rows only (usually a
    few): comparing every row's text across large files would cost more than reading them."""
    payee = _payee()
    # coarser than the exact keys (no payee: normalising names costs more than the hash saves), so
    # no pair is missed; the exact comparison below tells the rest apart
    data = (pl.col("row_kind") == "data") & pl.col("duplicate_of").is_null()
    light = pl.concat([df.select(
        pl.lit(k, pl.Int64).alias("_frame"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"),
        pl.lit(order[df["source_file"][0]], pl.Int64).alias("_f"),
        pl.when(data & (mandate != "")).then(pl.struct(
            mandate, "purchase_date", pl.when(pl.col("purchase_date").is_null()).then(pl.col("fiscal_year")))
            .hash(seed=11)).alias("_hg"),
        pl.when(data & (pl.col("status") == "ok") & pl.col("purchase_date").is_not_null()).then(
            pl.struct("purchase_date", "_cents").hash(seed=13)).alias("_hw"),
        # the same amount in the same exercice, dated otherwise (date of the mandate, of its payment)
        # (exercice, cents) as one integer, no hash: a key coarser than exact (a ceiling raised
        # past 1 G€ may collide two years) only adds candidates, compared exactly below
        pl.when(data & (pl.col("status") == "ok") & pl.col("purchase_date").is_not_null()
                & pl.col("fiscal_year").is_not_null()).then(
            pl.col("fiscal_year").cast(pl.Int64) * 100_000_000_000 + pl.col("_cents")).alias("_hy"))
        for k, df in enumerate(frames) if df.height])
    hashes = ("_hg", "_hw", "_hy")
    shared = [light.filter(pl.col(h).is_not_null()).group_by(h).agg(pl.col("_f").n_unique().alias("_nf"))
              .filter(pl.col("_nf") > 1).select(h) for h in hashes]
    if all(x.is_empty() for x in shared):
        return None
    pick = pl.concat([light.join(x, on=h, how="semi") for h, x in zip(hashes, shared, strict=True)]) \
        .unique(["_frame", "_pos"]).sort("_frame", "_pos")
    parts = []
    for k in pick["_frame"].unique().sort().to_list():
        pos = pick.filter(pl.col("_frame") == k)["_pos"]
        sub = frames[k][pos]
        parts.append(sub.select(
            pl.lit(k, pl.Int64).alias("_frame"), pos.alias("_pos"), "source_file", "source_row", "source_line", "status",
            "row_kind", "_cents", "purchase_date", payee.alias("_who"), _payee_siren().alias("_siren"),
            _payee_name().alias("_name"), _entity_key().alias("_ent"), mandate.alias("_m"), when.alias("_when"),
            pl.col("fiscal_year").cast(pl.Int32).alias("_fy"), pl.col("duplicate_of").is_not_null().alias("_copy"),
            pl.lit(order[frames[k]["source_file"][0]], pl.Int64).alias("_f")))
    return pl.concat(parts)


def _match_across_files(frames: list[pl.DataFrame],
                        date_stages: list[int | None] | None = None,
                        fallbacks: list[tuple[int, frozenset[int]] | None] | None = None
                        ) -> tuple[list[pl.DataFrame], dict, dict[int, str]]:
    """Rows of different files that are the same payment. Sound identity (payee, n° of mandate,
    date or Exercice, amount to the cent): the later file's row is `duplicate`, whatever the share
    of the files that overlaps. The same payee, n° of mandate and date with another amount, once in
    each file: a corrected re-export; the later export's version counts, the other is `duplicate`
    of kind `superseded`. Same payee, date and amount without a n° of mandate to prove it: counted,
    but reported per file (`possible_overlap_*`). Rows of one file are never compared together.
    The third item: per frame, a French note on payments that may be one mandate dated otherwise."""
    files = [df["source_file"][0] for df in frames if df.height]
    if len(set(files)) < 2:
        return frames, {}, {}
    order = {f: i for i, f in enumerate(dict.fromkeys(files))}
    mandate = _mandate_key()
    when = pl.coalesce(pl.col("purchase_date").cast(pl.String), pl.lit("exercice ") + pl.col("fiscal_year").cast(pl.String))
    idx = _shared_candidates(frames, order, mandate, when)
    if idx is None:
        return frames, {}, {}
    idx = _split_by_entity(_unify_payees(idx))
    budget_notes = _unlent_budget_notes(idx)
    data = (pl.col("row_kind") == "data") & ~pl.col("_copy")
    sound = data & (pl.col("_m") != "") & pl.col("_when").is_not_null() & pl.col("_cents").is_not_null() \
        & pl.col("status").is_in(["ok", "duplicate"])
    changes: list[pl.DataFrame] = []
    # 1. sound identity: the k-th copy of a payment in a file is a duplicate when an earlier file
    #    already has k or more of them
    key = ["_who", "_m", "_when", "_cents"]
    strong = idx.filter(sound).with_columns(pl.int_range(pl.len()).over([*key, "_f"], order_by="_pos").alias("_rank"))
    per_file = strong.group_by([*key, "_f"]).agg(pl.len().alias("_n"), pl.col("source_file").first())
    per_file = per_file.sort("_f").with_columns(
        pl.col("_n").cum_max().shift(1).over(key, order_by="_f").fill_null(0).alias("_before"),
        pl.col("source_file").first().over(key, order_by="_f").alias("_first"))
    strong = strong.join(per_file.select(*key, "_f", "_before", "_first"), on=[*key, "_f"])
    hit = strong.filter((pl.col("status") == "ok") & (pl.col("_rank") < pl.col("_before")))
    if hit.height:
        changes.append(hit.select("_frame", "_pos", pl.lit("duplicate").alias("_status"), pl.lit(None, pl.String)
                                  .alias("_kind"), pl.col("_first").alias("_of"), pl.format(
            "{}, ligne {} : paiement déjà présent dans « {} » (même fournisseur, n° de mandat {}, date et montant) : "
            "compté une fois", "source_file", "source_line", "_first", "_m").alias("_reason")))
    taken = hit.select("_frame", "_pos")
    # 1b. the same n° of mandate, date and amount in another export that spells the payee otherwise
    # a real date on both rows (an Exercice is a whole year of mandates) and an entity on both or on
    # neither: a file without budget column is not the other file's budget
    respelled = _respelled_payments(idx.filter(sound & pl.col("purchase_date").is_not_null()), taken)
    if respelled is not None:
        changes.append(respelled)
        taken = pl.concat([taken, respelled.select("_frame", "_pos")])
    # 1c. the same payee, n° of mandate, exercice and amount, dated a few days apart (the date of
    #     the mandate in one export, of its payment in the other), the n° once in each file
    redated, notes = _redated_payments(frames, _line_stages(idx.filter(sound & pl.col("_fy").is_not_null()
                                                                       & pl.col("purchase_date").is_not_null()),
                                                            date_stages, fallbacks),
                                       taken, _redating_pairs(frames))
    if redated is not None:
        changes.append(redated)
        taken = pl.concat([taken, redated.select("_frame", "_pos")])
    # 2. corrected re-export: one row per file for the same payee, mandate, date and sign, amounts
    #    differ; a negative row (cancellation, reduction) is no version of a positive one: it nets
    idx = idx.with_columns(pl.col("_cents").sign().alias("_sgn"))
    left = idx.filter(sound & (pl.col("status") == "ok")).join(taken, on=["_frame", "_pos"], how="anti")
    group = ["_who", "_m", "_when", "_sgn"]
    once = idx.filter(sound).group_by([*group, "_f"]).len().group_by(group).agg(
        (pl.col("len") == 1).all().alias("_single"), pl.len().alias("_files"))
    conflicts = left.join(once.filter(pl.col("_single") & (pl.col("_files") >= 2)), on=group)
    conflicts = conflicts.filter(pl.len().over(group) == pl.col("_files"))
    if conflicts.height:
        rank = _file_rank(frames)
        conflicts = conflicts.with_columns(pl.col("source_file").replace_strict(
            {f: i for i, f in enumerate(sorted(rank, key=rank.get))}, return_dtype=pl.Int64).alias("_later"))
        winner = conflicts.sort("_later").group_by(group).agg(
            pl.col("source_file").last().alias("_wf"), pl.col("source_line").last().alias("_wr"),
            pl.col("_cents").last().alias("_wc"))
        losers = conflicts.join(winner, on=group).filter(pl.col("source_file") != pl.col("_wf"))
        if losers.height:
            changes.append(losers.select(
                "_frame", "_pos", pl.lit("duplicate").alias("_status"), pl.lit("superseded").alias("_kind"),
                pl.col("_wf").alias("_of"), pl.struct("source_file", "source_line", "_m", "_when", "_cents", "_wf",
                                                      "_wr", "_wc").map_elements(
                    lambda r: _superseded_reason(r, _why_this_version(rank, r["_wf"], r["source_file"])), pl.String)
                .alias("_reason")))
    frames = _apply_changes(frames, changes)
    accepted = {k: df.filter((pl.col("status") == "ok") & (pl.col("row_kind") == "data")
                             & pl.col("purchase_date").is_not_null()).height for k, df in enumerate(frames)}
    for k, note in budget_notes.items():
        notes[k] = "\n".join(x for x in (notes.get(k), note) if x)
    return frames, _possible_overlaps(idx, pl.concat(changes) if changes else None, accepted), notes


# Words that say what kind of body a payee is, not which one (legal forms, « société », articles).
_GENERIC_NAME_WORDS = frozenset({
    "sa", "sas", "sasu", "sarl", "eurl", "sci", "scop", "scic", "snc", "gie", "ste", "societe", "soc", "ets",
    "etablissements", "etablissement", "entreprise", "assoc", "association", "asso", "coop", "cooperative",
    "cie", "compagnie", "groupe", "et", "de", "du", "des", "la", "le", "les", "l", "d", "en", "au", "aux",
    "sur", "fils", "freres"})


def _word_found(word: str, words: list[str]) -> bool:
    """`word` in `words` written out or abbreviated: the same word, one the other's start
    (« assoc », « public »), or the initials of consecutive words (« tp » for « travaux publics »)."""
    if any(w == word or (min(len(w), len(word)) >= 3 and (w.startswith(word) or word.startswith(w)))
           for w in words):
        return True
    initials = "".join(w[0] for w in words)
    return len(word) >= 2 and word in initials


def _distinctive_words(label: str) -> list[str]:
    """A normalised payee or entity label without the words that say what kind of body it is."""
    return [w for w in label.split() if w not in _GENERIC_NAME_WORDS]


def _shorter_found_in_other(wa: list[str], wb: list[str]) -> bool:
    """Every word of the shorter list written out or abbreviated in the other."""
    short, other = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return all(_word_found(w, other) for w in short)


@functools.lru_cache(maxsize=65536)
def _same_payee_possible(siren_a: str | None, name_a: str, siren_b: str | None, name_b: str) -> bool:
    """Two rows that already share n° of mandate, date, amount and budget are the same payment
    unless something says the payees differ: two identifiers of different units, or a distinctive
    word of the shorter name missing from the other (« COOP VERTE » is not « COOP ROUGE »;
    « ZORGLUB TP » is « STE ZORGLUB TRAVAUX PUBLICS »)."""
    if siren_a and siren_b:
        return siren_a == siren_b
    wa, wb = _distinctive_words(name_a), _distinctive_words(name_b)
    # nothing distinctive to compare: no evidence it is the same payee
    return bool(wa and wb) and _shorter_found_in_other(wa, wb)


def _respelled_payments(sound: pl.DataFrame, taken: pl.DataFrame) -> pl.DataFrame | None:
    """Rows of a later export whose n° of mandate, date, amount to the cent and buying entity
    (written in both files, or in neither) are those of a row of an earlier export, the payee
    spelled otherwise (an export
    without SIRET column, « ASSOC » for « ASSOCIATION »): the same payment, `duplicate` of the
    earlier file. A mandate is numbered once per budget and year; it does not come back with the
    same date and amount for another payee. Each earlier row stands for one later row per file
    (two identical rows of a file stay two payments)."""
    cand = sound.filter(pl.col("status").is_in(["ok", "duplicate"]))
    cand = cand.with_columns((pl.col("_ent") != "").alias("_has_ent"))
    group = ["_m", "_when", "_cents", "_entk", "_has_ent"]
    cand = cand.join(taken.with_columns(pl.lit(True).alias("_t")), on=["_frame", "_pos"], how="left") \
        .with_columns(pl.col("_t").fill_null(False))
    # only groups where a later file still has a row counted: the rest is settled (usually all of it)
    open_row = (pl.col("status") == "ok") & ~pl.col("_t") & (pl.col("_f") > pl.col("_f").min().over(group))
    cand = cand.filter(open_row.any().over(group))
    if cand.is_empty():
        return None
    cand = cand.select(pl.struct(group).hash(seed=17).alias("_g"), "_f", "_frame", "_pos", "_t", "status", "_who",
                       "_siren", pl.col("_name").fill_null(""), "source_file", "source_line", "_m") \
        .sort("_g", "_f", "_pos")
    G, F, FRAME, POS, T, STATUS, WHO, SIREN, NAME, FILE, ROW, M = range(12)  # noqa: N806 - column positions
    out = []
    for _, grouped in itertools.groupby(cand.iter_rows(), key=lambda r: r[G]):
        by_file: dict[int, list[tuple]] = {}
        for r in grouped:
            by_file.setdefault(r[F], []).append(r)
        files = sorted(by_file)
        counted: set[tuple[int, int]] = set()  # rows of this group made duplicates here
        for k, f in enumerate(files[1:], start=1):
            later = [r for r in by_file[f] if r[STATUS] == "ok" and not r[T]]
            best: list[tuple[tuple, tuple]] = []
            for e in files[:k]:  # the earlier file that accounts for most of this file's rows
                free = [o for o in by_file[e] if (o[FRAME], o[POS]) not in counted]
                for r in by_file[f]:  # a row already counted once through step 1 keeps its partner
                    if r[T] and (partner := next((o for o in free if o[WHO] == r[WHO]), None)) is not None:
                        free.remove(partner)
                pairs = []
                for r in later:
                    partner = next((o for o in free if o[WHO] == r[WHO]), None) or next(
                        (o for o in free if _same_payee_possible(o[SIREN], o[NAME], r[SIREN], r[NAME])), None)
                    if partner is not None:
                        free.remove(partner)
                        pairs.append((r, partner))
                best = pairs if len(pairs) > len(best) else best
            for r, partner in best:
                counted.add((r[FRAME], r[POS]))
                out.append((r[FRAME], r[POS], "duplicate", None, partner[FILE],
                            f"{r[FILE]}, ligne {r[ROW]} : paiement déjà présent dans « {partner[FILE]} », ligne "
                            f"{partner[ROW]} (même n° de mandat {r[M]}, même date et même montant ; fournisseur "
                            f"écrit autrement) : compté une fois"))
    if not out:
        return None
    return pl.DataFrame(out, schema={"_frame": pl.Int64, "_pos": pl.Int64, "_status": pl.String, "_kind": pl.String,
                                     "_of": pl.String, "_reason": pl.String}, orient="row")


# days between the date of a mandate and the date of its payment in two exports of the same
# payments (the comptable pays within the legal 30 days, give or take a few)
REDATED_DAYS = 45


# Budget names, in a file's name or a budget column: « budget principal », « budget général », « BP »;
# « budget annexe eau », « BA_eau », « budget assainissement », « régie transports », « M49 », « SPANC »;
# « CCAS » / « CIAS » (an entity of its own); « budget 02 » (a budget code); « tous budgets » names none.
_BUDGET_WORDS = frozenset({"budget", "budgets", "bud"})
_PRINCIPAL_WORDS = frozenset({"principal", "principaux", "general", "generale", "generaux", "ville", "commune",
                              "communal", "communale"})
_ALL_BUDGETS = frozenset({"consolide", "consolides", "consolidation", "tous", "toutes", "agrege", "cumule"})
_OWN_ENTITY = frozenset({"ccas", "cias"})
_ARTICLES = frozenset({"de", "des", "du", "d", "l", "la", "le", "les"})
_BUDGET_NAME_STOP = frozenset({"mandat", "mandats", "export", "extraction", "extrait", "paiements", "paiement",
                               "depenses", "factures", "exercice", "exo", "annee", "helios", "liste", "etat",
                               "ordonnateur", "comptable", "tresorerie", "dgfip", "pes", "fichier", "journal",
                               "grand", "livre", "copie", "corrige", "rectif", "recettes", "avances", "janvier",
                               "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
                               "novembre", "decembre", "trimestre", "semestre"})


def _annexe_label(words: list[str]) -> str:
    """« budget annexe » and the annexe's own words (articles skipped, up to a word that is no name)."""
    name = []
    for w in words:
        if w in _ARTICLES:
            continue
        if w in _BUDGET_NAME_STOP or not w.isalpha() or w in _BUDGET_WORDS:
            break
        name.append(w)
    return " ".join(["budget", "annexe", *name])


def _budget_label(key: str) -> str | None:
    """The budget a normalised text names, as one label (« budget principal », « budget annexe eau »,
    « ccas », « budget 2 »), else None: labels of two budgets differ by a distinctive word, labels
    that may be one budget (« budget annexe », « budget annexe eau ») do not."""
    words = key.split()
    if any(w in _ALL_BUDGETS for w in words):
        return None
    for i, w in enumerate(words):
        rest = words[i + 1:]
        if w in _BUDGET_WORDS:
            rest = list(itertools.dropwhile(lambda x: x in _ARTICLES, rest))  # « budget de la commune »
        if w in _BUDGET_WORDS and rest:
            nxt = rest[0]
            if nxt in _PRINCIPAL_WORDS:
                return "budget principal"
            if nxt in ("annexe", "annexes"):
                return _annexe_label(rest[1:])
            if nxt.isdigit() and len(nxt) <= 3:  # a budget code, not a year
                return f"budget code {int(nxt):03d}"
            if nxt in _OWN_ENTITY:
                return nxt
            if nxt.isalpha() and nxt not in _BUDGET_NAME_STOP:
                label = _annexe_label(rest)
                if label != "budget annexe":  # « budget de … » with no name after it names nothing
                    return label
        elif w == "bp":
            return "budget principal"
        elif w == "ba" or re.fullmatch(r"m4\d?", w) or (w in ("regie", "regies") and not (
                rest and rest[0] in ("recettes", "avances", "d"))):
            return _annexe_label(rest)
        elif w in _OWN_ENTITY:
            return w
        elif w == "spanc":
            return "budget annexe spanc"
    return None


def _name_budget(source_file: str) -> str | None:
    """The budget a file's name says it exports (`_budget_label`), else None."""
    return _budget_label(header_key(Path(source_file).stem))


def _other_budget_cells(a: str | None, b: str | None, budget_column: bool = False) -> bool:
    """Two lines' budget or entity cells, or their sheet names (« Budget principal », « Budget
    eau »), that say two budgets (each numbers its mandates from 1):
    two budget labels (`_budget_label`: « Budget principal », « Budget annexe eau ») that cannot
    be one, or, in a column headed « Budget », two different codes (« 01 », « 02 »). A service or
    a direction is no budget: two services may share one budget's mandates."""
    ka, kb = header_key(a or ""), header_key(b or "")
    if not ka or not kb or ka == kb:
        return False
    la, lb = _budget_label(ka), _budget_label(kb)
    if la is not None and lb is not None:
        return not _same_entity_possible(la, lb)
    return budget_column and la is None and lb is None


def _other_budgets(a: str, b: str) -> bool:
    """Two file names that say two budgets: the principal one and an annexe, two annexes named
    otherwise (« eau », « assainissement »; « eau » and « eau potable » may be one), a CCAS and
    the town; an annexe named on one side only may be the same."""
    na, nb = _name_budget(a), _name_budget(b)
    return na is not None and nb is not None and not _same_entity_possible(na, nb)


def _other_budgets_unnamed_principal(a: str, b: str) -> bool:
    """`_other_budgets`, a file whose name states no budget taken for the principal one (README):
    never an annexe's or a CCAS's, which number their mandates apart; against a budget code
    (« budget 01 », maybe the principal) it stays undecided, so not two budgets."""
    na, nb = _name_budget(a), _name_budget(b)
    if na is None and nb is None:
        return False
    if na is not None and nb is not None:
        return not _same_entity_possible(na, nb)
    named = na if na is not None else nb
    return named.startswith("budget annexe") or named in _OWN_ENTITY


# `_date_stage` values: the payment itself, and the steps before it (prise en charge, mandate, invoice);
# a bare « Date » says neither
_PAYMENT_STAGE, _EARLIER_STAGES = 0, frozenset({1, 2, _DATE_LATE})


def _redating_pairs(frames: list[pl.DataFrame]) -> set[tuple[int, int]]:
    """The pairs of frames (k, j) whose rows may be one mandate dated otherwise (whether their
    dates say so is judged per line, `_line_stages`): not two frames whose file names say two
    budgets, each numbers its mandates from 1."""
    return {(k, j) for k, j in itertools.permutations(range(len(frames)), 2)
            if frames[k].height and frames[j].height
            and not _other_budgets(frames[k]["source_file"][0], frames[j]["source_file"][0])}


def _line_stages(rows: pl.DataFrame, date_stages: list[int | None] | None,
                 fallbacks: list[tuple[int, frozenset[int]] | None] | None) -> pl.DataFrame:
    """`rows` with `_stage`, what each line's date dates: its file's chosen date column, or, on a
    line whose chosen cell was blank, the column it was dated by (`_fall_back_to_date`: « Date de
    paiement » empty, « Date mandat » read: that line dates its mandate, whatever the header)."""
    stage = pl.lit(None, pl.Int64)
    if date_stages is not None:
        stage = pl.col("_frame").replace_strict(dict(enumerate(date_stages)), default=None, return_dtype=pl.Int64)
    marks = [(k, r, fb[0]) for k, fb in enumerate(fallbacks or []) if fb for r in fb[1]]
    if not marks:
        return rows.with_columns(stage.alias("_stage"))
    fell = pl.DataFrame(marks, schema={"_frame": pl.Int64, "source_row": pl.Int64, "_fb": pl.Int64}, orient="row")
    return rows.join(fell, on=["_frame", "source_row"], how="left").with_columns(
        pl.coalesce(pl.col("_fb"), stage).alias("_stage")).drop("_fb")


def _redated_payments(frames: list[pl.DataFrame], sound: pl.DataFrame, taken: pl.DataFrame,
                      pairs: set[tuple[int, int]]) -> tuple[pl.DataFrame | None, dict[int, str]]:
    """Rows of a later export with the payee, n° of mandate, exercice, amount to the cent and entity
    of a row of an earlier export, dated at most REDATED_DAYS apart: one export gives the date of
    the mandate, the other the date of its payment; a mandate is numbered once per budget and
    exercice. Only for the pairs of rows whose dates say so, one the payment's and the other an
    earlier step's (`_line_stages`, per line; for the pairs where nothing says it, a French note
    per later frame instead), when that
    n° is on one row of its exercice in each file (a n° that repeats is a bordereau or a contract,
    not a mandate) and on one row of the group in each file: repeated payments of the same amount
    to the same payee (a monthly rent) have their own n° each."""
    if not pairs:
        return None, {}
    key = ["_who", "_m", "_fy", "_cents", "_entk"]
    cand = sound.filter(pl.col("status").is_in(["ok", "duplicate"])).join(taken, on=["_frame", "_pos"], how="anti")
    cand = cand.filter((pl.len().over([*key, "_f"]) == 1) & (pl.col("_f").n_unique().over(key) > 1)
                       & (pl.col("purchase_date").n_unique().over(key) > 1))
    if cand.is_empty():
        return None, {}
    once = []
    mandate = _mandate_key()
    for k in cand["_frame"].unique().to_list():  # the n° on one row of its exercice in the whole file
        mine = cand.filter(pl.col("_frame") == k).select("_m", "_fy").unique()
        counts = frames[k].filter(pl.col("row_kind") == "data").select(
            mandate.alias("_m"), pl.col("fiscal_year").cast(pl.Int32).alias("_fy")).join(mine, on=["_m", "_fy"]) \
            .group_by("_m", "_fy").len()
        once.append(counts.filter(pl.col("len") == 1).select(pl.lit(k, pl.Int64).alias("_frame"), "_m", "_fy"))
    cand = cand.join(pl.concat(once), on=["_frame", "_m", "_fy"], how="semi")
    cand = cand.filter(pl.col("_f").n_unique().over(key) > 1)
    earlier = cand.select(*key, pl.col("_frame").alias("_of_frame"), pl.col("source_file").alias("_of"),
                          pl.col("source_line").alias("_ol"), pl.col("purchase_date").alias("_od"),
                          pl.col("_f").alias("_of_f"), pl.col("_stage").alias("_ostage"))
    allowed = pl.DataFrame(sorted(pairs), schema={"_frame": pl.Int64, "_of_frame": pl.Int64}, orient="row")
    near = cand.filter(pl.col("status") == "ok").join(earlier, on=key).filter(
        (pl.col("_f") > pl.col("_of_f"))
        & ((pl.col("purchase_date") - pl.col("_od")).dt.total_days().abs() <= REDATED_DAYS)).sort("_of_f", "_of_frame")
    near = near.join(allowed, on=["_frame", "_of_frame"], how="semi")
    # one line dates the payment, the other an earlier step (the mandate, its acceptance)
    early = list(_EARLIER_STAGES)
    proved = ((pl.col("_stage") == _PAYMENT_STAGE) & pl.col("_ostage").is_in(early)) \
        | ((pl.col("_ostage") == _PAYMENT_STAGE) & pl.col("_stage").is_in(early))
    # each later row is the duplicate of the earliest file's row it may be paired with
    later = near.filter(proved.fill_null(False)).unique(["_frame", "_pos"], keep="first", maintain_order=True)
    doubt = near.filter(~proved.fill_null(False)) \
        .join(later.select("_frame", "_pos"), on=["_frame", "_pos"], how="anti") \
        .unique(["_frame", "_pos"], keep="first", maintain_order=True)
    notes = {int(k): _redated_doubt_note(g) for (k,), g in doubt.group_by("_frame")}
    if later.is_empty():
        return None, notes
    return later.select("_frame", "_pos", pl.lit("duplicate").alias("_status"), pl.lit(None, pl.String).alias("_kind"),
                        pl.col("_of"), pl.format(
        "{}, ligne {} : paiement déjà présent dans « {} », ligne {} (même fournisseur, n° de mandat {}, exercice {} "
        "et montant ; daté du {} ici, du {} là : date du mandat et date de son paiement ?) : compté une fois",
        "source_file", "source_line", "_of", "_ol", "_m", "_fy", pl.col("purchase_date").dt.strftime("%d/%m/%Y"),
        pl.col("_od").dt.strftime("%d/%m/%Y")).alias("_reason")), notes


def _redated_doubt_note(rows: pl.DataFrame) -> str:
    """French note for the rows of one frame that have the payee, n° of mandate, exercice and
    amount of a row of an earlier file, dated otherwise, when the two date columns do not say that
    one dates the mandate and the other its payment: counted in both files."""
    r = rows.sort("source_line").row(0, named=True)
    lines = ", ".join(str(x) for x in rows.sort("source_line")["source_line"].head(5).to_list())
    more = f" (et {rows.height - 5} autres)" if rows.height > 5 else ""
    return (f"{r['source_file']} : {rows.height} paiement(s) (lignes {lines}{more}) ont le même fournisseur, le même "
            f"n° de mandat, le même exercice et le même montant qu'une ligne de « {r['_of']} » (ex. ligne "
            f"{r['source_line']} : n° {r['_m']}, ligne {r['_ol']} là-bas), datés à moins de {REDATED_DAYS} jours ; "
            f"les colonnes de date des deux fichiers ne disent pas que l'une date le mandat et l'autre son paiement "
            f"(deux dates de paiement, ou une simple « Date ») : comptés dans les deux fichiers ; s'ils viennent de "
            f"deux budgets, nommez-les dans les noms de fichier (« budget principal », « budget annexe … ») ; si ce "
            f"sont les mêmes paiements, retirez l'un des exports")


def _superseded_reason(r: dict, why: str) -> str:
    return (f"{r['source_file']}, ligne {r['source_line']} : mandat n° {r['_m']} du {r['_when']} à "
            f"{_cents_text(r['_cents'])}, {_cents_text(r['_wc'])} dans « {r['_wf']} », ligne {r['_wr']}, version "
            f"retenue : {why}")


def _apply_changes(frames: list[pl.DataFrame], changes: list[pl.DataFrame]) -> list[pl.DataFrame]:
    if not changes:
        return frames
    allc = pl.concat(changes)
    out = []
    for k, df in enumerate(frames):
        mine = allc.filter(pl.col("_frame") == k)
        if mine.is_empty():
            out.append(df)
            continue
        df = df.with_row_index("_pos").with_columns(pl.col("_pos").cast(pl.Int64)).join(
            mine.drop("_frame"), on="_pos", how="left")
        hit = pl.col("_status").is_not_null()
        df = df.with_columns(
            pl.when(hit).then(pl.col("_status")).otherwise(pl.col("status")).alias("status"),
            pl.when(hit & pl.col("_kind").is_not_null()).then(pl.col("_kind")).otherwise(pl.col("row_kind"))
            .alias("row_kind"),
            pl.when(hit).then(pl.col("_of")).otherwise(pl.col("duplicate_of")).alias("duplicate_of"),
            pl.when(hit).then(pl.col("_reason")).otherwise(pl.col("quarantine_reason")).alias("quarantine_reason"),
        ).drop("_pos", "_status", "_kind", "_of", "_reason")
        out.append(df)
    return out


def _possible_overlaps(idx: pl.DataFrame, changed: pl.DataFrame | None, accepted: dict[int, int]) -> dict:
    """(file, sheet) -> (other file, rows, cents): accepted dated rows without a n° of mandate whose
    payee, date and amount are those of an accepted row of an earlier file: no proof they are the
    same payment, no proof they are not. Also a file whose accepted dated payments nearly all
    (OVERLAP_SHARE) have the payee, amount and exercice of a payment of an earlier file, dated at
    most REDATED_DAYS apart, with no n° of mandate that proves it: another export of the same
    payments written otherwise, or the same payments paid twice — said, never merged."""
    ok = idx.filter((pl.col("status") == "ok") & (pl.col("row_kind") == "data") & ~pl.col("_copy")
                    & pl.col("purchase_date").is_not_null() & pl.col("_cents").is_not_null())
    if changed is not None:
        ok = ok.join(changed.select("_frame", "_pos"), on=["_frame", "_pos"], how="anti")
    found = _same_day_overlaps(ok)
    for k, hit in _similar_exports(ok, accepted).items():
        if hit[1] > found.get(k, (None, 0, 0))[1]:
            found[k] = hit
    return found


def _similar_exports(ok: pl.DataFrame, accepted: dict[int, int]) -> dict:
    """Per later file, the rows (and cents) whose payee, amount and exercice are those of a row of
    an earlier file dated at most REDATED_DAYS apart, counted one for one, when they are nearly all
    of the file's accepted dated payments (two at least), unless the two file names say two budgets.
    The nearest date per row (an as-of join),
    never every pair: a rent paid every month is one key with many rows."""
    key = ["_who", "_fy", "_cents"]
    rows = ok.filter(pl.col("_fy").is_not_null()).select("_frame", "_f", "source_file", *key, "purchase_date") \
        .sort("purchase_date")
    if rows.is_empty():
        return {}
    out: dict[int, tuple] = {}
    frames = rows.select("_frame", "_f", "source_file").unique().sort("_f").rows()
    for frame, f, name in frames:
        mine = rows.filter(pl.col("_frame") == frame)
        need = max(2, OVERLAP_SHARE * accepted.get(int(frame), 0))
        if mine.height < need:
            continue
        for _, f_o, other in frames:
            if f_o >= f or _other_budgets(name, other):  # two budgets' exports: the same fee, two payments
                continue
            theirs = rows.filter(pl.col("_f") == f_o).select(*key, pl.col("purchase_date").alias("_d_o"))
            near = mine.join_asof(theirs, left_on="purchase_date", right_on="_d_o", by=key, strategy="nearest",
                                  tolerance=f"{REDATED_DAYS}d", check_sortedness=False)
            hit = near.filter(pl.col("_d_o").is_not_null()).group_by(key).len()
            # one for one: per payee, exercice and amount, the fewer of the rows each side has
            n = hit.join(theirs.group_by(key).len(), on=key, suffix="_o").select(
                pl.min_horizontal("len", "len_o").alias("n"), "_cents")
            shared, cents = int(n["n"].sum()), int((n["n"] * n["_cents"]).sum())
            if shared >= need and shared > out.get(int(frame), (None, 0, 0))[1]:
                out[int(frame)] = (other, shared, cents)
    return out


def _same_day_overlaps(ok: pl.DataFrame) -> dict:
    """Rows without a n° of mandate (on either side) whose payee, date and amount match a row of an
    earlier file."""
    key = ["_who", "purchase_date", "_cents"]
    counts = ok.group_by([*key, "_f", "source_file", "_frame"]).agg(
        pl.len().alias("_n"), (pl.col("_m") == "").sum().alias("_bare"))
    pairs = counts.join(counts, on=key, suffix="_o").filter(pl.col("_f_o") < pl.col("_f"))
    # at least one side has no n° of mandate (two n° that differ tell two payments apart)
    pairs = pairs.filter((pl.col("_bare") > 0) | (pl.col("_bare_o") > 0)).with_columns(
        pl.min_horizontal("_n", "_n_o").alias("_shared"))
    if pairs.is_empty():
        return {}
    per = pairs.group_by("_frame", "source_file", "source_file_o").agg(
        pl.col("_shared").sum().alias("n"), (pl.col("_shared") * pl.col("_cents")).sum().alias("c"))
    per = per.sort("n", descending=True).unique("_frame", keep="first", maintain_order=True)
    return {int(r["_frame"]): (r["source_file_o"], int(r["n"]), int(r["c"])) for r in per.iter_rows(named=True)}
