"""``memograd paths``: output, JSON and one-line errors with exit status 2."""

import json

import pytest

from memograd._numbers import exact_integer_text


def test_notes_case_prints_the_formula_paths_and_both_gradients(run):
    status, out, err = run("paths", "--arch", "2-2-2-1", "--param", "W1_11")
    assert status == 0 and err == ""
    assert "chain-rule paths from W^1_11 to L: 2" in out
    assert (
        "∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21 × ∂O_21/∂O_11 × ∂O_11/∂W^1_11 "
        "+ ∂Ŷ/∂O_22 × ∂O_22/∂O_11 × ∂O_11/∂W^1_11 ]"
    ) in out
    assert "path 1: ∂L/∂Ŷ × ∂Ŷ/∂O_21 × ∂O_21/∂O_11 × ∂O_11/∂W^1_11" in out
    assert "path 2:" in out and "σ'(z_21) × W^2_11" in out
    assert "\\frac" not in out


def test_latex_and_show_paths(run):
    status, out, _ = run(
        "paths", "--arch", "2-2-2-1", "--param", "W1_11", "--latex", "--show-paths", "1"
    )
    assert status == 0
    assert "\\frac{\\partial L}{\\partial W^{1}_{11}}" in out
    assert "path 1:" in out and "path 2:" not in out
    assert "1 more" in out


def test_json_has_the_documented_keys_and_agreeing_gradients(run):
    status, out, _ = run("paths", "--arch", "2-2-2-1", "--param", "W1_11", "--seed", "3", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["param"] == "W1_11" and document["arch"] == "2-2-2-1"
    assert document["paths"] == 2
    assert document["formula"].startswith("∂L/∂W^1_11 = ")
    assert document["latex"].startswith("\\frac{\\partial L}")
    assert document["naive_gradient"] == pytest.approx(document["memo_gradient"], rel=1e-12)
    assert document["finite_difference"] == pytest.approx(document["memo_gradient"], rel=1e-6)
    assert (document["naive_multiplications"], document["memo_multiplications"]) == (6, 5)
    path = document["shown_paths"][0]
    assert [f["symbol"] for f in path["factors"]][0] == "∂L/∂Ŷ"
    product = 1.0
    for factor in path["factors"]:
        product *= factor["value"]
    assert path["product"] == pytest.approx(product, rel=1e-15)


def test_options_reach_the_network(run):
    status, out, _ = run(
        "paths",
        "--arch",
        "2-3-3-1",
        "--param",
        "b2_3",
        "--activation",
        "tanh,relu",
        "--output-activation",
        "sigmoid",
        "--loss",
        "half_squared",
        "--input",
        "0.5,-1",
        "--target",
        "1",
        "--json",
    )
    assert status == 0
    document = json.loads(out)
    assert document["activations"] == ["tanh", "relu", "sigmoid"]
    assert document["input"] == [0.5, -1.0] and document["target"] == [1.0]
    assert document["param"] == "b2_3" and document["paths"] == 1
    assert document["loss_function"] == "half_squared"


def test_thirty_layers_of_ten_answer_exactly_in_json(run):
    arch = "-".join(["10"] * 31 + ["1"])
    status, out, _ = run("paths", "--arch", arch, "--param", "W1_11", "--show-paths", "0", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["paths"] == 10**29
    assert document["naive_gradient"] is None
    assert document["naive_multiplications"] == 31 * 10**29
    assert "(100,000,000,000,000,000,000,000,000,000 paths)" in document["formula"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--arch", "2-x-1", "--param", "W1_11"], "layer 1 is 'x'"),
        (["--arch", "0-2-1", "--param", "W1_11"], "layer 0 has size 0"),
        (["--arch", "2-2-2-1", "--param", "W3_31"], "i in 1..2"),
        (["--arch", "2-2-2-1", "--param", "W5_11"], "k = 1..3"),
        (["--arch", "2-2-2-1", "--param", "O2_3"], "j = 1..2"),
        (["--arch", "2-2-2-1", "--param", "V1_11"], "expected a name like"),
        (["--arch", "2-2-1", "--param", "W1_11", "--activation", "swish"], "swish"),
        (["--arch", "2-2-1", "--param", "W1_11", "--input", "1,a"], "comma-separated"),
        (["--arch", "2-2-1", "--param", "W1_11", "--input", "1,2,3"], "input x must have"),
        (["--arch", "2-2-1", "--param", "W1_11", "--show-paths", "-1"], ">= 0"),
        (["--arch", "2-2-1"], "--param"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, argv, fragment):
    status, out, err = run("paths", *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert fragment in err


def _refuse(*args, **kwargs):
    raise AssertionError("built past its budget")


def test_a_wide_network_answers_at_once_without_the_engine_graph(run, monkeypatch):
    # Used to build a Value graph of 6 million nodes: over 60 s and 3.2 GB.
    from memograd.explain import explanation

    monkeypatch.setattr(explanation, "engine_gradient", _refuse)
    status, out, err = run("paths", "--arch", "1000-1000-1000-1", "--param", "W1_11")
    assert status == 0 and err == ""
    assert "chain-rule paths from W^1_11 to L: 1,000" in out
    lines = [line for line in out.splitlines() if line.startswith("engine check not run:")]
    assert len(lines) == 1 and "6,008,003 Value nodes" in lines[0] and "--force" in lines[0]
    assert "memoized: backprop, adjoints stored once" in out


def test_a_network_too_large_to_build_is_counted_and_says_what_it_would_take(run, monkeypatch):
    from memograd.explain import network

    monkeypatch.setattr(network, "Network", _refuse)
    status, out, _ = run("paths", "--arch", "100000-100000-1", "--param", "W1_11", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["paths"] == 1 and document["naive_multiplications"] == 2
    assert document["memo_gradient"] is None and document["shown_paths"] == []
    assert "would need about 240 GB of memory" in document["skipped"]["network"]


def test_force_never_lifts_the_machines_memory(run, monkeypatch):
    from memograd import _budget

    monkeypatch.setattr(_budget, "available_memory", lambda: 10**6)
    status, out, _ = run("paths", "--arch", "2-2-2-1", "--param", "W1_11", "--force")
    assert status == 0
    assert "numbers not computed: the network 2-2-2-1 (10 weights) would need about" in out
    assert "(--force does not lift this)" in out


def test_force_runs_the_engine_check_past_its_budget(run, monkeypatch):
    from memograd.explain import explanation

    monkeypatch.setattr(explanation, "DEFAULT_MAX_ENGINE_NODES", 10)
    argv = ("paths", "--arch", "2-2-2-1", "--param", "W1_11", "--json")
    capped = json.loads(run(*argv)[1])
    assert capped["engine_stats"] is None and "10 Value nodes" in capped["skipped"]["engine"]
    forced = json.loads(run(*argv, "--force")[1])
    assert forced["engine_stats"]["vjp_evaluations"] > 0 and forced["skipped"] == {}


def test_counts_past_4300_digits_are_exact_in_json_and_short_in_text(run):
    arch = "-".join(["10"] * 4400 + ["1"])
    status, out, err = run("paths", "--arch", arch, "--param", "W1_11", "--show-paths", "0")
    assert status == 0, err
    assert "chain-rule paths from W^1_11 to L: about 1.00e+4398 (4,399 digits)" in out
    status, out, err = run(
        "paths", "--arch", arch, "--param", "W1_11", "--show-paths", "0", "--json"
    )
    assert status == 0, err
    with exact_integer_text():  # json.loads of a 4,399-digit integer needs the cap lifted
        assert json.loads(out)["paths"] == 10**4398


def test_listing_a_million_paths_is_refused_before_any_is_built(run, monkeypatch):
    # Each listed path is built with every factor's value and text: about 5 GB for these.
    from memograd.explain import paths

    monkeypatch.setattr(paths, "_chain_path", _refuse)
    arch = "-".join(["10"] * 8 + ["1"])  # 10^6 paths for W1_11, 9 factors each
    argv = ("paths", "--arch", arch, "--param", "W1_11")
    status, out, err = run(*argv, "--show-paths", "1000000")
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert line == (
        "memograd: error: writing out 1,000,000 paths and a formula of 9 terms would take about "
        "6.3 GB of memory and 9,000,162 path factors, over the budgets of 1 GB and 1,000,000 "
        "path factors; --force runs it anyway, or ask for fewer with show_paths / max_terms "
        "(--show-paths, --max-terms)"
    )
    status, _, err = run(*argv, "--show-paths", "0", "--max-terms", "1000000")
    assert status == 2 and "a formula of 1,000,000 terms would take" in err
