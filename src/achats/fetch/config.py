"""Source addresses: shipped defaults, overridden by the data directory's achats.toml [sources]."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from achats.errors import InputError

DEFAULTS = Path(__file__).with_name("sources.toml")


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    kind: str
    description: str = ""
    key_env: str | None = None
    key_header: str | None = None
    requests_per_second: float = 5.0

    @property
    def label(self) -> str:
        """The source's name for messages (never its address): its description up to the details."""
        return (self.description.split(" (")[0].strip() or self.name) if self.description else self.name


def load_sources(data_dir: Path | None = None) -> dict[str, Source]:
    raw = tomllib.loads(DEFAULTS.read_text(encoding="utf-8"))
    if data_dir is not None and (data_dir / "achats.toml").exists():
        user = tomllib.loads((data_dir / "achats.toml").read_text(encoding="utf-8")).get("sources", {})
        unknown = set(user) - set(raw)
        if unknown:
            raise InputError(f"achats.toml : sources inconnues dans [sources] {sorted(unknown)} "
                             f"(attendues : {sorted(raw)})")
        for name, values in user.items():
            raw[name].update(values if isinstance(values, dict) else {"url": values})
    return {name: Source(name=name, **values) for name, values in raw.items()}
