"""The checkpoint_memory case's resident-set measurement, which only its full run uses: each row
in a fresh process, the forward pass's rise and the step's peak."""

from __future__ import annotations

import pytest

from benchmarks.checkpointing_vs_torch import rss_peak, sizes
from benchmarks.results import Settings

CONFIG = {"depth": 8, "width": 128, "batch": 1024, "segments": 2}  # a state: 512 kB


def test_the_full_run_is_the_issues_network_and_the_quick_one_skips_the_subprocesses() -> None:
    full, quick = sizes(Settings.for_run(False)), sizes(Settings.for_run(True))
    assert (full["depth"], full["width"], full["batch"], full["segments"]) == (64, 512, 256, 8)
    assert full["rss"] and not quick["rss"]


def test_resident_memory_falls_with_checkpointing_in_both_libraries() -> None:
    plain = rss_peak({**CONFIG, "row": "store-all"})
    if plain["rss_peak"] is None:
        pytest.skip("this system has no /proc/self/clear_refs")
    checkpointed = rss_peak({**CONFIG, "row": "checkpoint_sequential"})
    revolve = rss_peak({**CONFIG, "row": "revolve 2 slots", "slots": 2})
    # store-all keeps x and two arrays per block (8.5 MB); two segments keep x, the first
    # segment's output and the second's four blocks (5 MB)
    assert plain["rss_held"] > checkpointed["rss_held"] + 2_000_000
    assert plain["rss_peak"] >= plain["rss_held"] > 0
    assert revolve["rss_held"] is None and revolve["rss_peak"] > 0
    pytest.importorskip("torch")
    theirs = rss_peak({**CONFIG, "row": "torch store-all"})
    theirs_checkpointed = rss_peak({**CONFIG, "row": "torch checkpoint_sequential"})
    assert theirs["rss_held"] > theirs_checkpointed["rss_held"] > 0
