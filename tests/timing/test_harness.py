"""memograd.timing.compare: alternation, calibrated batches, medians; counted, never timed."""

from __future__ import annotations

import gc

import pytest

from memograd.timing import Timing, TimingPlan, collector_sees_only_new_objects, compare


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_every_peer_is_timed_once_per_round_with_its_calibrated_batch() -> None:
    steps = {"a": Counter(), "b": Counter(), "c": Counter()}
    plan = TimingPlan(rounds=5, batch_seconds=1e-4, warmup_calls=2, max_calls=64)
    comparison = compare(steps, plan, reference="b")
    assert comparison.reference == "b" and list(comparison.timings) == ["a", "b", "c"]
    for name, timing in comparison.timings.items():
        assert len(timing.rounds) == plan.rounds
        assert 1 <= timing.calls_per_round <= plan.max_calls
        # Warm-up, then the calibration batches 1, 2, 4, ... up to the one that stopped it,
        # then the timed rounds: every call counted, none missing.
        calibration = steps[name].calls - plan.warmup_calls - plan.rounds * timing.calls_per_round
        assert calibration >= 1 and (calibration + 1) & calibration == 0  # 2^k - 1
        assert timing.median == sorted(timing.rounds)[2]
    assert comparison.ratio("b") == 1.0
    assert comparison.ratio("a") == comparison.timings["b"].median / comparison.timings["a"].median


def test_spread_and_as_dict_read_the_rounds() -> None:
    timing = Timing(peer="p", median=2.0, rounds=(1.0, 2.0, 5.0), calls_per_round=10)
    assert timing.spread == 2.0  # (5 - 1) / 2
    assert timing.as_dict() == {
        "median_s": 2.0,
        "min_s": 1.0,
        "max_s": 5.0,
        "rounds": 3,
        "calls_per_round": 10,
    }


def test_bad_plans_and_an_unknown_reference_are_refused() -> None:
    with pytest.raises(ValueError, match="rounds must be >= 1, got 0"):
        TimingPlan(rounds=0)
    with pytest.raises(ValueError, match="batch_seconds must be a finite number > 0, got inf"):
        TimingPlan(batch_seconds=float("inf"))
    with pytest.raises(ValueError, match=r"reference peer 'z' is not among \['a'\]"):
        compare({"a": Counter()}, TimingPlan(rounds=1), reference="z")


def test_the_collector_sees_only_objects_made_inside_and_everything_again_after() -> None:
    frozen_before = gc.get_freeze_count()
    keep = [object() for _ in range(10)]
    with collector_sees_only_new_objects():
        assert gc.get_freeze_count() >= frozen_before + len(keep)
    assert gc.get_freeze_count() == frozen_before
