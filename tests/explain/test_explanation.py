"""explain(): the one object the CLI and the report build on."""

import json
import time

import pytest

from memograd.explain import cost_table, explain, measure_cost_table


def test_explain_the_notes_case():
    e = explain("2-2-2-1", "W1_11", seed=0)
    assert e.paths == 2
    assert e.symbol == "W^1_11"
    assert e.formula.startswith("∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21")
    assert e.latex.startswith(r"\frac{\partial L}{\partial W^{1}_{11}}")
    assert len(e.shown_paths) == 2
    assert e.naive_gradient == pytest.approx(e.memo_gradient, rel=1e-12)
    assert e.finite_difference == pytest.approx(e.memo_gradient, rel=1e-7)
    assert (e.naive_multiplications, e.memo_multiplications) == (6, 5)
    assert e.max_abs_difference < 1e-9
    assert abs(e.finite_difference - e.memo_gradient) < 10 * e.finite_difference_resolution


def test_to_dict_is_json_with_the_documented_keys():
    document = explain("2-2-2-1", "W1_11", seed=0).to_dict()
    decoded = json.loads(json.dumps(document, allow_nan=False))
    for key in (
        "param",
        "arch",
        "paths",
        "formula",
        "latex",
        "naive_gradient",
        "memo_gradient",
        "naive_multiplications",
        "memo_multiplications",
        "finite_difference",
        "shown_paths",
    ):
        assert key in decoded
    assert decoded["param"] == "W1_11" and decoded["arch"] == "2-2-2-1"
    assert decoded["paths"] == 2
    factors = decoded["shown_paths"][1]["factors"]
    assert [f["symbol"] for f in factors][1] == "∂Ŷ/∂O_22"
    assert all(isinstance(f["value"], float) for f in factors)


def test_deep_network_is_explained_without_the_naive_sum():
    started = time.perf_counter()
    e = explain([10] * 31 + [1], "W1_11", seed=0, show_paths=1)
    assert time.perf_counter() - started < 5.0
    assert e.paths == 10**29
    assert e.naive is None and e.naive_gradient is None
    assert e.naive_multiplications == 10**29 * 31
    # Adjoints of layers 2..29 (10x10 edges each), of layer 30 (10 edges into Ŷ), of O_11
    # (10 edges), then the weight's own factor.
    assert e.memo_multiplications == 28 * 100 + 10 + 10 + 1
    assert e.memo_gradient == pytest.approx(e.memo.gradient, rel=1e-9, abs=1e-300)
    # Thirty sigmoid layers shrink the gradient far below what finite differences resolve.
    assert 0 < abs(e.memo_gradient) < 1e-6 * e.finite_difference_resolution
    assert abs(e.finite_difference) <= e.finite_difference_resolution


def test_explain_checks_its_arguments():
    with pytest.raises(ValueError, match="show_paths"):
        explain("2-2-1", "W1_11", show_paths=-1)
    with pytest.raises(ValueError, match="i in 1..2"):
        explain("2-2-1", "W1_31")


def test_measured_rows_time_naive_until_the_budget_refuses_it():
    rows = measure_cost_table(cost_table(2, 5), max_paths=200, repeats=1)
    assert all(row.sweep_seconds is not None and row.sweep_seconds > 0 for row in rows)
    timed = [row.naive_seconds is not None for row in rows]
    assert timed[0] and not timed[-1]
    assert timed == sorted(timed, reverse=True)  # once refused, never tried deeper


def test_text_report_is_what_the_command_prints():
    e = explain("2-3-1", "b1_2", seed=1, show_paths=1)
    text = e.text(latex=True)
    assert text.splitlines()[0].startswith("b^1_2 in 2-3-1")
    assert e.formula in text and e.latex in text
    assert "path 1: ∂L/∂Ŷ × ∂Ŷ/∂O_12 × ∂O_12/∂b^1_2" in text
    assert f"{e.memo_gradient:.10g}" in text
    assert e.latex not in e.text()


def test_a_ready_network_is_explained_as_given():
    from memograd.explain import build_network

    network = build_network("2-2-2-1", activation="tanh", seed=9)
    e = explain("2-2-2-1", "W2_21", network=network)
    assert e.network is network
    assert e.memo_gradient == pytest.approx(e.finite_difference, rel=1e-6)
    with pytest.raises(ValueError, match="does not match"):
        explain("2-3-2-1", "W1_11", network=network)
