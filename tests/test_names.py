import pytest

from achats.names import acronym, has_ess_marker, normalize


@pytest.mark.parametrize("a,b", [
    ("STE TOULOUSAINE DE NETTOYAGE SARL", "Société toulousaine de nettoyage"),
    ("Assoc. Jardins de Cocagne", "ASSOCIATION LES JARDINS DE COCAGNE"),
    ("ARTELIA VILLE & TRANSPORT", "Artelia Ville et transport"),
    ("S.A.R.L. DUPONT ET FILS", "Dupont & Fils"),
    ("ETS MARTIN", "ETABLISSEMENTS MARTIN SAS"),
    ("ST GAUDENS TRAITEUR", "SAINT-GAUDENS TRAITEUR EURL"),
    ("Œuvre d'entraide", "OEUVRE ENTRAIDE"),
    ("M. DUPONT Jean", "DUPONT JEAN"),
])
def test_spellings_of_one_supplier_normalise_equal(a, b):
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize("a,b", [
    ("ESAT DE MURET", "ESAT DE MURAT"),
    ("GANYMEDE", "ASSOCIATION GANYMEDE"),
])
def test_different_suppliers_stay_different(a, b):
    assert normalize(a) != normalize(b)


def test_name_made_only_of_filler_keeps_its_words():
    assert normalize("SOCIETE") == "SOCIETE"
    assert normalize("") == ""
    assert normalize(None) == ""


def test_ess_markers():
    assert has_ess_marker("Assoc. Les amis du quartier")
    assert has_ess_marker("ECHOBAT SCIC")
    assert has_ess_marker("ESAT de Muret")
    assert not has_ess_marker("Société Toulousaine de Nettoyage")


def test_acronym():
    assert acronym("Direction Interministérielle du Numérique") == "DIN"
