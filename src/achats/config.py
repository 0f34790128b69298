"""Run settings: defaults overridden by the data directory's optional `achats.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from achats.errors import InputError


@dataclass(frozen=True)
class Thresholds:
    """Decisions from match probabilities (0-1). A candidate is auto-accepted from the probability
    at which the shipped model reached `target_precision` on its held-out split, or from `accept`
    when a buyer sets it; a line whose candidates together are less likely than `review` is
    unmatched; anything between goes to review."""

    target_precision: float = 0.99
    accept: float | None = None
    review: float = 0.10


@dataclass(frozen=True)
class Controls:
    """Limits of the blocking checks, and the drift that only warns (shares are 0-1). The defaults
    only stop a run that is clearly broken; a buyer tightens them in achats.toml [controles]."""

    max_quarantined_share: float = 0.25
    max_unmatched_share: float = 0.50
    max_line_count_drop: float = 0.50
    max_status_rejected_share: float = 0.25
    drift_warning_points: float = 0.05
    # a purchase line above this amount is a pasted identifier or a typing slip, not a payment
    max_line_amount_eur: float = 100_000_000.0


@dataclass(frozen=True)
class Settings:
    buyer_siren: str | None = None
    home_departement: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    column_mapping: dict[str, str] = field(default_factory=dict)
    esus_default_years: int = 5
    controls: Controls = field(default_factory=Controls)
    warnings: tuple[str, ...] = ()


# Other spellings a buyer may use in achats.toml, mapped to ours.
SECTION_ALIASES = {"acheteur": ("acheteur", "buyer"), "seuils": ("seuils", "thresholds", "matching"),
                   "controles": ("controles", "contrôles", "controls", "checks"),
                   "colonnes": ("colonnes", "columns", "column_mapping", "mapping")}
KEY_ALIASES = {
    "siren": ("siren", "buyer_siren", "siren_acheteur"),
    "departement": ("departement", "département", "home_departement", "departement_code", "department",
                    "home_department", "dep"),
    "accept": ("accept", "auto_accept", "match_accept", "acceptation", "accepte"),
    "review": ("review", "review_min", "match_review", "verification", "revue"),
    "target_precision": ("target_precision", "precision_cible", "précision_cible"),
}


CONTROL_ALIASES = {"plafond_ligne_eur": "max_line_amount_eur", "plafond_montant_ligne_eur": "max_line_amount_eur"}

COLUMN_FIELDS = {
    "supplier_name": ("supplier_name", "fournisseur", "supplier", "raison_sociale", "nom", "name", "tiers"),
    "siret": ("siret", "siren", "siret_raw", "identifiant"),
    "amount": ("amount", "amount_eur", "montant", "montant_eur"),
    "date": ("date", "purchase_date", "date_paiement", "date_mandat"),
    "fiscal_year": ("fiscal_year", "exercice", "annee", "year"),
    "category": ("category", "categorie", "cpv", "code_cpv", "nature"),
    "buying_entity": ("buying_entity", "entite", "entite_acheteuse", "direction", "service"),
    "mandate_number": ("mandate_number", "line_number", "numero_mandat", "mandat", "n_mandat"),
    "commune": ("commune", "code_commune", "code_postal"),
}


def _column_mapping(values: dict, where: str, warnings: list[str]) -> dict[str, str]:
    out = {}
    for key, header in values.items():
        field_name = next((f for f, names in COLUMN_FIELDS.items() if str(key).lower() in names), None)
        if field_name is None:
            warnings.append(f"{where} : champ inconnu « {key} » dans [colonnes], ignoré "
                            f"(attendus : {', '.join(COLUMN_FIELDS)})")
        else:
            out[field_name] = str(header)
    return out


def _section(raw: dict, name: str) -> dict:
    for alias in SECTION_ALIASES[name]:
        if isinstance(raw.get(alias), dict):
            return raw[alias]
    return {}


def _pick(values: dict, key: str):
    for alias in KEY_ALIASES.get(key, (key,)):
        if alias in values:
            return values[alias]
    return None


def load_settings(data_dir: Path) -> Settings:
    """Read `achats.toml` when present. An unknown key is reported, not fatal: a typo must not
    stop a quarterly run, but it must not pass unseen either (the run prints the warnings)."""
    path = data_dir / "achats.toml"
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name} : fichier de configuration illisible ({exc})") from exc
    warnings = []
    buyer, thr_raw, ctl_raw = _section(raw, "acheteur"), _section(raw, "seuils"), _section(raw, "controles")
    thr = {}
    for key in Thresholds.__dataclass_fields__:
        value = _pick(thr_raw, key)
        if value is not None:
            thr[key] = float(value)
    known_thr = {a for k in Thresholds.__dataclass_fields__ for a in KEY_ALIASES.get(k, (k,))}
    ctl_raw = {CONTROL_ALIASES.get(k, k): v for k, v in ctl_raw.items()}
    ctl = {k: float(v) for k, v in ctl_raw.items() if k in Controls.__dataclass_fields__}
    for section, values, known in (("seuils", thr_raw, known_thr), ("controles", ctl_raw, set(Controls.__dataclass_fields__))):
        for key in sorted(set(values) - known):
            warnings.append(f"{path.name} : clé inconnue « {key} » dans [{section}], ignorée")
    siren, dep = _pick(buyer, "siren"), _pick(buyer, "departement")
    return Settings(
        buyer_siren=str(siren).strip() if siren else None,
        home_departement=str(dep).strip().zfill(2) if dep else None,
        thresholds=Thresholds(**thr),
        column_mapping=_column_mapping(_section(raw, "colonnes"), path.name, warnings),
        esus_default_years=int(raw.get("esus_duree_defaut_ans", 5)),
        controls=Controls(**ctl),
        warnings=tuple(warnings),
    )
