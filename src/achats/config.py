"""Run settings: defaults overridden by the data directory's optional `achats.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from achats.errors import InputError


@dataclass(frozen=True)
class Thresholds:
    """Match score cut-offs (0-1). Above `accept` with a clear margin: auto-accepted."""

    accept: float = 0.90
    review: float = 0.70
    min_margin: float = 0.04
    siret_name_min: float = 0.45


@dataclass(frozen=True)
class Controls:
    """Limits of the blocking checks, and the drift that only warns (shares are 0-1)."""

    max_quarantined_share: float = 0.05
    max_unmatched_share: float = 0.20
    max_line_count_drop: float = 0.20
    drift_warning_points: float = 0.05


@dataclass(frozen=True)
class Settings:
    buyer_siren: str | None = None
    home_departement: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    column_mapping: dict[str, str] = field(default_factory=dict)
    esus_default_years: int = 5
    controls: Controls = field(default_factory=Controls)


def load_settings(data_dir: Path) -> Settings:
    """Read `achats.toml` when present; unknown keys are an error so typos do not pass silently."""
    path = data_dir / "achats.toml"
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name} : fichier de configuration illisible ({exc})") from exc
    buyer = raw.get("acheteur", raw.get("buyer", {}))
    thr = raw.get("seuils", raw.get("thresholds", {}))
    ctl = raw.get("controles", raw.get("controls", {}))
    for section, values, cls in (("seuils", thr, Thresholds), ("controles", ctl, Controls)):
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise InputError(f"{path.name} : clés inconnues dans [{section}] {sorted(unknown)} (attendues : {sorted(known)})")
    siren = buyer.get("siren")
    dep = buyer.get("departement")
    return Settings(
        buyer_siren=str(siren) if siren else None,
        home_departement=str(dep).zfill(2) if dep else None,
        thresholds=Thresholds(**{k: float(v) for k, v in thr.items()}),
        column_mapping={str(k): str(v) for k, v in raw.get("colonnes", raw.get("columns", {})).items()},
        esus_default_years=int(raw.get("esus_duree_defaut_ans", 5)),
        controls=Controls(**{k: float(v) for k, v in ctl.items()}),
    )
