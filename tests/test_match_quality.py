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


def _book_with_one_wrong_acceptance():
    """41 suppliers accepted by their name, one of them for the wrong unit, and 20 in review
    between two units at 0.5 each."""
    from achats.resolution import Candidate, Method, Resolution, Status

    out = []
    for i in range(41):
        true, chosen = f"{i:09d}", f"{i:09d}" if i else "888888888"
        out.append(({"name": f"UNITE {i}", "siret": "", "true_siren": true, "kind": "canonical"},
                    Resolution(siren=chosen, method=Method.NAME_EXACT, score=0.99, status=Status.MATCHED, reason="",
                               candidates=[Candidate(chosen, 0.99, "")])))
    for i in range(20):
        a, b = f"5{i:08d}", f"6{i:08d}"
        out.append(({"name": f"DOUTE {i}", "siret": "", "true_siren": a, "kind": "canonical"},
                    Resolution(siren=a, method=Method.NAME_FUZZY, score=0.5, status=Status.REVIEW, reason="",
                               candidates=[Candidate(a, 0.5, ""), Candidate(b, 0.5, "")])))
    return out


def test_simulated_interval_covers_a_wrong_acceptance_it_missed_before():
    """The simulation measures the interval as the warehouse: with the book's own rate of wrong
    acceptances (1 in 41), the truth falls below the interval less often than when every
    acceptance is taken as sure."""
    from bench.match_quality import ess_amounts

    sure = ess_amounts(_book_with_one_wrong_acceptance())
    widened = ess_amounts(_book_with_one_wrong_acceptance(), accept_error=1 / 41)
    assert widened["below"] < sure["below"]
    assert widened["coverage"] > sure["coverage"] + 0.03
    assert widened["half_width"] > sure["half_width"]


def _book_of_keys_accepted_by_name(n: int = 300, wrong: tuple[int, ...] = (0,)):
    """n suppliers accepted by their exact name alone, those in `wrong` for another unit."""
    from achats.resolution import Candidate, Method, Resolution, Status

    out = []
    for i in range(n):
        true, chosen = f"{i:09d}", f"8{i:08d}" if i in wrong else f"{i:09d}"
        out.append(({"name": f"UNITE {i}", "siret": "", "true_siren": true, "kind": "canonical"},
                    Resolution(siren=chosen, method=Method.NAME_EXACT, score=0.99, status=Status.MATCHED, reason="",
                               candidates=[Candidate(chosen, 0.99, "")])))
    return out


def test_simulated_acceptance_errors_are_drawn_not_clamped_by_the_extreme_bounds():
    """A book of keys accepted by their name alone and nothing else: the acceptance errors are
    drawn in the Monte Carlo and open the extreme bounds, so the interval is not degenerate (it was
    clamped to extreme bounds that took every acceptance as sure) and covers the wrong one more
    often than when acceptances are sure."""
    from achats.match_model import load_model
    from bench.match_quality import ess_amounts

    model = load_model()
    sure = ess_amounts(_book_of_keys_accepted_by_name(), missed=model.missed_share)
    drawn = ess_amounts(_book_of_keys_accepted_by_name(), missed=model.missed_share, accept_error=model.accept_error)
    assert sure["half_width"] == 0.0
    assert drawn["half_width"] > 0.0
    assert drawn["coverage"] > sure["coverage"] + 0.05
    assert drawn["extreme_half_width"] > drawn["half_width"]  # the extreme bounds hold the interval
