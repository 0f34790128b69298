import pytest

from achats.identifiers import clean_identifier, luhn_ok, siren_valid, siret_valid


def test_luhn_on_known_sirens():
    assert siren_valid("552032534")  # DANONE
    assert siren_valid("223100017")  # Département de la Haute-Garonne
    assert not siren_valid("552032535")


def test_la_poste_siret_uses_its_own_rule():
    assert not luhn_ok("35600000012305")
    assert siret_valid("35600000012305")  # La Poste DVE Montpellier: digit sum divisible by 5
    assert not siret_valid("35600000012306")


DANONE_SIRET = "55203253400646"  # real head office, valid Luhn key


def test_danone_siret_is_valid():
    assert siret_valid(DANONE_SIRET)


@pytest.mark.parametrize("raw,expected", [
    ("552 032 534 00646", (DANONE_SIRET, "552032534")),
    ("552.032.534.00646", (DANONE_SIRET, "552032534")),
    ("55203253400646.0", (DANONE_SIRET, "552032534")),
    ("552032534", (None, "552032534")),
    ("55203253400647", (None, "552032534")),  # wrong NIC key: fall back to the SIREN
    ("abc", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
    ("12345", (None, None)),
    ("00000000000000", (None, None)),
    ("000 000 000", (None, None)),
    # text protections of spreadsheets and exports (adversarial review 9, defect 4)
    ('="55203253400646"', (DANONE_SIRET, "552032534")),
    ("'55203253400646", (DANONE_SIRET, "552032534")),
    ("\u2019552 032 534 00646", (DANONE_SIRET, "552032534")),
    ('"55203253400646"', (DANONE_SIRET, "552032534")),
    ("SIRET 55203253400646", (DANONE_SIRET, "552032534")),
    ("Siret : 552 032 534 00646", (DANONE_SIRET, "552032534")),
    ("N° SIRET 55203253400646", (DANONE_SIRET, "552032534")),
    ("SIREN 552032534", (None, "552032534")),
    ('="SIREN 552 032 534"', (None, "552032534")),
    ("\ufeff55203253400646", (DANONE_SIRET, "552032534")),
    # a French VAT number holds the SIREN: FR, key (12 + 3 × (SIREN mod 97)) mod 97, SIREN
    ("FR27552032534", (None, "552032534")),
    ("FR 27 552 032 534", (None, "552032534")),
    # garbage stays garbage
    ("FR28552032534", (None, None)),  # wrong VAT key
    ("FR55203253400646", (None, None)),  # FR + SIRET is no VAT number
    ("SIRET", (None, None)),
    ("SIRET en cours", (None, None)),
    ('=""', (None, None)),
    ("'", (None, None)),
    ("'00000000000000", (None, None)),
    ("SIRET 12345", (None, None)),
    ("55203253400646 (siège)", (None, None)),
    ("55203253400646 / 55203253400647", (None, None)),
    ("8.12345676E+13", (None, None)),  # Excel's float lost the last digits
])
def test_clean_identifier(raw, expected):
    assert clean_identifier(raw) == expected


def test_lost_leading_zero_is_restored_only_when_the_key_agrees():
    from tests.conftest import luhn_complete

    siren = luhn_complete("04123456")
    siret = luhn_complete(siren + "0001")
    assert clean_identifier(siret[1:]) == (siret, siren)
    assert clean_identifier(siren[1:])[1] == siren
