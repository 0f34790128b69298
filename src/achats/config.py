"""Run settings: defaults overridden by the data directory's optional `achats.toml`.

One validated model (pydantic): every value is checked for its type and range before anything
runs, and every problem comes back as one French line naming the section and the key as the
buyer wrote them (« achats.toml, [seuils] accept : « 0,9 » n'est pas un nombre… »).

Unknown keys, decided per place:
- in [acheteur], [seuils], [controles], [securite]: an error (exit 2). A misspelt threshold or limit
  would silently run with the default, i.e. with figures or checks the buyer did not ask for;
- in [colonnes]: a warning. The reader still recognises the headers by itself, and names the
  columns it cannot find;
- an unknown section: an error when its name is close to a known one ([controle], [seuil]: the
  same silent default), otherwise a warning (a section meant for another tool).
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from achats.errors import InputError
from achats.formatting import number_fr
from achats.safety import DEFAULT_MAX_ARCHIVE_GB, links_allowed


class _Section(BaseModel):
    # strict: a TOML number must be a number ("0.9" in quotes is a text), an int is a fine float
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Thresholds(_Section):
    """Decisions from match probabilities (0-1). A candidate is auto-accepted from the probability
    at which the shipped model reached `target_precision` on its held-out split, or from `accept`
    when a buyer sets it (never below 0.7, see bench/fit_match_model.py); a line whose best
    candidate is less likely than `review` is unmatched (no candidate worth a person's look);
    anything between goes to review."""

    target_precision: float = Field(0.99, ge=0.5, le=1)
    accept: float | None = Field(None, ge=0, le=1)
    review: float = Field(0.30, ge=0, le=1)
    # a typed word is "absent" from a unit's name when no word of it reaches this similarity
    # (rapidfuzz ratio, 0-1); a name with such a word goes to review (0 turns the rule off)
    added_word_similarity: float = Field(0.60, ge=0, le=1)
    # a supplier in review whose lines add up (net, in euros) to less than this is decided without
    # a person, its candidates' probabilities kept in the estimate (0 turns it off)
    materiality_eur: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _accept_above_review(self) -> Thresholds:
        if self.accept is not None and self.accept < self.review:
            raise ValueError(f"accept ({number_fr(self.accept, 2, ' ')}) doit être supérieur ou égal à review "
                             f"({number_fr(self.review, 2, ' ')}) : on ne peut pas accepter d'office un "
                             "rapprochement moins sûr que ceux qu'on envoie en vérification")
        return self


class Controls(_Section):
    """Limits of the blocking checks, and the drift that only warns (shares are 0-1). The defaults
    only stop a run that is clearly broken; a buyer tightens them in achats.toml [controles]."""

    max_quarantined_share: float = Field(0.25, ge=0, le=1)
    max_unmatched_share: float = Field(0.50, ge=0, le=1)
    max_line_count_drop: float = Field(0.50, ge=0, le=1)
    max_status_rejected_share: float = Field(0.25, ge=0, le=1)
    drift_warning_points: float = Field(0.05, ge=0, le=1)
    # a purchase line above this amount is a pasted identifier or a typing slip, not a payment
    max_line_amount_eur: float = Field(100_000_000.0, gt=0)


class Security(_Section):
    """What a data directory may make the run do (see `achats.safety`)."""

    allow_external_links: bool = False
    max_archive_gb: float = Field(DEFAULT_MAX_ARCHIVE_GB, gt=0)

    @property
    def max_archive_bytes(self) -> float:
        return self.max_archive_gb * 1e9


@dataclass(frozen=True)
class Cartography:
    """Action 1: what "local" means for the ESS offer, which contracts count as "coming up for
    renewal", and the buyer's targets. "Local" is the buyer's département unless achats.toml says
    `perimetre = "epci"` (the `epci` SIREN list) or `"distance"` (`distance_km` from the buyer's seat)."""

    local_scope: str = "departement"
    local_epci: tuple[str, ...] = ()
    local_distance_km: float = 30.0
    renewal_min_months: int = 6
    renewal_max_months: int = 24
    target_ess_share: float | None = None


SIRENE_PERIMETERS = ("auto", "acheteur", "complet")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    buyer_siren: str | None = None
    home_departement: str | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    column_mapping: dict[str, str] = Field(default_factory=dict)
    # ([colonnes."motif"], its mapping): a file matching one uses it instead of [colonnes]
    column_mapping_by_file: tuple[tuple[str, dict[str, str]], ...] = ()
    esus_default_years: int = Field(5, ge=1, le=30)
    controls: Controls = Field(default_factory=Controls)
    security: Security = Field(default_factory=lambda: Security(allow_external_links=links_allowed()))
    cartography: Cartography = Field(default_factory=Cartography)
    # which SIRENE rows a run reads: "auto" (a shared stock: the buyer's perimeter; its own
    # sirene/: all of it), "acheteur" (always the perimeter), "complet" (always everything)
    sirene_perimeter: Literal["auto", "acheteur", "complet"] = "auto"
    warnings: tuple[str, ...] = ()
    # "acheteur": read only the buyer's part of the SIRENE stocks; "complet": all of it (name search
    # across the whole stock); "auto": the buyer's part of a shared stock, all of its own extract
    sirene_perimeter: str = "auto"

    @field_validator("buyer_siren")
    @classmethod
    def _siren(cls, value: str | None) -> str | None:
        from achats.identifiers import siren_valid

        if value is not None and not (value.isdigit() and len(value) == 9 and siren_valid(value)):
            raise ValueError(f"« {value} » n'est pas un SIREN valide (9 chiffres, clé de contrôle)")
        return value

    @field_validator("home_departement")
    @classmethod
    def _departement(cls, value: str | None) -> str | None:
        if value is not None and not (value.isdigit() and len(value) in (2, 3) or value.upper() in ("2A", "2B")):
            raise ValueError(f"« {value} » n'est pas un code de département (31, 2A, 974…)")
        return value.upper() if value else value


# Other spellings a buyer may use in achats.toml, mapped to ours: section -> (its names, its keys).
SECTION_ALIASES = {"acheteur": ("acheteur", "buyer"), "seuils": ("seuils", "thresholds", "matching"),
                   "controles": ("controles", "contrôles", "controls", "checks"),
                   "colonnes": ("colonnes", "columns", "column_mapping", "mapping"),
                   "securite": ("securite", "sécurité", "security"),
                   "sources": ("sources",), "local": ("local",), "renouvellements": ("renouvellements",),
                   "objectifs": ("objectifs",), "sirene": ("sirene",)}
TOP_LEVEL_KEYS = {"esus_duree_defaut_ans": "esus_default_years"}
KEY_ALIASES = {
    "acheteur": {
        "siren": ("siren", "buyer_siren", "siren_acheteur"),
        "departement": ("departement", "département", "home_departement", "departement_code", "department",
                        "home_department", "dep"),
    },
    "seuils": {
        "accept": ("accept", "auto_accept", "match_accept", "acceptation", "accepte"),
        "review": ("review", "review_min", "match_review", "verification", "revue"),
        "target_precision": ("target_precision", "precision_cible", "précision_cible"),
        "added_word_similarity": ("added_word_similarity", "similarite_mot_ajoute", "similarité_mot_ajouté"),
        "materiality_eur": ("materiality_eur", "seuil_importance_eur", "importance_eur"),
    },
    "controles": {**{k: (k,) for k in Controls.model_fields},
                  "max_line_amount_eur": ("plafond_ligne_eur", "max_line_amount_eur", "plafond_montant_ligne_eur")},
    "securite": {"allow_external_links": ("liens_externes", "allow_external_links"),
                 "max_archive_gb": ("taille_max_archive_go", "max_archive_gb")},
}

COLUMN_FIELDS = {
    "supplier_name": ("supplier_name", "fournisseur", "supplier", "raison_sociale", "nom", "name", "tiers"),
    "siret": ("siret", "siren", "siret_raw", "identifiant"),
    "amount": ("amount", "amount_eur", "montant", "montant_eur"),
    # a ledger's credit column beside the debit named as `montant` (debit − credit)
    "amount_credit": ("credit", "montant_credit", "amount_credit"),
    # a « TVA » column of euros beside the HT `montant` (HT + TVA), never read as a rate
    "amount_vat": ("montant_tva", "amount_vat"),
    "date": ("date", "purchase_date", "date_paiement", "date_mandat"),
    "fiscal_year": ("fiscal_year", "exercice", "annee", "year", "gestion"),
    "period": ("period", "periode", "mois", "month"),
    "category": ("category", "categorie", "cpv", "code_cpv", "nature"),
    "buying_entity": ("buying_entity", "entite", "entite_acheteuse", "service", "direction_gestionnaire",
                      "service_gestionnaire"),
    "mandate_number": ("mandate_number", "line_number", "numero_mandat", "mandat", "n_mandat"),
    "commune": ("commune", "code_commune", "code_postal"),
    "direction": ("sens", "direction_debit_credit", "debit_credit", "type_mouvement"),
    "invoice_ref": ("invoice_ref", "facture", "numero_facture", "n_facture", "reference_facture"),
    "buying_org": ("buying_org", "collectivite", "organisme"),
}
# how each field is written in [colonnes], for messages (the reader's name for the debit/credit
# sign, « direction », is not a key: in French it is a department of the buyer)
COLUMN_KEYS = {"supplier_name": "fournisseur", "siret": "siret", "amount": "montant", "amount_credit": "credit",
               "amount_vat": "montant_tva",
               "date": "date", "fiscal_year": "exercice", "period": "periode", "category": "categorie",
               "buying_entity": "entite",
               "mandate_number": "mandat", "commune": "commune", "direction": "sens",
               "invoice_ref": "facture", "buying_org": "collectivite"}
# keys that name two fields: refused, the buyer says which
AMBIGUOUS_COLUMN_KEYS = {
    "direction": "« direction » désigne ici soit le sens débit/crédit, soit la direction (service) "
                 "acheteuse : écrivez « sens = … » pour la colonne débit/crédit, ou « entite = … » pour le "
                 "service ou la direction qui achète",
}


def _suggest(word: str, known) -> str:
    close = difflib.get_close_matches(str(word).lower(), list(known), n=1, cutoff=0.75)
    return f" (vouliez-vous dire « {close[0]} » ?)" if close else ""


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"« {value} »"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = number_fr(value, 2 if abs(value) < 1000 else 0, " ")
        return text.rstrip("0").rstrip(",") if "," in text else text
    return f"« {value} »" if isinstance(value, dict | list) else str(value)


def _french(err: dict, value: Any) -> str:
    """A pydantic error in the words of someone editing achats.toml."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float", "finite_number"):
        what = "un nombre entier" if kind.startswith("int") else "un nombre"
        if isinstance(value, str):
            hint = value.strip().replace(",", ".").replace(" ", "")
            try:
                float(hint)
                fix = f" ; écrivez {hint} (point décimal, sans guillemets)"
            except ValueError:
                fix = " ; écrivez un nombre sans guillemets, avec un point décimal (0.9)"
            return f"{_show(value)} n'est pas {what}{fix}"
        return f"{_show(value)} n'est pas {what}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{_show(value)} doit valoir true ou false (sans guillemets)"
    if kind in ("string_type",):
        return f"{_show(value)} doit être un texte entre guillemets"
    if kind == "greater_than_equal":
        return f"{_show(value)} est trop petit : au moins {_show(ctx.get('ge'))}"
    if kind == "greater_than":
        return f"{_show(value)} est trop petit : doit être supérieur à {_show(ctx.get('gt'))}"
    if kind == "less_than_equal":
        limit = ctx.get("le")
        extra = " (une part s'écrit entre 0 et 1 : 0.05 pour 5 %)" if limit == 1 else ""
        return f"{_show(value)} est trop grand : au plus {_show(limit)}{extra}"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg")))
    return f"{_show(value)} : valeur refusée ({err.get('msg')})"


def _canonical(section: str, values: dict, where: str, errors: list[str]) -> tuple[dict, dict]:
    """Keys of one section under our names; unknown or doubled keys are errors."""
    aliases = KEY_ALIASES[section]
    out, written = {}, {}
    for key, value in values.items():
        canon = next((c for c, names in aliases.items() if str(key).lower() in names), None)
        if canon is None:
            names = [n[0] for n in aliases.values()]
            errors.append(f"{where}, [{section}] : clé inconnue « {key} »{_suggest(key, names)} ; "
                          f"clés possibles : {', '.join(names)}")
        elif canon in out:
            errors.append(f"{where}, [{section}] : « {written[canon]} » et « {key} » désignent le même réglage : "
                          "n'en gardez qu'un")
        else:
            out[canon], written[canon] = value, key
    return out, written


def _validate(model: type[BaseModel], section: str, values: dict, written: dict, where: str,
              errors: list[str]) -> BaseModel | None:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else None
            key = f" {written.get(field, field)}" if field else ""
            errors.append(f"{where}, [{section}]{key} : {_french(err, values.get(field) if field else None)}")
    return None


def _column_mapping(values: dict, where: str, warnings: list[str], errors: list[str],
                    section: str = "[colonnes]") -> dict[str, str]:
    out = {}
    for key, header in values.items():
        field_name = next((f for f, names in COLUMN_FIELDS.items() if str(key).lower() in names), None)
        if str(key).lower() in AMBIGUOUS_COLUMN_KEYS:
            errors.append(f"{where}, {section} {key} : clé ambiguë : {AMBIGUOUS_COLUMN_KEYS[str(key).lower()]}")
        elif field_name is None:
            known = [n for names in COLUMN_FIELDS.values() for n in names]
            warnings.append(f"{where} : champ inconnu « {key} » dans {section}, ignoré{_suggest(key, known)} "
                            f"(attendus : {', '.join(COLUMN_KEYS.values())})")
        elif not isinstance(header, str) or not header.strip():
            errors.append(f"{where}, {section} {key} : l'en-tête doit être un texte entre guillemets, "
                          "tel qu'il est écrit dans votre fichier")
        else:
            out[field_name] = header
    return out


def _file_column_mappings(values: dict, where: str, warnings: list[str], errors: list[str],
                          data_dir: Path) -> tuple[tuple[str, dict[str, str]], ...]:
    """[colonnes."motif"] sections: exports of another shape beside the usual one each get their
    own headers; a pattern that names no file of purchases/ is warned (a typo would otherwise
    leave that export on the [colonnes] mapping, which stops the run on it)."""
    out = []
    folder = data_dir / "purchases"
    names = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    for pattern, sub in values.items():
        if not isinstance(sub, dict):
            continue
        section = f'[colonnes."{pattern}"]'
        mapping = _column_mapping(sub, where, warnings, errors, section)
        if not str(pattern).strip():
            errors.append(f"{where}, {section} : motif de nom de fichier vide")
            continue
        if not any(file_pattern_matches(str(pattern), n) for n in names):
            warnings.append(f"{where} : {section} ne désigne aucun fichier de purchases/ (motif de nom de fichier, "
                            "* pour n'importe quels caractères) : ignoré")
        out.append((str(pattern), mapping))
    return tuple(out)


def file_pattern_matches(pattern: str, relative_path: str) -> bool:
    """A [colonnes."motif"] pattern against a file of purchases/: its name or its path under
    purchases/, without case (exports are renamed by hand, « Export » or « export »)."""
    pattern, path = pattern.strip().lower(), relative_path.lower()
    path = path.removeprefix("purchases/")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)


def _sections(raw: dict, where: str, warnings: list[str], errors: list[str]) -> dict[str, dict]:
    """Each known section under our name; unknown top-level keys judged as the module says."""
    found: dict[str, dict] = {}
    names = {alias: name for name, aliases in SECTION_ALIASES.items() for alias in aliases}
    for key, value in raw.items():
        if key in TOP_LEVEL_KEYS:
            continue
        name = names.get(str(key).lower())
        if name is None:
            hint = _suggest(key, list(names) + list(TOP_LEVEL_KEYS))
            (errors if hint else warnings).append(
                f"{where} : section inconnue [{key}]{hint or ', ignorée'}")
            continue
        if not isinstance(value, dict):
            errors.append(f"{where} : « {key} » doit être une section ([{key}] suivi de ses clés), pas une valeur")
        elif name in found:
            errors.append(f"{where} : la section [{name}] est écrite deux fois (sous deux noms) : n'en gardez qu'une")
        else:
            found[name] = value
    return found


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def load_settings(data_dir: Path) -> Settings:
    """Read and validate `achats.toml` when present; stop with every problem at once, in French."""
    path = data_dir / "achats.toml"
    if not path.exists():
        return Settings()
    where = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"line (\d+), column (\d+)", str(exc))
        place = f", ligne {at[1]}, colonne {at[2]}" if at else ""
        raise InputError(f"{where}{place} : erreur de syntaxe, fichier de configuration illisible. Vérifiez les "
                         "guillemets autour des textes, les crochets des sections et le signe = entre clé et "
                         "valeur.") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} : fichier de configuration illisible (enregistrez-le en UTF-8)") from exc
    warnings: list[str] = []
    errors: list[str] = []
    sections = _sections(raw, where, warnings, errors)
    parts: dict[str, Any] = {}
    for name, model, field in (("seuils", Thresholds, "thresholds"), ("controles", Controls, "controls"),
                               ("securite", Security, "security")):
        values, written = _canonical(name, sections.get(name, {}), where, errors)
        if name == "securite" and "allow_external_links" not in values:
            values["allow_external_links"] = links_allowed()
        parts[field] = _validate(model, name, values, written, where, errors)
    buyer, written = _canonical("acheteur", sections.get("acheteur", {}), where, errors)
    siren, dep = buyer.get("siren"), buyer.get("departement")
    if isinstance(siren, int):
        siren = str(siren).zfill(9)
    if isinstance(dep, int):
        dep = str(dep).zfill(2)
    for key, value in (("siren", siren), ("departement", dep)):
        if value is not None and not isinstance(value, str):
            errors.append(f"{where}, [acheteur] {written[key]} : {_show(value)} doit être un texte entre guillemets")
    columns = sections.get("colonnes", {})
    mapping = _column_mapping({k: v for k, v in columns.items() if not isinstance(v, dict)}, where, warnings, errors)
    by_file = _file_column_mappings(columns, where, warnings, errors, data_dir)
    years = raw.get("esus_duree_defaut_ans", 5)
    values = {"buyer_siren": _text(siren), "home_departement": _text(dep).zfill(2) if _text(dep) else None,
              "column_mapping": mapping, "column_mapping_by_file": by_file, "esus_default_years": years}
    if errors or any(v is None for v in parts.values()):
        # validate what can be, to report every problem in one go
        _settings_errors(values, written, where, errors)
        raise InputError("\n".join(errors))
    sirene_raw = raw.get("sirene") if isinstance(raw.get("sirene"), dict) else {}
    perimeter = str(sirene_raw.get("perimetre", "auto")).strip().lower()
    if perimeter not in SIRENE_PERIMETERS:
        errors.append(f"{where}, [sirene] perimetre : « {perimeter} » inconnu (attendus : "
                      f"{', '.join(SIRENE_PERIMETERS)})")
    for key in sorted(set(sirene_raw) - {"perimetre"}):
        errors.append(f"{where} : clé inconnue « {key} » dans [sirene]")
    if errors:
        raise InputError("\n".join(errors))
    values["sirene_perimeter"] = perimeter
    try:
        cartography = _cartography(raw, where, warnings)
    except InputError as exc:
        errors.append(str(exc))
        raise InputError("\n".join(errors)) from None
    try:
        return Settings(**values, **parts, cartography=cartography, warnings=tuple(warnings))
    except ValidationError:
        _settings_errors(values, written, where, errors)
        raise InputError("\n".join(errors)) from None


def _settings_errors(values: dict, written: dict, where: str, errors: list[str]) -> None:
    try:
        Settings(**values)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0])
            label = {"buyer_siren": f"[acheteur] {written.get('siren', 'siren')}",
                     "home_departement": f"[acheteur] {written.get('departement', 'departement')}",
                     "esus_default_years": "esus_duree_defaut_ans"}.get(field, field)
            errors.append(f"{where}, {label} : {_french(err, values.get(field))}")


def _cartography(raw: dict, where: str, warnings: list[str]) -> Cartography:
    """[local], [renouvellements] and [objectifs]; a wrong value stops the run with its place."""
    local = raw.get("local") if isinstance(raw.get("local"), dict) else {}
    renew = raw.get("renouvellements") if isinstance(raw.get("renouvellements"), dict) else {}
    goals = raw.get("objectifs") if isinstance(raw.get("objectifs"), dict) else {}
    scope = str(local.get("perimetre", "departement")).strip().lower()
    if scope not in ("departement", "epci", "distance"):
        raise InputError(f"{where}, [local] perimetre : « {scope} » (attendu : departement, epci ou distance)")
    epci = tuple(str(e).strip() for e in local.get("epci", []) or [])
    if scope == "epci" and not epci:
        raise InputError(f"{where}, [local] : perimetre = \"epci\" demande une liste epci = [\"SIREN\", …]")
    window = renew.get("fenetre_mois", [6, 24])
    try:
        low, high = (int(window[0]), int(window[1]))
        distance = float(local.get("distance_km", 30))
        target = float(goals["part_ess"]) if "part_ess" in goals else None
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise InputError(f"{where} : valeur illisible dans [local], [renouvellements] ou [objectifs] ({exc})") from exc
    if not 0 <= low <= high or distance <= 0 or (target is not None and not 0 <= target <= 1):
        raise InputError(f"{where} : fenetre_mois = [min, max] avec 0 ≤ min ≤ max, distance_km > 0, "
                         "part_ess entre 0 et 1")
    for section, values, known in (("local", local, {"perimetre", "epci", "distance_km"}),
                                   ("renouvellements", renew, {"fenetre_mois"}), ("objectifs", goals, {"part_ess"})):
        for key in sorted(set(values) - known):
            warnings.append(f"{where} : clé inconnue « {key} » dans [{section}], ignorée")
    return Cartography(scope, epci, distance, low, high, target)
