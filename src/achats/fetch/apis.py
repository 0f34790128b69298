"""Clients of the INSEE Sirene API and of the API Recherche d'entreprises.

The Recherche d'entreprises fallback only proposes candidates for suppliers the local matcher
left unmatched; they go to the review queue and are never accepted on the API's word alone.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from achats.fetch.config import Source
from achats.fetch.http import ApiClient, FetchError
from achats.names import normalize

CANDIDATE_COLUMNS = ["supplier_name", "rank", "siren", "name", "departement", "est_ess", "est_siae"]


def secret(source: Source) -> str | None:
    """API keys come from the environment only; they are never written anywhere."""
    return os.environ.get(source.key_env) if source.key_env else None


class InseeSirene:
    def __init__(self, source: Source, client: ApiClient | None = None):
        key = secret(source)
        if not key and client is None:
            raise FetchError(f"API Sirene : clé absente (variable d'environnement {source.key_env})")
        headers = {source.key_header or "X-INSEE-Api-Key-Integration": key} if key else {}
        self.client = client or ApiClient(source.url, source.requests_per_second, headers=headers)

    def unite_legale(self, siren: str) -> dict:
        return self.client.get(f"siren/{siren}").get("uniteLegale", {})

    def updated_since(self, date: str, page_size: int = 1000) -> list[dict]:
        """Units changed since `date` (YYYY-MM-DD), following the API's cursor."""
        out, cursor = [], "*"
        while True:
            data = self.client.get("siren", {"q": f"dateDernierTraitementUniteLegale:[{date} TO *]",
                                             "nombre": page_size, "curseur": cursor})
            out.extend(data.get("unitesLegales", []))
            nxt = data.get("header", {}).get("curseurSuivant")
            if not nxt or nxt == cursor or not data.get("unitesLegales"):
                return out
            cursor = nxt


class RechercheEntreprises:
    def __init__(self, source: Source, client: ApiClient | None = None):
        self.client = client or ApiClient(source.url, source.requests_per_second)

    def search(self, name: str, departement: str | None = None, per_page: int = 5) -> list[dict]:
        params = {"q": name, "per_page": per_page, "page": 1}
        if departement:
            params["departement"] = departement
        results = self.client.get("search", params).get("results", [])
        out = []
        for r in results:
            siege = r.get("siege") or {}
            comp = r.get("complements") or {}
            non_diffusible = r.get("statut_diffusion") == "P"
            out.append({"siren": r.get("siren"),
                        "name": "Unité non diffusible" if non_diffusible else r.get("nom_raison_sociale") or r.get("nom_complet"),
                        "departement": None if non_diffusible else siege.get("departement"),
                        "est_ess": bool(comp.get("est_ess")), "est_siae": bool(comp.get("est_siae"))})
        return out


def write_candidates(names: list[str], client: RechercheEntreprises, out: Path,
                     departement: str | None = None) -> int:
    """`status/recherche_candidats.csv`: up to 5 API candidates per unmatched supplier name."""
    rows = []
    for name in sorted(set(n for n in names if normalize(n))):
        for rank, cand in enumerate(client.search(name, departement), start=1):
            if cand["siren"]:
                rows.append({"supplier_name": name, "rank": rank, **cand})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CANDIDATE_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(out)
    return len(rows)
