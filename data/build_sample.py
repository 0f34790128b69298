"""Build the embedded sample `data/sample/` from real records plus a deterministic generator.

Run from the repo root: `python data/build_sample.py` (or `make sample`). Same seed, same files.

Real (from `data/seed/`, copied from public open data, see data/README.md):
  - units and establishments of the marché de l'inclusion SIAE list (SIRET, name, kind, NAF, city);
  - ESS units of the SIRENE sample (SIREN, name, legal form, NAF, INSEE ESS flag);
  - units recorded from the API Recherche d'entreprises (legal form, NAF, head office, diffusion);
  - contract titulaires of a 2019 DECP file (SIRET, name as typed by buyers).
Generated (documented here, nothing tuned to a test):
  - the establishment's commune where the source gives none (a commune of the home département
    for part of the units, another département otherwise);
  - a few synthetic units for edge cases (mutuelle, fondation, SCIC, property owners' union,
    non-diffusible sole traders, ESUS-approved companies), with valid Luhn SIRENs;
  - the buyer's payment lines over 12 quarters (2023-2025), with spellings degraded the way
    accounting software and people do, missing/mistyped SIRETs and a few bad rows;
  - the buyer's own DECP contracts (v1 and v2 formats with their quirks).
The truth for every generated purchase line is written to `tests/data/sample_truth.csv`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # run as a script from a checkout

from achats.identifiers import complete_luhn  # noqa: E402

SEED = ROOT / "data" / "seed"
OUT = ROOT / "data" / "sample"
TRUTH = ROOT / "tests" / "data" / "sample_truth.csv"
BUYER_SIREN = "223100017"
HOME = "31"
RNG = random.Random(20261127)

UL_HEADER = ["siren", "statutDiffusionUniteLegale", "unitePurgeeUniteLegale", "dateCreationUniteLegale",
             "sigleUniteLegale", "sexeUniteLegale", "prenom1UniteLegale", "identifiantAssociationUniteLegale",
             "trancheEffectifsUniteLegale", "dateDernierTraitementUniteLegale", "categorieEntrepriseUniteLegale",
             "dateDebut", "etatAdministratifUniteLegale", "nomUniteLegale", "nomUsageUniteLegale",
             "denominationUniteLegale", "denominationUsuelle1UniteLegale", "denominationUsuelle2UniteLegale",
             "denominationUsuelle3UniteLegale", "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale",
             "nomenclatureActivitePrincipaleUniteLegale", "nicSiegeUniteLegale",
             "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale", "caractereEmployeurUniteLegale"]
ET_HEADER = ["siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
             "trancheEffectifsEtablissement", "etablissementSiege", "complementAdresseEtablissement",
             "numeroVoieEtablissement", "typeVoieEtablissement", "libelleVoieEtablissement",
             "codePostalEtablissement", "libelleCommuneEtablissement", "codeCommuneEtablissement",
             "dateDebut", "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
             "enseigne3Etablissement", "denominationUsuelleEtablissement", "activitePrincipaleEtablissement",
             "nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement"]


# --- helpers -------------------------------------------------------------------------------



def luhn_digit(body: str) -> str:
    return complete_luhn(body)[-1]


def fake_siren(prefix: str = "9") -> str:
    return complete_luhn(prefix + "".join(RNG.choice("0123456789") for _ in range(7)))


def siret_for(siren: str, nic_body: str = "0001") -> str:
    return complete_luhn(siren + nic_body)


def csv_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def json_doc(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).upper()


def load_communes() -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(folded name + dep -> code), and the home département's communes (code, name, postcode)."""
    import polars as pl

    cog = pl.read_parquet(ROOT / "data" / "reference" / "cog_communes_departements_regions.parquet")
    by_name = {(fold(r["commune_nom"]), r["departement_code"]): r["commune_code"] for r in cog.iter_rows(named=True)}
    centroids = csv_rows(ROOT / "data/reference/geo/communes-31-haute-garonne-2026-centroides.csv")
    weights = sorted(centroids, key=lambda r: -int(r["population"] or 0))
    home = [(r["code_insee"], r["nom"], "31" + r["code_insee"][2:]) for r in weights]
    other = [(r["commune_code"], r["commune_nom"], r["departement_code"]) for r in cog.iter_rows(named=True)
             if r["departement_code"] not in ("31",) and len(r["departement_code"]) == 2]
    return by_name, home, other


class Units:
    """Accumulates StockUniteLegale / StockEtablissement rows and what the generator knows of each."""

    def __init__(self) -> None:
        self.ul: dict[str, dict] = {}
        self.et: dict[str, dict] = {}
        self.meta: dict[str, dict] = {}

    def add(self, siren: str, name: str, cj: str, naf: str, *, siret: str | None = None, commune: tuple | None,
            ess_flag: str = "", diffusion: str = "O", state: str = "A", ceased: str = "", sigle: str = "",
            nom: str = "", prenom: str = "", enseigne: str = "", mission: str = "", tags: set | None = None) -> None:
        if siren in self.ul:
            self.meta[siren]["tags"] |= tags or set()
            return
        siret = siret or siret_for(siren)
        self.ul[siren] = {
            "siren": siren, "statutDiffusionUniteLegale": diffusion, "dateCreationUniteLegale": "2005-03-01",
            "sigleUniteLegale": sigle, "prenom1UniteLegale": prenom, "trancheEffectifsUniteLegale": "NN",
            "dateDebut": ceased or "2015-01-01", "etatAdministratifUniteLegale": state, "nomUniteLegale": nom,
            "denominationUniteLegale": "" if nom else name, "categorieJuridiqueUniteLegale": cj,
            "activitePrincipaleUniteLegale": naf, "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
            "nicSiegeUniteLegale": siret[9:], "economieSocialeSolidaireUniteLegale": ess_flag,
            "societeMissionUniteLegale": mission, "caractereEmployeurUniteLegale": "O",
        }
        code, cname, post = commune if commune else ("", "", "")
        self.et[siret] = {
            "siren": siren, "nic": siret[9:], "siret": siret, "statutDiffusionEtablissement": diffusion,
            "dateCreationEtablissement": "2005-03-01", "etablissementSiege": "true",
            "codePostalEtablissement": post, "libelleCommuneEtablissement": fold(cname),
            "codeCommuneEtablissement": code, "dateDebut": ceased or "2015-01-01",
            "etatAdministratifEtablissement": "F" if state == "C" else "A", "enseigne1Etablissement": enseigne,
            "activitePrincipaleEtablissement": naf, "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        }
        self.meta[siren] = {"name": name or f"{nom} {prenom}", "siret": siret, "cj": cj, "naf": naf,
                            "dep": code[:2] if code else None, "tags": set(tags or ())}


def cj_from_name(name: str, default: str) -> str:
    n = fold(name)
    if re.search(r"\bSCOP\b", n):
        return "5458"
    if re.search(r"\bSCIC\b", n):
        return "5460"
    if re.search(r"\b(ASSOC|ASSOCIATION|ASSO)\b", n):
        return "9220"
    if re.search(r"\b(COMMUNAUTE DE COMMUNES|CC)\b", n):
        return "7346"
    if re.search(r"^(COM|COMMUNE|MAIRIE|VILLE) DE", n):
        return "7210"
    if re.search(r"\bSARL\b", n):
        return "5499"
    if re.search(r"\b(SAS|SASU)\b", n):
        return "5710"
    if re.search(r"\bSA\b", n):
        return "5599"
    return default


def naf_dot(naf: str) -> str:
    naf = naf.strip().upper()
    return f"{naf[:2]}.{naf[2:]}" if naf and "." not in naf and len(naf) == 5 else naf


# --- units from real records ---------------------------------------------------------------

def build_units() -> tuple[Units, dict]:
    by_name, home, other = load_communes()
    units = Units()
    pick_home = lambda: RNG.choice(home[:120])  # noqa: E731 - weighted toward populated communes
    pick_other = lambda: RNG.choice(other)  # noqa: E731

    # SIAE list: every structure of the home département, and every homonym elsewhere
    siae_rows = csv_rows(SEED / "siae_structures_from_fixture.csv")
    name_counts: dict[str, int] = {}
    for r in siae_rows:
        name_counts[r["name"]] = name_counts.get(r["name"], 0) + 1
    chosen = [r for r in siae_rows if r["department"] == HOME]
    chosen += [r for r in siae_rows if name_counts[r["name"]] > 1 and r["department"] != HOME][:40]
    chosen += RNG.sample([r for r in siae_rows if r["department"] != HOME and name_counts[r["name"]] == 1], 60)
    status_siae = []
    for r in chosen:
        siret = r["siret"]
        siren = siret[:9]
        default_cj = {"AI": "9222", "ACI": "9220", "GEIQ": "9223", "EI": "5499", "ETTI": "5710", "EA": "5710"}
        cj = cj_from_name(r["name"], default_cj.get(r["kind"], "9220"))
        code = by_name.get((fold(r["city"]), r["department"]), "")
        name = re.sub(r"^ASSOC\b", "ASSOCIATION", r["name"])
        flag = "O" if cj in ("9220", "9222", "9223", "5458") and RNG.random() < 0.6 else ""
        units.add(siren, name, cj, naf_dot(r["naf"]), siret=siret, commune=(code, r["city"], r["post_code"]),
                  ess_flag=flag, tags={"siae"})
        status_siae.append(r)

    # SIRENE ESS sample (digital sector, all of France): relocate part of it to the home département
    ess_rows = csv_rows(SEED / "sirene_ul_ess_flag_O_numerique_sample.csv")
    for r in RNG.sample(ess_rows, 160):
        commune = pick_home() if RNG.random() < 0.45 else pick_other()
        units.add(r["siren"], r["denominationUniteLegale"] or r["nomUniteLegale"], r["categorieJuridiqueUniteLegale"],
                  r["activitePrincipaleUniteLegale"], commune=commune, ess_flag="O", tags={"ess_sample"})

    # Recherche d'entreprises records: real head offices, diffusion status and states
    for path in sorted((SEED / "recherche_entreprises").glob("search-*.json")):
        for x in json_doc(path)["result"]["results"][:1]:
            if not x.get("siren") or not x.get("siege"):
                continue
            s = x["siege"]
            diffusion = x.get("statut_diffusion") or "O"
            nom = prenom = ""
            name = x.get("nom_raison_sociale") or x.get("nom_complet") or ""
            if x.get("nature_juridique") == "1000":
                nom, prenom, name = "LEFEVRE", "MARIE", ""  # the real name is masked in the record itself
            code = s.get("commune") or ""
            units.add(x["siren"], name, x.get("nature_juridique") or "", x.get("activite_principale") or "",
                      siret=s.get("siret"), commune=(code, s.get("libelle_commune") or "", s.get("code_postal") or ""),
                      ess_flag="O" if x["complements"].get("est_ess") and RNG.random() < 0.5 else "",
                      diffusion=diffusion, state=x.get("etat_administratif") or "A",
                      ceased=x.get("date_fermeture") or "", sigle=x.get("sigle") or "", nom=nom, prenom=prenom,
                      tags={"recherche"})

    # DECP titulaires: real SIRETs and names of companies that win public contracts
    decp = json_doc(SEED / "decp_2019-04-05_data.gouv.fr_pes.json")["marches"]
    naf_by_cpv = naf_for_cpv()
    seen = set()
    for m in decp:
        for t in m.get("titulaires") or []:
            sid = re.sub(r"\D", "", str(t.get("id", "")))
            if t.get("typeIdentifiant") != "SIRET" or len(sid) != 14 or sid[:9] in seen:
                continue
            seen.add(sid[:9])
            cpv_div = re.sub(r"\D", "", str(m.get("codeCPV") or ""))[:2]
            naf = naf_by_cpv.get(cpv_div, "70.22Z")
            name = re.sub(r"\s+(SARL|SAS|SA|sarl|sas)$", "", t.get("denominationSociale") or "").strip()
            units.add(sid[:9], name.upper(), cj_from_name(t.get("denominationSociale") or "", "5710"), naf,
                      siret=sid, commune=pick_home() if RNG.random() < 0.6 else pick_other(),
                      tags={"decp", f"cpv{cpv_div}"})

    extras = synthetic_units(units, pick_home, pick_other)
    return units, {"siae": status_siae, **extras}


def naf_for_cpv() -> dict[str, str]:
    """A NAF sub-class for each CPV division, through the curated table read backwards."""
    out: dict[str, str] = {}
    naf = json_doc(ROOT / "data/reference/naf_rev2_sous_classes.json")
    for r in csv_rows(ROOT / "data/reference/naf_division_to_cpv_division_curated.csv"):
        if r["cpv_division"] not in out:
            out[r["cpv_division"]] = next(k for k in naf if k.startswith(r["naf_division"] + "."))
    return out


def synthetic_units(units: Units, pick_home, pick_other) -> dict:
    """Edge cases no public record gives, with valid (synthetic) SIRENs."""
    specs = [
        ("MUTUELLE SANTE OCCITANIE PYRENEES", "8210", "65.12Z", "", {"mutuelle"}),
        ("FONDATION POUR L'ENFANCE DU SUD-OUEST", "9300", "88.99B", "", {"fondation"}),
        ("LES JARDINS DE COCAGNE TOULOUSAINS", "9220", "01.13Z", "", {"ess"}),
        ("ECHOBAT SCIC", "5460", "43.39Z", "", {"coop"}),
        ("COOPERATIVE DES TRANSPORTEURS GARONNAIS", "5455", "49.41A", "O", {"coop"}),
        ("ASSOCIATION SYNDICALE LIBRE DU LOTISSEMENT LES PINS", "9150", "81.10Z", "", {"asl"}),
        ("ASSOCIATION SYNDICALE AUTORISEE DU CANAL DE SAINT-MARTORY", "7321", "36.00Z", "", {"asa"}),
        ("RESTAURATION SOLIDAIRE OCCITANE", "5710", "56.29A", "", {"esus"}),
        ("NETTOYAGE SERVICES PLUS", "5710", "81.21Z", "", {"esus_expired"}),
        ("INFORMATIQUE RESPONSABLE 31", "5710", "62.02A", "", {"esus_new"}),
        ("ENERGIES CITOYENNES PYRENEES", "5710", "35.11Z", "", {"esus_noend", "mission"}),
        ("ESAT DE MURET", "9220", "88.10C", "", {"esat"}),
        ("ESAT DE MURET", "9220", "88.10C", "", {"esat", "homonym_far"}),
        ("SOCIETE TOULOUSAINE DE NETTOYAGE", "5499", "81.21Z", "", set()),
        ("TRAITEUR DES CAPITOULS", "5499", "56.21Z", "", set()),
        ("BUREAUTIQUE DU MIDI", "5710", "47.41Z", "", set()),
        ("GARONNE ESPACES VERTS", "5499", "81.30Z", "", set()),
        ("ATELIER DU LIVRE SOLIDAIRE", "9220", "58.11Z", "", {"ceased_ess"}),
        ("LOGICIELS ET CONSEIL MIDI-PYRENEES", "5710", "62.02A", "", {"mission"}),
        ("REGIE DE QUARTIER DES IZARDS", "9220", "81.21Z", "", {"ess_france_only"}),
        ("IMPRIMERIE COOPERATIVE OUVRIERE", "5710", "18.12Z", "", {"ess_france_only"}),
    ]
    extras: dict = {"esus": [], "ess_france": []}
    for name, cj, naf, flag, tags in specs:
        siren = fake_siren()
        commune = pick_other() if "homonym_far" in tags else pick_home()
        ceased = "2024-06-30" if "ceased_ess" in tags else ""
        units.add(siren, name, cj, naf, commune=commune, ess_flag=flag or ("O" if cj == "9220" and RNG.random() < .5 else ""),
                  state="C" if ceased else "A", ceased=ceased, mission="O" if "mission" in tags else "",
                  tags=tags | {"synthetic"})
        if "esus" in tags:
            extras["esus"].append((siren, name, "2022-09-01", "2027-08-31"))
        if "esus_expired" in tags:
            extras["esus"].append((siren, name, "2018-07-01", "2023-06-30"))
        if "esus_new" in tags:
            extras["esus"].append((siren, name, "2024-04-01", "2029-03-31"))
        if "esus_noend" in tags:
            extras["esus"].append((siren, name, "2023-01-15", ""))
        if "ess_france_only" in tags:
            extras["ess_france"].append(siren)
    for nom, prenom in (("GARCIA", "LUCIE"), ("ROUSSEL", "THOMAS")):  # non-diffusible sole traders
        units.add(fake_siren("8"), "", "1000", "74.30Z", commune=pick_home(), diffusion="P", nom=nom,
                  prenom=prenom, tags={"ei_p"})
    units.add(BUYER_SIREN, "DEPARTEMENT DE LA HAUTE GARONNE", "7220", "84.11Z", siret="22310001700019",
              commune=("31555", "Toulouse", "31000"), tags={"buyer"})
    # Associations of the ESS France list with no INSEE flag: the list is their only evidence
    for siren, m in units.meta.items():
        if m["cj"] == "9220" and not units.ul[siren]["economieSocialeSolidaireUniteLegale"] and RNG.random() < 0.4:
            extras["ess_france"].append(siren)
    return extras


# --- purchases ------------------------------------------------------------------------------

ENTITIES = ["Direction des Routes", "Direction de l'Éducation et des Collèges", "Direction des Solidarités",
            "Direction des Bâtiments", "Direction de la Culture et des Sports", "Direction du Numérique",
            "Direction de l'Environnement"]
LEGAL_SUFFIX = {"5499": "SARL", "5710": "SAS", "5599": "SA", "5458": "SCOP", "5460": "SCIC"}


def spelling(name: str, cj: str) -> str:
    """One way a person or an accounting tool may write this supplier's name."""
    s = name
    roll = RNG.random()
    if roll < 0.25 and cj in LEGAL_SUFFIX:
        s = RNG.choice([f"{s} {LEGAL_SUFFIX[cj]}", f"{LEGAL_SUFFIX[cj]} {s}", f"STE {s}"])
    elif roll < 0.40:
        s = s.replace("ASSOCIATION", RNG.choice(["ASSOC.", "ASSO", "Assoc"])).replace(" ET ", " & ")
    elif roll < 0.55:
        s = s.title()
    if RNG.random() < 0.15 and len(s) > 32:
        s = s[:RNG.choice([30, 32, 35])]
    if RNG.random() < 0.10 and len(s) > 8:  # one typo
        i = RNG.randrange(2, len(s) - 2)
        s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s


def fr_amount(x: float) -> str:
    text = f"{x:,.2f}".replace(",", " ").replace(".", ",")
    return text.replace(" ", RNG.choice([" ", "\u00a0"]))


def build_purchases(units: Units) -> tuple[list[dict], list[list]]:
    metas = units.meta
    pool = [s for s, m in metas.items() if "buyer" not in m["tags"] and "homonym_far" not in m["tags"]]
    ess_like = [s for s in pool if metas[s]["tags"] & {"siae", "ess_sample", "mutuelle", "fondation", "ess", "coop",
                                                         "esus", "esus_new", "esus_noend", "esat", "ess_france_only",
                                                         "ceased_ess", "esus_expired"}]
    others = [s for s in pool if s not in ess_like]
    must = [s for s in pool if metas[s]["tags"] & {"synthetic", "recherche", "ei_p"}]
    suppliers = sorted(set(must + RNG.sample(ess_like, 70) + RNG.sample(others, 150)))
    weights = {s: RNG.lognormvariate(0, 1.2) for s in suppliers}
    spellings = {s: [spelling(metas[s]["name"], metas[s]["cj"]) for _ in range(RNG.choice([1, 1, 2, 3]))]
                 for s in suppliers}
    for s in suppliers:  # the exact name too, as most exports carry it
        spellings[s].insert(0, metas[s]["name"])
    start = dt.date(2023, 1, 1)
    lines, truth = [], []
    wrong_pool = [metas[s]["siret"] for s in others]
    for _ in range(2600):
        s = RNG.choices(suppliers, weights=[weights[x] for x in suppliers])[0]
        m = metas[s]
        date = start + dt.timedelta(days=RNG.randrange(0, 3 * 365))
        amount = round(RNG.lognormvariate(7.3, 1.3), 2)
        if RNG.random() < 0.03:
            amount = -round(amount / 3, 2)
        siret_roll = RNG.random()
        if siret_roll < 0.45:
            siret = m["siret"]
            if RNG.random() < 0.2:
                siret = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
        elif siret_roll < 0.50:
            siret = m["siret"][:-1] + str((int(m["siret"][-1]) + 3) % 10)  # mistyped: key fails
        elif siret_roll < 0.52:
            siret = RNG.choice(wrong_pool)  # valid, but another company's
        elif siret_roll < 0.56:
            siret = m["siret"][:9]
        else:
            siret = ""
        name = RNG.choice(spellings[s])
        cpv_tag = next((t for t in m["tags"] if t.startswith("cpv")), None)
        cpv = f"{cpv_tag[3:]}000000" if cpv_tag and RNG.random() < 0.7 else ""
        lines.append({"date": date, "name": name, "siret": siret, "amount": amount,
                      "entity": RNG.choice(ENTITIES), "cpv": cpv, "siren": s})
    lines.sort(key=lambda x: (x["date"], x["name"]))
    for i, ln in enumerate(lines, start=1):
        ln["mandat"] = f"M{ln['date'].year}-{i:05d}"
    return lines, truth


def write_purchases(lines: list[dict]) -> list[list]:
    (OUT / "purchases").mkdir(parents=True, exist_ok=True)
    truth = []
    early = [ln for ln in lines if ln["date"].year < 2025]
    late = [ln for ln in lines if ln["date"].year == 2025]
    # 1. CSV export of a finance system: cp1252, ';', French amounts, dd/mm/yyyy
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    header = ["N° mandat", "Date mandat", "Tiers", "N° SIRET", "Montant TTC", "Direction", "Code CPV"]
    w.writerow(header)
    row_no = 0
    for i, ln in enumerate(early):
        w.writerow([ln["mandat"], ln["date"].strftime("%d/%m/%Y"), ln["name"], ln["siret"], fr_amount(ln["amount"]),
                    ln["entity"], ln["cpv"]])
        row_no += 1
        truth.append(["purchases/mandats_2023_2024.csv", row_no, ln["mandat"], ln["siren"], "ok"])
        if i == 700:  # a stray header row mid-file, as when two exports are pasted together
            w.writerow(header)
            row_no += 1
            truth.append(["purchases/mandats_2023_2024.csv", row_no, "", "", "quarantined"])
    bad = [
        ["M2024-90001", "15/03/2024", "FOURNITURES DIVERSES", "", "douze cents", "Direction des Routes", ""],
        ["M2024-90002", "31/02/2024", "GARONNE ESPACES VERTS", "", "1 200,00", "Direction des Routes", ""],
        ["M2024-90003", "12/05/2024", "", "", "530,00", "Direction du Numérique", ""],
        ["M2024-90004", "02/01/1899", "TRAITEUR DES CAPITOULS", "", "980,00", "Direction de la Culture et des Sports", ""],
        ["M2024-90005", "", "BUREAUTIQUE DU MIDI", "", "45,90", "Direction du Numérique", ""],
    ]
    for b in bad:
        w.writerow(b)
        row_no += 1
        truth.append(["purchases/mandats_2023_2024.csv", row_no, b[0], "", "quarantined"])
    dup = early[10]
    w.writerow([dup["mandat"], dup["date"].strftime("%d/%m/%Y"), dup["name"], dup["siret"], fr_amount(dup["amount"]),
                dup["entity"], dup["cpv"]])
    row_no += 1
    truth.append(["purchases/mandats_2023_2024.csv", row_no, dup["mandat"], dup["siren"], "ok"])
    (OUT / "purchases" / "mandats_2023_2024.csv").write_bytes(buf.getvalue().encode("cp1252", errors="replace"))

    # 2. XLSX of another tool: other headers, a title row, ISO dates as real dates, a notes sheet
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mandats 2025"
    ws.append(["Export des mandats payés — exercice 2025"])
    ws.merge_cells("A1:G1")
    ws.append(["Exercice", "Date de paiement", "Nom du tiers", "Siret du tiers", "Montant mandaté", "Service",
               "Numéro de mandat"])
    for j, ln in enumerate(late, start=1):
        ws.append([2025, ln["date"], ln["name"], ln["siret"], ln["amount"], ln["entity"], ln["mandat"]])
        truth.append(["purchases/mandats_2025.xlsx", j, ln["mandat"], ln["siren"], "ok"])
    notes = wb.create_sheet("Notes")
    notes.append(["Source : logiciel financier, extraction du 15/01/2026"])
    wb.save(OUT / "purchases" / "mandats_2025.xlsx")
    _fix_xlsx_timestamp(OUT / "purchases" / "mandats_2025.xlsx")

    # 3. The marché de l'inclusion upload format, as buyers already fill it (no date column)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Raison sociale du Fournisseur", "SIRET", "Dépense achat (€)", "Catégorie d'achat (optionnelle)",
                "Entité acheteuse (optionnelle)"])
    mi = [ln for ln in lines if ln["date"].year == 2024][:40]
    for j, ln in enumerate(mi, start=1):
        w.writerow([ln["name"], ln["siret"].replace(" ", ""), f"{ln['amount']:.2f}", "Prestations", ln["entity"]])
        truth.append(["purchases/import_marche_inclusion_2024.csv", j, "", ln["siren"], "ok"])
    (OUT / "purchases" / "import_marche_inclusion_2024.csv").write_text(buf.getvalue(), encoding="utf-8")
    return truth


def _fix_xlsx_timestamp(path: Path) -> None:
    """openpyxl stamps the current time in docProps/core.xml: pin it so rebuilds are identical."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2026-01-15T00:00:00Z", data)
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 1, 15, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)
    tmp.replace(path)


# --- status lists and contracts -------------------------------------------------------------

def write_status(units: Units, extras: dict) -> None:
    (OUT / "status").mkdir(parents=True, exist_ok=True)
    with open(OUT / "status" / "ess_france_extrait.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["SIREN", "Nom ou raison sociale de l'entreprise", "Famille juridique de l'entreprise"])
        for siren in sorted(set(extras["ess_france"])):
            w.writerow([siren, units.meta[siren]["name"], "Associations" if units.meta[siren]["cj"] == "9220" else "Autres"])
    with open(OUT / "status" / "esus_liste_2025.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["siren", "raison_sociale", "date_agrement", "date_fin_agrement"])
        for row in extras["esus"]:
            w.writerow(row)
    with open(OUT / "status" / "siae_marche_inclusion.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["siret", "name", "kind", "naf", "post_code", "department"])
        for r in extras["siae"]:
            w.writerow([r["siret"], r["name"], r["kind"], r["naf"], r["post_code"], r["department"]])
        for m in units.meta.values():
            if "esat" in m["tags"]:
                w.writerow([m["siret"], m["name"], "ESAT", m["naf"].replace(".", ""), "", m["dep"] or ""])


def write_contracts(units: Units, lines: list[dict]) -> None:
    (OUT / "contracts").mkdir(parents=True, exist_ok=True)
    by_supplier: dict[str, float] = {}
    for ln in lines:
        by_supplier[ln["siren"]] = by_supplier.get(ln["siren"], 0) + ln["amount"]
    top = sorted(by_supplier, key=lambda s: -by_supplier[s])[:60]
    v2, v1 = [], []
    for i, s in enumerate(top):
        m = units.meta[s]
        cpv_tag = next((t for t in m["tags"] if t.startswith("cpv")), None)
        cpv8 = f"{cpv_tag[3:]}000000" if cpv_tag else naf_cpv_guess(m["naf"])
        date = dt.date(2023, 1, 10) + dt.timedelta(days=RNG.randrange(0, 900))
        amount = round(by_supplier[s] * RNG.uniform(0.8, 1.6), 2)
        titulaires = [{"titulaire": {"id": m["siret"], "typeIdentifiant": "SIRET"}}]
        if i % 9 == 0:  # a co-contracting group: the amount is split, not repeated
            co = units.meta[top[(i + 1) % len(top)]]
            titulaires.append({"titulaire": {"id": co["siret"], "typeIdentifiant": "SIRET"}})
        if i % 2 == 0:
            v2.append({
                "id": f"2023CD31{i:04d}", "acheteur": {"id": "22310001700019"}, "nature": "Marché",
                "objet": f"Prestations pour le Département (lot {i})", "codeCPV": f"{cpv8}-{luhn_digit(cpv8)}",
                "procedure": "Procédure adaptée", "dureeMois": 24, "dateNotification": date.isoformat(),
                "datePublicationDonnees": (date + dt.timedelta(days=20)).isoformat(), "montant": amount,
                "formePrix": "Révisable", "titulaires": titulaires,
                "considerationsSociales": {"considerationSociale": (["Clause sociale"] if i % 4 == 0
                                                                    else ["Pas de considération sociale"])},
                "considerationsEnvironnementales": {"considerationEnvironnementale": ["Pas de considération environnementale"]},
            })
        else:
            v1.append({
                "id": f"2023CD31{i:04d}", "uid": f"22310001700019{i:04d}", "_type": "Marché",
                "acheteur": {"id": "22310001700019", "nom": "DEPARTEMENT DE LA HAUTE GARONNE"},
                "nature": "Marché", "objet": f"Prestations (lot {i})",
                "codeCPV": cpv8.lstrip("0") if i % 5 == 1 else cpv8,  # 7-digit CPV: lost leading zero
                "procedure": "Appel d'offres ouvert", "dureeMois": 12,
                "dateNotification": ("0" + date.strftime("%Y")[2:] + date.strftime("-%m-%d")) if i % 7 == 1
                else date.isoformat() + "+01:00",  # typo year and timezone suffix
                "montant": int(amount) if i % 3 else amount,
                "titulaires": [{"typeIdentifiant": "SIRET", "id": t["titulaire"]["id"],
                                "denominationSociale": units.meta[t["titulaire"]["id"][:9]]["name"]}
                               for t in titulaires],
            })
    (OUT / "contracts" / "decp_v2_cd31.json").write_text(
        json.dumps({"marches": {"marche": v2}}, ensure_ascii=False, indent=1), encoding="utf-8")
    (OUT / "contracts" / "decp_v1_cd31.json").write_text(
        json.dumps({"marches": v1}, ensure_ascii=False, indent=1), encoding="utf-8")
    # A real DECP file of other buyers: the loader must keep only this buyer's contracts
    (OUT / "contracts" / "decp_2019-04-05_data.gouv.fr_pes.json").write_bytes(
        (SEED / "decp_2019-04-05_data.gouv.fr_pes.json").read_bytes())


def naf_cpv_guess(naf: str) -> str:
    for r in csv_rows(ROOT / "data/reference/naf_division_to_cpv_division_curated.csv"):
        if r["naf_division"] == naf[:2]:
            return r["cpv_division"] + "000000"
    return "79000000"


def write_sirene(units: Units) -> None:
    (OUT / "sirene").mkdir(parents=True, exist_ok=True)
    for name, header, rows in (("StockUniteLegale_sample.csv", UL_HEADER, units.ul),
                               ("StockEtablissement_sample.csv", ET_HEADER, units.et)):
        with open(OUT / "sirene" / name, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore", lineterminator="\n")
            w.writeheader()
            for key in sorted(rows):
                w.writerow({h: rows[key].get(h, "") for h in header})


def main(argv: list[str] | None = None) -> int:
    """`--out DIR --truth FILE` write elsewhere (the test that checks the sample is reproducible)."""
    global OUT, TRUTH, RNG
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--truth", default=str(TRUTH))
    args = ap.parse_args(argv)
    OUT, TRUTH, RNG = Path(args.out), Path(args.truth), random.Random(20261127)
    units, extras = build_units()
    lines, _ = build_purchases(units)
    truth = write_purchases(lines)
    write_sirene(units)
    write_status(units, extras)
    write_contracts(units, lines)
    (OUT / "achats.toml").write_text(
        '# Réglages de l\'acheteur (facultatif)\n[acheteur]\nsiren = "223100017"\ndepartement = "31"\n\n'
        "[seuils]           # probabilités du modèle de rapprochement (les valeurs par défaut)\n"
        "target_precision = 0.99\nreview = 0.30\n\n"
        "# Limites des contrôles bloquants : plus strictes que les valeurs par défaut\n"
        "[controles]\nmax_quarantined_share = 0.05\nmax_unmatched_share = 0.20\nmax_line_count_drop = 0.20\n",
        encoding="utf-8")
    TRUTH.parent.mkdir(parents=True, exist_ok=True)
    with open(TRUTH, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source_file", "source_row", "mandate_number", "true_siren", "expected_status"])
        w.writerows(truth)
    print(f"{len(units.ul)} unités, {len(units.et)} établissements, {len(lines)} lignes d'achat générées")
    return 0


if __name__ == "__main__":
    sys.exit(main())
