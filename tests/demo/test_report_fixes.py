"""Where learners stumbled in the report, each checked against the number it should show.

The notes' own Fibonacci run as written, the call tree of fib(5), the shared factors and the
regrouped equation, why ∂L/∂O_12 is computed, the a + a trap computed both ways, the refusal
budget in the table's unit, timings measured until stable or labelled as noise, readable units,
the loss caption read from the curves, the summary and the appendix.
"""

from __future__ import annotations

import html as html_module
import inspect
import re

import pytest

import memograd as mg
from memograd.demo import DemoSettings, accumulate, depth, memoization, model, notes_network
from memograd.demo.settle import (
    Timing,
    describe,
    measure_together,
    unsettled_note,
    within_noise,
)
from memograd.fibonacci import fib_calls, fib_table
from memograd.viz.units import format_ratio, format_seconds


@pytest.fixture(scope="module")
def page_text(quick_run) -> str:
    """The report as a reader sees its text: tags dropped, entities decoded."""
    raw = quick_run.report.read_text(encoding="utf-8")
    return html_module.unescape(re.sub(r"<[^>]+>", " ", raw))


def test_the_notes_fibonacci_runs_as_written_and_prints_f_of_39():
    notes = memoization.run_notes_code()
    assert notes["printed"] == str(fib_table(39)) == "63245986"
    # Their dict starts with both base cases stored: each fib(k) computed once, 2·38 − 1 calls.
    assert notes["calls"] == 2 * 38 - 1 == fib_calls(38, "memo")
    assert "d = {0: 1, 1: 1}" in memoization.NOTES_CODE and "fib(38, d)" in memoization.NOTES_CODE


def test_the_report_shows_the_notes_code_and_explains_the_indexing(quick_run, page_text):
    raw = quick_run.report.read_text(encoding="utf-8")
    assert html_module.escape(memoization.NOTES_CODE, quote=False) in raw
    assert "their fib(n) is F(n+1)" in page_text and "F(0) = 0" in page_text
    assert "fib(38) = 63,245,986 is F(39)" in page_text


@pytest.mark.parametrize("n", range(0, 12))
def test_the_call_tree_has_the_calls_memograd_counts(n):
    calls = memoization._walk(memoization.call_tree(n))
    assert len(calls) == fib_calls(n, "naive")
    assert sum(not c.pruned for c in calls) == fib_calls(n, "memo")
    # The first call of each k is never shaded; every later one is.
    first_calls = sorted(c.k for c in calls if not (c.repeated or c.pruned))
    assert first_calls == ([n] if n < 2 else list(range(n + 1)))


def test_the_shared_factors_are_shaded_and_the_regrouped_equation_is_right(quick_run, page_text):
    raw = quick_run.report.read_text(encoding="utf-8")
    network = quick_run.document["sections"]["network"]
    # ∂L/∂Ŷ and ∂O_11/∂W^1_11 are on both paths: 2 factors x 2 paths shaded, nothing else.
    assert raw.count("<tr class=shaded>") == 4
    assert "Shaded: the factors that occur on more than one path (∂L/∂Ŷ, ∂O₁₁/∂W¹₁₁)" in page_text
    end = network["shown_paths"][0]["factors"][-1]
    adjoint = network["memo_table"]["O_11"]
    assert adjoint * end["value"] == pytest.approx(network["memo_gradient"], rel=1e-12)
    assert f"= {adjoint:.6g} × {end['value']:.6g} = {adjoint * end['value']:.6g}".replace(
        " ", ""
    ) in page_text.replace(" ", "")
    # The saving is the factor shared at the end of both paths, not ∂L/∂Ŷ.
    assert "multiplies by ∂O₁₁/∂W¹₁₁ once instead of 2 times; that is the whole saving" in page_text
    assert "computing the shared factor ∂L/∂Ŷ once per path" not in page_text
    assert network["naive_multiplications"] - network["memo_multiplications"] == 1


def test_the_report_says_why_the_sweep_computes_the_adjoint_of_o12(page_text):
    assert "∂L/∂W¹₁₁ does not need it; W¹₁₂, W¹₂₂ and b¹₂ do." in page_text
    assert "W¹₁₂, W¹₂₂, b¹₂ need ∂L/∂O₁₂" in page_text


def test_the_engine_memo_listing_is_the_engines_own_loop():
    listing = notes_network.engine_memo_listing()
    source = inspect.getsource(mg.engine.graph)
    assert "memo[node] = total" in listing and "memo = {root: seed}" in listing
    for line in listing.strip().splitlines():
        assert line.strip() in source
    assert 10 < len(listing.splitlines()) < 40


def test_the_a_plus_a_trap_is_computed_both_ways():
    assert accumulate.gradient_of_a_plus_a(accumulate.backward_add_overwriting) == 1.0
    assert accumulate.gradient_of_a_plus_a(accumulate.backward_add_accumulating) == 2.0
    settings = DemoSettings.for_run(quick=True, seed=3)
    data, _ = accumulate.measure(settings)
    assert data["a_plus_a"]["engine"] == 2.0
    assert data["a_plus_a"]["finite_difference"] == pytest.approx(2.0, rel=1e-9)
    e = mg.explain.explain("2-2-2-1", "W1_11", seed=3)
    assert data["network_accumulating"] == pytest.approx(e.memo_gradient, rel=1e-12)
    # Overwriting keeps the last path into O_11 (through O_22): that path's product alone.
    assert data["network_overwriting"] == pytest.approx(e.shown_paths[1].product, rel=1e-12)
    assert abs(data["network_overwriting"] - e.finite_difference) > 1e-4


@pytest.mark.parametrize(("width", "depth_"), [(2, 3), (2, 6), (3, 2)])
def test_the_refusal_budget_is_counted_in_the_engines_own_paths(width, depth_):
    from memograd.explain.measure import time_backward

    paths = depth.engine_paths(width, depth_)
    assert time_backward(width, depth_, "naive", max_paths=paths, repeats=1) is not None
    assert time_backward(width, depth_, "naive", max_paths=paths - 1, repeats=1) is None


def test_the_depth_table_quotes_the_budget_in_its_engine_paths_column(quick_run, page_text):
    rows = quick_run.document["sections"]["depth"]["rows"]
    budget = quick_run.document["sections"]["depth"]["naive_path_budget"]
    assert "engine paths" in page_text and f"refuses above {budget:,}" in page_text
    for row in rows:
        assert (row["naive_timing"] is None) == (row["engine_paths"] > budget)


def test_times_read_in_units_and_ratios_never_say_1x(page_text):
    assert not re.search(r"\d(\.\d+)?e[+-]\d+ ?(µs|ms|ns|s)\b", page_text)
    # A ratio of 1 written "1x" or "1×" (a product such as "1 × 0.15" is not a ratio).
    assert not re.search(r"(?<![\d.])1(\.0+)?[x×](?=\s|$)", page_text)
    assert not re.search(r"\b1(\.0+)?\s?[x×]\s*(fewer|more|faster|slower)", page_text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0123, "12.3 ms"),
        (85.2e-6, "85.2 µs"),
        (1.18e-3, "1.18 ms"),
        (999.7e-6, "1 ms"),
        (3.2e-7, "320 ns"),
        (2.5, "2.5 s"),
        (4321.0, "4,321 s"),
    ],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_format_ratio():
    assert format_ratio(1.01) == "about the same"
    assert format_ratio(1.25) == "1.25×" and format_ratio(256.2) == "256×"
    assert format_ratio(0.5) == "0.50×" and format_ratio(1536.4) == "1,536×"


def test_timings_settle_or_are_labelled_noise():
    steady = iter([1e-3, 1.01e-3, 0.99e-3, 1e-3, 1.02e-3] * 4)
    wild = iter([1e-3, 3e-3, 0.5e-3, 2e-3, 5e-3] * 40)
    timings = measure_together(
        {"steady": lambda: next(steady), "wild": lambda: next(wild)}, budget_seconds=0.0
    )
    assert timings["steady"].stable and timings["steady"].seconds == pytest.approx(1e-3)
    assert not timings["wild"].stable
    assert describe(timings["steady"]).endswith("±2%")
    assert "(noise ±" in describe(timings["wild"])
    note = unsettled_note([timings["steady"].as_dict(), None, timings["wild"].as_dict()])
    assert note.startswith(" 1 of these 2 times never settled")
    assert unsettled_note([timings["steady"].as_dict()]) == ""
    assert within_noise(Timing(1.0e-3, 0.05, 5, True), Timing(1.08e-3, 0.05, 5, True))
    assert not within_noise(Timing(1.0e-3, 0.02, 5, True), Timing(1.1e-3, 0.02, 5, True))


@pytest.mark.parametrize(
    ("test_loss", "says"),
    [
        ([1.3, 0.5, 0.3, 0.2, 0.15, 0.14, 0.145, 0.14], "levels off"),
        ([1.3, 0.5, 0.3, 0.2, 0.3, 0.4, 0.5, 0.6], "lowest at epoch 4 (0.200) and rises to 0.600"),
        ([1.3, 1.1, 0.9, 0.7, 0.5, 0.4, 0.3, 0.2], "falls too, to 0.200 at the last epoch"),
        ([1.3, 0.5, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1], "lowest at epoch 5 (0.100) and the same at"),
    ],
)
def test_the_loss_caption_describes_the_curves(test_loss, says):
    train = [2.0, 0.9, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03]
    history = {
        "train_loss": train,
        "val_loss": test_loss,
        "train_accuracy": [0.5] * 7 + [0.99],
        "val_accuracy": [0.5] * 7 + [0.95],
    }
    caption = model.training_caption(history)
    assert says in caption
    assert "fall together" not in caption
    assert "2.000 to 0.030" in caption and "99.0%" in caption and "95.0%" in caption


def test_the_report_closes_with_three_points_and_puts_speed_in_an_appendix(quick_run, page_text):
    raw = quick_run.report.read_text(encoding="utf-8")
    summary = raw[raw.index('<section id="summary">') : raw.index('<section id="speed">')]
    assert summary.count("<li>") == 3
    fib = quick_run.document["sections"]["memoization"]
    deepest = quick_run.document["sections"]["depth"]["rows"][-1]
    text = html_module.unescape(re.sub(r"<[^>]+>", "", summary))
    assert f"{max(c for c in fib['calls']['naive'] if c):,} times" in text
    assert f"{deepest['backprop_multiplications']:,} multiplications" in text
    assert "Appendix A. Speed" in page_text
    assert raw.index('<section id="summary">') < raw.index('<section id="speed">')
