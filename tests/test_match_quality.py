"""Quality gate on the labelled benchmark from real DECP spellings (bench/data)."""

from bench.match_quality import baseline, evaluate


def test_auto_accepted_matches_are_precise_and_beat_the_naive_baseline():
    ours = evaluate()
    base = baseline()
    assert ours["overall"]["precision"] >= 0.98
    assert ours["variants_and_hard"]["precision"] >= 0.95
    assert ours["overall"]["f1"] > base["overall"]["f1"]
    assert ours["variants_and_hard"]["f1"] > base["variants_and_hard"]["f1"]
    assert ours["by_kind"]["homonym"]["matched"] == 0  # homonyms are never picked arbitrarily
    assert ours["test"]["precision"] >= 0.98  # on the suppliers the model never saw
    assert ours["calibration"]["brier"] < 0.05
