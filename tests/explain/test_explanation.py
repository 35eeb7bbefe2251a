"""explain(): the one object the CLI and the report build on."""

import json

import pytest

from memograd import _budget as budget_module
from memograd._budget import BudgetExceeded
from memograd.engine.graph import reverse_topological_order
from memograd.explain import cost_table, explain, measure_cost_table
from memograd.explain import explanation as explanation_module
from memograd.explain import gradient as gradient_module
from memograd.explain import network as network_module
from memograd.explain import paths as paths_module
from memograd.explain.sizes import value_graph_nodes


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


def test_deep_network_is_explained_without_the_naive_sum(monkeypatch):
    built_graphs, built_paths = [], []
    build_graph, make_path = gradient_module.build_value_graph, paths_module._chain_path

    def counting_graph(network):
        graph = build_graph(network)
        built_graphs.append(len(reverse_topological_order(graph.loss)))
        return graph

    def counting_path(*args):
        built_paths.append(make_path(*args))
        return built_paths[-1]

    monkeypatch.setattr(gradient_module, "build_value_graph", counting_graph)
    monkeypatch.setattr(paths_module, "_chain_path", counting_path)
    e = explain([10] * 31 + [1], "W1_11", seed=0, show_paths=1)
    # The work done, counted: one engine graph of exactly the estimated size, one path of
    # 10^29 built with its factors, and no naive path at all.
    assert built_graphs == [value_graph_nodes(e.arch, e.activations)]
    assert len(built_paths) == 1 and len(built_paths[0].factors) == 32
    assert e.paths == 10**29
    assert e.naive is None and e.naive_gradient is None
    assert "100,000,000,000,000,000,000,000,000,000 paths" in e.skipped["naive"]
    assert e.naive_multiplications == 10**29 * 31
    # Adjoints of layers 2..29 (10x10 edges each), of layer 30 (10 edges into Ŷ), of O_11
    # (10 edges), then the weight's own factor.
    assert e.memo_multiplications == 28 * 100 + 10 + 10 + 1
    assert e.memo_gradient == pytest.approx(e.memo.gradient, rel=1e-9, abs=1e-300)
    # Thirty sigmoid layers shrink the gradient far below what finite differences resolve.
    assert 0 < abs(e.memo_gradient) < 1e-6 * e.finite_difference_resolution
    assert abs(e.finite_difference) <= e.finite_difference_resolution


def _refuse(*args, **kwargs):
    raise AssertionError("built past its budget")


def test_a_wide_network_gets_its_numbers_but_not_the_engine_graph(monkeypatch):
    # 1000-1000-1000-1 used to build a 6-million-node Value graph: over 60 s and 3 GB.
    monkeypatch.setattr(explanation_module, "engine_gradient", _refuse)
    e = explain("1000-1000-1000-1", "W1_11", seed=0, show_paths=2)
    assert e.engine is None
    assert e.skipped["engine"] == (
        "the engine's Value graph of 1000-1000-1000-1 would take about 3.6 GB of memory and "
        "6,008,003 Value nodes, over the budgets of 1 GB and 250,000 Value nodes; "
        "--force runs it anyway"
    )
    # Everything else is computed, and agrees.
    assert e.paths == 1000 and e.naive is not None and len(e.shown_paths) == 2
    assert e.memo_gradient == e.memo.gradient
    assert e.naive_gradient == pytest.approx(e.memo_gradient, rel=1e-9)
    assert e.finite_difference == pytest.approx(e.memo_gradient, rel=1e-4)
    text = e.text()
    assert "engine check not run: the engine's Value graph of 1000-1000-1000-1" in text
    assert e.to_dict()["engine_stats"] is None and e.to_dict()["skipped"] == e.skipped


def test_a_network_too_large_to_build_is_still_counted_exactly(monkeypatch):
    monkeypatch.setattr(network_module, "Network", _refuse)
    e = explain("100000-100000-100000-1", "W1_11", seed=0)
    assert e.network is None and e.memo is None and e.engine is None and e.naive is None
    assert e.paths == 100000 and e.naive_multiplications == 300000
    # Layer 2's adjoints (one edge each into Ŷ), O_11's (100,000 edges), the weight's factor.
    assert e.memo_multiplications == 100000 + 100000 + 1
    assert e.formula.endswith("(100,000 paths)")
    assert (
        "the network 100000-100000-100000-1 (20,000,100,000 weights) would"
        in (e.skipped["network"])
    )
    assert "480 GB of memory" in e.skipped["network"]
    document = e.to_dict()
    assert document["memo_gradient"] is None and document["input"] is None
    assert document["paths"] == 100000
    text = e.text()
    assert "numbers not computed: the network 100000-100000-100000-1" in text
    assert "(not run)" in text and "L = " not in text


def test_arguments_of_an_unbuilt_network_are_still_checked():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        explain("100000-100000-1", "W1_11", activation="swish")
    with pytest.raises(ValueError, match="input x must have shape"):
        explain("100000-100000-1", "W1_11", x=[1.0, 2.0])
    with pytest.raises(ValueError, match="unknown loss"):
        explain("100000-100000-1", "W1_11", loss="l1")


def test_force_lifts_the_soft_budgets_only(monkeypatch):
    monkeypatch.setattr(explanation_module, "DEFAULT_MAX_ENGINE_NODES", 10)
    capped = explain("2-2-2-1", "W1_11", seed=0)
    assert capped.engine is None and "over the budget of 10 Value nodes" in capped.skipped["engine"]
    forced = explain("2-2-2-1", "W1_11", seed=0, force=True)
    assert forced.engine is not None and forced.skipped == {}
    assert forced.memo_gradient == pytest.approx(capped.memo_gradient, rel=1e-12)
    # The machine's memory is never lifted.
    monkeypatch.setattr(budget_module, "available_memory", lambda: 100_000)
    starved = explain("2-2-2-1", "W1_11", seed=0, force=True)
    assert starved.network is None
    assert (
        "more than the 100 kB available on this machine (--force does not lift this)"
        in (starved.skipped["network"])
    )
    # What was asked to be written out is refused whole, never cut short.
    with pytest.raises(BudgetExceeded, match="writing out 100 paths .* does not lift"):
        explain("2-10-10-10-1", "W1_11", seed=0, force=True, show_paths=10**6)


def test_counts_past_the_float_range_read_short_and_stay_exact():
    arch = [3] * 1001 + [1]
    e = explain(arch, "W1_11", seed=0, show_paths=0)
    assert e.paths == 3**999
    text = e.text()
    assert "chain-rule paths from W^1_11 to L: about 4.41e+476 (477 digits)" in text
    assert e.formula.endswith("(about 4.41e+476 paths, 477 digits)")
    assert e.latex.endswith(r"(\approx 4.41 \times 10^{476}\ \text{paths})")
    assert "memoization does 4.91e+475x fewer multiplications here" in text


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
