"""places.communes() read from the file precomputed from the COG (data/reference/cog_communes_mots.json)
instead of tokenising ~35 000 commune names in every run: the same table as the computation, and
the computation whenever the file is missing, damaged or made from another COG or other
abbreviations."""

from __future__ import annotations

import json
import shutil

import pytest

from achats import names, places
from achats.paths import reference_dir
from achats.places import COG_FILE, WORDS_FILE, communes_from_cog, words_fingerprint


def _cog() -> bytes:
    return (reference_dir() / COG_FILE).read_bytes()


def test_the_shipped_file_is_the_computation_from_the_shipped_cog():
    """If this fails after a change of the COG, of ABBREVIATIONS or of the tokenisation, write the
    file again: PYTHONPATH=src python -m achats.places"""
    saved = json.loads((reference_dir() / WORDS_FILE).read_text(encoding="utf-8"))
    assert saved["fingerprint"] == words_fingerprint(_cog()), "python -m achats.places"
    computed = communes_from_cog(_cog())
    assert saved["departements"] == computed.departements
    assert saved["longest"] == computed.longest
    assert frozenset(saved["after_sainte"]) == computed.after_sainte


@pytest.fixture
def ref_copy(tmp_path, monkeypatch):
    """A copy of the two files in a reference folder of its own, communes() not yet cached."""
    for name in (COG_FILE, WORDS_FILE):
        shutil.copy(reference_dir() / name, tmp_path / name)
    monkeypatch.setattr(places, "reference_dir", lambda: tmp_path)
    places.communes.cache_clear()
    names.saints.cache_clear()
    yield tmp_path
    places.communes.cache_clear()
    names.saints.cache_clear()


def _tamper(folder, edit) -> None:
    saved = json.loads((folder / WORDS_FILE).read_text(encoding="utf-8"))
    edit(saved)
    (folder / WORDS_FILE).write_text(json.dumps(saved), encoding="utf-8")


def test_the_file_is_what_a_run_reads(ref_copy):
    """Under the right fingerprint the file is read as it is (a wrong entry in it would be used:
    the first test is what keeps it right)."""
    _tamper(ref_copy, lambda s: s["departements"].__setitem__("TOULOUSE", "99"))
    assert places.communes().departements["TOULOUSE"] == "99"


@pytest.mark.parametrize("edit", [
    lambda s: s.__setitem__("fingerprint", "0" * 64),  # made from another COG or other abbreviations
    lambda s: s.pop("longest"),  # damaged
    lambda s: s.__setitem__("departements", None),
])
def test_a_file_from_another_cog_or_damaged_is_not_read(ref_copy, edit):
    _tamper(ref_copy, lambda s: (s["departements"].__setitem__("TOULOUSE", "99"), edit(s)))
    got = places.communes()
    assert got == communes_from_cog(_cog()) and got.departements["TOULOUSE"] == "31"


def test_a_missing_file_or_other_abbreviations_mean_the_computation(ref_copy, monkeypatch):
    (ref_copy / WORDS_FILE).unlink()
    assert places.communes() == communes_from_cog(_cog())
    places.communes.cache_clear()
    shutil.copy(reference_dir() / WORDS_FILE, ref_copy / WORDS_FILE)
    _tamper(ref_copy, lambda s: s["departements"].__setitem__("TOULOUSE", "99"))
    # an abbreviation added since the file was written: its fingerprint no longer holds
    monkeypatch.setitem(places.ABBREVIATIONS, "TOULOUSAIN", "TOULOUSE")
    assert places.communes().departements["TOULOUSE"] == "31"


def test_another_cog_means_the_computation(ref_copy):
    """A COG of one commune: its words, not the shipped file's."""
    import polars as pl

    pl.DataFrame({"commune_nom": ["Sainte-Zoé-sur-Mer"], "departement_code": ["29"]}).write_parquet(ref_copy / COG_FILE)
    got = places.communes()
    assert got.departements == {"SAINTE ZOE SUR MER": "29"} and got.after_sainte == {"ZOE"} and got.longest == 4
    assert names.saints() >= {"ZOE"} and "ANNE" not in names.saints()
