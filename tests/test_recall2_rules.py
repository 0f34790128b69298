"""Issue #13, recall and decision rules (branch recall2): words that normalize() reads as legal
forms although the typed name uses them otherwise.

1. A form word used as an adjective of the name (« L ATELIER COOPERATIF », « CAVE COOPERATIVE DE
   X ») is a word of the name: a unit whose own name and catégorie juridique both lack it is not
   the « nom identique ». As a form (« SCOP L ATELIER », « SOCIETE COOPERATIVE L ATELIER »,
   « L ATELIER SCOP »), it stays a form (a SCOP SAS is registered 5710, like any SAS).
2. « STE » before a saint's name or inside a name is Sainte, not société (« CHORALE STE
   CECILE » is an association, no form is typed), while « STE MARTIN BTP » stays a société.
"""

from __future__ import annotations

import pytest

from achats.config import Thresholds
from achats.match_model import name_families
from achats.names import normalize, normalize_many, raw_tokens
from achats.resolution import RefName, ResolverIndex, SirenInfo, Status
from tests.conftest import luhn_complete

THR = Thresholds()
# distractors of an ordinary register (SAS in 31)
OTHERS = ["VELO SERVICE", "AMIS DE LA NATURE", "TOULOUSE METROPOLE HABITAT", "ATELIER DU VELO",
          "CLUB TOULOUSE VELO", "BATIMENT SERVICES MARTIN", "CIEL ET TERRE", "MARTINEZ PEINTURE"]


def _siren(n: int) -> str:
    return luhn_complete(f"{n:08d}")


def _index(units: dict[str, tuple[str, str]]) -> ResolverIndex:
    """units: siren -> (name, catégorie juridique), all in 31, plus OTHERS."""
    rows = dict(units)
    for k, name in enumerate(OTHERS):
        rows[_siren(900 + k)] = (name, "5710")
    names = [RefName(s, None, n, "denomination") for s, (n, _) in rows.items()]
    info = {s: SirenInfo({"31"}, True, n, cj) for s, (n, cj) in rows.items()}
    return ResolverIndex(names, info, {})


SAS, SCOP, CAVE, ASSO = _siren(11), _siren(12), _siren(13), _siren(14)


@pytest.mark.parametrize("typed", ["L ATELIER COOPERATIF", "L'ATELIER COOPÉRATIF", "L ATELIER COOPERATIVE"])
def test_an_adjective_form_word_counts_against_a_unit_lacking_it(typed):
    """The SAS « L'ATELIER » lacks COOPERATIF in its name and its category (5710) does not say
    coopérative: before, « Nom identique après normalisation » at 0,99 and matched."""
    r = _index({SAS: ("L'ATELIER", "5710")}).resolve(typed, None, None, None, THR)
    assert r.status == Status.REVIEW and r.rule == "rule_added_word_needs_a_look"
    assert "COOPERATIVE" in r.reason and r.siren == SAS  # proposed, with the word it lacks


@pytest.mark.parametrize("typed", ["SCOP L ATELIER", "L ATELIER SCOP", "SOCIETE COOPERATIVE L ATELIER",
                                   "L ATELIER SCOP SAS", "L ATELIER COOP", "COOPERATIVE L ATELIER"])
def test_a_form_word_used_as_a_form_still_matches_a_scop_sas(typed):
    """A SCOP SAS is registered 5710 like any SAS: the form typed says nothing against it. An
    abbreviation (COOP, as in « YAAL COOP » or a .coop address) labels a form, it is no adjective."""
    r = _index({SAS: ("L'ATELIER", "5710")}).resolve(typed, None, None, None, THR)
    assert r.status == Status.MATCHED and r.siren == SAS


def test_an_adjective_form_word_agrees_with_a_unit_carrying_it():
    """The unit's own name carries the word, or its catégorie juridique is a coopérative."""
    r = _index({SAS: ("L'ATELIER COOPERATIF", "5710")}).resolve("L ATELIER COOPERATIF", None, None, None, THR)
    assert r.status == Status.MATCHED and r.siren == SAS
    r = _index({SCOP: ("L'ATELIER", "5458")}).resolve("L ATELIER COOPERATIF", None, None, None, THR)
    assert r.status == Status.MATCHED and r.siren == SCOP


def test_a_cave_cooperative_is_not_the_sas_of_the_same_place_name():
    """« CAVE COOPERATIVE DE RABASTENS » against the SAS « CAVE DE RABASTENS »: another supplier
    as likely as the same one; against the SCA (coopérative agricole 6317) of that name, a match."""
    r = _index({CAVE: ("CAVE DE RABASTENS", "5710")}).resolve("CAVE COOPERATIVE DE RABASTENS", None, None, None, THR)
    assert r.status == Status.REVIEW and "COOPERATIVE" in r.reason
    r = _index({CAVE: ("CAVE DE RABASTENS", "6317")}).resolve("CAVE COOPERATIVE DE RABASTENS", None, None, None, THR)
    assert r.status == Status.MATCHED and r.siren == CAVE


@pytest.mark.parametrize("typed,sainte", [
    ("CHORALE STE CECILE", "CHORALE SAINTE CECILE"),
    ("PAROISSE STE ANNE", "PAROISSE SAINTE ANNE"),
    ("ECOLE STE THERESE", "ECOLE SAINTE THERESE"),
    ("STE GENEVIEVE ACCUEIL", "SAINTE GENEVIEVE ACCUEIL"),
    ("Clinique Ste-Marguerite", "CLINIQUE SAINTE MARGUERITE"),
])
def test_ste_before_a_saints_name_is_sainte(typed, sainte):
    assert normalize(typed) == normalize(sainte) == sainte
    assert normalize_many([typed]) == [normalize(typed)]  # the reference's path agrees
    assert name_families(typed) == set()  # no legal form typed
    assert "SOCIETE" not in raw_tokens(typed)


@pytest.mark.parametrize("typed,societe", [
    ("STE MARTIN BTP", "MARTIN BTP"),
    ("STE TOULOUSAINE DE NETTOYAGE", "TOULOUSAINE NETTOYAGE"),
    ("DUPONT STE", "DUPONT"),
    ("SARL STE MARIE", "SAINTE MARIE"),  # a form before: STE is the saint
])
def test_ste_as_societe_stays_a_form(typed, societe):
    assert normalize(typed) == societe
    assert normalize_many([typed]) == [normalize(typed)]
    if typed != "SARL STE MARIE":
        assert name_families(typed) == {"societe"}


def test_a_choir_of_saint_cecilia_is_matched_not_reviewed_for_its_legal_form():
    """Before: « STE » read as société contradicted the association (9220): « À vérifier (la forme
    juridique saisie (SOCIETE) contredit la catégorie juridique de l'unité) »."""
    index = _index({ASSO: ("CHORALE SAINTE CECILE", "9220"), _siren(15): ("PAROISSE SAINTE ANNE", "9220")})
    r = index.resolve("CHORALE STE CECILE", None, None, None, THR)
    assert r.status == Status.MATCHED and r.siren == ASSO and "forme juridique" not in r.reason
    r = index.resolve("PAROISSE STE ANNE", None, None, None, THR)
    assert r.status == Status.MATCHED and r.siren == _siren(15)
    # a société typed for an association is still a contradiction
    r = _index({ASSO: ("MARTIN BTP", "9220")}).resolve("STE MARTIN BTP", None, None, None, THR)
    assert r.status == Status.REVIEW and r.rule == "rule_legal_form_contradicted"


# -- 3. A valid SIRET whose unit shares a word of the typed name ------------------------------
def _with_sirets(units: dict[str, tuple[str, str]], active: set[str] | None = None) -> tuple[ResolverIndex, dict]:
    """As _index, with each unit's SIRET known; `active`: the units still active (default all)."""
    rows = dict(units)
    for k, name in enumerate(OTHERS):
        rows[_siren(900 + k)] = (name, "5710")
    names = [RefName(s, None, n, "denomination") for s, (n, _) in rows.items()]
    info = {s: SirenInfo({"31"}, active is None or s in active, n, cj) for s, (n, cj) in rows.items()}
    sirets = {luhn_complete(s + "0001"): s for s in rows}
    return ResolverIndex(names, info, sirets), {s: luhn_complete(s + "0001") for s in rows}


AXIMA, ENGIE, ORANGE_BS, TELEDIS = _siren(21), _siren(22), _siren(23), _siren(24)
VARIANTS = {AXIMA: ("AXIMA CONCEPT", "5710"), ENGIE: ("ENGIE", "5599"),
            ORANGE_BS: ("ORANGE BUSINESS SERVICES", "5710"), TELEDIS: ("SOC TELEPHONE TELEDISTRIBUTION", "5499")}


@pytest.mark.parametrize("typed,unit", [("ENGIE AXIMA", AXIMA), ("ORANGE TELEPHONE FIXE", ORANGE_BS)])
def test_a_siret_whose_unit_shares_a_word_of_the_name_is_the_supplier(typed, unit):
    """Real DECP spellings (2019 titulaires): every typed name whose SIRET's unit bears a dissimilar
    name was a variant of that unit (a brand, a division, a former name), never another supplier.
    With a word in common and no other unit named with confidence, the SIRET decides; before,
    « À vérifier (identifiant et nom se contredisent) » or the ENGIE of the name proposed."""
    index, siret = _with_sirets(VARIANTS)
    r = index.resolve(typed, siret[unit], None, None, THR)
    assert r.status == Status.MATCHED and r.siren == unit and r.rule == "rule_identifier_shares_a_word"
    assert r.siret == siret[unit] and "partage" in r.reason


def test_a_siret_is_not_taken_over_a_name_that_designates_another_unit_or_contradicts_its_form():
    """The name designates another unit with confidence (« ENGIE » alone): the identifier's unit is
    not taken unseen, whatever word they share; a typed legal form that the identifier's unit
    contradicts, or a ceased unit, leaves the line to the other rules."""
    index, siret = _with_sirets({**VARIANTS, _siren(25): ("ENGIE AXIMA SERVICES", "5710")})
    r = index.resolve("ENGIE AXIMA SERVICES", siret[AXIMA], None, None, THR)
    assert r.rule != "rule_identifier_shares_a_word"
    index, siret = _with_sirets(VARIANTS)
    r = index.resolve("ASSOCIATION AXIMA", siret[AXIMA], None, None, THR)
    assert not (r.status == Status.MATCHED and r.siren == AXIMA)
    index, siret = _with_sirets(VARIANTS, active=set(VARIANTS) - {AXIMA})
    r = index.resolve("ENGIE AXIMA", siret[AXIMA], None, None, THR)
    assert r.rule != "rule_identifier_shares_a_word"
    # no word in common: the identifier alone does not decide against the model
    index, siret = _with_sirets(VARIANTS)
    r = index.resolve("ORANGE TELEPHONE FIXE", siret[AXIMA], None, None, THR)
    assert not (r.status == Status.MATCHED and r.siren == AXIMA)


def test_a_siret_of_an_unrelated_unit_is_set_aside_when_the_lines_place_sides_with_the_name():
    """« DOCAPOST FAST » (31) typed with the SIRET of SANITEC (75) on a line whose commune is in 31:
    name and place against the identifier, matched by name with the identifier set aside and said
    so; without a place on the line, or with the identifier's own département, a person checks."""
    docapost, sanitec = _siren(31), _siren(32)
    rows = {docapost: ("DOCAPOST FAST", "5710", "31"), sanitec: ("SANITEC", "5710", "75")}
    for k, name in enumerate(OTHERS):
        rows[_siren(900 + k)] = (name, "5710", "31")
    index = ResolverIndex([RefName(s, None, n, "denomination") for s, (n, _, _) in rows.items()],
                          {s: SirenInfo({d}, True, n, cj) for s, (n, cj, d) in rows.items()},
                          {luhn_complete(sanitec + "0001"): sanitec})
    siret = luhn_complete(sanitec + "0001")
    r = index.resolve("DOCAPOST FAST", siret, "31", None, THR)
    assert r.status == Status.MATCHED and r.siren == docapost
    assert "identifiant écarté" in r.reason and "département de la ligne" in r.reason
    for line_dep in (None, "75"):
        r = index.resolve("DOCAPOST FAST", siret, line_dep, None, THR)
        assert r.status == Status.REVIEW and r.rule == "rule_identifier_set_aside"
