"""Generate SIRENE-like stocks with realistic French organisation names, at any size, fast.

Names are built from real pieces (commune names of the COG, common surnames and trades) and
invented brand words, in the proportions of a real register: trades with a surname or a place,
brands, associations, SCIs, sole traders. Vectorised with numpy and polars: 16 million units
take about a minute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from achats.paths import reference_dir

SURNAMES = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT", "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD", "BONNET", "DUPONT", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT", "MULLER", "LEFEVRE", "FAURE", "ANDRE", "MERCIER", "BLANC", "GUERIN", "BOYER", "GARNIER", "CHEVALIER", "FRANCOIS", "LEGRAND", "GAUTHIER", "GARCIA", "PERRIN", "ROBIN", "CLEMENT", "MORIN", "NICOLAS", "HENRY", "ROUSSEL", "MATHIEU", "GAUTIER", "MASSON", "MARCHAND", "DUVAL", "DENIS", "DUMONT", "MARIE", "LEMAIRE", "NOEL", "MEYER", "DUFOUR", "MEUNIER", "BRUN", "BLANCHARD", "GIRAUD", "JOLY", "RIVIERE", "LUCAS", "BRUNET", "GAILLARD", "BARBIER", "ARNAUD", "MARTINEZ", "GERARD", "ROCHE", "RENARD", "SCHMITT", "ROY", "LEROUX", "COLIN", "VIDAL", "CARON", "PICARD", "ROGER", "FABRE", "AUBERT", "LEMOINE", "RENAUD", "DUMAS", "LACROIX", "OLIVIER", "PHILIPPE", "BOURGEOIS", "PIERRE", "BENOIT", "REY", "LECLERC", "PAYET", "ROLLAND", "LECLERCQ", "GUILLAUME", "LECOMTE", "LOPEZ", "JEAN", "DUPUY", "GUILLOT", "HUBERT", "BERGER", "CARPENTIER", "SANCHEZ", "DUPUIS", "MOULIN", "LOUIS", "DESCHAMPS", "HUET", "VASSEUR", "PEREZ", "BOUCHER", "FLEURY", "ROYER", "KLEIN", "JACQUET", "ADAM", "PARIS", "POIRIER", "MARTY", "AUBRY", "GUYOT", "CARRE", "CHARLES", "RENAULT", "CHARPENTIER", "MENARD", "MAILLARD", "BARON", "BERTIN", "BAILLY", "HERVE", "SCHNEIDER", "FERNANDEZ", "LE", "GALL", "COLLET", "LEGER", "BOUVIER", "JULIEN", "PREVOST", "MILLET", "PERROT", "DANIEL", "LE", "ROUX", "COUSIN", "GERMAIN", "BRETON", "BESSON", "LANGLOIS", "REMY", "LE", "GOFF", "PELLETIER", "LEVEQUE", "PERRIER", "LEBLANC", "BARRE", "LEBRUN", "MARCHAL", "WEBER", "MALLET", "HAMON", "BOULANGER", "JACOB", "MONNIER", "MICHAUD", "RODRIGUEZ", "GUICHARD", "GILLET", "ETIENNE", "GRONDIN", "POULAIN", "TESSIER", "CHEVALLIER", "COLLIN"]
FIRST = ["JEAN", "MARIE", "PIERRE", "MICHEL", "ANNE", "SOPHIE", "NATHALIE", "ISABELLE", "PHILIPPE", "ALAIN", "NICOLAS", "CATHERINE", "CHRISTOPHE", "SYLVIE", "STEPHANE", "LAURENT", "FREDERIC", "VALERIE", "CELINE", "JULIEN", "THOMAS", "CAMILLE", "LEA", "MANON", "HUGO", "LUCAS", "EMMA", "CHLOE", "SANDRINE"]
TRADES = ["BOULANGERIE", "PATISSERIE", "PLOMBERIE", "ELECTRICITE", "MENUISERIE", "CHARPENTE", "MACONNERIE", "PEINTURE", "TRANSPORTS", "TAXI", "AMBULANCES", "GARAGE", "CARROSSERIE", "COIFFURE", "ESTHETIQUE", "RESTAURANT", "BRASSERIE", "TRAITEUR", "BOUCHERIE", "CHARCUTERIE", "PHARMACIE", "OPTIQUE", "IMPRIMERIE", "INFORMATIQUE", "CONSEIL", "NETTOYAGE", "PROPRETE", "PAYSAGES", "JARDINS", "ESPACES", "VERTS", "COUVERTURE", "ZINGUERIE", "CHAUFFAGE", "CLIMATISATION", "SERRURERIE", "VITRERIE", "CARRELAGE", "PLATRERIE", "ISOLATION", "TERRASSEMENT", "TRAVAUX", "PUBLICS", "BATIMENT", "RENOVATION", "IMMOBILIER", "AGENCE", "ASSURANCES", "EXPERTISE", "COMPTABLE", "AUDIT", "FORMATION", "ECOLE", "CRECHE", "ACCUEIL", "SOINS", "INFIRMIERS", "KINESITHERAPIE", "DENTAIRE", "MEDICAL", "LABORATOIRE", "ANALYSES", "VETERINAIRE", "LIBRAIRIE", "PAPETERIE", "FLEURS", "FLEURISTE", "EPICERIE", "PRIMEUR", "FROMAGERIE", "CAVE", "VINS", "DISTILLERIE", "FERME", "ELEVAGE", "VIGNOBLE", "DOMAINE", "CHATEAU", "HOTEL", "CAMPING", "GITE", "AUBERGE", "SECURITE", "GARDIENNAGE", "DEMENAGEMENT", "LOGISTIQUE", "ENTREPOTS", "RECYCLAGE", "DECHETS", "ENERGIE", "SOLAIRE", "EOLIEN", "EAU", "ASSAINISSEMENT", "GEOMETRE", "ARCHITECTURE", "INGENIERIE", "ETUDES", "COMMUNICATION", "EVENEMENTS", "SPECTACLES", "THEATRE", "MUSIQUE", "DANSE", "SPORT", "FITNESS", "EQUITATION", "NAUTISME"]
QUALIFIERS = ["SERVICES", "CONSEIL", "GROUPE", "FRANCE", "DISTRIBUTION", "INDUSTRIE", "SOLUTIONS", "SYSTEMES", "TECHNOLOGIES", "DEVELOPPEMENT", "GESTION", "PARTNERS", "INVEST", "HOLDING", "INTERNATIONAL", "EUROPE", "SUD", "OUEST", "NORD", "EST", "OCCITANIE", "ATLANTIQUE", "PROVENCE", "ALPES", "BRETAGNE", "NORMANDIE", "AQUITAINE", "PYRENEES", "MEDITERRANEE", "CENTRE", "ILE"]
ASSO = ["AMIS", "SPORTIF", "CULTUREL", "LOISIRS", "ANCIENS", "PARENTS", "ELEVES", "COMITE", "FETES", "CLUB", "FOYER", "RURAL", "AMICALE", "CHASSE", "PECHE", "RANDONNEE", "JUMELAGE", "SOLIDARITE", "ENTRAIDE", "INSERTION", "EMPLOI", "JEUNESSE", "FAMILLES", "AINES", "PATRIMOINE"]
SYLLABLES = ["KA", "LE", "O", "NO", "VA", "TIS", "RA", "MI", "SO", "LU", "XE", "DI", "ON", "AR", "BE", "CO", "DA", "FI", "GA", "HE", "JO", "KI", "LA", "MA", "NE", "PI", "QUA", "RI", "SA", "TE", "VI", "ZO", "AL", "EN", "IS", "OR", "UN", "AX", "ELL", "IA", "EO", "TRA", "PRO", "NEO", "ALT", "ECO", "BIO", "VER", "SOL", "LUM", "ACT", "CAP", "DOM", "FLO", "GEN", "HYD", "INO", "LOG", "MED", "NOV", "OPT", "PAR", "SYN", "TEC", "URB", "VAL", "VIT"]

CJ = np.array(["5710", "5499", "9220", "6540", "1000", "5720", "5599", "5458", "5202", "9300", "8210"])
CJ_P = np.array([0.22, 0.20, 0.12, 0.14, 0.24, 0.03, 0.02, 0.01, 0.01, 0.005, 0.005])
NAFS = np.array(["62.01Z", "43.21A", "56.10A", "81.21Z", "68.20B", "94.99Z", "47.11B", "49.41A", "86.21Z",
                 "88.99B", "10.71C", "41.20A", "70.22Z", "85.59A", "93.12Z", "01.11Z", "96.02A", "45.20A"])


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> pl.Series:
    return pl.Series(np.array(pool, dtype=object)[rng.integers(0, len(pool), n)], dtype=pl.String)


def brands(rng: np.random.Generator, n: int) -> pl.Series:
    parts = [_pick(rng, SYLLABLES, n) for _ in range(4)]
    count = rng.integers(2, 5, n)
    df = pl.DataFrame({f"s{i}": p for i, p in enumerate(parts)}).with_columns(c=pl.Series(count))
    expr = pl.col("s0") + pl.col("s1") + pl.when(pl.col("c") >= 3).then(pl.col("s2")).otherwise(pl.lit("")) \
        + pl.when(pl.col("c") >= 4).then(pl.col("s3")).otherwise(pl.lit(""))
    return df.select(expr.str.to_uppercase().alias("b"))["b"]


def names(n: int, seed: int) -> pl.DataFrame:
    """n organisation names with their legal form; sole traders have a surname and first name."""
    rng = np.random.default_rng(seed)
    communes = pl.read_parquet(reference_dir() / "cog_communes_departements_regions.parquet")
    places = [p.upper().replace("-", " ").replace("'", " ") for p in communes["commune_nom"].to_list()]
    pattern = rng.choice(8, n, p=[0.18, 0.14, 0.16, 0.12, 0.10, 0.06, 0.20, 0.04])
    cols = {
        "surname": _pick(rng, SURNAMES, n), "first": _pick(rng, FIRST, n), "trade": _pick(rng, TRADES, n),
        "trade2": _pick(rng, TRADES, n), "qual": _pick(rng, QUALIFIERS, n), "place": _pick(rng, places, n),
        "asso": _pick(rng, ASSO, n), "brand": brands(rng, n), "pattern": pl.Series(pattern),
    }
    df = pl.DataFrame(cols)
    p = pl.col("pattern")
    name = (
        pl.when(p == 0).then(pl.concat_str([pl.col("trade"), pl.col("surname"), pl.col("place")], separator=" "))
        .when(p == 1).then(pl.concat_str([pl.col("trade"), pl.col("trade2"), pl.col("place")], separator=" "))
        .when(p == 2).then(pl.col("brand"))
        .when(p == 3).then(pl.concat_str([pl.col("brand"), pl.col("qual")], separator=" "))
        .when(p == 4).then(pl.concat_str([pl.lit("ASSOCIATION"), pl.col("asso"), pl.col("place")], separator=" "))
        .when(p == 5).then(pl.concat_str([pl.lit("SCI"), pl.col("brand")], separator=" "))
        .when(p == 6).then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.concat_str([pl.col("trade"), pl.col("first"), pl.col("surname")], separator=" "))
    )
    cj = pl.Series(CJ[rng.choice(len(CJ), n, p=CJ_P / CJ_P.sum())])
    cj = pl.when(p == 4).then(pl.lit("9220")).when(p == 5).then(pl.lit("6540")).when(p == 6).then(pl.lit("1000")) \
        .otherwise(pl.when(cj.is_in(["9220", "6540", "1000"])).then(pl.lit("5710")).otherwise(cj))
    return df.with_columns(name=name, cj=cj, naf=pl.Series(NAFS[rng.integers(0, len(NAFS), n)])).select(
        "name", "surname", "first", "cj", "naf")


def luhn_sirens(start: int, n: int) -> pl.Series:
    """n valid SIRENs: 8-digit bodies from `start`, each with its Luhn key."""
    body = np.arange(start, start + n, dtype=np.int64)
    digits = np.stack([(body // 10 ** (7 - i)) % 10 for i in range(8)], axis=1)  # most significant first
    # Luhn over 9 digits: positions from the right 2,4,6,8 (1-based) are doubled -> body indices 7,5,3,1
    doubled = digits.copy()
    for i in (1, 3, 5, 7):
        d = digits[:, i] * 2
        doubled[:, i] = np.where(d > 9, d - 9, d)
    key = (10 - doubled.sum(axis=1) % 10) % 10
    return pl.Series((body * 10 + key).astype(str), dtype=pl.String).str.zfill(9)


def write_stocks(folder: Path, n_units: int, seed: int = 1, etab_per_unit: float = 1.0,
                 chunk: int = 2_000_000) -> dict[str, int]:
    """StockUniteLegale / StockEtablissement parquet files with INSEE column names, written by
    chunks of units so that the national size fits in a few GB. Every unit has its head office
    (nic 00017); the first (etab_per_unit - 1) * n_units units have a second establishment."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    communes = pl.read_parquet(reference_dir() / "cog_communes_departements_regions.parquet")["commune_code"]
    n_second = max(0, int(n_units * etab_per_unit) - n_units)
    writers: dict[str, pq.ParquetWriter] = {}
    n_etab = 0
    try:
        for part, start in enumerate(range(0, n_units, chunk)):
            size = min(chunk, n_units - start)
            ul, et = _stock_chunk(start, size, seed + 1000 * part, n_second, communes)
            n_etab += et.height
            for name, df in (("StockUniteLegale_synth.parquet", ul), ("StockEtablissement_synth.parquet", et)):
                table = df.to_arrow()
                if name not in writers:
                    writers[name] = pq.ParquetWriter(folder / name, table.schema)
                writers[name].write_table(table)
    finally:
        for w in writers.values():
            w.close()
    return {"units": n_units, "establishments": n_etab}


def _stock_chunk(start: int, n: int, seed: int, n_second: int, communes: pl.Series
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    units = names(n, seed).with_columns(siren=luhn_sirens(10_000_000 + start, n))
    rng = np.random.default_rng(seed + 1)
    ul = units.select(
        "siren",
        statutDiffusionUniteLegale=pl.when(pl.col("cj") == "1000").then(pl.lit("P")).otherwise(pl.lit("O")),
        denominationUniteLegale=pl.col("name"),
        nomUniteLegale=pl.when(pl.col("cj") == "1000").then(pl.col("surname")),
        prenom1UniteLegale=pl.when(pl.col("cj") == "1000").then(pl.col("first")),
        categorieJuridiqueUniteLegale="cj", activitePrincipaleUniteLegale="naf",
        etatAdministratifUniteLegale=pl.Series(np.where(rng.random(n) < 0.1, "C", "A")),
        economieSocialeSolidaireUniteLegale=pl.when(pl.col("cj") == "9220").then(pl.lit("O")),
        nicSiegeUniteLegale=pl.lit("00017"),
    )
    seconds = max(0, min(n, n_second - start))
    owner = np.concatenate([np.arange(n), np.arange(seconds)])
    et = pl.DataFrame({"siren": ul["siren"].gather(owner),
                       "nic": pl.Series(np.where(np.arange(len(owner)) < n, "00017", "00027"))}).with_columns(
        siret=pl.col("siren") + pl.col("nic"),
        statutDiffusionEtablissement=ul["statutDiffusionUniteLegale"].gather(owner),
        etablissementSiege=pl.Series(np.where(np.arange(len(owner)) < n, "true", "false")),
        etatAdministratifEtablissement=pl.lit("A"),
        codeCommuneEtablissement=communes.gather(rng.integers(0, len(communes), len(owner))),
        activitePrincipaleEtablissement=ul["activitePrincipaleUniteLegale"].gather(owner),
    )
    return ul, et
